import { spawnSync } from 'node:child_process';
import { setFlagsFromString } from 'node:v8';
import {
  Adam,
  modelToJSON,
  Random,
  SGD,
  SimpleConvNet,
  TwoLayerNet,
  toDataset,
  trainNetwork,
} from '@backprop/core';
import { loadMnist } from '@backprop/mnist';
import { describe, expect, it } from 'vitest';
import { WasmBackend } from '../src/index.js';

setFlagsFromString('--experimental-wasm-relaxed-simd'); // Node 20: see conformance.test.ts

const mnist = loadMnist();

/** How a run is trained: the network, its optimizer and the run's size. */
interface Run {
  seed: number;
  threadedFrom?: number;
  net(backend: WasmBackend, random: Random): TwoLayerNet | SimpleConvNet;
  optimizer(backend: WasmBackend): SGD | Adam;
  iters: number;
  batchSize: number;
  evalSamples: number;
}

/** A run on `threads` threads, as model.json text. */
async function trainedModel(build: 'simd' | 'relaxed', threads: number, run: Run): Promise<string> {
  const backend = await WasmBackend.create({
    build,
    threads,
    ...(run.threadedFrom === undefined ? {} : { threadedFrom: run.threadedFrom }),
  });
  const train = toDataset(backend, mnist.train.images, mnist.train.labels, 784);
  const random = new Random(run.seed);
  const net = run.net(backend, random);
  await trainNetwork(net, train, train, {
    iters: run.iters,
    batchSize: run.batchSize,
    optimizer: run.optimizer(backend),
    random,
    iterPerEpoch: 0, // one measurement, after the last iteration
    evalSamples: run.evalSamples,
  });
  const json = JSON.stringify(await modelToJSON(net));
  backend.close();
  return json;
}

/** 60 iterations at batch 200 (every product split among threads). */
const MLP: Run = {
  seed: 7,
  net: (backend, random) => new TwoLayerNet(backend, { hiddenSize: 100, random }),
  optimizer: (backend) => new SGD(backend, 0.1),
  iters: 60,
  batchSize: 200,
  evalSamples: 1000,
};

/**
 * A SimpleConvNet with Adam, 6 iterations at batch 20, with every kernel that can be
 * shared shared however small (threadedFrom 0): the convolution by images, its gradients
 * by filters, ReLU, pooling and Adam by ranges.
 */
const CONVNET: Run = {
  seed: 3,
  threadedFrom: 0,
  net: (backend, random) => new SimpleConvNet(backend, { hiddenSize: 20, random }),
  optimizer: (backend) => new Adam(backend, 0.001),
  iters: 6,
  batchSize: 20,
  evalSamples: 100,
};

describe('the wasm backend on threads', () => {
  for (const build of ['simd', 'relaxed'] as const) {
    it(`same seed, same SimpleConvNet model.json on 1, 2 and 3 threads (${build})`, async () => {
      const one = await trainedModel(build, 1, CONVNET);
      // bit-identical: each thread takes whole images, filters or ranges of values
      expect(await trainedModel(build, 2, CONVNET)).toBe(one);
      expect(await trainedModel(build, 3, CONVNET)).toBe(one);
    });
  }

  for (const build of ['simd', 'relaxed'] as const) {
    it(`same seed, same model.json on 1, 2 and 4 threads (${build})`, async () => {
      const one = await trainedModel(build, 1, MLP);
      // bit-identical: each thread computes whole rows of C, in the same order as one thread
      expect(await trainedModel(build, 2, MLP)).toBe(one);
      expect(await trainedModel(build, 4, MLP)).toBe(one);
    });
  }

  for (const build of ['simd', 'relaxed'] as const) {
    it(`sums xᵀ·dout of a big batch the same on 1, 2, 3 and 4 threads (${build})`, async () => {
      // 600 MNIST images: past 512 rows the product is summed in two halves of the batch,
      // which the threads take (two halves each split in two on four threads, both halves
      // one after the other on one); the halves depend on the batch alone.
      const rows = 600;
      const x = mnist.train.images.subarray(0, rows * 784);
      const dout = new Random(11).normalArray(rows * 30, 0.01);
      const products: Float32Array[] = [];
      for (const threads of [1, 2, 3, 4]) {
        const backend = await WasmBackend.create({ build, threads, threadedFrom: 0 });
        const product = backend.matmul(
          backend.tensor(x, [rows, 784]),
          backend.tensor(dout, [rows, 30]),
          {
            transposeA: true,
          },
        );
        products.push((await backend.read(product)) as Float32Array);
        backend.close();
      }
      for (const product of products.slice(1)) expect(product).toEqual(products[0]);
    });
  }

  it('measures its peak on every thread it has, for each build', async () => {
    for (const build of ['simd', 'relaxed'] as const) {
      for (const threads of [1, 2]) {
        const backend = await WasmBackend.create({ build, threads });
        // No speed is asserted (a loaded machine gives any figure); the loop runs on each
        // thread (a helper that failed would throw) and the figure is a finite rate.
        const gflops = backend.kernels.measurePeak({ rounds: 10_000, maxMs: 100 });
        expect(Number.isFinite(gflops) && gflops > 0).toBe(true);
        backend.close();
      }
    }
  });

  it('says its build and threads, and names a bad option', async () => {
    const backend = await WasmBackend.create({ build: 'simd', threads: 3 });
    expect(backend.description).toMatch(/SIMD \(f32x4\), float32, 3 threads$/);
    backend.close();
    await expect(WasmBackend.create({ threads: 0 })).rejects.toThrow(
      /threads must be a whole number >= 1, got 0/,
    );
    await expect(WasmBackend.create({ build: 'avx' as never })).rejects.toThrow(
      /unknown build 'avx'; builds: simd, relaxed/,
    );
  });

  it('never keeps a process alive: one that does not close its backend still exits', () => {
    const script = `
      const { WasmBackend } = await import(${JSON.stringify(new URL('../dist/index.js', import.meta.url).href)});
      const backend = await WasmBackend.create({ build: 'simd', threads: 4 });
      const x = backend.tensor(new Float32Array(256 * 256).fill(1), [256, 256]);
      console.log((await backend.read(backend.matmul(x, x)))[0], backend.description);`;
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      encoding: 'utf8',
      // Where a helper thread held the process open it would never exit: the timeout is
      // what tells that apart. The child runs in ~0.3 s on the reference machine; 60 s is
      // 200 times that, for a CPU three times slower under a hog and the process's start.
      timeout: 60_000,
    });
    expect(child.stderr).toBe('');
    expect(child.stdout).toMatch(/^256 wasm: .* 4 threads\n$/);
    expect(child.status).toBe(0); // not null: it exited by itself, before the timeout
  });
});
