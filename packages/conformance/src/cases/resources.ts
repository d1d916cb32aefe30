/** 6. Resources: nothing grows over training, and dispose really frees. */
import { Random, TwoLayerNet, trainTwoLayerNet } from '@backprop/core';
import type { ConformanceCase } from '../case.js';
import { Check } from '../check.js';

export const resourceCases: ConformanceCase[] = [
  {
    id: 'resources/live handles and backend resources flat over training (after a warm-up)',
    group: 'resources',
    kernels: [],
    async run(ctx) {
      const check = new Check();
      const b = ctx.backend;
      const { train } = ctx.mnist();
      const count = 200;
      const images = ctx.on(
        b,
        ctx.representable(train.images.subarray(0, count * train.features)),
        [count, train.features],
      );
      const labels = ctx.on(b, Array.from(train.labels.subarray(0, count)), [count]);
      const data = { images, labels };
      const random = new Random(9);
      const net = new TwoLayerNet(b, { random });
      const steps = (iters: number) =>
        trainTwoLayerNet(net, data, data, {
          iters,
          batchSize: 20,
          learningRate: 0.1,
          random,
          iterPerEpoch: 50,
        });
      const snapshot = () => ({
        liveTensors: b.liveTensors(),
        ...(ctx.options.resources?.(b) ?? {}),
      });
      // Warm up through one evaluation and the training after it: an allocator that
      // reuses blocks by size (wasm, GPU texture pools) reaches its working set there.
      await steps(51);
      const afterOne = snapshot();
      const iterations = ctx.options.leakIterations ?? 200;
      await steps(iterations);
      const afterMany = snapshot();
      for (const [name, value] of Object.entries(afterOne)) {
        check.that(
          afterMany[name as keyof typeof afterMany] === value,
          `${name}: ${value} after a warm-up of 51 iterations, ${afterMany[name as keyof typeof afterMany]} after ${iterations} more`,
        );
      }
      const beforeDispose = b.liveTensors();
      net.dispose();
      check.that(
        b.liveTensors() < beforeDispose,
        `net.dispose() freed nothing (${beforeDispose} live before and after)`,
      );
      check.note(`after 51 and after ${iterations} more iterations: ${JSON.stringify(afterMany)}`);
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
