/**
 * What a run writes: results.json (schema `backprop-bench/1`, documented in the README),
 * report.md, the SVG charts, and the terminal table.
 */
import { renderBarChart, renderWideChart } from '@backprop/charts';
import type { Sample } from './measure.js';

export const SCHEMA = 'backprop-bench/1';

export interface StepResult extends Sample {
  subject: string;
  hidden: number;
  batch: number;
  /** SimpleConvNet's step (Adam) where 'convnet'; the MLP's (SGD) where absent or 'mlp'. */
  net?: 'mlp' | 'convnet';
  /** Effective GFLOP/s: the iteration's nominal floating-point work over its median time. */
  gflops: number;
}

export interface KernelResult extends Sample {
  subject: string;
  kernel: string;
  /** Samples are µs per call. */
  gflops: number | null;
  /** GFLOP/s counting only the operations that change the result (x's zero pixels left out). */
  usefulGflops: number | null;
}

/** A step on kernels that do no arithmetic: core's own cost (ms per iteration). */
export interface CoreOverheadResult extends Sample {
  net: 'mlp' | 'convnet';
  hidden: number;
  batch: number;
}

/** A backend's own measure of the machine's peak (GFLOP/s), on the threads it runs on. */
export interface PeakResult {
  subject: string;
  gflops: number;
}

export interface FullRunResult {
  subject: string;
  wallSeconds: number;
  msPerIter: number;
  evalSeconds: number;
  trainAccuracy: number;
  testAccuracy: number;
}

export interface Results {
  schema: typeof SCHEMA;
  mode: 'quick' | 'normal' | 'full';
  startedAt: string;
  finishedAt: string;
  command: string;
  machine: {
    cpu: string;
    cores: number;
    memoryGiB: number;
    os: string;
    node: string;
    env: Record<string, string>;
  };
  subjects: { id: string; kind: 'backend' | 'peer'; description: string }[];
  skipped: { id: string; reason: string }[];
  /** The subject the ratios are taken against. */
  reference: string | null;
  method: { rounds: number; blockMs: number; warmupMs?: number; settleMs?: number };
  /** Training iteration at the book's size (hidden 50, batch 100): ms per iteration. */
  step: StepResult[];
  /** The peak the kernels' useful GFLOP/s are set against, for backends that measure one. */
  peak: PeakResult[];
  /** The MLP's and SimpleConvNet's step on kernels that do nothing: what core costs a step. */
  coreOverhead: CoreOverheadResult[];
  kernels: KernelResult[];
  growth: { hidden: StepResult[]; batch: StepResult[] };
  /** SimpleConvNet's training iteration (hidden 100, Adam), for every subject that runs it. */
  convnet: StepResult[];
  full: FullRunResult[];
}

export const PALETTE = [
  '#1f77b4',
  '#ff7f0e',
  '#2ca02c',
  '#d62728',
  '#9467bd',
  '#8c564b',
  '#e377c2',
  '#7f7f7f',
  '#bcbd22',
  '#17becf',
  '#393b79',
  '#637939',
];

export function ratioTo(
  results: Results,
  id: string | null,
  subject: string,
  entries: StepResult[] = results.step,
): number | null {
  const ref = entries.find((s) => s.subject === id);
  const me = entries.find((s) => s.subject === subject);
  return ref && me ? me.median / ref.median : null;
}

function fmt(v: number, digits = 3): string {
  return v >= 100 ? v.toFixed(1) : v >= 10 ? v.toFixed(2) : v.toPrecision(digits);
}

/** The headline: ms per iteration per subject, with ratios to PyTorch and numpy. */
export function stepTable(results: Results): string[][] {
  const torch = results.step.find((s) => s.subject.startsWith('pytorch/float32'))?.subject;
  const numpy = results.step.find((s) => s.subject === 'numpy/float32')?.subject;
  // the reference first, then PyTorch and numpy float32 where they ran and are not it
  const refs = [results.reference, torch, numpy].filter(
    (r, i, all): r is string => !!r && all.indexOf(r) === i,
  );
  return stepTimes(results, results.step, refs);
}

/** SimpleConvNet's step per subject, with ratios to PyTorch on one thread and TensorFlow.js written directly. */
/** Core's own cost a step, and its share of each backend's whole step on the same network. */
export function coreOverheadTable(results: Results): string[][] {
  const rows = [
    ['core alone (kernels do nothing)', 'ms/iter (median)', 'min–max', 'share of the wasm step'],
  ];
  for (const c of results.coreOverhead ?? []) {
    const whole = (c.net === 'convnet' ? results.convnet : results.step).find(
      (s) => s.subject === 'wasm',
    );
    rows.push([
      `${c.net === 'convnet' ? 'SimpleConvNet' : 'MLP 784-50-10'}, batch ${c.batch}`,
      fmt(c.median),
      `${fmt(c.min)}–${fmt(c.max)}`,
      whole ? `${((100 * c.median) / whole.median).toFixed(0)}%` : '—',
    ]);
  }
  return rows;
}

export function convnetTable(results: Results): string[][] {
  const refs = ['pytorch/float32/1t', 'tfjs-direct-wasm'].filter((r) =>
    results.convnet.some((s) => s.subject === r),
  );
  return stepTimes(results, results.convnet, refs);
}

/** Steps fastest first: median, range, GFLOP/s and the ratio to each of `refs`. */
function stepTimes(results: Results, entries: StepResult[], refs: string[]): string[][] {
  const header = [
    'subject',
    'ms/iter (median)',
    'min–max',
    'GFLOP/s',
    ...refs.map((r) => `× ${r}`),
  ];
  const rows = [...entries]
    .sort((a, b) => a.median - b.median)
    .map((s) => [
      s.subject,
      fmt(s.median),
      `${fmt(s.min)}–${fmt(s.max)}`,
      s.gflops.toFixed(1),
      ...refs.map((ref) => ratioTo(results, ref, s.subject, entries)?.toFixed(2) ?? '—'),
    ]);
  return [header, ...rows];
}

export function formatTable(rows: string[][]): string {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  return rows
    .map((r) =>
      r
        .map((cell, c) => cell.padEnd(widths[c]))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

function markdownTable(rows: string[][]): string {
  return [
    `| ${rows[0].join(' | ')} |`,
    `|${rows[0].map(() => '---').join('|')}|`,
    ...rows.slice(1).map((r) => `| ${r.join(' | ')} |`),
  ].join('\n');
}

export function reportMarkdown(results: Results): string {
  const lines: string[] = [];
  lines.push(`# backprop bench — ${results.startedAt.slice(0, 10)}`, '');
  lines.push(
    `Command: \`${results.command}\` (mode ${results.mode}). Machine: ${results.machine.cpu}, ${results.machine.cores} cores, ${results.machine.memoryGiB} GiB, ${results.machine.os}, Node ${results.machine.node}.`,
  );
  lines.push(
    `Method: warm-up${results.method.warmupMs ? ` (each training step run for ${results.method.warmupMs} ms first)` : ''}, then ${results.method.rounds} rounds; in each round every subject runs a block of about ${results.method.blockMs} ms, the order rotating${results.method.settleMs ? ` (a step's block after a pause of ${results.method.settleMs} ms, so that the last subject's idle threads have stopped spinning)` : ''}; figures are medians with min–max. Ratios are to \`${results.reference}\` measured in the same run (> 1 is slower).`,
    '',
  );
  lines.push(
    '## Training iteration (784-50-10, batch 100: forward, backward, SGD)',
    '',
    markdownTable(stepTable(results)),
    '',
  );
  lines.push('![ms per iteration](step.svg)', '');
  if (results.convnet.length) {
    const { batch, hidden } = results.convnet[0];
    lines.push(
      `## SimpleConvNet training iteration (7.5: conv 30 5×5, pool 2, affine ${hidden}, batch ${batch}, Adam)`,
      '',
      markdownTable(convnetTable(results)),
      '',
      '![SimpleConvNet ms per iteration](convnet.svg)',
      '',
    );
  }
  if (results.coreOverhead?.length) {
    lines.push(
      '## Core’s own cost per step',
      '',
      'The same steps on a backend whose kernels do no arithmetic (they return storage of the right size and nothing else): what core does around the kernels — handles, checks, dispatch, tensor objects, `tidy` — on the path the wasm backend takes.',
      '',
      markdownTable(coreOverheadTable(results)),
      '',
    );
  }
  const peaks = results.peak ?? [];
  if (peaks.length) {
    lines.push(
      '## The machine’s peak',
      '',
      'Measured by the backend itself: its multiply-add (`madd`: a multiply then an add, or one fused multiply-add in the relaxed build) on f32x4 at full throughput on every thread it runs on, nothing loaded or stored. The kernels below give their useful GFLOP/s as a percentage of it.',
      '',
      markdownTable([
        ['subject', 'peak GFLOP/s'],
        ...peaks.map((p) => [p.subject, p.gflops.toFixed(1)]),
      ]),
      '',
    );
  }
  if (results.kernels.length) {
    lines.push(
      '## Kernels at the networks’ shapes',
      '',
      'µs per call, then useful GFLOP/s: a product whose A is MNIST pixels (x) counts only their nonzeros, the work a kernel that skips zeros does; the convolution counts every multiply-add of its 25 taps; where the subject measured a peak, the percentage of it.',
      '',
    );
    const names = [...new Set(results.kernels.map((k) => k.kernel))];
    const subjects = [...new Set(results.kernels.map((k) => k.subject))];
    const rows = [['kernel', ...subjects]];
    for (const name of names) {
      rows.push([
        name,
        ...subjects.map((s) => {
          const k = results.kernels.find((r) => r.kernel === name && r.subject === s);
          if (!k) return '—';
          const useful = k.usefulGflops ?? k.gflops;
          if (!useful) return fmt(k.median);
          const peak = peaks.find((p) => p.subject === s);
          const share = peak ? `, ${((100 * useful) / peak.gflops).toFixed(0)}%` : '';
          return `${fmt(k.median)} (${useful.toFixed(1)} GF/s${share})`;
        }),
      ]);
    }
    lines.push(markdownTable(rows), '');
  }
  for (const [axis, label] of [
    ['hidden', 'hidden size (batch 100)'],
    ['batch', 'batch size (hidden 50)'],
  ] as const) {
    const entries = results.growth[axis];
    if (!entries.length) continue;
    const values = [...new Set(entries.map((e) => e[axis]))].sort((a, b) => a - b);
    const subjects = [...new Set(entries.map((e) => e.subject))];
    const rows = [[`ms/iter by ${label}`, ...values.map(String)]];
    for (const s of subjects)
      rows.push([
        s,
        ...values.map((v) => {
          const e = entries.find((x) => x.subject === s && x[axis] === v);
          return e ? fmt(e.median) : '—';
        }),
      ]);
    lines.push(
      `## Growth: ${label}`,
      '',
      markdownTable(rows),
      '',
      `![growth by ${axis}](growth-${axis}.svg)`,
      '',
    );
  }
  if (results.full.length) {
    lines.push('## The book’s full run (10 000 iterations, accuracy every 600)', '');
    lines.push(
      markdownTable([
        ['subject', 'wall s', 'ms/iter', 'eval s', 'train acc', 'test acc'],
        ...results.full.map((f) => [
          f.subject,
          f.wallSeconds.toFixed(1),
          fmt(f.msPerIter),
          f.evalSeconds.toFixed(1),
          f.trainAccuracy.toFixed(4),
          f.testAccuracy.toFixed(4),
        ]),
      ]),
      '',
    );
  }
  lines.push('## What ran', '');
  for (const s of results.subjects) lines.push(`- \`${s.id}\` (${s.kind}): ${s.description}`);
  for (const s of results.skipped) lines.push(`- \`${s.id}\`: **skipped** — ${s.reason}`);
  const env = Object.entries(results.machine.env);
  if (env.length) lines.push('', `Environment: ${env.map(([k, v]) => `${k}=${v}`).join(', ')}.`);
  lines.push(
    '',
    'Reproduce: `pnpm bench` (add `--full` for the book’s full run, `--quick` for a seconds-long check). Compare two runs: `pnpm bench compare A/results.json B/results.json`.',
  );
  return `${lines.join('\n')}\n`;
}

export function charts(results: Results): Record<string, string> {
  const files: Record<string, string> = {};
  const color = (id: string) =>
    PALETTE[results.subjects.findIndex((s) => s.id === id) % PALETTE.length];
  files['step.svg'] = renderBarChart({
    title: 'Training iteration, 784-50-10, batch 100',
    valueLabel: `ms per iteration, median of ${results.method.rounds} rounds (shorter is faster)`,
    bars: [...results.step]
      .sort((a, b) => a.median - b.median)
      .map((s) => {
        const r = ratioTo(results, results.reference, s.subject);
        return {
          label: s.subject,
          value: s.median,
          color: color(s.subject),
          note: r === null ? '' : `(×${r.toFixed(2)})`,
        };
      }),
  });
  if (results.convnet.length) {
    const reference = results.convnet.some((s) => s.subject === 'pytorch/float32/1t')
      ? 'pytorch/float32/1t'
      : null;
    files['convnet.svg'] = renderBarChart({
      title: `SimpleConvNet training iteration, batch ${results.convnet[0].batch}, Adam`,
      valueLabel: `ms per iteration, median of ${results.method.rounds} rounds (shorter is faster)`,
      bars: [...results.convnet]
        .sort((a, b) => a.median - b.median)
        .map((s) => {
          const r = ratioTo(results, reference, s.subject, results.convnet);
          return {
            label: s.subject,
            value: s.median,
            color: color(s.subject),
            note: r === null ? '' : `(×${r.toFixed(2)})`,
          };
        }),
    });
  }
  for (const [axis, label] of [
    ['hidden', 'hidden units (batch 100)'],
    ['batch', 'batch size (hidden 50)'],
  ] as const) {
    const entries = results.growth[axis];
    if (!entries.length) continue;
    const subjects = [...new Set(entries.map((e) => e.subject))];
    files[`growth-${axis}.svg`] = renderWideChart({
      title: `ms per iteration as ${axis === 'hidden' ? 'the hidden layer' : 'the batch'} grows`,
      xLabel: label,
      yLabel: 'ms per iteration (log)',
      xLog: true,
      yLog: true,
      series: subjects.map((s) => ({
        label: s,
        color: color(s),
        dashed: results.subjects.find((x) => x.id === s)?.kind === 'peer',
        points: entries
          .filter((e) => e.subject === s)
          .sort((a, b) => a[axis] - b[axis])
          .map((e) => [e[axis], e.median] as [number, number]),
      })),
    });
  }
  return files;
}

/** What got faster or slower between two runs, by how much. */
/**
 * What changed between two runs A and B. A shared machine drifts between runs (the same
 * numpy step has measured 15% apart an hour later), so each change is also shown
 * corrected by the drift of the peers — numpy, PyTorch and TensorFlow.js written
 * directly, code this project does not change — on the same workload (kernels, which
 * the peers do not run, take the drift of the training step). The verdict reads the
 * corrected change.
 */
export function compare(a: Results, b: Results): string {
  const peers = new Set(
    [...a.subjects, ...b.subjects].filter((s) => s.kind === 'peer').map((s) => s.id),
  );
  const rows = [['workload', 'subject', 'A', 'B', 'change', 'corrected', '']];
  const verdict = (ratio: number) =>
    ratio < 0.95 ? 'faster' : ratio > 1.05 ? 'slower' : 'same (±5%)';
  const pct = (ratio: number) => `${((ratio - 1) * 100).toFixed(1)}%`;
  /** The geometric mean of the peers' B/A on matching entries: the machine's drift. */
  const drift = <T extends { subject: string; median: number }>(olds: T[], news: T[]) => {
    const ratios = news
      .filter((n) => peers.has(n.subject))
      .flatMap((n) => {
        const o = olds.find((x) => x.subject === n.subject);
        return o ? [n.median / o.median] : [];
      });
    return ratios.length
      ? Math.exp(ratios.reduce((s, r) => s + Math.log(r), 0) / ratios.length)
      : 1;
  };
  const add = (workload: string, subject: string, old: number, now: number, machine: number) => {
    const corrected = now / old / machine;
    rows.push([
      workload,
      subject,
      fmt(old),
      fmt(now),
      pct(now / old),
      pct(corrected),
      verdict(corrected),
    ]);
  };
  const key = (x: { hidden: number; batch: number }) => `${x.hidden}/${x.batch}`;
  const stepDrift = drift(a.step, b.step);
  for (const s of b.step) {
    const old = a.step.find((x) => x.subject === s.subject && key(x) === key(s));
    if (old && !peers.has(s.subject))
      add('step ms/iter', s.subject, old.median, s.median, stepDrift);
  }
  const convnetDrift = drift(a.convnet ?? [], b.convnet ?? []);
  for (const s of b.convnet ?? []) {
    const old = (a.convnet ?? []).find((x) => x.subject === s.subject && key(x) === key(s));
    if (old && !peers.has(s.subject))
      add('SimpleConvNet ms/iter', s.subject, old.median, s.median, convnetDrift);
  }
  for (const k of b.kernels) {
    const old = a.kernels.find((x) => x.subject === k.subject && x.kernel === k.kernel);
    if (old) add(`${k.kernel} µs`, k.subject, old.median, k.median, stepDrift);
  }
  for (const axis of ['hidden', 'batch'] as const) {
    for (const value of new Set(b.growth[axis].map((g) => g[axis]))) {
      const olds = a.growth[axis].filter((x) => x[axis] === value);
      const news = b.growth[axis].filter((x) => x[axis] === value);
      const machine = drift(olds, news);
      for (const g of news) {
        const old = olds.find((x) => x.subject === g.subject);
        if (old && !peers.has(g.subject))
          add(`${axis} ${value} ms/iter`, g.subject, old.median, g.median, machine);
      }
    }
  }
  const onlyA = a.subjects.filter((s) => !b.subjects.some((x) => x.id === s.id)).map((s) => s.id);
  const onlyB = b.subjects.filter((s) => !a.subjects.some((x) => x.id === s.id)).map((s) => s.id);
  const notes = [
    `A: ${a.startedAt} (${a.mode}), B: ${b.startedAt} (${b.mode}).`,
    `The machine's drift, from the peers (${[...peers].join(', ')}): ${pct(stepDrift)} on the training step. "corrected" divides it out; within ±5% is noise on a shared machine.`,
    ...(onlyA.length ? [`only in A: ${onlyA.join(', ')}`] : []),
    ...(onlyB.length ? [`only in B: ${onlyB.join(', ')}`] : []),
  ];
  return `${formatTable(rows)}\n\n${notes.join('\n')}`;
}
