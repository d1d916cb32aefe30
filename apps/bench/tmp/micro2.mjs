import { createBackend } from '@backprop/backends';
const backend = await createBackend('wasm', { threads: 1 });
const raw = backend.kernels.kernels, heap = backend.kernels.heap;
const m = 100, k = 784;
const x = heap.alloc(m * k), list = heap.alloc(2 * k);
const f = () => new Float32Array(raw.memory.buffer);
// 146 nonzeros a row, all within the first `span` pixels
for (const span of [146, 300, 784]) {
  const g = f(); g.fill(0, x / 4, x / 4 + m * k);
  for (let i = 0; i < m; i++) { let c = 0; while (c < 146) { const p = Math.floor(Math.random() * span); if (g[x / 4 + i * k + p] === 0) { g[x / 4 + i * k + p] = Math.random() + 0.1; c++; } } }
  for (const n of [4, 16, 32, 50]) {
    const b = heap.alloc(k * n + 64), c = heap.alloc(m * n + 64);
    const h = f(); for (let i = 0; i < k * n; i++) h[b / 4 + i] = Math.random();
    const time = (fn) => { for (let r = 0; r < 300; r++) fn(); const t = performance.now(); for (let r = 0; r < 1000; r++) fn(); return (performance.now() - t); };
    console.log(`span ${span} n ${n}: sparseA ${time(() => raw.matmulSparseA(x, b, c, m, k, n, list)).toFixed(1)} µs`);
  }
}
process.exit(0);
