#!/usr/bin/env node
/**
 * `pnpm bench`: every backend and peer that runs on this machine, on the same workloads,
 * in one sitting. `pnpm bench compare A.json B.json`: what changed between two runs.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, release, totalmem, type } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import {
  BackpropError,
  Random,
  SGD,
  type Tensor,
  TwoLayerNet,
  toDataset,
  trainNetwork,
} from '@backprop/core';
import { loadMnist } from '@backprop/mnist';
import { ab } from './ab.js';
import { convnetKernelWork, KERNEL_WORK, squareWork } from './kernels.js';
import { interleave, measureSteps, type Plan, stepFlops, summarize } from './measure.js';
import {
  charts,
  compare,
  convnetTable,
  coreOverheadTable,
  formatTable,
  type Results,
  reportMarkdown,
  SCHEMA,
  type StepResult,
  stepTable,
} from './report.js';
import {
  backendSubjects,
  coreOverheadSubject,
  pythonSubject,
  type Skipped,
  type StepConfig,
  type Subject,
  tfjsDirectSubject,
} from './subjects.js';

const usage = `pnpm bench [--quick | --full] [--only a,b] [--except a,b] [--out DIR] [--no-peers] [--no-convnet]
pnpm bench compare A/results.json B/results.json
pnpm bench ab --baseline DIR [--only cpu:float32,wasm,…] [--rounds 5] [--net mlp|convnet]

  --quick     a check that the bench works, in seconds (CI runs it); figures are rough
  --full      also the book's full run (10 000 iterations with evaluation) per backend
  --only      subjects whose id starts with one of these (e.g. wasm,pytorch)
  --except    leave out subjects whose id starts with one of these (e.g. tfjs-webgpu)
  --no-peers  leave out TensorFlow.js-direct, numpy and PyTorch
  --no-convnet  leave out SimpleConvNet's step, its kernel rows and its core row (on a
              software GPU adapter one tfjs-webgpu SimpleConvNet iteration takes a minute)
  --out DIR   where to write (default bench-results/<time>)
  ab          this checkout's training step against a built checkout at DIR (a git
              worktree of an earlier commit), a process each, alternately; --net
              convnet: SimpleConvNet's step instead of the MLP's`;

async function main(argv: string[]): Promise<number> {
  if (argv[0] === 'ab') {
    const { values } = parseArgs({
      args: argv.slice(1),
      options: {
        baseline: { type: 'string' },
        only: { type: 'string' },
        rounds: { type: 'string' },
        net: { type: 'string' },
      },
      strict: true,
    });
    const workload = values.net ?? 'mlp';
    if (workload !== 'mlp' && workload !== 'convnet') {
      throw new BackpropError(`--net must be mlp or convnet, got '${workload}'\n${usage}`);
    }
    if (!values.baseline) throw new BackpropError(`ab needs --baseline DIR\n${usage}`);
    const subjects = (
      values.only ?? 'cpu:float64,cpu:float32,wasm,tfjs-wasm,tfjs-cpu,gpujs-webasm,gpujs-headlessgl'
    )
      .split(',')
      .map((s) => s.trim());
    console.log(ab(userPath(values.baseline), subjects, Number(values.rounds ?? 5), workload));
    return 0;
  }
  if (argv[0] === 'compare') {
    const [a, b] = argv.slice(1).map((file) => readResults(userPath(file)));
    if (!a || !b) throw new BackpropError(`compare needs two results.json files\n${usage}`);
    console.log(compare(a, b));
    return 0;
  }
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: 'boolean' },
      full: { type: 'boolean' },
      only: { type: 'string' },
      except: { type: 'string' },
      out: { type: 'string' },
      'no-peers': { type: 'boolean' },
      'no-convnet': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    console.log(usage);
    return 0;
  }
  const mode = values.quick ? 'quick' : values.full ? 'full' : 'normal';
  const only = values.only?.split(',').map((s) => s.trim());
  const except = values.except?.split(',').map((s) => s.trim()) ?? [];
  const wanted = (id: string) =>
    (!only || only.some((o) => id.startsWith(o))) && !except.some((e) => id.startsWith(e));
  const plan: Plan =
    mode === 'quick'
      ? { rounds: 3, blockMs: 20 }
      : { rounds: 7, blockMs: 250, warmupMs: 1000, settleMs: 100 };
  const startedAt = new Date().toISOString();
  const outDir = userPath(
    values.out ?? join('bench-results', startedAt.replace(/[:.]/g, '-').slice(0, 19)),
  );
  const log = (message: string) => process.stderr.write(`${message}\n`);

  log('loading MNIST');
  const mnist = loadMnist();
  const { subjects, skipped } = await backendSubjects(mnist, wanted);
  if (!values['no-peers']) {
    for (const engine of ['wasm', 'cpu'] as const) {
      if (wanted(`tfjs-direct-${engine}`)) subjects.push(await tfjsDirectSubject(mnist, engine));
    }
    const peers: [string, () => Promise<Subject | Skipped>][] = [
      ['numpy/float64', () => pythonSubject('numpy', 'float64', mnist.dataDir)],
      ['numpy/float32', () => pythonSubject('numpy', 'float32', mnist.dataDir)],
      ['pytorch/float32/1t', () => pythonSubject('torch', 'float32', mnist.dataDir, 1)],
      [
        `pytorch/float32/${cpus().length}t`,
        () => pythonSubject('torch', 'float32', mnist.dataDir, cpus().length),
      ],
    ];
    for (const [id, start] of peers) {
      if (!wanted(id)) continue;
      const peer = await start();
      if ('step' in peer) subjects.push(peer);
      else skipped.push(peer);
    }
  }
  const convnet = !values['no-convnet'];
  if (!convnet) skipped.push({ id: 'SimpleConvNet', reason: 'left out by --no-convnet' });
  for (const s of convnet ? subjects : []) {
    if (s.convnet !== true) skipped.push({ id: `${s.id} (SimpleConvNet)`, reason: s.convnet });
  }
  for (const s of skipped) log(`skipped ${s.id}: ${s.reason}`);
  log(`subjects: ${subjects.map((s) => s.id).join(', ')}`);

  const results: Results = {
    schema: SCHEMA,
    mode,
    startedAt,
    finishedAt: '',
    command: `pnpm bench ${argv.join(' ')}`.trim(),
    machine: {
      cpu: cpus()[0]?.model ?? 'unknown',
      cores: cpus().length,
      memoryGiB: Math.round(totalmem() / 2 ** 30),
      os: `${type()} ${release()}`,
      node: process.version,
      env: Object.fromEntries(
        Object.entries(process.env).filter(
          ([k]) => k.startsWith('OPENBLAS_') || k === 'OMP_NUM_THREADS',
        ) as [string, string][],
      ),
    },
    subjects: subjects.map(({ id, kind, description }) => ({ id, kind, description })),
    skipped,
    reference:
      ['pytorch/float32/1t', 'numpy/float32', 'cpu/float32'].find((id) =>
        subjects.some((s) => s.id === id),
      ) ??
      subjects[0]?.id ??
      null,
    method: plan,
    step: [],
    peak: [],
    coreOverhead: [],
    kernels: [],
    growth: { hidden: [], batch: [] },
    convnet: [],
    full: [],
  };
  const stepResults = async (config: StepConfig, label: string): Promise<StepResult[]> => {
    const running =
      config.net === 'convnet' ? subjects.filter((s) => s.convnet === true) : subjects;
    const measured = await measureSteps(running, config, plan, (m) => log(`${label}: ${m}`));
    return [...measured].map(([subject, sample]) => ({
      subject: subject.id,
      ...config,
      ...sample,
      gflops: stepFlops(config) / (sample.median * 1e6),
    }));
  };

  try {
    // The machine's peak where a backend can measure it (wasm: its multiply-add on every
    // thread, nothing loaded): what the kernels' GFLOP/s are set against.
    for (const s of subjects) {
      const kernels = s.backend?.kernels as { measurePeak?(): number } | undefined;
      if (typeof kernels?.measurePeak !== 'function') continue;
      log(`peak: ${s.id}`);
      results.peak.push({ subject: s.id, gflops: kernels.measurePeak() });
    }
    results.step = await stepResults({ hidden: 50, batch: 100 }, 'training iteration');
    console.log(`\n${formatTable(stepTable(results))}\n`);
    // SimpleConvNet at the book's batch of 100 (--quick: 10, a tenth of the work)
    if (convnet) {
      results.convnet = await stepResults(
        { net: 'convnet', hidden: 100, batch: mode === 'quick' ? 10 : 100 },
        'SimpleConvNet iteration',
      );
      console.log(`${formatTable(convnetTable(results))}\n`);
    }

    // Core's own cost a step: the same two steps on kernels that do no arithmetic.
    const core = coreOverheadSubject(mnist);
    try {
      for (const config of [
        { hidden: 50, batch: 100 },
        ...(convnet
          ? [{ net: 'convnet' as const, hidden: 100, batch: results.convnet[0]?.batch ?? 100 }]
          : []),
      ]) {
        const measured = await measureSteps([core], config, plan, (m) => log(`core: ${m}`));
        for (const sample of measured.values())
          results.coreOverhead.push({ net: config.net ?? 'mlp', ...config, ...sample });
      }
    } finally {
      core.close();
    }
    console.log(`${formatTable(coreOverheadTable(results))}\n`);

    const backends = subjects.filter((s) => s.backend);
    const convBatch = results.convnet[0]?.batch ?? (mode === 'quick' ? 10 : 100);
    for (const work of [
      ...KERNEL_WORK.map((make) => make(mnist)),
      ...(convnet ? convnetKernelWork(mnist, convBatch) : []),
      squareWork(mode === 'quick' ? 128 : 512),
    ]) {
      const calls = new Map(
        backends.map((s) => [s, work.setup(s.backend as NonNullable<Subject['backend']>)]),
      );
      // A GPU backend queues its kernels and answers at once: each sample ends by reading
      // one value computed from its last result (its first, gathered), so every backend is
      // timed to the kernels' completion with the read of one value inside the sample.
      // Reading the whole result timed the download: the convolution's 6.9 MB output took
      // ~25 ms to read on wasm, and its row measured 4.4 ms a call against 1.7 without.
      const time = async (s: Subject, reps: number) => {
        const backend = s.backend as NonNullable<Subject['backend']>;
        const call = calls.get(s)?.call as () => Tensor;
        const start = performance.now();
        let out = call();
        for (let i = 1; i < reps; i++) {
          backend.dispose(out);
          out = call();
        }
        const flat = backend.reshape(out, [out.size]);
        const first = backend.gatherRows(flat, [0]);
        await backend.read(first);
        for (const t of [first, flat, out]) backend.dispose(t);
        return (performance.now() - start) * 1000; // µs
      };
      // `time` answers in µs, so the block budget is in µs too: a fifth of a step block.
      const samples = await interleave(
        backends,
        { rounds: plan.rounds, blockMs: (plan.blockMs * 1000) / 5 },
        async (s) => (await time(s, 3)) / 3,
        time,
        (m) => log(`${work.name}: ${m}`),
      );
      for (const [s, values] of samples) {
        const sample = summarize(values);
        results.kernels.push({
          subject: s.id,
          kernel: work.name,
          ...sample,
          gflops: work.flops ? work.flops / (sample.median * 1e3) : null,
          usefulGflops: work.flops
            ? (work.usefulFlops ?? work.flops) / (sample.median * 1e3)
            : null,
        });
      }
      for (const c of calls.values()) c.dispose();
    }

    const hiddens = mode === 'quick' ? [50, 200] : [50, 100, 200, 400, 800];
    const batches = mode === 'quick' ? [1, 100] : [1, 10, 100, 1000];
    const base = results.step;
    for (const hidden of hiddens) {
      results.growth.hidden.push(
        ...(hidden === 50 ? base : await stepResults({ hidden, batch: 100 }, `hidden ${hidden}`)),
      );
    }
    for (const batch of batches) {
      results.growth.batch.push(
        ...(batch === 100 ? base : await stepResults({ hidden: 50, batch }, `batch ${batch}`)),
      );
    }

    if (mode === 'full') {
      for (const s of backends) {
        const backend = s.backend as NonNullable<Subject['backend']>;
        log(`full run: ${s.id}`);
        const train = toDataset(backend, mnist.train.images, mnist.train.labels, 784);
        const test = toDataset(backend, mnist.test.images, mnist.test.labels, 784);
        const random = new Random(0);
        const net = new TwoLayerNet(backend, { random });
        const start = performance.now();
        const r = await trainNetwork(net, train, test, {
          iters: 10_000,
          batchSize: 100,
          optimizer: new SGD(backend, 0.1),
          random,
        });
        results.full.push({
          subject: s.id,
          wallSeconds: (performance.now() - start) / 1000,
          msPerIter: r.timing.msPerIter,
          evalSeconds: r.timing.evalSeconds,
          trainAccuracy: r.final?.trainAccuracy ?? Number.NaN, // a full run is never stopped
          testAccuracy: r.final?.testAccuracy ?? Number.NaN,
        });
        net.dispose();
        for (const t of [train.images, train.labels, test.images, test.labels]) backend.dispose(t);
      }
    }
  } finally {
    for (const s of subjects) s.close();
  }

  results.finishedAt = new Date().toISOString();
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
  writeFileSync(join(outDir, 'report.md'), reportMarkdown(results));
  for (const [file, svg] of Object.entries(charts(results))) writeFileSync(join(outDir, file), svg);
  console.log(
    `wrote ${join(outDir, 'report.md')}, results.json, ${Object.keys(charts(results)).join(', ')}`,
  );
  return 0;
}

/** A path the user typed, from where they ran pnpm (INIT_CWD), not the repository root. */
function userPath(path: string): string {
  return isAbsolute(path) ? path : resolve(process.env.INIT_CWD ?? process.cwd(), path);
}

function readResults(file: string | undefined): Results | null {
  if (!file) return null;
  let json: Results;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new BackpropError(`${file}: cannot be read as JSON (${(error as Error).message})`);
  }
  if (json.schema !== SCHEMA)
    throw new BackpropError(`${file}: not a bench result of schema ${SCHEMA}`);
  return json;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    const known =
      error instanceof BackpropError ||
      (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS');
    process.stderr.write(
      known
        ? `bench: ${(error as Error).message}\n`
        : `bench: internal error:\n${(error as Error).stack}\n`,
    );
    process.exitCode = known ? 2 : 70;
  },
);
