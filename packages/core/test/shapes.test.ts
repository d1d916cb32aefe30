import { describe, expect, it } from 'vitest';
import { labelsShape, matmulShape } from '../src/engine/shapes.js';
import { transposeOf } from '../src/engine/window.js';
import { ShapeError } from '../src/index.js';

const t = (...shape: number[]) => ({ shape });

describe('shape checks', () => {
  it('names the kernel and both shapes on a matmul mismatch', () => {
    expect(() => matmulShape(t(3, 783), t(784, 50))).toThrow(ShapeError);
    expect(() => matmulShape(t(3, 783), t(784, 50))).toThrow(
      /matmul: inner dimensions differ.*a \[3,783\], b \[784,50\]/,
    );
  });

  it('follows transpose flags', () => {
    expect(matmulShape(t(100, 784), t(100, 50), { transposeA: true })).toEqual({
      m: 784,
      k: 100,
      n: 50,
    });
    expect(matmulShape(t(100, 10), t(50, 10), { transposeB: true })).toEqual({
      m: 100,
      k: 10,
      n: 50,
    });
  });

  it('accepts both label forms and rejects a wrong length', () => {
    expect(labelsShape('k', t(4, 10), t(4)).oneHot).toBe(false);
    expect(labelsShape('k', t(4, 10), t(4, 10)).oneHot).toBe(true);
    expect(() => labelsShape('k', t(4, 10), t(3))).toThrow(
      /labels must be class indices \[4\] or one-hot \[4,10\].*got \[3\]/,
    );
  });
});

describe('permutes that are transposes', () => {
  it('finds a block of trailing axes moved to the front, and only that', () => {
    // NHWC → NCHW: [H·W, C] transposed; and back: [C, H·W]
    expect(transposeOf([24, 24, 30], [2, 0, 1])).toEqual({ rows: 576, cols: 30 });
    expect(transposeOf([30, 24, 24], [1, 2, 0])).toEqual({ rows: 30, cols: 576 });
    expect(transposeOf([3, 4], [1, 0])).toEqual({ rows: 3, cols: 4 });
    // the identity, a swap inside, and a reversal of three axes are not
    expect(transposeOf([3, 4, 5], [0, 1, 2])).toBeUndefined();
    expect(transposeOf([3, 4, 5], [0, 2, 1])).toBeUndefined();
    expect(transposeOf([3, 4, 5], [2, 1, 0])).toBeUndefined();
  });
});

describe('error names', () => {
  it('are spelled out, so they survive a minifier that renames classes', async () => {
    const errors = await import('../src/engine/errors.js');
    expect(new errors.ShapeError('k', 'x').name).toBe('ShapeError');
    expect(new errors.ValueError('k', 'x').name).toBe('ValueError');
    expect(new errors.DataError('f', 'x').name).toBe('DataError');
    expect(new errors.TensorStateError('x').name).toBe('TensorStateError');
    expect(new errors.BackendError('x').name).toBe('BackendError');
    expect(new errors.UsageError('x').name).toBe('UsageError');
    expect(new errors.BackpropError('x').name).toBe('BackpropError');
  });
});
