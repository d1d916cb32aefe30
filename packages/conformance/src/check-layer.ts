/**
 * The gradient check of one layer, any registered one — the book's, or a user's own
 * (`registerLayer`): its backward on the backend against the numerical gradient of
 * Σ r ⊙ forward(x), computed in float64 on the oracle (cpu) from the very values the
 * backend got, for the input and for every parameter. The suite runs it on every layer
 * whose descriptor gives an `example`; a layer's author calls it on theirs.
 */
import {
  type Backend,
  describe,
  type LayerSpecBase,
  layerDescriptor,
  layerTypes,
  Random,
  refuseUnknownKeys,
  type Tensor,
  UsageError,
} from '@backprop/core';
import { type CaseOutcome, Check, type Tolerance } from './check.js';
import { CaseContext } from './context.js';

export interface CheckLayerOptions {
  /** One sample's shape going into the layer: [4] for features, [2, 5, 5] for images. */
  input: readonly number[];
  /** Samples in the batch (default 3: BatchNorm's statistics need more than one). */
  batch?: number;
  /** Seed of the input, the parameters and the layer's own draws (Dropout's mask); default 1. */
  seed?: number;
  /** Run forward as in training (default true): Dropout drops, BatchNorm uses the batch's statistics. */
  train?: boolean;
  /**
   * The longest sum of products in the layer's backward (default 100), for a float32
   * backend's tolerance: its rounding grows with it. Raise it for a layer that sums more.
   */
  terms?: number;
}

export interface LayerCheck extends CaseOutcome {
  /** How many gradient entries were compared: the input's and every parameter's. */
  entries: number;
}

/** h of the central difference, on float64 values of size ~1: its error h²·f‴ ~ 1e-10. */
const H = 1e-5;

/**
 * d/dv of f at v, for each element of v, by (f(v + h) − f(v − h)) / 2h (the book's
 * numerical_gradient), moving one element at a time and putting it back.
 */
export function numerical(f: (values: Float64Array) => number, values: Float64Array): Float64Array {
  const grad = new Float64Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const original = values[i];
    values[i] = original + H;
    const plus = f(values);
    values[i] = original - H;
    const minus = f(values);
    values[i] = original;
    grad[i] = (plus - minus) / (2 * H);
  }
  return grad;
}

/**
 * Gradient-checks the layer `spec` describes on `backend`: builds it (as a network would,
 * through its descriptor) on a batch of `options.input` samples, runs forward and
 * backward, and compares dx and each parameter's gradient with the float64 numerical
 * gradient, entry by entry. Also checks that forward gives the shape the descriptor
 * declared and backward the input's. `passed` says whether all held.
 */
export async function checkLayer<S extends LayerSpecBase>(
  backend: Backend,
  spec: S,
  options: CheckLayerOptions,
): Promise<LayerCheck> {
  const check = new Check();
  const entries = await gradientCheckLayer(check, backend, spec, options);
  return { ...check.outcome(), entries };
}

/**
 * `checkLayer`'s comparisons, recorded into `check` (a suite case's own, so its report
 * shows the worst entry against its tolerance); `widen` is the suite's `looser`. Returns
 * how many entries were compared.
 */
export async function gradientCheckLayer<S extends LayerSpecBase>(
  check: Check,
  backend: Backend,
  spec: S,
  options: CheckLayerOptions,
  widen: (tolerance: Tolerance) => Tolerance = (tolerance) => tolerance,
): Promise<number> {
  const descriptor = layerDescriptor(spec?.type);
  if (!descriptor) {
    throw new UsageError(
      `checkLayer: no layer of type ${JSON.stringify(spec?.type)} is registered (layers: ${layerTypes().join(', ')}); registerLayer(descriptor) first`,
    );
  }
  refuseUnknownKeys(`checkLayer(${spec.type})`, spec, ['type', ...descriptor.keys]);
  refuseUnknownKeys('checkLayer options', options, ['input', 'batch', 'seed', 'train', 'terms']);
  const { input, batch = 3, seed = 1, train = true, terms = 100 } = options;
  const ctx = new CaseContext(backend);
  const xShape = [batch, ...input];
  const x = ctx.values(
    seed,
    xShape.reduce((a, b) => a * b, 1),
  );
  /** Each parameter's values by its name in a network (W1, gamma1, …), drawn at the first build. */
  const params = new Map<string, { values: Float64Array; shape: number[] }>();
  let draws = 0;

  /** The layer on `b`, from `params` (drawn where missing), and the tensors made for it. */
  const build = (b: Backend, override?: [string, Float64Array]) => {
    const made = new Map<Tensor, string>();
    const counts: Record<string, number> = {};
    const built = descriptor.build(spec, input, {
      backend: b,
      random: new Random(seed), // the same draws (Dropout's mask) on every build
      where: `checkLayer(${describe(spec)})`,
      weightInit: 'he',
      inputGradient: true,
      numbered: (key) => {
        counts[key] = (counts[key] ?? 0) + 1;
        return `${key}${counts[key]}`;
      },
      make: (name, shape, fill) => {
        if (!params.has(name)) {
          const size = shape.reduce((a, c) => a * c, 1);
          // a weight drawn uniform with its std; a constant (γ = 1, β = 0) kept as it is
          const values =
            'std' in fill
              ? ctx.values(seed + 100 + draws++, size).map((v) => v * fill.std * Math.sqrt(3))
              : new Float64Array(size).fill(fill.value);
          params.set(name, { values: ctx.representable(values), shape });
        }
        const values = override?.[0] === name ? override[1] : params.get(name)?.values;
        const t = b.tensor(values as Float64Array, shape);
        made.set(t, name);
        return t;
      },
    });
    const release = () => {
      built.layer.dispose();
      for (const t of made.keys()) b.dispose(t);
    };
    return { ...built, made, release };
  };

  // the backend: forward, backward from r, and every gradient
  const subject = build(backend);
  let r: Float64Array;
  let dx: Float64Array;
  const grads = new Map<string, Float64Array>();
  try {
    const out = subject.layer.forward(ctx.on(backend, x, xShape), train);
    const expectedShape = [batch, ...subject.output];
    check.that(
      JSON.stringify(out.shape) === JSON.stringify(expectedShape),
      `forward gave [${out.shape}], but the descriptor's build said [${expectedShape}] (a batch of its output)`,
    );
    r = ctx.values(seed + 1, out.size);
    const dxTensor = subject.layer.backward(ctx.on(backend, r, out.shape));
    if (!dxTensor)
      throw new UsageError('checkLayer: backward returned null with inputGradient true');
    check.that(
      JSON.stringify(dxTensor.shape) === JSON.stringify(xShape),
      `backward gave dx [${dxTensor.shape}], expected the input's [${xShape}]`,
    );
    dx = await ctx.read(backend, dxTensor);
    for (const [key, t] of Object.entries(subject.layer.params ?? {})) {
      const name = subject.made.get(t) ?? key;
      const grad = subject.layer.grads?.[key];
      if (!grad)
        check.fail(`${name}: the layer has no gradient for its parameter '${key}' after backward`);
      else grads.set(name, await ctx.read(backend, grad));
    }
  } finally {
    subject.release();
    ctx.release();
  }

  // the oracle: Σ r ⊙ forward, from the same values, one entry moved by ±h at a time
  const o = ctx.oracle;
  const loss = (xValues: Float64Array, override?: [string, Float64Array]) => {
    const built = build(o, override);
    const xt = o.tensor(xValues, xShape);
    try {
      const out = o.readSync?.(built.layer.forward(xt, train)) as ArrayLike<number>;
      let sum = 0;
      for (let i = 0; i < out.length; i++) sum += out[i] * r[i];
      return sum;
    } finally {
      o.dispose(xt);
      built.release();
    }
  };
  const tolerance = (expected: Float64Array) => {
    // float64: the central difference's own error (~1e-10), with room; float32: plus the
    // rounding of a sum of `terms` products, (terms + 2)·u, relative to the largest entry
    const largest = expected.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    const float32 = backend.dtype === 'float32' ? (terms + 2) * ctx.u * 4 : 0;
    return widen({ rtol: 1e-6 + float32, atol: 1e-9 + float32 * largest });
  };
  let entries = 0;
  const compare = (label: string, actual: Float64Array, expected: Float64Array) => {
    entries += expected.length;
    check.close(label, actual, expected, tolerance(expected));
  };
  compare(
    'dx',
    dx,
    numerical((v) => loss(v), Float64Array.from(x)),
  );
  for (const [name, grad] of grads) {
    const values = Float64Array.from(params.get(name)?.values ?? []);
    compare(
      `d${name}`,
      grad,
      numerical((v) => loss(x, [name, v]), values),
    );
  }
  o.close?.();
  return entries;
}
