/**
 * The contract a backend implements: storage for tensor values, and kernels over that
 * storage. This file is the whole of it.
 *
 * Core's `Backend` does everything else — handles, lifetimes, live counts, reshape,
 * every shape and label check — before a kernel sees a call, so a kernel can trust its
 * arguments: the sizes fit, the storage is alive, class indices are in range. A backend
 * holds no check code.
 *
 * `S` is the backend's own storage type: a typed array, a block of wasm memory, a GPU
 * buffer, a TensorFlow.js tensor. Every kernel returns new storage that core then owns
 * (and frees through `free`), except the in-place updates, which say so.
 */

export type DType = 'float32' | 'float64';
export type Shape = readonly number[];
export type FloatArray = Float32Array | Float64Array;

/** Element-wise functions of one value. */
export const UNARY_OPS = ['neg', 'exp', 'log', 'sqrt'] as const;
export type UnaryOp = (typeof UNARY_OPS)[number];

/**
 * Element-wise functions of two values. `greater` and `equal` give 1 where true and 0
 * where false, so multiplying by them selects (ReLU's backward is dout · (out > 0)).
 */
export const BINARY_OPS = ['add', 'sub', 'mul', 'div', 'maximum', 'greater', 'equal'] as const;
export type BinaryOp = (typeof BINARY_OPS)[number];

/** Reductions along one axis. `argmax` gives the index of the first largest value, as a number. */
export const REDUCE_OPS = ['sum', 'max', 'argmax'] as const;
export type ReduceOp = (typeof REDUCE_OPS)[number];

/**
 * How the two operands of a binary kernel line up with its [rows, cols] output, as numpy
 * broadcasts: each operand is [aRows, aCols] with aRows either `rows` or 1 and aCols
 * either `cols` or 1. A 1 repeats that operand along the axis: [rows, cols] + [1, cols]
 * adds a bias to every row; [1, 1] is a scalar.
 */
export interface Broadcast {
  rows: number;
  cols: number;
  aRows: number;
  aCols: number;
  bRows: number;
  bCols: number;
}

/** op(a)·op(b) = [m,k]·[k,n]; a is stored [k,m] when transposeA, b [n,k] when transposeB. */
export interface MatmulDims {
  m: number;
  k: number;
  n: number;
  transposeA: boolean;
  transposeB: boolean;
}

/**
 * A gather map as a kernel sees it, per sample: output value i of a sample is input value
 * `index[i]` of the same sample (0 where it is −1). The inverse, for the adjoint: the
 * output positions that read input value j are `sources[offsets[j]]` up to (not
 * including) `sources[offsets[j + 1]]`, ascending. All three hold whole numbers stored as
 * floats (exact below 2^24, which core checks when it makes a map).
 */
export interface GatherStorage<S> {
  index: S;
  offsets: S;
  sources: S;
}

/** The sizes of a gather: `batch` samples of `inSize` values in, of `outSize` values out. */
export interface GatherDims {
  batch: number;
  inSize: number;
  outSize: number;
  /** The most output positions that read one input value (the longest run of `sources`). */
  maxSources: number;
  /**
   * Set where the map only transposes each sample, read as a [rows, cols] matrix, to
   * [cols, rows]: a `permute` that moves a block of trailing axes to the front (a
   * convolution's NHWC → NCHW and back). A backend may transpose instead of reading the
   * index; the result must be the same.
   */
  transpose?: { rows: number; cols: number };
}

/** A window over a batch of images [N, C, H, W] (a filter, a pooling window) and the output's size, as a kernel sees it. */
export interface WindowDims {
  batch: number;
  channels: number;
  height: number;
  width: number;
  windowHeight: number;
  windowWidth: number;
  stride: number;
  pad: number;
  /** (height + 2·pad − windowHeight) / stride + 1, rounded down, as the book's. */
  outHeight: number;
  outWidth: number;
}

/** Labels as a kernel sees them: class indices [batch] (oneHot false) or one-hot rows [batch, classes]. */
export interface LabelDims {
  batch: number;
  classes: number;
  oneHot: boolean;
}

/**
 * One Adam step's numbers (6.1.6): `learningRate` is the book's lr_t, the rate with both
 * moments' bias corrections folded in for this iteration; epsilon keeps √v + ε above 0.
 */
export interface AdamStep {
  learningRate: number;
  beta1: number;
  beta2: number;
  epsilon: number;
}

export interface KernelBackend<S = unknown> {
  /** The name that creates it in the registry and that a run records, e.g. `wasm`, `tfjs-wasm`. */
  readonly name: string;
  readonly dtype: DType;
  /** What actually runs, for a person: engine, precision, threads. */
  readonly description: string;
  /**
   * The most values a kernel may compute or read in one tensor, where the engine has a
   * limit (gpu.js finds a value by a flat index computed in float32). Core refuses a larger
   * result, and evaluation sizes its chunks under it. An upload may be larger (a dataset):
   * core lets only `gatherRows` read it, which must then take whole rows exactly.
   */
  readonly maxValues?: number;

  // ---- storage -------------------------------------------------------------------------
  /**
   * New storage holding a copy of `values` (finite, representable in the dtype, checked)
   * for a tensor of `shape` (a backend that lays values out in 2-D uses it; most ignore it).
   */
  upload(values: ArrayLike<number>, shape: Shape): S;
  /** A copy of the first `size` values, in the backend's dtype: never a view of the storage. */
  download(data: S, size: number): Promise<FloatArray>;
  /** The same, synchronously, where the backend can do it without stalling a device. */
  downloadSync?(data: S, size: number): FloatArray;
  /** Overwrites values starting at flat index `offset` (in range, checked). */
  write(data: S, values: ArrayLike<number>, offset: number): void;
  /** Frees storage; core calls it once, when the last handle on it goes. */
  free(data: S): void;
  /** Counts of the backend's own resources (textures, bytes, buffers) that leak tests watch. */
  resources?(): Record<string, number>;
  /** Ends whatever the backend started (workers, a device). No call follows it. */
  close?(): void;

  // ---- primitive kernels: every backend has these ------------------------------------
  matmul(a: S, b: S, dims: MatmulDims): S;
  /** op(x) for `size` values. */
  unary(op: UnaryOp, x: S, size: number): S;
  /** op(a, b) for a [rows, cols] output, each operand broadcast as `layout` says. */
  binary(op: BinaryOp, a: S, b: S, layout: Broadcast): S;
  /** op over axis 0 (down each column: `cols` values) or axis 1 (along each row: `rows` values) of x [rows, cols]. */
  reduce(op: ReduceOp, x: S, rows: number, cols: number, axis: 0 | 1): S;
  /** The rows of x (each `width` values) at `indices`, one after another. */
  gatherRows(x: S, indices: Int32Array, width: number): S;
  /**
   * out[b, i] = x[b, index[i]], or 0 where index[i] is −1, for each of `batch` samples:
   * im2col, a permutation of axes, padding — any rearrangement of a sample's values.
   */
  gather(x: S, map: GatherStorage<S>, dims: GatherDims): S;
  /**
   * gather's adjoint: out[b, j] = Σ values[b, i] over the positions i that read j
   * (`sources` from `offsets[j]` to `offsets[j + 1]`, in that order): col2im, and the
   * backward of every gather. Summed in that order, so every backend adds the same terms.
   */
  scatterAdd(values: S, map: GatherStorage<S>, dims: GatherDims): S;

  // ---- composed kernels: core builds these from the primitives; a backend may override
  // any of them where it is faster, and the conformance suite checks each override against
  // the composition. Shapes are as the same-named methods of `Backend` take them.
  addBias?(x: S, bias: S, rows: number, cols: number): S;
  sumColumns?(x: S, rows: number, cols: number): S;
  relu?(x: S, size: number): S;
  reluBackward?(dout: S, out: S, size: number): S;
  sigmoid?(x: S, size: number): S;
  sigmoidBackward?(dout: S, out: S, size: number): S;
  softmax?(x: S, rows: number, cols: number): S;
  /** softmax and the mean −Σ t·log(y + delta) / batch, as [probs, loss ([] scalar)]. */
  softmaxCrossEntropy?(logits: S, labels: S, dims: LabelDims, delta: number): [probs: S, loss: S];
  softmaxCrossEntropyBackward?(probs: S, labels: S, dims: LabelDims): S;
  /** param ← param − learningRate · grad, in place. */
  sgdUpdate?(param: S, grad: S, size: number, learningRate: number): void;
  /**
   * Adam's update, in place, in this order and rounding (core's composition):
   * m ← m + (g − m)·(1 − β1); v ← v + (g·g − v)·(1 − β2); param ← param − m·lr / (√v + ε).
   */
  adamUpdate?(param: S, grad: S, m: S, v: S, size: number, step: AdamStep): void;
  /** How many rows have their largest score at the label's class, as a [] scalar. */
  countCorrect?(scores: S, labels: S, dims: LabelDims): S;
  /** Images [N, C, H, W] as [N·OH·OW, C·FH·FW], one window position a row (7.4.3). */
  im2col?(x: S, dims: WindowDims): S;
  /** im2col's adjoint: [N·OH·OW, C·FH·FW] added back into images [N, C, H, W]. */
  col2im?(col: S, dims: WindowDims): S;
  /**
   * A convolution's forward: images x [N, C, H, W], filters w [FN, C, FH, FW], bias [FN]
   * to [N, FN, OH, OW]. May return undefined for a window it has no kernel for (a stride
   * other than 1, say): core then composes it.
   */
  convolution?(x: S, w: S, bias: S, dims: WindowDims, filters: number): S | undefined;
  /**
   * A convolution's parameter gradients from its input x [N, C, H, W] and dout
   * [N, FN, OH, OW]: dW [FN, C, FH, FW] and db [FN]; undefined to leave it to core.
   */
  convolutionGradients?(
    x: S,
    dout: S,
    dims: WindowDims,
    filters: number,
  ): [dW: S, db: S] | undefined;
  /** Each window's max [N, C, OH, OW] and its position in the window [N·C·OH·OW] (the first of equal maxima). */
  maxPool?(x: S, dims: WindowDims): [out: S, argmax: S];
  /** dout [N, C, OH, OW] to each window's max position, 0 elsewhere: images [N, C, H, W]. */
  maxPoolBackward?(dout: S, argmax: S, dims: WindowDims): S;
  /** γ·(x − mean)/√(variance + epsilon) + β on x [rows, cols], one mean, variance, γ, β a column. */
  batchNormalize?(
    x: S,
    mean: S,
    variance: S,
    gamma: S,
    beta: S,
    rows: number,
    cols: number,
    epsilon: number,
  ): S;
}

/** The kernels core composes from the primitives, which a backend may override. */
export const COMPOSED_KERNELS = [
  'addBias',
  'sumColumns',
  'relu',
  'reluBackward',
  'sigmoid',
  'sigmoidBackward',
  'softmax',
  'softmaxCrossEntropy',
  'softmaxCrossEntropyBackward',
  'sgdUpdate',
  'adamUpdate',
  'countCorrect',
  'im2col',
  'col2im',
  'convolution',
  'convolutionGradients',
  'maxPool',
  'maxPoolBackward',
  'batchNormalize',
] as const satisfies readonly (keyof KernelBackend)[];
export type ComposedKernel = (typeof COMPOSED_KERNELS)[number];

/** The epsilon inside the log of the book's `cross_entropy_error`, so log(0) never happens. */
export const CROSS_ENTROPY_DELTA = 1e-7;
