/**
 * What the book's networks share — TwoLayerNet (5.7.2) and MultiLayerNet
 * (`common/multi_layer_net.py`): `params`, the ordered `layers`, `lastLayer`, and
 * `predict`, `loss`, `accuracy`, `numericalGradient`, `gradient` as the book writes them.
 * A subclass only builds its layers.
 */
import type { Backend, Labels } from './backend.js';
import { UsageError } from './errors.js';
import { numericalGradient } from './gradient.js';
import { type Affine, type Layer, SoftmaxWithLoss } from './layers.js';
import type { Random } from './random.js';
import { formatShape, sizeOf } from './shapes.js';
import type { Tensor } from './tensor.js';

export type Params = Record<string, Tensor>;
export type Gradients = Record<string, Tensor>;

/** Everything needed to rebuild a network (the model file records it). */
export interface Architecture {
  kind: 'TwoLayerNet' | 'MultiLayerNet';
  inputSize: number;
  hiddenSizes: number[];
  outputSize: number;
  activation: 'relu' | 'sigmoid';
  /** The initial weights' standard deviation, or the rule that gives it (he: √(2/n), xavier: √(1/n)). */
  weightInit: number | 'he' | 'xavier';
  /** λ of the L2 penalty ½·λ·ΣW² in the loss (0: none). */
  weightDecay: number;
}

export abstract class Network {
  /** W1, b1, W2, b2, …: the tensors the layers compute with and the optimizer updates. */
  readonly params: Params = {};
  /** The book's OrderedDict, in the order predict runs them. */
  readonly layers = new Map<string, Layer>();
  readonly lastLayer: SoftmaxWithLoss;
  /** The loss of the last `loss` or `gradient` call, [] (owned by the network). */
  lastLoss: Tensor | null = null;
  /** The Affine layers, first to last: their dW and db are the weights' gradients. */
  protected readonly affines: Affine[] = [];
  private penalties: Tensor[] = [];

  protected constructor(
    readonly backend: Backend,
    readonly architecture: Architecture,
    /** The generator the weights came from; training draws its mini-batches from it unless given another. */
    readonly random: Random,
  ) {
    this.lastLayer = new SoftmaxWithLoss(backend);
  }

  /** The scores (logits) for each sample, [batch, outputs]; owned by the last layer. */
  predict(x: Tensor): Tensor {
    for (const layer of this.layers.values()) {
      x = layer.forward(x);
    }
    return x;
  }

  /** The mean cross-entropy (plus ½·λ·ΣW² with weight decay), [] (owned by the network). */
  loss(x: Tensor, t: Labels): Tensor {
    const y = this.predict(x);
    this.lastLoss = this.lastLayer.forward(y, t);
    const lambda = this.architecture.weightDecay;
    if (lambda > 0) {
      const b = this.backend;
      this.release();
      this.lastLoss = b.tidy(() => {
        let penalty = b.sum(b.mul(this.affines[0].W, this.affines[0].W));
        for (const affine of this.affines.slice(1)) {
          penalty = b.add(penalty, b.sum(b.mul(affine.W, affine.W)));
        }
        return b.add(this.lastLayer.loss as Tensor, b.mul(penalty, 0.5 * lambda));
      });
      this.penalties.push(this.lastLoss);
    }
    return this.lastLoss;
  }

  /** The probabilities of each class, softmax(predict(x)), [batch, outputs]; the caller owns them. */
  probabilities(x: Tensor): Tensor {
    return this.backend.softmax(this.predict(x));
  }

  /** The fraction of samples whose largest score is at the label's class. */
  async accuracy(x: Tensor, t: Labels): Promise<number> {
    const correct = this.backend.countCorrect(this.predict(x), t);
    const [count] = await this.backend.read(correct);
    this.backend.dispose(correct);
    return count / x.shape[0];
  }

  /** The gradients by numerical differentiation (slow; for checking `gradient`). The caller owns them. */
  async numericalGradient(x: Tensor, t: Labels, h?: number): Promise<Gradients> {
    const lossW = async () => (await this.backend.read(this.loss(x, t)))[0];
    const grads: Gradients = {};
    for (const [name, param] of Object.entries(this.params)) {
      grads[name] = await numericalGradient(lossW, this.backend, param, h);
    }
    return grads;
  }

  /** The gradients by backpropagation. Owned by the network: valid until its next call. */
  gradient(x: Tensor, t: Labels): Gradients {
    // forward
    this.loss(x, t);

    // backward: from the loss (dout = 1) back through the layers in reverse
    let dout: Tensor | null = this.lastLayer.backward();
    for (const [name, layer] of [...this.layers].reverse()) {
      if (!dout) throw new UsageError(`${name}: the layer after it computed no input gradient`);
      dout = layer.backward(dout);
    }

    const lambda = this.architecture.weightDecay;
    const grads: Gradients = {};
    for (const [i, affine] of this.affines.entries()) {
      let dW = affine.dW as Tensor;
      if (lambda > 0) {
        const b = this.backend;
        dW = b.tidy(() => b.add(affine.dW as Tensor, b.mul(affine.W, lambda))); // d(½·λ·ΣW²)/dW = λ·W
        this.penalties.push(dW);
      }
      grads[`W${i + 1}`] = dW;
      grads[`b${i + 1}`] = affine.db as Tensor;
    }
    return grads;
  }

  /** The parameters as plain arrays, for saving. */
  async readParams(): Promise<Record<string, Float64Array>> {
    const values: Record<string, Float64Array> = {};
    for (const [name, param] of Object.entries(this.params)) {
      values[name] = Float64Array.from(await this.backend.read(param));
    }
    return values;
  }

  /** Frees the parameters and everything the layers hold. */
  dispose(): void {
    this.release();
    for (const layer of this.layers.values()) layer.dispose();
    this.lastLayer.dispose();
    for (const param of Object.values(this.params)) this.backend.dispose(param);
  }

  /**
   * Makes W1, b1, W2, b2, … for the layer sizes: W from `weight(index, fanIn, size)`, b
   * zeros, or the given values. If anything fails (a wrong length, a NaN), what was made
   * is freed before the error leaves: a constructor that throws leaks nothing.
   */
  protected makeParams(
    sizes: number[],
    weight: (fanIn: number, size: number) => ArrayLike<number>,
    initial?: Record<string, ArrayLike<number>>,
  ): void {
    try {
      for (let i = 1; i < sizes.length; i++) {
        const shapes = { [`W${i}`]: [sizes[i - 1], sizes[i]], [`b${i}`]: [sizes[i]] };
        for (const [name, shape] of Object.entries(shapes)) {
          const size = sizeOf(shape);
          let values: ArrayLike<number>;
          if (initial) {
            values = initial[name];
            if (!values || values.length !== size) {
              throw new UsageError(
                `initialParams.${name} must hold ${size} values (${name} is ${formatShape(shape)}), got ${values ? values.length : 'none'}`,
              );
            }
          } else {
            values = name.startsWith('W') ? weight(sizes[i - 1], size) : new Float64Array(size);
          }
          this.params[name] = this.backend.tensor(values, shape);
        }
      }
    } catch (error) {
      for (const param of Object.values(this.params)) this.backend.dispose(param);
      if (error instanceof RangeError) {
        throw new UsageError(
          `layer sizes ${sizes.join('-')} need more memory than this JavaScript engine can allocate (${error.message})`,
        );
      }
      throw error;
    }
  }

  private release(): void {
    for (const t of this.penalties.splice(0)) this.backend.dispose(t);
  }
}

/** A whole number >= 1, or a UsageError naming the option. */
export function checkSize(name: string, size: unknown): number {
  if (!Number.isSafeInteger(size) || (size as number) < 1) {
    throw new UsageError(`${name} must be a whole number >= 1, got ${String(size)}`);
  }
  return size as number;
}
