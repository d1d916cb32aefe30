/**
 * Tensors as people read them: nested rows, as numpy prints an array and `array()` gives
 * them to JavaScript (TensorFlow.js's `t.array()`).
 */
import type { DType, Shape } from './contract.js';

/** A tensor's values nested by its shape: a number for a scalar, rows of rows otherwise. */
export type NestedNumbers = number | NestedNumbers[];

/** Past this many values only the edges of each axis are shown: numpy's threshold. */
export const SUMMARY_THRESHOLD = 1000;
/** Values shown at each end of a long axis when summarised: numpy's edgeitems. */
const EDGE = 3;

/** Row-major `values` nested by `shape` ([] gives the one number). */
export function nest(values: ArrayLike<number>, shape: Shape): NestedNumbers {
  const build = (axis: number, offset: number): NestedNumbers => {
    if (axis === shape.length) return values[offset] as number;
    const stride = shape.slice(axis + 1).reduce((a, b) => a * b, 1);
    return Array.from({ length: shape[axis] as number }, (_, i) =>
      build(axis + 1, offset + i * stride),
    );
  };
  return build(0, 0);
}

/**
 * The values as numpy prints them: one line a row, the rows of each block under one
 * another, columns aligned, a blank line between blocks of three and more axes; past
 * `SUMMARY_THRESHOLD` values each axis longer than six shows three at each end and `…`.
 * Digits: six significant for float32 (what it holds), eight for float64 (numpy's).
 */
export function formatValues(values: ArrayLike<number>, shape: Shape, dtype: DType): string {
  const size = shape.reduce((a, b) => a * b, 1);
  const summarise = size > SUMMARY_THRESHOLD;
  const digits = dtype === 'float32' ? 6 : 8;
  // the indices each axis shows (null: the "…" between the two ends)
  const shown = shape.map((dim) =>
    summarise && dim > 2 * EDGE
      ? [...range(0, EDGE), null, ...range(dim - EDGE, dim)]
      : range(0, dim),
  );
  const strides = shape.map((_, axis) => shape.slice(axis + 1).reduce((a, b) => a * b, 1));
  const text = (v: number) => String(Number(v.toPrecision(digits)));

  // the offsets of the values shown, so that the columns can share one width
  const offsets = (axis: number, offset: number): number[] =>
    axis === shape.length
      ? [offset]
      : (shown[axis] as (number | null)[]).flatMap((i) =>
          i === null ? [] : offsets(axis + 1, offset + i * (strides[axis] as number)),
        );
  const width = Math.max(1, ...offsets(0, 0).map((at) => text(values[at] as number).length));
  const cell = (offset: number) => text(values[offset] as number).padStart(width);

  const block = (axis: number, offset: number, indent: string): string => {
    if (axis === shape.length) return cell(offset);
    const last = axis === shape.length - 1;
    const parts = (shown[axis] as (number | null)[]).map((i) =>
      i === null ? '…' : block(axis + 1, offset + i * (strides[axis] as number), `${indent} `),
    );
    if (last) return `[${parts.join(', ')}]`;
    // rows under one another; a blank line between blocks of higher axes
    const gap = `,\n${'\n'.repeat(shape.length - axis - 2)}${indent} `;
    return `[${parts.join(gap)}]`;
  };
  return block(0, 0, '');
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from }, (_, i) => from + i);
}
