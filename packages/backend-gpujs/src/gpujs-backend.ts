import {
  addBiasShape,
  type Backend,
  BackendError,
  CROSS_ENTROPY_DELTA,
  checkClassIndices,
  checkLearningRate,
  checkReshape,
  checkSameShape,
  checkTensorValues,
  checkWrite,
  type DType,
  type FloatArray,
  gatherShape,
  type Labels,
  labelsShape,
  type MatmulOptions,
  matmulShape,
  matrixShape,
  ownTensor,
  type Shape,
  type SoftmaxCrossEntropyResult,
  sizeOf,
  type Tensor,
  UsageError,
} from '@backprop/core';
import { GPU, type IKernelRunShortcut, Input, type Texture } from 'gpu.js';
import { KERNELS, type KernelName } from './kernels.js';

/** gpu.js's engines: GLSL on headless-gl (Node), WebGL2/WebGL (browsers), its WebAssembly engine, plain JS. */
export type GpujsMode = 'auto' | 'headlessgl' | 'webgl2' | 'webgl' | 'webasm' | 'cpu';
export const GPUJS_MODES: readonly GpujsMode[] = [
  'auto',
  'headlessgl',
  'webgl2',
  'webgl',
  'webasm',
  'cpu',
];

/** Values on the device (a texture), or on the host: rows from the webasm/cpu engines, or an upload. */
type Value = Texture | Float32Array[] | Input;

class GpujsTensor implements Tensor {
  readonly dtype: DType = 'float32';
  disposed = false;
  constructor(
    readonly shape: Shape,
    /** Replaced, not mutated, by write and sgdUpdate. */
    public value: Value,
    readonly owner: GpujsBackend,
  ) {}
  /** Every tensor is a matrix to the kernels: [] → 1×1, [n] → 1×n, [a, b, c…] → a×(b·c…). */
  get rows(): number {
    return this.shape.length >= 2 ? this.shape[0] : 1;
  }
  get cols(): number {
    return this.shape.length >= 2
      ? sizeOf(this.shape) / this.shape[0]
      : this.shape.length === 1
        ? this.shape[0]
        : 1;
  }
}

export interface GpujsBackendOptions {
  /** Default `auto`: headless-gl in Node when the optional `gl` package loaded, WebGL2 in a browser, else gpu.js's WebAssembly engine. */
  mode?: GpujsMode;
}

const isTexture = (value: Value): value is Texture =>
  typeof (value as Texture).delete === 'function';
// gpu.js's typings say number[] where it takes any typed array.
const upload = (values: Float32Array, size: [number, number]) =>
  new Input(values as unknown as number[], size);
const uploaded = (input: Input) => input.value as unknown as Float32Array;

/**
 * The kernels as gpu.js kernels in pipeline mode: on a GL engine every intermediate stays a
 * texture between kernels and only what the caller reads comes back. Each kernel is
 * compiled once for its shapes and reused; a handle's dispose deletes its texture.
 * Precision is always `single` (never the lossy `unsigned` packing).
 */
export class GpujsBackend implements Backend {
  readonly name = 'gpujs';
  readonly dtype: DType = 'float32';
  readonly description: string;
  /** GL textures are at most a few thousand texels high (WebGL2 guarantees 2048; 4096 is
   * safe on everything this was run on); the CPU-side engines have no such limit. */
  readonly maxRows: number | undefined;
  private live = 0;
  private textures = 0;
  private readonly compiled = new Map<string, IKernelRunShortcut>();

  private constructor(
    private readonly gpu: GPU,
    /** The engine gpu.js actually runs. */
    readonly mode: string,
  ) {
    this.description = `gpujs: gpu.js ${mode} engine, float32 (precision single)`;
    this.maxRows = mode === 'webasm' || mode === 'cpu' ? undefined : 4096;
  }

  static create(options: GpujsBackendOptions = {}): GpujsBackend {
    const mode = options.mode ?? 'auto';
    if (!GPUJS_MODES.includes(mode)) {
      throw new UsageError(
        `gpujs: unknown mode '${String(mode)}'; modes: ${GPUJS_MODES.join(', ')}`,
      );
    }
    let gpu: GPU;
    try {
      gpu = new GPU(mode === 'auto' ? {} : { mode });
    } catch (error) {
      const hint =
        mode === 'headlessgl'
          ? ' (headless-gl needs the optional `gl` package built, and an X display: run under xvfb-run -a)'
          : mode === 'webgl2' || mode === 'webgl'
            ? ' (it needs a browser)'
            : '';
      const reason = (error as Error).message.split('\n')[0];
      throw new BackendError(
        `gpujs: the ${mode} mode is not available here${hint}; try gpujs-webasm (gpu.js said: ${reason})`,
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
        : gpu.mode;
    return new GpujsBackend(gpu, actual);
  }

  /** Textures alive now: what must stay flat over training. */
  liveTextures(): number {
    return this.textures;
  }

  /** Kernels compiled so far (one per kernel and shapes). */
  compiledKernels(): number {
    return this.compiled.size;
  }

  // ---- data ---------------------------------------------------------------------------

  tensor(values: ArrayLike<number>, shape: Shape): Tensor {
    checkTensorValues(values, shape);
    return this.wrapHost(Float32Array.from(values), shape);
  }

  async read(t: Tensor): Promise<FloatArray> {
    return this.readSync(t);
  }

  readSync(t: Tensor): FloatArray {
    return this.flat(this.own(t, 'read'));
  }

  write(t: Tensor, values: ArrayLike<number>, offset = 0): void {
    const target = this.own(t, 'write');
    checkWrite(t, values, offset);
    const data = this.flat(target);
    data.set(values, offset);
    this.release(target.value);
    target.value = upload(data, [target.cols, target.rows]);
  }

  reshape(t: Tensor, shape: Shape): Tensor {
    const source = this.own(t, 'reshape');
    checkReshape(t, shape);
    // A texture's layout is its shape's; a reshape gets its own copy of the values.
    return this.wrapHost(this.flat(source), shape);
  }

  dispose(t: Tensor): void {
    const tensor = this.own(t, 'dispose', true);
    if (tensor.disposed) return;
    tensor.disposed = true;
    this.live--;
    this.release(tensor.value);
  }

  liveTensors(): number {
    return this.live;
  }

  // ---- kernels ------------------------------------------------------------------------

  matmul(a: Tensor, b: Tensor, options: MatmulOptions = {}): Tensor {
    const [x, y] = [this.own(a, 'matmul'), this.own(b, 'matmul')];
    const { m, k, n } = matmulShape(a, b, options);
    const name: KernelName =
      `matmul${options.transposeA ? 'T' : 'N'}${options.transposeB ? 'T' : 'N'}` as KernelName;
    return this.run(name, [m, n], { k }, x.value, y.value);
  }

  addBias(x: Tensor, bias: Tensor): Tensor {
    const [input, b] = [this.own(x, 'addBias'), this.own(bias, 'addBias')];
    const { m, n } = addBiasShape(x, bias);
    return this.run('addBias', [m, n], {}, input.value, b.value);
  }

  sumColumns(x: Tensor): Tensor {
    const input = this.own(x, 'sumColumns');
    const [m, n] = matrixShape('sumColumns', x);
    return this.run('sumColumns', [n], { rows: m }, input.value);
  }

  add(a: Tensor, b: Tensor): Tensor {
    const [x, y] = this.sameShape('add', a, b);
    return this.run('add', a.shape, {}, x.value, y.value);
  }

  mul(a: Tensor, b: Tensor): Tensor {
    const [x, y] = this.sameShape('mul', a, b);
    return this.run('mul', a.shape, {}, x.value, y.value);
  }

  relu(x: Tensor): Tensor {
    return this.run('relu', x.shape, {}, this.own(x, 'relu').value);
  }

  reluBackward(dout: Tensor, out: Tensor): Tensor {
    const [d, y] = this.sameShape('reluBackward', dout, out, ['dout', 'out']);
    return this.run('reluBackward', dout.shape, {}, d.value, y.value);
  }

  sigmoid(x: Tensor): Tensor {
    return this.run('sigmoid', x.shape, {}, this.own(x, 'sigmoid').value);
  }

  sigmoidBackward(dout: Tensor, out: Tensor): Tensor {
    const [d, y] = this.sameShape('sigmoidBackward', dout, out, ['dout', 'out']);
    return this.run('sigmoidBackward', dout.shape, {}, d.value, y.value);
  }

  softmaxCrossEntropy(
    logits: Tensor,
    labels: Labels,
    delta = CROSS_ENTROPY_DELTA,
  ): SoftmaxCrossEntropyResult {
    const x = this.own(logits, 'softmaxCrossEntropy');
    const { batch, classes, oneHot, t } = this.labels('softmaxCrossEntropy', logits, labels);
    const probs = this.run('softmax', [batch, classes], { classes }, x.value) as GpujsTensor;
    const rows = this.run(
      'crossEntropyRows',
      [batch],
      { classes, oneHot },
      probs.value,
      t.value,
      delta,
    ) as GpujsTensor;
    const loss = this.run('meanOfRow', [], { count: batch }, rows.value);
    this.dispose(rows);
    return { probs, loss };
  }

  softmaxCrossEntropyBackward(probs: Tensor, labels: Labels): Tensor {
    const y = this.own(probs, 'softmaxCrossEntropyBackward');
    const { batch, classes, oneHot, t } = this.labels('softmaxCrossEntropyBackward', probs, labels);
    return this.run(
      'softmaxCrossEntropyBackward',
      [batch, classes],
      { batch, oneHot },
      y.value,
      t.value,
    );
  }

  sgdUpdate(param: Tensor, grad: Tensor, learningRate: number): void {
    const [w, g] = this.sameShape('sgdUpdate', param, grad, ['param', 'grad']);
    checkLearningRate(learningRate);
    const updated = this.run(
      'sgdUpdate',
      param.shape,
      {},
      w.value,
      g.value,
      learningRate,
    ) as GpujsTensor;
    // Swap the new values into the parameter's handle; the updated handle goes away empty.
    this.release(w.value);
    w.value = updated.value;
    updated.disposed = true;
    this.live--;
  }

  countCorrect(scores: Tensor, labels: Labels): Tensor {
    const s = this.own(scores, 'countCorrect');
    const { batch, classes, oneHot, t } = this.labels('countCorrect', scores, labels);
    const rows = this.run(
      'correctRows',
      [batch],
      { classes, oneHot },
      s.value,
      t.value,
    ) as GpujsTensor;
    const count = this.run('sumOfRow', [], { count: batch }, rows.value);
    this.dispose(rows);
    return count;
  }

  gatherRows(x: Tensor, indices: ArrayLike<number>): Tensor {
    const source = this.own(x, 'gatherRows');
    const shape = gatherShape(x, indices);
    if (source.value instanceof Input) {
      // Data kept on the host (a dataset): copy the rows there, upload only the batch.
      const width = source.shape.length === 2 ? source.shape[1] : 1;
      const from = uploaded(source.value);
      const out = new Float32Array(indices.length * width);
      for (let i = 0; i < indices.length; i++)
        out.set(from.subarray(indices[i] * width, (indices[i] + 1) * width), i * width);
      return this.wrapHost(out, shape);
    }
    const rows = upload(Float32Array.from(indices), [indices.length, 1]);
    const vector = source.shape.length === 1;
    return this.run(
      'gatherRows',
      vector ? [indices.length] : shape,
      {},
      vector ? this.asColumn(source) : source.value,
      rows,
    );
  }

  // ---- helpers ------------------------------------------------------------------------

  /**
   * Runs kernel `name` for an output of `shape`, compiling it on first use for these
   * shapes and constants.
   */
  private run(
    name: KernelName,
    shape: Shape,
    constants: Record<string, number>,
    ...args: (Value | number)[]
  ): Tensor {
    const [rows, cols] =
      shape.length >= 2
        ? [shape[0], sizeOf(shape) / shape[0]]
        : [1, shape.length === 1 ? shape[0] : 1];
    const key = `${name}|${rows}x${cols}|${JSON.stringify(constants)}|${args.map(describeArg).join(',')}`;
    let kernel = this.compiled.get(key);
    if (!kernel) {
      const compile = this.gpu.createKernel.bind(this.gpu) as unknown as (
        source: string,
        settings: object,
      ) => IKernelRunShortcut;
      kernel = compile(KERNELS[name], {
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
    const value = kernel(...(args as never[])) as unknown as Value;
    if (isTexture(value)) this.textures++;
    this.live++;
    return new GpujsTensor([...shape], value, this);
  }

  private asColumn(t: GpujsTensor): Value {
    return upload(this.flat(t), [1, t.cols]);
  }

  private labels(kernel: string, scores: Tensor, labels: Labels) {
    const t = this.own(labels, kernel);
    const { batch, classes, oneHot } = labelsShape(kernel, scores, labels);
    // Labels stay on the host (uploads and gathered rows), so checking them costs no readback.
    if (!oneHot) checkClassIndices(kernel, this.flat(t), classes);
    return { batch, classes, oneHot: oneHot ? 1 : 0, t };
  }

  private flat(t: GpujsTensor): Float32Array {
    const value = t.value;
    if (value instanceof Input) return Float32Array.from(uploaded(value));
    const rows = (isTexture(value) ? value.toArray() : value) as unknown as
      | ArrayLike<number>[]
      | ArrayLike<number>;
    const out = new Float32Array(sizeOf(t.shape));
    if (typeof (rows as ArrayLike<number>[])[0] === 'number') {
      out.set(rows as ArrayLike<number>);
    } else {
      for (const [i, row] of (rows as ArrayLike<number>[]).entries()) {
        out.set(Array.from(row).slice(0, t.cols), i * t.cols);
      }
    }
    return out;
  }

  private wrapHost(values: Float32Array, shape: Shape): GpujsTensor {
    this.live++;
    const t = new GpujsTensor([...shape], values as unknown as Value, this);
    t.value = upload(values, [t.cols, t.rows]);
    return t;
  }

  private release(value: Value): void {
    if (isTexture(value)) {
      value.delete();
      this.textures--;
    }
  }

  private sameShape(
    kernel: string,
    a: Tensor,
    b: Tensor,
    names = ['a', 'b'],
  ): [GpujsTensor, GpujsTensor] {
    const pair: [GpujsTensor, GpujsTensor] = [this.own(a, kernel), this.own(b, kernel)];
    checkSameShape(kernel, a, b, names);
    return pair;
  }

  private own(t: Tensor, kernel: string, allowDisposed = false): GpujsTensor {
    const own = ownTensor(
      t,
      kernel,
      'gpujs',
      (x): x is GpujsTensor => x instanceof GpujsTensor && x.owner === this,
      allowDisposed,
    );
    return own;
  }
}

/** A kernel compiled for textures cannot take arrays and back: the argument kinds are part of its key. */
function describeArg(arg: Value | number): string {
  if (typeof arg === 'number') return 'n';
  if (arg instanceof Input) return `i${arg.size.join('x')}`;
  return isTexture(arg)
    ? `t${(arg as { size?: number[] }).size?.join('x') ?? ''}`
    : `a${(arg as Float32Array[]).length}`;
}
