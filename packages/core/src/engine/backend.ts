/**
 * `Backend`: what layers, networks and optimizers call. It wraps a `KernelBackend` (the
 * storage and kernels of one engine, see contract.ts) and does, in one place, everything
 * every backend would otherwise repeat: it makes and counts the handles, refuses a
 * disposed or foreign one, checks every shape and label before a kernel sees it, shares
 * storage between a tensor and its reshapes, and runs each composed kernel as the
 * backend's own override where it has one, or as core's composition of primitives.
 *
 * Kernels are synchronous and return new handles the caller owns, so a GPU backend keeps
 * every intermediate on the device; reading values back is explicit (`await read(t)`).
 */
import {
  type AdamStep,
  type BinaryOp,
  CROSS_ENTROPY_DELTA,
  type DType,
  type FloatArray,
  type GatherDims,
  type GatherStorage,
  type KernelBackend,
  type LabelDims,
  type ReduceOp,
  type Shape,
  type UnaryOp,
  type WindowDims,
} from './contract.js';
import { dispatch, type Engine } from './dispatch.js';
import { BackendError, ShapeError, TensorStateError, ValueError } from './errors.js';
import { GatherMap, type GatherTables, gatherTables } from './gather-map.js';
import { MapCache } from './map-cache.js';
import { type NestedNumbers, nest, SUMMARY_THRESHOLD } from './print.js';
import {
  broadcastShapes,
  checkClassIndices,
  checkReshape,
  checkSameShape,
  checkTensorValues,
  checkWrite,
  formatShape,
  gatherShape,
  labelsShape,
  type MatmulOptions,
  matmulShape,
  reduceShape,
  sizeOf,
} from './shapes.js';
import { Tensor, type TensorStore, type ValueFacts } from './tensor.js';
import {
  type FilterStep,
  im2colIndex,
  permuteIndex,
  poolIndex,
  transposeOf,
  type Window,
} from './window.js';

export type { MatmulOptions } from './shapes.js';

/** Labels: class indices [batch] (whole numbers stored as floats) or one-hot rows [batch, classes]. */
export type Labels = Tensor;

/**
 * What may touch a tensor larger than the backend's maxValues (only an upload can be one):
 * reading, writing and reshaping it, and gatherRows, which the backend answers with whole
 * rows (gpu.js copies them on the host), so a dataset of any size trains.
 */
const ANY_SIZE = new Set([
  'read',
  'item',
  'readSync',
  'print',
  'write',
  'reshape',
  'dispose',
  'gatherRows',
]);

/** The maps the window kernels compose from, kept by shape (layers repeat a few shapes). */
const CACHED_MAPS = 64;

export interface MaxPoolResult {
  /** The largest value of each window, [N, C, OH, OW]. */
  out: Tensor;
  /** Where in its window each maximum was (the first of equal ones), [N·C·OH·OW]: backward routes there. */
  argmax: Tensor;
}

/** A convolution's output, and what its composition built on the way (`Backend.convolution`). */
export interface ConvolutionResult {
  /** [N, FN, OH, OW]. */
  out: Tensor;
  /**
   * The input's im2col rows [N·OH·OW, C·FH·FW] where the convolution was composed (the
   * book's `self.col`): hand them to `convolutionGradients`, which then need not gather
   * them again. `null` where the backend convolved straight from the images.
   */
  col: Tensor | null;
}

/** A convolution's parameter gradients (`Backend.convolutionGradients`). */
export interface ConvolutionGradients {
  /** The filters', [FN, C, FH, FW]. */
  dW: Tensor;
  /** The bias's, [FN]: dout summed over the batch and the output's height and width. */
  db: Tensor;
}

export interface SoftmaxCrossEntropyResult {
  /** softmax(logits), [batch, classes]. */
  probs: Tensor;
  /** The mean cross-entropy over the batch, [] (a scalar). */
  loss: Tensor;
}

/** Anything `tidy` can hand back: its tensors outlive the scope. */
type Kept = Tensor | readonly Kept[] | { readonly [key: string]: Kept } | Nothing | number;
/** What a `tidy` callback that keeps nothing returns (`void`: a block with no `return`). */
// biome-ignore lint/suspicious/noConfusingVoidType: a callback's result, where void belongs
type Nothing = null | undefined | void;

export class Backend<K extends KernelBackend = KernelBackend> {
  readonly name: string;
  readonly dtype: DType;
  readonly description: string;
  readonly maxValues: number | undefined;
  private live = 0;
  private closed = false;
  /** Handles made inside each open `tidy`, innermost last. */
  private readonly scopes: Set<Tensor>[] = [];
  /** Gather maps the composed window kernels made, by shape (map-cache.ts). */
  private readonly maps = new MapCache(CACHED_MAPS, (map) => {
    for (const t of [map.index, map.offsets, map.sources]) {
      t.disposed = true;
      this.kernels.free(t.store.storage);
    }
  });
  /** The checks and handles the composed kernels' rows use (dispatch.ts), made once. */
  private readonly engine: Engine = {
    backend: this,
    own: (where, ...tensors) => {
      for (const t of tensors) this.own(where, t);
    },
    labels: (where, scores, labels) => this.labels(where, scores, labels),
    wrap: (storage, shape) => this.wrap(storage, shape),
  };

  constructor(readonly kernels: K) {
    this.name = kernels.name;
    this.dtype = kernels.dtype;
    this.description = kernels.description;
    this.maxValues = kernels.maxValues;
  }

  // ---- data: moving values in and out, lifetime -------------------------------------

  /** A new tensor holding a copy of `values` (row-major). Rejects NaN, ±Infinity, and values the dtype cannot hold. */
  tensor(values: ArrayLike<number>, shape: Shape): Tensor {
    this.open('tensor');
    const facts = checkTensorValues(values, shape, this.dtype);
    // An upload may hold more than maxValues (a dataset): only reading it and gatherRows,
    // which takes whole rows, may touch it (see `own`).
    const t = this.wrap(this.kernels.upload(values, shape), shape, facts, false);
    // a small upload keeps a host copy, so that it prints on a device read only asynchronously
    if (!this.kernels.downloadSync && t.size <= SUMMARY_THRESHOLD)
      t.store.host =
        this.dtype === 'float32' ? Float32Array.from(values) : Float64Array.from(values);
    return t;
  }

  /** A copy of the values, in the backend's dtype. */
  read(t: Tensor): Promise<FloatArray> {
    const data = this.own('read', t).store;
    return this.kernels.download(data.storage, data.size);
  }

  /** The values nested by the shape: `[[1, 2, 3], [4, 5, 6]]` for [2,3] (TensorFlow.js's `array()`). */
  async array(t: Tensor): Promise<NestedNumbers> {
    return nest(await this.read(t), t.shape);
  }

  /** Prints the tensor with its values, read from wherever they are (`console.log(t)` shows them where a synchronous read is possible). */
  print(t: Tensor): Promise<void> {
    this.own('print', t);
    return t.print();
  }

  /** The one value of a one-value tensor (a loss, an accuracy), as PyTorch's `item()`. */
  async item(t: Tensor): Promise<number> {
    const size = this.own('item', t).store.size;
    if (size !== 1) {
      throw new ShapeError(
        'item',
        `the tensor ${formatShape(t.shape)} holds ${size} values, not one; use await backend.read(t)`,
      );
    }
    return (await this.read(t))[0] as number;
  }

  /** Whether `readSync` works here (GPU backends read only asynchronously). */
  get canReadSync(): boolean {
    return this.kernels.downloadSync !== undefined;
  }

  /** The same, synchronously, where the backend can (`canReadSync`). */
  readSync(t: Tensor): FloatArray {
    const data = this.own('readSync', t).store;
    if (!this.kernels.downloadSync) {
      throw new BackendError(
        `readSync: the ${this.name} backend reads values back only asynchronously; use await backend.read(t)`,
      );
    }
    return this.kernels.downloadSync(data.storage, data.size);
  }

  /** Overwrites `values.length` elements starting at flat index `offset` (the numerical gradient nudges one). */
  write(t: Tensor, values: ArrayLike<number>, offset = 0): void {
    const data = this.own('write', t).store;
    const facts = checkWrite(t, values, offset, this.dtype);
    this.kernels.write(data.storage, values, offset);
    data.host?.set(values, offset);
    // Each element now holds either an old value or a written one: both ranges together bound them.
    data.facts = data.facts && {
      whole: data.facts.whole && facts.whole,
      min: Math.min(data.facts.min, facts.min),
      max: Math.max(data.facts.max, facts.max),
    };
  }

  /** A new handle on the same values in another shape of the same size: a write through either shows in both. */
  reshape(t: Tensor, shape: Shape): Tensor {
    const data = this.own('reshape', t).store;
    checkReshape(t, shape);
    data.refs++;
    return this.handle(data, shape);
  }

  /** Frees the handle; the values go with the last handle on them. Disposing twice is harmless. */
  dispose(t: Tensor): void {
    if (!(t instanceof Tensor) || t.backend !== this) this.own('dispose', t);
    if (t.disposed) return;
    t.disposed = true;
    this.live--;
    for (const scope of this.scopes) scope.delete(t);
    if (--t.store.refs === 0) this.kernels.free(t.store.storage);
  }

  /** How many handles are alive: the number leak tests watch. */
  liveTensors(): number {
    return this.live;
  }

  /** The backend's own resource counts (textures, bytes, buffers), for leak tests. */
  resources(): Record<string, number> {
    return this.kernels.resources?.() ?? {};
  }

  /**
   * Runs `fn`, then frees every handle made inside it except those it returns (as
   * TensorFlow.js's tidy): compositions and optimizers write formulas without a dispose
   * for each intermediate.
   */
  tidy<T extends Kept>(fn: () => T): T {
    const scope = new Set<Tensor>();
    this.scopes.push(scope);
    const kept = new Set<Tensor>();
    try {
      const result = fn();
      collectTensors(result, kept);
      return result;
    } finally {
      // on a throw nothing is kept: the intermediates go too
      this.scopes.pop();
      for (const t of scope) {
        if (kept.has(t))
          this.scopes.at(-1)?.add(t); // it now belongs to the enclosing scope
        else this.dispose(t);
      }
    }
  }

  /**
   * `target` takes `source`'s values in place (for an update: W ← W − lr·dW), and
   * `source` is used up. Reshapes of `target` see the new values.
   */
  assign(target: Tensor, source: Tensor): void {
    const to = this.own('assign', target).store;
    const from = this.own('assign', source).store;
    checkSameShape('assign', target, source, ['target', 'source']);
    if (from === to) {
      this.dispose(source);
      return;
    }
    if (from.refs > 1) {
      // the source's values are shared with a reshape: copy them rather than take them
      const copy = this.binary('add', source, 0);
      this.dispose(source);
      this.assign(target, copy);
      return;
    }
    this.kernels.free(to.storage);
    to.storage = from.storage;
    to.facts = from.facts;
    to.host = from.host;
    // the source handle goes, its storage now the target's
    source.disposed = true;
    this.live--;
    for (const scope of this.scopes) scope.delete(source);
  }

  /** Ends the backend's workers or device. Handles still alive are lost with it. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.kernels.close?.();
  }

  // ---- primitives -----------------------------------------------------------------------

  /** a·b, with either operand optionally transposed: [m,k]·[k,n] → [m,n]. */
  matmul(a: Tensor, b: Tensor, options: MatmulOptions = {}): Tensor {
    const [x, y] = this.ownAll('matmul', a, b);
    const { m, k, n } = matmulShape(a, b, options);
    const dims = {
      m,
      k,
      n,
      transposeA: options.transposeA ?? false,
      transposeB: options.transposeB ?? false,
    };
    return this.wrap(this.kernels.matmul(x, y, dims), [m, n]);
  }

  neg(x: Tensor): Tensor {
    return this.unary('neg', x);
  }
  exp(x: Tensor): Tensor {
    return this.unary('exp', x);
  }
  log(x: Tensor): Tensor {
    return this.unary('log', x);
  }
  sqrt(x: Tensor): Tensor {
    return this.unary('sqrt', x);
  }

  /** Element-wise a + b, broadcasting as numpy does (a number is a scalar). */
  add(a: Tensor | number, b: Tensor | number): Tensor {
    return this.binary('add', a, b);
  }
  sub(a: Tensor | number, b: Tensor | number): Tensor {
    return this.binary('sub', a, b);
  }
  mul(a: Tensor | number, b: Tensor | number): Tensor {
    return this.binary('mul', a, b);
  }
  div(a: Tensor | number, b: Tensor | number): Tensor {
    return this.binary('div', a, b);
  }
  maximum(a: Tensor | number, b: Tensor | number): Tensor {
    return this.binary('maximum', a, b);
  }
  /** 1 where a > b, else 0. */
  greater(a: Tensor | number, b: Tensor | number): Tensor {
    return this.binary('greater', a, b);
  }
  /** 1 where a = b, else 0. */
  equal(a: Tensor | number, b: Tensor | number): Tensor {
    return this.binary('equal', a, b);
  }

  /** The sum of all values ([]), or along an axis of a matrix (as numpy's `sum(x, axis, keepdims)`). */
  sum(x: Tensor, axis?: 0 | 1 | -1, keepdims = false): Tensor {
    return this.reduce('sum', x, axis, keepdims);
  }
  max(x: Tensor, axis?: 0 | 1 | -1, keepdims = false): Tensor {
    return this.reduce('max', x, axis, keepdims);
  }
  /** The index of the first largest value (numpy's argmax), as a number. */
  argmax(x: Tensor, axis?: 0 | 1 | -1, keepdims = false): Tensor {
    return this.reduce('argmax', x, axis, keepdims);
  }

  /** The rows of x at `indices`, in that order: [m,n] or [m] → [indices.length, n] or [indices.length]. */
  gatherRows(x: Tensor, indices: ArrayLike<number>): Tensor {
    const storage = this.own('gatherRows', x).store.storage;
    const shape = gatherShape(x, indices);
    const width = shape.length === 2 ? shape[1] : 1;
    const rows = this.kernels.gatherRows(storage, Int32Array.from(indices), width);
    // every gathered value is one of x's: what was known of them still holds
    return this.wrap(rows, shape, x.store.facts);
  }

  /**
   * A gather map on this backend (see gather): output value i of a sample reads value
   * `index[i]` of the input sample, which holds `inSize` values; −1 gives a 0. Checked
   * once, here; the caller owns it (`map.dispose()`).
   */
  gatherMap(index: ArrayLike<number>, inSize: number): GatherMap {
    this.open('gatherMap');
    const tables = gatherTables('gatherMap', index, inSize);
    const upload = (values: Int32Array) => this.tensor(values, [values.length]);
    return this.mapOf(tables, inSize, upload);
  }

  /**
   * Each sample of x rearranged by `map`: x is [batch, …] with map.inSize values a
   * sample; the result is [batch, map.outSize] (0 where the map says −1).
   */
  gather(x: Tensor, map: GatherMap): Tensor {
    const X = this.own('gather', x).store.storage;
    const dims = this.gatherDims('gather', x, map, map.inSize, 'the map reads');
    return this.wrap(this.kernels.gather(X, this.mapStorage(map), dims), [dims.batch, map.outSize]);
  }

  /**
   * gather's adjoint: values [batch, …] with map.outSize values a sample, each added
   * back to the input value it was read from; the result is [batch, map.inSize]. The
   * backward of every gather (col2im is this with im2col's map).
   */
  scatterAdd(values: Tensor, map: GatherMap): Tensor {
    const V = this.own('scatterAdd', values).store.storage;
    const dims = this.gatherDims('scatterAdd', values, map, map.outSize, 'the map writes');
    return this.wrap(this.kernels.scatterAdd(V, this.mapStorage(map), dims), [
      dims.batch,
      map.inSize,
    ]);
  }

  /**
   * The axes of x permuted, as numpy's `transpose(axes)`, with the batch axis kept first
   * (axes[0] = 0): each sample is permuted on its own. A gather by a map kept for the shape.
   */
  permute(x: Tensor, axes: readonly number[]): Tensor {
    this.own('permute', x);
    const rank = x.shape.length;
    const valid =
      axes.length === rank &&
      axes[0] === 0 &&
      [...axes].sort((a, b) => a - b).every((a, k) => a === k);
    if (!valid) {
      throw new ShapeError(
        'permute',
        `axes must order all ${rank} axes of ${formatShape(x.shape)} with the batch axis first (e.g. [0, 2, 1]), got [${axes.join(', ')}]`,
      );
    }
    const sample = x.shape.slice(1);
    const inner = axes.slice(1).map((a) => a - 1);
    const map = this.cachedMap(
      `permute ${sample} ${inner}`,
      sizeOf(sample),
      () => permuteIndex(sample, inner),
      transposeOf(sample, inner),
    );
    const out = this.gather(x, map);
    return this.reshapeOwned(
      out,
      axes.map((a) => x.shape[a]),
    );
  }

  // ---- composed kernels: checked, then the backend's override or core's composition
  // (one row each in dispatch.ts) ---------------------------------------------------------

  /** x + bias on every row: [m,n] + [n] → [m,n]. */
  addBias(x: Tensor, bias: Tensor): Tensor {
    return dispatch(this.engine, 'addBias', [x, bias]);
  }

  /** The sum over rows, one value a column: [m,n] → [n] (the bias gradient). */
  sumColumns(x: Tensor): Tensor {
    return dispatch(this.engine, 'sumColumns', [x]);
  }

  /** max(x, 0). */
  relu(x: Tensor): Tensor {
    return dispatch(this.engine, 'relu', [x]);
  }

  /** dout where out > 0, else 0; `out` is relu's output (x <= 0 passes no gradient). */
  reluBackward(dout: Tensor, out: Tensor): Tensor {
    return dispatch(this.engine, 'reluBackward', [dout, out]);
  }

  /** 1 / (1 + exp(−x)). */
  sigmoid(x: Tensor): Tensor {
    return dispatch(this.engine, 'sigmoid', [x]);
  }

  /** dout · out · (1 − out); `out` is sigmoid's output. */
  sigmoidBackward(dout: Tensor, out: Tensor): Tensor {
    return dispatch(this.engine, 'sigmoidBackward', [dout, out]);
  }

  /** Row-wise softmax, stable (each row's max subtracted first): the probabilities of a prediction. */
  softmax(x: Tensor): Tensor {
    return dispatch(this.engine, 'softmax', [x]);
  }

  /**
   * softmax(logits) and the mean cross-entropy −Σ t·log(y + delta) / batch; `delta` is
   * the book's guard against log(0), 1e-7 unless given.
   */
  softmaxCrossEntropy(
    logits: Tensor,
    labels: Labels,
    delta = CROSS_ENTROPY_DELTA,
  ): SoftmaxCrossEntropyResult {
    return dispatch(this.engine, 'softmaxCrossEntropy', [logits, labels, delta]);
  }

  /** (probs − t) / batch: the gradient of the mean loss with respect to the logits. */
  softmaxCrossEntropyBackward(probs: Tensor, labels: Labels): Tensor {
    return dispatch(this.engine, 'softmaxCrossEntropyBackward', [probs, labels]);
  }

  /** param ← param − learningRate · grad, in place. */
  sgdUpdate(param: Tensor, grad: Tensor, learningRate: number): void {
    dispatch(this.engine, 'sgdUpdate', [param, grad, learningRate]);
  }

  /** Adam's step in place: the moments m and v, then param (6.1.6; `AdamStep`). */
  adamUpdate(param: Tensor, grad: Tensor, m: Tensor, v: Tensor, step: AdamStep): void {
    dispatch(this.engine, 'adamUpdate', [param, grad, m, v, step]);
  }

  /** How many rows have their largest score (the first, on ties) at the label's class, as a [] scalar. */
  countCorrect(scores: Tensor, labels: Labels): Tensor {
    return dispatch(this.engine, 'countCorrect', [scores, labels]);
  }

  /**
   * 7.4.3 — the book's im2col: images [N, C, H, W] as the rows of a matrix, one row a
   * window position, [N·OH·OW, C·FH·FW], so a convolution is one matrix product.
   */
  im2col(x: Tensor, window: Window): Tensor {
    return dispatch(this.engine, 'im2col', [x, window]);
  }

  /**
   * im2col's adjoint (the book's col2im): each value of col [N·OH·OW, C·FH·FW] added back
   * to the pixel it was read from, giving images `shape` [N, C, H, W].
   */
  col2im(col: Tensor, shape: readonly number[], window: Window): Tensor {
    return dispatch(this.engine, 'col2im', [col, shape, window]);
  }

  /**
   * 7.4.3 — a convolution: images x [N, C, H, W] under filters W [FN, C, FH, FW] moving
   * `stride` at a time over the images padded by `pad` zeros, plus a bias [FN] a filter:
   * [N, FN, OH, OW]. The book's is im2col, one matrix product and a transpose; its im2col
   * comes back as `col` for the gradients (the caller owns both).
   */
  convolution(x: Tensor, W: Tensor, bias: Tensor, step: FilterStep): ConvolutionResult {
    return dispatch(this.engine, 'convolution', [x, W, bias, step]);
  }

  /**
   * The gradients of a convolution's filters and bias, from its input x [N, C, H, W] and
   * the gradient of its output dout [N, FN, OH, OW] (the input's own is `col2im` of
   * rows·W, see the Convolution layer). `col`, where `convolution` gave it, is x's im2col:
   * the composition reads it instead of gathering it again; a backend's own kernel
   * ignores it.
   */
  convolutionGradients(
    x: Tensor,
    dout: Tensor,
    filterShape: readonly number[],
    step: FilterStep,
    col: Tensor | null = null,
  ): ConvolutionGradients {
    return dispatch(this.engine, 'convolutionGradients', [x, dout, filterShape, step, col]);
  }

  /** 7.4.4 — max pooling: the largest value of each window of images [N, C, H, W], and where it was. */
  maxPool(x: Tensor, window: Window): MaxPoolResult {
    return dispatch(this.engine, 'maxPool', [x, window]);
  }

  /** Max pooling's backward: each window's gradient goes to its maximum, the rest get 0; images `shape`. */
  maxPoolBackward(dout: Tensor, argmax: Tensor, shape: readonly number[], window: Window): Tensor {
    return dispatch(this.engine, 'maxPoolBackward', [dout, argmax, shape, window]);
  }

  /**
   * 6.3 — γ·(x − mean)/√(variance + ε) + β on x [N, D], each column by its own mean,
   * variance, γ and β ([D] each): batch statistics in training, running ones at test.
   */
  batchNormalize(
    x: Tensor,
    mean: Tensor,
    variance: Tensor,
    gamma: Tensor,
    beta: Tensor,
    epsilon: number,
  ): Tensor {
    return dispatch(this.engine, 'batchNormalize', [x, mean, variance, gamma, beta, epsilon]);
  }

  /**
   * The map a composed kernel gathers by, made once for its shape and kept (a few dozen,
   * least recently used dropped): not a handle anyone owns, so not in liveTensors().
   */
  cachedMap(
    key: string,
    inSize: number,
    index: () => Int32Array,
    transpose?: GatherMap['transpose'],
  ): GatherMap {
    return this.maps.get(key, () =>
      this.mapOf(
        gatherTables(key, index(), inSize),
        inSize,
        (values) => this.unowned(values),
        transpose,
      ),
    );
  }

  /** im2col's map for the window over images of `d`'s shape. */
  im2colMap(d: WindowDims): GatherMap {
    const key = `im2col ${d.channels} ${d.height} ${d.width} ${d.windowHeight} ${d.windowWidth} ${d.stride} ${d.pad}`;
    return this.cachedMap(key, d.channels * d.height * d.width, () => im2colIndex(d));
  }

  /** Pooling's map (one window a row, rows in [C, OH, OW] order) for `d`'s shape. */
  poolMap(d: WindowDims): GatherMap {
    const key = `pool ${d.channels} ${d.height} ${d.width} ${d.windowHeight} ${d.windowWidth} ${d.stride} ${d.pad}`;
    return this.cachedMap(key, d.channels * d.height * d.width, () => poolIndex(d));
  }

  // ---- what a Tensor asks of its backend ---------------------------------------------------

  /** The values, where they can be had synchronously (for `Tensor.toString`): else null. */
  peek(t: Tensor): ArrayLike<number> | null {
    if (t.disposed || t.backend !== this) return null;
    if (this.kernels.downloadSync) return this.kernels.downloadSync(t.store.storage, t.size);
    return t.store.host;
  }

  // ---- the checks and the bookkeeping, once for every backend ------------------------------

  private mapOf(
    tables: GatherTables,
    inSize: number,
    upload: (values: Int32Array) => Tensor,
    transpose?: GatherMap['transpose'],
  ): GatherMap {
    const made: Tensor[] = [];
    try {
      for (const values of [tables.index, tables.offsets, tables.sources])
        made.push(upload(values));
    } catch (error) {
      for (const t of made) if (!t.disposed) this.dispose(t);
      throw error;
    }
    const [index, offsets, sources] = made as [Tensor, Tensor, Tensor];
    const { length } = tables.index;
    return new GatherMap(inSize, length, tables.maxSources, index, offsets, sources, transpose);
  }

  /** A tensor no one owns (a cached map's): not counted in liveTensors, freed by the cache. */
  private unowned(values: Int32Array): Tensor {
    this.open('gather map');
    const data = {
      storage: this.kernels.upload(values, [values.length]),
      size: values.length,
      refs: 1,
      facts: null,
      host: null,
    };
    return new Tensor(this, [values.length], data);
  }

  private mapStorage(map: GatherMap): GatherStorage<unknown> {
    if (!(map instanceof GatherMap)) {
      throw new TensorStateError('gather: the map must come from backend.gatherMap(index, inSize)');
    }
    const [index, offsets, sources] = this.ownAll(
      'gather map',
      map.index,
      map.offsets,
      map.sources,
    );
    return { index, offsets, sources };
  }

  /** Checks x [batch, …] holds `sampleSize` values a sample; the kernel's sizes. */
  private gatherDims(
    where: string,
    x: Tensor,
    map: GatherMap,
    sampleSize: number,
    what: string,
  ): GatherDims {
    const batch = x.shape[0];
    if (x.shape.length < 1 || x.size !== batch * sampleSize) {
      throw new ShapeError(
        where,
        `x must be [batch, …] with ${sampleSize} values a sample (${what} ${sampleSize}), got ${formatShape(x.shape)}`,
      );
    }
    const { inSize, outSize, maxSources, transpose } = map;
    return { batch, inSize, outSize, maxSources, ...(transpose ? { transpose } : {}) };
  }

  /** A reshape of a tensor this call made, which the caller gets instead of it. */
  private reshapeOwned(t: Tensor, shape: readonly number[]): Tensor {
    const reshaped = this.reshape(t, shape);
    this.dispose(t);
    return reshaped;
  }

  private unary(op: UnaryOp, x: Tensor): Tensor {
    const X = this.own(op, x).store.storage;
    return this.wrap(this.kernels.unary(op, X, x.size), x.shape);
  }

  private binary(op: BinaryOp, a: Tensor | number, b: Tensor | number): Tensor {
    // A number is a scalar tensor for the length of this call.
    const left = typeof a === 'number' ? this.constant(op, a) : a;
    const right = typeof b === 'number' ? this.constant(op, b) : b;
    try {
      const [A, B] = this.ownAll(op, left, right);
      const { shape, layout } = broadcastShapes(op, left.shape, right.shape);
      return this.wrap(this.kernels.binary(op, A, B, layout), shape);
    } finally {
      if (left !== a) this.dispose(left);
      if (right !== b) this.dispose(right);
    }
  }

  private reduce(op: ReduceOp, x: Tensor, axis: 0 | 1 | -1 | undefined, keepdims: boolean) {
    const X = this.own(op, x).store.storage;
    const { rows, cols, kernelAxis, shape } = reduceShape(op, x.shape, axis, keepdims);
    return this.wrap(this.kernels.reduce(op, X, rows, cols, kernelAxis), shape);
  }

  private constant(op: string, value: number): Tensor {
    if (!Number.isFinite(value) || !Number.isFinite(this.round(value))) {
      throw new ValueError(op, `the number ${value} is not a finite ${this.dtype}`);
    }
    return this.wrap(this.kernels.upload([value], []), [], null);
  }

  private round(value: number): number {
    return this.dtype === 'float32' ? Math.fround(value) : value;
  }

  /** Checks labels against scores and, for class indices, their values (see ValueFacts). */
  private labels(where: string, scores: Tensor, labels: Labels): LabelDims {
    this.ownAll(where, scores, labels);
    const dims = labelsShape(where, scores, labels);
    if (!dims.oneHot) this.checkIndices(where, labels, dims.classes);
    return dims;
  }

  private checkIndices(where: string, labels: Tensor, classes: number): void {
    const facts = labels.store.facts;
    if (facts?.whole && facts.min >= 0 && facts.max < classes) return; // known on upload: no readback
    if (this.kernels.downloadSync) {
      // Computed on the backend, or a range that does not settle it (gathered rows may
      // leave out the bad one): read the values themselves.
      checkClassIndices(
        where,
        this.kernels.downloadSync(labels.store.storage, labels.size),
        classes,
      );
      return;
    }
    throw new ValueError(
      where,
      facts
        ? `labels hold values in ${facts.min}…${facts.max}${facts.whole ? '' : ' (not all whole)'}, not class indices in 0…${classes - 1}`
        : `the ${this.name} backend cannot check class indices computed on the device without reading them back; make labels with backend.tensor() (or gatherRows of such a tensor)`,
    );
  }

  private open(where: string): void {
    if (this.closed) {
      throw new TensorStateError(`${where}: the ${this.name} backend was closed; create a new one`);
    }
  }

  private own(where: string, t: Tensor): Tensor {
    if (!(t instanceof Tensor) || t.backend !== this) {
      const other = (t as Partial<Tensor> | null)?.backend as { name?: string } | undefined;
      throw new TensorStateError(
        `${where}: the tensor was not made by this ${this.name} backend${other?.name ? ` (it belongs to a ${other.name} backend)` : ''}; create it with this backend's tensor()`,
      );
    }
    if (t.disposed) {
      throw new TensorStateError(
        `${where}: the tensor ${formatShape(t.shape)} was already disposed`,
      );
    }
    this.open(where);
    if (this.maxValues !== undefined && t.store.size > this.maxValues && !ANY_SIZE.has(where)) {
      throw new BackendError(
        `${where}: the ${this.name} backend's kernels read at most ${this.maxValues} values a tensor, and this one is ${formatShape(t.shape)} (${t.store.size}); take rows from it with gatherRows (as training and evaluation do) and compute on those`,
      );
    }
    return t;
  }

  private ownAll(where: string, ...tensors: Tensor[]): unknown[] {
    return tensors.map((t) => this.own(where, t).store.storage);
  }

  private wrap(
    storage: unknown,
    shape: Shape,
    facts: ValueFacts | null = null,
    computed = true,
  ): Tensor {
    const size = sizeOf(shape);
    if (computed && this.maxValues !== undefined && size > this.maxValues) {
      this.kernels.free(storage);
      throw new BackendError(
        `the ${this.name} backend holds at most ${this.maxValues} values a tensor, and this one is ${formatShape(shape)} (${size}); use fewer samples at a time`,
      );
    }
    return this.handle({ storage, size, refs: 1, facts, host: null }, shape);
  }

  private handle(data: TensorStore, shape: Shape): Tensor {
    const t = new Tensor(this, [...shape], data);
    this.live++;
    this.scopes.at(-1)?.add(t);
    return t;
  }
}

function collectTensors(value: unknown, into: Set<Tensor>): void {
  if (value instanceof Tensor) into.add(value);
  else if (Array.isArray(value)) for (const v of value) collectTensors(v, into);
  else if (value && typeof value === 'object')
    for (const v of Object.values(value)) collectTensors(v, into);
}
