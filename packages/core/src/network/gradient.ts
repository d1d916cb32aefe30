/**
 * Section 5.7.3 — checking backpropagation against numerical differentiation.
 */

import type { Backend, Labels } from '../engine/backend.js';
import { UsageError } from '../engine/errors.js';
import type { Tensor } from '../engine/tensor.js';
import { refuseUnknownKeys } from './architecture.js';
import type { Network } from './network.js';

/**
 * The central difference (f(x + h) − f(x − h)) / 2h for every element of `param`,
 * perturbing it in place and restoring it, like the book's `numerical_gradient(f, x)`.
 * Returns a new tensor the caller owns.
 */
export async function numericalGradient(
  f: () => Promise<number> | number,
  backend: Backend,
  param: Tensor,
  h = 1e-4,
): Promise<Tensor> {
  const all = Array.from({ length: param.size }, (_, i) => i);
  return backend.tensor(await centralDifferences(f, backend, param, all, h), param.shape);
}

/** The central difference at the entries `at` of `param` only (flat indices), in that order. */
export async function centralDifferences(
  f: () => Promise<number> | number,
  backend: Backend,
  param: Tensor,
  at: readonly number[],
  h = 1e-4,
): Promise<Float64Array> {
  if (!(h > 0 && Number.isFinite(h))) throw new UsageError(`h must be a positive number, got ${h}`);
  const values = await backend.read(param);
  const grad = new Float64Array(at.length);
  // In float32, x ± h is rounded; dividing by the step actually taken keeps the estimate honest.
  const round = backend.dtype === 'float32' ? Math.fround : (v: number) => v;
  for (const [k, i] of at.entries()) {
    const original = values[i];
    const plus = round(original + h);
    const minus = round(original - h);
    backend.write(param, [plus], i);
    const fxh1 = await f();
    backend.write(param, [minus], i);
    const fxh2 = await f();
    backend.write(param, [original], i);
    grad[k] = (fxh1 - fxh2) / (plus - minus);
  }
  return grad;
}

export interface ParamCheck {
  /** How many of the parameter's entries were compared (all, unless it has more than maxEntries). */
  entries: number;
  /** How many it has. */
  size: number;
  /** The book's figure: mean |backprop − numerical| over the parameter's elements. */
  meanAbsDiff: number;
  /** max over elements of |backprop − numerical| / max(|backprop|, |numerical|, floor). */
  maxRelError: number;
  /** The largest absolute difference. */
  maxAbsDiff: number;
  /** Compared entries whose difference is within the tolerance (oneSided included). */
  passed: number;
  /**
   * Of those, entries at a kink where backprop equals the slope on one side: the side
   * ReLU's mask (x > 0) and max pooling's first maximum choose.
   */
  oneSided: number;
  /**
   * Compared entries whose difference a kink within h explains (ReLU at 0, a max with
   * ties): the loss is not differentiable there, so they are reported, not judged.
   */
  atKink: number;
  /** Compared entries past the tolerance that no kink explains: a wrong gradient. */
  failed: number;
  /** Compared entries away from a kink where either gradient is nonzero: what the check tested. */
  tested: number;
  /** The failed entry furthest past the tolerance (flat index), if any failed. */
  worst?: { index: number; backprop: number; numerical: number };
}

/** One entry a parameter: W1, b1, W2, b2, … */
export type GradientCheckReport = Record<string, ParamCheck>;

/**
 * The relative error's denominator never drops below this: where both gradients are
 * ~0 (pixels that are 0 in every sample), a relative error only measures rounding.
 */
export const RELATIVE_ERROR_FLOOR = 1e-6;

/** An entry passes when |backprop − numerical| ≤ atol + rtol · max(|backprop|, |numerical|). */
export interface GradientTolerance {
  atol: number;
  rtol: number;
}

/**
 * The tolerance a central difference with step h earns in `dtype`, for a loss near `loss`.
 * Truncation: the central difference is off by h²·|f‴|/6, within 10·h² for |f‴| up to 60
 * (a softmax cross-entropy's third derivative is below 1 in its scores; a weight scales it
 * by its input, ≤ 1 for pixels). Rounding: each loss carries ~10 roundings of ε·|L| through
 * the forward pass, divided by 2h. Relative: 1e-4 in float64, which a wrong gradient (off
 * by a factor, a sign, a misrouted entry) exceeds by orders of magnitude while kernels
 * that round in another order stay far below; 1e-2 in float32, whose loss rounding
 * alone is ~1e-3 of a gradient at h = 1e-4.
 */
export function gradientTolerance(dtype: string, h: number, loss = 1): GradientTolerance {
  const epsilon = dtype === 'float32' ? 2 ** -23 : 2 ** -52;
  return {
    atol: 10 * h * h + (10 * epsilon * Math.max(1, Math.abs(loss))) / h,
    rtol: dtype === 'float32' ? 1e-2 : 1e-4,
  };
}

export interface GradientCheckOptions {
  /** The central difference's step (default 1e-4, the book's). */
  h?: number;
  /**
   * Compare at most this many entries of each parameter (default: all). Half are spread
   * evenly over the entries whose backprop gradient is nonzero, half evenly over all of
   * them, so a sample cannot fall only on entries that no input reaches (an image's blank
   * border) and still sees entries backprop wrongly says are 0. Each costs two forward
   * passes: SimpleConvNet's W2 has 432 000.
   */
  maxEntries?: number;
  /** Overrides the tolerance `gradientTolerance` gives for the backend's dtype and h. */
  tolerance?: GradientTolerance;
  /** Called after each parameter's entry with how many are done of how many: for a progress line. */
  onProgress?: (done: number, total: number, param: string) => void;
}

/**
 * Compares backprop's gradient with the numerical one, parameter by parameter (5.7.3),
 * of the training loss (with Dropout, the numerical side sees the same masks), and judges
 * each compared entry: within the tolerance, at a kink, or failed.
 *
 * The numerical side differentiates the loss without the book's 1e-7 guard inside the
 * log. Backprop's (y − t) / batch is the exact derivative of that loss; with the guard
 * the true derivative is smaller by the factor y/(y + 1e-7), about 1 − 1e-6 at
 * initialisation (y ≈ 0.1). That alone puts b2's mean difference near 1.4e-7 (the
 * book's own figure) and would hide real errors of that size.
 *
 * Kinks: where a ReLU input or a pooling tie lies within h of the entry, the loss bends
 * and the central difference is off by exactly half the bend, |L(x+h) − 2L(x) + L(x−h)| / 2h
 * (one kink of slope jump J at distance d < h: both are J·(h − d)/2h). An entry whose
 * difference that explains is counted `atKink`; a smooth entry has a second difference
 * of h·|L″| and explains nothing larger. A fresh network sits on such kinks (biases 0 over
 * blank windows are exactly at ReLU's 0); a trained one mostly does not.
 */
export async function gradientCheck(
  net: Network,
  x: Tensor,
  t: Labels,
  options: GradientCheckOptions | number = {},
): Promise<GradientCheckReport> {
  const {
    h = 1e-4,
    maxEntries = Number.POSITIVE_INFINITY,
    tolerance: given,
    onProgress,
  } = typeof options === 'number' ? { h: options } : options;
  if (typeof options === 'object') {
    refuseUnknownKeys('gradientCheck options', options, [
      'h',
      'maxEntries',
      'tolerance',
      'onProgress',
    ]);
  }
  if (!(maxEntries >= 1)) throw new UsageError(`maxEntries must be at least 1, got ${maxEntries}`);
  if (!(h > 0 && Number.isFinite(h))) throw new UsageError(`h must be a positive number, got ${h}`);
  const { backend, random } = net;
  const guard = net.lastLayer.delta;
  const start = random.save();
  // backprop first: where its gradient is nonzero guides which entries are sampled
  const backprop: Record<string, Float64Array> = {};
  {
    const grads = net.gradient(x, t);
    for (const name of Object.keys(net.params)) {
      backprop[name] = Float64Array.from(await backend.read(grads[name]));
    }
  }
  const samples: Record<string, number[]> = {};
  for (const [name, param] of Object.entries(net.params)) {
    samples[name] = sampleEntries(backprop[name], Math.min(param.size, maxEntries));
  }
  const total = Object.values(samples).reduce((sum, at) => sum + at.length, 0);
  const report: GradientCheckReport = {};
  net.lastLayer.delta = 0;
  try {
    const loss = async () => {
      random.restore(start); // the same Dropout masks every time
      return backend.item(net.loss(x, t, true));
    };
    const base = await loss();
    const tolerance = given ?? gradientTolerance(backend.dtype, h, base);
    // A second look, with a step 100 times finer, at an entry that h does not settle: kinks
    // within h/100 are a hundredth of those within h (a fresh SimpleConvNet's b1 has a few
    // non-blank windows within 1e-4 of ReLU's 0, bending the other way from the blank
    // ones). Only where the finer step's rounding stays far below the tolerance: float64.
    const fine = h / 100;
    const fineTolerance = given ?? gradientTolerance(backend.dtype, fine, base);
    const refine = backend.dtype === 'float64' && fineTolerance.atol < 1e-6;
    let done = 0;
    for (const [name, param] of Object.entries(net.params)) {
      const values = await backend.read(param);
      /** The loss with entry i moved by `step`, and the step taken (float32 rounds it). */
      const moved = async (i: number, step: number): Promise<[loss: number, step: number]> => {
        const value =
          backend.dtype === 'float32' ? Math.fround(values[i] + step) : values[i] + step;
        backend.write(param, [value], i);
        const at = await loss();
        backend.write(param, [values[i]], i);
        return [at, value - values[i]];
      };
      /** The central difference with step s, and half the loss's bend over 2s (see above). */
      const central = async (i: number, s: number) => {
        const [above, up] = await moved(i, s);
        const [below, down] = await moved(i, -s);
        return {
          slope: (above - below) / (up - down),
          bend: Math.abs(above - 2 * base + below) / (up - down),
          above,
          below,
        };
      };
      const at = samples[name];
      const grads = at.map((i) => backprop[name][i]);
      const slopes = new Float64Array(at.length);
      const verdicts: EntryVerdict[] = [];
      for (const [k, i] of at.entries()) {
        const coarse = await central(i, h);
        slopes[k] = coarse.slope;
        let verdict = verdictOf(grads[k], coarse.slope, coarse.bend, tolerance);
        if (refine && (verdict === 'atKink' || verdict === 'failed')) {
          const second = await central(i, fine);
          const refined = verdictOf(grads[k], second.slope, second.bend, fineTolerance);
          verdict = refined;
          if (refined === 'atKink') {
            // Backprop takes one side at a kink (ReLU's mask x > 0, the first of tied
            // maxima): each side's slope, with Richardson's step halving to cancel its
            // first-order error h·L″/2, which a one-sided difference would carry.
            const [aboveHalf] = await moved(i, fine / 2);
            const [belowHalf] = await moved(i, -fine / 2);
            const right = (4 * (aboveHalf - base) - (second.above - base)) / fine;
            const left = (4 * (base - belowHalf) - (base - second.below)) / fine;
            // the combination multiplies the losses' rounding by up to 5
            const sided = { atol: 5 * fineTolerance.atol, rtol: fineTolerance.rtol };
            if (
              verdictOf(grads[k], right, 0, sided) === 'passed' ||
              verdictOf(grads[k], left, 0, sided) === 'passed'
            ) {
              verdict = 'oneSided';
            }
          }
        }
        verdicts.push(verdict);
        onProgress?.(++done, total, name);
      }
      report[name] = judge(at, grads, slopes, verdicts, param.size);
    }
  } finally {
    net.lastLayer.delta = guard;
    random.restore(start);
  }
  return report;
}

/**
 * `count` flat indices of a parameter, ascending: half spread evenly over the entries
 * whose backprop gradient is nonzero, the rest evenly over all entries (all of them when
 * count is the size).
 */
function sampleEntries(backprop: Float64Array, count: number): number[] {
  const size = backprop.length;
  if (count >= size) return Array.from({ length: size }, (_, i) => i);
  const nonzero: number[] = [];
  for (let i = 0; i < size; i++) if (backprop[i] !== 0) nonzero.push(i);
  const chosen = new Set<number>();
  const fromNonzero = Math.min(nonzero.length, Math.ceil(count / 2));
  for (let k = 0; k < fromNonzero; k++) {
    chosen.add(nonzero[Math.floor((k * nonzero.length) / fromNonzero)]);
  }
  // evenly over all entries, stepping past any already chosen
  const rest = count - chosen.size;
  for (let k = 0; k < rest; k++) {
    let i = Math.floor((k * size) / rest);
    while (chosen.has(i)) i = (i + 1) % size;
    chosen.add(i);
  }
  return [...chosen].sort((a, b) => a - b);
}

/**
 * passed: within the tolerance; zero: within it, both ~0 (tested nothing); oneSided: at a
 * kink, equal to one side's slope; atKink: a kink explains the difference, neither side
 * matched (several kinks within the step); failed: nothing explains it.
 */
type EntryVerdict = 'passed' | 'zero' | 'oneSided' | 'atKink' | 'failed';

/** One entry: within the tolerance (0 both ways: passed, but tested nothing), explained by a kink, or failed. */
function verdictOf(
  backprop: number,
  numerical: number,
  bend: number,
  { atol, rtol }: GradientTolerance,
): EntryVerdict {
  const diff = Math.abs(backprop - numerical);
  const scale = Math.max(Math.abs(backprop), Math.abs(numerical));
  const allowed = atol + rtol * scale;
  if (diff <= allowed) return scale > atol ? 'passed' : 'zero';
  return diff <= bend + allowed ? 'atKink' : 'failed';
}

/** The book's figures over the compared entries, and the count of each verdict. */
function judge(
  at: readonly number[],
  backprop: readonly number[],
  central: Float64Array,
  verdicts: readonly EntryVerdict[],
  size: number,
): ParamCheck {
  const check: ParamCheck = {
    ...compareGradients(backprop, central),
    size,
    passed: 0,
    oneSided: 0,
    atKink: 0,
    failed: 0,
    tested: 0,
  };
  let worst = 0;
  for (const [k, verdict] of verdicts.entries()) {
    if (verdict === 'passed' || verdict === 'zero' || verdict === 'oneSided') check.passed++;
    if (verdict === 'passed' || verdict === 'oneSided' || verdict === 'failed') check.tested++;
    if (verdict === 'oneSided') check.oneSided++;
    if (verdict === 'atKink') check.atKink++;
    if (verdict === 'failed') {
      check.failed++;
      const diff = Math.abs(backprop[k] - central[k]);
      if (diff >= worst) {
        worst = diff;
        check.worst = { index: at[k], backprop: backprop[k], numerical: central[k] };
      }
    }
  }
  return check;
}

/** Whether a check passed: no entry failed, and every parameter had an entry that tested something. */
export interface GradientVerdict {
  ok: boolean;
  /** Parameters with a failed entry. */
  failed: string[];
  /** Parameters where every compared entry was 0 both ways or at a kink: checked, but nothing tested. */
  untested: string[];
}

export function gradientVerdict(report: GradientCheckReport): GradientVerdict {
  const names = Object.keys(report);
  const failed = names.filter((name) => report[name].failed > 0);
  const untested = names.filter((name) => report[name].tested === 0);
  return { ok: failed.length === 0 && untested.length === 0, failed, untested };
}

/** The book's figures of one comparison: mean, largest and largest relative difference. */
export type GradientComparison = Pick<
  ParamCheck,
  'entries' | 'size' | 'meanAbsDiff' | 'maxRelError' | 'maxAbsDiff'
>;

export function compareGradients(
  backprop: ArrayLike<number>,
  numerical: ArrayLike<number>,
): GradientComparison {
  let sumAbs = 0;
  let maxAbs = 0;
  let maxRel = 0;
  for (let i = 0; i < backprop.length; i++) {
    const diff = Math.abs(backprop[i] - numerical[i]);
    sumAbs += diff;
    maxAbs = Math.max(maxAbs, diff);
    const scale = Math.max(Math.abs(backprop[i]), Math.abs(numerical[i]), RELATIVE_ERROR_FLOOR);
    maxRel = Math.max(maxRel, diff / scale);
  }
  return {
    meanAbsDiff: sumAbs / backprop.length,
    maxRelError: maxRel,
    maxAbsDiff: maxAbs,
    entries: backprop.length,
    size: backprop.length,
  };
}
