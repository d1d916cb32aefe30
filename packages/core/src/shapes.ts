/**
 * The one place where shapes are checked. Backends call these at the top of each kernel,
 * so every backend rejects the same mistakes with the same words.
 */
import type { MatmulOptions, Shape, Tensor } from './backend.js';
import { ShapeError, TensorStateError, ValueError } from './errors.js';

export function sizeOf(shape: Shape): number {
  let size = 1;
  for (const dim of shape) size *= dim;
  return size;
}

export function formatShape(shape: Shape): string {
  return `[${shape.join(',')}]`;
}

export function sameShape(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((dim, i) => dim === b[i]);
}

/** A shape must be a list of positive integers; [] is a scalar. */
export function checkShape(where: string, shape: Shape): void {
  if (!Array.isArray(shape) || !shape.every((dim) => Number.isInteger(dim) && dim > 0)) {
    throw new ShapeError(where, `a shape is a list of positive integers, got ${String(shape)}`);
  }
}

/** Rejects NaN and ±Infinity with the position of the first one. */
export function checkFinite(where: string, values: ArrayLike<number>): void {
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i])) {
      throw new ValueError(where, `value ${values[i]} at index ${i} is not a finite number`);
    }
  }
}

export function matrixShape(where: string, t: Tensor, name = 'x'): [rows: number, cols: number] {
  if (t.shape.length !== 2) {
    throw new ShapeError(
      where,
      `${name} must be a matrix [rows, cols], got ${formatShape(t.shape)}`,
    );
  }
  return [t.shape[0], t.shape[1]];
}

export function checkSameShape(where: string, a: Tensor, b: Tensor, names = ['a', 'b']): void {
  if (!sameShape(a.shape, b.shape)) {
    throw new ShapeError(
      where,
      `${names[0]} ${formatShape(a.shape)} and ${names[1]} ${formatShape(b.shape)} must have the same shape`,
    );
  }
}

/** m, k, n of op(a)·op(b) = [m,k]·[k,n]. */
export function matmulShape(a: Tensor, b: Tensor, options: MatmulOptions = {}) {
  const [aRows, aCols] = matrixShape('matmul', a, 'a');
  const [bRows, bCols] = matrixShape('matmul', b, 'b');
  const [m, k] = options.transposeA ? [aCols, aRows] : [aRows, aCols];
  const [kb, n] = options.transposeB ? [bCols, bRows] : [bRows, bCols];
  if (k !== kb) {
    const aName = options.transposeA ? 'aᵀ' : 'a';
    const bName = options.transposeB ? 'bᵀ' : 'b';
    throw new ShapeError(
      'matmul',
      `inner dimensions differ: ${aName} is [${m},${k}] and ${bName} is [${kb},${n}] (a ${formatShape(a.shape)}, b ${formatShape(b.shape)})`,
    );
  }
  return { m, k, n };
}

export function addBiasShape(x: Tensor, bias: Tensor) {
  const [m, n] = matrixShape('addBias', x);
  if (bias.shape.length !== 1 || bias.shape[0] !== n) {
    throw new ShapeError(
      'addBias',
      `bias must be [${n}] for x ${formatShape(x.shape)}, got ${formatShape(bias.shape)}`,
    );
  }
  return { m, n };
}

/**
 * Checks labels against scores [batch, classes]: either class indices [batch] or one-hot
 * rows [batch, classes]. Class index values are checked where the backend can see them.
 */
export function labelsShape(where: string, scores: Tensor, labels: Tensor) {
  const [batch, classes] = matrixShape(where, scores, 'scores');
  const oneHot = labels.shape.length === 2;
  const fits = oneHot
    ? labels.shape[0] === batch && labels.shape[1] === classes
    : labels.shape.length === 1 && labels.shape[0] === batch;
  if (!fits) {
    throw new ShapeError(
      where,
      `labels must be class indices [${batch}] or one-hot [${batch},${classes}] for scores ${formatShape(scores.shape)}, got ${formatShape(labels.shape)}`,
    );
  }
  return { batch, classes, oneHot };
}

/** Class indices must be whole numbers in [0, classes). */
export function checkClassIndices(where: string, labels: ArrayLike<number>, classes: number): void {
  for (let i = 0; i < labels.length; i++) {
    const label = labels[i];
    if (!Number.isInteger(label) || label < 0 || label >= classes) {
      throw new ValueError(
        where,
        `label ${label} at row ${i} is not a class index in 0…${classes - 1}`,
      );
    }
  }
}

export function gatherShape(x: Tensor, indices: ArrayLike<number>): Shape {
  if (x.shape.length < 1 || x.shape.length > 2) {
    throw new ShapeError(
      'gatherRows',
      `x must be [rows] or [rows, cols], got ${formatShape(x.shape)}`,
    );
  }
  const rows = x.shape[0];
  if (indices.length === 0) throw new ShapeError('gatherRows', 'no row indices given');
  for (let i = 0; i < indices.length; i++) {
    const row = indices[i];
    if (!Number.isInteger(row) || row < 0 || row >= rows) {
      throw new ShapeError('gatherRows', `row index ${row} at ${i} is outside 0…${rows - 1}`);
    }
  }
  return x.shape.length === 2 ? [indices.length, x.shape[1]] : [indices.length];
}

export function checkReshape(t: Tensor, shape: Shape): void {
  checkShape('reshape', shape);
  if (sizeOf(shape) !== sizeOf(t.shape)) {
    throw new ShapeError(
      'reshape',
      `cannot reshape ${formatShape(t.shape)} (${sizeOf(t.shape)} values) to ${formatShape(shape)} (${sizeOf(shape)} values)`,
    );
  }
}

export function checkWrite(t: Tensor, values: ArrayLike<number>, offset: number): void {
  const size = sizeOf(t.shape);
  if (!Number.isInteger(offset) || offset < 0 || offset + values.length > size) {
    throw new ShapeError(
      'write',
      `${values.length} values at offset ${offset} do not fit a tensor of ${size} values`,
    );
  }
  checkFinite('write', values);
}

export function checkLearningRate(learningRate: number): void {
  if (!Number.isFinite(learningRate) || learningRate <= 0) {
    throw new ValueError(
      'sgdUpdate',
      `learning rate must be a positive number, got ${learningRate}`,
    );
  }
}

/** What `backend.tensor(values, shape)` must check before it stores anything. */
export function checkTensorValues(values: ArrayLike<number>, shape: Shape): void {
  checkShape('tensor', shape);
  if (values.length !== sizeOf(shape)) {
    throw new ShapeError(
      'tensor',
      `${values.length} values cannot fill shape ${formatShape(shape)} (${sizeOf(shape)} values)`,
    );
  }
  checkFinite('tensor', values);
}

/**
 * What every backend checks first: that `t` is one of its own handles (`isOwn`) and, unless
 * disposing, still alive. The one place these two messages are written.
 */
export function ownTensor<T extends Tensor & { readonly disposed: boolean }>(
  t: Tensor,
  kernel: string,
  backendName: string,
  isOwn: (t: Tensor) => t is T,
  allowDisposed = false,
): T {
  if (!isOwn(t)) {
    throw new TensorStateError(
      `${kernel}: the tensor was not made by this ${backendName} backend; create it with this backend's tensor()`,
    );
  }
  if (t.disposed && !allowDisposed) {
    throw new TensorStateError(`${kernel}: the tensor [${t.shape.join(',')}] was already disposed`);
  }
  return t;
}
