import type { Backend, Tensor } from './backend.js';
import { UsageError } from './errors.js';

/** Stochastic gradient descent (section 6.1.2 of the book): W ← W − lr · ∂L/∂W, in place. */
export class SGD {
  constructor(
    private readonly backend: Backend,
    readonly learningRate = 0.01,
  ) {
    if (!(learningRate > 0 && Number.isFinite(learningRate))) {
      throw new UsageError(`learning rate must be a positive number, got ${learningRate}`);
    }
  }

  update<K extends string>(params: Record<K, Tensor>, grads: Record<K, Tensor>): void {
    for (const key of Object.keys(params) as K[]) {
      this.backend.sgdUpdate(params[key], grads[key], this.learningRate);
    }
  }
}
