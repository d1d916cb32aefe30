export {
  GPUJS_MODES,
  GpujsBackend,
  type GpujsBackendOptions,
  type GpujsMode,
} from './gpujs-backend.js';
