export {
  TFJS_ENGINES,
  TfjsBackend,
  type TfjsBackendOptions,
  type TfjsEngine,
  TfjsKernels,
  type TfjsStorage,
} from './tfjs-backend.js';
