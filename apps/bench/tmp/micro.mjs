import { createBackend } from '@backprop/backends';
import { loadMnist } from '@backprop/mnist';
const mnist = loadMnist();
const backend = await createBackend('wasm', { threads: 1 });
const raw = backend.kernels.kernels;
const heap = backend.kernels.heap;
const m = 100, k = 784;
const x = heap.alloc(m * k), list = heap.alloc(2 * k + 8), scratch = heap.alloc(6 * k + 8);
const f = new Float32Array(raw.memory.buffer);
const off = mnist.train.images.subarray(0, m * k);
f.set(off, x / 4);
for (const n of [4, 16, 32, 50, 64, 100]) {
  const b = heap.alloc(k * n + 64), c = heap.alloc(k * n + 64), dout = heap.alloc(m * n + 64);
  const g = new Float32Array(raw.memory.buffer);
  for (let i = 0; i < k * n; i++) g[b / 4 + i] = Math.random();
  for (let i = 0; i < m * n; i++) g[dout / 4 + i] = Math.random();
  const time = (fn) => { for (let r = 0; r < 200; r++) fn(); const t = performance.now(); for (let r = 0; r < 1000; r++) fn(); return (performance.now() - t); };
  const tA = time(() => raw.matmulSparseA(x, b, c, m, k, n, list));
  const tAT = raw.matmulSparseAT.length === 8 ? time(() => raw.matmulSparseAT(x, dout, c, k, m, n, k, scratch)) : time(() => raw.matmulSparseAT(x, dout, c, k, m, n, k));
  console.log(`n ${n}: sparseA ${tA.toFixed(1)} µs, sparseAT ${tAT.toFixed(1)} µs`);
}
process.exit(0);
