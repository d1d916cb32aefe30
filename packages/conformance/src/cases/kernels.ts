/**
 * 1. Every kernel against the float64 oracle, on shapes chosen to break implementations:
 * 1, 3, 7, 33, 50, 784, batch 1, sizes that are not multiples of 4 or 8 (SIMD lanes and
 * tile tails), every transpose variant of matmul, every broadcast of the element-wise
 * primitives and both axes of the reductions; then the composed kernels as the layers
 * call them (the backend's override where it has one, else core's composition).
 */
import {
  type Backend,
  BINARY_OPS,
  type BinaryOp,
  type Tensor,
  UNARY_OPS,
  type Window,
  windowDims,
} from '@backprop/core';
import type { ConformanceCase } from '../case.js';
import { Check } from '../check.js';
import { type CaseContext, ORACLE_ITSELF } from '../context.js';

const MATMUL_SHAPES: [m: number, k: number, n: number][] = [
  [1, 1, 1],
  [3, 7, 5],
  [7, 3, 33],
  [13, 9, 8],
  [33, 50, 7],
  [1, 784, 50],
  [100, 784, 50],
  [100, 50, 10],
  // past a tiled kernel's blocks of 256 rows of B and 128 columns, with tails in both
  [37, 300, 141],
];
const MATRIX_SHAPES: [number, number][] = [
  [1, 1],
  [3, 7],
  [33, 10],
  [100, 50],
  [7, 784],
];

function kernelCase(
  kernel: string,
  what: string,
  run: (ctx: CaseContext, check: Check) => Promise<void>,
): ConformanceCase {
  return {
    id: `kernels/${kernel} ${what}`,
    group: 'kernels',
    kernels: [kernel],
    async run(ctx) {
      const check = new Check();
      if (ctx.isOracle) check.skip(ORACLE_ITSELF);
      else await run(ctx, check);
      return check;
    },
  };
}

/** Runs `op` on the backend and on the oracle with the same inputs; returns both results. */
async function both(
  ctx: CaseContext,
  op: (backend: Backend, inputs: Tensor[]) => Tensor,
  inputs: [number[] | Float64Array, number[]][],
) {
  const pairs = inputs.map(([values, shape]) => ctx.pair(values, shape));
  const actual = ctx.hold(
    ctx.backend,
    op(
      ctx.backend,
      pairs.map((p) => p[0]),
    ),
  );
  const expected = ctx.hold(
    ctx.oracle,
    op(
      ctx.oracle,
      pairs.map((p) => p[1]),
    ),
  );
  const shapeOk = JSON.stringify(actual.shape) === JSON.stringify(expected.shape);
  return {
    actual: await ctx.read(ctx.backend, actual),
    expected: await ctx.read(ctx.oracle, expected),
    shapeOk,
    shapes: `${JSON.stringify(actual.shape)} vs ${JSON.stringify(expected.shape)}`,
    oracleInputs: pairs.map((p) => p[1]),
  };
}

// A mostly zeros, like MNIST images (about 80% zeros): backends may take a sparse path.
// The widths reach each column block of wasm's sparse kernels (28 + 22, 21, 28 + 16 + 2,
// 28 + 2, 7); [250, 700, 30] has more nonzeros than its lists hold at once (16 384), and
// aᵀ·b at 130×46 (C past 4 096 values, 130 not a multiple of 4) sums C's rows from lists
// of a's columns (smaller ones add into C in place).
const SPARSE_MATMUL_SHAPES: [m: number, k: number, n: number][] = [
  [100, 784, 50],
  [33, 130, 21],
  [130, 67, 46],
  [250, 700, 30],
  [64, 65, 7],
];

const matmulCases = [
  ...MATMUL_SHAPES.map((shape) => [shape, 0.3] as const),
  ...SPARSE_MATMUL_SHAPES.map((shape) => [shape, 0.8] as const),
].map(([[m, k, n], zeros]) =>
  kernelCase(
    'matmul',
    `${m}×${k}·${k}×${n}, all transposes${zeros > 0.5 ? ', 80% zeros in a' : ''}`,
    async (ctx, check) => {
      // The textbook bound for a sum of k products in floating point: |error| ≤ γ·Σ|a·b|
      // with γ = (k + 2)·u; it holds for any summation order (pairwise, blocked, SIMD).
      const tolerance = ctx.tolerance(['kernels', 'matmul'], { rtol: (k + 2) * ctx.u, atol: 0 });
      const a = ctx.values(m * 1000 + k, m * k, { zeros });
      const b = ctx.values(k * 1000 + n, k * n);
      for (const transposeA of [false, true]) {
        for (const transposeB of [false, true]) {
          const options = { transposeA, transposeB };
          const label = `matmul(${transposeA ? 'aᵀ' : 'a'}, ${transposeB ? 'bᵀ' : 'b'})`;
          // The same values laid out transposed when the flag says so.
          const aData = transposeA ? transpose(a, m, k) : a;
          const bData = transposeB ? transpose(b, k, n) : b;
          const r = await both(ctx, (backend, [x, y]) => backend.matmul(x, y, options), [
            [aData, transposeA ? [k, m] : [m, k]],
            [bData, transposeB ? [n, k] : [k, n]],
          ]);
          check.that(r.shapeOk, `${label}: shape ${r.shapes}`);
          const absA = ctx.oracle.tensor(aData.map(Math.abs), transposeA ? [k, m] : [m, k]);
          const absB = ctx.oracle.tensor(bData.map(Math.abs), transposeB ? [n, k] : [k, n]);
          const scale = ctx.hold(ctx.oracle, ctx.oracle.matmul(absA, absB, options));
          ctx.oracle.dispose(absA);
          ctx.oracle.dispose(absB);
          check.close(label, r.actual, r.expected, tolerance, await ctx.read(ctx.oracle, scale));
        }
      }
    },
  ),
);

function transpose(values: Float64Array, rows: number, cols: number): Float64Array {
  const out = new Float64Array(values.length);
  for (let r = 0; r < rows; r++)
    for (let c = 0; c < cols; c++) out[c * rows + r] = values[r * cols + c];
  return out;
}

// ---- the element-wise and reduction primitives -------------------------------------------

/** Inputs each function is defined on, and the rounding it may add (in units of u). */
const UNARY_CASES: Record<(typeof UNARY_OPS)[number], { lo: number; hi: number; ulps: number }> = {
  neg: { lo: -3, hi: 3, ulps: 0 }, // exact
  // exp and log from a math library are within a few ulp of the true value; 8 allows for
  // engines that round through a float32 formula, 0.5 for one that rounds a double's
  exp: { lo: -8, hi: 8, ulps: 8 },
  log: { lo: 0.001, hi: 50, ulps: 8 },
  sqrt: { lo: 0, hi: 50, ulps: 2 }, // IEEE sqrt is correctly rounded
};

const unaryCases = UNARY_OPS.map((op) =>
  kernelCase(op, '[7], [33,10] and [100,50]', async (ctx, check) => {
    const { lo, hi, ulps } = UNARY_CASES[op];
    // log near 1 is near 0: allow the same absolute error there as at 1
    const tolerance = ctx.tolerance(['kernels', op], {
      rtol: ulps * ctx.u,
      atol: op === 'log' ? ulps * ctx.u : 0,
    });
    for (const shape of [[7], [33, 10], [100, 50]]) {
      const size = shape.reduce((a, b) => a * b, 1);
      const x = ctx.values(size + 3, size, { lo, hi, zeros: op === 'sqrt' ? 0.1 : 0 });
      const r = await both(ctx, (backend, [t]) => backend[op](t), [[x, shape]]);
      check.that(r.shapeOk, `${op} [${shape}]: shape ${r.shapes}`);
      if (ulps === 0) check.exact(`${op} [${shape}]`, r.actual, r.expected);
      else check.close(`${op} [${shape}]`, r.actual, r.expected, tolerance);
    }
  }),
);

/** Broadcasts numpy allows, each a way to get the strides wrong. */
const BROADCASTS: [what: string, a: number[], b: number[] | 'number'][] = [
  ['same shape', [3, 7], [3, 7]],
  ['same shape, 3-D', [2, 3, 5], [2, 3, 5]],
  ['a row on every row (bias)', [33, 10], [10]],
  ['a column on every column', [33, 10], [33, 1]],
  ['a scalar tensor', [100, 50], []],
  ['a number', [7, 9], 'number'],
  ['a row against a column (outer)', [7, 1], [1, 5]],
  ['a row on the left', [13], [6, 13]],
];

const binaryCases = BINARY_OPS.map((op: BinaryOp) =>
  kernelCase(op, 'with every broadcast', async (ctx, check) => {
    // One rounding of the exact result. For a sum or difference the error scales with
    // |a| + |b| (a difference may cancel to near 0); for the rest with the result itself.
    const exact = op === 'maximum' || op === 'greater' || op === 'equal';
    const tolerance = ctx.tolerance(['kernels', op], { rtol: 2 * ctx.u, atol: 0 });
    for (const [what, aShape, bShape] of BROADCASTS) {
      const size = (s: number[]) => s.reduce((x, y) => x * y, 1);
      const a = ctx.values(size(aShape) + 17, size(aShape), { lo: -2, hi: 2 });
      const bValues =
        bShape === 'number'
          ? [ctx.representable([0.37])[0]]
          : // half of b repeats a (ties for greater, equal and maximum)
            ctx
              .values(size(bShape) + 19, size(bShape), { lo: -2, hi: 2 })
              .map((v, i) =>
                i % 2 === 0 && i < a.length ? a[i] : op === 'div' && v === 0 ? 0.5 : v,
              );
      const label = `${op} ${JSON.stringify(aShape)}, ${bShape === 'number' ? bValues[0] : JSON.stringify(bShape)} (${what})`;
      const r =
        bShape === 'number'
          ? await both(ctx, (backend, [x]) => backend[op](x, bValues[0]), [[a, aShape]])
          : await both(ctx, (backend, [x, y]) => backend[op](x, y), [
              [a, aShape],
              [bValues, bShape],
            ]);
      check.that(r.shapeOk, `${label}: shape ${r.shapes}`);
      if (exact) {
        check.exact(label, r.actual, r.expected);
      } else if (op === 'add' || op === 'sub') {
        const [x, y] = await Promise.all(r.oracleInputs.map((t) => ctx.read(ctx.oracle, t)));
        const scale = await magnitudeOf(
          ctx,
          aShape,
          x,
          bShape === 'number' ? [] : bShape,
          y ?? bValues,
        );
        check.close(label, r.actual, r.expected, tolerance, scale);
      } else {
        check.close(label, r.actual, r.expected, tolerance);
      }
    }
  }),
);

/** |a| + |b| broadcast as the sum was, computed on the oracle. */
async function magnitudeOf(
  ctx: CaseContext,
  aShape: number[],
  a: ArrayLike<number>,
  bShape: number[],
  b: ArrayLike<number>,
): Promise<Float64Array> {
  const o = ctx.oracle;
  const x = ctx.hold(o, o.tensor(Array.from(a, Math.abs), aShape));
  const y = ctx.hold(o, o.tensor(Array.from(b, Math.abs), bShape));
  return ctx.read(o, ctx.hold(o, o.add(x, y)));
}

const reduceCases = (['sum', 'max', 'argmax'] as const).map((op) =>
  kernelCase(op, 'over all values, axis 0 and axis 1, with ties', async (ctx, check) => {
    for (const [rows, cols] of [
      [1, 1],
      [3, 7],
      [33, 10],
      [100, 50],
      [7, 784],
    ] as [number, number][]) {
      // every third value repeats its neighbour: ties, which argmax must break to the first
      const x = ctx
        .values(rows * 31 + cols, rows * cols)
        .map((v, i, all) => (i % 3 === 2 ? all[i - 1] : v));
      for (const axis of [undefined, 0, 1] as const) {
        const label = `${op}(x [${rows},${cols}], axis ${axis ?? 'none'})`;
        const r = await both(ctx, (backend, [t]) => backend[op](t, axis), [[x, [rows, cols]]]);
        check.that(r.shapeOk, `${label}: shape ${r.shapes}`);
        if (op !== 'sum') {
          check.exact(label, r.actual, r.expected); // a selection: no rounding
          continue;
        }
        // A sum of n terms: |error| ≤ (n + 2)·u·Σ|x| over the terms, in any order.
        const n = axis === undefined ? rows * cols : axis === 0 ? rows : cols;
        const tolerance = ctx.tolerance(['kernels', op], { rtol: (n + 2) * ctx.u, atol: 0 });
        const abs = ctx.hold(ctx.oracle, ctx.oracle.tensor(x.map(Math.abs), [rows, cols]));
        const scale = await ctx.read(ctx.oracle, ctx.hold(ctx.oracle, ctx.oracle.sum(abs, axis)));
        check.close(label, r.actual, r.expected, tolerance, scale);
      }
    }
  }),
);

const addBiasCases = MATRIX_SHAPES.map(([m, n]) =>
  kernelCase('addBias', `${m}×${n}`, async (ctx, check) => {
    // One rounding of x + b: within u of the exact sum; 2u leaves room for no more.
    const tolerance = ctx.tolerance(['kernels', 'addBias'], { rtol: 2 * ctx.u, atol: 0 });
    const r = await both(ctx, (backend, [x, b]) => backend.addBias(x, b), [
      [ctx.values(m + n, m * n), [m, n]],
      [ctx.values(m * n + 1, n), [n]],
    ]);
    check.that(r.shapeOk, `shape ${r.shapes}`);
    check.close('addBias', r.actual, r.expected, tolerance);
  }),
);

const sumColumnsCases = [...MATRIX_SHAPES, [784, 3] as [number, number]].map(([m, n]) =>
  kernelCase('sumColumns', `${m}×${n}`, async (ctx, check) => {
    // A sum of m terms: |error| ≤ (m + 2)·u·Σ|x| over the column, in any order.
    const x = ctx.values(m * 7 + n, m * n);
    const tolerance = ctx.tolerance(['kernels', 'sumColumns'], { rtol: (m + 2) * ctx.u, atol: 0 });
    const r = await both(ctx, (backend, [t]) => backend.sumColumns(t), [[x, [m, n]]]);
    check.that(r.shapeOk, `shape ${r.shapes}`);
    const scale = Array.from({ length: n }, (_, j) => {
      let s = 0;
      for (let i = 0; i < m; i++) s += Math.abs(x[i * n + j]);
      return s;
    });
    check.close('sumColumns', r.actual, r.expected, tolerance, scale);
  }),
);

const reluCases = (
  [
    [1, 1],
    [3, 7],
    [100, 50],
  ] as [number, number][]
).map(([m, n]) =>
  kernelCase('relu', `and reluBackward ${m}×${n}, with exact zeros`, async (ctx, check) => {
    const x = ctx.values(m + 3 * n, m * n, { zeros: 0.2 });
    const forward = await both(ctx, (backend, [t]) => backend.relu(t), [[x, [m, n]]]);
    check.exact('relu', forward.actual, forward.expected); // a selection: no rounding at all
    const dout = ctx.values(m * n, m * n);
    const out = forward.expected; // relu's output: where it is 0, no gradient passes
    const backward = await both(ctx, (backend, [d, y]) => backend.reluBackward(d, y), [
      [dout, [m, n]],
      [out, [m, n]],
    ]);
    check.exact('reluBackward', backward.actual, backward.expected);
  }),
);

const sigmoidCases = (
  [
    [1, 1],
    [3, 7],
    [100, 50],
  ] as [number, number][]
).map(([m, n]) =>
  kernelCase('sigmoid', `and sigmoidBackward ${m}×${n}`, async (ctx, check) => {
    // exp, one add and one divide: a few u relative, plus a few u absolute for the
    // values near 0 where engines differ in how they round tiny results.
    const tolerance = ctx.tolerance(['kernels', 'sigmoid'], { rtol: 16 * ctx.u, atol: 16 * ctx.u });
    const x = ctx.values(m * n + 5, m * n, { lo: -8, hi: 8 });
    const forward = await both(ctx, (backend, [t]) => backend.sigmoid(t), [[x, [m, n]]]);
    check.close('sigmoid', forward.actual, forward.expected, tolerance);
    // dout·y·(1 − y) from the same y on both sides: three roundings.
    const y = ctx.representable(forward.expected);
    const dout = ctx.values(m * n + 6, m * n);
    const backwardTolerance = ctx.tolerance(['kernels', 'sigmoidBackward'], {
      rtol: 8 * ctx.u,
      atol: 0,
    });
    const backward = await both(ctx, (backend, [d, out]) => backend.sigmoidBackward(d, out), [
      [dout, [m, n]],
      [y, [m, n]],
    ]);
    check.close('sigmoidBackward', backward.actual, backward.expected, backwardTolerance);
  }),
);

const SOFTMAX_SHAPES: [number, number][] = [
  [1, 10],
  [3, 3],
  [100, 10],
  [7, 33],
];
const softmaxCases = SOFTMAX_SHAPES.flatMap(([batch, classes]) =>
  (['class indices', 'one-hot'] as const).map((form) =>
    kernelCase(
      'softmaxCrossEntropy',
      `and its backward ${batch}×${classes}, ${form}`,
      async (ctx, check) => {
        // A probability: x − max rounds by up to 10u in the exponent (logits in ±5), exp
        // adds up to 8u, the row's sum `classes`·u, the divide u. The loss: a log of each
        // (8u more), then a sum of `batch` terms, (batch + 2)·u of the total (it may be
        // summed in the dtype, as core's composition does).
        const u = ctx.u;
        const probsTolerance = ctx.tolerance(['kernels', 'softmaxCrossEntropy'], {
          rtol: (classes + 20) * u,
          atol: 16 * u,
        });
        const lossTolerance = ctx.tolerance(['kernels', 'softmaxCrossEntropy'], {
          rtol: (batch + classes + 32) * u,
          atol: 16 * u,
        });
        const logits = ctx.values(batch * classes, batch * classes, { lo: -5, hi: 5 });
        const indices = Array.from({ length: batch }, (_, i) => (i * 7 + 3) % classes);
        const labels = form === 'one-hot' ? oneHot(indices, classes) : indices;
        const labelShape = form === 'one-hot' ? [batch, classes] : [batch];
        const [xb, xo] = ctx.pair(logits, [batch, classes]);
        const [tb, to] = ctx.pair(labels, labelShape);
        const actual = ctx.backend.softmaxCrossEntropy(xb, tb);
        const expected = ctx.oracle.softmaxCrossEntropy(xo, to);
        for (const t of [actual.probs, actual.loss]) ctx.hold(ctx.backend, t);
        for (const t of [expected.probs, expected.loss]) ctx.hold(ctx.oracle, t);
        check.that(
          actual.loss.shape.length === 0,
          `loss must be a scalar [], got [${actual.loss.shape}]`,
        );
        const expectedProbs = await ctx.read(ctx.oracle, expected.probs);
        check.close(
          'probs',
          await ctx.read(ctx.backend, actual.probs),
          expectedProbs,
          probsTolerance,
        );
        const expectedLoss = await ctx.read(ctx.oracle, expected.loss);
        check.close(
          'loss',
          await ctx.read(ctx.backend, actual.loss),
          expectedLoss,
          lossTolerance,
          Math.abs(expectedLoss[0]) + 1,
        );

        // Backward from the same probabilities on both sides: (y − t) / batch, two roundings.
        const backwardTolerance = ctx.tolerance(['kernels', 'softmaxCrossEntropyBackward'], {
          rtol: 4 * u,
          atol: (4 * u) / batch,
        });
        const y = ctx.representable(expectedProbs);
        const backward = await both(
          ctx,
          (backend, [p, t]) => backend.softmaxCrossEntropyBackward(p, t),
          [
            [y, [batch, classes]],
            [labels, labelShape],
          ],
        );
        check.close(
          'softmaxCrossEntropyBackward',
          backward.actual,
          backward.expected,
          backwardTolerance,
        );
      },
    ),
  ),
);

export function oneHot(indices: number[], classes: number): number[] {
  const rows = new Array(indices.length * classes).fill(0);
  indices.forEach((label, i) => {
    rows[i * classes + label] = 1;
  });
  return rows;
}

const sgdCases = ([[1], [7], [784, 50], [33]] as number[][]).map((shape) =>
  kernelCase('sgdUpdate', shape.join('×'), async (ctx, check) => {
    // w − lr·g: a multiply and a subtract, each rounded once.
    const tolerance = ctx.tolerance(['kernels', 'sgdUpdate'], { rtol: 4 * ctx.u, atol: 0 });
    const size = shape.reduce((a, b) => a * b, 1);
    const w = ctx.values(size + 11, size);
    const g = ctx.values(size + 12, size);
    const [wb, wo] = ctx.pair(w, shape);
    const [gb, go] = ctx.pair(g, shape);
    ctx.backend.sgdUpdate(wb, gb, 0.1);
    ctx.oracle.sgdUpdate(wo, go, 0.1);
    const scale = Array.from(w, (v, i) => Math.abs(v) + Math.abs(0.1 * g[i]));
    check.close(
      'sgdUpdate (in place)',
      await ctx.read(ctx.backend, wb),
      await ctx.read(ctx.oracle, wo),
      tolerance,
      scale,
    );
  }),
);

/** Adam's step at its third iteration's numbers (lr_t for lr 0.01, β1 0.9, β2 0.999). */
export const ADAM_STEP = {
  learningRate: (0.01 * Math.sqrt(1 - 0.999 ** 3)) / (1 - 0.9 ** 3),
  beta1: 0.9,
  beta2: 0.999,
  epsilon: 1e-7,
};

const adamCases = ([[1], [7], [784, 50], [33]] as number[][]).map((shape) =>
  kernelCase('adamUpdate', shape.join('×'), async (ctx, check) => {
    const size = shape.reduce((a, b) => a * b, 1);
    const [w, g, m] = [21, 22, 23].map((seed) => ctx.values(seed + size, size));
    // v is a mean of squares: positive, and kept from 0 so that √v is not all ε
    const v = ctx.values(24 + size, size, { lo: 0.25, hi: 1 });
    const backendSide = [w, g, m, v].map((values) => ctx.pair(values, shape));
    const [[wb, wo], [gb, go], [mb, mo], [vb, vo]] = backendSide as [Tensor, Tensor][];
    ctx.backend.adamUpdate(wb, gb, mb, vb, ADAM_STEP);
    ctx.oracle.adamUpdate(wo, go, mo, vo, ADAM_STEP);
    const { learningRate: lr, beta2 } = ADAM_STEP;
    const mScale = Array.from(m, (mi, i) => Math.abs(mi) + Math.abs((g[i] as number) - mi));
    const v1 = Array.from(v, (vi, i) => vi + ((g[i] as number) ** 2 - vi) * (1 - beta2));
    // Each output is a few operations, each rounded once (m: 3, v: 4, param: 4 more on top
    // of m's and v's), so each is within a few u of its terms' sizes: 4u, 5u and 16u of
    // them; param's step term is taken at m's scale, which bounds m's own error.
    check.close(
      'm (in place)',
      await ctx.read(ctx.backend, mb),
      await ctx.read(ctx.oracle, mo),
      ctx.tolerance(['kernels', 'adamUpdate', 'm'], { rtol: 4 * ctx.u, atol: 0 }),
      mScale,
    );
    check.close(
      'v (in place)',
      await ctx.read(ctx.backend, vb),
      await ctx.read(ctx.oracle, vo),
      ctx.tolerance(['kernels', 'adamUpdate', 'v'], { rtol: 5 * ctx.u, atol: 0 }),
      Array.from(v, (vi, i) => Math.abs(vi) + (g[i] as number) ** 2),
    );
    check.close(
      'param (in place)',
      await ctx.read(ctx.backend, wb),
      await ctx.read(ctx.oracle, wo),
      ctx.tolerance(['kernels', 'adamUpdate', 'param'], { rtol: 16 * ctx.u, atol: 0 }),
      Array.from(
        w,
        (wi, i) => Math.abs(wi) + (lr * (mScale[i] as number)) / Math.sqrt(v1[i] as number),
      ),
    );
  }),
);

const countCorrectCases = (
  [
    [1, 10],
    [100, 10],
    [7, 33],
  ] as [number, number][]
).map(([batch, classes]) =>
  kernelCase('countCorrect', `${batch}×${classes}, both label forms`, async (ctx, check) => {
    const scores = ctx.values(batch + classes, batch * classes);
    const indices = Array.from({ length: batch }, (_, i) => (i * 5 + 1) % classes);
    for (const [labels, shape] of [
      [indices, [batch]],
      [oneHot(indices, classes), [batch, classes]],
    ] as [number[], number[]][]) {
      const r = await both(ctx, (backend, [s, t]) => backend.countCorrect(s, t), [
        [scores, [batch, classes]],
        [labels, shape],
      ]);
      check.that(r.shapeOk, `shape ${r.shapes}`);
      check.exact(
        `countCorrect (${shape.length === 1 ? 'indices' : 'one-hot'})`,
        r.actual,
        r.expected,
      );
    }
  }),
);

const gatherCases = (
  [
    [10, 784],
    [60, 1],
    [33, 0],
  ] as [number, number][]
).map(([rows, cols]) =>
  kernelCase(
    'gatherRows',
    cols === 0 ? `[${rows}] vector` : `${rows}×${cols}`,
    async (ctx, check) => {
      const shape = cols === 0 ? [rows] : [rows, cols];
      const size = rows * Math.max(cols, 1);
      const indices = [rows - 1, 0, 3, 3, rows - 1, 1];
      const r = await both(ctx, (backend, [x]) => backend.gatherRows(x, indices), [
        [ctx.values(size, size), shape],
      ]);
      check.that(r.shapeOk, `shape ${r.shapes}`);
      check.exact('gatherRows', r.actual, r.expected);
    },
  ),
);

// ---- gather by a map, its adjoint, and the window kernels composed from them --------------

/**
 * A map of `outSize` entries into samples of `inSize` values: every value read at least
 * once where outSize allows, some several times (the overlap of windows), a tenth −1 (the
 * padding's zeros).
 */
function mapIndex(ctx: CaseContext, seed: number, inSize: number, outSize: number): number[] {
  const r = ctx.values(seed, outSize, { lo: 0, hi: 1 });
  return Array.from(r, (u, i) => (u < 0.1 ? -1 : i < inSize ? i : Math.floor(u * inSize) % inSize));
}

const MAP_SHAPES: [batch: number, inSize: number, outSize: number][] = [
  [1, 1, 3],
  [3, 7, 33],
  [2, 50, 10],
  [100, 784, 14_400], // im2col of MNIST images for 5×5 filters: 576 positions × 25
];

const gatherMapCases = MAP_SHAPES.map(([batch, inSize, outSize]) =>
  kernelCase(
    'gather',
    `${batch} samples of ${inSize} → ${outSize}, with −1s`,
    async (ctx, check) => {
      const index = mapIndex(ctx, inSize + outSize, inSize, outSize);
      const x = ctx.values(batch * inSize, batch * inSize);
      const r = await both(
        ctx,
        (backend, [t]) => {
          const map = backend.gatherMap(index, inSize);
          try {
            return backend.gather(t, map);
          } finally {
            map.dispose();
          }
        },
        [[x, [batch, inSize]]],
      );
      check.that(r.shapeOk, `shape ${r.shapes}`);
      check.exact('gather', r.actual, r.expected); // a copy: every value exact
    },
  ),
);

const scatterAddCases = MAP_SHAPES.map(([batch, inSize, outSize]) =>
  kernelCase('scatterAdd', `[${batch},${outSize}] → [${batch},${inSize}]`, async (ctx, check) => {
    const index = mapIndex(ctx, inSize + outSize, inSize, outSize);
    const v = ctx.values(batch * outSize + 1, batch * outSize);
    const run = (backend: Backend, t: Tensor) => {
      const map = backend.gatherMap(index, inSize);
      try {
        return { sums: backend.scatterAdd(t, map), most: map.maxSources };
      } finally {
        map.dispose();
      }
    };
    const r = await both(ctx, (backend, [t]) => run(backend, t).sums, [[v, [batch, outSize]]]);
    check.that(r.shapeOk, `shape ${r.shapes}`);
    // a sum of at most maxSources terms: (maxSources + 2)·u·Σ|terms|
    const absolute = ctx.on(ctx.oracle, v.map(Math.abs), [batch, outSize]);
    const { sums, most } = run(ctx.oracle, absolute);
    const tolerance = ctx.tolerance(['kernels', 'scatterAdd'], {
      rtol: (most + 2) * ctx.u,
      atol: 0,
    });
    check.close(
      'scatterAdd',
      r.actual,
      r.expected,
      tolerance,
      await ctx.read(ctx.oracle, ctx.hold(ctx.oracle, sums)),
    );
  }),
);

/** Images [N, C, H, W] and the windows over them, chosen to break index arithmetic. */
const WINDOWS: [shape: number[], window: Window, what: string][] = [
  [[5, 1, 28, 28], { height: 5, width: 5, stride: 1, pad: 0 }, 'MNIST, 5×5'],
  [[3, 3, 7, 9], { height: 3, width: 2, stride: 2, pad: 1 }, '3×2 stride 2 pad 1, not square'],
  [[2, 4, 6, 6], { height: 2, width: 2, stride: 2, pad: 0 }, '2×2 stride 2 (pooling)'],
  // a backend may run 2×2 stride 2 windows a few at a time: rows of 11 windows (vectors
  // and a remainder), an image the windows do not cover (its last row and column
  // untouched), and a 3×2 window at the same stride (not the 2×2 case)
  [[2, 3, 8, 22], { height: 2, width: 2, stride: 2, pad: 0 }, '2×2 stride 2, 11 windows a row'],
  [[2, 2, 9, 17], { height: 2, width: 2, stride: 2, pad: 0 }, '2×2 stride 2, odd image'],
  [[1, 2, 7, 8], { height: 3, width: 2, stride: 2, pad: 0 }, '3×2 stride 2'],
  [[1, 2, 5, 5], { height: 3, width: 3, stride: 2, pad: 2 }, '3×3 stride 2 pad 2'],
];

const windowCases = WINDOWS.flatMap(([shape, window, what]) => [
  kernelCase('im2col', `${shape.join('×')}, ${what}`, async (ctx, check) => {
    const size = shape.reduce((a, b) => a * b, 1);
    const r = await both(ctx, (backend, [x]) => backend.im2col(x, window), [
      [ctx.values(size, size), shape],
    ]);
    check.that(r.shapeOk, `shape ${r.shapes}`);
    check.exact('im2col', r.actual, r.expected);
  }),
  kernelCase('col2im', `${shape.join('×')}, ${what}`, async (ctx, check) => {
    const d = windowDims('col2im', shape, window);
    const colShape = [
      d.batch * d.outHeight * d.outWidth,
      d.channels * window.height * window.width,
    ];
    const values = ctx.values(colShape[0], colShape[0] * colShape[1]);
    const r = await both(ctx, (backend, [c]) => backend.col2im(c, shape, window), [
      [values, colShape],
    ]);
    check.that(r.shapeOk, `shape ${r.shapes}`);
    // each pixel sums at most windowHeight·windowWidth terms
    const terms = window.height * window.width;
    const abs = ctx.hold(
      ctx.oracle,
      ctx.oracle.col2im(ctx.on(ctx.oracle, values.map(Math.abs), colShape), shape, window),
    );
    check.close(
      'col2im',
      r.actual,
      r.expected,
      ctx.tolerance(['kernels', 'col2im'], { rtol: (terms + 2) * ctx.u, atol: 0 }),
      await ctx.read(ctx.oracle, abs),
    );
  }),
  kernelCase('maxPool', `${shape.join('×')}, ${what}, with ties`, async (ctx, check) => {
    const size = shape.reduce((a, b) => a * b, 1);
    // a third of the pixels 0: windows with equal maxima, where the first must win
    const x = ctx.values(size + 7, size, { zeros: 0.3, lo: -1, hi: 0 });
    const pick = (backend: Backend, t: Tensor, which: 'out' | 'argmax') => {
      const result = backend.maxPool(t, window);
      backend.dispose(result[which === 'out' ? 'argmax' : 'out']);
      return result[which];
    };
    const out = await both(ctx, (backend, [t]) => pick(backend, t, 'out'), [[x, shape]]);
    const argmax = await both(ctx, (backend, [t]) => pick(backend, t, 'argmax'), [[x, shape]]);
    check.that(out.shapeOk && argmax.shapeOk, `shapes ${out.shapes}, ${argmax.shapes}`);
    check.exact('maxPool out', out.actual, out.expected);
    check.exact('maxPool argmax (the first of equal maxima)', argmax.actual, argmax.expected);
  }),
  kernelCase('maxPoolBackward', `${shape.join('×')}, ${what}`, async (ctx, check) => {
    const size = shape.reduce((a, b) => a * b, 1);
    const x = ctx.values(size + 9, size, { zeros: 0.3, lo: -1, hi: 0 });
    const r = await both(
      ctx,
      (backend, [t]) => {
        const { out, argmax } = backend.maxPool(t, window);
        const dout = backend.add(backend.mul(out, 0), 1.5); // 1.5 at every output
        const dx = backend.maxPoolBackward(dout, argmax, shape, window);
        for (const u of [out, argmax, dout]) backend.dispose(u);
        return dx;
      },
      [[x, shape]],
    );
    check.that(r.shapeOk, `shape ${r.shapes}`);
    // sums of 1.5 where windows overlap: small whole multiples, exact in any order
    check.exact('maxPoolBackward', r.actual, r.expected);
  }),
]);

const batchNormalizeCases = (
  [
    [1, 3],
    [100, 100],
    [7, 33],
  ] as [number, number][]
).map(([rows, cols]) =>
  kernelCase('batchNormalize', `${rows}×${cols}`, async (ctx, check) => {
    const r = await both(
      ctx,
      (backend, [x, mean, variance, gamma, beta]) =>
        backend.batchNormalize(x, mean, variance, gamma, beta, 1e-6),
      [
        [ctx.values(rows * cols, rows * cols, { lo: -3, hi: 3 }), [rows, cols]],
        [ctx.values(cols + 1, cols), [cols]],
        [ctx.values(cols + 2, cols, { lo: 0.01, hi: 4 }), [cols]],
        [ctx.values(cols + 3, cols, { lo: 0.5, hi: 2 }), [cols]],
        [ctx.values(cols + 4, cols), [cols]],
      ],
    );
    check.that(r.shapeOk, `shape ${r.shapes}`);
    // a subtraction, a sqrt, a division, a product and a sum: a few roundings of values
    // of the output's size (at most ~|γ|·|x − mean|/σ + |β| ≈ 100 here)
    check.close(
      'batchNormalize',
      r.actual,
      r.expected,
      ctx.tolerance(['kernels', 'batchNormalize'], { rtol: 8 * ctx.u, atol: 8 * ctx.u * 100 }),
    );
  }),
);

const permuteCases = (
  [
    [
      [2, 3, 4],
      [0, 2, 1],
    ],
    [
      [3, 24, 24, 30],
      [0, 3, 1, 2],
    ], // a convolution's output, as the book's transpose(0, 3, 1, 2)
    [
      [1, 2, 3, 4, 5],
      [0, 4, 2, 3, 1],
    ],
    // its backward, NCHW → NHWC, at sizes no multiple of 4 (a backend that transposes
    // by blocks has edges to get right)
    [
      [2, 5, 6, 7],
      [0, 2, 3, 1],
    ],
  ] as [number[], number[]][]
).map(([shape, axes]) =>
  kernelCase('permute', `${shape.join('×')} to axes ${axes.join(',')}`, async (ctx, check) => {
    const size = shape.reduce((a, b) => a * b, 1);
    const r = await both(ctx, (backend, [x]) => backend.permute(x, axes), [
      [ctx.values(size, size), shape],
    ]);
    check.that(r.shapeOk, `shape ${r.shapes}`);
    check.exact('permute', r.actual, r.expected);
  }),
);

export const kernelCases: ConformanceCase[] = [
  ...matmulCases,
  ...unaryCases,
  ...binaryCases,
  ...reduceCases,
  ...addBiasCases,
  ...sumColumnsCases,
  ...reluCases,
  ...sigmoidCases,
  ...softmaxCases,
  ...sgdCases,
  ...adamCases,
  ...countCorrectCases,
  ...gatherCases,
  ...gatherMapCases,
  ...scatterAddCases,
  ...windowCases,
  ...batchNormalizeCases,
  ...permuteCases,
];
