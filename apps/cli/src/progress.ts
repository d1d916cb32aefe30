/**
 * What `train` shows while it runs: a one-line progress bar redrawn in place on a
 * terminal, plain lines when the output is a file or a pipe, and the epoch table.
 */
import type { EpochRecord } from '@backprop/core';

export class TrainProgress {
  private lastDraw = 0;
  private drawn = false;
  private readonly plainEvery: number;
  private readonly recent: [time: number, done: number][] = [];

  constructor(
    private readonly totalIters: number,
    private readonly out: NodeJS.WriteStream = process.stdout,
    private readonly bar: NodeJS.WriteStream = process.stderr,
  ) {
    this.plainEvery = Math.max(1, Math.ceil(totalIters / 10));
  }

  epochHeader(): void {
    this.print(
      `${'epoch'.padStart(5)}  ${'iter'.padStart(6)}  ${'train acc'.padStart(9)}  ${'test acc'.padStart(8)}`,
    );
  }

  epoch(record: EpochRecord): void {
    const train = record.trainAccuracy === null ? '—' : record.trainAccuracy.toFixed(4);
    this.print(
      `${String(Number(record.epoch.toFixed(2))).padStart(5)}  ${String(record.iter).padStart(6)}  ${train.padStart(9)}  ${record.testAccuracy.toFixed(4).padStart(8)}`,
    );
  }

  /** `trainSeconds`: time spent training so far, evaluation excluded (so it/s is training's rate). */
  iteration(iter: number, loss: number, trainSeconds: number): void {
    const done = iter + 1;
    const now = performance.now();
    if (this.bar.isTTY) {
      if (now - this.lastDraw < 100 && done < this.totalIters) return;
      this.lastDraw = now;
      this.bar.write(`\r${this.status(done, loss, trainSeconds, true)}\x1b[K`);
      this.drawn = true;
    } else if (done % this.plainEvery === 0 || done === this.totalIters) {
      this.bar.write(`${this.status(done, loss, trainSeconds, false)}\n`);
    }
  }

  finish(): void {
    this.clearBar();
  }

  private status(done: number, loss: number, trainSeconds: number, withBar: boolean): string {
    // The rate over the last few seconds of training (evaluation is not in trainSeconds).
    this.recent.push([trainSeconds, done]);
    while (this.recent.length > 2 && trainSeconds - this.recent[0][0] > 3) this.recent.shift();
    const [since, doneThen] = this.recent.length > 1 ? this.recent[0] : [0, 0];
    const rate = (done - doneThen) / Math.max(trainSeconds - since, 1e-9);
    const eta = (this.totalIters - done) / rate;
    const width = 24;
    const filled = Math.round((width * done) / this.totalIters);
    const bar = withBar ? `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ` : '';
    return `${bar}iter ${done}/${this.totalIters}  loss ${loss.toFixed(4)}  ${rate.toFixed(0)} it/s  ETA ${clock(eta)}`;
  }

  private print(line: string): void {
    this.clearBar();
    this.out.write(`${line}\n`);
  }

  private clearBar(): void {
    if (this.drawn) {
      this.bar.write('\r\x1b[K');
      this.drawn = false;
    }
  }
}

function clock(seconds: number): string {
  if (!Number.isFinite(seconds)) return '--:--';
  const s = Math.round(seconds);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}
