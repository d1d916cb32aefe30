export {
  type DeviceOptions,
  provideNavigatorGpu,
  SWIFTSHADER_ICDS,
  type WebgpuDevice,
} from './device.js';
export {
  WebgpuBackend,
  type WebgpuBackendOptions,
  WebgpuKernels,
  type WebgpuStorage,
} from './webgpu-backend.js';
