/**
 * Sections 5.5–5.6: the layers of a neural network, each a small class with `forward`
 * and `backward` side by side, as in the book's `common/layers.py`. The arithmetic is
 * the backend's (kernels); the structure is here.
 *
 * Ownership: a layer owns every tensor it returns and every tensor it caches. They stay
 * alive until the layer's next forward (for forward's results) or next backward (for
 * backward's results) replaces them, or until `dispose()`. Inputs stay the caller's; a
 * layer's parameters are the network's (it made them), the layer only reads them.
 *
 * After each class, its descriptor: the layer as JSON (its spec), in the words of a layer
 * list, and how a network builds it (layer-descriptor.ts).
 */
import type { Backend, Labels } from '../engine/backend.js';
import { CROSS_ENTROPY_DELTA } from '../engine/contract.js';
import { ShapeError, UsageError } from '../engine/errors.js';
import { formatShape, labelsShape, sameShape, sizeOf } from '../engine/shapes.js';
import type { Tensor } from '../engine/tensor.js';
import { type Window, windowDims } from '../engine/window.js';
import {
  type BuildContext,
  describeWindow,
  fraction,
  fromForward,
  images,
  initScale,
  type LayerDescriptor,
  pair,
  poolingWindow,
  releaseAll,
  sizeOfWords,
  type WeightInit,
  whole,
  windowFits,
} from './layer-descriptor.js';
import type { Random } from './random.js';

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
    releaseAll(this.backend, this.out);
    this.out = this.backend.relu(x);
    return this.out;
  }

  backward(dout: Tensor): Tensor {
    releaseAll(this.backend, this.dx);
    this.dx = this.backend.reluBackward(dout, fromForward(this.out, 'Relu'));
    return this.dx;
  }

  dispose(): void {
    releaseAll(this.backend, this.out, this.dx);
    this.out = this.dx = null;
  }
}

export type ReluSpec = { type: 'relu' };
export const reluDescriptor: LayerDescriptor<ReluSpec> = {
  type: 'relu',
  name: 'Relu',
  keys: [],
  words: 'relu',
  build: (_spec, input, { backend }) => ({ layer: new Relu(backend), output: [...input] }),
};

/** 5.5.2 — y = 1 / (1 + exp(−x)); dx = dout · y · (1 − y). */
export class Sigmoid implements Layer {
  out: Tensor | null = null;
  dx: Tensor | null = null;

  constructor(private readonly backend: Backend) {}

  forward(x: Tensor): Tensor {
    releaseAll(this.backend, this.out);
    this.out = this.backend.sigmoid(x);
    return this.out;
  }

  backward(dout: Tensor): Tensor {
    releaseAll(this.backend, this.dx);
    this.dx = this.backend.sigmoidBackward(dout, fromForward(this.out, 'Sigmoid'));
    return this.dx;
  }

  dispose(): void {
    releaseAll(this.backend, this.out, this.dx);
    this.out = this.dx = null;
  }
}

export type SigmoidSpec = { type: 'sigmoid' };
export const sigmoidDescriptor: LayerDescriptor<SigmoidSpec> = {
  type: 'sigmoid',
  name: 'Sigmoid',
  keys: [],
  words: 'sigmoid',
  build: (_spec, input, { backend }) => ({ layer: new Sigmoid(backend), output: [...input] }),
};

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
    releaseAll(this.backend, this.x, this.out);
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
    releaseAll(this.backend, this.dW, this.db, this.dx);
    const x = fromForward(this.x, 'Affine');
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
    releaseAll(this.backend, this.x, this.out, this.dW, this.db, this.dx);
    this.x = this.out = this.dW = this.db = this.dx = null;
  }
}

/** x·W + b to `units` outputs (5.6.2); any input is flattened per sample. */
export type AffineSpec = { type: 'affine'; units: number; weightInit?: WeightInit };
export const affineDescriptor: LayerDescriptor<AffineSpec> = {
  type: 'affine',
  name: 'Affine',
  keys: ['units', 'weightInit'],
  words: 'affine UNITS',
  parse: ([units]) => ({ type: 'affine', units }),
  describe: (spec) => `affine ${spec.units ?? '?'}`,
  build(spec, input, ctx) {
    const units = whole(ctx.where, 'units', spec.units);
    const fanIn = sizeOf(input);
    const std = initScale(ctx.where, spec.weightInit ?? ctx.weightInit, fanIn);
    const W = ctx.make(ctx.numbered('W'), [fanIn, units], { std });
    const b = ctx.make(ctx.numbered('b'), [units], { value: 0 });
    return {
      layer: new Affine(ctx.backend, W, b, { inputGradient: ctx.inputGradient }),
      output: [units],
    };
  },
};

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
  /** The input, [N, C, H, W]: what the gradients need. */
  x: Tensor | null = null;
  /**
   * Its im2col rows, as the book's layer keeps them, where the backend composed the
   * convolution and this was a training step; null where it convolved directly.
   */
  col: Tensor | null = null;
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

  forward(x: Tensor, train = false): Tensor {
    releaseAll(this.backend, this.x, this.col, this.out);
    this.x = this.col = this.out = null;
    const b = this.backend;
    const [, channels] = this.W.shape;
    const d = windowDims('Convolution', x.shape, this.window);
    if (d.channels !== channels) {
      throw new ShapeError(
        'Convolution',
        `input ${formatShape(x.shape)} has ${d.channels} channels, but the filters W ${formatShape(this.W.shape)} read ${channels}`,
      );
    }
    // im2col, one matrix product with the filters, the bias, back to [N, FN, OH, OW]
    // (Backend.convolution: the book's steps, or a backend's direct kernel)
    const { out, col } = b.convolution(x, this.W, this.b, this.window);
    this.out = out;
    // kept for backward only in training: at test it would hold N·OH·OW rows for nothing
    if (train) this.col = col;
    else if (col) b.dispose(col);
    this.x = b.reshape(x, x.shape); // a handle of its own: the caller may dispose x
    return this.out;
  }

  backward(dout: Tensor): Tensor | null {
    releaseAll(this.backend, this.dW, this.db, this.dx);
    this.dW = this.db = this.dx = null;
    const b = this.backend;
    const x = fromForward(this.x, 'Convolution');
    // db: dout summed over all but the filters; dW: the windows' rows times dout's
    const { dW, db } = b.convolutionGradients(x, dout, this.W.shape, this.window, this.col);
    this.dW = dW;
    this.db = db;
    if (this.inputGradient) {
      const [filters] = this.W.shape;
      const patch = sizeOf(this.W.shape) / (filters as number);
      this.dx = b.tidy(() => {
        // back to one row a window position (the book's dout.transpose(0, 2, 3, 1)), times
        // the filters, and each row's values added back where im2col read them
        const rows = b.reshape(b.permute(dout, [0, 2, 3, 1]), [
          dout.size / (filters as number),
          filters as number,
        ]);
        const colW = b.reshape(this.W, [filters as number, patch]);
        return b.col2im(b.matmul(rows, colW), x.shape, this.window);
      });
    }
    return this.dx;
  }

  dispose(): void {
    releaseAll(this.backend, this.x, this.col, this.out, this.dW, this.db, this.dx);
    this.x = this.col = this.out = this.dW = this.db = this.dx = null;
  }
}

/** `filters` filters of size×size (or [height, width]) over images [C, H, W] (7.4). */
export type ConvolutionSpec = {
  type: 'conv';
  filters: number;
  size: number | [number, number];
  stride?: number;
  pad?: number;
  weightInit?: WeightInit;
};
export const convolutionDescriptor: LayerDescriptor<ConvolutionSpec> = {
  type: 'conv',
  name: 'Conv',
  keys: ['filters', 'size', 'stride', 'pad', 'weightInit'],
  words: 'conv FILTERS HEIGHT [WIDTH] [stride=S] [pad=P]',
  readsImages: true,
  parse: ([filters, height, width], options) => ({
    type: 'conv',
    filters,
    size: sizeOfWords(height, width),
    ...options,
  }),
  describe: (spec) => `conv ${spec.filters ?? '?'} ${describeWindow(spec)}`,
  build(spec, input, ctx) {
    const { where } = ctx;
    const filters = whole(where, 'filters', spec.filters);
    const [fh, fw] = pair(where, 'size', spec.size);
    const stride = whole(where, 'stride', spec.stride ?? 1);
    const pad = whole(where, 'pad', spec.pad ?? 0, 0);
    const [channels] = images(where, input);
    const d = windowFits(where, input, { height: fh, width: fw, stride, pad });
    const std = initScale(where, spec.weightInit ?? ctx.weightInit, channels * fh * fw);
    const W = ctx.make(ctx.numbered('W'), [filters, channels, fh, fw], { std });
    const b = ctx.make(ctx.numbered('b'), [filters], { value: 0 });
    return {
      layer: new Convolution(ctx.backend, W, b, { stride, pad, inputGradient: ctx.inputGradient }),
      output: [filters, d.outHeight, d.outWidth],
      largest: d.outHeight * d.outWidth * channels * fh * fw, // im2col's rows of a sample
    };
  },
};

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
    releaseAll(this.backend, this.out, this.argmax);
    this.out = this.argmax = null;
    this.xShape = x.shape;
    const { out, argmax } = this.backend.maxPool(x, this.window);
    this.out = out;
    this.argmax = argmax;
    return out;
  }

  backward(dout: Tensor): Tensor {
    releaseAll(this.backend, this.dx);
    this.dx = null;
    const argmax = fromForward(this.argmax, 'Pooling');
    this.dx = this.backend.maxPoolBackward(dout, argmax, this.xShape, this.window);
    return this.dx;
  }

  dispose(): void {
    releaseAll(this.backend, this.out, this.argmax, this.dx);
    this.out = this.argmax = this.dx = null;
  }
}

/** Max pooling, windows of size×size moving `stride` (default: size) (7.4.4). */
export type PoolingSpec = {
  type: 'pool';
  size: number | [number, number];
  stride?: number;
  pad?: number;
};
export const poolingDescriptor: LayerDescriptor<PoolingSpec> = {
  type: 'pool',
  name: 'Pool',
  keys: ['size', 'stride', 'pad'],
  words: 'pool HEIGHT [WIDTH] [stride=S] [pad=P]',
  readsImages: true,
  parse: ([height, width], options) => ({
    type: 'pool',
    size: sizeOfWords(height, width),
    ...options,
  }),
  describe: (spec) => `pool ${describeWindow(spec)}`,
  build(spec, input, { backend, where }) {
    const { window, output, largest } = poolingWindow(where, spec, input);
    return { layer: new Pooling(backend, window), output, largest };
  },
};

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
    releaseAll(this.backend, this.xc, this.xn, this.std, this.out);
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
    releaseAll(this.backend, this.dgamma, this.dbeta, this.dx);
    this.dgamma = this.dbeta = this.dx = null;
    const b = this.backend;
    const [xc, xn, std] = [this.xc, this.xn, this.std].map((t) =>
      fromForward(t, 'BatchNormalization (in training)'),
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
    releaseAll(
      this.backend,
      this.xc,
      this.xn,
      this.std,
      this.out,
      this.dgamma,
      this.dbeta,
      this.dx,
    );
    this.xc = this.xn = this.std = this.out = this.dgamma = this.dbeta = this.dx = null;
  }
}

/** Batch normalization of each feature; running statistics kept with `momentum` (6.3). */
export type BatchNormalizationSpec = { type: 'batchnorm'; momentum?: number };
export const batchNormalizationDescriptor: LayerDescriptor<BatchNormalizationSpec> = {
  type: 'batchnorm',
  name: 'BatchNorm',
  keys: ['momentum'],
  words: 'batchnorm [momentum=M]',
  build(spec, input, ctx) {
    const { gamma, beta, options } = batchNormParams(ctx, sizeOf(input), spec.momentum);
    return { layer: new BatchNormalization(ctx.backend, gamma, beta, options), output: [...input] };
  },
};

/**
 * γ, β and the running statistics of a batch normalization over `size` values, named as
 * the book names them (gamma1, beta1, runningMean1, runningVar1: the statistics share γ's
 * number), and its momentum checked: what BatchNormalization and BatchNorm2d both build.
 */
export function batchNormParams(
  ctx: BuildContext,
  size: number,
  momentum = 0.9,
): { gamma: Tensor; beta: Tensor; options: Required<BatchNormalizationOptions> } {
  const gammaName = ctx.numbered('gamma');
  const n = gammaName.slice('gamma'.length);
  return {
    gamma: ctx.make(gammaName, [size], { value: 1 }),
    beta: ctx.make(ctx.numbered('beta'), [size], { value: 0 }),
    options: {
      runningMean: ctx.make(`runningMean${n}`, [size], { value: 0 }),
      runningVar: ctx.make(`runningVar${n}`, [size], { value: 0 }),
      momentum: fraction(ctx.where, 'momentum', momentum),
    },
  };
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
    releaseAll(this.backend, this.mask, this.out);
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
    releaseAll(this.backend, this.dx);
    this.dx = null;
    this.dx = this.backend.mul(dout, fromForward(this.mask, 'Dropout (in training)'));
    return this.dx;
  }

  dispose(): void {
    releaseAll(this.backend, this.mask, this.out, this.dx);
    this.mask = this.out = this.dx = null;
  }
}

/** Dropout of `ratio` of the values in training (6.4.3). */
export type DropoutSpec = { type: 'dropout'; ratio: number };
export const dropoutDescriptor: LayerDescriptor<DropoutSpec> = {
  type: 'dropout',
  name: 'Dropout',
  keys: ['ratio'],
  words: 'dropout RATIO',
  parse: ([ratio]) => ({ type: 'dropout', ratio }),
  describe: (spec) => `dropout ${spec.ratio ?? '?'}`,
  build(spec, input, { backend, where, random }) {
    const ratio = fraction(where, 'ratio', spec.ratio, ', the share dropped');
    return { layer: new Dropout(backend, ratio, random), output: [...input] };
  },
};

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
    releaseAll(this.backend, this.y, this.loss);
    labelsShape('SoftmaxWithLoss', x, t);
    this.t = t;
    const { probs, loss } = this.backend.softmaxCrossEntropy(x, t, this.delta);
    this.y = probs;
    this.loss = loss;
    return this.loss;
  }

  /** The loss ends the graph, so the incoming derivative is 1 (the book's `dout=1`). */
  backward(): Tensor {
    releaseAll(this.backend, this.dx);
    this.dx = this.backend.softmaxCrossEntropyBackward(
      fromForward(this.y, 'SoftmaxWithLoss'),
      this.t as Labels,
    );
    return this.dx;
  }

  dispose(): void {
    releaseAll(this.backend, this.y, this.loss, this.dx);
    this.y = this.loss = this.dx = this.t = null;
  }
}
