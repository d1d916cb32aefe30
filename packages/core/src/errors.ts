/**
 * One family of errors for the whole project. Each says what was wrong and what to do,
 * so a command-line tool can print `error.message` alone and the user can act on it.
 */
export class BackpropError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** Tensors whose shapes do not fit the kernel or layer they were given to. */
export class ShapeError extends BackpropError {
  constructor(
    /** The layer or kernel that found the mismatch, e.g. `Affine` or `matmul`. */
    readonly where: string,
    detail: string,
  ) {
    super(`${where}: ${detail}`);
  }
}

/** Values that cannot be computed with: NaN or Infinity, a class index out of range. */
export class ValueError extends BackpropError {
  constructor(
    readonly where: string,
    detail: string,
  ) {
    super(`${where}: ${detail}`);
  }
}

/** A tensor used after `dispose`, or handed to a backend that does not own it. */
export class TensorStateError extends BackpropError {}

/** A backend that is unknown, or that cannot run here (a missing engine or feature). */
export class BackendError extends BackpropError {}

/** A data or model file that is missing, truncated or not what it claims to be. */
export class DataError extends BackpropError {
  constructor(
    readonly file: string,
    detail: string,
  ) {
    super(`${file}: ${detail}`);
  }
}

/** A bad option or argument given by the user (a flag, a constructor option). */
export class UsageError extends BackpropError {}
