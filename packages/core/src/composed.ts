/**
 * The kernels core composes from the primitives, written as the book's numpy is: every
 * backend gets all of them by implementing the primitives alone. A backend may override
 * any of these where a fused kernel is faster (`KernelBackend.softmax`, …); the
 * conformance suite checks each override against the composition here.
 *
 * Shapes and labels were checked by the caller (`Backend`); each runs inside `tidy`, so
 * every intermediate is freed and only the result is the caller's.
 */
import type { Backend, Labels, SoftmaxCrossEntropyResult } from './backend.js';
import type { Tensor } from './tensor.js';

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

/** Σ (argmax(y, axis=1) == t), with one-hot t turned into indices by its own argmax. */
export function countCorrect(b: Backend, scores: Tensor, labels: Labels): Tensor {
  return b.tidy(() => {
    const indices = labels.shape.length === 2 ? b.argmax(labels, 1) : labels;
    return b.sum(b.equal(b.argmax(scores, 1), indices));
  });
}
