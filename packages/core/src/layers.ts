/**
 * Sections 5.5–5.6: the layers of a neural network, each a small class with `forward`
 * and `backward` side by side, as in the book's `common/layers.py`. The arithmetic is
 * the backend's (kernels); the structure is here.
 *
 * Ownership: a layer owns every tensor it returns and every tensor it caches. They stay
 * alive until the layer's next forward (for forward's results) or next backward (for
 * backward's results) replaces them, or until `dispose()`. Inputs stay the caller's; a
 * layer's parameters are the network's (it made them), the layer only reads them.
 */
import type { Backend, Labels } from './backend.js';
import { CROSS_ENTROPY_DELTA } from './contract.js';
import { ShapeError, UsageError } from './errors.js';
import type { Random } from './random.js';
import { formatShape, labelsShape, sameShape, sizeOf } from './shapes.js';
import type { Tensor } from './tensor.js';
import { type Window, windowDims } from './window.js';

/** What a network's `layers` hold: a step forward, and the way back. */
export interface Layer {
  /**
   * A step forward. `train` is the book's `train_flg`: Dropout drops and BatchNorm uses
   * the batch's statistics only in training; the other layers ignore it.
   */
  forward(x: Tensor, train?: boolean): Tensor;
  /**
   * The gradient with respect to the layer's input, from the gradient of its output.
   * `null` only where the layer was built not to compute it (the first layer with
   * weights: nothing below it needs one).
   */
  backward(dout: Tensor): Tensor | null;
  /** Its parameters by their short names — W, b, gamma, beta — which a network numbers (W1, gamma1). */
  readonly params?: Readonly<Record<string, Tensor>>;
  /** Their gradients after `backward`, by the same names (the book's dW, db, dgamma, dbeta). */
  readonly grads?: Readonly<Record<string, Tensor | null>>;
  /** What it learns without a gradient (BatchNorm's running mean and variance): saved with a model. */
  readonly state?: Readonly<Record<string, Tensor>>;
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
   * Compute dx in backward (default true). The first layer with weights of a network sees
   * the data (or layers with nothing to learn), whose gradient nobody needs, and skips
   * that product.
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

  get params() {
    return { W: this.W, b: this.b };
  }

  get grads() {
    return { W: this.dW, b: this.db };
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

export interface ConvolutionOptions extends AffineOptions {
  /** How far the filter moves between positions (default 1). */
  stride?: number;
  /** Rows and columns of zeros around each image (default 0). */
  pad?: number;
}

/**
 * 7.4.3 — a convolution of images [N, C, H, W] with filters W [FN, C, FH, FW] and a bias
 * b [FN]: im2col lays every window position out as a row, so the convolution is one
 * matrix product; the output is [N, FN, OH, OW].
 */
export class Convolution implements Layer {
  /** The input's windows as rows, [N·OH·OW, C·FH·FW]: what dW needs. */
  col: Tensor | null = null;
  xShape: readonly number[] = [];
  out: Tensor | null = null;
  dW: Tensor | null = null;
  db: Tensor | null = null;
  dx: Tensor | null = null;
  readonly window: Window;
  readonly inputGradient: boolean;

  constructor(
    private readonly backend: Backend,
    public W: Tensor,
    public b: Tensor,
    options: ConvolutionOptions = {},
  ) {
    if (W.shape.length !== 4 || b.shape.length !== 1 || b.shape[0] !== W.shape[0]) {
      throw new ShapeError(
        'Convolution',
        `W must be filters [FN, C, FH, FW] and b [FN], got W ${formatShape(W.shape)} and b ${formatShape(b.shape)}`,
      );
    }
    const [, , height, width] = W.shape;
    this.window = { height, width, stride: options.stride ?? 1, pad: options.pad ?? 0 };
    this.inputGradient = options.inputGradient ?? true;
  }

  get params() {
    return { W: this.W, b: this.b };
  }

  get grads() {
    return { W: this.dW, b: this.db };
  }

  forward(x: Tensor): Tensor {
    release(this.backend, this.col, this.out);
    this.col = null;
    this.out = null;
    const b = this.backend;
    const [filters, channels] = this.W.shape;
    const d = windowDims('Convolution', x.shape, this.window);
    if (d.channels !== channels) {
      throw new ShapeError(
        'Convolution',
        `input ${formatShape(x.shape)} has ${d.channels} channels, but the filters W ${formatShape(this.W.shape)} read ${channels}`,
      );
    }
    this.xShape = x.shape;
    this.col = b.im2col(x, this.window);
    this.out = b.tidy(() => {
      const colW = b.reshape(this.W, [filters, channels * d.windowHeight * d.windowWidth]);
      const rows = b.addBias(b.matmul(this.col as Tensor, colW, { transposeB: true }), this.b);
      // rows are (n, oy, ox), columns filters: to [N, FN, OH, OW], as the book's transpose(0, 3, 1, 2)
      return b.permute(b.reshape(rows, [d.batch, d.outHeight, d.outWidth, filters]), [0, 3, 1, 2]);
    });
    return this.out;
  }

  backward(dout: Tensor): Tensor | null {
    release(this.backend, this.dW, this.db, this.dx);
    this.dW = this.db = this.dx = null;
    const b = this.backend;
    const col = needs(this.col, 'Convolution');
    const [filters] = this.W.shape;
    // back to one row a window position: the book's dout.transpose(0, 2, 3, 1).reshape(-1, FN)
    const rows = b.tidy(() => b.reshape(b.permute(dout, [0, 2, 3, 1]), [col.shape[0], filters]));
    try {
      this.db = b.sumColumns(rows);
      this.dW = b.tidy(() => b.reshape(b.matmul(rows, col, { transposeA: true }), this.W.shape));
      if (this.inputGradient) {
        this.dx = b.tidy(() => {
          const colW = b.reshape(this.W, [filters, col.shape[1]]);
          return b.col2im(b.matmul(rows, colW), this.xShape, this.window);
        });
      }
    } finally {
      b.dispose(rows);
    }
    return this.dx;
  }

  dispose(): void {
    release(this.backend, this.col, this.out, this.dW, this.db, this.dx);
    this.col = this.out = this.dW = this.db = this.dx = null;
  }
}

/**
 * 7.4.4 — max pooling over images [N, C, H, W]: each window's largest value; backward
 * sends each window's gradient to where that value was.
 */
export class Pooling implements Layer {
  out: Tensor | null = null;
  /** Where in each window its maximum was, [N·C·OH·OW]. */
  argmax: Tensor | null = null;
  xShape: readonly number[] = [];
  dx: Tensor | null = null;
  readonly window: Window;

  /** A window of height × width (width defaults to height), moving `stride` (default: its height), over `pad` zeros. */
  constructor(
    private readonly backend: Backend,
    options: { height: number; width?: number; stride?: number; pad?: number },
  ) {
    this.window = {
      height: options.height,
      width: options.width ?? options.height,
      stride: options.stride ?? options.height,
      pad: options.pad ?? 0,
    };
  }

  forward(x: Tensor): Tensor {
    release(this.backend, this.out, this.argmax);
    this.out = this.argmax = null;
    this.xShape = x.shape;
    const { out, argmax } = this.backend.maxPool(x, this.window);
    this.out = out;
    this.argmax = argmax;
    return out;
  }

  backward(dout: Tensor): Tensor {
    release(this.backend, this.dx);
    this.dx = null;
    const argmax = needs(this.argmax, 'Pooling');
    this.dx = this.backend.maxPoolBackward(dout, argmax, this.xShape, this.window);
    return this.dx;
  }

  dispose(): void {
    release(this.backend, this.out, this.argmax, this.dx);
    this.out = this.argmax = this.dx = null;
  }
}

export interface BatchNormalizationOptions {
  /** How much of the running statistics each training batch keeps (default 0.9, the book's). */
  momentum?: number;
  /** Running statistics to start from (a saved model's); zeros otherwise, as the book's. */
  runningMean?: Tensor;
  runningVar?: Tensor;
}

/**
 * 6.3 — batch normalization: each feature of x [N, D] (or of images flattened per
 * sample, as the book does) shifted and scaled to mean 0 and variance 1 by the batch's
 * statistics in training, by running averages of them at test, then γ·x̂ + β.
 */
export class BatchNormalization implements Layer {
  /** The book's epsilon, written there as 10e-7: 1e-6. */
  static readonly EPSILON = 1e-6;
  readonly momentum: number;
  runningMean: Tensor;
  runningVar: Tensor;
  /** What backward needs from the last forward in training: x − μ, x̂ and √(σ² + ε). */
  xc: Tensor | null = null;
  xn: Tensor | null = null;
  std: Tensor | null = null;
  out: Tensor | null = null;
  dgamma: Tensor | null = null;
  dbeta: Tensor | null = null;
  dx: Tensor | null = null;

  constructor(
    private readonly backend: Backend,
    public gamma: Tensor,
    public beta: Tensor,
    options: BatchNormalizationOptions = {},
  ) {
    const size = gamma.size;
    if (gamma.shape.length !== 1 || !sameShape(beta.shape, gamma.shape)) {
      throw new ShapeError(
        'BatchNormalization',
        `gamma and beta must be [D], one value a feature, got ${formatShape(gamma.shape)} and ${formatShape(beta.shape)}`,
      );
    }
    this.momentum = options.momentum ?? 0.9;
    if (!(this.momentum >= 0 && this.momentum < 1)) {
      throw new UsageError(`BatchNormalization: momentum must be in [0, 1), got ${this.momentum}`);
    }
    this.runningMean = options.runningMean ?? backend.tensor(new Float64Array(size), [size]);
    this.runningVar = options.runningVar ?? backend.tensor(new Float64Array(size), [size]);
    for (const t of [this.runningMean, this.runningVar]) {
      if (!sameShape(t.shape, gamma.shape)) {
        throw new ShapeError(
          'BatchNormalization',
          `running statistics must be ${formatShape(gamma.shape)}, got ${formatShape(t.shape)}`,
        );
      }
    }
  }

  get params() {
    return { gamma: this.gamma, beta: this.beta };
  }

  get grads() {
    return { gamma: this.dgamma, beta: this.dbeta };
  }

  get state() {
    return { runningMean: this.runningMean, runningVar: this.runningVar };
  }

  forward(x: Tensor, train = false): Tensor {
    release(this.backend, this.xc, this.xn, this.std, this.out);
    this.xc = this.xn = this.std = this.out = null;
    const b = this.backend;
    const features = this.gamma.size;
    const batch = x.shape[0] ?? 1;
    if (x.shape.length < 2 || x.size !== batch * features) {
      throw new ShapeError(
        'BatchNormalization',
        `input ${formatShape(x.shape)} must hold ${features} values a sample, for gamma ${formatShape(this.gamma.shape)}`,
      );
    }
    const rows = b.reshape(x, [batch, features]); // 4-D images flattened per sample, as the book's
    try {
      if (!train) {
        this.out = b.tidy(() =>
          b.reshape(
            b.batchNormalize(
              rows,
              this.runningMean,
              this.runningVar,
              this.gamma,
              this.beta,
              BatchNormalization.EPSILON,
            ),
            x.shape,
          ),
        );
        return this.out;
      }
      const [mean, variance] = b.tidy(() => {
        const mu = b.div(b.sum(rows, 0), batch);
        const centred = b.sub(rows, mu);
        return [mu, b.div(b.sum(b.mul(centred, centred), 0), batch)];
      });
      this.xc = b.sub(rows, mean);
      this.std = b.tidy(() => b.sqrt(b.add(variance, BatchNormalization.EPSILON)));
      this.xn = b.div(this.xc, this.std);
      this.out = b.tidy(() =>
        b.reshape(b.add(b.mul(this.gamma, this.xn as Tensor), this.beta), x.shape),
      );
      // running ← momentum·running + (1 − momentum)·batch, in place
      const m = this.momentum;
      b.tidy(() => {
        b.assign(this.runningMean, b.add(b.mul(this.runningMean, m), b.mul(mean, 1 - m)));
        b.assign(this.runningVar, b.add(b.mul(this.runningVar, m), b.mul(variance, 1 - m)));
      });
      b.dispose(mean);
      b.dispose(variance);
      return this.out;
    } finally {
      b.dispose(rows);
    }
  }

  /** The book's backward through x̂, σ and μ (6.3.1). */
  backward(dout: Tensor): Tensor {
    release(this.backend, this.dgamma, this.dbeta, this.dx);
    this.dgamma = this.dbeta = this.dx = null;
    const b = this.backend;
    const [xc, xn, std] = [this.xc, this.xn, this.std].map((t) =>
      needs(t, 'BatchNormalization (in training)'),
    );
    const [batch, features] = xn.shape;
    const d = b.reshape(dout, [batch, features]);
    try {
      this.dbeta = b.sum(d, 0);
      this.dgamma = b.tidy(() => b.sum(b.mul(xn, d), 0));
      this.dx = b.tidy(() => {
        const dxn = b.mul(this.gamma, d);
        let dxc = b.div(dxn, std);
        const dstd = b.neg(b.sum(b.div(b.mul(dxn, xc), b.mul(std, std)), 0));
        const dvar = b.div(b.mul(dstd, 0.5), std);
        dxc = b.add(dxc, b.mul(b.mul(xc, 2 / batch), dvar));
        const dmu = b.sum(dxc, 0);
        return b.reshape(b.sub(dxc, b.div(dmu, batch)), dout.shape);
      });
    } finally {
      b.dispose(d);
    }
    return this.dx;
  }

  dispose(): void {
    release(this.backend, this.xc, this.xn, this.std, this.out, this.dgamma, this.dbeta, this.dx);
    this.xc = this.xn = this.std = this.out = this.dgamma = this.dbeta = this.dx = null;
  }
}

/**
 * 6.4.3 — dropout: in training each value is kept where a uniform draw exceeds `ratio`
 * (the mask, from core's seeded Random, so a seed gives the same masks on every backend)
 * and the gradient flows only where it was kept; at test every value is scaled by
 * (1 − ratio), as the book's.
 */
export class Dropout implements Layer {
  mask: Tensor | null = null;
  out: Tensor | null = null;
  dx: Tensor | null = null;

  constructor(
    private readonly backend: Backend,
    readonly ratio: number,
    private readonly random: Random,
  ) {
    if (!(ratio >= 0 && ratio < 1)) {
      throw new UsageError(
        `Dropout: ratio must be in [0, 1), the share of values dropped; got ${ratio}`,
      );
    }
  }

  forward(x: Tensor, train = false): Tensor {
    release(this.backend, this.mask, this.out);
    this.mask = this.out = null;
    const b = this.backend;
    if (!train) {
      this.out = b.mul(x, 1 - this.ratio);
      return this.out;
    }
    const keep = new Float64Array(x.size);
    for (let i = 0; i < keep.length; i++) keep[i] = this.random.uniform() > this.ratio ? 1 : 0;
    this.mask = b.tensor(keep, x.shape);
    this.out = b.mul(x, this.mask);
    return this.out;
  }

  backward(dout: Tensor): Tensor {
    release(this.backend, this.dx);
    this.dx = null;
    this.dx = this.backend.mul(dout, needs(this.mask, 'Dropout (in training)'));
    return this.dx;
  }

  dispose(): void {
    release(this.backend, this.mask, this.out, this.dx);
    this.mask = this.out = this.dx = null;
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
