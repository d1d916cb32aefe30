/**
 * The contract between core and a backend.
 *
 * A backend owns tensors and a small set of kernels; core owns the structure of the
 * math (layers, the network, the gradient check, the optimizer) and only ever calls
 * kernels. Kernels are synchronous and return new handles, so a GPU backend can keep
 * every intermediate on the device; reading values back is explicit and asynchronous.
 */

export type DType = 'float32' | 'float64';
export type Shape = readonly number[];
export type FloatArray = Float32Array | Float64Array;

/**
 * An opaque handle to values that live in a backend. Only the backend that made it can
 * read it or compute with it. Every handle has one owner, who must `dispose` it.
 */
export interface Tensor {
  readonly shape: Shape;
  readonly dtype: DType;
}

export interface MatmulOptions {
  /** Use `aᵀ` instead of `a`. */
  transposeA?: boolean;
  /** Use `bᵀ` instead of `b`. */
  transposeB?: boolean;
}

export interface SoftmaxCrossEntropyResult {
  /** softmax(logits), shape [batch, classes]. */
  probs: Tensor;
  /** The mean cross-entropy over the batch, shape [] (a scalar). */
  loss: Tensor;
}

/**
 * Labels are either class indices, shape [batch] (integers 0 … classes-1 stored as
 * floats), or one-hot rows, shape [batch, classes]. Every kernel that takes labels
 * accepts both.
 */
export type Labels = Tensor;

export interface Backend {
  /** Short name used to pick the backend, e.g. `cpu`. */
  readonly name: string;
  readonly dtype: DType;
  /** What actually runs, for a person: engine, precision, threads. */
  readonly description: string;
  /**
   * The most rows one kernel may output, where the engine has a limit (a GPU's texture
   * size). Code that batches many rows — evaluation over a dataset — stays under it.
   */
  readonly maxRows?: number;

  // ---- data: moving values in and out, lifetime -------------------------------------
  /** A new tensor holding `values` (row-major) in this backend's dtype. Rejects NaN/Infinity. */
  tensor(values: ArrayLike<number>, shape: Shape): Tensor;
  /** A copy of the values, in the backend's dtype. */
  read(t: Tensor): Promise<FloatArray>;
  /** The same, synchronously; only backends that can offer it without stalling. */
  readSync?(t: Tensor): FloatArray;
  /** Overwrites `values.length` elements starting at flat index `offset`. */
  write(t: Tensor, values: ArrayLike<number>, offset?: number): void;
  /**
   * A new handle with t's values in another shape of the same size. Storage may be
   * shared (the CPU backend shares it; TensorFlow.js copies on write), so do not write
   * through one handle and expect the other to follow.
   */
  reshape(t: Tensor, shape: Shape): Tensor;
  /** Frees the handle. Values shared with other handles (reshape) live until the last goes. */
  dispose(t: Tensor): void;
  /** How many handles are alive: the number leak tests watch. */
  liveTensors(): number;

  // ---- kernels: each returns a new tensor the caller owns ---------------------------
  /** a·b, with either operand optionally transposed: [m,k]·[k,n] → [m,n]. */
  matmul(a: Tensor, b: Tensor, options?: MatmulOptions): Tensor;
  /** x + bias for every row: [m,n] + [n] → [m,n]. */
  addBias(x: Tensor, bias: Tensor): Tensor;
  /** The sum over rows, one value a column: [m,n] → [n] (the bias gradient). */
  sumColumns(x: Tensor): Tensor;
  /** Elementwise a + b, same shapes. */
  add(a: Tensor, b: Tensor): Tensor;
  /** Elementwise a * b, same shapes. */
  mul(a: Tensor, b: Tensor): Tensor;
  /** max(x, 0). */
  relu(x: Tensor): Tensor;
  /** dout where out > 0, else 0; `out` is relu's output (x <= 0 passes no gradient). */
  reluBackward(dout: Tensor, out: Tensor): Tensor;
  /** 1 / (1 + exp(-x)). */
  sigmoid(x: Tensor): Tensor;
  /** dout * out * (1 - out); `out` is sigmoid's output. */
  sigmoidBackward(dout: Tensor, out: Tensor): Tensor;
  /**
   * Row-wise stable softmax and the mean cross-entropy −Σ t·log(y + delta) / batch;
   * `delta` is the book's guard against log(0), 1e-7 unless given.
   */
  softmaxCrossEntropy(logits: Tensor, labels: Labels, delta?: number): SoftmaxCrossEntropyResult;
  /** (probs − t) / batch: the gradient of the mean loss with respect to the logits. */
  softmaxCrossEntropyBackward(probs: Tensor, labels: Labels): Tensor;
  /** param ← param − learningRate · grad, in place. */
  sgdUpdate(param: Tensor, grad: Tensor, learningRate: number): void;
  /** How many rows have their largest score at the label's class, shape []. */
  countCorrect(scores: Tensor, labels: Labels): Tensor;
  /** The rows of x at `indices`, in that order: [m,n] or [m] → [indices.length, n] or [indices.length]. */
  gatherRows(x: Tensor, indices: ArrayLike<number>): Tensor;
}

/** The names of the kernels, in contract order: what a conformance suite walks through. */
export const KERNEL_NAMES = [
  'matmul',
  'addBias',
  'sumColumns',
  'add',
  'mul',
  'relu',
  'reluBackward',
  'sigmoid',
  'sigmoidBackward',
  'softmaxCrossEntropy',
  'softmaxCrossEntropyBackward',
  'sgdUpdate',
  'countCorrect',
  'gatherRows',
] as const satisfies readonly (keyof Backend)[];

export type KernelName = (typeof KERNEL_NAMES)[number];

/** The epsilon inside the log of the book's `cross_entropy_error`, so log(0) never happens. */
export const CROSS_ENTROPY_DELTA = 1e-7;
