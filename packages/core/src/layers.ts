/**
 * Sections 5.5–5.6: the layers of a neural network, each a small class with `forward`
 * and `backward` side by side, as in the book's `common/layers.py`. The arithmetic is
 * the backend's (kernels); the structure is here.
 *
 * Ownership: a layer owns every tensor it returns and every tensor it caches. They stay
 * alive until the layer's next forward (for forward's results) or next backward (for
 * backward's results) replaces them, or until `dispose()`. Inputs stay the caller's.
 */
import type { Backend, Labels } from './backend.js';
import { CROSS_ENTROPY_DELTA } from './contract.js';
import { ShapeError, UsageError } from './errors.js';
import { formatShape, labelsShape, sizeOf } from './shapes.js';
import type { Tensor } from './tensor.js';

/** What a network's `layers` hold: a step forward, and the way back. */
export interface Layer {
  forward(x: Tensor): Tensor;
  /**
   * The gradient with respect to the layer's input, from the gradient of its output.
   * `null` only where the layer was built not to compute it (the first Affine: nothing
   * below it needs one).
   */
  backward(dout: Tensor): Tensor | null;
  dispose(): void;
}

/** 5.5.1 — y = max(x, 0); the gradient passes only where x > 0. */
export class Relu implements Layer {
  /** forward's output. The book keeps `mask = (x <= 0)`; out > 0 exactly where x > 0, so `out` is that mask. */
  out: Tensor | null = null;
  dx: Tensor | null = null;

  constructor(private readonly backend: Backend) {}

  forward(x: Tensor): Tensor {
    release(this.backend, this.out);
    this.out = this.backend.relu(x);
    return this.out;
  }

  backward(dout: Tensor): Tensor {
    release(this.backend, this.dx);
    this.dx = this.backend.reluBackward(dout, needs(this.out, 'Relu'));
    return this.dx;
  }

  dispose(): void {
    release(this.backend, this.out, this.dx);
    this.out = this.dx = null;
  }
}

/** 5.5.2 — y = 1 / (1 + exp(−x)); dx = dout · y · (1 − y). */
export class Sigmoid implements Layer {
  out: Tensor | null = null;
  dx: Tensor | null = null;

  constructor(private readonly backend: Backend) {}

  forward(x: Tensor): Tensor {
    release(this.backend, this.out);
    this.out = this.backend.sigmoid(x);
    return this.out;
  }

  backward(dout: Tensor): Tensor {
    release(this.backend, this.dx);
    this.dx = this.backend.sigmoidBackward(dout, needs(this.out, 'Sigmoid'));
    return this.dx;
  }

  dispose(): void {
    release(this.backend, this.out, this.dx);
    this.out = this.dx = null;
  }
}

export interface AffineOptions {
  /**
   * Compute dx in backward (default true). The first layer of a network sees the data
   * itself, whose gradient nobody needs, and skips that product.
   */
  inputGradient?: boolean;
}

/** 5.6.2 — y = x·W + b on a batch; x of any rank is flattened to [batch, features]. */
export class Affine implements Layer {
  /** The input, flattened to [batch, features]. */
  x: Tensor | null = null;
  originalXShape: readonly number[] = [];
  out: Tensor | null = null;
  dW: Tensor | null = null;
  db: Tensor | null = null;
  dx: Tensor | null = null;
  readonly inputGradient: boolean;

  constructor(
    private readonly backend: Backend,
    public W: Tensor,
    public b: Tensor,
    options: AffineOptions = {},
  ) {
    this.inputGradient = options.inputGradient ?? true;
    if (W.shape.length !== 2 || b.shape.length !== 1 || b.shape[0] !== W.shape[1]) {
      throw new ShapeError(
        'Affine',
        `W must be [in, out] and b [out], got W ${formatShape(W.shape)} and b ${formatShape(b.shape)}`,
      );
    }
  }

  forward(x: Tensor): Tensor {
    release(this.backend, this.x, this.out);
    const batch = x.shape[0] ?? 1;
    const features = sizeOf(x.shape) / batch;
    if (x.shape.length < 2 || features !== this.W.shape[0]) {
      throw new ShapeError(
        'Affine',
        `input ${formatShape(x.shape)} must be [batch, ${this.W.shape[0]}] or [batch, …] with ${this.W.shape[0]} values a sample, for W ${formatShape(this.W.shape)}`,
      );
    }
    this.originalXShape = x.shape;
    this.x = this.backend.reshape(x, [batch, features]);

    const xW = this.backend.matmul(this.x, this.W);
    this.out = this.backend.addBias(xW, this.b);
    this.backend.dispose(xW);
    return this.out;
  }

  backward(dout: Tensor): Tensor | null {
    release(this.backend, this.dW, this.db, this.dx);
    const x = needs(this.x, 'Affine');
    this.dW = this.backend.matmul(x, dout, { transposeA: true }); // xᵀ·dout
    this.db = this.backend.sumColumns(dout); // Σ over the batch
    if (!this.inputGradient) {
      this.dx = null;
      return null;
    }
    const dx = this.backend.matmul(dout, this.W, { transposeB: true }); // dout·Wᵀ
    this.dx = this.backend.reshape(dx, this.originalXShape); // the input's own shape back
    this.backend.dispose(dx);
    return this.dx;
  }

  dispose(): void {
    release(this.backend, this.x, this.out, this.dW, this.db, this.dx);
    this.x = this.out = this.dW = this.db = this.dx = null;
  }
}

/**
 * 5.6.3 — softmax and cross-entropy as one layer, so the backward is simply
 * (y − t) / batch. Labels are class indices [batch] or one-hot [batch, classes].
 */
export class SoftmaxWithLoss {
  /**
   * The book's 1e-7 inside the log, so a probability of exactly 0 gives a large finite
   * loss instead of Infinity. backward's (y − t) / batch is the derivative of the loss
   * without it, so the gradient check sets it to 0 (see gradientCheck).
   */
  delta = CROSS_ENTROPY_DELTA;
  loss: Tensor | null = null;
  /** softmax's output. */
  y: Tensor | null = null;
  /** The labels (the caller's tensor; not owned here). */
  t: Labels | null = null;
  dx: Tensor | null = null;

  constructor(private readonly backend: Backend) {}

  forward(x: Tensor, t: Labels): Tensor {
    release(this.backend, this.y, this.loss);
    labelsShape('SoftmaxWithLoss', x, t);
    this.t = t;
    const { probs, loss } = this.backend.softmaxCrossEntropy(x, t, this.delta);
    this.y = probs;
    this.loss = loss;
    return this.loss;
  }

  /** The loss ends the graph, so the incoming derivative is 1 (the book's `dout=1`). */
  backward(): Tensor {
    release(this.backend, this.dx);
    this.dx = this.backend.softmaxCrossEntropyBackward(
      needs(this.y, 'SoftmaxWithLoss'),
      this.t as Labels,
    );
    return this.dx;
  }

  dispose(): void {
    release(this.backend, this.y, this.loss, this.dx);
    this.y = this.loss = this.dx = this.t = null;
  }
}

function release(backend: Backend, ...tensors: (Tensor | null)[]): void {
  for (const t of tensors) if (t) backend.dispose(t);
}

function needs(cached: Tensor | null, layer: string): Tensor {
  if (!cached) {
    throw new UsageError(`${layer}: backward was called before forward; run forward first`);
  }
  return cached;
}
