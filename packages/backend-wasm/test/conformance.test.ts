import { setFlagsFromString } from 'node:v8';
import { defineConformanceSuite } from '@backprop/conformance/vitest';
import { WasmBackend } from '../src/index.js';

// Node 20 validates relaxed SIMD only behind a V8 flag (22 and later without one): set it
// here, before anything compiles, so both builds are proven on every Node CI runs.
setFlagsFromString('--experimental-wasm-relaxed-simd');

// Linear memory must stop growing once training has run an iteration (the suite's
// resources case watches memoryBytes and bytesInUse over 10 000 iterations). Both builds,
// on one thread and on four (products shared among threads from 2^18 multiply-adds, so
// the suite's 100×784·784×50 products are split: four threads even on a 2-core machine).
for (const build of ['relaxed', 'simd'] as const) {
  for (const threads of [1, 4]) {
    defineConformanceSuite(`wasm ${build}, ${threads} thread${threads > 1 ? 's' : ''}`, () =>
      WasmBackend.create({ build, threads }),
    );
  }
}
