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
  toArray(): Promise<ArrayLike<number>>;
  delete(): void;
}

/**
 * A tensor's values, flat (see kernels.ts): on the device (a texture), or on the host (an
 * upload, or what the webasm and cpu engines compute).
 */
export interface GpujsStorage {
  /** On the WebGPU engine, a promise: its kernels answer asynchronously (see `deferred`). */
  value: Texture | Input | Float32Array | Promise<GpuBuffer | Input>;
  size: number;
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
const input = (values: Float32Array) => new Input(values as unknown as number[], [values.length]);
const inputValues = (value: Input) => value.value as unknown as Float32Array;

/** Values a whole-tensor reduction's first stage sums (or maxes) in one thread. */
const REDUCE_CHUNK = 1024;

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
  /**
   * Kernels find a value by a flat index computed in float32, exact for whole numbers up
   * to 2^24: a tensor holds at most that many values.
   */
  readonly maxValues = 2 ** 24;
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
    this.deferred = engine === 'webgpu';
    if (!this.deferred) this.downloadSync = (data, size) => this.flat(data).slice(0, size);
  }

  /** Textures alive now (what must stay flat over training), and kernels compiled (one per kernel and shapes). */
  resources(): Record<string, number> {
    return { textures: this.textures, compiledKernels: this.compiled.size };
  }

  // ---- storage -------------------------------------------------------------------------

  /** Kept on the host until a kernel needs it. */
  upload(values: ArrayLike<number>): GpujsStorage {
    const data = Float32Array.from(values);
    return { value: input(data), size: data.length };
  }

  async download(data: GpujsStorage, size: number): Promise<FloatArray> {
    if (!this.deferred) return this.flat(data).slice(0, size);
    const value = data.value;
    return (await this.enqueue(() => this.readPending(value))).slice(0, size);
  }

  write(data: GpujsStorage, values: ArrayLike<number>, offset: number): void {
    const old = data.value;
    if (this.deferred) {
      data.value = this.enqueue(async () => {
        const updated = await this.readPending(old);
        updated.set(values, offset);
        return input(updated);
      });
    } else {
      const updated = Float32Array.from(this.flat(data));
      updated.set(values, offset);
      data.value = input(updated);
    }
    this.release(old);
  }

  free(data: GpujsStorage): void {
    this.release(data.value);
  }

  // ---- primitives ----------------------------------------------------------------------

  matmul(a: GpujsStorage, b: GpujsStorage, { m, k, n, transposeA, transposeB }: MatmulDims) {
    const name = `matmul${transposeA ? 'T' : 'N'}${transposeB ? 'T' : 'N'}` as KernelName;
    return this.run(name, KERNELS[name], m * n, { m, k, n }, a.value, b.value);
  }

  unary(op: UnaryOp, x: GpujsStorage, size: number): GpujsStorage {
    return this.run(`unary-${op}`, unarySource(op), size, {}, x.value);
  }

  binary(op: BinaryOp, a: GpujsStorage, b: GpujsStorage, layout: Broadcast): GpujsStorage {
    const { rows, cols, aRows, aCols, bRows, bCols } = layout;
    // A stride of 0 repeats an operand along that axis (numpy's broadcast).
    const strides = {
      cols,
      aRow: aRows === 1 ? 0 : aCols,
      aCol: aCols === 1 ? 0 : 1,
      bRow: bRows === 1 ? 0 : bCols,
      bCol: bCols === 1 ? 0 : 1,
    };
    return this.run(`binary-${op}`, binarySource(op), rows * cols, strides, a.value, b.value);
  }

  reduce(op: ReduceOp, x: GpujsStorage, rows: number, cols: number, axis: 0 | 1): GpujsStorage {
    const size = rows * cols;
    if (rows === 1 && cols > REDUCE_CHUNK && op !== 'argmax') {
      // Every value of a tensor: chunks first (one thread each), then the chunks' results.
      const partial = this.reduceBy(
        op,
        x,
        Math.ceil(cols / REDUCE_CHUNK),
        REDUCE_CHUNK,
        REDUCE_CHUNK,
        1,
        size,
      );
      const total = this.reduce(op, partial, 1, partial.size, 1);
      this.free(partial);
      return total;
    }
    return axis === 0
      ? this.reduceBy(op, x, cols, rows, 1, cols, size) // down each column
      : this.reduceBy(op, x, rows, cols, cols, 1, size); // along each row
  }

  gatherRows(x: GpujsStorage, indices: Int32Array, width: number): GpujsStorage {
    const count = indices.length;
    if (x.value instanceof Input) {
      // Data kept on the host (a dataset): copy the rows there, upload only the batch.
      const from = inputValues(x.value);
      const out = new Float32Array(count * width);
      for (let i = 0; i < count; i++)
        out.set(from.subarray(indices[i] * width, (indices[i] + 1) * width), i * width);
      return { value: input(out), size: out.length };
    }
    if (x.size > this.maxValues) {
      // Only an upload can be this large, and it is an Input until a write on the WebGPU
      // engine makes it a promise: its rows cannot be found by a float32 index.
      throw new UsageError(
        `gatherRows: this tensor of ${x.size} values was written to after its upload; upload the changed values again (backend.tensor) to take rows from it`,
      );
    }
    const rows = input(Float32Array.from(indices));
    return this.run('gatherRows', KERNELS.gatherRows, count * width, { width }, x.value, rows);
  }

  gather(x: GpujsStorage, { index }: GatherStorage<GpujsStorage>, dims: GatherDims) {
    const { batch, inSize, outSize } = dims;
    return this.run(
      'gatherByMap',
      KERNELS.gatherByMap,
      batch * outSize,
      { inSize, outSize },
      x.value,
      index.value,
    );
  }

  scatterAdd(values: GpujsStorage, map: GatherStorage<GpujsStorage>, dims: GatherDims) {
    const { batch, inSize, outSize, maxSources } = dims;
    return this.run(
      'scatterAdd',
      KERNELS.scatterAdd,
      batch * inSize,
      { inSize, outSize, maxSources: Math.max(maxSources, 1) },
      values.value,
      map.offsets.value,
      map.sources.value,
    );
  }

  // ---- overrides: gpu.js's fused kernels, fewer texture passes than the compositions -------

  addBias(x: GpujsStorage, bias: GpujsStorage, rows: number, cols: number): GpujsStorage {
    return this.run('addBias', KERNELS.addBias, rows * cols, { cols }, x.value, bias.value);
  }

  sumColumns(x: GpujsStorage, rows: number, cols: number): GpujsStorage {
    return this.run('sumColumns', KERNELS.sumColumns, cols, { rows, cols }, x.value);
  }

  relu(x: GpujsStorage, size: number): GpujsStorage {
    return this.run('relu', KERNELS.relu, size, {}, x.value);
  }

  reluBackward(dout: GpujsStorage, out: GpujsStorage, size: number): GpujsStorage {
    return this.run('reluBackward', KERNELS.reluBackward, size, {}, dout.value, out.value);
  }

  sigmoid(x: GpujsStorage, size: number): GpujsStorage {
    return this.run('sigmoid', KERNELS.sigmoid, size, {}, x.value);
  }

  sigmoidBackward(dout: GpujsStorage, out: GpujsStorage, size: number): GpujsStorage {
    return this.run('sigmoidBackward', KERNELS.sigmoidBackward, size, {}, dout.value, out.value);
  }

  softmax(x: GpujsStorage, rows: number, cols: number): GpujsStorage {
    return this.run('softmax', KERNELS.softmax, rows * cols, { classes: cols }, x.value);
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
      batch,
      { classes, oneHot: dims.oneHot ? 1 : 0 },
      probs.value,
      labels.value,
      delta,
    );
    const loss = this.sumAll(rows, 1 / batch);
    this.free(rows);
    return [probs, loss];
  }

  softmaxCrossEntropyBackward(probs: GpujsStorage, labels: GpujsStorage, dims: LabelDims) {
    const { batch, classes } = dims;
    return this.run(
      'softmaxCrossEntropyBackward',
      KERNELS.softmaxCrossEntropyBackward,
      batch * classes,
      { batch, classes, oneHot: dims.oneHot ? 1 : 0 },
      probs.value,
      labels.value,
    );
  }

  sgdUpdate(w: GpujsStorage, g: GpujsStorage, size: number, learningRate: number): void {
    const updated = this.run(
      'sgdUpdate',
      KERNELS.sgdUpdate,
      size,
      {},
      w.value,
      g.value,
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
      batch,
      { classes, oneHot: dims.oneHot ? 1 : 0 },
      scores.value,
      labels.value,
    );
    const count = this.sumAll(rows, 1);
    this.free(rows);
    return count;
  }

  // ---- helpers ------------------------------------------------------------------------

  /** `outputs` results, each over `count` values from `o·outerStride`, `innerStride` apart. */
  private reduceBy(
    op: ReduceOp,
    x: GpujsStorage,
    outputs: number,
    count: number,
    outerStride: number,
    innerStride: number,
    size: number,
  ): GpujsStorage {
    const constants = { count, outerStride, innerStride, size };
    return this.run(`reduce-${op}`, reduceSource(op), outputs, constants, x.value);
  }

  /** The sum of `values` (all of them) times `scale`, as a one-value tensor. */
  private sumAll(values: GpujsStorage, scale: number): GpujsStorage {
    return this.run('sumAll', KERNELS.sumAll, 1, { count: values.size, scale }, values.value);
  }

  /**
   * Runs a kernel for `size` outputs, compiling it on first use for these sizes, constants
   * and kinds of argument (gpu.js compiles textures and arrays differently).
   */
  private run(
    name: string,
    source: string,
    size: number,
    constants: Record<string, number>,
    ...args: (GpujsStorage['value'] | number)[]
  ): GpujsStorage {
    if (this.deferred && !this.inQueue) {
      return this.runDeferred(name, source, size, constants, args);
    }
    const key = `${name}|${size}|${JSON.stringify(constants)}|${args.map(describeArg).join(',')}`;
    let kernel = this.compiled.get(key);
    if (!kernel) {
      const compile = this.gpu.createKernel.bind(this.gpu) as unknown as (
        source: string,
        settings: object,
      ) => IKernelRunShortcut;
      kernel = compile(source, {
        output: [size],
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
    return { value, size };
  }

  /** `run` on the WebGPU engine: in the queue, once the arguments are known. */
  private runDeferred(
    name: string,
    source: string,
    size: number,
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
        return this.run(name, source, size, constants, ...(resolved as never[]))
          .value as unknown as Promise<GpuBuffer>;
      } finally {
        this.inQueue = false;
      }
    });
    return { value, size };
  }

  /** Runs `step` after everything queued before it; the queue goes on if it fails. */
  private enqueue<T>(step: () => Promise<T>): Promise<T> {
    const result = this.queue.then(step);
    this.queue = result.catch(() => {}); // the failure reaches whoever awaits `result`
    result.catch(() => {}); // and is not an unhandled rejection where nobody does
    return result;
  }

  /** The values of a queued value (call inside the queue). */
  private async readPending(value: GpujsStorage['value']): Promise<Float32Array> {
    const resolved = await value;
    if (resolved instanceof Input) return Float32Array.from(inputValues(resolved));
    return Float32Array.from(await (resolved as GpuBuffer).toArray());
  }

  private flat(data: GpujsStorage): Float32Array {
    const value = data.value;
    if (value instanceof Input) return Float32Array.from(inputValues(value));
    const values = (isTexture(value) ? value.toArray() : value) as unknown as ArrayLike<number>;
    return Float32Array.from(values as ArrayLike<number>).subarray(0, data.size);
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
    refuseUnknownKeys('GpujsBackend.create options', options, ['engine']);
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
    : `a${(arg as Float32Array).length}`;
}
