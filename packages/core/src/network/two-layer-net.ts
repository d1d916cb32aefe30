/**
 * Section 5.7.2 — the two-layer network, built from the layers so that its gradient
 * comes from backpropagation: Affine1 → Relu1 → Affine2 → SoftmaxWithLoss. `predict`,
 * `loss`, `accuracy`, `numericalGradient` and `gradient` are the book's, in network.ts.
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

export interface TwoLayerNetOptions extends NetworkOptions {
  inputSize?: number;
  hiddenSize?: number;
  outputSize?: number;
  /** Standard deviation of the initial weights (the book's `weight_init_std`, 0.01). */
  weightInitStd?: number;
}

export class TwoLayerNet extends Network {
  readonly inputSize: number;
  readonly hiddenSize: number;

  constructor(backend: Backend, options: TwoLayerNetOptions = {}) {
    const architecture = TwoLayerNet.architecture(options);
    super(backend, architecture, networkOptions(options));
    this.inputSize = architecture.input[0];
    this.hiddenSize = (architecture.layers[0] as { units: number }).units;
  }

  /** Its layer list: Affine → Relu → Affine, weights ~ weightInitStd · N(0, 1), biases 0, as the book's. */
  static architecture(options: TwoLayerNetOptions = {}): Architecture {
    refuseUnknownKeys('TwoLayerNet options', options, [
      ...NETWORK_OPTION_KEYS,
      'inputSize',
      'hiddenSize',
      'outputSize',
      'weightInitStd',
    ]);
    const inputSize = checkSize('inputSize', options.inputSize ?? 784);
    const hiddenSize = checkSize('hiddenSize', options.hiddenSize ?? 50);
    const outputSize = checkSize('outputSize', options.outputSize ?? 10);
    const weightInitStd = options.weightInitStd ?? 0.01;
    if (!(weightInitStd > 0 && Number.isFinite(weightInitStd))) {
      throw new UsageError(`weightInitStd must be a positive number, got ${weightInitStd}`);
    }
    return {
      name: 'TwoLayerNet',
      input: [inputSize],
      layers: [
        { type: 'affine', units: hiddenSize },
        { type: 'relu' },
        { type: 'affine', units: outputSize },
      ],
      weightInit: weightInitStd,
      weightDecay: 0,
    };
  }
}
