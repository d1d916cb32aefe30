// Quick look while developing: ms per training step and the big products' speed.
import { Random, SGD, TwoLayerNet, trainingStep } from '@backprop/core';
import { loadMnist } from '@backprop/mnist';
import { WasmBackend } from '../dist/index.js';

const mnist = loadMnist();
const b = await WasmBackend.create();
const net = new TwoLayerNet(b, { seed: 1 });
const train = {
  images: b.tensor(mnist.train.images, [60000, 784]),
  labels: b.tensor(mnist.train.labels, [60000]),
};
const opt = new SGD(b, 0.1);
const r = new Random(2);
const time = async (n, f) => {
  const t = performance.now();
  for (let i = 0; i < n; i++) await f();
  return (performance.now() - t) / n;
};
await time(200, () => trainingStep(net, opt, train, r.choice(60000, 100)));
console.log(
  'step ms',
  (await time(1000, () => trainingStep(net, opt, train, r.choice(60000, 100)))).toFixed(3),
);
const x = b.gatherRows(train.images, r.choice(60000, 100));
const dense = b.tensor(
  Float32Array.from({ length: 78400 }, (_, i) => Math.sin(i) + 1.5),
  [100, 784],
);
const W = b.tensor(
  Float32Array.from({ length: 39200 }, (_, i) => Math.cos(i) * 0.01),
  [784, 50],
);
const d = b.tensor(
  Float32Array.from({ length: 5000 }, (_, i) => Math.sin(i * 3)),
  [100, 50],
);
for (const [name, f] of [
  ['x·W1 mnist', () => b.matmul(x, W)],
  ['x·W1 dense', () => b.matmul(dense, W)],
  ['xT·dout mnist', () => b.matmul(x, d, { transposeA: true })],
  ['xT·dout dense', () => b.matmul(dense, d, { transposeA: true })],
  ['dout·W1T', () => b.matmul(d, W, { transposeB: true })],
]) {
  await time(200, () => b.dispose(f()));
  const ms = await time(2000, () => b.dispose(f()));
  console.log(
    name,
    ms.toFixed(4),
    'ms',
    (7.84e6 / ms / 1e6).toFixed(2),
    'GFLOP/s (dense-equivalent)',
  );
}
