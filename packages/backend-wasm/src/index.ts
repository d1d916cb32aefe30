export { wasmSimdSupported } from './probe.js';
export { WasmBackend, type WasmBlock, WasmKernels } from './wasm-backend.js';
