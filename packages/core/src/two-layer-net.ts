/**
 * Section 5.7.2 — the two-layer network, built from the layers so that its gradient
 * comes from backpropagation: Affine1 → Relu1 → Affine2 → SoftmaxWithLoss. `predict`,
 * `loss`, `accuracy`, `numericalGradient` and `gradient` are the book's, in network.ts.
 */
import type { Backend } from './backend.js';
import { UsageError } from './errors.js';
import { Affine, Relu } from './layers.js';
import { checkSize, Network } from './network.js';
import { Random } from './random.js';

export interface TwoLayerNetOptions {
  inputSize?: number;
  hiddenSize?: number;
  outputSize?: number;
  /** Standard deviation of the initial weights (the book's `weight_init_std`, 0.01). */
  weightInitStd?: number;
  /** Seed for the weights (default 0); the same seed gives the same weights on every backend. */
  seed?: number;
  /** Or draw the weights from this generator (training then keeps drawing from it). */
  random?: Random;
  /** Start from these values instead of random ones (e.g. a saved model): W1, b1, W2, b2. */
  initialParams?: Record<string, ArrayLike<number>>;
}

export class TwoLayerNet extends Network {
  readonly inputSize: number;
  readonly hiddenSize: number;
  readonly outputSize: number;

  constructor(backend: Backend, options: TwoLayerNetOptions = {}) {
    const inputSize = checkSize('inputSize', options.inputSize ?? 784);
    const hiddenSize = checkSize('hiddenSize', options.hiddenSize ?? 50);
    const outputSize = checkSize('outputSize', options.outputSize ?? 10);
    const weightInitStd = options.weightInitStd ?? 0.01;
    if (!(weightInitStd > 0 && Number.isFinite(weightInitStd))) {
      throw new UsageError(`weightInitStd must be a positive number, got ${weightInitStd}`);
    }
    const random = options.random ?? new Random(options.seed ?? 0);
    super(
      backend,
      {
        kind: 'TwoLayerNet',
        inputSize,
        hiddenSizes: [hiddenSize],
        outputSize,
        activation: 'relu',
        weightInit: weightInitStd,
        weightDecay: 0,
      },
      random,
    );
    this.inputSize = inputSize;
    this.hiddenSize = hiddenSize;
    this.outputSize = outputSize;

    // Weights ~ weightInitStd · N(0, 1), biases 0, as the book initialises them.
    this.makeParams(
      [inputSize, hiddenSize, outputSize],
      (_, size) => random.normalArray(size, weightInitStd),
      options.initialParams,
    );

    // Affine1 sees the data itself: nobody needs the gradient of x.
    const affine1 = new Affine(backend, this.params.W1, this.params.b1, { inputGradient: false });
    const affine2 = new Affine(backend, this.params.W2, this.params.b2);
    this.layers.set('Affine1', affine1);
    this.layers.set('Relu1', new Relu(backend));
    this.layers.set('Affine2', affine2);
    this.affines.push(affine1, affine2);
  }
}
