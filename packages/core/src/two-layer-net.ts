/**
 * Section 5.7.2 — the two-layer network, built from the layers so that its gradient
 * comes from backpropagation: Affine1 → Relu1 → Affine2 → SoftmaxWithLoss.
 */
import type { Backend, Labels, Tensor } from './backend.js';
import { UsageError } from './errors.js';
import { numericalGradient } from './gradient.js';
import { Affine, type Layer, Relu, SoftmaxWithLoss } from './layers.js';
import { Random } from './random.js';

export const PARAM_NAMES = ['W1', 'b1', 'W2', 'b2'] as const;
export type ParamName = (typeof PARAM_NAMES)[number];
export type Params = Record<ParamName, Tensor>;
export type Gradients = Record<ParamName, Tensor>;

export interface TwoLayerNetOptions {
  inputSize?: number;
  hiddenSize?: number;
  outputSize?: number;
  /** Standard deviation of the initial weights (the book's `weight_init_std`). */
  weightInitStd?: number;
  /** Seed for the weights; the same seed gives the same weights on every backend. */
  seed?: number;
  /** Or draw the weights from this generator (and keep drawing from it, e.g. for mini-batches). */
  random?: Random;
  /** Start from these values instead of random ones (e.g. a saved model). */
  initialParams?: Record<ParamName, ArrayLike<number>>;
}

export class TwoLayerNet {
  readonly inputSize: number;
  readonly hiddenSize: number;
  readonly outputSize: number;
  readonly params: Params;
  /** The book's OrderedDict: Affine1, Relu1, Affine2, in the order predict runs them. */
  readonly layers: Map<string, Layer>;
  readonly lastLayer: SoftmaxWithLoss;
  private readonly affine1: Affine;
  private readonly relu1: Relu;
  private readonly affine2: Affine;

  constructor(
    readonly backend: Backend,
    options: TwoLayerNetOptions = {},
  ) {
    const {
      inputSize = 784,
      hiddenSize = 50,
      outputSize = 10,
      weightInitStd = 0.01,
      seed = 0,
      random = new Random(seed),
      initialParams,
    } = options;
    for (const [name, size] of Object.entries({ inputSize, hiddenSize, outputSize })) {
      if (!Number.isInteger(size) || size < 1) {
        throw new UsageError(`${name} must be a whole number >= 1, got ${size}`);
      }
    }
    if (!(weightInitStd > 0 && Number.isFinite(weightInitStd))) {
      throw new UsageError(`weightInitStd must be a positive number, got ${weightInitStd}`);
    }
    this.inputSize = inputSize;
    this.hiddenSize = hiddenSize;
    this.outputSize = outputSize;

    // Weights ~ weightInitStd · N(0, 1), biases 0, as the book initialises them.
    const shapes: Record<ParamName, number[]> = {
      W1: [inputSize, hiddenSize],
      b1: [hiddenSize],
      W2: [hiddenSize, outputSize],
      b2: [outputSize],
    };
    const initial = (name: ParamName, size: number): ArrayLike<number> => {
      if (initialParams) return initialParams[name];
      return name.startsWith('W')
        ? random.normalArray(size, weightInitStd)
        : new Float64Array(size);
    };
    this.params = {
      W1: backend.tensor(initial('W1', inputSize * hiddenSize), shapes.W1),
      b1: backend.tensor(initial('b1', hiddenSize), shapes.b1),
      W2: backend.tensor(initial('W2', hiddenSize * outputSize), shapes.W2),
      b2: backend.tensor(initial('b2', outputSize), shapes.b2),
    };

    // Affine1 sees the data itself: nobody needs the gradient of x.
    this.affine1 = new Affine(backend, this.params.W1, this.params.b1, { inputGradient: false });
    this.relu1 = new Relu(backend);
    this.affine2 = new Affine(backend, this.params.W2, this.params.b2);
    this.layers = new Map<string, Layer>([
      ['Affine1', this.affine1],
      ['Relu1', this.relu1],
      ['Affine2', this.affine2],
    ]);
    this.lastLayer = new SoftmaxWithLoss(backend);
  }

  /** The scores (logits) for each sample, [batch, outputSize]; owned by the last Affine. */
  predict(x: Tensor): Tensor {
    for (const layer of this.layers.values()) {
      x = layer.forward(x);
    }
    return x;
  }

  /** The mean cross-entropy loss, a scalar tensor owned by `lastLayer`. */
  loss(x: Tensor, t: Labels): Tensor {
    const y = this.predict(x);
    return this.lastLayer.forward(y, t);
  }

  /** The fraction of samples whose largest score is at the label's class. */
  async accuracy(x: Tensor, t: Labels): Promise<number> {
    const y = this.predict(x);
    const correct = this.backend.countCorrect(y, t);
    const [count] = await this.backend.read(correct);
    this.backend.dispose(correct);
    return count / x.shape[0];
  }

  /** The gradients by numerical differentiation (slow; for checking `gradient`). The caller owns them. */
  async numericalGradient(x: Tensor, t: Labels, h?: number): Promise<Gradients> {
    const lossW = async () => (await this.backend.read(this.loss(x, t)))[0];
    const grads = {} as Gradients;
    for (const name of PARAM_NAMES) {
      grads[name] = await numericalGradient(lossW, this.backend, this.params[name], h);
    }
    return grads;
  }

  /** The gradients by backpropagation. Owned by the layers: valid until the next call. */
  gradient(x: Tensor, t: Labels): Gradients {
    // forward
    this.loss(x, t);

    // backward: the book walks reversed(layers); written out because Affine1 returns no dx
    let dout = this.lastLayer.backward();
    dout = this.affine2.backward(dout) as Tensor;
    dout = this.relu1.backward(dout);
    this.affine1.backward(dout);

    return {
      W1: this.affine1.dW as Tensor,
      b1: this.affine1.db as Tensor,
      W2: this.affine2.dW as Tensor,
      b2: this.affine2.db as Tensor,
    };
  }

  /** The parameters as plain arrays, for saving. */
  async readParams(): Promise<Record<ParamName, Float64Array>> {
    const values = {} as Record<ParamName, Float64Array>;
    for (const name of PARAM_NAMES) {
      values[name] = Float64Array.from(await this.backend.read(this.params[name]));
    }
    return values;
  }

  /** Frees the parameters and everything the layers hold. */
  dispose(): void {
    for (const layer of this.layers.values()) layer.dispose();
    this.lastLayer.dispose();
    for (const name of PARAM_NAMES) this.backend.dispose(this.params[name]);
  }
}
