import { Random, TwoLayerNet, trainTwoLayerNet } from '@backprop/core';
import { loadMnist } from '@backprop/mnist';
import { expect, it } from 'vitest';
import { GpujsBackend } from '../src/index.js';

let gl: GpujsBackend | null = null;
try {
  gl = GpujsBackend.create({ mode: 'headlessgl' });
} catch {
  // no GL here; the conformance file says why and CI requires it
}

// Textures are what leak on a GL engine; webasm has none, so this runs where GL does.
it.skipIf(!gl)(
  'live textures and kernels stay flat over 10 000 iterations (headlessgl; skipped without GL)',
  async () => {
    const backend = gl as GpujsBackend;
    const { train } = loadMnist();
    const rows = 500;
    const data = {
      images: backend.tensor(train.images.subarray(0, rows * 784), [rows, 784]),
      labels: backend.tensor(train.labels.subarray(0, rows), [rows]),
    };
    const random = new Random(4);
    // A small net and batch keep 10 000 software-GL iterations to about a minute.
    const net = new TwoLayerNet(backend, { random, hiddenSize: 8 });
    const run = (iters: number) =>
      trainTwoLayerNet(net, data, data, {
        iters,
        batchSize: 4,
        learningRate: 0.1,
        random,
        iterPerEpoch: 5000,
      });
    await run(10);
    const after10 = {
      textures: backend.liveTextures(),
      handles: backend.liveTensors(),
      kernels: backend.compiledKernels(),
    };
    await run(10_000);
    expect({
      textures: backend.liveTextures(),
      handles: backend.liveTensors(),
      kernels: backend.compiledKernels(),
    }).toEqual(after10);
  },
  300_000,
);

it('names the fix when a mode cannot run here', () => {
  expect(() => GpujsBackend.create({ mode: 'webgl2' })).toThrow(
    /webgl2 mode is not available here \(it needs a browser\)/,
  );
  expect(() => GpujsBackend.create({ mode: 'quantum' as never })).toThrow(
    /unknown mode 'quantum'; modes: auto, headlessgl/,
  );
});
