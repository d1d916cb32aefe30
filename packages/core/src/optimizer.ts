/**
 * Section 6.1: how the weights move once the gradients are known, as the book's
 * `common/optimizer.py` writes it. The parameters are updated in place, so the layers
 * holding them see the new values.
 */
import type { Backend } from './backend.js';
import { UsageError } from './errors.js';
import type { Tensor } from './tensor.js';

export interface Optimizer {
  /** `sgd`. */
  readonly name: string;
  readonly learningRate: number;
  /** Moves every parameter by its gradient. */
  update(params: Record<string, Tensor>, grads: Record<string, Tensor>): void;
  /** Frees the optimizer's own state (velocities, moments). */
  dispose(): void;
}

function checkRate(name: string, value: number, max = Number.POSITIVE_INFINITY): number {
  if (!(value > 0 && value < max && Number.isFinite(value))) {
    throw new UsageError(
      `${name} must be a positive number${max < Number.POSITIVE_INFINITY ? ` below ${max}` : ''}, got ${value}`,
    );
  }
  return value;
}

/** 6.1.2 — W ← W − lr · ∂L/∂W. */
export class SGD implements Optimizer {
  readonly name = 'sgd';
  constructor(
    private readonly backend: Backend,
    readonly learningRate = 0.01,
  ) {
    checkRate('learning rate', learningRate);
  }

  update(params: Record<string, Tensor>, grads: Record<string, Tensor>): void {
    for (const key of Object.keys(params)) {
      this.backend.sgdUpdate(params[key], grads[key], this.learningRate);
    }
  }

  dispose(): void {}
}
