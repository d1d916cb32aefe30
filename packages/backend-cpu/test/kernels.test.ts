import { ShapeError, TensorStateError } from '@backprop/core';
import { describe, expect, it } from 'vitest';
import { CpuBackend } from '../src/index.js';

function naiveMatmul(
  a: number[],
  b: number[],
  m: number,
  k: number,
  n: number,
  ta: boolean,
  tb: boolean,
) {
  const out: number[] = [];
  for (let i = 0; i < m; i++)
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++)
        s += (ta ? a[p * m + i] : a[i * k + p]) * (tb ? b[j * k + p] : b[p * n + j]);
      out.push(s);
    }
  return out;
}

describe('cpu kernels', () => {
  const backend = new CpuBackend();
  // Shapes around the row block (64) and with zeros in a, which the loops skip.
  for (const [m, k, n] of [
    [1, 1, 1],
    [3, 7, 5],
    [65, 33, 50],
    [100, 784, 10],
  ]) {
    for (const [ta, tb] of [
      [false, false],
      [true, false],
      [false, true],
      [true, true],
    ]) {
      it(`matmul ${m}×${k}·${k}×${n} transposeA=${ta} transposeB=${tb}`, () => {
        const a = Array.from({ length: m * k }, (_, i) => (i % 3 === 0 ? 0 : Math.sin(i)));
        const b = Array.from({ length: k * n }, (_, i) => Math.cos(i));
        const out = backend.readSync(
          backend.matmul(
            backend.tensor(a, ta ? [k, m] : [m, k]),
            backend.tensor(b, tb ? [n, k] : [k, n]),
            {
              transposeA: ta,
              transposeB: tb,
            },
          ),
        );
        const expected = naiveMatmul(a, b, m, k, n, ta, tb);
        // float64, k ≤ 784 terms of magnitude ≤ 1: summation-order differences stay below 1e-12
        for (const [i, v] of expected.entries()) expect(Math.abs(out[i] - v)).toBeLessThan(1e-12);
      });
    }
  }

  it('stores float32 when asked, rounding each result once', () => {
    const f32 = new CpuBackend({ dtype: 'float32' });
    const out = f32.readSync(
      f32.matmul(f32.tensor([0.1, 0.2], [1, 2]), f32.tensor([0.3, 0.4], [2, 1])),
    );
    expect(out).toBeInstanceOf(Float32Array);
    expect(out[0]).toBe(
      Math.fround(Math.fround(0.1) * Math.fround(0.3) + Math.fround(0.2) * Math.fround(0.4)),
    );
  });

  it('counts correct predictions with index and one-hot labels, first max wins', () => {
    const scores = backend.tensor([0.1, 0.9, 0.5, 0.5, 0.7, 0.2], [3, 2]);
    expect(backend.readSync(backend.countCorrect(scores, backend.tensor([1, 0, 1], [3])))[0]).toBe(
      2,
    );
    expect(
      backend.readSync(backend.countCorrect(scores, backend.tensor([0, 1, 1, 0, 0, 1], [3, 2])))[0],
    ).toBe(2);
  });

  it('gathers rows, updates in place, and refuses bad indices', () => {
    const x = backend.tensor([1, 2, 3, 4, 5, 6], [3, 2]);
    expect(Array.from(backend.readSync(backend.gatherRows(x, [2, 0, 2])))).toEqual([
      5, 6, 1, 2, 5, 6,
    ]);
    expect(() => backend.gatherRows(x, [3])).toThrow(/row index 3 at 0 is outside 0…2/);
    const w = backend.tensor([1, 1], [2]);
    backend.sgdUpdate(w, backend.tensor([10, -10], [2]), 0.1);
    expect(Array.from(backend.readSync(w))).toEqual([0, 2]);
    expect(() => backend.sgdUpdate(w, backend.tensor([1], [1]), 0.1)).toThrow(ShapeError);
  });

  it('frees on dispose, shares values between reshapes, and refuses a disposed tensor', () => {
    const before = backend.liveTensors();
    const t = backend.tensor([1, 2, 3, 4], [2, 2]);
    const flat = backend.reshape(t, [4]);
    expect(backend.liveTensors()).toBe(before + 2);
    backend.dispose(t);
    expect(Array.from(backend.readSync(flat))).toEqual([1, 2, 3, 4]);
    backend.dispose(flat);
    backend.dispose(flat); // twice is harmless
    expect(backend.liveTensors()).toBe(before);
    expect(() => backend.relu(flat)).toThrow(TensorStateError);
    expect(() => backend.relu(new CpuBackend().tensor([1], [1]))).toThrow(
      /not made by this cpu backend/,
    );
  });
});
