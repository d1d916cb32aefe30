/**
 * A tensor is a handle: a shape, and the values it views, which live in a backend. Core
 * owns every handle (the `Backend` class makes them, checks them and frees them); a
 * backend only ever sees its own storage.
 */
import type { DType, Shape } from './contract.js';
import { formatShape } from './shapes.js';

/**
 * What is known about values uploaded from the host, kept so that labels can be checked
 * without reading them back from a device: whether they are all whole numbers and their
 * range. Rows gathered from such values and reshapes of them keep it (a range that holds
 * for all rows holds for some); `write` widens it; values a kernel computed have none.
 */
export interface ValueFacts {
  whole: boolean;
  min: number;
  max: number;
}

/** The values one or more handles view (a tensor and its reshapes): freed with the last. */
export interface TensorData {
  storage: unknown;
  size: number;
  /** Handles still alive on it. */
  refs: number;
  facts: ValueFacts | null;
}

/** What a tensor needs from the backend that made it: enough to print itself and to be freed. */
export interface TensorOwner {
  readonly name: string;
  readonly dtype: DType;
  dispose(t: Tensor): void;
  peek(t: Tensor): ArrayLike<number> | null;
}

export class Tensor {
  /** Set by `dispose` (or when `assign` moves the values out); a disposed handle is refused everywhere. */
  disposed = false;

  /** Made by a backend (`backend.tensor(…)` or a kernel), never directly. */
  constructor(
    readonly backend: TensorOwner,
    readonly shape: Shape,
    /** @internal the values; shared with reshapes. */
    readonly data: TensorData,
  ) {}

  get dtype(): DType {
    return this.backend.dtype;
  }

  /** The number of values: the product of the shape ([] is a scalar: 1). */
  get size(): number {
    return this.data.size;
  }

  /** Frees the handle (the same as `backend.dispose(t)`). */
  dispose(): void {
    this.backend.dispose(this);
  }

  /** `Tensor(wasm float32 [2,3]: 0.1, 0.2, …)`: what it is, and its values where a synchronous read is possible. */
  toString(): string {
    const head = `${this.backend.name} ${this.dtype} ${formatShape(this.shape)}`;
    if (this.disposed) return `Tensor(${head}, disposed)`;
    const values = this.backend.peek(this); // at most the first 9
    if (!values) return `Tensor(${head})`;
    const long = this.size > 8;
    const shown = Array.from(values)
      .slice(0, long ? 6 : this.size)
      .map((v) => Number(v.toPrecision(6)))
      .join(', ');
    return `Tensor(${head}: ${shown}${long ? `, … ${this.size - 6} more` : ''})`;
  }

  /** Node's `console.log` and `util.inspect` show the same line, not the backend's internals. */
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return this.toString();
  }
}
