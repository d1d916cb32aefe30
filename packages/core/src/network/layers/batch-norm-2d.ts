/**
 * Batch normalization per channel, as PyTorch's BatchNorm2d, added as a user adds one
 * (this file alone). The book's BatchNormalization after a convolution normalises each
 * of a sample's C·H·W values on its own (γ of 17 280 for SimpleConvNet's 30 maps); this
 * one normalises each channel over the batch and every position (γ of 30): the same
 * layer on images seen as rows of channels, [N·H·W, C].
 */

import type { Backend } from '../../engine/backend.js';
import { ShapeError } from '../../engine/errors.js';
import { formatShape } from '../../engine/shapes.js';
import type { Tensor } from '../../engine/tensor.js';
import { registerLayer } from '../architecture.js';
import { images, type LayerDescriptor, releaseAll } from '../layer-descriptor.js';
import {
  BatchNormalization,
  type BatchNormalizationOptions,
  batchNormParams,
  type Layer,
} from '../layers.js';

/** Images [N, C, H, W], each channel normalised by its statistics over N, H and W; γ and β [C]. */
export class BatchNorm2d implements Layer {
  /** The book's layer, on [N·H·W, C]. */
  readonly perChannel: BatchNormalization;
  out: Tensor | null = null;
  dx: Tensor | null = null;

  constructor(
    private readonly backend: Backend,
    gamma: Tensor,
    beta: Tensor,
    options: BatchNormalizationOptions = {},
  ) {
    this.perChannel = new BatchNormalization(backend, gamma, beta, options);
  }

  get params() {
    return this.perChannel.params;
  }

  get grads() {
    return this.perChannel.grads;
  }

  get state() {
    return this.perChannel.state;
  }

  forward(x: Tensor, train = false): Tensor {
    releaseAll(this.backend, this.out);
    this.out = null;
    const b = this.backend;
    const channels = this.perChannel.gamma.size;
    if (x.shape.length !== 4 || x.shape[1] !== channels) {
      throw new ShapeError(
        'BatchNorm2d',
        `input must be images [N, ${channels}, H, W] for gamma ${formatShape(this.perChannel.gamma.shape)}, got ${formatShape(x.shape)}`,
      );
    }
    const [n, c, h, w] = x.shape;
    // not in a tidy: the book's layer keeps what it makes (x̂, σ, its output) for backward
    const rows = b.tidy(() => b.reshape(b.permute(x, [0, 2, 3, 1]), [n * h * w, c]));
    try {
      const normalised = this.perChannel.forward(rows, train);
      this.out = b.tidy(() => b.permute(b.reshape(normalised, [n, h, w, c]), [0, 3, 1, 2]));
    } finally {
      b.dispose(rows);
    }
    return this.out;
  }

  backward(dout: Tensor): Tensor {
    releaseAll(this.backend, this.dx);
    this.dx = null;
    const b = this.backend;
    const [n, c, h, w] = dout.shape;
    const rows = b.tidy(() => b.reshape(b.permute(dout, [0, 2, 3, 1]), [n * h * w, c]));
    try {
      const dRows = this.perChannel.backward(rows); // its dγ, dβ and dx stay the book's layer's
      this.dx = b.tidy(() => b.permute(b.reshape(dRows, [n, h, w, c]), [0, 3, 1, 2]));
    } finally {
      b.dispose(rows);
    }
    return this.dx;
  }

  dispose(): void {
    releaseAll(this.backend, this.out, this.dx);
    this.out = this.dx = null;
    this.perChannel.dispose();
  }
}

/** Batch normalization of each channel of images; running statistics kept with `momentum`. */
export type BatchNorm2dSpec = { type: 'batchnorm2d'; momentum?: number };
export const batchNorm2dDescriptor: LayerDescriptor<BatchNorm2dSpec> = {
  type: 'batchnorm2d',
  name: 'BatchNorm2d',
  keys: ['momentum'],
  words: 'batchnorm2d [momentum=M]',
  readsImages: true,
  build(spec, input, ctx) {
    const [channels] = images(ctx.where, input);
    // the book's names, numbered with BatchNormalization's: gamma1, beta1, runningMean1, …
    const { gamma, beta, options } = batchNormParams(ctx, channels, spec.momentum);
    return { layer: new BatchNorm2d(ctx.backend, gamma, beta, options), output: [...input] };
  },
  example: { spec: { type: 'batchnorm2d' }, input: [3, 4, 5] },
};
registerLayer(batchNorm2dDescriptor);

declare module '../architecture.js' {
  interface LayerSpecs {
    batchnorm2d: BatchNorm2dSpec;
  }
}
