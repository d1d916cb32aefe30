import { describe, expect, it } from 'vitest';
import { Random, UsageError } from '../src/index.js';

describe('Random', () => {
  it('repeats exactly for the same seed and differs for another', () => {
    const a = new Random(7);
    const b = new Random(7);
    const c = new Random(8);
    const seqA = Array.from({ length: 5 }, () => a.uniform());
    expect(Array.from({ length: 5 }, () => b.uniform())).toEqual(seqA);
    expect(Array.from({ length: 5 }, () => c.uniform())).not.toEqual(seqA);
  });

  it('draws normals with mean 0 and std 1', () => {
    // 100 000 draws: the standard error of the mean is 1/sqrt(1e5) ≈ 0.0032, so 0.02 is
    // over 6 standard errors; the std's standard error is ≈ 0.0022.
    const values = new Random(1).normalArray(100_000);
    const mean = values.reduce((s, v) => s + v, 0) / values.length;
    const std = Math.sqrt(values.reduce((s, v) => s + (v - mean) ** 2, 0) / values.length);
    expect(Math.abs(mean)).toBeLessThan(0.02);
    expect(Math.abs(std - 1)).toBeLessThan(0.02);
  });

  it('samples indices with replacement inside the range', () => {
    const indices = new Random(3).choice(10, 1000);
    expect(Math.min(...indices)).toBe(0);
    expect(Math.max(...indices)).toBe(9);
    expect(new Set(indices).size).toBe(10);
  });

  it('permutes 0…n−1: every index once, in an order the seed fixes', () => {
    const order = new Random(5).permutation(1000);
    expect(Array.from(order).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 1000 }, (_, i) => i),
    );
    expect(new Random(5).permutation(1000)).toEqual(order);
    // 1000 items left in place by chance: (1/1000)^… — any shuffle moves most of them
    expect(order.filter((v, i) => v === i).length).toBeLessThan(10);
    expect(new Random(5).permutation(1)).toEqual(Int32Array.of(0));
  });

  it('rejects a seed that is not a whole number', () => {
    expect(() => new Random(1.5)).toThrow(UsageError);
    expect(() => new Random(-1)).toThrow(/seed must be a whole number/);
  });

  it('takes every 32-bit seed and refuses a larger one instead of folding it onto another', () => {
    expect(new Random(2 ** 32 - 1).nextUint32()).not.toBe(new Random(0).nextUint32());
    // 2^32 would have been seeded like 1 (the high bits xor-ed in): refused, saying why
    expect(() => new Random(2 ** 32)).toThrow(
      /^seed must be a whole number in 0…4294967295, got 4294967296$/,
    );
  });
});
