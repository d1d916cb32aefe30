import { describe, expect, it } from 'vitest';
import { formatValues, nest } from '../src/index.js';

const counting = (size: number) => Float64Array.from({ length: size }, (_, i) => i);

describe('formatValues: a tensor as numpy prints an array', () => {
  it('prints a [2,3] as two rows, columns aligned', () => {
    expect(formatValues([1, 2, 3, 4, 5, 60], [2, 3], 'float64')).toBe(
      '[[ 1,  2,  3],\n [ 4,  5, 60]]',
    );
  });

  it('prints a scalar, a vector, and blocks of three axes with a blank line between', () => {
    expect(formatValues([2.5], [], 'float64')).toBe('2.5');
    expect(formatValues([0.1, -0.2], [2], 'float64')).toBe('[ 0.1, -0.2]');
    expect(formatValues(counting(8), [2, 2, 2], 'float64')).toBe(
      '[[[0, 1],\n  [2, 3]],\n\n [[4, 5],\n  [6, 7]]]',
    );
  });

  it('shows six significant digits in float32 (what it holds) and eight in float64', () => {
    expect(formatValues(Float32Array.of(1 / 3), [1], 'float32')).toBe('[0.333333]');
    expect(formatValues([1 / 3], [1], 'float64')).toBe('[0.33333333]');
  });

  it('past 1 000 values shows three at each end of each long axis, as numpy', () => {
    const text = formatValues(counting(784 * 50), [784, 50], 'float64');
    const lines = text.split('\n');
    expect(lines).toHaveLength(7); // three rows, "…", three rows
    expect(lines[0]).toBe('[[    0,     1,     2, …,    47,    48,    49],');
    expect(lines[3]).toBe(' …,');
    expect(lines[6]).toBe(' [39150, 39151, 39152, …, 39197, 39198, 39199]]');
    // 1 000 values exactly are all shown
    expect(formatValues(counting(1000), [1000], 'float64')).not.toContain('…');
  });
});

describe('nest: flat values by a shape', () => {
  it('gives rows of rows, and the number itself for a scalar', () => {
    expect(nest([1, 2, 3, 4, 5, 6], [2, 3])).toEqual([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    expect(nest(counting(8), [2, 2, 2])).toEqual([
      [
        [0, 1],
        [2, 3],
      ],
      [
        [4, 5],
        [6, 7],
      ],
    ]);
    expect(nest([7], [])).toBe(7);
  });
});
