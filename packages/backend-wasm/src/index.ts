export { WasmBackend } from './wasm-backend.js';
