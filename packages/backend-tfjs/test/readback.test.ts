import { Random, SGD, TwoLayerNet, trainingStep } from '@backprop/core';
import { loadMnist } from '@backprop/mnist';
import * as tf from '@tensorflow/tfjs-core';
import { afterEach, expect, it, vi } from 'vitest';
import { TfjsBackend } from '../src/index.js';

afterEach(() => vi.restoreAllMocks());

it('reads nothing back from TensorFlow.js in a training step but the loss', async () => {
  const backend = await TfjsBackend.create({ engine: 'wasm' });
  const { train } = loadMnist();
  const rows = 1000;
  const data = {
    images: backend.tensor(train.images.subarray(0, rows * 784), [rows, 784]),
    labels: backend.tensor(train.labels.subarray(0, rows), [rows]),
  };
  const random = new Random(4);
  const net = new TwoLayerNet(backend, { random });
  const optimizer = new SGD(backend, 0.1);
  // Every way TensorFlow.js hands values back to JavaScript.
  const proto = tf.Tensor.prototype;
  const reads = [
    vi.spyOn(proto, 'dataSync'),
    vi.spyOn(proto, 'data'),
    vi.spyOn(proto, 'arraySync'),
    vi.spyOn(proto, 'array'),
  ];
  for (let i = 0; i < 50; i++) await trainingStep(net, optimizer, data, random.choice(rows, 100));
  // `data` once a step: the loss (tf's async read of it may call its own dataSync inside).
  expect(reads[1].mock.calls.length).toBe(50);
  expect(reads[0].mock.calls.length + reads[2].mock.calls.length + reads[3].mock.calls.length).toBe(
    0,
  );
  net.dispose();
  backend.dispose(data.images);
  backend.dispose(data.labels);
});

it('names the package to install when an engine is missing', async () => {
  await expect(TfjsBackend.create({ engine: 'tensorflow' })).rejects.toThrow(
    /install @tensorflow\/tfjs-node@4\.22\.0/,
  );
  await expect(TfjsBackend.create({ engine: 'webgl' })).rejects.toThrow(/needs a browser/);
});
