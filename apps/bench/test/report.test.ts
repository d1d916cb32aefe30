import { describe, expect, it } from 'vitest';
import { childError } from '../src/ab.js';
import { stepFlops, summarize } from '../src/measure.js';
import { compare, type Results, reportMarkdown, SCHEMA, stepTable } from '../src/report.js';

function results(step: [string, number][]): Results {
  return {
    schema: SCHEMA,
    mode: 'quick',
    startedAt: '2026-11-27T00:00:00.000Z',
    finishedAt: '2026-11-27T00:01:00.000Z',
    command: 'pnpm bench --quick',
    machine: { cpu: 'test', cores: 2, memoryGiB: 24, os: 'Linux', node: 'v20', env: {} },
    subjects: step.map(([id]) => ({
      id,
      kind: id.includes('/') && !id.startsWith('cpu') ? 'peer' : 'backend',
      description: id,
    })),
    skipped: [{ id: 'pytorch/float32/1t', reason: 'no python3 with torch' }],
    reference: 'numpy/float32',
    method: { rounds: 3, blockMs: 20 },
    step: step.map(([subject, median]) => ({
      subject,
      hidden: 50,
      batch: 100,
      samples: [median],
      median,
      min: median,
      max: median,
      gflops: 16 / median,
    })),
    peak: [],
    coreOverhead: [],
    kernels: [],
    growth: { hidden: [], batch: [] },
    convnet: [],
    full: [],
  };
}

describe('bench arithmetic and reports', () => {
  it('takes the median of the rounds, with min and max', () => {
    expect(summarize([3, 1, 2])).toMatchObject({ median: 2, min: 1, max: 3 });
    expect(summarize([4, 1, 2, 3]).median).toBe(2.5);
  });

  it("sets a kernel's useful GFLOP/s against its subject's measured peak", () => {
    const run = results([
      ['wasm', 1],
      ['cpu', 2],
    ]);
    run.peak = [{ subject: 'wasm', gflops: 40 }];
    const kernel = { samples: [100], median: 100, min: 100, max: 100 };
    run.kernels = [
      { subject: 'wasm', kernel: 'x·W1', ...kernel, gflops: 7.84, usefulGflops: 2 },
      { subject: 'cpu', kernel: 'x·W1', ...kernel, gflops: 7.84, usefulGflops: 2 },
    ];
    const report = reportMarkdown(run);
    expect(report).toMatch(/\| wasm \| 40\.0 \|/);
    // 2 useful GF/s of a 40 GF/s peak is 5%; a subject without a peak gets no percentage
    expect(report).toMatch(/\| x·W1 \| 100\.0 \(2\.0 GF\/s, 5%\) \| 100\.0 \(2\.0 GF\/s\) \|/);
  });

  it("ab names a failed child's error, not the last line of its trace", () => {
    const trace = [
      'file:///tmp/before/packages/backends/dist/index.js:40',
      '        throw new BackendError(message);',
      '              ^',
      '',
      "BackendError: gpujs-headlessgl: the 'gl' package is not built here",
      '    at load (file:///tmp/before/packages/backends/dist/index.js:40:15)',
      '',
      'Node.js v20.20.2',
    ].join('\n');
    expect(childError(trace)).toBe(
      "BackendError: gpujs-headlessgl: the 'gl' package is not built here",
    );
    expect(childError('killed\n\nNode.js v20.20.2\n')).toBe('killed');
    expect(childError('')).toBe('no message (exit status only)');
  });

  it('counts the book step as about 16 MFLOP', () => {
    expect(stepFlops({ hidden: 50, batch: 100 })).toBe(15_980_000);
  });

  it('gives ratios to the reference measured in the same run, fastest first', () => {
    const table = stepTable(
      results([
        ['wasm', 0.4],
        ['numpy/float32', 0.2],
        ['cpu/float32', 3],
      ]),
    );
    expect(table[0]).toEqual([
      'subject',
      'ms/iter (median)',
      'min–max',
      'GFLOP/s',
      '× numpy/float32',
    ]);
    expect(table.slice(1).map((r) => [r[0], r.at(-1)])).toEqual([
      ['numpy/float32', '1.00'],
      ['wasm', '2.00'],
      ['cpu/float32', '15.00'],
    ]);
  });

  it('lists skipped peers with their reason in the report', () => {
    const md = reportMarkdown(
      results([
        ['wasm', 0.4],
        ['numpy/float32', 0.2],
      ]),
    );
    expect(md).toContain('`pytorch/float32/1t`: **skipped** — no python3 with torch');
    expect(md).toContain('| wasm | 0.400 |');
  });

  it('compares two runs and says what got faster or slower', () => {
    const out = compare(
      results([
        ['wasm', 0.4],
        ['cpu/float32', 3],
      ]),
      results([
        ['wasm', 0.3],
        ['cpu/float32', 3.05],
      ]),
    );
    expect(out).toMatch(/step ms\/iter\s+wasm\s+0\.400\s+0\.300\s+-25\.0%\s+-25\.0%\s+faster/);
    expect(out).toMatch(/cpu\/float32\s+3\.00\s+3\.05\s+1\.7%\s+1\.7%\s+same \(±5%\)/);
  });

  it('corrects for the machine’s drift, measured on the peers, which this project does not change', () => {
    const a = results([
      ['wasm', 0.4],
      ['numpy/float32', 0.2],
    ]);
    const b = results([
      ['wasm', 0.46],
      ['numpy/float32', 0.23],
    ]);
    for (const r of [a, b]) {
      const numpy = r.subjects.find((s) => s.id === 'numpy/float32');
      if (numpy) numpy.kind = 'peer';
    }
    const out = compare(a, b);
    // both 15% slower: the machine, not the code
    expect(out).toMatch(/step ms\/iter\s+wasm\s+0\.400\s+0\.460\s+15\.0%\s+0\.0%\s+same/);
    expect(out).not.toMatch(/step ms\/iter\s+numpy/);
    expect(out).toContain("The machine's drift, from the peers (numpy/float32): 15.0%");
  });
});
