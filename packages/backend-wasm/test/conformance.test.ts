import { defineConformanceSuite } from '@backprop/conformance/vitest';
import { WasmBackend } from '../src/index.js';

// Linear memory must stop growing once training has run an iteration.
defineConformanceSuite('wasm', () => WasmBackend.create(), {
  resources: (backend) => ({
    memoryBytes: (backend as WasmBackend).memoryBytes(),
    bytesInUse: (backend as WasmBackend).bytesInUse(),
  }),
});
