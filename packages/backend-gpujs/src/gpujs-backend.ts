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
  type Shape,
  type UnaryOp,
  UsageError,
} from '@backprop/core';
import { GPU, type IKernelRunShortcut, Input, type Texture } from 'gpu.js';
import { binarySource, KERNELS, type KernelName, reduceSource, unarySource } from './kernels.js';

/**
 * gpu.js's engines: GLSL on headless-gl (Node), WebGL2/WebGL (browsers), WGSL on WebGPU
 * (browsers; Node with `navigator.gpu` from the npm package webgpu), its WebAssembly
 * engine, plain JS.
 */
export type GpujsEngine = 'auto' | 'headlessgl' | 'webgl2' | 'webgl' | 'webgpu' | 'webasm' | 'cpu';
export const GPUJS_ENGINES: readonly GpujsEngine[] = [
  'auto',
  'headlessgl',
  'webgl2',
  'webgl',
  'webgpu',
  'webasm',
  'cpu',
];

/** A WebGPU kernel's output (gpu.js's WebGPUBufferResult): read back asynchronously. */
interface GpuBuffer {
  toArray(): Promise<ArrayLike<number>[] | ArrayLike<number>>;
  delete(): void;
}

/**
 * A tensor's values as a [rows, cols] matrix: on the device (a texture), or on the host
 * (an upload, or rows from the webasm and cpu engines). Kernels ask for the layout they
 * need; values in another one are laid out again (free for host values: the same array
 * under another size).
 */
export interface GpujsStorage {
  /** On the WebGPU engine, a promise: its kernels answer asynchronously (see `deferred`). */
  value: Texture | Input | Float32Array[] | Promise<GpuBuffer | Input>;
  rows: number;
  cols: number;
}

export interface GpujsBackendOptions {
  /** Default `auto`: headless-gl in Node when the optional `gl` package loaded, WebGL2 in a browser, else gpu.js's WebAssembly engine. */
  engine?: GpujsEngine;
}

const isTexture = (value: GpujsStorage['value']): value is Texture =>
  typeof (value as Texture).delete === 'function';
const isPending = (value: GpujsStorage['value']): value is Promise<GpuBuffer | Input> =>
  value instanceof Promise;
// gpu.js's typings say number[] where it takes any typed array.
const input = (values: Float32Array, rows: number, cols: number) =>
  new Input(values as unknown as number[], [cols, rows]);
const inputValues = (value: Input) => value.value as unknown as Float32Array;

/**
 * The kernels as gpu.js kernels in pipeline mode: on a GL engine every intermediate stays a
 * texture between kernels and only what the caller reads comes back. Each kernel is
 * compiled once for its shapes and reused; freeing storage deletes its texture.
 * Precision is always `single` (never the lossy `unsigned` packing).
 */
export class GpujsKernels implements KernelBackend<GpujsStorage> {
  readonly name: string;
  readonly dtype: DType = 'float32';
  readonly description: string;
  /** GL textures are at most a few thousand texels high (WebGL2 guarantees 2048; 4096 is
   * safe on everything this was run on); the CPU-side engines have no such limit. */
  readonly maxRows: number | undefined;
  private textures = 0;
  private readonly compiled = new Map<string, IKernelRunShortcut>();
  /**
   * gpu.js's WebGPU kernels return promises. Kernels stay synchronous here by queueing:
   * every kernel, read and free runs in the order it was called, on one promise chain,
   * so a buffer is freed only after the kernels that read it were sent to the device. A
   * failure surfaces at the next read.
   */
  private readonly deferred: boolean;
  private queue: Promise<unknown> = Promise.resolve();
  private inQueue = false;
  /** A synchronous read, where the engine has one (not on WebGPU). */
  readonly downloadSync?: (data: GpujsStorage, size: number) => FloatArray;

  constructor(
    private readonly gpu: GPU,
    /** The engine gpu.js actually runs. */
    readonly engine: Exclude<GpujsEngine, 'auto'>,
  ) {
    this.name = `gpujs-${engine}`;
    this.description = `${this.name}: gpu.js ${engine} engine, float32 (precision single)`;
    this.maxRows = engine === 'webasm' || engine === 'cpu' ? undefined : 4096;
    this.deferred = engine === 'webgpu';
    if (!this.deferred) this.downloadSync = (data, size) => this.flat(data).slice(0, size);
  }

  /** Textures alive now (what must stay flat over training), and kernels compiled (one per kernel and shapes). */
  resources(): Record<string, number> {
    return { textures: this.textures, compiledKernels: this.compiled.size };
  }

  // ---- storage -------------------------------------------------------------------------

  /** Kept on the host until a kernel needs it, as a matrix: [] → 1×1, [n] → 1×n, [a, b, c…] → a×(b·c…). */
  upload(values: ArrayLike<number>, shape: Shape): GpujsStorage {
    const data = Float32Array.from(values);
    const rows = shape.length >= 2 ? shape[0] : 1;
    const cols = data.length / rows;
    return { value: input(data, rows, cols), rows, cols };
  }

  async download(data: GpujsStorage, size: number): Promise<FloatArray> {
    if (!this.deferred) return this.flat(data).slice(0, size);
    const value = data.value;
    return (await this.enqueue(() => this.readPending(value, data.rows, data.cols))).slice(0, size);
  }

  write(data: GpujsStorage, values: ArrayLike<number>, offset: number): void {
    const old = data.value;
    if (this.deferred) {
      const { rows, cols } = data;
      data.value = this.enqueue(async () => {
        const updated = await this.readPending(old, rows, cols);
        updated.set(values, offset);
        return input(updated, rows, cols);
      });
    } else {
      const updated = Float32Array.from(this.flat(data));
      updated.set(values, offset);
      data.value = input(updated, data.rows, data.cols);
    }
    this.release(old);
  }

  free(data: GpujsStorage): void {
    this.release(data.value);
  }

  // ---- primitives ----------------------------------------------------------------------

  matmul(a: GpujsStorage, b: GpujsStorage, { m, k, n, transposeA, transposeB }: MatmulDims) {
    const name = `matmul${transposeA ? 'T' : 'N'}${transposeB ? 'T' : 'N'}` as KernelName;
    const A = transposeA ? this.as(a, k, m) : this.as(a, m, k);
    const B = transposeB ? this.as(b, n, k) : this.as(b, k, n);
    return this.run(name, KERNELS[name], m, n, { k }, A, B);
  }

  unary(op: UnaryOp, x: GpujsStorage): GpujsStorage {
    return this.run(`unary-${op}`, unarySource(op), x.rows, x.cols, {}, x.value);
  }

  binary(op: BinaryOp, a: GpujsStorage, b: GpujsStorage, layout: Broadcast): GpujsStorage {
    const { rows, cols, aRows, aCols, bRows, bCols } = layout;
    const size = rows * cols;
    let shape: [number, number] = [rows, cols];
    let [A, B] = [a, b];
    if (aRows * aCols === size && bRows * bCols === size) {
      // the same number of values (a flat view of any shape): a's own layout, b in it
      shape = [a.rows, a.cols];
      B = this.asStorage(b, a.rows, a.cols);
    } else if (size === aRows * aCols && bRows * bCols === 1) {
      shape = [a.rows, a.cols]; // a scalar b
    } else if (size === bRows * bCols && aRows * aCols === 1) {
      shape = [b.rows, b.cols]; // a scalar a
    } else {
      A = this.asStorage(a, aRows, aCols);
      B = this.asStorage(b, bRows, bCols);
    }
    const one = (x: GpujsStorage, axis: 'rows' | 'cols') => (x[axis] === 1 ? 1 : 0);
    return this.run(
      `binary-${op}`,
      binarySource(op),
      shape[0],
      shape[1],
      {
        aRowOne: one(A, 'rows'),
        aColOne: one(A, 'cols'),
        bRowOne: one(B, 'rows'),
        bColOne: one(B, 'cols'),
      },
      A.value,
      B.value,
    );
  }

  reduce(op: ReduceOp, x: GpujsStorage, rows: number, cols: number, axis: 0 | 1): GpujsStorage {
    if (rows === 1 && x.rows > 1 && op !== 'argmax') {
      // All the values of a matrix (a texture is at most a few thousand wide): along its
      // rows first, then down the column of results.
      const partial = this.reduce(op, x, x.rows, x.cols, 1);
      const total = this.reduce(op, partial, partial.rows, 1, 0);
      this.free(partial);
      return total;
    }
    // a row of results down the columns (a bias's shape), a column of them along the rows
    const [outRows, outCols] = axis === 0 ? [1, cols] : [rows, 1];
    const source = reduceSource(op, axis);
    return this.run(
      `reduce-${op}-${axis}`,
      source,
      outRows,
      outCols,
      { rows, cols },
      this.as(x, rows, cols),
    );
  }

  gatherRows(x: GpujsStorage, indices: Int32Array, width: number): GpujsStorage {
    const count = indices.length;
    if (x.value instanceof Input) {
      // Data kept on the host (a dataset): copy the rows there, upload only the batch.
      const from = inputValues(x.value);
      const out = new Float32Array(count * width);
      for (let i = 0; i < count; i++)
        out.set(from.subarray(indices[i] * width, (indices[i] + 1) * width), i * width);
      return { value: input(out, count, width), rows: count, cols: width };
    }
    const rows = input(Float32Array.from(indices), 1, count);
    const source = this.as(x, (x.rows * x.cols) / width, width);
    return this.run('gatherRows', KERNELS.gatherRows, count, width, {}, source, rows);
  }

  gather(x: GpujsStorage, { index }: GatherStorage<GpujsStorage>, dims: GatherDims) {
    const { batch, inSize, outSize } = dims;
    const X = this.as(x, batch, inSize);
    return this.run(
      'gatherByMap',
      KERNELS.gatherByMap,
      batch,
      outSize,
      {},
      X,
      this.as(index, 1, outSize),
    );
  }

  scatterAdd(values: GpujsStorage, map: GatherStorage<GpujsStorage>, dims: GatherDims) {
    const { batch, inSize, outSize, maxSources } = dims;
    return this.run(
      'scatterAdd',
      KERNELS.scatterAdd,
      batch,
      inSize,
      { maxSources: Math.max(maxSources, 1) },
      this.as(values, batch, outSize),
      this.as(map.offsets, 1, inSize + 1),
      this.as(map.sources, 1, map.sources.rows * map.sources.cols),
    );
  }

  // ---- overrides: gpu.js's fused kernels, fewer texture passes than the compositions -------

  addBias(x: GpujsStorage, bias: GpujsStorage, rows: number, cols: number): GpujsStorage {
    const X = this.as(x, rows, cols);
    return this.run('addBias', KERNELS.addBias, rows, cols, {}, X, this.as(bias, 1, cols));
  }

  sumColumns(x: GpujsStorage, rows: number, cols: number): GpujsStorage {
    return this.run('sumColumns', KERNELS.sumColumns, 1, cols, { rows }, this.as(x, rows, cols));
  }

  relu(x: GpujsStorage): GpujsStorage {
    return this.run('relu', KERNELS.relu, x.rows, x.cols, {}, x.value);
  }

  reluBackward(dout: GpujsStorage, out: GpujsStorage): GpujsStorage {
    const d = this.asStorage(dout, out.rows, out.cols);
    return this.run(
      'reluBackward',
      KERNELS.reluBackward,
      out.rows,
      out.cols,
      {},
      d.value,
      out.value,
    );
  }

  sigmoid(x: GpujsStorage): GpujsStorage {
    return this.run('sigmoid', KERNELS.sigmoid, x.rows, x.cols, {}, x.value);
  }

  sigmoidBackward(dout: GpujsStorage, out: GpujsStorage): GpujsStorage {
    const d = this.asStorage(dout, out.rows, out.cols);
    return this.run(
      'sigmoidBackward',
      KERNELS.sigmoidBackward,
      out.rows,
      out.cols,
      {},
      d.value,
      out.value,
    );
  }

  softmax(x: GpujsStorage, rows: number, cols: number): GpujsStorage {
    return this.run(
      'softmax',
      KERNELS.softmax,
      rows,
      cols,
      { classes: cols },
      this.as(x, rows, cols),
    );
  }

  softmaxCrossEntropy(
    logits: GpujsStorage,
    labels: GpujsStorage,
    dims: LabelDims,
    delta: number,
  ): [GpujsStorage, GpujsStorage] {
    const { batch, classes } = dims;
    const probs = this.softmax(logits, batch, classes);
    const rows = this.run(
      'crossEntropyRows',
      KERNELS.crossEntropyRows,
      1,
      batch,
      { classes, oneHot: dims.oneHot ? 1 : 0 },
      probs.value,
      this.labels(labels, dims),
      delta,
    );
    const loss = this.run('meanOfRow', KERNELS.meanOfRow, 1, 1, { count: batch }, rows.value);
    this.free(rows);
    return [probs, loss];
  }

  softmaxCrossEntropyBackward(probs: GpujsStorage, labels: GpujsStorage, dims: LabelDims) {
    const { batch, classes } = dims;
    return this.run(
      'softmaxCrossEntropyBackward',
      KERNELS.softmaxCrossEntropyBackward,
      batch,
      classes,
      { batch, oneHot: dims.oneHot ? 1 : 0 },
      this.as(probs, batch, classes),
      this.labels(labels, dims),
    );
  }

  sgdUpdate(w: GpujsStorage, g: GpujsStorage, _size: number, learningRate: number): void {
    const grad = this.asStorage(g, w.rows, w.cols);
    const updated = this.run(
      'sgdUpdate',
      KERNELS.sgdUpdate,
      w.rows,
      w.cols,
      {},
      w.value,
      grad.value,
      learningRate,
    );
    // the new values go into the parameter's storage, which every handle on it shares
    this.release(w.value);
    w.value = updated.value;
  }

  countCorrect(scores: GpujsStorage, labels: GpujsStorage, dims: LabelDims): GpujsStorage {
    const { batch, classes } = dims;
    const rows = this.run(
      'correctRows',
      KERNELS.correctRows,
      1,
      batch,
      { classes, oneHot: dims.oneHot ? 1 : 0 },
      this.as(scores, batch, classes),
      this.labels(labels, dims),
    );
    const count = this.run('sumOfRow', KERNELS.sumOfRow, 1, 1, { count: batch }, rows.value);
    this.free(rows);
    return count;
  }

  // ---- helpers ------------------------------------------------------------------------

  /**
   * Runs a kernel for a [rows, cols] output, compiling it on first use for these shapes,
   * constants and kinds of argument (gpu.js compiles textures and arrays differently).
   */
  private run(
    name: string,
    source: string,
    rows: number,
    cols: number,
    constants: Record<string, number>,
    ...args: (GpujsStorage['value'] | number)[]
  ): GpujsStorage {
    if (this.deferred && !this.inQueue) {
      return this.runDeferred(name, source, rows, cols, constants, args);
    }
    const key = `${name}|${rows}x${cols}|${JSON.stringify(constants)}|${args.map(describeArg).join(',')}`;
    let kernel = this.compiled.get(key);
    if (!kernel) {
      const compile = this.gpu.createKernel.bind(this.gpu) as unknown as (
        source: string,
        settings: object,
      ) => IKernelRunShortcut;
      kernel = compile(source, {
        output: [cols, rows],
        constants,
        pipeline: true,
        immutable: true,
        precision: 'single',
        loopMaxIterations: 1_000_000,
        tactic: 'precision',
      });
      this.compiled.set(key, kernel);
    }
    const value = kernel(...(args as never[])) as unknown as GpujsStorage['value'];
    if (isTexture(value)) this.textures++;
    return { value, rows, cols };
  }

  /** `run` on the WebGPU engine: in the queue, once the arguments are known. */
  private runDeferred(
    name: string,
    source: string,
    rows: number,
    cols: number,
    constants: Record<string, number>,
    args: (GpujsStorage['value'] | number)[],
  ): GpujsStorage {
    this.textures++; // a buffer, once it is made
    const value = this.enqueue(async () => {
      const resolved = await Promise.all(
        args.map((a) => (typeof a !== 'number' && isPending(a) ? a : Promise.resolve(a))),
      );
      this.inQueue = true;
      try {
        return this.run(name, source, rows, cols, constants, ...(resolved as never[]))
          .value as unknown as Promise<GpuBuffer>;
      } finally {
        this.inQueue = false;
      }
    });
    return { value, rows, cols };
  }

  /** Runs `step` after everything queued before it; the queue goes on if it fails. */
  private enqueue<T>(step: () => Promise<T>): Promise<T> {
    const result = this.queue.then(step);
    this.queue = result.catch(() => {}); // the failure reaches whoever awaits `result`
    result.catch(() => {}); // and is not an unhandled rejection where nobody does
    return result;
  }

  /** The values of a queued value, flat (call inside the queue). */
  private async readPending(
    value: GpujsStorage['value'],
    rows: number,
    cols: number,
  ): Promise<Float32Array> {
    const resolved = await value;
    if (resolved instanceof Input) return Float32Array.from(inputValues(resolved));
    const read = (await (resolved as GpuBuffer).toArray()) as GpujsStorage['value'];
    return this.flat({ value: read, rows, cols });
  }

  /** The values as the [rows, cols] matrix a kernel reads (see GpujsStorage). */
  private as(data: GpujsStorage, rows: number, cols: number): GpujsStorage['value'] {
    return this.asStorage(data, rows, cols).value;
  }

  private asStorage(data: GpujsStorage, rows: number, cols: number): GpujsStorage {
    if (data.rows === rows && data.cols === cols) return data;
    if (data.value instanceof Input) {
      // the same array under another size: free
      return { value: input(inputValues(data.value), rows, cols), rows, cols };
    }
    if (!isTexture(data.value) && !isPending(data.value)) {
      return { value: input(this.flat(data), rows, cols), rows, cols };
    }
    // On the device: a kernel reads it in the new order. The copy replaces the storage's
    // value (same values, the layout this tensor is used in).
    const copy = this.run(
      'relayout',
      KERNELS.relayout,
      rows,
      cols,
      { cols, sourceCols: data.cols },
      data.value,
    );
    this.release(data.value);
    Object.assign(data, copy);
    return data;
  }

  /** Labels as the kernels read them: class indices as one row [1, batch], one-hot rows as [batch, classes]. */
  private labels(labels: GpujsStorage, { batch, classes, oneHot }: LabelDims) {
    return oneHot ? this.as(labels, batch, classes) : this.as(labels, 1, batch);
  }

  private flat(data: GpujsStorage): Float32Array {
    const value = data.value;
    if (value instanceof Input) return Float32Array.from(inputValues(value));
    const rows = (isTexture(value) ? value.toArray() : value) as unknown as
      | ArrayLike<number>[]
      | ArrayLike<number>;
    const out = new Float32Array(data.rows * data.cols);
    if (typeof (rows as ArrayLike<number>[])[0] === 'number') {
      out.set(rows as ArrayLike<number>);
    } else {
      for (const [i, row] of (rows as ArrayLike<number>[]).entries()) {
        out.set(Array.from(row).slice(0, data.cols), i * data.cols);
      }
    }
    return out;
  }

  private release(value: GpujsStorage['value']): void {
    if (isPending(value)) {
      // after every kernel queued so far, some of which may read it
      this.textures--;
      void this.enqueue(async () => {
        const resolved = await value.catch(() => null);
        if (resolved && !(resolved instanceof Input)) resolved.delete();
      });
    } else if (isTexture(value)) {
      value.delete();
      this.textures--;
    }
  }
}

/** The gpu.js backend: `await GpujsBackend.create({ engine: 'webasm' })`. */
export class GpujsBackend extends Backend<GpujsKernels> {
  static async create(options: GpujsBackendOptions = {}): Promise<GpujsBackend> {
    const engine = options.engine ?? 'auto';
    if (!GPUJS_ENGINES.includes(engine)) {
      throw new UsageError(
        `gpujs: unknown engine '${String(engine)}'; engines: ${GPUJS_ENGINES.join(', ')}`,
      );
    }
    let gpu: GPU;
    try {
      gpu = new GPU(engine === 'auto' ? {} : { mode: engine });
    } catch (error) {
      const hint =
        engine === 'headlessgl'
          ? ' (headless-gl needs the optional `gl` package built, and an X display: run under xvfb-run -a)'
          : engine === 'webgl2' || engine === 'webgl'
            ? ' (it needs a browser)'
            : '';
      const reason = (error as Error).message.split('\n')[0];
      throw new BackendError(
        `gpujs: the ${engine} engine is not available here${hint}; the webasm engine runs anywhere (gpu.js said: ${reason})`,
      );
    }
    // 'gpu' is gpu.js's word for "the best GL it found": name what that was.
    const actual =
      gpu.mode === 'gpu' || gpu.mode === undefined
        ? GPU.isHeadlessGLSupported
          ? 'headlessgl'
          : GPU.isWebGL2Supported
            ? 'webgl2'
            : 'webgl'
        : (gpu.mode as Exclude<GpujsEngine, 'auto'>);
    return new GpujsBackend(new GpujsKernels(gpu, actual));
  }
}

/** A kernel compiled for textures cannot take arrays and back: the argument kinds are part of its key. */
function describeArg(arg: GpujsStorage['value'] | number): string {
  if (typeof arg === 'number') return 'n';
  if (isPending(arg)) return 'p'; // never: deferred kernels are keyed once their arguments are known
  if (arg instanceof Input) return `i${arg.size.join('x')}`;
  return isTexture(arg)
    ? `t${(arg as { size?: number[] }).size?.join('x') ?? ''}`
    : `a${(arg as Float32Array[]).length}`;
}
