import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

// The bench end to end on two backends (wasm twice: every core, and one thread), as a user runs it. No timing is asserted: only
// that every output is written and holds what the schema promises.
it('pnpm bench --quick writes results.json, report.md and the charts', () => {
  const out = mkdtempSync(join(tmpdir(), 'bench-'));
  try {
    const main = fileURLToPath(new URL('../dist/main.js', import.meta.url));
    const run = spawnSync(
      process.execPath,
      [main, '--quick', '--only', 'wasm,cpu/float32', '--no-peers', '--out', out],
      { encoding: 'utf8' },
    );
    expect(run.status, run.stderr).toBe(0);
    const results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));
    expect(results.schema).toBe('backprop-bench/1');
    expect(results.subjects.map((s: { id: string }) => s.id)).toEqual([
      'cpu/float32',
      'wasm',
      'wasm/1t',
    ]);
    expect(results.step).toHaveLength(3);
    // 13 kernels a subject: the MLP's 7, SimpleConvNet's 5 (at batch 10), a dense 128³
    expect(results.kernels.length).toBe(39);
    // core's own cost: the MLP's step and SimpleConvNet's on kernels that do nothing
    expect(
      results.coreOverhead.map((c: { net: string; batch: number }) => [c.net, c.batch]),
    ).toEqual([
      ['mlp', 100],
      ['convnet', 10],
    ]);
    for (const c of results.coreOverhead) expect(c.median).toBeGreaterThan(0);
    // wasm measures its peak on its threads; useful GFLOP/s never exceed the nominal
    expect(results.peak.map((p: { subject: string }) => p.subject)).toEqual(['wasm', 'wasm/1t']);
    for (const p of results.peak) expect(p.gflops).toBeGreaterThan(0);
    for (const k of results.kernels)
      if (k.gflops !== null) expect(k.usefulGflops).toBeLessThanOrEqual(k.gflops);
    expect(results.growth.batch.length).toBe(6); // batch 1 and 100 a subject
    // SimpleConvNet's step on every subject (batch 10 in --quick)
    expect(
      results.convnet.map((s: { subject: string; batch: number }) => [s.subject, s.batch]),
    ).toEqual(
      expect.arrayContaining([
        ['cpu/float32', 10],
        ['wasm', 10],
        ['wasm/1t', 10],
      ]),
    );
    for (const file of [
      'report.md',
      'step.svg',
      'convnet.svg',
      'growth-hidden.svg',
      'growth-batch.svg',
    ])
      expect(existsSync(join(out, file))).toBe(true);
    expect(run.stdout).toMatch(/wasm\s+\d/);

    const compare = spawnSync(
      process.execPath,
      [main, 'compare', join(out, 'results.json'), join(out, 'results.json')],
      { encoding: 'utf8' },
    );
    expect(compare.status).toBe(0);
    expect(compare.stdout).toMatch(/0\.0%\s+same/);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
