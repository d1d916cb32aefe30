import { Random, TwoLayerNet, trainTwoLayerNet } from '@backprop/core';
import { loadMnist } from '@backprop/mnist';
import { expect, it } from 'vitest';
import { WasmBackend } from '../src/index.js';

it('linear memory and live handles do not grow over 10 000 iterations', async () => {
  const backend = await WasmBackend.create();
  const { train } = loadMnist();
  const rows = 2000;
  const data = {
    images: backend.tensor(train.images.subarray(0, rows * 784), [rows, 784]),
    labels: backend.tensor(train.labels.subarray(0, rows), [rows]),
  };
  const random = new Random(4);
  const net = new TwoLayerNet(backend, { random });
  const run = (iters: number) =>
    trainTwoLayerNet(net, data, data, {
      iters,
      batchSize: 100,
      learningRate: 0.1,
      random,
      iterPerEpoch: 600,
    });
  await run(601); // one evaluation and the training after it: the allocator's working set
  const warm = {
    memory: backend.memoryBytes(),
    inUse: backend.bytesInUse(),
    handles: backend.liveTensors(),
  };
  await run(10_000);
  expect({
    memory: backend.memoryBytes(),
    inUse: backend.bytesInUse(),
    handles: backend.liveTensors(),
  }).toEqual(warm);
  net.dispose();
  backend.dispose(data.images);
  backend.dispose(data.labels);
  expect([backend.liveTensors(), backend.bytesInUse()]).toEqual([0, 0]);
}, 120_000);
