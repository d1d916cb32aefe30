/**
 * Section 5.7.3 — checking backpropagation against numerical differentiation.
 */
import type { Backend, Labels } from './backend.js';
import { UsageError } from './errors.js';
import type { Network } from './network.js';
import type { Tensor } from './tensor.js';

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
}

/** One entry a parameter: W1, b1, W2, b2, … */
export type GradientCheckReport = Record<string, ParamCheck>;

/**
 * The relative error's denominator never drops below this: where both gradients are
 * ~0 (pixels that are 0 in every sample), a relative error only measures rounding.
 */
export const RELATIVE_ERROR_FLOOR = 1e-6;

export interface GradientCheckOptions {
  /** The central difference's step (default 1e-4, the book's). */
  h?: number;
  /**
   * Compare at most this many entries of each parameter, evenly spaced through it
   * (default: all). Each entry costs two forward passes: SimpleConvNet's W2 has 432 000.
   */
  maxEntries?: number;
}

/**
 * Compares backprop's gradient with the numerical one, parameter by parameter (5.7.3),
 * of the training loss (with Dropout, the numerical side sees the same masks).
 *
 * The numerical side differentiates the loss without the book's 1e-7 guard inside the
 * log. Backprop's (y − t) / batch is the exact derivative of that loss; with the guard
 * the true derivative is smaller by the factor y/(y + 1e-7), about 1 − 1e-6 at
 * initialisation (y ≈ 0.1). That alone puts b2's mean difference near 1.4e-7 (the
 * book's own figure) and would hide real errors of that size.
 */
export async function gradientCheck(
  net: Network,
  x: Tensor,
  t: Labels,
  options: GradientCheckOptions | number = {},
): Promise<GradientCheckReport> {
  const { h, maxEntries = Number.POSITIVE_INFINITY } =
    typeof options === 'number' ? { h: options } : options;
  if (!(maxEntries >= 1)) throw new UsageError(`maxEntries must be at least 1, got ${maxEntries}`);
  const { backend, random } = net;
  const guard = net.lastLayer.delta;
  const start = random.save();
  const numerical: Record<string, { at: number[]; values: Float64Array }> = {};
  net.lastLayer.delta = 0;
  try {
    const loss = async () => {
      random.restore(start); // the same Dropout masks every time
      return backend.item(net.loss(x, t, true));
    };
    for (const [name, param] of Object.entries(net.params)) {
      const count = Math.min(param.size, maxEntries);
      const at = Array.from({ length: count }, (_, k) => Math.floor((k * param.size) / count));
      numerical[name] = { at, values: await centralDifferences(loss, backend, param, at, h) };
    }
  } finally {
    net.lastLayer.delta = guard;
    random.restore(start);
  }
  const backprop = net.gradient(x, t);
  const report: GradientCheckReport = {};
  for (const [name, { at, values }] of Object.entries(numerical)) {
    const all = await backend.read(backprop[name]);
    report[name] = {
      ...compareGradients(
        at.map((i) => all[i]),
        values,
      ),
      size: all.length,
    };
  }
  return report;
}

export function compareGradients(
  backprop: ArrayLike<number>,
  numerical: ArrayLike<number>,
): ParamCheck {
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
