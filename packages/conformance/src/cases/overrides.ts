/**
 * 1b. Every composed kernel a backend overrides (a fused kernel of its own instead of
 * core's composition of primitives) against that composition, on the same backend with
 * the same inputs. Both are also checked against the oracle (kernels/); this shows the
 * override computes the same function as the primitives it replaces. Where a backend
 * does not override a kernel the case is skipped: the composition is what runs.
 *
 * Tolerances: each side is within the kernel's own bound of the exact value (kernels/
 * derives them), so they differ by at most twice it.
 */
import {
  type Backend,
  COMPOSED_KERNELS,
  type ComposedKernel,
  composedKernels,
  type Tensor,
  windowDims,
} from '@backprop/core';
import type { ConformanceCase } from '../case.js';
import { Check, type Tolerance } from '../check.js';
import type { CaseContext } from '../context.js';
import { ADAM_STEP, oneHot } from './kernels.js';

interface Trial {
  label: string;
  /** The override's result and the composition's, as values. */
  run(ctx: CaseContext, b: Backend): Promise<[override: Float64Array, composed: Float64Array]>;
  tolerance(ctx: CaseContext): Tolerance | 'exact';
}

async function pairOf(ctx: CaseContext, b: Backend, make: () => [Tensor, Tensor]) {
  const [x, y] = make().map((t) => ctx.hold(b, t));
  return [await ctx.read(b, x), await ctx.read(b, y)] as [Float64Array, Float64Array];
}

const X = (ctx: CaseContext, seed: number, shape: number[], lo = -2, hi = 2, zeros = 0) =>
  ctx.on(
    ctx.backend,
    ctx.values(
      seed,
      shape.reduce((a, b) => a * b, 1),
      { lo, hi, zeros },
    ),
    shape,
  );

/**
 * Convolutions with the shapes of the book's nets and ones that break index arithmetic:
 * SimpleConvNet's one channel under 5×5 filters (rows of 24); DeepConvNet's 3×3 with pad
 * 1, over rows that are not whole vectors (11); pad 2 with a 3×2 filter; output rows of
 * 3, 18, 26 and 42 (a direct kernel's blocks of vectors: one, five, seven with a ragged
 * end, seven and then more); and stride 2, which a backend's direct kernel may leave to
 * core (then both sides are the composition).
 */
const CONVOLUTIONS: { images: number[]; filters: number[]; stride: number; pad: number }[] = [
  { images: [2, 1, 28, 28], filters: [3, 1, 5, 5], stride: 1, pad: 0 },
  { images: [2, 3, 9, 11], filters: [5, 3, 3, 3], stride: 1, pad: 1 },
  { images: [2, 2, 8, 7], filters: [3, 2, 3, 2], stride: 1, pad: 2 },
  { images: [1, 1, 5, 5], filters: [2, 1, 3, 3], stride: 1, pad: 0 },
  { images: [2, 1, 7, 20], filters: [2, 1, 3, 3], stride: 1, pad: 0 },
  { images: [1, 1, 5, 28], filters: [2, 1, 3, 3], stride: 1, pad: 0 },
  { images: [1, 2, 6, 42], filters: [2, 2, 3, 3], stride: 1, pad: 1 },
  { images: [2, 2, 9, 9], filters: [3, 2, 3, 3], stride: 2, pad: 1 },
  // filters in groups of three with one left over, 14 columns (tiles of 12 or 8 and a tail)
  { images: [2, 1, 6, 13], filters: [4, 1, 2, 2], stride: 1, pad: 1 },
];

const convolutionLabel = ({ images, filters, stride, pad }: (typeof CONVOLUTIONS)[number]) =>
  `images [${images}], filters [${filters}], stride ${stride}, pad ${pad}`;

function convolutionDims({ images, filters, stride, pad }: (typeof CONVOLUTIONS)[number]) {
  const [count, , height, width] = filters as [number, number, number, number];
  return { ...windowDims('convolution', images, { height, width, stride, pad }), filters: count };
}

/** Images and a window that break index arithmetic: not square, stride 2, padded. */
const IMAGES = [3, 3, 7, 9];
const WINDOW = { height: 3, width: 2, stride: 2, pad: 1 };

const TRIALS: Record<ComposedKernel, Trial[]> = {
  addBias: [
    {
      label: 'x [33,10] + b [10]',
      async run(ctx, b) {
        const [x, bias] = [X(ctx, 1, [33, 10]), X(ctx, 2, [10])];
        return pairOf(ctx, b, () => [b.addBias(x, bias), composedKernels.addBias(b, x, bias)]);
      },
      tolerance: (ctx) => ({ rtol: 4 * ctx.u, atol: 4 * ctx.u }),
    },
  ],
  sumColumns: [
    {
      label: 'x [100,50]',
      async run(ctx, b) {
        const x = X(ctx, 3, [100, 50]);
        return pairOf(ctx, b, () => [b.sumColumns(x), composedKernels.sumColumns(b, x)]);
      },
      // a sum of 100 terms of at most 2: (100 + 2)·u·200, twice
      tolerance: (ctx) => ({ rtol: 0, atol: 2 * 102 * ctx.u * 200 }),
    },
  ],
  relu: [
    {
      label: 'x [100,50], a fifth exactly 0',
      async run(ctx, b) {
        const x = X(ctx, 4, [100, 50], -2, 2, 0.2);
        return pairOf(ctx, b, () => [b.relu(x), composedKernels.relu(b, x)]);
      },
      tolerance: () => 'exact',
    },
  ],
  reluBackward: [
    {
      label: 'dout [100,50], out with zeros',
      async run(ctx, b) {
        const [dout, out] = [X(ctx, 5, [100, 50]), X(ctx, 6, [100, 50], -1, 1, 0.3)];
        return pairOf(ctx, b, () => [
          b.reluBackward(dout, out),
          composedKernels.reluBackward(b, dout, out),
        ]);
      },
      tolerance: () => 'exact',
    },
  ],
  sigmoid: [
    {
      label: 'x [100,50] in ±8',
      async run(ctx, b) {
        const x = X(ctx, 7, [100, 50], -8, 8);
        return pairOf(ctx, b, () => [b.sigmoid(x), composedKernels.sigmoid(b, x)]);
      },
      tolerance: (ctx) => ({ rtol: 32 * ctx.u, atol: 32 * ctx.u }),
    },
  ],
  sigmoidBackward: [
    {
      label: 'dout [100,50], out in (0,1)',
      async run(ctx, b) {
        const [dout, out] = [X(ctx, 8, [100, 50]), X(ctx, 9, [100, 50], 0.01, 0.99)];
        return pairOf(ctx, b, () => [
          b.sigmoidBackward(dout, out),
          composedKernels.sigmoidBackward(b, dout, out),
        ]);
      },
      tolerance: (ctx) => ({ rtol: 16 * ctx.u, atol: 0 }),
    },
  ],
  softmax: [
    {
      label: 'x [100,10] in ±5, and ±1000',
      async run(ctx, b) {
        const x = X(ctx, 10, [100, 10], -5, 5);
        const big = ctx.on(b, [1000, 0, -1000, -1000, 1000, 0], [2, 3]);
        const [p, q] = await pairOf(ctx, b, () => [b.softmax(x), composedKernels.softmax(b, x)]);
        const [r, s] = await pairOf(ctx, b, () => [
          b.softmax(big),
          composedKernels.softmax(b, big),
        ]);
        return [Float64Array.of(...p, ...r), Float64Array.of(...q, ...s)];
      },
      tolerance: (ctx) => ({ rtol: 2 * (10 + 20) * ctx.u, atol: 32 * ctx.u }),
    },
  ],
  softmaxCrossEntropy: (['class indices', 'one-hot'] as const).map((form) => ({
    label: `logits [100,10], ${form}: probabilities, then the loss`,
    async run(ctx: CaseContext, b: Backend) {
      const logits = X(ctx, 11, [100, 10], -5, 5);
      const indices = Array.from({ length: 100 }, (_, i) => (i * 7 + 3) % 10);
      const t =
        form === 'one-hot' ? ctx.on(b, oneHot(indices, 10), [100, 10]) : ctx.on(b, indices, [100]);
      const fused = b.softmaxCrossEntropy(logits, t);
      const composed = composedKernels.softmaxCrossEntropy(b, logits, t, 1e-7);
      for (const r of [fused, composed]) for (const v of [r.probs, r.loss]) ctx.hold(b, v);
      const read = async (r: typeof fused) =>
        Float64Array.of(...(await ctx.read(b, r.probs)), ...(await ctx.read(b, r.loss)));
      return [await read(fused), await read(composed)] as [Float64Array, Float64Array];
    },
    tolerance: (ctx: CaseContext) => ({ rtol: 2 * (100 + 10 + 32) * ctx.u, atol: 32 * ctx.u }),
  })),
  softmaxCrossEntropyBackward: (['class indices', 'one-hot'] as const).map((form) => ({
    label: `probs [100,10], ${form}`,
    async run(ctx: CaseContext, b: Backend) {
      const probs = X(ctx, 12, [100, 10], 0, 1);
      const indices = Array.from({ length: 100 }, (_, i) => (i * 3 + 1) % 10);
      const t =
        form === 'one-hot' ? ctx.on(b, oneHot(indices, 10), [100, 10]) : ctx.on(b, indices, [100]);
      return pairOf(ctx, b, () => [
        b.softmaxCrossEntropyBackward(probs, t),
        composedKernels.softmaxCrossEntropyBackward(b, probs, t),
      ]);
    },
    // (y − t) / batch: two roundings, of a value below 1/batch
    tolerance: (ctx: CaseContext) => ({ rtol: 8 * ctx.u, atol: (8 * ctx.u) / 100 }),
  })),
  sgdUpdate: [
    {
      label: 'W [784,50] ← W − 0.1·dW, in place',
      async run(ctx, b) {
        const [w, g] = [ctx.values(13, 784 * 50), ctx.values(14, 784 * 50)];
        const [w1, w2] = [ctx.on(b, w, [784, 50]), ctx.on(b, w, [784, 50])];
        const grad = ctx.on(b, g, [784, 50]);
        b.sgdUpdate(w1, grad, 0.1);
        composedKernels.sgdUpdate(b, w2, grad, 0.1);
        return [await ctx.read(b, w1), await ctx.read(b, w2)];
      },
      // a multiply and a subtract of values below 1, each rounded once, twice
      tolerance: (ctx) => ({ rtol: 0, atol: 8 * ctx.u * 1.1 }),
    },
  ],
  adamUpdate: [
    {
      label: 'W [784,50] and its moments, in place',
      async run(ctx, b) {
        const size = 784 * 50;
        const [w, g, m] = [31, 32, 33].map((seed) => ctx.values(seed, size));
        const v = ctx.values(34, size, { lo: 0.25, hi: 1 });
        const twice = (values: Float64Array) => [
          ctx.on(b, values, [784, 50]),
          ctx.on(b, values, [784, 50]),
        ];
        const [[w1, w2], [m1, m2], [v1, v2]] = [twice(w), twice(m), twice(v)] as Tensor[][];
        const grad = ctx.on(b, g, [784, 50]);
        b.adamUpdate(w1 as Tensor, grad, m1 as Tensor, v1 as Tensor, ADAM_STEP);
        composedKernels.adamUpdate(b, w2 as Tensor, grad, m2 as Tensor, v2 as Tensor, ADAM_STEP);
        // all three results, one after another
        const read = async (...ts: Tensor[]) =>
          Float64Array.from(
            (await Promise.all(ts.map((t) => ctx.read(b, t)))).flatMap((a) => [...a]),
          );
        return [
          await read(w1 as Tensor, m1 as Tensor, v1 as Tensor),
          await read(w2 as Tensor, m2 as Tensor, v2 as Tensor),
        ];
      },
      // the same operations in the same order: equal where each rounds as the primitives
      // do; an engine that fuses a multiply-add may differ by a rounding of values below
      // 2 (m, v) or of the step (lr_t · m / √v below 0.1 here) on top of W's below 1
      tolerance: (ctx) => ({ rtol: 0, atol: 16 * ctx.u * 2 }),
    },
  ],
  countCorrect: (['class indices', 'one-hot'] as const).map((form) => ({
    label: `scores [100,10] with tied rows, ${form}`,
    async run(ctx: CaseContext, b: Backend) {
      // every fourth row all equal: argmax must pick the first, as numpy
      const values = ctx.values(15, 1000).map((v, i) => (Math.floor(i / 10) % 4 === 0 ? 0.5 : v));
      const scores = ctx.on(b, values, [100, 10]);
      const indices = Array.from({ length: 100 }, (_, i) => (i * 7) % 10);
      const t =
        form === 'one-hot' ? ctx.on(b, oneHot(indices, 10), [100, 10]) : ctx.on(b, indices, [100]);
      return pairOf(ctx, b, () => [
        b.countCorrect(scores, t),
        composedKernels.countCorrect(b, scores, t),
      ]);
    },
    tolerance: () => 'exact' as const,
  })),
  im2col: [
    {
      label: 'images [3,3,7,9], a 3×2 window, stride 2, pad 1',
      async run(ctx, b) {
        const x = X(ctx, 16, IMAGES);
        const d = windowDims('im2col', IMAGES, WINDOW);
        return pairOf(ctx, b, () => [b.im2col(x, WINDOW), composedKernels.im2col(b, x, d)]);
      },
      tolerance: () => 'exact',
    },
  ],
  col2im: [
    {
      label: 'columns of images [3,3,7,9], a 3×2 window, stride 2, pad 1',
      async run(ctx, b) {
        const d = windowDims('col2im', IMAGES, WINDOW);
        const col = X(ctx, 17, [d.batch * d.outHeight * d.outWidth, d.channels * 3 * 2]);
        return pairOf(ctx, b, () => [
          b.col2im(col, IMAGES, WINDOW),
          composedKernels.col2im(b, col, d),
        ]);
      },
      // each pixel a sum of at most 6 values below 2, in any order: (6 + 2)·u·12, twice
      tolerance: (ctx) => ({ rtol: 0, atol: 2 * 8 * ctx.u * 12 }),
    },
  ],
  convolution: CONVOLUTIONS.map((c, i) => ({
    label: convolutionLabel(c),
    async run(ctx, b) {
      // MNIST-like images: half the pixels 0
      const [x, W, bias] = [
        X(ctx, 30 + i, c.images, -1, 1, 0.5),
        X(ctx, 40 + i, c.filters, -1, 1),
        X(ctx, 50 + i, [c.filters[0] as number], -1, 1),
      ];
      const d = convolutionDims(c);
      const pair = [b.convolution(x, W, bias, c), composedKernels.convolution(b, x, W, bias, d)];
      for (const { col } of pair) if (col) ctx.hold(b, col);
      return pairOf(ctx, b, () => [pair[0].out, pair[1].out]);
    },
    // each value a sum of K = C·FH·FW products below 1 plus a bias below 1: within
    // (K + 2)·u·(K + 1) of the exact value, in any order; the two sides twice that apart
    tolerance: (ctx) => {
      const terms = (c.filters[1] as number) * (c.filters[2] as number) * (c.filters[3] as number);
      return { rtol: 0, atol: 2 * (terms + 2) * ctx.u * (terms + 1) };
    },
  })),
  convolutionGradients: CONVOLUTIONS.map((c, i) => ({
    label: `${convolutionLabel(c)}: dW and db`,
    async run(ctx, b) {
      const d = convolutionDims(c);
      const x = X(ctx, 60 + i, c.images, -1, 1, 0.5);
      // dout as max pooling and ReLU leave it: mostly zeros
      const dout = X(ctx, 70 + i, [d.batch, d.filters, d.outHeight, d.outWidth], -1, 1, 0.7);
      // as the layer calls it: with the col its convolution gave (none from a direct
      // kernel), against the composition that gathers col itself
      const W = X(ctx, 80 + i, c.filters, -1, 1);
      const bias = X(ctx, 90 + i, [d.filters], -1, 1);
      const forward = b.convolution(x, W, bias, c);
      for (const t of [forward.out, forward.col]) if (t) ctx.hold(b, t);
      const fused = b.convolutionGradients(x, dout, c.filters, c, forward.col);
      const composed = composedKernels.convolutionGradients(b, x, dout, c.filters, d, null);
      for (const r of [fused, composed]) for (const t of [r.dW, r.db]) ctx.hold(b, t);
      const read = async (r: typeof fused) =>
        Float64Array.of(...(await ctx.read(b, r.dW)), ...(await ctx.read(b, r.db)));
      return [await read(fused), await read(composed)] as [Float64Array, Float64Array];
    },
    // each a sum of T = N·OH·OW products below 1: within (T + 2)·u·T, twice that apart
    tolerance: (ctx) => {
      const d = convolutionDims(c);
      const terms = d.batch * d.outHeight * d.outWidth;
      return { rtol: 0, atol: 2 * (terms + 2) * ctx.u * terms };
    },
  })),
  maxPool: [
    {
      label: 'images [3,3,7,9] with ties, a 3×2 window, stride 2, pad 1: max and argmax',
      async run(ctx, b) {
        const x = X(ctx, 18, IMAGES, -1, 0, 0.3);
        const d = windowDims('maxPool', IMAGES, WINDOW);
        const fused = b.maxPool(x, WINDOW);
        const composed = composedKernels.maxPool(b, x, d);
        for (const r of [fused, composed]) for (const v of [r.out, r.argmax]) ctx.hold(b, v);
        const read = async (r: typeof fused) =>
          Float64Array.of(...(await ctx.read(b, r.out)), ...(await ctx.read(b, r.argmax)));
        return [await read(fused), await read(composed)] as [Float64Array, Float64Array];
      },
      tolerance: () => 'exact',
    },
  ],
  maxPoolBackward: [
    {
      label: 'images [3,3,7,9] with ties, a 3×2 window, stride 2, pad 1',
      async run(ctx, b) {
        const x = X(ctx, 19, IMAGES, -1, 0, 0.3);
        const d = windowDims('maxPoolBackward', IMAGES, WINDOW);
        const { out, argmax } = composedKernels.maxPool(b, x, d);
        for (const t of [out, argmax]) ctx.hold(b, t);
        const dout = X(ctx, 20, [...out.shape]);
        return pairOf(ctx, b, () => [
          b.maxPoolBackward(dout, argmax, IMAGES, WINDOW),
          composedKernels.maxPoolBackward(b, dout, argmax, d),
        ]);
      },
      // a pixel in several windows sums their gradients: at most 4 values below 2, twice
      tolerance: (ctx) => ({ rtol: 0, atol: 2 * 6 * ctx.u * 8 }),
    },
  ],
  batchNormalize: [
    {
      label: 'x [100,100], per-column mean, variance, γ, β',
      async run(ctx, b) {
        const x = X(ctx, 21, [100, 100], -3, 3);
        const [mean, variance, gamma, beta] = [
          X(ctx, 22, [100]),
          X(ctx, 23, [100], 0.01, 4),
          X(ctx, 24, [100], 0.5, 2),
          X(ctx, 25, [100]),
        ];
        return pairOf(ctx, b, () => [
          b.batchNormalize(x, mean, variance, gamma, beta, 1e-6),
          composedKernels.batchNormalize(b, x, mean, variance, gamma, beta, 1e-6),
        ]);
      },
      // a few roundings of values up to ~100 (|γ|·|x − mean|/σ + |β|), twice
      tolerance: (ctx) => ({ rtol: 16 * ctx.u, atol: 16 * ctx.u * 100 }),
    },
  ],
};

export const overrideCases: ConformanceCase[] = COMPOSED_KERNELS.map((kernel) => ({
  id: `overrides/${kernel} = core's composition`,
  group: 'overrides',
  kernels: [kernel],
  async run(ctx) {
    const check = new Check();
    if (typeof ctx.backend.kernels[kernel] !== 'function') {
      check.skip(`not overridden: core's composition is what runs (kernels/ checks it)`);
      return check;
    }
    for (const trial of TRIALS[kernel]) {
      const [override, composed] = await trial.run(ctx, ctx.backend);
      const tolerance = trial.tolerance(ctx);
      if (tolerance === 'exact') check.exact(trial.label, override, composed);
      else
        check.close(
          trial.label,
          override,
          composed,
          ctx.tolerance(['overrides', kernel], tolerance),
        );
    }
    return check;
  },
}));
