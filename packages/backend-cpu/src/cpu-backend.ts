import {
  Backend,
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
  type WindowDims,
} from '@backprop/core';
import { matmulNN, matmulNT, matmulTN, matmulTT } from './matmul.js';

export interface CpuBackendOptions {
  /** float64 (default) reproduces the book's numpy numbers; float32 is faster and smaller. */
  dtype?: DType;
}

const UNARY: Record<UnaryOp, (x: number) => number> = {
  neg: (x) => -x,
  exp: Math.exp,
  log: Math.log,
  sqrt: Math.sqrt,
};

/** One binary op on two values; a switch, which the JIT keeps cheaper than a call. */
function apply(op: BinaryOp, a: number, b: number): number {
  switch (op) {
    case 'add':
      return a + b;
    case 'sub':
      return a - b;
    case 'mul':
      return a * b;
    case 'div':
      return a / b;
    case 'maximum':
      return a > b ? a : b;
    case 'greater':
      return a > b ? 1 : 0;
    default:
      return a === b ? 1 : 0;
  }
}

/**
 * The reference kernels: plain loops over typed arrays, computed in double precision and
 * stored in the backend's dtype. Storage is the typed array itself. In float64 this is
 * the conformance suite's oracle.
 */
export class CpuKernels implements KernelBackend<FloatArray> {
  readonly name = 'cpu';
  readonly dtype: DType;
  readonly description: string;

  constructor(options: CpuBackendOptions = {}) {
    refuseUnknownKeys('CpuBackend options', options, ['dtype']);
    const dtype = options.dtype ?? 'float64';
    if (dtype !== 'float64' && dtype !== 'float32') {
      throw new UsageError(`cpu backend: dtype must be float64 or float32, got ${String(dtype)}`);
    }
    this.dtype = dtype;
    this.description = `cpu: pure TypeScript, ${dtype}, 1 thread`;
  }

  // ---- storage -------------------------------------------------------------------------

  upload(values: ArrayLike<number>): FloatArray {
    const data = this.alloc(values.length);
    data.set(values);
    return data;
  }

  async download(data: FloatArray, size: number): Promise<FloatArray> {
    return data.slice(0, size);
  }

  downloadSync(data: FloatArray, size: number): FloatArray {
    return data.slice(0, size);
  }

  write(data: FloatArray, values: ArrayLike<number>, offset: number): void {
    data.set(values, offset);
  }

  free(): void {} // the garbage collector's

  /** Doubles rounded to float32 with `set`: `Float32Array.from` walks an iterator, ~6% of a float32 step. */
  private rounded(values: Float64Array): Float32Array {
    const out = new Float32Array(values.length);
    out.set(values);
    return out;
  }

  // ---- primitives ----------------------------------------------------------------------

  matmul(A: FloatArray, B: FloatArray, { m, k, n, transposeA, transposeB }: MatmulDims) {
    // Products accumulate in double in both dtypes: more exact, and faster than
    // rounding to float32 on every += (the float32 result is rounded once, below).
    const C = new Float64Array(m * n);
    const product = transposeA
      ? transposeB
        ? matmulTT
        : matmulTN
      : transposeB
        ? matmulNT
        : matmulNN;
    product(A, B, C, m, k, n);
    return this.dtype === 'float64' ? C : this.rounded(C);
  }

  unary(op: UnaryOp, X: FloatArray, size: number): FloatArray {
    const f = UNARY[op];
    const out = this.alloc(size);
    for (let i = 0; i < size; i++) out[i] = f(X[i]);
    return out;
  }

  binary(op: BinaryOp, A: FloatArray, B: FloatArray, layout: Broadcast): FloatArray {
    const { rows, cols } = layout;
    const out = this.alloc(rows * cols);
    // A stride of 0 repeats an operand along that axis (numpy's broadcast).
    const [aRow, aCol] = [layout.aRows === 1 ? 0 : layout.aCols, layout.aCols === 1 ? 0 : 1];
    const [bRow, bCol] = [layout.bRows === 1 ? 0 : layout.bCols, layout.bCols === 1 ? 0 : 1];
    for (let i = 0; i < rows; i++) {
      for (let j = 0; j < cols; j++) {
        out[i * cols + j] = apply(op, A[i * aRow + j * aCol], B[i * bRow + j * bCol]);
      }
    }
    return out;
  }

  reduce(op: ReduceOp, X: FloatArray, rows: number, cols: number, axis: 0 | 1): FloatArray {
    // axis 0: one result a column, over its rows; axis 1: one a row, over its columns.
    const [outer, inner, outerStride, innerStride] =
      axis === 0 ? [cols, rows, 1, cols] : [rows, cols, cols, 1];
    const out = this.alloc(outer);
    for (let o = 0; o < outer; o++) {
      const start = o * outerStride;
      if (op === 'sum') {
        let sum = 0; // in double, stored in the dtype
        for (let i = 0; i < inner; i++) sum += X[start + i * innerStride];
        out[o] = sum;
      } else {
        let best = 0; // the first of equal maxima, as numpy
        for (let i = 1; i < inner; i++)
          if (X[start + i * innerStride] > X[start + best * innerStride]) best = i;
        out[o] = op === 'argmax' ? best : X[start + best * innerStride];
      }
    }
    return out;
  }

  gatherRows(X: FloatArray, indices: Int32Array, width: number): FloatArray {
    const out = this.alloc(indices.length * width);
    for (let i = 0; i < indices.length; i++) {
      const start = indices[i] * width;
      out.set(X.subarray(start, start + width), i * width);
    }
    return out;
  }

  gather(X: FloatArray, { index }: GatherStorage<FloatArray>, dims: GatherDims): FloatArray {
    const { batch, inSize, outSize } = dims;
    const out = this.alloc(batch * outSize);
    for (let b = 0; b < batch; b++) {
      const from = b * inSize;
      const to = b * outSize;
      for (let i = 0; i < outSize; i++) {
        const j = index[i];
        if (j >= 0) out[to + i] = X[from + j]; // −1: a 0, already there
      }
    }
    return out;
  }

  scatterAdd(V: FloatArray, { offsets, sources }: GatherStorage<FloatArray>, dims: GatherDims) {
    const { batch, inSize, outSize } = dims;
    const out = this.alloc(batch * inSize);
    for (let b = 0; b < batch; b++) {
      const from = b * outSize;
      const to = b * inSize;
      for (let j = 0; j < inSize; j++) {
        let sum = 0; // in double, stored in the dtype
        for (let k = offsets[j]; k < offsets[j + 1]; k++) sum += V[from + sources[k]];
        out[to + j] = sum;
      }
    }
    return out;
  }

  // ---- overrides, where one loop beats the composition ------------------------------------

  addBias(X: FloatArray, b: FloatArray, m: number, n: number): FloatArray {
    const out = this.alloc(m * n);
    for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) out[i * n + j] = X[i * n + j] + b[j];
    return out;
  }

  /** Σ over the batch, walking rows in memory order (the reduction walks down columns). */
  sumColumns(X: FloatArray, m: number, n: number): FloatArray {
    const sums = new Float64Array(n); // accumulate in double, store in the dtype
    for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) sums[j] += X[i * n + j];
    return this.dtype === 'float64' ? sums : this.rounded(sums);
  }

  relu(X: FloatArray, size: number): FloatArray {
    const out = this.alloc(size);
    for (let i = 0; i < size; i++) out[i] = X[i] > 0 ? X[i] : 0;
    return out;
  }

  /** dout where out > 0: x <= 0 passes no gradient, and out > 0 exactly where x > 0. */
  reluBackward(dout: FloatArray, Y: FloatArray, size: number): FloatArray {
    const dx = this.alloc(size);
    for (let i = 0; i < size; i++) dx[i] = Y[i] > 0 ? dout[i] : 0;
    return dx;
  }

  /** Softmax and the loss in double (exp, log, the sums), each stored once: the oracle's exactness. */
  softmaxCrossEntropy(
    X: FloatArray,
    T: FloatArray,
    { batch, classes, oneHot }: LabelDims,
    delta: number,
  ): [FloatArray, FloatArray] {
    const probs = this.alloc(batch * classes);
    let lossSum = 0;
    for (let i = 0; i < batch; i++) {
      const row = i * classes;
      let max = Number.NEGATIVE_INFINITY; // subtract the row's max so exp never overflows
      for (let j = 0; j < classes; j++) max = Math.max(max, X[row + j]);
      let sum = 0;
      for (let j = 0; j < classes; j++) sum += Math.exp(X[row + j] - max);
      for (let j = 0; j < classes; j++) {
        const y = Math.exp(X[row + j] - max) / sum;
        probs[row + j] = y;
        const t = oneHot ? T[row + j] : T[i] === j ? 1 : 0;
        if (t !== 0) lossSum -= t * Math.log(y + delta);
      }
    }
    return [probs, this.upload([lossSum / batch])];
  }

  /** (y − t) / batch, with no one-hot rows made for class indices. */
  softmaxCrossEntropyBackward(Y: FloatArray, T: FloatArray, dims: LabelDims): FloatArray {
    const { batch, classes, oneHot } = dims;
    const dx = this.alloc(batch * classes);
    for (let i = 0; i < batch; i++) {
      for (let j = 0; j < classes; j++) {
        const target = oneHot ? T[i * classes + j] : T[i] === j ? 1 : 0;
        dx[i * classes + j] = (Y[i * classes + j] - target) / batch;
      }
    }
    return dx;
  }

  /** W ← W − lr·dW in place: no new array for the largest tensors of a step. */
  sgdUpdate(W: FloatArray, G: FloatArray, size: number, learningRate: number): void {
    for (let i = 0; i < size; i++) W[i] -= learningRate * G[i];
  }

  // ---- the window kernels as loops (7.4): no map to read; sums in the composition's order --

  im2col(X: FloatArray, d: WindowDims): FloatArray {
    const out = this.alloc(
      d.batch * d.outHeight * d.outWidth * d.channels * d.windowHeight * d.windowWidth,
    );
    let o = 0;
    for (let n = 0; n < d.batch; n++)
      for (let oy = 0; oy < d.outHeight; oy++)
        for (let ox = 0; ox < d.outWidth; ox++)
          for (let c = 0; c < d.channels; c++)
            for (let fy = 0; fy < d.windowHeight; fy++)
              for (let fx = 0; fx < d.windowWidth; fx++, o++) {
                const p = pixel(d, n * d.channels + c, oy, ox, fy, fx);
                out[o] = p < 0 ? 0 : X[p];
              }
    return out;
  }

  /** im2col's adjoint; each pixel sums its values in double, in im2col's order (as core's map does). */
  col2im(col: FloatArray, d: WindowDims): FloatArray {
    const sums = new Float64Array(d.batch * d.channels * d.height * d.width);
    let o = 0;
    for (let n = 0; n < d.batch; n++)
      for (let oy = 0; oy < d.outHeight; oy++)
        for (let ox = 0; ox < d.outWidth; ox++)
          for (let c = 0; c < d.channels; c++)
            for (let fy = 0; fy < d.windowHeight; fy++)
              for (let fx = 0; fx < d.windowWidth; fx++, o++) {
                const p = pixel(d, n * d.channels + c, oy, ox, fy, fx);
                if (p >= 0) sums[p] += col[o];
              }
    return this.dtype === 'float64' ? sums : this.rounded(sums);
  }

  maxPool(X: FloatArray, d: WindowDims): [FloatArray, FloatArray] {
    const windows = d.batch * d.channels * d.outHeight * d.outWidth;
    const out = this.alloc(windows);
    const argmax = this.alloc(windows);
    let w = 0;
    for (let plane = 0; plane < d.batch * d.channels; plane++)
      for (let oy = 0; oy < d.outHeight; oy++)
        for (let ox = 0; ox < d.outWidth; ox++, w++) {
          let best = 0;
          let at = 0;
          for (let fy = 0; fy < d.windowHeight; fy++)
            for (let fx = 0; fx < d.windowWidth; fx++) {
              const p = pixel(d, plane, oy, ox, fy, fx);
              const v = p < 0 ? 0 : X[p]; // the padding reads 0, as the book's
              const k = fy * d.windowWidth + fx;
              if (k === 0 || v > best) {
                best = v; // the first of equal maxima
                at = k;
              }
            }
          out[w] = best;
          argmax[w] = at;
        }
    return [out, argmax];
  }

  maxPoolBackward(dout: FloatArray, argmax: FloatArray, d: WindowDims): FloatArray {
    const dx = new Float64Array(d.batch * d.channels * d.height * d.width); // sums in double
    let w = 0;
    for (let plane = 0; plane < d.batch * d.channels; plane++)
      for (let oy = 0; oy < d.outHeight; oy++)
        for (let ox = 0; ox < d.outWidth; ox++, w++) {
          const fy = Math.floor(argmax[w] / d.windowWidth);
          const p = pixel(d, plane, oy, ox, fy, argmax[w] - fy * d.windowWidth);
          if (p >= 0) dx[p] += dout[w]; // none where the max was the padding
        }
    return this.dtype === 'float64' ? dx : this.rounded(dx);
  }

  private alloc(size: number): FloatArray {
    return this.dtype === 'float64' ? new Float64Array(size) : new Float32Array(size);
  }
}

/** The flat index of pixel (fy, fx) of window (oy, ox) on image plane `plane`, or −1 in the padding. */
function pixel(d: WindowDims, plane: number, oy: number, ox: number, fy: number, fx: number) {
  const y = oy * d.stride + fy - d.pad;
  const x = ox * d.stride + fx - d.pad;
  return y < 0 || y >= d.height || x < 0 || x >= d.width
    ? -1
    : (plane * d.height + y) * d.width + x;
}

/** The CPU backend: `new CpuBackend()` (synchronous) or `await CpuBackend.create()`, as every backend. */
export class CpuBackend extends Backend<CpuKernels> {
  constructor(options: CpuBackendOptions = {}) {
    super(new CpuKernels(options));
  }

  static async create(options: CpuBackendOptions = {}): Promise<CpuBackend> {
    return new CpuBackend(options);
  }
}
