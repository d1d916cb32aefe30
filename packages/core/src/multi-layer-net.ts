/**
 * The book's `common/multi_layer_net.py`: any number of hidden layers, ReLU or Sigmoid
 * between them, weights initialised by the rule that suits the activation (He for ReLU,
 * Xavier for Sigmoid, section 6.2) or a fixed standard deviation, and weight decay
 * (section 6.4.1). The same `predict`, `loss`, `gradient` as TwoLayerNet (network.ts).
 */
import type { Backend } from './backend.js';
import { UsageError } from './errors.js';
import { Affine, type Layer, Relu, Sigmoid } from './layers.js';
import { checkSize, Network } from './network.js';
import { Random } from './random.js';

export interface MultiLayerNetOptions {
  inputSize?: number;
  /** One entry a hidden layer, e.g. [100, 100, 100]. */
  hiddenSizes?: number[];
  outputSize?: number;
  activation?: 'relu' | 'sigmoid';
  /** 'he' (√(2/n), for ReLU), 'xavier' (√(1/n), for Sigmoid), or a standard deviation; default: the one that suits the activation. */
  weightInit?: 'he' | 'xavier' | number;
  /** λ of the L2 penalty ½·λ·ΣW² added to the loss (default 0: none). */
  weightDecay?: number;
  seed?: number;
  random?: Random;
  /** Start from these values instead of random ones: W1, b1, W2, b2, … */
  initialParams?: Record<string, ArrayLike<number>>;
}

export class MultiLayerNet extends Network {
  constructor(backend: Backend, options: MultiLayerNetOptions = {}) {
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
    const weightInit = options.weightInit ?? (activation === 'relu' ? 'he' : 'xavier');
    if (
      weightInit !== 'he' &&
      weightInit !== 'xavier' &&
      !(typeof weightInit === 'number' && weightInit > 0 && Number.isFinite(weightInit))
    ) {
      throw new UsageError(
        `weightInit must be 'he', 'xavier' or a positive number, got ${String(weightInit)}`,
      );
    }
    const weightDecay = options.weightDecay ?? 0;
    if (!(weightDecay >= 0 && Number.isFinite(weightDecay))) {
      throw new UsageError(`weightDecay must be a number >= 0, got ${weightDecay}`);
    }
    const random = options.random ?? new Random(options.seed ?? 0);
    super(
      backend,
      {
        kind: 'MultiLayerNet',
        inputSize,
        hiddenSizes: [...hiddenSizes],
        outputSize,
        activation,
        weightInit,
        weightDecay,
      },
      random,
    );

    // The scale of each layer's weights depends on how many inputs feed it (n).
    const scale = (fanIn: number) =>
      weightInit === 'he'
        ? Math.sqrt(2 / fanIn)
        : weightInit === 'xavier'
          ? Math.sqrt(1 / fanIn)
          : weightInit;
    const sizes = [inputSize, ...hiddenSizes, outputSize];
    this.makeParams(
      sizes,
      (fanIn, size) => random.normalArray(size, scale(fanIn)),
      options.initialParams,
    );

    const Activation = activation === 'relu' ? Relu : Sigmoid;
    const name = activation === 'relu' ? 'Relu' : 'Sigmoid';
    for (let i = 1; i < sizes.length; i++) {
      // The first Affine sees the data itself: nobody needs the gradient of x.
      const affine = new Affine(backend, this.params[`W${i}`], this.params[`b${i}`], {
        inputGradient: i > 1,
      });
      this.layers.set(`Affine${i}`, affine);
      this.affines.push(affine);
      if (i < sizes.length - 1) this.layers.set(`${name}${i}`, new Activation(backend) as Layer);
    }
  }
}
