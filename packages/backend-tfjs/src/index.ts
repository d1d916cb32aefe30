export {
  TFJS_ENGINES,
  TfjsBackend,
  type TfjsBackendOptions,
  type TfjsEngine,
} from './tfjs-backend.js';
