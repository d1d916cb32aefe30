import {
  Backend,
  BackendError,
  type BinaryOp,
  type Broadcast,
  type DType,
  type FloatArray,
  type GatherDims,
  type GatherStorage,
  type KernelBackend,
  type LabelDims,
  type MatmulDims,
  type ReduceOp,
  refuseUnknownKeys,
  type Shape,
  type UnaryOp,
  UsageError,
} from '@backprop/core';
import * as tf from '@tensorflow/tfjs-core';

/** TensorFlow.js's engines: `cpu` and `wasm` run in Node and browsers, `webgl`/`webgpu` in browsers, `tensorflow` is @tensorflow/tfjs-node. */
export type TfjsEngine = 'cpu' | 'wasm' | 'webgl' | 'webgpu' | 'tensorflow';
export const TFJS_ENGINES: readonly TfjsEngine[] = ['cpu', 'wasm', 'webgl', 'webgpu', 'tensorflow'];

/** Each engine's npm package, imported on demand so that unused ones cost nothing. */
const ENGINE_PACKAGES: Record<TfjsEngine, string> = {
  cpu: '@tensorflow/tfjs-backend-cpu',
  wasm: '@tensorflow/tfjs-backend-wasm',
  webgl: '@tensorflow/tfjs-backend-webgl',
  webgpu: '@tensorflow/tfjs-backend-webgpu',
  tensorflow: '@tensorflow/tfjs-node',
};
// Literal specifiers, so a bundler (a web page's) can find and split them; tfjs-node is
// never bundled: it is looked up at run time only where it was installed.
const TFJS_NODE = ENGINE_PACKAGES.tensorflow;
const ENGINE_IMPORTS: Record<TfjsEngine, () => Promise<unknown>> = {
  cpu: () => import('@tensorflow/tfjs-backend-cpu'),
  wasm: () => import('@tensorflow/tfjs-backend-wasm'),
  webgl: () => import('@tensorflow/tfjs-backend-webgl'),
  webgpu: () => import('@tensorflow/tfjs-backend-webgpu'),
  tensorflow: () => import(/* @vite-ignore */ TFJS_NODE),
};

/**
 * A tensor's values: a TensorFlow.js tensor in a box. TensorFlow.js tensors are immutable,
 * so `write` and the in-place update put a new one in the box, and every handle on the
 * values (a tensor and its reshapes share the box) sees it. Its TensorFlow.js shape is
 * whatever the op that made it gave (core keeps the real one); kernels reshape where it
 * matters.
 */
export interface TfjsStorage {
  /**
   * @internal The published types leave TensorFlow.js's own out: loading them brings its
   * copy of @webgpu/types and a `Long` that needs @types/long, which fail a project
   * compiled with `skipLibCheck: false` beside another copy or with `types` set.
   */
  value: tf.Tensor;
}

/** [rows, cols] with a column of zeros after it, where a map's −1 (a 0) points. */
function withZeroColumn(matrix: tf.Tensor): tf.Tensor {
  return tf.concat([matrix, tf.zeros([matrix.shape[0] ?? 1, 1])], 1);
}

/** t in `shape`, reshaped only when it is not in it already (a reshape is an op of its own). */
function shaped(t: tf.Tensor, shape: number[]): tf.Tensor {
  const same = t.shape.length === shape.length && t.shape.every((d, i) => d === shape[i]);
  return same ? t : tf.reshape(t, shape);
}

const UNARY: Record<UnaryOp, (x: tf.Tensor) => tf.Tensor> = {
  neg: tf.neg,
  exp: tf.exp,
  log: tf.log,
  sqrt: tf.sqrt,
};

const BINARY: Record<BinaryOp, (a: tf.Tensor, b: tf.Tensor) => tf.Tensor> = {
  add: tf.add,
  sub: tf.sub,
  mul: tf.mul,
  div: tf.div,
  maximum: tf.maximum,
  greater: (a, b) => tf.cast(tf.greater(a, b), 'float32'),
  equal: (a, b) => tf.cast(tf.equal(a, b), 'float32'),
};

export interface TfjsBackendOptions {
  /** Default `wasm` (the fastest engine that runs in Node without a native install). */
  engine?: TfjsEngine;
  /**
   * Browsers only, the wasm engine: where `@tensorflow/tfjs-backend-wasm`'s `.wasm` files
   * are served — a URL prefix (`'/tfjs-wasm/'`), or each file's URL (what a bundler gives
   * for `import simd from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url'`).
   * Without it TensorFlow.js looks beside its own script, which a bundled page does not have.
   */
  wasmPaths?: string | TfjsWasmFiles;
}

/**
 * The URL of each `.wasm` file of `@tensorflow/tfjs-backend-wasm` (its `dist/` folder): the
 * SIMD build, and the plain one for browsers without SIMD. The threaded build is never
 * loaded (see `WASM_HAS_MULTITHREAD_SUPPORT` below), so it need not be served.
 */
export interface TfjsWasmFiles {
  'tfjs-backend-wasm-simd.wasm': string;
  'tfjs-backend-wasm.wasm': string;
  'tfjs-backend-wasm-threaded-simd.wasm'?: string;
}

/** TensorFlow.js wants a URL for every build, the threaded one included, or a prefix. */
function wasmPathsForTfjs(paths: string | TfjsWasmFiles): string | Required<TfjsWasmFiles> {
  if (typeof paths === 'string') return paths;
  for (const file of ['tfjs-backend-wasm-simd.wasm', 'tfjs-backend-wasm.wasm'] as const) {
    if (typeof paths[file] !== 'string') {
      throw new UsageError(
        `tfjs: wasmPaths has no URL for '${file}': give one for each of tfjs-backend-wasm-simd.wasm and tfjs-backend-wasm.wasm, or a URL prefix where both are served`,
      );
    }
  }
  return {
    'tfjs-backend-wasm-threaded-simd.wasm': paths['tfjs-backend-wasm-simd.wasm'],
    ...paths,
  };
}

/** What to call instead, in this API's words. */
const OTHER_ENGINES = (engine: TfjsEngine) =>
  (['wasm', 'cpu'] as const)
    .filter((e) => e !== engine)
    .map((e) => `TfjsBackend.create({ engine: '${e}' })`)
    .join(' or ');

/**
 * The kernels as TensorFlow.js ops. Values stay inside TensorFlow.js between kernels;
 * every intermediate a kernel makes is freed inside it (tf.tidy), so the engine's tensor
 * count moves only with the storage core holds.
 *
 * TensorFlow.js has one global engine: creating a backend makes its engine the active
 * one, and each kernel switches back if another backend changed it.
 */
export class TfjsKernels implements KernelBackend<TfjsStorage> {
  readonly name: string;
  readonly dtype: DType = 'float32';
  readonly description: string;

  /**
   * A gather map's tables as TensorFlow.js wants them, made on first use from the map's
   * storage and kept until it is freed: the index as int32 (−1 pointing at a zero column
   * past the sample), and the sources padded to maxSources a value.
   */
  private readonly mapTables = new WeakMap<TfjsStorage, tf.Tensor>();

  /**
   * A synchronous read, where the engine has one: not WebGPU, whose dataSync of a value a
   * kernel computed needs an OffscreenCanvas (none in Node: printing a tfjs-webgpu tensor
   * threw a ReferenceError), and blocks a page where it has one.
   */
  readonly downloadSync?: (data: TfjsStorage, size: number) => FloatArray;

  constructor(readonly engine: TfjsEngine) {
    // tfjs-node is what people call TensorFlow.js on libtensorflow
    this.name = engine === 'tensorflow' ? 'tfjs-node' : `tfjs-${engine}`;
    this.description = `${this.name}: TensorFlow.js ${tf.version_core} ${engine} engine, float32`;
    if (engine !== 'webgpu') {
      this.downloadSync = (data, size) => {
        this.activate();
        return Float32Array.from(data.value.dataSync<'float32'>().subarray(0, size));
      };
    }
  }

  /** TensorFlow.js's own count of live tensors: must move only with the storage core holds. */
  resources(): Record<string, number> {
    return { engineTensors: tf.memory().numTensors };
  }

  // ---- storage -------------------------------------------------------------------------

  /** In the tensor's own shape, so kernels rarely need a reshape (an op of its own in TensorFlow.js). */
  upload(values: ArrayLike<number>, shape: Shape): TfjsStorage {
    this.activate();
    return { value: tf.tensor(Float32Array.from(values), [...shape], 'float32') };
  }

  async download(data: TfjsStorage, size: number): Promise<FloatArray> {
    this.activate();
    const values = await data.value.data<'float32'>();
    return Float32Array.from(values.subarray(0, size)); // a copy: the engine may hand out its own buffer
  }

  write(data: TfjsStorage, values: ArrayLike<number>, offset: number): void {
    this.activate();
    this.mapTables.get(data)?.dispose();
    this.mapTables.delete(data);
    const { shape, size } = data.value;
    // On the engine's own values: a read back (dataSync) is not there on WebGPU (see
    // downloadSync), and a gradient check writes one value at a time
    const updated = tf.tidy(() => {
      const flat = tf.reshape(data.value, [size]);
      const end = offset + values.length;
      const parts = [
        ...(offset > 0 ? [tf.slice(flat, [0], [offset])] : []),
        tf.tensor1d(Float32Array.from(values), 'float32'),
        ...(end < size ? [tf.slice(flat, [end], [size - end])] : []),
      ];
      return tf.reshape(parts.length === 1 ? (parts[0] as tf.Tensor) : tf.concat(parts), shape);
    });
    this.replace(data, updated);
  }

  free(data: TfjsStorage): void {
    data.value.dispose();
    this.mapTables.get(data)?.dispose();
    this.mapTables.delete(data);
  }

  // ---- primitives ----------------------------------------------------------------------

  matmul(a: TfjsStorage, b: TfjsStorage, { m, k, n, transposeA, transposeB }: MatmulDims) {
    return this.run(() =>
      tf.matMul(
        shaped(a.value, transposeA ? [k, m] : [m, k]),
        shaped(b.value, transposeB ? [n, k] : [k, n]),
        transposeA,
        transposeB,
      ),
    );
  }

  unary(op: UnaryOp, x: TfjsStorage): TfjsStorage {
    return this.run(() => UNARY[op](x.value));
  }

  binary(op: BinaryOp, a: TfjsStorage, b: TfjsStorage, layout: Broadcast): TfjsStorage {
    // TensorFlow.js broadcasts as numpy does, once both are matrices
    return this.run(() =>
      BINARY[op](
        shaped(a.value, [layout.aRows, layout.aCols]),
        shaped(b.value, [layout.bRows, layout.bCols]),
      ),
    );
  }

  reduce(op: ReduceOp, x: TfjsStorage, rows: number, cols: number, axis: 0 | 1): TfjsStorage {
    return this.run(() => {
      const matrix = shaped(x.value, [rows, cols]);
      if (op === 'sum') return tf.sum(matrix, axis);
      if (op === 'max') return tf.max(matrix, axis);
      return tf.cast(this.argMax(matrix, axis), 'float32');
    });
  }

  gatherRows(x: TfjsStorage, indices: Int32Array, width: number): TfjsStorage {
    return this.run(() => {
      // labels ([n]) are gathered as they are; matrices as rows of `width`
      const source =
        width === 1 && x.value.rank === 1
          ? x.value
          : shaped(x.value, [x.value.size / width, width]);
      return tf.gather(source, tf.tensor1d(indices, 'int32'));
    });
  }

  gather(x: TfjsStorage, { index }: GatherStorage<TfjsStorage>, dims: GatherDims) {
    const { batch, inSize } = dims;
    const columns = this.table(index, () => {
      const i = tf.cast(index.value, 'int32');
      return tf.where(tf.less(i, 0), tf.scalar(inSize, 'int32'), i);
    });
    return this.run(() => tf.gather(withZeroColumn(shaped(x.value, [batch, inSize])), columns, 1));
  }

  /** Σ over the positions that read each value: a gather of them (padded with a zero) and a sum. */
  scatterAdd(
    values: TfjsStorage,
    { offsets, sources }: GatherStorage<TfjsStorage>,
    dims: GatherDims,
  ) {
    const { batch, inSize, outSize } = dims;
    const most = Math.max(dims.maxSources, 1);
    const padded = this.table(offsets, () => {
      const bounds = tf.cast(offsets.value, 'int32');
      const starts = tf.reshape(tf.slice(bounds, [0], [inSize]), [inSize, 1]);
      const counts = tf.sub(tf.reshape(tf.slice(bounds, [1], [inSize]), [inSize, 1]), starts);
      const k = tf.reshape(tf.range(0, most, 1, 'int32'), [1, most]);
      const last = sources.value.size - 1;
      const at = tf.cast(
        tf.gather(sources.value, tf.minimum(tf.add(starts, k), tf.scalar(last, 'int32'))),
        'int32',
      );
      // past a value's own sources: the zero column after the sample
      return tf.reshape(tf.where(tf.less(k, counts), at, tf.scalar(outSize, 'int32')), [-1]);
    });
    return this.run(() => {
      const read = tf.gather(withZeroColumn(shaped(values.value, [batch, outSize])), padded, 1);
      return tf.sum(tf.reshape(read, [batch, inSize, most]), 2);
    });
  }

  // ---- overrides: TensorFlow.js's own fused ops --------------------------------------------

  addBias(x: TfjsStorage, bias: TfjsStorage, rows: number, cols: number): TfjsStorage {
    return this.run(() => tf.add(shaped(x.value, [rows, cols]), shaped(bias.value, [cols])));
  }

  sumColumns(x: TfjsStorage, rows: number, cols: number): TfjsStorage {
    return this.run(() => tf.sum(shaped(x.value, [rows, cols]), 0));
  }

  relu(x: TfjsStorage): TfjsStorage {
    return this.run(() => tf.relu(x.value));
  }

  reluBackward(dout: TfjsStorage, out: TfjsStorage): TfjsStorage {
    // x <= 0 passes no gradient; out > 0 exactly where x > 0.
    return this.run(() =>
      tf.where(
        tf.greater(out.value, 0),
        shaped(dout.value, out.value.shape),
        tf.zerosLike(out.value),
      ),
    );
  }

  sigmoid(x: TfjsStorage): TfjsStorage {
    return this.run(() => tf.sigmoid(x.value));
  }

  softmax(x: TfjsStorage, rows: number, cols: number): TfjsStorage {
    return this.run(() => tf.softmax(shaped(x.value, [rows, cols]))); // subtracts each row's max first
  }

  softmaxCrossEntropy(
    logits: TfjsStorage,
    labels: TfjsStorage,
    dims: LabelDims,
    delta: number,
  ): [TfjsStorage, TfjsStorage] {
    this.activate();
    const [probs, loss] = tf.tidy(() => {
      const y = tf.softmax(shaped(logits.value, [dims.batch, dims.classes]));
      const t = this.targets(labels, dims);
      const crossEntropy = tf.neg(tf.sum(tf.mul(t, tf.log(tf.add(y, delta)))));
      return [y, tf.div(crossEntropy, dims.batch)];
    });
    return [{ value: probs }, { value: loss }];
  }

  softmaxCrossEntropyBackward(probs: TfjsStorage, labels: TfjsStorage, dims: LabelDims) {
    return this.run(() =>
      tf.div(
        tf.sub(shaped(probs.value, [dims.batch, dims.classes]), this.targets(labels, dims)),
        dims.batch,
      ),
    );
  }

  sgdUpdate(w: TfjsStorage, g: TfjsStorage, _size: number, learningRate: number): void {
    this.activate();
    this.replace(
      w,
      tf.tidy(() => tf.sub(w.value, tf.mul(shaped(g.value, w.value.shape), learningRate))),
    );
  }

  countCorrect(scores: TfjsStorage, labels: TfjsStorage, dims: LabelDims): TfjsStorage {
    return this.run(() => {
      const predicted = this.argMax(shaped(scores.value, [dims.batch, dims.classes]), 1);
      const truth = dims.oneHot
        ? this.argMax(shaped(labels.value, [dims.batch, dims.classes]), 1)
        : tf.cast(shaped(labels.value, [dims.batch]), 'int32');
      return tf.sum(tf.cast(tf.equal(predicted, truth), 'float32'));
    });
  }

  // ---- helpers ------------------------------------------------------------------------

  /**
   * The first of equal maxima, as numpy. The webgpu engine's argMax returns another one
   * over long rows (ties in 5000 values: 2630 for 2629), so there the maxima are marked and
   * the first is made the only largest value: (n − index) where x equals the maximum, 0
   * elsewhere.
   */
  private argMax(matrix: tf.Tensor, axis: 0 | 1): tf.Tensor {
    if (this.engine !== 'webgpu') return tf.argMax(matrix, axis);
    const n = matrix.shape[axis] ?? 1;
    const isMax = tf.cast(tf.equal(matrix, tf.max(matrix, axis, true)), 'float32');
    const countdown = tf.reshape(tf.range(n, 0, -1), axis === 1 ? [1, n] : [n, 1]);
    return tf.argMax(tf.mul(isMax, countdown), axis);
  }

  /** A map's table in TensorFlow.js's form, made once for `storage` (see mapTables). */
  private table(storage: TfjsStorage, make: () => tf.Tensor): tf.Tensor {
    let table = this.mapTables.get(storage);
    if (!table) {
      this.activate();
      table = tf.tidy(make);
      this.mapTables.set(storage, table);
    }
    return table;
  }

  /** Runs one kernel's ops on this backend's engine, keeping only its result. */
  private run(ops: () => tf.Tensor): TfjsStorage {
    this.activate();
    return { value: tf.tidy(ops) };
  }

  private replace(data: TfjsStorage, value: tf.Tensor): void {
    data.value.dispose();
    data.value = value;
  }

  /** One-hot targets [batch, classes] from either label form (call inside tf.tidy). */
  private targets(labels: TfjsStorage, { batch, classes, oneHot }: LabelDims): tf.Tensor {
    if (oneHot) return shaped(labels.value, [batch, classes]);
    return tf.cast(tf.oneHot(tf.cast(shaped(labels.value, [batch]), 'int32'), classes), 'float32');
  }

  /** Makes this backend's engine the active one (TensorFlow.js has one at a time). */
  private activate(): void {
    if (tf.getBackend() === this.engine) return;
    // Once an engine has started, setBackend switches before its first await.
    void tf.setBackend(this.engine);
    if (tf.getBackend() !== this.engine) {
      throw new BackendError(
        `tfjs: could not switch TensorFlow.js back to the ${this.engine} engine`,
      );
    }
  }
}

/** A page or a Web Worker (not Node, Deno or Bun, which have `process`). */
const inBrowser = () =>
  typeof (globalThis as { document?: unknown }).document === 'object' ||
  typeof (globalThis as { importScripts?: unknown }).importScripts === 'function';

/** Why an engine registered nothing: the browser API it needs, found missing here. */
function missingFeature(engine: TfjsEngine): string {
  const g = globalThis as { navigator?: { gpu?: unknown }; WebGL2RenderingContext?: unknown };
  if (engine === 'webgpu' && !g.navigator?.gpu) {
    return `it needs WebGPU (navigator.gpu), which ${inBrowser() ? 'this browser does not offer' : 'Node has only through @backprop/backend-webgpu’s provideNavigatorGpu()'}; try ${OTHER_ENGINES(engine)}`;
  }
  if (engine === 'webgl' && !inBrowser()) {
    return `it needs a browser's WebGL; try ${OTHER_ENGINES(engine)}`;
  }
  return `TensorFlow.js registered no ${engine} engine (is a second copy of @tensorflow/tfjs-core installed? every @tensorflow package must be ${tf.version_core}); try ${OTHER_ENGINES(engine)}`;
}

/** Why `tf.setBackend` said no (TensorFlow.js logs the error itself, as a warning). */
function whyNotStarted(engine: TfjsEngine, options: TfjsBackendOptions): string {
  if (engine === 'wasm' && inBrowser()) {
    return options.wasmPaths
      ? `its .wasm file did not load from wasmPaths ${JSON.stringify(options.wasmPaths)}: check that those URLs serve the files of @tensorflow/tfjs-backend-wasm@${tf.version_core}'s dist/ folder (with Content-Type application/wasm)`
      : `its .wasm file did not load: a bundled page (Vite, webpack) does not serve it where TensorFlow.js looks; pass wasmPaths, as @backprop/backend-tfjs's README shows, or try TfjsBackend.create({ engine: 'cpu' })`;
  }
  if (engine === 'webgl')
    return `the browser could not create a WebGL context; try ${OTHER_ENGINES(engine)}`;
  if (engine === 'webgpu')
    return `no WebGPU adapter or device was granted; try ${OTHER_ENGINES(engine)}`;
  return `see the warning TensorFlow.js printed above; try ${OTHER_ENGINES(engine)}`;
}

/** The TensorFlow.js backend: `await TfjsBackend.create({ engine: 'wasm' })`. */
export class TfjsBackend extends Backend<TfjsKernels> {
  /** Loads and starts the engine; rejects with what to install when it is not there. */
  static async create(options: TfjsBackendOptions = {}): Promise<TfjsBackend> {
    refuseUnknownKeys('TfjsBackend.create options', options, ['engine', 'wasmPaths']);
    const engine = options.engine ?? 'wasm';
    if (!TFJS_ENGINES.includes(engine)) {
      throw new UsageError(
        `tfjs: unknown engine '${String(engine)}'; engines: ${TFJS_ENGINES.join(', ')}`,
      );
    }
    // TensorFlow.js prints tips (install tfjs-node) unless told this is production.
    if (!tf.env().getBool('PROD')) tf.env().set('PROD', true);
    if (!tf.findBackend(engine)) {
      let loaded: { setWasmPaths?: (paths: string | TfjsWasmFiles) => void };
      try {
        loaded = (await ENGINE_IMPORTS[engine]()) as typeof loaded;
      } catch (error) {
        throw new BackendError(
          `tfjs: the ${engine === 'tensorflow' ? 'tfjs-node (tensorflow)' : engine} engine is not available: install ${ENGINE_PACKAGES[engine]}@${tf.version_core}` +
            ` (${(error as Error).message.split('\n')[0]})`,
        );
      }
      if (engine === 'wasm') {
        // In a browser the wasm engine fetches its .wasm files; say where they are served.
        if (options.wasmPaths) loaded.setWasmPaths?.(wasmPathsForTfjs(options.wasmPaths));
        // Once a page is cross-origin isolated, tfjs picks its threaded wasm build, whose
        // pthread workers fail to start inside a module Web Worker ("e is not defined",
        // seen in Chromium): keep the single-threaded SIMD build, as without isolation.
        tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
      }
    }
    if (!tf.findBackendFactory(engine)) {
      // webgl and webgpu register themselves only where their API exists.
      throw new BackendError(
        `tfjs: the ${engine} engine cannot run here: ${missingFeature(engine)}`,
      );
    }
    let started = false;
    try {
      started = await tf.setBackend(engine);
    } catch (error) {
      throw new BackendError(
        `tfjs: the ${engine} engine failed to start: ${(error as Error).message}`,
      );
    }
    if (!started) {
      throw new BackendError(
        `tfjs: the ${engine} engine did not start: ${whyNotStarted(engine, options)}`,
      );
    }
    return new TfjsBackend(new TfjsKernels(engine));
  }
}
