/**
 * 2. Every layer's backward against a numerical gradient (central difference, as the
 * book does). The numerical side always runs in float64 on the oracle, with h = 1e-5,
 * from the very values the backend got: its own error (h²·f''' and 1e-16/h) is near
 * 1e-10, so what a case measures is the backend's backward. For float32 backends the
 * tolerance adds the float32 rounding of a short sum of products.
 */
import {
  Affine,
  type Backend,
  BatchNormalization,
  Convolution,
  Dropout,
  describe,
  layerDescriptor,
  layerTypes,
  Pooling,
  Random,
  Relu,
  Sigmoid,
  SoftmaxWithLoss,
  type Tensor,
} from '@backprop/core';
import type { ConformanceCase } from '../case.js';
import { Check, type Tolerance } from '../check.js';
import { gradientCheckLayer, numerical } from '../check-layer.js';
import type { CaseContext } from '../context.js';
import { oneHot } from './kernels.js';

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

// ---- chapters 6–7: the layers composed from gathers, windows and batch statistics --------

/** f(params) = Σ r ⊙ layer.forward(x) on the oracle, for the numerical side. */
type OracleForward = (o: Backend, values: Record<string, Float64Array>) => Tensor;

/**
 * A layer with inputs and parameters `values` (each with its shape): backward(r) on the
 * backend against the numerical gradient of Σ r ⊙ forward on the oracle, for each input
 * in `check` (x, W, b, gamma, …). `grads` reads the backend's gradients after backward.
 */
async function layerGradients(
  ctx: CaseContext,
  check: Check,
  label: string,
  values: Record<string, [Float64Array, number[]]>,
  forward: (b: Backend, t: Record<string, Tensor>) => Tensor,
  backward: (b: Backend, dout: Tensor) => Record<string, Tensor>,
  terms: number,
): Promise<void> {
  const b = ctx.backend;
  const onBackend = Object.fromEntries(
    Object.entries(values).map(([k, [v, shape]]) => [k, ctx.on(b, v, shape)]),
  );
  const out = forward(b, onBackend);
  const outShape = [...out.shape];
  const r = ctx.values(97, out.size);
  const grads = backward(b, ctx.on(b, r, outShape));
  const actual: Record<string, Float64Array> = {};
  for (const [k, t] of Object.entries(grads)) actual[k] = await ctx.read(b, t);
  const lossOf: OracleForward = (o, vals) => {
    const ts = Object.fromEntries(
      Object.entries(values).map(([k, [, shape]]) => [k, o.tensor(vals[k], shape)]),
    );
    try {
      return forward(o, ts);
    } finally {
      for (const t of Object.values(ts)) o.dispose(t);
    }
  };
  const base = Object.fromEntries(
    Object.entries(values).map(([k, [v]]) => [k, Float64Array.from(v)]),
  );
  for (const [k, grad] of Object.entries(actual)) {
    const expected = numerical((v) => {
      const out = lossOf(ctx.oracle, { ...base, [k]: v });
      return weightedSum(ctx.oracle, out, r);
    }, Float64Array.from(base[k]));
    check.close(`${label} d${k}`, grad, expected, gradientTolerance(ctx, terms));
  }
}

const convolutionCase = layerCase(
  'Convolution x[2,3,7,6] * W[4,3,3,2], stride 2, pad 1: backward = numerical gradient',
  ['im2col', 'col2im', 'matmul', 'addBias', 'sumColumns', 'gather', 'scatterAdd'],
  async (ctx, check) => {
    const layers: Convolution[] = [];
    await layerGradients(
      ctx,
      check,
      'Convolution',
      {
        x: [ctx.values(41, 2 * 3 * 7 * 6), [2, 3, 7, 6]],
        W: [ctx.values(42, 4 * 3 * 3 * 2), [4, 3, 3, 2]],
        b: [ctx.values(43, 4), [4]],
      },
      (b, t) => {
        const layer = new Convolution(b, t.W, t.b, { stride: 2, pad: 1 });
        layers.push(layer);
        return layer.forward(t.x);
      },
      (_, dout) => {
        const layer = layers[0];
        const dx = layer.backward(dout) as Tensor;
        return { x: dx, W: layer.dW as Tensor, b: layer.db as Tensor };
      },
      3 * 3 * 2 * 4, // the longest sum: a column of the filter times the batch's positions
    );
    for (const layer of layers) layer.dispose();
  },
);

const poolingCase = layerCase(
  'Pooling x[2,2,6,5], 3×2 windows, stride 2, pad 1: backward = numerical gradient',
  ['maxPool', 'maxPoolBackward', 'gather', 'scatterAdd', 'argmax'],
  async (ctx, check) => {
    const layers: Pooling[] = [];
    await layerGradients(
      ctx,
      check,
      'Pooling',
      { x: [ctx.values(44, 2 * 2 * 6 * 5), [2, 2, 6, 5]] },
      (b, t) => {
        const layer = new Pooling(b, { height: 3, width: 2, stride: 2, pad: 1 });
        layers.push(layer);
        return layer.forward(t.x);
      },
      (_, dout) => ({ x: layers[0].backward(dout) }),
      6,
    );
    for (const layer of layers) layer.dispose();
  },
);

const batchNormCases = (
  [
    [6, 5],
    [3, 2, 2, 2],
  ] as number[][]
).map((shape) =>
  layerCase(
    `BatchNormalization x[${shape}] in training: backward = numerical gradient`,
    ['batchNormalize', 'sum', 'sub', 'mul', 'div', 'sqrt'],
    async (ctx, check) => {
      const size = shape.reduce((a, b) => a * b, 1);
      const features = size / shape[0];
      const layers: BatchNormalization[] = [];
      await layerGradients(
        ctx,
        check,
        'BatchNormalization',
        {
          x: [ctx.values(45, size, { lo: -2, hi: 2 }), shape],
          gamma: [ctx.values(46, features, { lo: 0.5, hi: 1.5 }), [features]],
          beta: [ctx.values(47, features), [features]],
        },
        (b, t) => {
          const layer = new BatchNormalization(b, t.gamma, t.beta);
          layers.push(layer);
          return layer.forward(t.x, true);
        },
        (_, dout) => {
          const layer = layers[0];
          const dx = layer.backward(dout);
          return { x: dx, gamma: layer.dgamma as Tensor, beta: layer.dbeta as Tensor };
        },
        shape[0],
      );
      for (const layer of layers) {
        for (const t of Object.values(layer.state)) t.dispose();
        layer.dispose();
      }
    },
  ),
);

const batchNormTestCase = layerCase(
  'BatchNormalization at test: the running statistics (momentum 0.9), not the batch’s',
  ['batchNormalize'],
  async (ctx, check) => {
    const [rows, features] = [8, 6];
    const run = async (b: Backend) => {
      const gamma = ctx.on(b, ctx.values(51, features, { lo: 0.5, hi: 1.5 }), [features]);
      const beta = ctx.on(b, ctx.values(52, features), [features]);
      const layer = new BatchNormalization(b, gamma, beta);
      for (const seed of [53, 54])
        layer.forward(
          ctx.on(b, ctx.values(seed, rows * features, { lo: -2, hi: 3 }), [rows, features]),
          true,
        );
      const test = ctx.on(b, ctx.values(55, rows * features, { lo: -1, hi: 1 }), [rows, features]);
      const out = await ctx.read(b, layer.forward(test, false));
      const mean = await ctx.read(b, layer.runningMean);
      const variance = await ctx.read(b, layer.runningVar);
      for (const t of Object.values(layer.state)) b.dispose(t);
      layer.dispose();
      return { out, mean, variance };
    };
    const got = await run(ctx.backend);
    const want = await run(ctx.oracle);
    // The test batch's own mean and variance differ from the running ones by far more
    // than rounding: a layer that normalized by them would fail by O(1).
    const tolerance = gradientTolerance(ctx, rows);
    check.close('running mean', got.mean, want.mean, tolerance);
    check.close('running variance', got.variance, want.variance, tolerance);
    check.close('output at test', got.out, want.out, tolerance);
  },
);

const dropoutCase = layerCase(
  'Dropout: the same seed gives the same mask on every backend; at test x·(1 − ratio)',
  ['mul'],
  async (ctx, check) => {
    const shape = [7, 9];
    const x = ctx.values(61, 63);
    const dout = ctx.values(62, 63);
    const run = async (b: Backend) => {
      const layer = new Dropout(b, 0.3, new Random(7));
      const train = await ctx.read(b, layer.forward(ctx.on(b, x, shape), true));
      const back = await ctx.read(b, layer.backward(ctx.on(b, dout, shape)));
      const test = await ctx.read(b, layer.forward(ctx.on(b, x, shape), false));
      layer.dispose();
      return { train, back, test };
    };
    const got = await run(ctx.backend);
    const want = await run(ctx.oracle);
    check.exact('Dropout in training: x·mask', got.train, want.train);
    check.exact('Dropout backward: dout·mask', got.back, want.back);
    check.close('Dropout at test', got.test, want.test, { rtol: 2 * ctx.u, atol: 0 });
    const kept = want.train.filter((v) => v !== 0).length / want.train.length;
    check.that(
      kept > 0.5 && kept < 0.9,
      `kept ${kept.toFixed(2)} of the values, for a ratio of 0.3`,
    );
  },
);

/**
 * Every registered layer whose descriptor gives an example, through `checkLayer`: a layer
 * added as a descriptor alone is gradient-checked on every backend with no case written.
 */
const describedCases = layerTypes().flatMap((type) => {
  const example = layerDescriptor(type)?.example;
  if (!example) return [];
  return [
    layerCase(
      `${describe(example.spec)} on [${example.input}] backward = numerical gradient (checkLayer)`,
      [],
      async (ctx, check) => {
        const entries = await gradientCheckLayer(
          check,
          ctx.backend,
          example.spec,
          { input: example.input },
          (tolerance) => ctx.tolerance(['layers'], tolerance),
        );
        check.note(`${entries} entries`);
      },
    ),
  ];
});

export const layerCases: ConformanceCase[] = [
  activationCase('Relu', (b) => new Relu(b), -2, 2, ['relu', 'reluBackward']),
  activationCase('Sigmoid', (b) => new Sigmoid(b), -4, 4, ['sigmoid', 'sigmoidBackward']),
  ...affineCases,
  ...softmaxCases,
  convolutionCase,
  poolingCase,
  ...batchNormCases,
  batchNormTestCase,
  dropoutCase,
  ...describedCases,
];
