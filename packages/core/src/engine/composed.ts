/**
 * The kernels core composes from the primitives, written as the book's numpy is: every
 * backend gets all of them by implementing the primitives alone. A backend may override
 * any of these where a fused kernel is faster (`KernelBackend.softmax`, …); the
 * conformance suite checks each override against the composition here.
 *
 * Shapes and labels were checked by the caller (`Backend`); each runs inside `tidy`, so
 * every intermediate is freed and only the result is the caller's.
 */
import type {
  Backend,
  ConvolutionGradients,
  ConvolutionResult,
  Labels,
  MaxPoolResult,
  SoftmaxCrossEntropyResult,
} from './backend.js';
import type { AdamStep, WindowDims } from './contract.js';
import type { Tensor } from './tensor.js';
import { im2colShape } from './window.js';

/** x + b on every row (numpy broadcasts [n] across [m,n]). */
export function addBias(b: Backend, x: Tensor, bias: Tensor): Tensor {
  return b.add(x, bias);
}

/** Σ over the batch: np.sum(dout, axis=0). */
export function sumColumns(b: Backend, x: Tensor): Tensor {
  return b.sum(x, 0);
}

export function relu(b: Backend, x: Tensor): Tensor {
  return b.maximum(x, 0);
}

/** dout · (out > 0): x <= 0 passed no gradient, and out > 0 exactly where x > 0. */
export function reluBackward(b: Backend, dout: Tensor, out: Tensor): Tensor {
  return b.tidy(() => b.mul(dout, b.greater(out, 0)));
}

/** 1 / (1 + exp(−x)). */
export function sigmoid(b: Backend, x: Tensor): Tensor {
  return b.tidy(() => b.div(1, b.add(1, b.exp(b.neg(x)))));
}

/** dout · y · (1 − y). */
export function sigmoidBackward(b: Backend, dout: Tensor, out: Tensor): Tensor {
  return b.tidy(() => b.mul(b.mul(dout, out), b.sub(1, out)));
}

/** The book's softmax: subtract each row's max (so exp never overflows), exp, divide by the row's sum. */
export function softmax(b: Backend, x: Tensor): Tensor {
  return b.tidy(() => {
    const e = b.exp(b.sub(x, b.max(x, 1, true)));
    return b.div(e, b.sum(e, 1, true));
  });
}

/** One-hot rows [batch, classes] from class indices [batch]: (t[i] == j) for every class j. */
export function oneHot(b: Backend, indices: Tensor, classes: number): Tensor {
  return b.tidy(() => {
    const column = b.reshape(indices, [indices.size, 1]);
    const classIds = b.tensor(
      Array.from({ length: classes }, (_, j) => j),
      [1, classes],
    );
    return b.equal(column, classIds);
  });
}

function targets(b: Backend, labels: Labels, classes: number): Tensor {
  return labels.shape.length === 2 ? labels : oneHot(b, labels, classes);
}

/** softmax, then the book's cross_entropy_error: −Σ t·log(y + delta) / batch. */
export function softmaxCrossEntropy(
  b: Backend,
  logits: Tensor,
  labels: Labels,
  delta: number,
): SoftmaxCrossEntropyResult {
  const [batch, classes] = logits.shape;
  return b.tidy(() => {
    const probs = b.softmax(logits);
    const t = targets(b, labels, classes);
    const loss = b.div(b.neg(b.sum(b.mul(t, b.log(b.add(probs, delta))))), batch);
    return { probs, loss };
  });
}

/** (y − t) / batch. */
export function softmaxCrossEntropyBackward(b: Backend, probs: Tensor, labels: Labels): Tensor {
  const [batch, classes] = probs.shape;
  return b.tidy(() => b.div(b.sub(probs, targets(b, labels, classes)), batch));
}

/** W ← W − lr · dW. */
export function sgdUpdate(b: Backend, param: Tensor, grad: Tensor, learningRate: number): void {
  b.tidy(() => b.assign(param, b.sub(param, b.mul(grad, learningRate))));
}

/**
 * Adam's step, in place (6.1.6, the book's `Adam.update`): the moments follow the gradient
 * by their rates, and the parameter moves by lr_t · m / (√v + ε).
 */
export function adamUpdate(
  b: Backend,
  param: Tensor,
  grad: Tensor,
  m: Tensor,
  v: Tensor,
  { learningRate, beta1, beta2, epsilon }: AdamStep,
): void {
  b.tidy(() => {
    b.assign(m, b.add(m, b.mul(b.sub(grad, m), 1 - beta1)));
    b.assign(v, b.add(v, b.mul(b.sub(b.mul(grad, grad), v), 1 - beta2)));
    b.assign(param, b.sub(param, b.div(b.mul(m, learningRate), b.add(b.sqrt(v), epsilon))));
  });
}

/** Σ (argmax(y, axis=1) == t), with one-hot t turned into indices by its own argmax. */
export function countCorrect(b: Backend, scores: Tensor, labels: Labels): Tensor {
  return b.tidy(() => {
    const indices = labels.shape.length === 2 ? b.argmax(labels, 1) : labels;
    return b.sum(b.equal(b.argmax(scores, 1), indices));
  });
}

/** The book's im2col: a gather of each image by im2col's map, one window position a row. */
export function im2col(b: Backend, x: Tensor, d: WindowDims): Tensor {
  return b.tidy(() => b.reshape(b.gather(x, b.im2colMap(d)), im2colShape(d)));
}

/** The book's col2im: im2col's adjoint, each value added back to the pixel it came from. */
export function col2im(b: Backend, col: Tensor, d: WindowDims): Tensor {
  const perImage = d.outHeight * d.outWidth * d.channels * d.windowHeight * d.windowWidth;
  return b.tidy(() => {
    const dx = b.scatterAdd(b.reshape(col, [d.batch, perImage]), b.im2colMap(d));
    return b.reshape(dx, [d.batch, d.channels, d.height, d.width]);
  });
}

/**
 * 7.4.3 — the book's Convolution.forward: im2col lays every window position out as a
 * row, so the convolution is one matrix product with the filters as columns, plus the
 * bias; rows are (n, oy, ox) and columns filters, so the result goes to [N, FN, OH, OW]
 * as the book's transpose(0, 3, 1, 2). col is kept, as the book's layer keeps it, for
 * the gradients.
 */
export function convolution(
  b: Backend,
  x: Tensor,
  W: Tensor,
  bias: Tensor,
  d: WindowDims & { filters: number },
): ConvolutionResult {
  return b.tidy(() => {
    const col = b.im2col(x, filterWindow(d));
    const colW = b.reshape(W, [d.filters, d.channels * d.windowHeight * d.windowWidth]);
    const rows = b.addBias(b.matmul(col, colW, { transposeB: true }), bias);
    const out = b.reshape(rows, [d.batch, d.outHeight, d.outWidth, d.filters]);
    return { out: b.permute(out, [0, 3, 1, 2]), col };
  });
}

/**
 * The book's Convolution.backward for the parameters: dout back to one row a window
 * position (its transpose(0, 2, 3, 1)), db the sum of the rows, dW = colᵀ·rows as the
 * filters' shape — col being forward's where the caller kept it, else the input's
 * im2col again.
 */
export function convolutionGradients(
  b: Backend,
  x: Tensor,
  dout: Tensor,
  filterShape: readonly number[],
  d: WindowDims & { filters: number },
  kept: Tensor | null,
): ConvolutionGradients {
  return b.tidy(() => {
    const rows = b.reshape(b.permute(dout, [0, 2, 3, 1]), [
      d.batch * d.outHeight * d.outWidth,
      d.filters,
    ]);
    const col = kept ?? b.im2col(x, filterWindow(d));
    return {
      db: b.sumColumns(rows),
      dW: b.reshape(b.matmul(rows, col, { transposeA: true }), filterShape),
    };
  });
}

function filterWindow(d: WindowDims) {
  return { height: d.windowHeight, width: d.windowWidth, stride: d.stride, pad: d.pad };
}

/** Each window as a row (pooling's map), its max and where the max is: np.max and np.argmax along axis 1. */
export function maxPool(b: Backend, x: Tensor, d: WindowDims): MaxPoolResult {
  const windows = d.batch * d.channels * d.outHeight * d.outWidth;
  return b.tidy(() => {
    const cols = b.reshape(b.gather(x, b.poolMap(d)), [windows, d.windowHeight * d.windowWidth]);
    return {
      out: b.reshape(b.max(cols, 1), [d.batch, d.channels, d.outHeight, d.outWidth]),
      argmax: b.argmax(cols, 1),
    };
  });
}

/**
 * The book's Pooling.backward: each window's dout goes to the position of its max — a
 * one-hot row (argmax == column) times dout — and back to the pixels (the adjoint of the
 * windows' gather).
 */
export function maxPoolBackward(b: Backend, dout: Tensor, argmax: Tensor, d: WindowDims): Tensor {
  const windows = d.batch * d.channels * d.outHeight * d.outWidth;
  const size = d.windowHeight * d.windowWidth;
  return b.tidy(() => {
    const positions = b.tensor(
      Array.from({ length: size }, (_, j) => j),
      [1, size],
    );
    const routed = b.mul(
      b.equal(b.reshape(argmax, [windows, 1]), positions),
      b.reshape(dout, [windows, 1]),
    );
    const dx = b.scatterAdd(
      b.reshape(routed, [d.batch, d.channels * d.outHeight * d.outWidth * size]),
      b.poolMap(d),
    );
    return b.reshape(dx, [d.batch, d.channels, d.height, d.width]);
  });
}

/** γ·(x − μ)/√(σ² + ε) + β, column by column: the book's BatchNormalization forward. */
export function batchNormalize(
  b: Backend,
  x: Tensor,
  mean: Tensor,
  variance: Tensor,
  gamma: Tensor,
  beta: Tensor,
  epsilon: number,
): Tensor {
  return b.tidy(() => {
    const xn = b.div(b.sub(x, mean), b.sqrt(b.add(variance, epsilon)));
    return b.add(b.mul(gamma, xn), beta);
  });
}
