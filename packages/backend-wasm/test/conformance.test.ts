import { setFlagsFromString } from 'node:v8';
import { defineConformanceSuite } from '@backprop/conformance/vitest';
import { WasmBackend } from '../src/index.js';

// Node 20 validates relaxed SIMD only behind a V8 flag (22 and later without one): set it
// here, before anything compiles, so both builds are proven on every Node CI runs.
setFlagsFromString('--experimental-wasm-relaxed-simd');

// Linear memory must stop growing once training has run an iteration (the suite's
// resources case watches memoryBytes and bytesInUse over 10 000 iterations). Both builds,
// on one thread and on four — four even on a 2-core machine, with every product and
// gather shared among them however small (threadedFrom 0), so each split is checked.
for (const build of ['relaxed', 'simd'] as const) {
  defineConformanceSuite(`wasm ${build}, 1 thread`, () =>
    WasmBackend.create({ build, threads: 1 }),
  );
  defineConformanceSuite(`wasm ${build}, 4 threads, all work shared`, () =>
    WasmBackend.create({ build, threads: 4, threadedFrom: 0 }),
  );
}
