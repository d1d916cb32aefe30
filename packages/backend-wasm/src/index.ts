export { WasmBackend, type WasmBlock, WasmKernels, wasmSimdSupported } from './wasm-backend.js';
