/**
 * Section 6.1: how the weights move once the gradients are known, as the book's
 * `common/optimizer.py` writes each. Written with the backend's element-wise operations
 * (inside `tidy`, so intermediates go), so every backend runs them without a kernel of
 * its own; the parameters are updated in place (`assign`), so the layers holding them see
 * the new values.
 */
import type { Backend } from '../engine/backend.js';
import { UsageError } from '../engine/errors.js';
import type { Tensor } from '../engine/tensor.js';

export interface Optimizer {
  /** `sgd`, `momentum`, `adagrad` or `adam`. */
  readonly name: string;
  readonly learningRate: number;
  /** Moves every parameter by its gradient. */
  update(params: Record<string, Tensor>, grads: Record<string, Tensor>): void;
  /** Frees the optimizer's own state (velocities, moments). */
  dispose(): void;
}

export const OPTIMIZER_NAMES = ['sgd', 'momentum', 'adagrad', 'adam'] as const;
export type OptimizerName = (typeof OPTIMIZER_NAMES)[number];

/** The book's default learning rate for each (SGD's is 5.7.4's 0.1; the others their classes'). */
export const DEFAULT_LEARNING_RATES: Record<OptimizerName, number> = {
  sgd: 0.1,
  momentum: 0.01,
  adagrad: 0.01,
  adam: 0.001,
};

/** An optimizer by name, with the book's defaults for what is not given. */
export function createOptimizer(
  backend: Backend,
  name: OptimizerName,
  learningRate = DEFAULT_LEARNING_RATES[name],
): Optimizer {
  switch (name) {
    case 'sgd':
      return new SGD(backend, learningRate);
    case 'momentum':
      return new Momentum(backend, learningRate);
    case 'adagrad':
      return new AdaGrad(backend, learningRate);
    case 'adam':
      return new Adam(backend, learningRate);
    default:
      throw new UsageError(
        `unknown optimizer '${String(name)}'; optimizers: ${OPTIMIZER_NAMES.join(', ')}`,
      );
  }
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

/** State tensors, one a parameter, made as zeros on the first update. */
class Slots {
  private readonly tensors: Record<string, Tensor> = {};
  constructor(private readonly backend: Backend) {}

  of(key: string, like: Tensor): Tensor {
    this.tensors[key] ??= this.backend.tensor(new Float64Array(like.size), like.shape);
    return this.tensors[key];
  }

  dispose(): void {
    for (const t of Object.values(this.tensors)) this.backend.dispose(t);
  }
}

/** 6.1.4 — v ← αv − lr·∂L/∂W; W ← W + v: a ball rolling downhill, keeping its speed. */
export class Momentum implements Optimizer {
  readonly name = 'momentum';
  private readonly v: Slots;
  constructor(
    private readonly backend: Backend,
    readonly learningRate = 0.01,
    readonly momentum = 0.9,
  ) {
    checkRate('learning rate', learningRate);
    checkRate('momentum', momentum, 1);
    this.v = new Slots(backend);
  }

  update(params: Record<string, Tensor>, grads: Record<string, Tensor>): void {
    const b = this.backend;
    for (const key of Object.keys(params)) {
      const v = this.v.of(key, params[key]);
      b.tidy(() => {
        b.assign(v, b.sub(b.mul(v, this.momentum), b.mul(grads[key], this.learningRate)));
        b.assign(params[key], b.add(params[key], v));
      });
    }
  }

  dispose(): void {
    this.v.dispose();
  }
}

/** 6.1.5 — h ← h + (∂L/∂W)²; W ← W − lr·∂L/∂W / (√h + 1e-7): each weight's step shrinks as it moves. */
export class AdaGrad implements Optimizer {
  readonly name = 'adagrad';
  private readonly h: Slots;
  constructor(
    private readonly backend: Backend,
    readonly learningRate = 0.01,
  ) {
    checkRate('learning rate', learningRate);
    this.h = new Slots(backend);
  }

  update(params: Record<string, Tensor>, grads: Record<string, Tensor>): void {
    const b = this.backend;
    for (const key of Object.keys(params)) {
      const [h, g] = [this.h.of(key, params[key]), grads[key]];
      b.tidy(() => {
        b.assign(h, b.add(h, b.mul(g, g)));
        b.assign(
          params[key],
          b.sub(params[key], b.div(b.mul(g, this.learningRate), b.add(b.sqrt(h), 1e-7))),
        );
      });
    }
  }

  dispose(): void {
    this.h.dispose();
  }
}

/** 6.1.6 — Momentum and AdaGrad together, with the bias of the zero start corrected in lr_t. */
export class Adam implements Optimizer {
  readonly name = 'adam';
  private iter = 0;
  private readonly m: Slots;
  private readonly v: Slots;
  constructor(
    private readonly backend: Backend,
    readonly learningRate = 0.001,
    readonly beta1 = 0.9,
    readonly beta2 = 0.999,
  ) {
    checkRate('learning rate', learningRate);
    checkRate('beta1', beta1, 1);
    checkRate('beta2', beta2, 1);
    this.m = new Slots(backend);
    this.v = new Slots(backend);
  }

  update(params: Record<string, Tensor>, grads: Record<string, Tensor>): void {
    this.iter++;
    // the book's lr_t: both moments' bias corrections folded into the rate
    const step = {
      learningRate:
        (this.learningRate * Math.sqrt(1 - this.beta2 ** this.iter)) /
        (1 - this.beta1 ** this.iter),
      beta1: this.beta1,
      beta2: this.beta2,
      epsilon: 1e-7,
    };
    for (const key of Object.keys(params)) {
      const [m, v] = [this.m.of(key, params[key]), this.v.of(key, params[key])];
      this.backend.adamUpdate(params[key], grads[key], m, v, step);
    }
  }

  dispose(): void {
    this.m.dispose();
    this.v.dispose();
  }
}
