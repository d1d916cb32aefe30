/**
 * Every backend by name — the one registry the command line, the bench and the
 * playground share. A backend is created at run time from its name (`createBackend('wasm')`)
 * and the name it reports (`backend.name`) creates the same engine again, so a name
 * written into a run's files reruns that run. Each backend's package is imported only
 * when it is asked for.
 */
import {
  type Backend,
  BackendError,
  type DType,
  nearest,
  refuseUnknownKeys,
  UsageError,
} from '@backprop/core';

export interface BackendInfo {
  /** What creates it, and what it reports as `backend.name` (but `gpujs`, which picks an engine and reports it). */
  name: string;
  /** What it is, in a line. */
  summary: string;
  /** Its dtypes, the default first. */
  dtypes: readonly DType[];
  /** The package that holds it. */
  package: string;
}

export interface CreateOptions {
  dtype?: DType;
  /**
   * tfjs-wasm in a browser: where @tensorflow/tfjs-backend-wasm's .wasm files are served,
   * a URL prefix or each file's URL (a bundler does not serve them on its own).
   */
  wasmPaths?: string | Record<string, string>;
  /** wasm: threads for the matrix products (default every core where it may share memory). */
  threads?: number;
}

interface Entry extends BackendInfo {
  create(dtype: DType, options: CreateOptions): Promise<Backend>;
  /** The shading language of its kernels, whose exp is less exact than JavaScript's. */
  shader?: 'GLSL' | 'WGSL';
  /** A browser's API it needs, where Node has none; and what to ask for in Node instead. */
  browserOnly?: { needs: string; inNode: readonly string[] };
}

const inNode = () => typeof process === 'object' && typeof process.versions?.node === 'string';

/**
 * A backend's package, imported when it is asked for: cpu and wasm come with this one, the
 * others (TensorFlow.js, gpu.js, WebGPU and their engines, hundreds of MB with a native
 * build) are optional peers a user installs for the backends they want.
 */
async function load<T>(name: string, pkg: string, importIt: () => Promise<T>): Promise<T> {
  try {
    return await importIt();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const missing =
      (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') &&
      (error as Error).message.includes(`'${pkg}'`);
    if (!missing) throw error;
    throw new BackendError(
      `the ${name} backend needs ${pkg}, which is not installed: npm install ${pkg}`,
    );
  }
}

/**
 * Node has no `navigator.gpu`: gpu.js's and TensorFlow.js's WebGPU paths get Dawn's, chosen
 * as the webgpu backend chooses its adapter (a real GPU, else SwiftShader, never Dawn's
 * null adapter). Before their import: TensorFlow.js registers its engine only if it sees one.
 */
async function provideWebgpuInNode(name: string): Promise<void> {
  if (!inNode()) return;
  const { provideNavigatorGpu } = await load(
    name,
    '@backprop/backend-webgpu',
    () => import('@backprop/backend-webgpu'),
  );
  await provideNavigatorGpu();
}

const tfjs =
  (engine: 'cpu' | 'wasm' | 'webgl' | 'webgpu' | 'tensorflow') =>
  async (_: DType, { wasmPaths }: CreateOptions) => {
    const name = engine === 'tensorflow' ? 'tfjs-node' : `tfjs-${engine}`;
    if (engine === 'webgpu') await provideWebgpuInNode(name);
    const { TfjsBackend } = await load(
      name,
      '@backprop/backend-tfjs',
      () => import('@backprop/backend-tfjs'),
    );
    // the engine checks the files it needs (TfjsWasmFiles) and names a missing one
    return TfjsBackend.create({ engine, wasmPaths: wasmPaths as never });
  };

const gpujs =
  (engine: 'auto' | 'headlessgl' | 'webgl2' | 'webgl' | 'webgpu' | 'webasm' | 'cpu') =>
  async () => {
    const name = engine === 'auto' ? 'gpujs' : `gpujs-${engine}`;
    if (engine === 'webgpu') await provideWebgpuInNode(name);
    const { GpujsBackend } = await load(
      name,
      '@backprop/backend-gpujs',
      () => import('@backprop/backend-gpujs'),
    );
    return GpujsBackend.create({ engine });
  };

const ENTRIES: Entry[] = [
  {
    name: 'cpu',
    summary: 'pure TypeScript loops; float64 reproduces the book’s numpy numbers',
    dtypes: ['float64', 'float32'],
    package: '@backprop/backend-cpu',
    async create(dtype) {
      const { CpuBackend } = await import('@backprop/backend-cpu');
      return CpuBackend.create({ dtype });
    },
  },
  {
    name: 'wasm',
    summary: 'hand-written WebAssembly SIMD: the fast CPU path',
    dtypes: ['float32'],
    package: '@backprop/backend-wasm',
    async create(_, { threads }) {
      const { WasmBackend } = await import('@backprop/backend-wasm');
      return WasmBackend.create({ threads });
    },
  },
  {
    name: 'webgpu',
    summary: 'hand-written WGSL compute shaders: WebGPU in browsers, Dawn (npm: webgpu) in Node',
    dtypes: ['float32'],
    shader: 'WGSL',
    package: '@backprop/backend-webgpu',
    async create() {
      const { WebgpuBackend } = await load(
        'webgpu',
        '@backprop/backend-webgpu',
        () => import('@backprop/backend-webgpu'),
      );
      return WebgpuBackend.create();
    },
  },
  {
    name: 'tfjs-wasm',
    summary: 'TensorFlow.js, its WebAssembly engine',
    dtypes: ['float32'],
    package: '@backprop/backend-tfjs',
    create: tfjs('wasm'),
  },
  {
    name: 'tfjs-cpu',
    summary: 'TensorFlow.js, its plain JavaScript engine',
    dtypes: ['float32'],
    package: '@backprop/backend-tfjs',
    create: tfjs('cpu'),
  },
  {
    name: 'tfjs-webgl',
    summary: 'TensorFlow.js on WebGL (browsers)',
    dtypes: ['float32'],
    shader: 'GLSL',
    browserOnly: { needs: 'WebGL', inNode: ['tfjs-wasm', 'tfjs-cpu', 'tfjs-webgpu'] },
    package: '@backprop/backend-tfjs',
    create: tfjs('webgl'),
  },
  {
    name: 'tfjs-webgpu',
    summary: 'TensorFlow.js on WebGPU: browsers, and Node through Dawn (npm: webgpu)',
    dtypes: ['float32'],
    shader: 'WGSL',
    package: '@backprop/backend-tfjs',
    create: tfjs('webgpu'),
  },
  {
    name: 'tfjs-node',
    summary: 'TensorFlow.js on libtensorflow (@tensorflow/tfjs-node, installed by you)',
    dtypes: ['float32'],
    package: '@backprop/backend-tfjs',
    create: tfjs('tensorflow'),
  },
  {
    name: 'gpujs',
    summary: 'gpu.js, the best engine here: headless-gl in Node, WebGL2 in a browser, else webasm',
    dtypes: ['float32'],
    package: '@backprop/backend-gpujs',
    create: gpujs('auto'),
  },
  {
    name: 'gpujs-headlessgl',
    summary: 'gpu.js, GLSL on headless-gl (Node, with an X display)',
    dtypes: ['float32'],
    shader: 'GLSL',
    package: '@backprop/backend-gpujs',
    create: gpujs('headlessgl'),
  },
  {
    name: 'gpujs-webgl2',
    summary: 'gpu.js, GLSL on WebGL2 (browsers)',
    dtypes: ['float32'],
    shader: 'GLSL',
    browserOnly: { needs: 'WebGL2', inNode: ['gpujs-headlessgl', 'gpujs-webasm'] },
    package: '@backprop/backend-gpujs',
    create: gpujs('webgl2'),
  },
  {
    name: 'gpujs-webgl',
    summary: 'gpu.js, GLSL on WebGL 1 (browsers)',
    dtypes: ['float32'],
    shader: 'GLSL',
    browserOnly: { needs: 'WebGL', inNode: ['gpujs-headlessgl', 'gpujs-webasm'] },
    package: '@backprop/backend-gpujs',
    create: gpujs('webgl'),
  },
  {
    name: 'gpujs-webgpu',
    summary: 'gpu.js on WebGPU: browsers, and Node through Dawn (npm: webgpu)',
    dtypes: ['float32'],
    shader: 'WGSL',
    package: '@backprop/backend-gpujs',
    create: gpujs('webgpu'),
  },
  {
    name: 'gpujs-webasm',
    summary: 'gpu.js, its WebAssembly engine (runs anywhere)',
    dtypes: ['float32'],
    package: '@backprop/backend-gpujs',
    create: gpujs('webasm'),
  },
];

/** Every backend this registry knows, whether or not it runs here. */
export const BACKENDS: readonly BackendInfo[] = ENTRIES.map(
  ({ name, summary, dtypes, package: pkg }) => ({ name, summary, dtypes, package: pkg }),
);

/** The names, in the registry's order. */
export const BACKEND_NAMES: readonly string[] = BACKENDS.map((b) => b.name);

function entry(name: string): Entry {
  const found = ENTRIES.find((e) => e.name === name);
  if (!found) {
    // a name the registry does not have is the caller's mistake, like an unknown option
    const near = nearest(name, BACKEND_NAMES);
    throw new UsageError(
      `unknown backend '${name}'${near ? ` (did you mean '${near}'?)` : ''}; backends: ${BACKEND_NAMES.join(', ')}`,
    );
  }
  return found;
}

/** The backend called `name`; rejects with what is missing where it cannot run here. */
export async function createBackend(name: string, options: CreateOptions = {}): Promise<Backend> {
  const { dtypes, create, browserOnly } = entry(name);
  refuseUnknownKeys(`createBackend('${name}') options`, options, ['dtype', 'wasmPaths', 'threads']);
  if (options.threads !== undefined && name !== 'wasm') {
    throw new UsageError(`threads is an option of the wasm backend, not of '${name}'`);
  }
  const dtype = options.dtype ?? dtypes[0];
  if (!dtypes.includes(dtype)) {
    throw new UsageError(`backend '${name}' has no ${dtype}; it offers ${dtypes.join(', ')}`);
  }
  // said before its package is looked for: installing it would not make it run here
  if (browserOnly && inNode()) {
    throw new BackendError(
      `the ${name} backend needs a browser's ${browserOnly.needs}, which Node does not have; in Node use ${browserOnly.inNode.join(', ')}`,
    );
  }
  return create(dtype, options);
}

export interface Availability extends BackendInfo {
  available: boolean;
  /** Why not, where it does not run here. */
  reason?: string;
  /** What runs, where it does. */
  description?: string;
}

/**
 * Every backend, each tried here: `available` with what runs, or the reason it does not.
 * Trying means creating (and closing) it, so this takes as long as starting each engine.
 */
export async function listBackends(
  names: readonly string[] = BACKEND_NAMES,
): Promise<Availability[]> {
  const list: Availability[] = [];
  for (const name of names) {
    const info = BACKENDS.find((b) => b.name === name) ?? entry(name);
    try {
      const backend = await createBackend(name);
      list.push({ ...info, available: true, description: backend.description });
      backend.close();
    } catch (error) {
      list.push({ ...info, available: false, reason: (error as Error).message });
    }
  }
  return list;
}

/**
 * What the conformance suite must allow `name` beyond JavaScript's own rounding, by case
 * (the shape of `ConformanceOptions.looser`): GLSL ES 3.00 (4.5.1) and WGSL let exp be off
 * by (3 + 2·|x|) ulp, 19 ulp for the suite's |x| ≤ 8, where the case allows 8. `gpujs`
 * picks its engine at run time: a GL one is assumed.
 */
export function conformanceAllowances(
  name: string,
): Record<string, { factor: number; reason: string }> {
  const shader = name === 'gpujs' ? 'GLSL' : entry(name).shader;
  return shader
    ? { exp: { factor: 19 / 8, reason: `${shader} exp may be off by (3 + 2·|x|) ulp` } }
    : {};
}

/**
 * A backend choice as the command line, the bench and the playground write it: a
 * registry name, or `name:dtype` (`cpu:float32`); checked against the registry.
 */
export function parseBackendChoice(choice: string): { name: string; dtype?: DType } {
  const [name = '', dtype, ...rest] = choice.split(':');
  const { dtypes } = entry(name);
  if (rest.length > 0 || (dtype !== undefined && !dtypes.includes(dtype as DType))) {
    throw new UsageError(
      `backend '${name}' has no ${rest.length ? choice.slice(name.length + 1) : dtype}; it offers ${dtypes.join(', ')}`,
    );
  }
  return dtype === undefined ? { name } : { name, dtype: dtype as DType };
}

/** The dtypes `name` offers (or a UsageError naming the backends there are). */
export function dtypesOf(name: string): readonly DType[] {
  return entry(name).dtypes;
}
