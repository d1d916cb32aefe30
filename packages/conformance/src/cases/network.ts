/**
 * 3. TwoLayerNet's gradient check as in the book (5.7.3), on the first 3 real MNIST
 * training images; 4. agreement with the oracle over k SGD steps from the same seed.
 */
import {
  type Architecture,
  type Backend,
  centralDifferences,
  compareGradients,
  createOptimizer,
  gradientCheck,
  MultiLayerNet,
  Network,
  type OptimizerName,
  parseLayers,
  Random,
  SGD,
  type Shape,
  SimpleConvNet,
  type Tensor,
  TwoLayerNet,
  trainNetwork,
} from '@backprop/core';
import type { ConformanceCase } from '../case.js';
import { Check } from '../check.js';
import { type CaseContext, ORACLE_ITSELF } from '../context.js';

const PARAM_NAMES = ['W1', 'b1', 'W2', 'b2'];

function firstSamples(ctx: CaseContext, count: number) {
  const { train } = ctx.mnist();
  return {
    images: ctx.representable(train.images.subarray(0, count * train.features)),
    labels: Array.from(train.labels.subarray(0, count)),
    features: train.features,
  };
}

/** A cheap, exact-enough name for a set of weights: their sizes and two weighted sums. */
function fingerprint(weights: Record<string, Float64Array>): string {
  return Object.entries(weights)
    .map(([name, v]) => {
      let [sum, weighted] = [0, 0];
      for (let i = 0; i < v.length; i++) [sum, weighted] = [sum + v[i], weighted + v[i] * (i + 1)];
      return `${name}:${v.length}:${sum}:${weighted}`;
    })
    .join(' ');
}

/**
 * Where a parameter is checked: every entry, or for a large matrix two in each row, in
 * columns that step through all of them (a step coprime with the width) — so a wrong row,
 * column or tile of a kernel still shows. TwoLayerNet's W1 [784,50]: 1 568 of its 39 200
 * entries; each costs two forward passes on the oracle, and the whole check took 15–45 s
 * in each of eleven suite runs of CI. Every entry is checked once, in float64, by
 * backend-cpu's tests (the book's 5.7.3 as it stands).
 */
function spreadEntries(shape: Shape): number[] {
  const size = shape.reduce((a, b) => a * b, 1);
  const [rows, cols] = shape;
  if (shape.length !== 2 || size <= 2000 || rows === undefined || cols === undefined || cols < 3)
    return Array.from({ length: size }, (_, i) => i);
  const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));
  let step = 7;
  while (gcd(step, cols) !== 1) step++;
  const half = Math.floor(cols / 2);
  return Array.from({ length: rows }, (_, i) => [
    i * cols + ((i * step) % cols),
    i * cols + ((i * step + half) % cols),
  ]).flat();
}

/** A parameter's numerical gradient at some of its entries (flat indices `at`). */
interface NumericalAt {
  at: number[];
  values: Float64Array;
}

/**
 * The oracle's float64 numerical gradients of the loss of `make(weights)` on the first
 * samples, at `spreadEntries` of each parameter. Every float32 backend starts from the
 * same float32 weights, so they are computed once per process for those weights and
 * shared (seconds each).
 */
function oracleGradients(
  ctx: CaseContext,
  what: string,
  weights: Record<string, Float64Array>,
  make: (initialParams: Record<string, Float64Array>) => Network,
  samples: ReturnType<typeof firstSamples> & { count: number },
  h?: number,
): Promise<Record<string, NumericalAt>> {
  return ctx.once(`${what} ${h ?? ''} ${fingerprint(weights)}`, async () => {
    const reference = make(weights);
    reference.lastLayer.delta = 0; // backprop differentiates the unguarded loss (see gradientCheck)
    const { images, labels, features, count } = samples;
    const x = ctx.on(ctx.oracle, images, [count, features]);
    const t = ctx.on(ctx.oracle, labels, [count]);
    // the training loss, with the same Dropout masks each time (as Network.numericalGradient)
    const start = reference.random.save();
    const loss = async () => {
      reference.random.restore(start);
      return ctx.oracle.item(reference.loss(x, t, true));
    };
    const numerical: Record<string, NumericalAt> = {};
    for (const [name, param] of Object.entries(reference.params)) {
      const at = spreadEntries(param.shape);
      numerical[name] = { at, values: await centralDifferences(loss, ctx.oracle, param, at, h) };
    }
    reference.dispose();
    return numerical;
  });
}

/**
 * Each parameter's backprop gradient against the oracle's numerical one at the entries it
 * computed: the largest difference within `atol` (the callers derive it), the means as a
 * note. Reads the gradients; the caller disposes the network.
 */
async function checkAgainstNumerical(
  ctx: CaseContext,
  check: Check,
  backprop: Record<string, Tensor>,
  numerical: Record<string, NumericalAt>,
  atol: number,
): Promise<string[]> {
  const means: string[] = [];
  for (const [name, { at, values }] of Object.entries(numerical)) {
    const all = await ctx.read(ctx.backend, backprop[name]);
    const diff = compareGradients(
      Float64Array.from(at, (i) => all[i]),
      values,
    );
    means.push(`${name} ${diff.meanAbsDiff.toExponential(1)}`);
    check.close(
      `max |diff| ${name} (${at.length} entries)`,
      [diff.maxAbsDiff],
      [0],
      ctx.tolerance(['network'], { rtol: 0, atol }),
    );
  }
  return means;
}

const gradientCheckCase: ConformanceCase = {
  id: 'network/TwoLayerNet gradient check on 3 MNIST images (5.7.3)',
  group: 'network',
  kernels: [
    'matmul',
    'addBias',
    'sumColumns',
    'relu',
    'reluBackward',
    'softmaxCrossEntropy',
    'softmaxCrossEntropyBackward',
  ],
  async run(ctx) {
    const check = new Check();
    const { images, labels, features } = firstSamples(ctx, 3);
    const net = new TwoLayerNet(ctx.backend, { seed: 0 });
    const x = ctx.on(ctx.backend, images, [3, features]);
    const t = ctx.on(ctx.backend, labels, [3]);
    const means: string[] = [];
    if (ctx.backend.dtype === 'float64') {
      // The book's way: numerical gradients on the backend itself. h = 1e-4 in float64
      // leaves ~1e-10 of error; the book's bar is a mean below 1e-7. 2 000 entries of each
      // parameter (half where backprop is nonzero): every entry is backend-cpu's test.
      const report = await gradientCheck(net, x, t, { maxEntries: 2000 });
      for (const name of PARAM_NAMES) {
        means.push(`${name} ${report[name].meanAbsDiff.toExponential(1)}`);
        check.close(
          `mean |diff| ${name}`,
          [report[name].meanAbsDiff],
          [0],
          ctx.tolerance(['network'], { rtol: 0, atol: 1e-7 }),
        );
      }
    } else {
      // In float32 a numerical gradient on the backend is rounding noise (~1e-4), so the
      // numerical side runs in float64 on the oracle, from the backend's own weights.
      const numerical = await oracleGradients(
        ctx,
        'TwoLayerNet',
        await net.readParams(),
        (initialParams) => new TwoLayerNet(ctx.oracle, { initialParams }),
        { images, labels, features, count: 3 },
      );
      // Gradients here are below 1 in size and the longest sum has 784 terms: float32
      // rounding moves each by at most ~(784 + 2)·u·Σ|terms| ≈ 1e-7; the numerical side
      // is exact to ~1e-10. 1e-6 absolute bounds both with room.
      means.push(...(await checkAgainstNumerical(ctx, check, net.gradient(x, t), numerical, 1e-6)));
    }
    net.dispose();
    check.note(`mean |backprop − numerical|: ${means.join(', ')}`);
    return check;
  },
};

const trainingCase: ConformanceCase = {
  id: 'training/20 SGD steps agree with the oracle (same seed, same data)',
  group: 'training',
  kernels: ['gatherRows', 'sgdUpdate', 'matmul', 'softmaxCrossEntropy'],
  async run(ctx) {
    const check = new Check();
    if (ctx.isOracle) {
      check.skip(ORACLE_ITSELF);
      return check;
    }
    const { images, labels, features } = firstSamples(ctx, 1000);
    const run = async (backend: typeof ctx.backend) => {
      const random = new Random(5);
      const net = new TwoLayerNet(backend, { random });
      const data = {
        images: ctx.on(backend, images, [1000, features]),
        labels: ctx.on(backend, labels, [1000]),
      };
      const result = await trainNetwork(net, data, data, {
        iters: 20,
        batchSize: 50,
        optimizer: new SGD(backend, 0.1),
        random,
        // what is compared is each step's loss and the weights: the accuracy at iteration 0
        // (an evaluation of both sets) would cost more than the 20 steps on a software GPU
        iterPerEpoch: 1000,
        evalAtStart: false,
      });
      const params = await net.readParams();
      net.dispose();
      return { loss: result.loss, params };
    };
    const actual = await run(ctx.backend);
    const expected = await run(ctx.oracle);
    // Each step rounds at the dtype's u and SGD carries it into the next; over 20 steps at
    // lr 0.1 that compounds to well under 1e3·u relative, 1e2·u absolute (float32: 6e-5 and
    // 6e-6; the CPU backend in float32, which sums in double, stays near 1e-8).
    const tolerance = ctx.tolerance(['training'], { rtol: 1e3 * ctx.u, atol: 1e2 * ctx.u });
    check.close('loss per step', actual.loss, expected.loss, tolerance);
    for (const name of PARAM_NAMES) {
      check.close(
        `${name} after 20 steps`,
        actual.params[name],
        expected.params[name],
        tolerance,
        0.01,
      );
    }
    return check;
  },
};

/**
 * A deeper net through the same check: two hidden layers of Sigmoid (ReLU's is above),
 * weight decay in the loss and the gradient. Backprop on the backend against float64
 * numerical gradients on the oracle, from the backend's own weights.
 */
const multiLayerCheckCase: ConformanceCase = {
  id: 'network/MultiLayerNet gradient check: 2 hidden layers, Sigmoid, weight decay',
  group: 'network',
  kernels: ['matmul', 'sigmoid', 'sigmoidBackward', 'softmaxCrossEntropy', 'sum', 'mul'],
  async run(ctx) {
    const check = new Check();
    const { images, labels, features } = firstSamples(ctx, 3);
    const options = { hiddenSizes: [10, 8], activation: 'sigmoid' as const, weightDecay: 0.1 };
    const net = new MultiLayerNet(ctx.backend, { ...options, seed: 2 });
    const numerical = await oracleGradients(
      ctx,
      'MultiLayerNet',
      await net.readParams(),
      (initialParams) => new MultiLayerNet(ctx.oracle, { ...options, initialParams }),
      { images, labels, features, count: 3 },
    );
    const backprop = net.gradient(
      ctx.on(ctx.backend, images, [3, features]),
      ctx.on(ctx.backend, labels, [3]),
    );
    // As the TwoLayerNet check: float32 rounding of sums of at most 784 terms of
    // gradients below 1, and float64 numerical gradients exact to ~1e-10: 1e-6 absolute
    // bounds both. In float64 the backend's own rounding is ~1e-13.
    const atol = ctx.backend.dtype === 'float32' ? 1e-6 : 1e-9;
    const means = await checkAgainstNumerical(ctx, check, backprop, numerical, atol);
    net.dispose();
    check.note(`mean |backprop − numerical|: ${means.join(', ')}`);
    return check;
  },
};

/**
 * The optimizers of section 6.1 are core code on the backend's element-wise operations:
 * each must train the same on every backend. Momentum is linear in the gradient, so its
 * weights follow the oracle's as SGD's do. Adam divides by √v: where a gradient is within
 * rounding of 0 its sign may differ between dtypes and move that weight by ±lr, so for
 * Adam the losses (means over the batch, where such a weight counts for nothing) are
 * compared, not the weights.
 */
const optimizerCase = (name: OptimizerName): ConformanceCase => ({
  id: `training/20 ${name} steps of a MultiLayerNet agree with the oracle`,
  group: 'training',
  kernels: ['sgdUpdate', 'add', 'mul', 'sqrt', 'div'],
  async run(ctx) {
    const check = new Check();
    if (ctx.isOracle) {
      check.skip(ORACLE_ITSELF);
      return check;
    }
    const { images, labels, features } = firstSamples(ctx, 500);
    const run = async (backend: Backend) => {
      const random = new Random(6);
      const net: Network = new MultiLayerNet(backend, { hiddenSizes: [30, 20], random });
      const data = {
        images: ctx.on(backend, images, [500, features]),
        labels: ctx.on(backend, labels, [500]),
      };
      const optimizer = createOptimizer(backend, name);
      const result = await trainNetwork(net, data, data, {
        iters: 20,
        batchSize: 50,
        optimizer,
        random,
        // what is compared is each step's loss and the weights: the accuracy at iteration 0
        // (an evaluation of both sets) would cost more than the 20 steps on a software GPU
        iterPerEpoch: 1000,
        evalAtStart: false,
      });
      const params = await net.readParams();
      optimizer.dispose();
      net.dispose();
      return { loss: result.loss, params };
    };
    const actual = await run(ctx.backend);
    const expected = await run(ctx.oracle);
    // As the SGD case: each step's rounding carried through 20 steps stays well under
    // 1e3·u relative and 1e2·u absolute.
    const tolerance = ctx.tolerance(['training'], { rtol: 1e3 * ctx.u, atol: 1e2 * ctx.u });
    check.close('loss per step', actual.loss, expected.loss, tolerance);
    if (name !== 'adam') {
      for (const param of Object.keys(expected.params)) {
        check.close(
          `${param} after 20 steps`,
          actual.params[param],
          expected.params[param],
          tolerance,
          0.01,
        );
      }
    }
    return check;
  },
});

/**
 * The layers of chapters 6–7 in one net on real images: a Convolution with stride and
 * pad, Sigmoid (smooth: a new convolution's output on blank MNIST windows is its bias,
 * 0, exactly on ReLU's kink), max pooling, BatchNormalization, Dropout and an Affine.
 * Backprop on the backend against float64 numerical gradients on the oracle, from the
 * backend's own weights and the same Dropout masks.
 */
const convNetCheckCase: ConformanceCase = {
  id: 'network/a ConvNet gradient check on 3 MNIST images: conv, pool, batchnorm, dropout',
  group: 'network',
  kernels: [
    'im2col',
    'col2im',
    'maxPool',
    'maxPoolBackward',
    'batchNormalize',
    'gather',
    'scatterAdd',
  ],
  async run(ctx) {
    const check = new Check();
    const { images, labels } = firstSamples(ctx, 3);
    const architecture: Architecture = {
      input: [1, 28, 28],
      layers: parseLayers(
        'conv 3 5 5 stride=2 pad=1, sigmoid, pool 2, batchnorm, dropout 0.2, affine 10',
      ),
      weightInit: 0.3,
    };
    const net = new Network(ctx.backend, architecture, { seed: 3 });
    // h = 3e-6: BatchNorm over 3 samples curves W1's loss sharply, so at the book's 1e-4
    // the central difference's own error (h² times the third derivative) is ~6e-6; at
    // 3e-6 it is ~5e-9, and the rounding of the loss divided by h (~1e-16·|L|/h) ~3e-9.
    const numerical = await oracleGradients(
      ctx,
      'ConvNet',
      await net.readParams(),
      // the same Dropout masks on both sides: each draws them from Random(11)
      (initialParams) =>
        new Network(ctx.oracle, architecture, { initialParams, random: new Random(11) }),
      { images, labels, features: 784, count: 3 },
      3e-6,
    );
    net.random.restore(new Random(11).save());
    const backprop = net.gradient(
      ctx.on(ctx.backend, images, [3, 784]),
      ctx.on(ctx.backend, labels, [3]),
    );
    // float64: the numerical side's own error (above), 2e-8 with room. float32:
    // BatchNorm divides by the batch's σ, which magnifies the float32 rounding of its
    // inputs by up to |x − μ|/σ ~ 10 here: (784 + 2)·u·10 ≈ 5e-4 of a gradient below 1.
    const atol = ctx.backend.dtype === 'float32' ? 5e-4 : 2e-8;
    const means = await checkAgainstNumerical(ctx, check, backprop, numerical, atol);
    net.dispose();
    check.note(`mean |backprop − numerical|: ${means.join(', ')}`);
    return check;
  },
};

/**
 * A small SimpleConvNet trained 8 Adam steps of 10 images on the backend and on the
 * oracle, from the same seed and mini-batches: the losses agree step by step (as in the
 * optimizer cases, the weights are not compared under Adam). Small, because a software
 * GPU takes seconds a step here (TensorFlow.js's webgpu engine on SwiftShader: ~11 s at
 * batch 20).
 */
const convNetTrainingCase: ConformanceCase = {
  id: 'training/8 Adam steps of a SimpleConvNet agree with the oracle',
  group: 'training',
  kernels: ['im2col', 'maxPool', 'maxPoolBackward', 'matmul', 'permute'],
  async run(ctx) {
    const check = new Check();
    if (ctx.isOracle) {
      check.skip(ORACLE_ITSELF);
      return check;
    }
    const { images, labels, features } = firstSamples(ctx, 100);
    const run = async (backend: Backend) => {
      const random = new Random(8);
      const net = new SimpleConvNet(backend, { conv: { filterNum: 6 }, hiddenSize: 20, random });
      const data = {
        images: ctx.on(backend, images, [100, features]),
        labels: ctx.on(backend, labels, [100]),
      };
      const optimizer = createOptimizer(backend, 'adam');
      const result = await trainNetwork(net, data, data, {
        iters: 8,
        batchSize: 10,
        optimizer,
        random,
        iterPerEpoch: 0,
        evalOn: 'test',
      });
      optimizer.dispose();
      net.dispose();
      return result;
    };
    const actual = await run(ctx.backend);
    const expected = await run(ctx.oracle);
    // As the optimizer cases: each step's rounding carried through 8 steps stays well
    // under 1e3·u relative and 1e2·u absolute.
    const tolerance = ctx.tolerance(['training'], { rtol: 1e3 * ctx.u, atol: 1e2 * ctx.u });
    check.close('loss per step', actual.loss, expected.loss, tolerance);
    check.note(`loss ${expected.loss[0]?.toFixed(4)} → ${expected.loss.at(-1)?.toFixed(4)}`);
    return check;
  },
};

export const networkCases: ConformanceCase[] = [
  gradientCheckCase,
  multiLayerCheckCase,
  trainingCase,
  optimizerCase('momentum'),
  optimizerCase('adagrad'),
  optimizerCase('adam'),
  convNetCheckCase,
  convNetTrainingCase,
];
