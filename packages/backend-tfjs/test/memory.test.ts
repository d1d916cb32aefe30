import { Random, TwoLayerNet, trainTwoLayerNet } from '@backprop/core';
import { loadMnist } from '@backprop/mnist';
import * as tf from '@tensorflow/tfjs-core';
import { expect, it } from 'vitest';
import { TfjsBackend } from '../src/index.js';

it('TensorFlow.js holds as many tensors after 10 000 iterations as after 10', async () => {
  const backend = await TfjsBackend.create({ engine: 'wasm' });
  const { train } = loadMnist();
  const rows = 1000;
  const data = {
    images: backend.tensor(train.images.subarray(0, rows * 784), [rows, 784]),
    labels: backend.tensor(train.labels.subarray(0, rows), [rows]),
  };
  const random = new Random(4);
  const net = new TwoLayerNet(backend, { random });
  // Small batches keep 10 000 iterations to seconds; the code path is the book's.
  const run = (iters: number) =>
    trainTwoLayerNet(net, data, data, {
      iters,
      batchSize: 10,
      learningRate: 0.1,
      random,
      iterPerEpoch: 2500,
    });
  await run(10);
  const after10 = { engine: tf.memory().numTensors, handles: backend.liveTensors() };
  await run(10_000);
  expect({ engine: tf.memory().numTensors, handles: backend.liveTensors() }).toEqual(after10);
  net.dispose();
  backend.dispose(data.images);
  backend.dispose(data.labels);
  expect(backend.liveTensors()).toBe(0);
}, 120_000);

it('names the package to install when an engine is missing', async () => {
  await expect(TfjsBackend.create({ engine: 'tensorflow' })).rejects.toThrow(
    /install @tensorflow\/tfjs-node@4\.22\.0/,
  );
  await expect(TfjsBackend.create({ engine: 'webgl' })).rejects.toThrow(/needs a browser/);
});
