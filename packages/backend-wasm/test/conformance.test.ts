import { setFlagsFromString } from 'node:v8';
import { defineConformanceSuite } from '@backprop/conformance/vitest';
import { WasmBackend } from '../src/index.js';

// Node 20 validates relaxed SIMD only behind a V8 flag (22 and later without one): set it
// here, before anything compiles, so both builds are proven on every Node CI runs.
setFlagsFromString('--experimental-wasm-relaxed-simd');

// Linear memory must stop growing once training has run an iteration (the suite's
// resources case watches memoryBytes and bytesInUse over 2 000 iterations). Both builds
// and both kinds of run: relaxed SIMD on four threads — four even on a 2-core machine —
// with every product and gather shared however small (threadedFrom 0), so each split is
// checked; plain SIMD on one thread. (The bit-identity test in threads.test.ts runs both
// builds on 1, 2 and 4 threads.)
defineConformanceSuite('wasm relaxed, 4 threads, all work shared', () =>
  WasmBackend.create({ build: 'relaxed', threads: 4, threadedFrom: 0 }),
);
defineConformanceSuite('wasm simd, 1 thread', () =>
  WasmBackend.create({ build: 'simd', threads: 1 }),
);
