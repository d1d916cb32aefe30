/**
 * Average pooling, added as a user adds one (this file alone): each window's mean, from
 * the kernels Convolution already has — im2col lays the windows out as rows, a row sum
 * averages them, col2im sends the gradient back. Padding counts as zeros in the mean
 * (PyTorch's AvgPool2d default, count_include_pad).
 */

import type { Backend } from '../../engine/backend.js';
import type { Tensor } from '../../engine/tensor.js';
import { type Window, windowDims } from '../../engine/window.js';
import { registerLayer } from '../architecture.js';
import {
  describeWindow,
  fromForward,
  type LayerDescriptor,
  poolingWindow,
  releaseAll,
  sizeOfWords,
} from '../layer-descriptor.js';
import type { Layer } from '../layers.js';

/** Images [N, C, H, W] → [N, C, OH, OW], each value the mean of its window. */
export class AvgPooling implements Layer {
  out: Tensor | null = null;
  dx: Tensor | null = null;
  xShape: readonly number[] = [];
  readonly window: Window;
  /** A row of 1/(height·width): the share of a window's gradient each of its values gets. */
  private readonly share: Tensor;

  /** A window of height × width (width defaults to height), moving `stride` (default: its height), over `pad` zeros. */
  constructor(
    private readonly backend: Backend,
    options: { height: number; width?: number; stride?: number; pad?: number },
  ) {
    const width = options.width ?? options.height;
    this.window = {
      height: options.height,
      width,
      stride: options.stride ?? options.height,
      pad: options.pad ?? 0,
    };
    const area = options.height * width;
    this.share = backend.tensor(new Float64Array(area).fill(1 / area), [1, area]);
  }

  forward(x: Tensor): Tensor {
    releaseAll(this.backend, this.out);
    this.out = null;
    const b = this.backend;
    const d = windowDims('AvgPooling', x.shape, this.window);
    this.xShape = x.shape;
    const area = d.windowHeight * d.windowWidth;
    this.out = b.tidy(() => {
      // im2col's row is a window position, its columns (channel, y, x): a channel's window is
      // `area` adjacent columns, so one row per (position, channel) and its mean
      const windows = b.reshape(b.im2col(x, this.window), [
        d.batch * d.outHeight * d.outWidth * d.channels,
        area,
      ]);
      const means = b.div(b.sum(windows, 1), area);
      return b.permute(
        b.reshape(means, [d.batch, d.outHeight, d.outWidth, d.channels]),
        [0, 3, 1, 2],
      );
    });
    return this.out;
  }

  backward(dout: Tensor): Tensor {
    releaseAll(this.backend, this.dx);
    this.dx = null;
    fromForward(this.out, 'AvgPooling');
    const b = this.backend;
    const d = windowDims('AvgPooling', this.xShape, this.window);
    this.dx = b.tidy(() => {
      // each window's gradient, shared equally by its values, back to rows of windows
      const perWindow = b.reshape(b.permute(dout, [0, 2, 3, 1]), [
        d.batch * d.outHeight * d.outWidth * d.channels,
        1,
      ]);
      const rows = b.reshape(b.mul(perWindow, this.share), [
        d.batch * d.outHeight * d.outWidth,
        d.channels * d.windowHeight * d.windowWidth,
      ]);
      return b.col2im(rows, this.xShape, this.window);
    });
    return this.dx;
  }

  dispose(): void {
    releaseAll(this.backend, this.out, this.dx, this.share);
    this.out = this.dx = null;
  }
}

/** Average pooling, windows of size×size moving `stride` (default: size). */
export type AvgPoolingSpec = {
  type: 'avgpool';
  size: number | [number, number];
  stride?: number;
  pad?: number;
};
export const avgPoolingDescriptor: LayerDescriptor<AvgPoolingSpec> = {
  type: 'avgpool',
  name: 'AvgPool',
  keys: ['size', 'stride', 'pad'],
  words: 'avgpool HEIGHT [WIDTH] [stride=S] [pad=P]',
  readsImages: true,
  parse: ([height, width], options) => ({
    type: 'avgpool',
    size: sizeOfWords(height, width),
    ...options,
  }),
  describe: (spec) => `avgpool ${describeWindow(spec)}`,
  build(spec, input, { backend, where }) {
    const { window, output, largest } = poolingWindow(where, spec, input);
    return { layer: new AvgPooling(backend, window), output, largest };
  },
  // windows that overlap, one not square, and padding
  example: { spec: { type: 'avgpool', size: [3, 2], stride: 2, pad: 1 }, input: [2, 5, 4] },
};
registerLayer(avgPoolingDescriptor);

declare module '../architecture.js' {
  interface LayerSpecs {
    avgpool: AvgPoolingSpec;
  }
}
