/**
 * The book's `common/multi_layer_net.py` and `multi_layer_net_extend.py`: any number of
 * hidden layers, ReLU or Sigmoid between them, weights initialised by the rule that
 * suits the activation (He for ReLU, Xavier for Sigmoid, section 6.2) or a fixed standard
 * deviation, weight decay (6.4.1); the extended one adds Batch Normalization after each
 * hidden Affine (6.3) and Dropout after each activation (6.4.3). The same `predict`,
 * `loss`, `gradient` as TwoLayerNet (network.ts).
 */

import type { Backend } from '../engine/backend.js';
import { UsageError } from '../engine/errors.js';
import { type Architecture, type LayerSpec, refuseUnknownKeys } from './architecture.js';
import type { WeightInit } from './layer-descriptor.js';
import {
  checkSize,
  NETWORK_OPTION_KEYS,
  Network,
  type NetworkOptions,
  networkOptions,
} from './network.js';

export interface MultiLayerNetOptions extends NetworkOptions {
  inputSize?: number;
  /** One entry a hidden layer, e.g. [100, 100, 100]. */
  hiddenSizes?: number[];
  outputSize?: number;
  activation?: 'relu' | 'sigmoid';
  /** 'he' (√(2/n), for ReLU), 'xavier' (√(1/n), for Sigmoid), or a standard deviation; default: the one that suits the activation. */
  weightInit?: WeightInit;
  /** λ of the L2 penalty ½·λ·ΣW² added to the loss (default 0: none). */
  weightDecay?: number;
}

export interface MultiLayerNetExtendOptions extends MultiLayerNetOptions {
  /** Batch Normalization after each hidden Affine (the book's use_batchnorm). */
  useBatchnorm?: boolean;
  /** Dropout after each hidden activation (the book's use_dropout). */
  useDropout?: boolean;
  /** The share Dropout drops in training (the book's dropout_ration, 0.5). */
  dropoutRatio?: number;
}

const MLP_OPTION_KEYS = [
  ...NETWORK_OPTION_KEYS,
  'inputSize',
  'hiddenSizes',
  'outputSize',
  'activation',
  'weightInit',
  'weightDecay',
];

export class MultiLayerNet extends Network {
  constructor(backend: Backend, options: MultiLayerNetOptions = {}) {
    super(backend, MultiLayerNet.architecture(options), networkOptions(options));
  }

  /** Its layer list: Affine → activation a hidden layer, then Affine. */
  static architecture(options: MultiLayerNetOptions = {}): Architecture {
    refuseUnknownKeys('MultiLayerNet options', options, MLP_OPTION_KEYS);
    return mlp('MultiLayerNet', options, {});
  }
}

export class MultiLayerNetExtend extends Network {
  constructor(backend: Backend, options: MultiLayerNetExtendOptions = {}) {
    super(backend, MultiLayerNetExtend.architecture(options), networkOptions(options));
  }

  /** Its layer list: Affine → [BatchNorm] → activation → [Dropout] a hidden layer, then Affine. */
  static architecture(options: MultiLayerNetExtendOptions = {}): Architecture {
    refuseUnknownKeys('MultiLayerNetExtend options', options, [
      ...MLP_OPTION_KEYS,
      'useBatchnorm',
      'useDropout',
      'dropoutRatio',
    ]);
    return mlp('MultiLayerNetExtend', options, options);
  }
}

/** The layer list of either: Affine → [BatchNorm] → activation → [Dropout] a hidden layer, then Affine. */
function mlp(
  name: string,
  options: MultiLayerNetOptions,
  extend: Omit<MultiLayerNetExtendOptions, keyof MultiLayerNetOptions>,
): Architecture {
  const inputSize = checkSize('inputSize', options.inputSize ?? 784);
  const hiddenSizes = options.hiddenSizes ?? [100];
  if (!Array.isArray(hiddenSizes) || hiddenSizes.length === 0) {
    throw new UsageError('hiddenSizes must list at least one hidden layer size, e.g. [100]');
  }
  for (const [i, size] of hiddenSizes.entries()) checkSize(`hiddenSizes[${i}]`, size);
  const outputSize = checkSize('outputSize', options.outputSize ?? 10);
  const activation = options.activation ?? 'relu';
  if (activation !== 'relu' && activation !== 'sigmoid') {
    throw new UsageError(`activation must be 'relu' or 'sigmoid', got '${String(activation)}'`);
  }
  const dropoutRatio = extend.dropoutRatio ?? 0.5;
  const layers: LayerSpec[] = [];
  for (const units of hiddenSizes) {
    layers.push({ type: 'affine', units });
    if (extend.useBatchnorm) layers.push({ type: 'batchnorm' });
    layers.push({ type: activation });
    if (extend.useDropout) layers.push({ type: 'dropout', ratio: dropoutRatio });
  }
  layers.push({ type: 'affine', units: outputSize });
  return {
    name,
    input: [inputSize],
    layers,
    weightInit: options.weightInit ?? (activation === 'relu' ? 'he' : 'xavier'),
    weightDecay: options.weightDecay ?? 0,
  };
}
