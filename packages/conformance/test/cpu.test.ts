import { CpuBackend } from '@backprop/backend-cpu';
import { defineConformanceSuite } from '../src/vitest.js';

// The CPU backend is also the oracle; in float64 it is compared with itself, which still
// checks everything that is not arithmetic (layers, errors, resources, conventions).
defineConformanceSuite('cpu float64', () => new CpuBackend({ dtype: 'float64' }));
defineConformanceSuite('cpu float32', () => new CpuBackend({ dtype: 'float32' }));
