/**
 * How timings are taken: warm-up, then rounds in which every subject runs one block in
 * turn (the order rotating each round, so drift on a shared machine hits all alike); a
 * figure is the median of its rounds, with min and max beside it.
 */
import type { StepConfig, StepRunner, Subject } from './subjects.js';

export interface Sample {
  /** Per-round values (ms per iteration, or µs per kernel call). */
  samples: number[];
  median: number;
  min: number;
  max: number;
}

export function summarize(samples: number[]): Sample {
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  return { samples, median, min: sorted[0], max: sorted[sorted.length - 1] };
}

export interface Plan {
  rounds: number;
  /** Wall time one block should take; iterations per block are sized to it. */
  blockMs: number;
  /**
   * How long each subject's training step runs before its first timed block. V8 compiles
   * hot wasm and JavaScript with its optimizing tier in the background and sizes its heap
   * over the first second or so: with two warm-up iterations, wasm's MLP step under Node 20
   * measured 0.55, 0.52, 0.63, 0.49, 0.42, 0.39, 0.38 ms in a run's seven rounds.
   */
  warmupMs?: number;
  /**
   * A pause before each timed block of a training step, so that the last subject's idle
   * threads have gone to sleep: OpenBLAS's spin for ~2^28 cycles (~80 ms) before they
   * do, and a block that began while they spun would share a core with them.
   */
  settleMs?: number;
}

const pause = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Runs `timed` for each item, `plan.rounds` times, interleaved; returns per-item samples. */
export async function interleave<T>(
  items: T[],
  plan: Plan,
  calibrate: (item: T) => Promise<number>,
  timed: (item: T, reps: number) => Promise<number>,
  progress: (message: string) => void,
  settleMs = 0,
): Promise<Map<T, number[]>> {
  const reps = new Map<T, number>();
  for (const item of items) {
    const perRep = await calibrate(item); // also the warm-up
    reps.set(item, Math.max(2, Math.min(5000, Math.round(plan.blockMs / Math.max(perRep, 1e-3)))));
  }
  const results = new Map<T, number[]>(items.map((item) => [item, []]));
  for (let round = 0; round < plan.rounds; round++) {
    const order = items.map((_, i) => items[(i + round) % items.length]);
    for (const item of order) {
      const r = reps.get(item) as number;
      if (settleMs > 0) await pause(settleMs);
      results.get(item)?.push((await timed(item, r)) / r);
    }
    progress(`round ${round + 1}/${plan.rounds}`);
  }
  return results;
}

/** ms per training iteration for every subject at one (hidden, batch). */
export async function measureSteps(
  subjects: Subject[],
  config: StepConfig,
  plan: Plan,
  progress: (message: string) => void,
): Promise<Map<Subject, Sample>> {
  const runners = new Map<Subject, StepRunner>();
  for (const subject of subjects) runners.set(subject, await subject.step(config));
  // (the caller passes only the subjects that run this network: `convnet` for SimpleConvNet)
  try {
    const samples = await interleave(
      subjects,
      plan,
      async (subject) => {
        const runner = runners.get(subject) as StepRunner;
        // warm-up: compile, allocate, fill caches, and run for plan.warmupMs
        const start = performance.now();
        let reps = 2;
        let ms = await runner.run(reps);
        while (performance.now() - start < (plan.warmupMs ?? 0)) {
          reps = Math.min(5000, reps * 2);
          ms = await runner.run(reps);
        }
        return ms / reps;
      },
      (subject, reps) => (runners.get(subject) as StepRunner).run(reps),
      progress,
      plan.settleMs,
    );
    return new Map([...samples].map(([subject, values]) => [subject, summarize(values)]));
  } finally {
    for (const runner of runners.values()) runner.dispose();
  }
}

/**
 * Floating-point work of one iteration. The 784-hidden-10 net: forward, dW2, dx2, dW1.
 * SimpleConvNet: the convolution forward and its dW (its dx is not needed: it sees the
 * data), each 2·N·576·25·30; the hidden Affine forward, dW and dx; the last Affine's.
 */
export function stepFlops({ hidden, batch, net }: StepConfig): number {
  if (net === 'convnet') {
    return 2 * batch * (2 * 576 * 25 * 30 + 3 * 4320 * hidden + 3 * hidden * 10);
  }
  return (
    2 * batch * (784 * hidden + hidden * 10) +
    2 * batch * hidden * 10 * 2 +
    2 * batch * 784 * hidden
  );
}
