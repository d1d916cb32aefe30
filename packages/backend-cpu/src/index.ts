export { CpuBackend, type CpuBackendOptions, CpuKernels } from './cpu-backend.js';
