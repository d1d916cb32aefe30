/**
 * The book's `ch07/simple_convnet.py`: Conv1 (30 filters 5×5, pad 0, stride 1) → Relu1 →
 * Pool1 (2×2, stride 2) → Affine1 (→ 100) → Relu2 → Affine2 (→ 10) → SoftmaxWithLoss,
 * weights 0.01 · N(0, 1): params W1, b1 (the filters), W2, b2, W3, b3.
 */

import type { Backend } from '../engine/backend.js';
import { UsageError } from '../engine/errors.js';
import { type Architecture, refuseUnknownKeys } from './architecture.js';
import {
  checkSize,
  NETWORK_OPTION_KEYS,
  Network,
  type NetworkOptions,
  networkOptions,
} from './network.js';

export interface SimpleConvNetOptions extends NetworkOptions {
  /** One image's shape, [channels, height, width] (default MNIST's [1, 28, 28]). */
  inputDim?: [number, number, number];
  /** The convolution: filters, their size, pad and stride (default 30, 5, 0, 1). */
  conv?: { filterNum?: number; filterSize?: number; pad?: number; stride?: number };
  hiddenSize?: number;
  outputSize?: number;
  /** Standard deviation of the initial weights (the book's weight_init_std, 0.01). */
  weightInitStd?: number;
}

export class SimpleConvNet extends Network {
  constructor(backend: Backend, options: SimpleConvNetOptions = {}) {
    super(backend, SimpleConvNet.architecture(options), networkOptions(options));
  }

  /** Its layer list, with the book's defaults. */
  static architecture(options: SimpleConvNetOptions = {}): Architecture {
    refuseUnknownKeys('SimpleConvNet options', options, [
      ...NETWORK_OPTION_KEYS,
      'inputDim',
      'conv',
      'hiddenSize',
      'outputSize',
      'weightInitStd',
    ]);
    refuseUnknownKeys('SimpleConvNet options.conv', options.conv ?? {}, [
      'filterNum',
      'filterSize',
      'pad',
      'stride',
    ]);
    const input = options.inputDim ?? [1, 28, 28];
    const conv = options.conv ?? {};
    const weightInitStd = options.weightInitStd ?? 0.01;
    if (!(weightInitStd > 0 && Number.isFinite(weightInitStd))) {
      throw new UsageError(`weightInitStd must be a positive number, got ${weightInitStd}`);
    }
    return {
      name: 'SimpleConvNet',
      input: [...input],
      layers: [
        {
          type: 'conv',
          filters: conv.filterNum ?? 30,
          size: conv.filterSize ?? 5,
          pad: conv.pad ?? 0,
          stride: conv.stride ?? 1,
        },
        { type: 'relu' },
        { type: 'pool', size: 2, stride: 2 },
        { type: 'affine', units: checkSize('hiddenSize', options.hiddenSize ?? 100) },
        { type: 'relu' },
        { type: 'affine', units: checkSize('outputSize', options.outputSize ?? 10) },
      ],
      weightInit: weightInitStd,
      weightDecay: 0,
    };
  }
}
