export {
  TFJS_ENGINES,
  TfjsBackend,
  type TfjsBackendOptions,
  type TfjsEngine,
  TfjsKernels,
  type TfjsStorage,
  type TfjsWasmFiles,
} from './tfjs-backend.js';
