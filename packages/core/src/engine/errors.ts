/**
 * One family of errors for the whole project. Each says what was wrong and what to do,
 * so a command-line tool can print `error.message` alone and the user can act on it.
 */
export class BackpropError extends Error {
  // Names are spelled out, not taken from the class: a minifier renames classes, and
  // callers (and the conformance suite) match errors by name.
  override name = 'BackpropError';
}

/** Tensors whose shapes do not fit the kernel or layer they were given to. */
export class ShapeError extends BackpropError {
  override name = 'ShapeError';
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
  override name = 'ValueError';
  constructor(
    readonly where: string,
    detail: string,
  ) {
    super(`${where}: ${detail}`);
  }
}

/** A tensor used after `dispose`, or handed to a backend that does not own it. */
export class TensorStateError extends BackpropError {
  override name = 'TensorStateError';
}

/** A backend that is unknown, or that cannot run here (a missing engine or feature). */
export class BackendError extends BackpropError {
  override name = 'BackendError';
}

/** A data or model file that is missing, truncated or not what it claims to be. */
export class DataError extends BackpropError {
  override name = 'DataError';
  constructor(
    readonly file: string,
    detail: string,
  ) {
    super(`${file}: ${detail}`);
  }
}

/** A bad option or argument given by the user (a flag, a constructor option). */
export class UsageError extends BackpropError {
  override name = 'UsageError';
}
