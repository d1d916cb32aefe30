export {
  GPUJS_ENGINES,
  GpujsBackend,
  type GpujsBackendOptions,
  type GpujsEngine,
  GpujsKernels,
  type GpujsStorage,
} from './gpujs-backend.js';
