/**
 * 2. Every layer's backward against a numerical gradient (central difference, as the
 * book does). The numerical side always runs in float64 on the oracle, with h = 1e-5,
 * from the very values the backend got: its own error (h²·f''' and 1e-16/h) is near
 * 1e-10, so what a case measures is the backend's backward. For float32 backends the
 * tolerance adds the float32 rounding of a short sum of products.
 */
import { Affine, type Backend, Relu, Sigmoid, SoftmaxWithLoss, type Tensor } from '@backprop/core';
import type { ConformanceCase } from '../case.js';
import { Check, type Tolerance } from '../check.js';
import type { CaseContext } from '../context.js';
import { oneHot } from './kernels.js';

const H = 1e-5;

/** d/dv of f at v, for each element of v, by (f(v + h) − f(v − h)) / 2h. */
function numerical(f: (values: Float64Array) => number, values: Float64Array): Float64Array {
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

/** Σ r ⊙ out, computed on the oracle: a scalar whose gradient with respect to out is r. */
function weightedSum(oracle: Backend, out: Tensor, r: Float64Array): number {
  const values = oracle.readSync!(out);
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += values[i] * r[i];
  return sum;
}

function gradientTolerance(ctx: CaseContext, terms: number): Tolerance {
  // float64: the numerical side's own error, with room. float32: plus the rounding of a
  // sum of `terms` products, (terms + 2)·u relative to the gradient's size.
  const base = 1e-6;
  return ctx.tolerance(['layers'], {
    rtol: base + (ctx.backend.dtype === 'float32' ? (terms + 2) * ctx.u * 4 : 0),
    atol: 1e-9 + (ctx.backend.dtype === 'float32' ? 16 * ctx.u : 0),
  });
}

function layerCase(
  id: string,
  kernels: string[],
  run: (ctx: CaseContext, check: Check) => Promise<void>,
): ConformanceCase {
  return {
    id: `layers/${id}`,
    group: 'layers',
    kernels,
    async run(ctx) {
      const check = new Check();
      await run(ctx, check);
      return check;
    },
  };
}

/** An activation layer on [rows, cols]: backward(r) must be d(Σ r ⊙ forward(x))/dx. */
function activationCase(
  name: string,
  make: (backend: Backend) => Relu | Sigmoid,
  lo: number,
  hi: number,
  kernels: string[],
) {
  return layerCase(`${name} backward = numerical gradient`, kernels, async (ctx, check) => {
    const [rows, cols] = [3, 7];
    // Keep away from ReLU's kink: within h of 0 the central difference straddles it.
    const x = ctx.representable(
      ctx
        .values(11, rows * cols, { lo, hi })
        .map((v) => (Math.abs(v) < 0.05 ? v + Math.sign(v || 1) * 0.1 : v)),
    );
    const r = ctx.values(12, rows * cols);
    const layer = make(ctx.backend);
    const [xb] = ctx.pair(x, [rows, cols]);
    layer.forward(xb);
    const dx = await ctx.read(ctx.backend, layer.backward(ctx.on(ctx.backend, r, [rows, cols])));
    layer.dispose();
    const oracleLayer = make(ctx.oracle);
    const expected = numerical((v) => {
      const input = ctx.oracle.tensor(v, [rows, cols]);
      const sum = weightedSum(ctx.oracle, oracleLayer.forward(input), r);
      ctx.oracle.dispose(input);
      return sum;
    }, Float64Array.from(x));
    oracleLayer.dispose();
    check.close(`${name} dx`, dx, expected, gradientTolerance(ctx, 1));
  });
}

const affineCases = (
  [
    [[3, 7], 5],
    [[1, 33], 10],
    [[2, 2, 3], 4],
  ] as [number[], number][]
).map(([xShape, outputs]) =>
  layerCase(
    `Affine x[${xShape}]·W[${xShape.slice(1).reduce((a, b) => a * b, 1)},${outputs}] backward = numerical gradient`,
    ['matmul', 'addBias', 'sumColumns'],
    async (ctx, check) => {
      const batch = xShape[0];
      const features = xShape.slice(1).reduce((a, b) => a * b, 1);
      const x = ctx.values(21, batch * features);
      const w = ctx.values(22, features * outputs);
      const b = ctx.values(23, outputs);
      const r = ctx.values(24, batch * outputs);

      const layer = new Affine(
        ctx.backend,
        ctx.on(ctx.backend, w, [features, outputs]),
        ctx.on(ctx.backend, b, [outputs]),
      );
      layer.forward(ctx.on(ctx.backend, x, xShape));
      const dxTensor = layer.backward(ctx.on(ctx.backend, r, [batch, outputs]))!;
      check.that(
        JSON.stringify(dxTensor.shape) === JSON.stringify(xShape),
        `dx has shape [${dxTensor.shape}], expected the input's [${xShape}]`,
      );
      const dx = await ctx.read(ctx.backend, dxTensor);
      const dW = await ctx.read(ctx.backend, layer.dW!);
      const db = await ctx.read(ctx.backend, layer.db!);
      layer.dispose();

      const lossOf = (xv: Float64Array, wv: Float64Array, bv: Float64Array) => {
        const o = ctx.oracle;
        const [xt, wt, bt] = [
          o.tensor(xv, xShape),
          o.tensor(wv, [features, outputs]),
          o.tensor(bv, [outputs]),
        ];
        const affine = new Affine(o, wt, bt);
        const sum = weightedSum(o, affine.forward(xt), r);
        affine.dispose();
        for (const t of [xt, wt, bt]) o.dispose(t);
        return sum;
      };
      check.close(
        'Affine dx',
        dx,
        numerical((v) => lossOf(v, w, b), Float64Array.from(x)),
        gradientTolerance(ctx, outputs),
      );
      check.close(
        'Affine dW',
        dW,
        numerical((v) => lossOf(x, v, b), Float64Array.from(w)),
        gradientTolerance(ctx, batch),
      );
      check.close(
        'Affine db',
        db,
        numerical((v) => lossOf(x, w, v), Float64Array.from(b)),
        gradientTolerance(ctx, batch),
      );
    },
  ),
);

const softmaxCases = (['class indices', 'one-hot'] as const).map((form) =>
  layerCase(
    `SoftmaxWithLoss backward = numerical gradient (${form})`,
    ['softmaxCrossEntropy', 'softmaxCrossEntropyBackward'],
    async (ctx, check) => {
      const [batch, classes] = [4, 10];
      const logits = ctx.values(31, batch * classes, { lo: -3, hi: 3 });
      const indices = [3, 0, 9, 3];
      const labels = form === 'one-hot' ? oneHot(indices, classes) : indices;
      const labelShape = form === 'one-hot' ? [batch, classes] : [batch];
      const layer = new SoftmaxWithLoss(ctx.backend);
      layer.forward(
        ctx.on(ctx.backend, logits, [batch, classes]),
        ctx.on(ctx.backend, labels, labelShape),
      );
      const dx = await ctx.read(ctx.backend, layer.backward());
      layer.dispose();

      // (y − t)/batch is the derivative of the loss without the book's 1e-7 guard.
      const oracleLayer = new SoftmaxWithLoss(ctx.oracle);
      oracleLayer.delta = 0;
      const t = ctx.on(ctx.oracle, labels, labelShape);
      const expected = numerical((v) => {
        const input = ctx.oracle.tensor(v, [batch, classes]);
        const loss = ctx.oracle.readSync!(oracleLayer.forward(input, t))[0];
        ctx.oracle.dispose(input);
        return loss;
      }, Float64Array.from(logits));
      oracleLayer.dispose();
      check.close('SoftmaxWithLoss dx', dx, expected, gradientTolerance(ctx, classes));
    },
  ),
);

export const layerCases: ConformanceCase[] = [
  activationCase('Relu', (b) => new Relu(b), -2, 2, ['relu', 'reluBackward']),
  activationCase('Sigmoid', (b) => new Sigmoid(b), -4, 4, ['sigmoid', 'sigmoidBackward']),
  ...affineCases,
  ...softmaxCases,
];
