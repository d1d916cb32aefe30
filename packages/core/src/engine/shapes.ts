/**
 * The one place where shapes and values are checked. Core's Backend calls these before a
 * kernel sees a call, so every backend rejects the same mistakes with the same words.
 */
import type { AdamStep, BinaryOp, Broadcast, DType, ReduceOp, Shape } from './contract.js';
import { ShapeError, ValueError } from './errors.js';
import type { ValueFacts } from './tensor.js';

/** Anything with a shape: a tensor, or a shape in a test. */
interface Shaped {
  readonly shape: Shape;
}

export interface MatmulOptions {
  /** Use `aᵀ` instead of `a`. */
  transposeA?: boolean;
  /** Use `bᵀ` instead of `b`. */
  transposeB?: boolean;
}

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

/**
 * Rejects NaN, ±Infinity and, for float32, values beyond its range (they would be stored
 * as Infinity), naming the first; returns what the values are (see ValueFacts).
 */
export function checkValues(where: string, values: ArrayLike<number>, dtype: DType): ValueFacts {
  // bytes and whole-number arrays need no finiteness check (MNIST labels, indices)
  const integers =
    values instanceof Uint8Array || values instanceof Int32Array || values instanceof Uint16Array;
  const float32 = dtype === 'float32' && !(values instanceof Float32Array);
  let whole = true;
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!integers && !(Number.isFinite(v) && (!float32 || Number.isFinite(Math.fround(v))))) {
      throw new ValueError(
        where,
        typeof v !== 'number'
          ? `value ${JSON.stringify(v)} at index ${i} is not a number`
          : Number.isFinite(v)
            ? `value ${v} at index ${i} is too large for float32 (largest ±3.4028235e38)`
            : `value ${v} at index ${i} is not a finite number`,
      );
    }
    if (v < min) min = v;
    if (v > max) max = v;
    if (whole && v !== Math.trunc(v)) whole = false;
  }
  return { whole, min, max };
}

export function matrixShape(where: string, t: Shaped, name = 'x'): [rows: number, cols: number] {
  if (t.shape.length !== 2) {
    throw new ShapeError(
      where,
      `${name} must be a matrix [rows, cols], got ${formatShape(t.shape)}`,
    );
  }
  return [t.shape[0], t.shape[1]];
}

export function checkSameShape(where: string, a: Shaped, b: Shaped, names = ['a', 'b']): void {
  if (!sameShape(a.shape, b.shape)) {
    throw new ShapeError(
      where,
      `${names[0]} ${formatShape(a.shape)} and ${names[1]} ${formatShape(b.shape)} must have the same shape`,
    );
  }
}

/** m, k, n of op(a)·op(b) = [m,k]·[k,n]. */
export function matmulShape(a: Shaped, b: Shaped, options: MatmulOptions = {}) {
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

export function addBiasShape(x: Shaped, bias: Shaped) {
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
export function labelsShape(where: string, scores: Shaped, labels: Shaped) {
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

export function gatherShape(x: Shaped, indices: ArrayLike<number>): Shape {
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

export function checkReshape(t: Shaped, shape: Shape): void {
  checkShape('reshape', shape);
  if (sizeOf(shape) !== sizeOf(t.shape)) {
    throw new ShapeError(
      'reshape',
      `cannot reshape ${formatShape(t.shape)} (${sizeOf(t.shape)} values) to ${formatShape(shape)} (${sizeOf(shape)} values)`,
    );
  }
}

export function checkWrite(
  t: Shaped,
  values: ArrayLike<number>,
  offset: number,
  dtype: DType,
): ValueFacts {
  const size = sizeOf(t.shape);
  if (!Number.isInteger(offset) || offset < 0 || offset + values.length > size) {
    throw new ShapeError(
      'write',
      `${values.length} values at offset ${offset} do not fit a tensor of ${size} values`,
    );
  }
  return checkValues('write', values, dtype);
}

export function checkLearningRate(learningRate: number): void {
  if (!Number.isFinite(learningRate) || learningRate <= 0) {
    throw new ValueError(
      'sgdUpdate',
      `learning rate must be a positive number, got ${learningRate}`,
    );
  }
}

/** Adam's numbers: a positive rate and ε, and moment rates β in [0, 1). */
export function checkAdamStep(step: AdamStep): void {
  const { learningRate, beta1, beta2, epsilon } = step ?? ({} as AdamStep);
  const bad = (what: string, value: unknown, want: string) => {
    throw new ValueError('adamUpdate', `${what} must be ${want}, got ${value}`);
  };
  if (typeof learningRate !== 'number' || !Number.isFinite(learningRate) || learningRate <= 0)
    bad('learning rate', learningRate, 'a positive number');
  for (const [what, beta] of [
    ['beta1', beta1],
    ['beta2', beta2],
  ] as const) {
    if (typeof beta !== 'number' || !(beta >= 0 && beta < 1)) bad(what, beta, 'in [0, 1)');
  }
  if (typeof epsilon !== 'number' || !Number.isFinite(epsilon) || epsilon <= 0)
    bad('epsilon', epsilon, 'a positive number');
}

/** What `backend.tensor(values, shape)` checks before it stores anything. */
export function checkTensorValues(
  values: ArrayLike<number>,
  shape: Shape,
  dtype: DType,
): ValueFacts {
  checkShape('tensor', shape);
  if (!values || typeof values.length !== 'number') {
    throw new ValueError('tensor', `values must be an array or typed array, got ${typeof values}`);
  }
  if (values.length !== sizeOf(shape)) {
    throw new ShapeError(
      'tensor',
      `${values.length} values cannot fill shape ${formatShape(shape)} (${sizeOf(shape)} values)`,
    );
  }
  return checkValues('tensor', values, dtype);
}

/**
 * How two shapes broadcast, as numpy does it, for results of at most two dimensions: []
 * is [1,1], [n] is a row [1,n]; each dimension must be equal or 1. Identical shapes of any
 * rank work too (as one flat row).
 */
export function broadcastShapes(
  op: BinaryOp,
  a: Shape,
  b: Shape,
): { shape: Shape; layout: Broadcast } {
  if (sameShape(a, b)) {
    const size = sizeOf(a);
    return {
      shape: a,
      layout: { rows: 1, cols: size, aRows: 1, aCols: size, bRows: 1, bCols: size },
    };
  }
  const asMatrix = (s: Shape): [number, number] | null =>
    s.length === 0 ? [1, 1] : s.length === 1 ? [1, s[0]] : s.length === 2 ? [s[0], s[1]] : null;
  const [A, B] = [asMatrix(a), asMatrix(b)];
  // a scalar broadcasts against anything
  if (!A || !B) {
    if (sizeOf(a) === 1 && a.length === 0 && B === null) return broadcastScalar(b, 'b');
    if (sizeOf(b) === 1 && b.length === 0 && A === null) return broadcastScalar(a, 'a');
  }
  const fits = (x: number, y: number) => x === y || x === 1 || y === 1;
  if (!A || !B || !fits(A[0], B[0]) || !fits(A[1], B[1])) {
    throw new ShapeError(
      op,
      `a ${formatShape(a)} and b ${formatShape(b)} do not broadcast (each dimension must be equal, or 1)`,
    );
  }
  const rows = Math.max(A[0], B[0]);
  const cols = Math.max(A[1], B[1]);
  const rank = Math.max(a.length, b.length);
  const shape = rank === 0 ? [] : rank === 1 ? [cols] : [rows, cols];
  return { shape, layout: { rows, cols, aRows: A[0], aCols: A[1], bRows: B[0], bCols: B[1] } };
}

function broadcastScalar(shape: Shape, tensor: 'a' | 'b'): { shape: Shape; layout: Broadcast } {
  const cols = sizeOf(shape);
  const full = { rows: 1, cols };
  const one = { rows: 1, cols: 1 };
  const [A, B] = tensor === 'a' ? [full, one] : [one, full];
  return {
    shape,
    layout: { rows: 1, cols, aRows: A.rows, aCols: A.cols, bRows: B.rows, bCols: B.cols },
  };
}

/**
 * A reduction of x along `axis` (as numpy's): none for all values, 0 down the columns of
 * a matrix, 1 or −1 along its rows. Returns the [rows, cols] the kernel sees and the
 * result's shape.
 */
export function reduceShape(
  op: ReduceOp,
  shape: Shape,
  axis: 0 | 1 | -1 | undefined,
  keepdims: boolean,
): { rows: number; cols: number; kernelAxis: 0 | 1; shape: Shape } {
  const size = sizeOf(shape);
  const all = axis === undefined || (shape.length === 1 && (axis === 0 || axis === -1));
  if (all) {
    return { rows: 1, cols: size, kernelAxis: 1, shape: keepdims ? shape.map(() => 1) : [] };
  }
  if (shape.length !== 2 || ![0, 1, -1].includes(axis)) {
    throw new ShapeError(
      op,
      `axis ${axis} needs a matrix [rows, cols] (axis 0, 1 or -1), got ${formatShape(shape)}`,
    );
  }
  const [rows, cols] = shape;
  return axis === 0
    ? { rows, cols, kernelAxis: 0, shape: keepdims ? [1, cols] : [cols] }
    : { rows, cols, kernelAxis: 1, shape: keepdims ? [rows, 1] : [rows] };
}
