import { UsageError } from '../engine/errors.js';

/** A generator's place in its sequence (`Random.save`). */
export type RandomState = readonly [number, number, number, number, number | null];

/** The largest seed: the generator is seeded from 32 bits. */
export const MAX_SEED = 2 ** 32 - 1;

/**
 * The one seeded random generator: weight init and mini-batch sampling both draw from it,
 * so every backend starts from the same numbers and a run can be repeated exactly.
 *
 * xoshiro128** (Blackman & Vigna) on 32-bit integers, seeded through splitmix32; normal
 * numbers by Box–Muller. Integer arithmetic is exact in every JavaScript engine.
 */
export class Random {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;
  private spareNormal: number | null = null;

  constructor(readonly seed: number) {
    // The state is seeded from 32 bits: a larger seed would silently give another seed's run.
    if (!Number.isInteger(seed) || seed < 0 || seed > MAX_SEED) {
      throw new UsageError(`seed must be a whole number in 0…${MAX_SEED}, got ${seed}`);
    }
    let state = seed >>> 0;
    const splitmix32 = () => {
      state = (state + 0x9e3779b9) >>> 0;
      let z = state;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.s0 = splitmix32();
    this.s1 = splitmix32();
    this.s2 = splitmix32();
    this.s3 = splitmix32();
  }

  /** Where the generator stands, to come back to with `restore` (the same draws again). */
  save(): RandomState {
    return [this.s0, this.s1, this.s2, this.s3, this.spareNormal];
  }

  restore(state: RandomState): void {
    [this.s0, this.s1, this.s2, this.s3, this.spareNormal] = state;
  }

  /** A uniform 32-bit unsigned integer. */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** Uniform in [0, 1), 53 random bits. */
  uniform(): number {
    const high = this.nextUint32() >>> 5; // 27 bits
    const low = this.nextUint32() >>> 6; // 26 bits
    return (high * 67108864 + low) / 9007199254740992;
  }

  /** Standard normal N(0, 1). */
  normal(): number {
    if (this.spareNormal !== null) {
      const spare = this.spareNormal;
      this.spareNormal = null;
      return spare;
    }
    let u = 0;
    while (u === 0) u = this.uniform(); // log(0) would be -Infinity
    const radius = Math.sqrt(-2 * Math.log(u));
    const angle = 2 * Math.PI * this.uniform();
    this.spareNormal = radius * Math.sin(angle);
    return radius * Math.cos(angle);
  }

  /** `count` values drawn from N(0, std²), like `std * np.random.randn(count)`. */
  normalArray(count: number, std = 1): Float64Array {
    const values = new Float64Array(count);
    for (let i = 0; i < count; i++) values[i] = std * this.normal();
    return values;
  }

  /** A uniform integer in [0, n), without modulo bias. */
  int(n: number): number {
    if (!Number.isInteger(n) || n <= 0 || n > 2 ** 32) {
      throw new UsageError(`int(n) needs a whole n in 1…2^32, got ${n}`);
    }
    const limit = 2 ** 32 - (2 ** 32 % n);
    let x = this.nextUint32();
    while (x >= limit) x = this.nextUint32();
    return x % n;
  }

  /** `count` indices in [0, n), with replacement, like `np.random.choice(n, count)`. */
  choice(n: number, count: number): Int32Array {
    const indices = new Int32Array(count);
    for (let i = 0; i < count; i++) indices[i] = this.int(n);
    return indices;
  }

  /** 0…n−1 in a uniform random order (Fisher–Yates), like `np.random.permutation(n)`. */
  permutation(n: number): Int32Array {
    const order = new Int32Array(n);
    for (let i = 0; i < n; i++) order[i] = i;
    for (let i = n - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [order[i], order[j]] = [order[j] as number, order[i] as number];
    }
    return order;
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}
