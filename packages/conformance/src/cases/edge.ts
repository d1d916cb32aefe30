/**
 * 5. Numerical edge cases: where a careless kernel returns NaN, Infinity or the wrong
 * convention.
 */
import { Affine, Relu, SoftmaxWithLoss } from '@backprop/core';
import type { ConformanceCase } from '../case.js';
import { Check } from '../check.js';
import type { CaseContext } from '../context.js';

function edgeCase(
  id: string,
  kernels: string[],
  run: (ctx: CaseContext, check: Check) => Promise<void>,
): ConformanceCase {
  return {
    id: `edge/${id}`,
    group: 'edge',
    kernels,
    async run(ctx) {
      const check = new Check();
      await run(ctx, check);
      return check;
    },
  };
}

export const edgeCases: ConformanceCase[] = [
  edgeCase(
    'logits of ±1000: no NaN or Infinity, probabilities of exactly 0 hit the 1e-7',
    ['softmaxCrossEntropy', 'softmaxCrossEntropyBackward'],
    async (ctx, check) => {
      const b = ctx.backend;
      const layer = new SoftmaxWithLoss(b);
      const logits = ctx.on(b, [1000, 0, -1000, -1000, 1000, 0], [2, 3]);
      // Row 0 is right with certainty; row 1 gives its label probability exactly 0.
      const loss = (await ctx.read(b, layer.forward(logits, ctx.on(b, [0, 0], [2]))))[0];
      const probs = await ctx.read(b, layer.y!);
      const dx = await ctx.read(b, layer.backward());
      layer.dispose();
      check.that(Number.isFinite(loss), `loss is ${loss}, must be finite`);
      check.exact('probs', probs, [1, 0, 0, 0, 1, 0]);
      // (−log(1 + 1e-7) − log(0 + 1e-7)) / 2: the guard keeps log(0) away.
      const expectedLoss = (-Math.log(1 + 1e-7) - Math.log(1e-7)) / 2;
      check.close(
        'loss',
        [loss],
        [expectedLoss],
        ctx.tolerance(['edge'], { rtol: 64 * ctx.u, atol: 0 }),
      );
      check.exact('dx = (y − t)/2', dx, [0, 0, 0, -0.5, 0.5, 0]);
    },
  ),
  edgeCase(
    'sigmoid at ±50: finite, saturated, gradient 0 within rounding',
    ['sigmoid', 'sigmoidBackward'],
    async (ctx, check) => {
      const b = ctx.backend;
      const y = ctx.hold(b, b.sigmoid(ctx.on(b, [-50, 50, 0], [3])));
      const values = await ctx.read(b, y);
      check.close(
        'sigmoid(−50, 50, 0)',
        values,
        [1 / (1 + Math.exp(50)), 1, 0.5],
        ctx.tolerance(['edge', 'sigmoid'], { rtol: 0, atol: 4 * ctx.u }),
      );
      const dx = await ctx.read(b, ctx.hold(b, b.sigmoidBackward(ctx.on(b, [1, 1, 1], [3]), y)));
      check.close(
        'sigmoidBackward',
        dx,
        [0, 0, 0.25],
        ctx.tolerance(['edge', 'sigmoid'], { rtol: 0, atol: 4 * ctx.u }),
      );
    },
  ),
  edgeCase(
    'ReLU exactly at 0 (and −0): output 0, no gradient (the book’s x <= 0)',
    ['relu', 'reluBackward'],
    async (ctx, check) => {
      const b = ctx.backend;
      const relu = new Relu(b);
      const out = await ctx.read(b, relu.forward(ctx.on(b, [0, -0, 1e-30, -1e-30, 2], [5])));
      const dx = await ctx.read(b, relu.backward(ctx.on(b, [7, 7, 7, 7, 7], [5])));
      relu.dispose();
      check.that(
        out[0] === 0 && out[1] === 0 && out[3] === 0,
        `relu(0, −0, −1e-30) = ${Array.from(out.subarray(0, 4))}, expected 0`,
      );
      // float32 flushes 1e-30 to a subnormal it keeps; either way the sign decides.
      check.that(out[2] > 0 || ctx.backend.dtype === 'float32', `relu(1e-30) = ${out[2]}`);
      check.that(
        dx[0] === 0 && dx[1] === 0 && dx[3] === 0,
        `gradient at x <= 0 must be 0, got ${Array.from(dx)}`,
      );
      check.exact('gradient at x = 2', [dx[4]], [7]);
    },
  ),
  edgeCase(
    'all-zero input rows: Affine gives b, softmax is uniform, ties go to the first class',
    ['matmul', 'addBias', 'softmaxCrossEntropy', 'countCorrect'],
    async (ctx, check) => {
      const b = ctx.backend;
      const affine = new Affine(
        b,
        ctx.on(b, ctx.values(41, 12), [4, 3]),
        ctx.on(b, [0.5, -0.25, 0], [3]),
      );
      const out = await ctx.read(b, affine.forward(ctx.on(b, new Array(8).fill(0), [2, 4])));
      affine.dispose();
      check.exact('zero rows · W + b', out, [0.5, -0.25, 0, 0.5, -0.25, 0]);
      const { probs, loss } = b.softmaxCrossEntropy(
        ctx.on(b, new Array(8).fill(0), [2, 4]),
        ctx.on(b, [1, 3], [2]),
      );
      ctx.hold(b, probs);
      ctx.hold(b, loss);
      check.close(
        'softmax of zeros',
        await ctx.read(b, probs),
        new Array(8).fill(0.25),
        ctx.tolerance(['edge'], { rtol: 4 * ctx.u, atol: 0 }),
      );
      check.close(
        'loss',
        await ctx.read(b, loss),
        [-Math.log(0.25 + 1e-7)],
        ctx.tolerance(['edge'], { rtol: 16 * ctx.u, atol: 0 }),
      );
      const correct = await ctx.read(
        b,
        ctx.hold(
          b,
          b.countCorrect(ctx.on(b, new Array(8).fill(0), [2, 4]), ctx.on(b, [0, 1], [2])),
        ),
      );
      check.exact('countCorrect on tied rows (argmax = first)', correct, [1]);
    },
  ),
  edgeCase(
    'write and reshape: a nudged element reads back, a reshape shares values',
    ['write', 'reshape'],
    async (ctx, check) => {
      const b = ctx.backend;
      const t = ctx.on(b, [1, 2, 3, 4, 5, 6], [2, 3]);
      b.write(t, [0.5], 4);
      const flat = ctx.hold(b, b.reshape(t, [6]));
      check.exact('after write(t, [0.5], 4)', await ctx.read(b, flat), [1, 2, 3, 4, 0.5, 6]);
      check.that(JSON.stringify(flat.shape) === '[6]', `reshape gave shape [${flat.shape}]`);
    },
  ),
];
