import {
  addBiasShape,
  type Backend,
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
  type Tensor,
  UsageError,
} from '@backprop/core';
import { matmulNN, matmulNT, matmulTN, matmulTT } from './matmul.js';

class CpuTensor implements Tensor {
  disposed = false;
  constructor(
    readonly shape: Shape,
    readonly dtype: DType,
    readonly data: FloatArray,
    readonly owner: CpuBackend,
  ) {}
}

export interface CpuBackendOptions {
  /** float64 (default) reproduces the book's numpy numbers; float32 is faster and smaller. */
  dtype?: DType;
}

/**
 * The reference backend: every kernel as plain loops over typed arrays. Values are
 * computed in double precision and stored in the backend's dtype.
 */
export class CpuBackend implements Backend {
  readonly name = 'cpu';
  readonly dtype: DType;
  readonly description: string;
  private live = 0;

  constructor(options: CpuBackendOptions = {}) {
    const dtype = options.dtype ?? 'float64';
    if (dtype !== 'float64' && dtype !== 'float32') {
      throw new UsageError(`cpu backend: dtype must be float64 or float32, got ${String(dtype)}`);
    }
    this.dtype = dtype;
    this.description = `cpu: pure TypeScript, ${dtype}, 1 thread`;
  }

  // ---- data ---------------------------------------------------------------------------

  tensor(values: ArrayLike<number>, shape: Shape): Tensor {
    checkTensorValues(values, shape);
    const data = this.alloc(values.length);
    data.set(values);
    return this.wrap(data, shape);
  }

  async read(t: Tensor): Promise<FloatArray> {
    return this.readSync(t);
  }

  readSync(t: Tensor): FloatArray {
    return this.own(t, 'read').data.slice();
  }

  write(t: Tensor, values: ArrayLike<number>, offset = 0): void {
    const target = this.own(t, 'write');
    checkWrite(t, values, offset);
    target.data.set(values, offset);
  }

  reshape(t: Tensor, shape: Shape): Tensor {
    const source = this.own(t, 'reshape');
    checkReshape(t, shape);
    return this.wrap(source.data, [...shape]);
  }

  dispose(t: Tensor): void {
    const tensor = this.own(t, 'dispose', { allowDisposed: true });
    if (tensor.disposed) return;
    tensor.disposed = true;
    this.live--;
  }

  liveTensors(): number {
    return this.live;
  }

  // ---- kernels ------------------------------------------------------------------------

  matmul(a: Tensor, b: Tensor, options: MatmulOptions = {}): Tensor {
    const A = this.own(a, 'matmul').data;
    const B = this.own(b, 'matmul').data;
    const { m, k, n } = matmulShape(a, b, options);
    // Products accumulate in double in both dtypes: more exact, and faster than
    // rounding to float32 on every += (the float32 result is rounded once, below).
    const C = new Float64Array(m * n);
    const product = options.transposeA
      ? options.transposeB
        ? matmulTT
        : matmulTN
      : options.transposeB
        ? matmulNT
        : matmulNN;
    product(A, B, C, m, k, n);
    if (this.dtype === 'float64') return this.wrap(C, [m, n]);
    const rounded = this.alloc(m * n);
    rounded.set(C);
    return this.wrap(rounded, [m, n]);
  }

  addBias(x: Tensor, bias: Tensor): Tensor {
    const X = this.own(x, 'addBias').data;
    const b = this.own(bias, 'addBias').data;
    const { m, n } = addBiasShape(x, bias);
    const out = this.alloc(m * n);
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) out[i * n + j] = X[i * n + j] + b[j];
    }
    return this.wrap(out, [m, n]);
  }

  sumColumns(x: Tensor): Tensor {
    const X = this.own(x, 'sumColumns').data;
    const [m, n] = matrixShape('sumColumns', x);
    const sums = new Float64Array(n); // accumulate in double, store in the dtype
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) sums[j] += X[i * n + j];
    }
    const out = this.alloc(n);
    out.set(sums);
    return this.wrap(out, [n]);
  }

  add(a: Tensor, b: Tensor): Tensor {
    return this.elementwise('add', a, b, (x, y) => x + y);
  }

  mul(a: Tensor, b: Tensor): Tensor {
    return this.elementwise('mul', a, b, (x, y) => x * y);
  }

  relu(x: Tensor): Tensor {
    const X = this.own(x, 'relu').data;
    const out = this.alloc(X.length);
    for (let i = 0; i < X.length; i++) out[i] = X[i] > 0 ? X[i] : 0;
    return this.wrap(out, x.shape);
  }

  reluBackward(dout: Tensor, out: Tensor): Tensor {
    // x <= 0 passes no gradient; out > 0 exactly where x > 0.
    return this.elementwise('reluBackward', dout, out, (d, y) => (y > 0 ? d : 0), ['dout', 'out']);
  }

  sigmoid(x: Tensor): Tensor {
    const X = this.own(x, 'sigmoid').data;
    const out = this.alloc(X.length);
    for (let i = 0; i < X.length; i++) out[i] = 1 / (1 + Math.exp(-X[i]));
    return this.wrap(out, x.shape);
  }

  sigmoidBackward(dout: Tensor, out: Tensor): Tensor {
    return this.elementwise('sigmoidBackward', dout, out, (d, y) => d * y * (1 - y), [
      'dout',
      'out',
    ]);
  }

  softmaxCrossEntropy(
    logits: Tensor,
    labels: Labels,
    delta = CROSS_ENTROPY_DELTA,
  ): SoftmaxCrossEntropyResult {
    const X = this.own(logits, 'softmaxCrossEntropy').data;
    const T = this.own(labels, 'softmaxCrossEntropy').data;
    const { batch, classes, oneHot } = labelsShape('softmaxCrossEntropy', logits, labels);
    if (!oneHot) checkClassIndices('softmaxCrossEntropy', T, classes);
    const probs = this.alloc(batch * classes);
    let lossSum = 0;
    for (let i = 0; i < batch; i++) {
      const row = i * classes;
      let max = -Infinity; // subtract the row's max so exp never overflows (logits of 1000)
      for (let j = 0; j < classes; j++) max = Math.max(max, X[row + j]);
      let sum = 0;
      for (let j = 0; j < classes; j++) sum += Math.exp(X[row + j] - max);
      for (let j = 0; j < classes; j++) probs[row + j] = Math.exp(X[row + j] - max) / sum;
      if (oneHot) {
        for (let j = 0; j < classes; j++) {
          if (T[row + j] !== 0) lossSum -= T[row + j] * Math.log(probs[row + j] + delta);
        }
      } else {
        lossSum -= Math.log(probs[row + T[i]] + delta);
      }
    }
    return { probs: this.wrap(probs, [batch, classes]), loss: this.scalar(lossSum / batch) };
  }

  softmaxCrossEntropyBackward(probs: Tensor, labels: Labels): Tensor {
    const Y = this.own(probs, 'softmaxCrossEntropyBackward').data;
    const T = this.own(labels, 'softmaxCrossEntropyBackward').data;
    const { batch, classes, oneHot } = labelsShape('softmaxCrossEntropyBackward', probs, labels);
    if (!oneHot) checkClassIndices('softmaxCrossEntropyBackward', T, classes);
    const dx = this.alloc(batch * classes);
    for (let i = 0; i < batch; i++) {
      const row = i * classes;
      for (let j = 0; j < classes; j++) {
        const target = oneHot ? T[row + j] : T[i] === j ? 1 : 0;
        dx[row + j] = (Y[row + j] - target) / batch;
      }
    }
    return this.wrap(dx, [batch, classes]);
  }

  sgdUpdate(param: Tensor, grad: Tensor, learningRate: number): void {
    const W = this.own(param, 'sgdUpdate').data;
    const G = this.own(grad, 'sgdUpdate').data;
    checkSameShape('sgdUpdate', param, grad, ['param', 'grad']);
    checkLearningRate(learningRate);
    for (let i = 0; i < W.length; i++) W[i] -= learningRate * G[i];
  }

  countCorrect(scores: Tensor, labels: Labels): Tensor {
    const Y = this.own(scores, 'countCorrect').data;
    const T = this.own(labels, 'countCorrect').data;
    const { batch, classes, oneHot } = labelsShape('countCorrect', scores, labels);
    if (!oneHot) checkClassIndices('countCorrect', T, classes);
    let correct = 0;
    for (let i = 0; i < batch; i++) {
      const predicted = argmax(Y, i * classes, classes);
      const label = oneHot ? argmax(T, i * classes, classes) : T[i];
      if (predicted === label) correct++;
    }
    return this.scalar(correct);
  }

  gatherRows(x: Tensor, indices: ArrayLike<number>): Tensor {
    const X = this.own(x, 'gatherRows').data;
    const shape = gatherShape(x, indices);
    const width = shape.length === 2 ? shape[1] : 1;
    const out = this.alloc(indices.length * width);
    for (let i = 0; i < indices.length; i++) {
      const start = indices[i] * width;
      out.set(X.subarray(start, start + width), i * width);
    }
    return this.wrap(out, shape);
  }

  // ---- helpers ------------------------------------------------------------------------

  private alloc(size: number): FloatArray {
    return this.dtype === 'float64' ? new Float64Array(size) : new Float32Array(size);
  }

  private wrap(data: FloatArray, shape: Shape): CpuTensor {
    this.live++;
    return new CpuTensor(shape, this.dtype, data, this);
  }

  private scalar(value: number): CpuTensor {
    const data = this.alloc(1);
    data[0] = value;
    return this.wrap(data, []);
  }

  private own(t: Tensor, kernel: string, { allowDisposed = false } = {}): CpuTensor {
    return ownTensor(
      t,
      kernel,
      'cpu',
      (x): x is CpuTensor => x instanceof CpuTensor && x.owner === this,
      allowDisposed,
    );
  }

  private elementwise(
    kernel: string,
    a: Tensor,
    b: Tensor,
    op: (x: number, y: number) => number,
    names = ['a', 'b'],
  ): Tensor {
    const A = this.own(a, kernel).data;
    const B = this.own(b, kernel).data;
    checkSameShape(kernel, a, b, names);
    const out = this.alloc(A.length);
    for (let i = 0; i < A.length; i++) out[i] = op(A[i], B[i]);
    return this.wrap(out, a.shape);
  }
}

/** The first index of the largest value, as numpy's argmax. */
function argmax(values: FloatArray, start: number, length: number): number {
  let best = 0;
  for (let j = 1; j < length; j++) if (values[start + j] > values[start + best]) best = j;
  return best;
}
