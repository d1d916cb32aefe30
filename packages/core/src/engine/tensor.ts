/**
 * A tensor is a handle: a shape, and the values it views, which live in a backend. Core
 * owns every handle (the `Backend` class makes them, checks them and frees them); a
 * backend only ever sees its own storage.
 */
import type { DType, FloatArray, Shape } from './contract.js';
import { formatValues, type NestedNumbers } from './print.js';
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
export interface TensorStore {
  storage: unknown;
  size: number;
  /** Handles still alive on it. */
  refs: number;
  facts: ValueFacts | null;
  /**
   * A host copy of a small upload (what `backend.tensor` was given, and writes since), so
   * that a tensor on a device that reads back only asynchronously still prints its values;
   * values a kernel computed have none.
   */
  host: FloatArray | null;
}

/** What a tensor needs from the backend that made it: to read, print and free itself. */
export interface TensorOwner {
  readonly name: string;
  readonly dtype: DType;
  dispose(t: Tensor): void;
  /** All the values where they can be had synchronously (for `toString`), else null. */
  peek(t: Tensor): ArrayLike<number> | null;
  read(t: Tensor): Promise<FloatArray>;
  array(t: Tensor): Promise<NestedNumbers>;
}

export class Tensor {
  /** Set by `dispose` (or when `assign` moves the values out); a disposed handle is refused everywhere. */
  disposed = false;

  /** Made by a backend (`backend.tensor(…)` or a kernel), never directly. */
  constructor(
    readonly backend: TensorOwner,
    readonly shape: Shape,
    /** @internal the values; shared with reshapes. */
    readonly store: TensorStore,
  ) {}

  get dtype(): DType {
    return this.backend.dtype;
  }

  /** The number of values: the product of the shape ([] is a scalar: 1). */
  get size(): number {
    return this.store.size;
  }

  /** Frees the handle (the same as `backend.dispose(t)`). */
  dispose(): void {
    this.backend.dispose(this);
  }

  /** A copy of the values, flat (the same as `await backend.read(t)`; TensorFlow.js's `data()`). */
  data(): Promise<FloatArray> {
    return this.backend.read(this);
  }

  /** The values nested by the shape (the same as `await backend.array(t)`). */
  array(): Promise<NestedNumbers> {
    return this.backend.array(this);
  }

  /** Prints what `toString` shows, with the values read from any device. */
  async print(): Promise<void> {
    console.log(this.describe(await this.data()));
  }

  /**
   * `Tensor [2,3] float32 on wasm` and the rows under it, as numpy prints an array; on a
   * device that reads back only asynchronously (WebGPU), values a kernel computed are
   * left to `await t.print()`.
   */
  toString(): string {
    if (this.disposed) return `${this.head()}, disposed`;
    const values = this.backend.peek(this);
    return values
      ? this.describe(values)
      : `${this.head()}: on the device (await t.print() reads and prints it)`;
  }

  private head(): string {
    return `Tensor ${formatShape(this.shape)} ${this.dtype} on ${this.backend.name}`;
  }

  private describe(values: ArrayLike<number>): string {
    return `${this.head()}\n${formatValues(values, this.shape, this.dtype)}`;
  }

  /** Node's `console.log` and `util.inspect` show the same line, not the backend's internals. */
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return this.toString();
  }
}
