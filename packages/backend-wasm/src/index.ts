export { WasmBackend, type WasmBlock, WasmKernels } from './wasm-backend.js';
