/**
 * Core's Backend — the handles, checks and compositions every backend shares — run on
 * the CPU kernels (core's own tests cannot depend on a backend).
 */
import { inspect } from 'node:util';
import {
  Backend,
  ShapeError,
  type Tensor,
  TensorStateError,
  TwoLayerNet,
  UsageError,
  ValueError,
} from '@backprop/core';
import { describe, expect, it, vi } from 'vitest';
import { CpuBackend, CpuKernels } from '../src/index.js';

const b = new CpuBackend();
const t = (values: number[], shape: number[]) => b.tensor(values, shape);
const read = (x: Tensor) => Array.from(b.readSync(x));

describe('element-wise operations broadcast as numpy does', () => {
  it('a row across every row, a column down every column, a number everywhere', () => {
    const x = t([1, 2, 3, 4, 5, 6], [2, 3]);
    expect(read(b.add(x, t([10, 20, 30], [3])))).toEqual([11, 22, 33, 14, 25, 36]);
    expect(read(b.mul(x, t([2, 3], [2, 1])))).toEqual([2, 4, 6, 12, 15, 18]);
    expect(read(b.sub(10, x))).toEqual([9, 8, 7, 6, 5, 4]);
    const outer = b.equal(t([0, 1, 2], [3, 1]), t([0, 1, 2, 3], [1, 4]));
    expect(outer.shape).toEqual([3, 4]);
    expect(read(outer)).toEqual([1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0]);
    expect(read(b.greater(x, 3))).toEqual([0, 0, 0, 1, 1, 1]);
    expect(read(b.maximum(t([-0, -2, 3], [3]), 0))).toEqual([0, 0, 3]);
  });

  it('names the operation and both shapes when they do not broadcast', () => {
    expect(() => b.add(t([1, 2, 3, 4, 5, 6], [2, 3]), t([1, 2], [2]))).toThrow(
      /add: a \[2,3\] and b \[2\] do not broadcast/,
    );
    expect(() => b.mul(t([1, 2, 3, 4, 5, 6], [2, 3]), Number.NaN)).toThrow(ValueError);
    // float32 cannot hold 1e39: a number that would overflow is refused like NaN
    expect(() =>
      new CpuBackend({ dtype: 'float32' }).mul(
        new CpuBackend({ dtype: 'float32' }).tensor([1], [1]),
        1e39,
      ),
    ).toThrow(/the number 1e\+39 is not a finite float32/);
  });

  it('reduces over all values, axis 0, axis 1, with keepdims; argmax keeps the first maximum', () => {
    const x = t([1, 5, 5, 2, 0, 7], [2, 3]);
    expect(read(b.sum(x))).toEqual([20]);
    expect(b.sum(x).shape).toEqual([]);
    expect(read(b.sum(x, 0))).toEqual([3, 5, 12]);
    expect(b.max(x, 1, true).shape).toEqual([2, 1]);
    expect(read(b.max(x, -1))).toEqual([5, 7]);
    expect(read(b.argmax(x, 1))).toEqual([1, 2]);
    expect(() => b.sum(t([1, 2, 3, 4, 5, 6, 7, 8], [2, 2, 2]), 1)).toThrow(
      /sum: axis 1 needs a matrix/,
    );
  });
});

describe('lifetimes', () => {
  it('tidy frees what it made except what it returns, also when it throws', () => {
    const x = t([1, 2, 3], [3]);
    const before = b.liveTensors();
    const y = b.tidy(() => b.mul(b.add(x, 1), 2));
    expect(read(y)).toEqual([4, 6, 8]);
    expect(b.liveTensors()).toBe(before + 1);
    expect(() =>
      b.tidy(() => {
        b.exp(x);
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(b.liveTensors()).toBe(before + 1);
  });

  it('assign replaces values in place, seen through a reshape, and uses up the source', () => {
    const w = t([1, 2, 3, 4], [2, 2]);
    const flat = b.reshape(w, [4]);
    const update = b.sub(w, 1);
    const live = b.liveTensors();
    b.assign(w, update);
    expect(read(flat)).toEqual([0, 1, 2, 3]);
    expect(update.disposed).toBe(true);
    expect(b.liveTensors()).toBe(live - 1);
    expect(() => b.assign(w, t([1], [1]))).toThrow(ShapeError);
  });

  it('refuses a disposed tensor and another backend’s, naming both', () => {
    const other = new CpuBackend({ dtype: 'float32' });
    expect(() => b.relu(other.tensor([1], [1]))).toThrow(
      /relu: the tensor was not made by this cpu backend \(it belongs to a cpu backend\)/,
    );
    const gone = t([1], [1]);
    gone.dispose();
    expect(() => b.exp(gone)).toThrow(TensorStateError);
  });

  it('a TwoLayerNet whose construction fails leaves no handle behind', () => {
    const before = b.liveTensors();
    expect(
      () =>
        new TwoLayerNet(b, {
          inputSize: 2,
          hiddenSize: 2,
          outputSize: 2,
          initialParams: { W1: [1, 2, 3, 4], b1: [0], W2: [1, 2, 3, 4], b2: [0, 0] },
        }),
    ).toThrow(/initialParams.b1 must hold 2 values \(b1 is \[2\]\), got 1/);
    expect(
      () =>
        new TwoLayerNet(b, {
          inputSize: 2,
          hiddenSize: 2,
          outputSize: 2,
          initialParams: { W1: [1, 2, 3, 4], b1: [0, 0], W2: [1, Number.NaN, 3, 4], b2: [0, 0] },
        }),
    ).toThrow(ValueError);
    expect(b.liveTensors()).toBe(before);
  });
});

describe('values', () => {
  it('float32 refuses values it would store as Infinity', () => {
    const f32 = new CpuBackend({ dtype: 'float32' });
    expect(() => f32.tensor([1e39, 1], [2])).toThrow(
      /tensor: value 1e\+39 at index 0 is too large for float32/,
    );
    expect(() => f32.write(f32.tensor([1, 1], [2]), [-1e39], 1)).toThrow(/too large for float32/);
    expect(read(b.tensor([1e39], [1]))).toEqual([1e39]); // float64 holds it
  });

  it('checks uploaded labels from what was seen on upload, without reading them back', () => {
    const kernels = new CpuKernels();
    const backend = new Backend(kernels);
    const scores = backend.tensor(new Array(40).fill(0.1), [4, 10]);
    const labels = backend.tensor([3, 9, 0, 2], [4]);
    const reads = vi.spyOn(kernels, 'downloadSync');
    const gathered = backend.gatherRows(labels, [1, 1, 3, 0]);
    backend.dispose(backend.countCorrect(scores, gathered));
    expect(reads).not.toHaveBeenCalled();
    // A range that does not settle it (a row out of range that was not gathered): the values decide.
    const wide = backend.tensor([3, 12, 0, 2], [4]);
    backend.dispose(
      backend.countCorrect(backend.gatherRows(scores, [0, 1]), backend.gatherRows(wide, [0, 2])),
    );
    expect(reads).toHaveBeenCalledTimes(1);
    expect(() => backend.countCorrect(scores, wide)).toThrow(
      /countCorrect: label 12 at row 1 is not a class index in 0…9/,
    );
  });

  it('a limit on values a tensor: an upload may pass it (a dataset), kernels only take its rows', () => {
    // gpu.js's limit (2^24, float32 flat indices) made small: kernels that cap what they
    // compute and read at 12 values.
    class Capped extends CpuKernels {
      readonly maxValues = 12;
    }
    const backend = new Backend(new Capped());
    const data = backend.tensor(
      Array.from({ length: 20 }, (_, i) => i),
      [5, 4],
    );
    expect(Array.from(backend.readSync(backend.gatherRows(data, [4, 0])))).toEqual([
      16, 17, 18, 19, 0, 1, 2, 3,
    ]);
    expect(Array.from(backend.readSync(backend.reshape(data, [20])))).toHaveLength(20);
    expect(() => backend.relu(data)).toThrow(
      /relu: the cpu backend's kernels read at most 12 values a tensor, and this one is \[5,4\] \(20\); take rows from it with gatherRows/,
    );
    const rows = backend.gatherRows(data, [0, 1, 2]);
    expect(backend.matmul(rows, backend.tensor(new Array(12).fill(1), [4, 3])).shape).toEqual([
      3, 3,
    ]);
    const column = backend.tensor([1, 2, 3, 4, 5, 6], [6, 1]);
    expect(() => backend.matmul(column, backend.reshape(column, [1, 6]))).toThrow(
      /the cpu backend holds at most 12 values a tensor, and this one is \[6,6\] \(36\)/,
    );
  });

  it('prints as what it is, its rows as numpy prints them, not the backend’s internals', () => {
    const x = t([1, 2, 3], [3]);
    expect(String(x)).toBe('Tensor [3] float64 on cpu\n[1, 2, 3]');
    expect(
      inspect(
        t(
          Array.from({ length: 20 }, (_, i) => i / 3),
          [4, 5],
        ),
      ),
    ).toBe(
      [
        'Tensor [4,5] float64 on cpu',
        '[[         0, 0.33333333, 0.66666667,          1,  1.3333333],',
        ' [ 1.6666667,          2,  2.3333333,  2.6666667,          3],',
        ' [ 3.3333333,  3.6666667,          4,  4.3333333,  4.6666667],',
        ' [         5,  5.3333333,  5.6666667,          6,  6.3333333]]',
      ].join('\n'),
    );
    x.dispose();
    expect(`${x}`).toBe('Tensor [3] float64 on cpu, disposed');
  });

  it('is closed for good once closed', () => {
    const backend = new CpuBackend();
    backend.close();
    expect(() => backend.tensor([1], [1])).toThrow(/the cpu backend was closed/);
    expect(() => new UsageError('x')).not.toThrow();
  });
});
