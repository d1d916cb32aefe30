/**
 * The backends the command can run, by name. A new backend joins with one entry here.
 */
import { type Backend, BackendError, type DType, UsageError } from '@backprop/core';

import { oneOf } from './args.js';

export { userPath } from './args.js';

export interface BackendChoice {
  dtype?: DType;
}

interface BackendEntry {
  dtypes: readonly DType[];
  create(choice: Required<BackendChoice>): Promise<Backend>;
}

async function tfjs(engine: 'cpu' | 'wasm' | 'tensorflow'): Promise<Backend> {
  const { TfjsBackend } = await import('@backprop/backend-tfjs');
  return TfjsBackend.create({ engine });
}

async function gpujs(mode: 'auto' | 'headlessgl' | 'webasm'): Promise<Backend> {
  const { GpujsBackend } = await import('@backprop/backend-gpujs');
  return GpujsBackend.create({ mode });
}

export const BACKENDS: Record<string, BackendEntry> = {
  cpu: {
    dtypes: ['float64', 'float32'],
    async create({ dtype }) {
      const { CpuBackend } = await import('@backprop/backend-cpu');
      return new CpuBackend({ dtype });
    },
  },
  wasm: {
    dtypes: ['float32'],
    async create() {
      const { WasmBackend } = await import('@backprop/backend-wasm');
      return WasmBackend.create();
    },
  },
  'tfjs-wasm': { dtypes: ['float32'], create: () => tfjs('wasm') },
  // gpu.js: auto picks headless-gl (Node, with an X display) or WebGL2, else its webasm engine
  gpujs: { dtypes: ['float32'], create: () => gpujs('auto') },
  'gpujs-headlessgl': { dtypes: ['float32'], create: () => gpujs('headlessgl') },
  'gpujs-webasm': { dtypes: ['float32'], create: () => gpujs('webasm') },
  'tfjs-cpu': { dtypes: ['float32'], create: () => tfjs('cpu') },
  // @tensorflow/tfjs-node, when the user has installed it (it downloads a native library)
  'tfjs-node': { dtypes: ['float32'], create: () => tfjs('tensorflow') },
};

export async function createBackend(name: string, choice: BackendChoice = {}): Promise<Backend> {
  const entry = BACKENDS[name];
  if (!entry) {
    throw new BackendError(
      `unknown backend '${name}'; available: ${Object.keys(BACKENDS).join(', ')}`,
    );
  }
  const dtype = choice.dtype ?? entry.dtypes[0];
  if (!entry.dtypes.includes(dtype)) {
    throw new UsageError(`backend '${name}' has no ${dtype}; it offers ${entry.dtypes.join(', ')}`);
  }
  return entry.create({ dtype });
}

/** The backend that `--backend` and `--dtype` name (default: cpu in its first dtype). */
export function backendFromFlags(
  values: Record<string, string | boolean | undefined>,
): Promise<Backend> {
  const name = typeof values.backend === 'string' ? values.backend : 'cpu';
  const dtype =
    values.dtype === undefined
      ? undefined
      : oneOf('dtype', values.dtype, ['float64', 'float32'], 'float64');
  return createBackend(name, { dtype });
}
