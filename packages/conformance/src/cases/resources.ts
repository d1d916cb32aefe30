/**
 * 6. Resources: nothing grows over training, dispose really frees, reading copies, and a
 * training step reads back nothing but its loss.
 */
import {
  type FloatArray,
  type KernelBackend,
  Random,
  SGD,
  TwoLayerNet,
  trainingStep,
  trainNetwork,
} from '@backprop/core';
import type { ConformanceCase } from '../case.js';
import { Check } from '../check.js';
import type { CaseContext } from '../context.js';

/** The first `count` MNIST training images and labels, on the backend. */
function mnistRows(ctx: CaseContext, count: number) {
  const { train } = ctx.mnist();
  const b = ctx.backend;
  return {
    images: ctx.on(b, ctx.representable(train.images.subarray(0, count * train.features)), [
      count,
      train.features,
    ]),
    labels: ctx.on(b, Array.from(train.labels.subarray(0, count)), [count]),
  };
}

export const resourceCases: ConformanceCase[] = [
  {
    id: 'resources/live handles and backend resources flat over 2 000 training iterations',
    group: 'resources',
    kernels: [],
    async run(ctx) {
      const check = new Check();
      const b = ctx.backend;
      const data = mnistRows(ctx, 500);
      const beforeNet = b.liveTensors();
      const random = new Random(9);
      const net = new TwoLayerNet(b, { random });
      const optimizer = new SGD(b, 0.1);
      // Small batches keep the count high and the time low; the code path is the book's.
      // The counts must be equal, not close: a handle, buffer or byte lost once an
      // iteration or once an evaluation shows after one, so 2 000 iterations (8
      // evaluations) prove what 10 000 did, in a fifth of CI's time (10 000 took 45 s on
      // TensorFlow.js's wasm engine); a slow engine may run fewer, saying why.
      const iterations = ctx.options.leakIterations ?? 2000;
      // An evaluation every `period` iterations, so a short run (a software GPU's few
      // hundred) still evaluates twice in what it measures: a leak shows once an iteration
      // or once an evaluation, and both kinds happen there.
      const period = Math.max(1, Math.min(250, Math.floor(iterations / 2)));
      const steps = (iters: number) =>
        trainNetwork(net, data, data, {
          iters,
          batchSize: 10,
          optimizer,
          random,
          iterPerEpoch: period,
          // Evaluation chunks of fixed rows: sized by time, they meet a new power of two
          // whenever the machine's speed changes (on a loaded CI, gpu.js compiled 4 kernels
          // and wasm grew a page after the warm-up) — a new shape, not a leak.
          evalChunkSize: 100,
        });
      const snapshot = () => ({ liveTensors: b.liveTensors(), ...b.resources() });
      // Warm up through one evaluation and the training after it: an allocator that
      // reuses blocks by size (wasm, GPU buffer pools) reaches its working set there.
      await steps(period + 1);
      const afterWarmUp = snapshot();
      await steps(iterations);
      const afterMany = snapshot();
      for (const [name, value] of Object.entries(afterWarmUp)) {
        const now = afterMany[name as keyof typeof afterMany];
        check.that(
          now === value,
          `${name}: ${value} after a warm-up of ${period + 1} iterations, ${now} after ${iterations} more`,
        );
      }
      net.dispose();
      check.that(
        b.liveTensors() === beforeNet,
        `after net.dispose(), ${b.liveTensors() - beforeNet} handles the network made are still alive`,
      );
      const reason = ctx.options.leakIterationsReason;
      check.note(
        `${iterations} iterations${reason ? ` (${reason})` : ''}: ${JSON.stringify(afterMany)}`,
      );
      return check;
    },
  },
  {
    id: 'resources/a training step reads back its loss and nothing else',
    group: 'resources',
    kernels: [],
    async run(ctx) {
      const check = new Check();
      const b = ctx.backend;
      const data = mnistRows(ctx, 200);
      const random = new Random(3);
      const net = new TwoLayerNet(b, { random });
      const optimizer = new SGD(b, 0.1);
      const step = () => trainingStep(net, optimizer, data, random.choice(200, 20));
      await step(); // warm-up (compiling, allocating)
      const reads = countReads(b.kernels);
      try {
        for (let i = 0; i < 20; i++) await step();
      } finally {
        reads.stop();
      }
      net.dispose();
      check.that(
        reads.count === 20,
        `20 steps read back ${reads.count} times; each should read its loss, once (labels are checked from what was known when they were uploaded)`,
      );
      return check;
    },
  },
  {
    id: 'resources/read returns a copy: later writes and updates do not change it',
    group: 'resources',
    kernels: ['sgdUpdate'],
    async run(ctx) {
      const check = new Check();
      const b = ctx.backend;
      const w = ctx.on(b, [1, 2, 3, 4], [4]);
      const before = await b.read(w);
      const copy = Array.from(before);
      b.write(w, [10], 0);
      b.sgdUpdate(w, ctx.on(b, [1, 1, 1, 1], [4]), 0.5);
      check.exact('values read before the write and the update', before, copy);
      before[1] = 99; // and changing what was read changes nothing in the backend
      check.exact('the tensor after both', await b.read(w), [9.5, 1.5, 2.5, 3.5]);
      if (b.canReadSync) {
        const sync = b.readSync(w);
        b.write(w, [0], 3);
        check.exact('values readSync gave before a write', sync, [9.5, 1.5, 2.5, 3.5]);
      }
      return check;
    },
  },
  {
    id: 'resources/a tensor prints its rows, and array() nests its values by the shape',
    group: 'resources',
    kernels: ['relu', 'write'],
    async run(ctx) {
      const check = new Check();
      const b = ctx.backend;
      const t = ctx.on(b, [1, 2, 3, 4, 5, 6], [2, 3]);
      const rows = '[[1, 2, 3],\n [4, 5, 6]]';
      const head = `Tensor [2,3] ${b.dtype} on ${b.name}`;
      // what console.log shows (Node calls the inspect hook; a browser's console, toString)
      const inspect = (t as unknown as Record<symbol, () => string>)[
        Symbol.for('nodejs.util.inspect.custom')
      ];
      for (const [how, text] of [
        ['toString', `${t}`],
        ["Node's inspect", inspect?.call(t)],
      ] as const)
        check.that(text === `${head}\n${rows}`, `${how} of an upload: ${JSON.stringify(text)}`);
      b.write(t, [-7], 1);
      check.that(`${t}`.includes('[[ 1, -7,  3],'), `after a write: ${JSON.stringify(`${t}`)}`);
      const nested = await b.array(t);
      check.that(
        JSON.stringify(nested) === '[[1,-7,3],[4,5,6]]',
        `array() of [2,3]: ${JSON.stringify(nested)}`,
      );
      // a kernel's result: its rows where the backend reads synchronously; else it says how
      const out = b.relu(t);
      const text = `${out}`;
      check.that(
        b.canReadSync
          ? text === `${head}\n[[1, 0, 3],\n [4, 5, 6]]`
          : /on the device \(await t\.print\(\)/.test(text),
        `toString of relu's result: ${JSON.stringify(text)}`,
      );
      // a write into a kernel's result (a gradient check nudges updated weights) reads back
      b.write(out, [9], 0);
      check.that(
        JSON.stringify(await out.array()) === '[[9,0,3],[4,5,6]]',
        `t.array() of relu's result after a write of 9 at 0: ${JSON.stringify(await out.array())}`,
      );
      b.dispose(out);
      check.that(`${out}` === `Tensor [2,3] ${b.dtype} on ${b.name}, disposed`, `${out}`);
      return check;
    },
  },
  {
    id: 'resources/dispose frees, twice is harmless, use after dispose is an error',
    group: 'resources',
    kernels: [],
    async run(ctx) {
      const check = new Check();
      const b = ctx.backend;
      const before = b.liveTensors();
      const t = b.tensor([1, 2, 3, 4], [2, 2]);
      const view = b.reshape(t, [4]);
      const out = b.relu(t);
      check.that(
        b.liveTensors() === before + 3,
        `3 new handles should count 3, counted ${b.liveTensors() - before}`,
      );
      b.dispose(t);
      check.exact('a reshape outlives its source', await b.read(view), [1, 2, 3, 4]);
      for (const x of [view, out]) b.dispose(x);
      b.dispose(out);
      check.that(
        b.liveTensors() === before,
        `after disposing all, ${b.liveTensors() - before} handles still count as live`,
      );
      let threw: unknown = null;
      try {
        b.relu(out);
      } catch (error) {
        threw = error;
      }
      check.that(
        (threw as Error | null)?.name === 'TensorStateError',
        `relu on a disposed tensor: expected a TensorStateError, got ${threw ? (threw as Error).name : 'no error'}`,
      );
      return check;
    },
  },
];

/** Counts the backend's downloads until `stop()` (wrapping them on the instance). */
function countReads(kernels: KernelBackend) {
  const k = kernels as KernelBackend & Record<string, unknown>;
  const counter = { count: 0, stop: () => {} };
  let depth = 0;
  const wrapped: [string, unknown][] = [];
  for (const name of ['download', 'downloadSync'] as const) {
    const original = k[name] as
      | ((...args: unknown[]) => Promise<FloatArray> | FloatArray)
      | undefined;
    if (!original) continue;
    const own = Object.hasOwn(k, name);
    wrapped.push([name, own ? original : undefined]);
    k[name] = ((...args: unknown[]) => {
      // one read, even where download calls downloadSync itself
      if (depth++ === 0) counter.count++;
      try {
        return original.apply(kernels, args);
      } finally {
        depth--;
      }
    }) as never;
  }
  counter.stop = () => {
    for (const [name, original] of wrapped) {
      if (original === undefined) delete k[name];
      else k[name] = original;
    }
  };
  return counter;
}
