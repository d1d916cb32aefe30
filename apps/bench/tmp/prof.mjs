// profile the MLP training step on wasm: raw wasm exports timed inside the step
import { createBackend } from '@backprop/backends';
import { WasmBackend } from '../../../packages/backend-wasm/dist/index.js';
import { TwoLayerNet, SGD, Random, trainingStep } from '@backprop/core';
import { loadMnist } from '@backprop/mnist';
const batch = Number(process.argv[2] ?? 100), hidden = Number(process.argv[3] ?? 50), threads = Number(process.argv[4] ?? 1);
const mnist = loadMnist();
const backend = process.env.TF ? await WasmBackend.create({ threads, threadedFrom: Number(process.env.TF) }) : await createBackend('wasm', { threads });
const wk = backend.kernels;
const raw = wk.kernels;
const times = {};
const wrapped = {};
for (const key of Object.keys(raw)) {
  const f = raw[key];
  if (typeof f !== 'function') { wrapped[key] = f; continue; }
  wrapped[key] = (...a) => { const t = performance.now(); const r = f(...a); times[key] = (times[key] ?? 0) + performance.now() - t; return r; };
}
Object.defineProperty(wrapped, 'memory', { get: () => raw.memory });
wk.kernels = wrapped;
const train = { images: backend.tensor(mnist.train.images, [mnist.train.count, mnist.train.features]), labels: backend.tensor(mnist.train.labels, [mnist.train.count]) };
const net = new TwoLayerNet(backend, { hiddenSize: hidden, seed: 1 });
const opt = new SGD(backend, 0.1);
const random = new Random(2);
const run = async (n) => { const t = performance.now(); for (let i = 0; i < n; i++) await trainingStep(net, opt, train, random.choice(60000, batch)); return performance.now() - t; };
await run(300);
for (const k in times) delete times[k];
const N = 1000;
const total = await run(N);
console.log(`batch ${batch} hidden ${hidden} threads ${threads}: ${(total / N).toFixed(4)} ms/step`);
let sum = 0;
for (const [k, v] of Object.entries(times).sort((a, b) => b[1] - a[1])) { sum += v; console.log(`  ${k.padEnd(28)} ${(v / N * 1000).toFixed(1)} µs`); }
console.log(`  ${'(outside kernels)'.padEnd(28)} ${((total - sum) / N * 1000).toFixed(1)} µs`);
backend.close?.();
process.exit(0);
