#!/usr/bin/env node
// The cost of going through the @backprop contract on TensorFlow.js: one training
// iteration of the book's net (784-50-10, batch 100, SGD lr 0.1) written directly in
// TensorFlow.js, against the same iteration through TfjsBackend + core, same engine,
// same data, same starting weights, in one process. Blocks of iterations alternate
// between the two so drift on a shared machine hits both alike.
//
//   node scripts/overhead.mjs [--engines wasm,cpu] [--rounds 7] [--iters 100]
import { parseArgs } from 'node:util';
import { Random, SGD, TwoLayerNet, trainingStep } from '@backprop/core';
import { loadMnist } from '@backprop/mnist';
import * as tf from '@tensorflow/tfjs-core';
import { TfjsBackend } from '../dist/index.js';

const { values } = parseArgs({
  options: {
    engines: { type: 'string', default: 'wasm,cpu' },
    rounds: { type: 'string', default: '7' },
    iters: { type: 'string', default: '' },
  },
});
const mnist = loadMnist();
const [batch, lr] = [100, 0.1];

for (const engine of values.engines.split(',')) {
  const backend = await TfjsBackend.create({ engine });
  const iters = Number(values.iters || (engine === 'cpu' ? 20 : 100));
  const rounds = Number(values.rounds);

  // Through the contract: the exact step `backprop train` runs.
  const net = new TwoLayerNet(backend, { seed: 1 });
  const train = {
    images: backend.tensor(mnist.train.images, [60000, 784]),
    labels: backend.tensor(mnist.train.labels, [60000]),
  };
  const optimizer = new SGD(backend, lr);
  const contractRandom = new Random(2);
  const contract = async () =>
    trainingStep(net, optimizer, train, contractRandom.choice(60000, batch));

  // Directly in TensorFlow.js: the same math, written the way a tfjs user would.
  const initial = await net.readParams();
  const W1 = tf.variable(tf.tensor(Float32Array.from(initial.W1), [784, 50], 'float32'));
  const b1 = tf.variable(tf.tensor(Float32Array.from(initial.b1), [50], 'float32'));
  const W2 = tf.variable(tf.tensor(Float32Array.from(initial.W2), [50, 10], 'float32'));
  const b2 = tf.variable(tf.tensor(Float32Array.from(initial.b2), [10], 'float32'));
  const images = tf.tensor(mnist.train.images, [60000, 784], 'float32');
  const labels = tf.tensor(Int32Array.from(mnist.train.labels), [60000], 'int32');
  const directRandom = new Random(2);
  const direct = async () => {
    const loss = tf.tidy(() => {
      const idx = tf.tensor1d(directRandom.choice(60000, batch), 'int32');
      const x = tf.gather(images, idx);
      const t = tf.cast(tf.oneHot(tf.gather(labels, idx), 10), 'float32');
      const a1 = tf.add(tf.matMul(x, W1), b1);
      const z1 = tf.relu(a1);
      const y = tf.softmax(tf.add(tf.matMul(z1, W2), b2));
      const loss = tf.div(tf.neg(tf.sum(tf.mul(t, tf.log(tf.add(y, 1e-7))))), batch);
      const dy = tf.div(tf.sub(y, t), batch);
      const dz1 = tf.matMul(dy, W2, false, true);
      const da1 = tf.where(tf.greater(a1, 0), dz1, tf.zerosLike(dz1));
      W2.assign(tf.sub(W2, tf.mul(tf.matMul(z1, dy, true, false), lr)));
      b2.assign(tf.sub(b2, tf.mul(tf.sum(dy, 0), lr)));
      W1.assign(tf.sub(W1, tf.mul(tf.matMul(x, da1, true, false), lr)));
      b1.assign(tf.sub(b1, tf.mul(tf.sum(da1, 0), lr)));
      return loss;
    });
    const [value] = await loss.data();
    loss.dispose();
    return value;
  };

  const time = async (step) => {
    const start = performance.now();
    for (let i = 0; i < iters; i++) await step();
    return (performance.now() - start) / iters;
  };
  await time(direct); // warm-up: kernels compiled, caches filled
  await time(contract);
  const samples = { direct: [], contract: [] };
  for (let r = 0; r < rounds; r++) {
    // alternate which goes first, so neither always follows the other
    const order = r % 2 === 0 ? ['direct', 'contract'] : ['contract', 'direct'];
    for (const which of order)
      samples[which].push(await time(which === 'direct' ? direct : contract));
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const [d, c] = [median(samples.direct), median(samples.contract)];
  console.log(
    `${engine}: direct tfjs ${d.toFixed(2)} ms/iter, through @backprop ${c.toFixed(2)} ms/iter, ` +
      `ratio ${(c / d).toFixed(3)} (${rounds} rounds × ${iters} iterations, medians; ${backend.description})`,
  );
  for (const v of [W1, b1, W2, b2, images, labels]) v.dispose();
  net.dispose();
}
