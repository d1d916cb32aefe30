import { defineConformanceSuite } from '@backprop/conformance/vitest';
import { WasmBackend } from '../src/index.js';

// Linear memory must stop growing once training has run an iteration (the suite's
// resources case watches memoryBytes and bytesInUse over 10 000 iterations).
defineConformanceSuite('wasm', () => WasmBackend.create());
