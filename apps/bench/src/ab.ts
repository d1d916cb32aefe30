/**
 * `pnpm bench ab --baseline DIR`: the same training step from this checkout and from
 * another one built beside it (a worktree of an earlier commit), each measured in a
 * process of its own — two GL engines in one process slow each other — alternately,
 * round after round, so the machine's drift falls on both alike. A figure is the median
 * over rounds of each process's best block.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BackpropError } from '@backprop/core';
import { formatTable } from './report.js';

const CHILD = fileURLToPath(new URL('./ab-child.js', import.meta.url));
const HERE = fileURLToPath(new URL('../../..', import.meta.url));

/** Where a checkout keeps core and its registry: @backprop/backends, or (before it) the CLI's. */
export function treeModules(root: string): { core: string; registry: string } {
  const core = join(root, 'packages/core/dist/index.js');
  const registry = [
    join(root, 'packages/backends/dist/index.js'),
    join(root, 'apps/cli/dist/backends.js'),
  ].find(existsSync);
  if (!existsSync(core) || !registry) {
    throw new BackpropError(
      `${root}: not a built backprop checkout (no packages/core/dist or registry); run pnpm install there`,
    );
  }
  return { core, registry };
}

export function ab(
  baseline: string,
  subjects: string[],
  rounds: number,
  workload: 'mlp' | 'convnet' = 'mlp',
): string {
  const trees = { baseline: treeModules(baseline), this: treeModules(HERE) };
  const rows = [['subject', 'baseline ms/iter', 'this ms/iter', 'this ÷ baseline', '']];
  nextSubject: for (const subject of subjects) {
    const times: Record<keyof typeof trees, number[]> = { baseline: [], this: [] };
    for (let round = 0; round < rounds; round++) {
      // alternate which goes first, so neither always follows the other
      const order = (
        round % 2 ? ['this', 'baseline'] : ['baseline', 'this']
      ) as (keyof typeof trees)[];
      for (const tree of order) {
        const { core, registry } = trees[tree];
        const run = spawnSync(process.execPath, [CHILD, core, registry, subject, workload], {
          encoding: 'utf8',
        });
        if (run.status !== 0) {
          // one subject that cannot run (a baseline built without headless-gl, say) is a
          // row that says why; the others are still measured
          rows.push([subject, '—', '—', '—', `failed in ${tree}: ${childError(run.stderr)}`]);
          process.stderr.write(`${subject} (${tree}) failed: ${childError(run.stderr)}\n`);
          continue nextSubject;
        }
        times[tree].push(Number(run.stdout.trim()));
      }
      process.stderr.write(`${subject}: round ${round + 1}/${rounds}\n`);
    }
    const [before, after] = [median(times.baseline), median(times.this)];
    const ratio = after / before;
    rows.push([
      subject,
      before.toFixed(3),
      after.toFixed(3),
      ratio.toFixed(3),
      ratio > 1.05 ? 'slower' : ratio < 0.95 ? 'faster' : 'same (±5%)',
    ]);
  }
  return `${formatTable(rows)}\n\nbaseline: ${baseline}; ${rounds} rounds, a process each tree a round; each process: the best of 5 blocks of ${workload === 'convnet' ? '10 SimpleConvNet steps (Adam, batch 100)' : '100 steps (784-50-10, SGD, batch 100)'}.`;
}

/**
 * What a child that failed said: its error's own line (`BackendError: …`) rather than the
 * last line of the trace, which is Node's version.
 */
export function childError(stderr: string): string {
  const lines = stderr.split('\n').map((line) => line.trim());
  return (
    lines.find((line) => /^[A-Z]\w*Error\b/.test(line)) ??
    lines.filter((line) => line && !/^Node\.js v/.test(line)).at(-1) ??
    `no message (exit status only)`
  );
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}
