/**
 * 7. Errors: a mistake gets a typed error that names the kernel or layer and the shapes,
 * never a silent NaN or a wrong answer. Errors are matched by name, not instanceof, so a
 * backend built against another copy of @backprop/core is judged the same.
 */
import { Affine, type Backend, SoftmaxWithLoss, type Tensor } from '@backprop/core';
import type { ConformanceCase } from '../case.js';
import { Check } from '../check.js';
import type { CaseContext } from '../context.js';

function expectError(
  check: Check,
  what: string,
  attempt: () => unknown,
  errorName: string,
  mentions: string[],
): void {
  try {
    const result = attempt();
    check.fail(`${what}: expected a ${errorName}, but it returned ${describe(result)}`);
  } catch (error) {
    const { name, message } = error as Error;
    if (name !== errorName) {
      check.fail(`${what}: expected a ${errorName}, got ${name}: ${message}`);
      return;
    }
    const missing = mentions.filter((m) => !message.includes(m));
    if (missing.length > 0)
      check.fail(`${what}: the message "${message}" does not mention ${missing.join(', ')}`);
  }
}

function describe(result: unknown): string {
  const t = result as Tensor | undefined;
  return t && Array.isArray(t.shape) ? `a tensor [${t.shape}]` : String(result);
}

function errorCase(
  id: string,
  kernels: string[],
  run: (ctx: CaseContext, b: Backend, check: Check) => void,
): ConformanceCase {
  return {
    id: `errors/${id}`,
    group: 'errors',
    kernels,
    async run(ctx) {
      const check = new Check();
      run(ctx, ctx.backend, check);
      return check;
    },
  };
}

export const errorCases: ConformanceCase[] = [
  errorCase(
    'mismatched shapes name the kernel and both shapes',
    ['matmul', 'addBias', 'add', 'mul', 'sgdUpdate', 'reluBackward'],
    (ctx, b, check) => {
      const t = (shape: number[]) =>
        ctx.on(b, new Array(shape.reduce((x, y) => x * y, 1)).fill(1), shape);
      expectError(check, 'matmul [3,4]·[5,2]', () => b.matmul(t([3, 4]), t([5, 2])), 'ShapeError', [
        'matmul',
        '[3,4]',
        '[5,2]',
      ]);
      expectError(
        check,
        'matmul aᵀ [3,4]ᵀ·[4,2]',
        () => b.matmul(t([3, 4]), t([4, 2]), { transposeA: true }),
        'ShapeError',
        ['matmul', '[3,4]', '[4,2]'],
      );
      expectError(check, 'addBias [3,4] + [3]', () => b.addBias(t([3, 4]), t([3])), 'ShapeError', [
        'addBias',
        '[3,4]',
        '[3]',
      ]);
      expectError(check, 'add [2,3] + [3,2]', () => b.add(t([2, 3]), t([3, 2])), 'ShapeError', [
        'add',
        '[2,3]',
        '[3,2]',
      ]);
      expectError(check, 'mul [6] * [5]', () => b.mul(t([6]), t([5])), 'ShapeError', [
        'mul',
        '[6]',
        '[5]',
      ]);
      expectError(
        check,
        'sgdUpdate [4,2] by [2,4]',
        () => b.sgdUpdate(t([4, 2]), t([2, 4]), 0.1),
        'ShapeError',
        ['sgdUpdate', '[4,2]', '[2,4]'],
      );
      expectError(
        check,
        'reluBackward [2,2] with out [4]',
        () => b.reluBackward(t([2, 2]), t([4])),
        'ShapeError',
        ['reluBackward', '[2,2]', '[4]'],
      );
      expectError(check, 'reshape [2,3] to [4]', () => b.reshape(t([2, 3]), [4]), 'ShapeError', [
        'reshape',
        '[2,3]',
        '[4]',
      ]);
      expectError(
        check,
        'gatherRows row 5 of [3,2]',
        () => b.gatherRows(t([3, 2]), [0, 5]),
        'ShapeError',
        ['gatherRows', '5'],
      );
    },
  ),
  errorCase(
    'labels of the wrong length name the kernel and the shapes',
    ['softmaxCrossEntropy', 'softmaxCrossEntropyBackward', 'countCorrect'],
    (ctx, b, check) => {
      const scores = ctx.on(b, new Array(12).fill(0.5), [3, 4]);
      const short = ctx.on(b, [1, 2], [2]);
      const wide = ctx.on(b, new Array(15).fill(0), [3, 5]);
      expectError(
        check,
        'softmaxCrossEntropy with 2 labels for 3 rows',
        () => b.softmaxCrossEntropy(scores, short),
        'ShapeError',
        ['softmaxCrossEntropy', '[3,4]', '[2]'],
      );
      expectError(
        check,
        'softmaxCrossEntropyBackward with one-hot [3,5] for [3,4]',
        () => b.softmaxCrossEntropyBackward(scores, wide),
        'ShapeError',
        ['softmaxCrossEntropyBackward', '[3,4]', '[3,5]'],
      );
      expectError(
        check,
        'countCorrect with 2 labels for 3 rows',
        () => b.countCorrect(scores, short),
        'ShapeError',
        ['countCorrect', '[2]'],
      );
      expectError(
        check,
        'SoftmaxWithLoss with 2 labels for 3 rows',
        () => new SoftmaxWithLoss(b).forward(scores, short),
        'ShapeError',
        ['SoftmaxWithLoss', '[3,4]', '[2]'],
      );
    },
  ),
  errorCase(
    'class indices out of range or not whole are rejected',
    ['softmaxCrossEntropy', 'softmaxCrossEntropyBackward', 'countCorrect'],
    (ctx, b, check) => {
      const scores = ctx.on(b, new Array(8).fill(0.5), [2, 4]);
      const outOfRange = ctx.on(b, [1, 4], [2]);
      const fractional = ctx.on(b, [1, 2.5], [2]);
      expectError(
        check,
        'softmaxCrossEntropy with label 4 of 4 classes',
        () => b.softmaxCrossEntropy(scores, outOfRange),
        'ValueError',
        ['softmaxCrossEntropy', '4'],
      );
      expectError(
        check,
        'softmaxCrossEntropyBackward with label 4',
        () => b.softmaxCrossEntropyBackward(scores, outOfRange),
        'ValueError',
        ['softmaxCrossEntropyBackward', '4'],
      );
      expectError(
        check,
        'countCorrect with label 2.5',
        () => b.countCorrect(scores, fractional),
        'ValueError',
        ['countCorrect', '2.5'],
      );
    },
  ),
  errorCase(
    'a class index written into checked labels is caught (what was known is not trusted after a write)',
    ['softmaxCrossEntropy', 'write'],
    (ctx, b, check) => {
      const scores = ctx.on(b, new Array(16).fill(0.5), [4, 4]);
      const labels = ctx.on(b, [0, 1, 2, 3], [4]);
      ctx.hold(b, b.softmaxCrossEntropy(scores, labels).probs); // fine: 0…3 for 4 classes
      b.write(labels, [7], 1);
      expectError(
        check,
        'softmaxCrossEntropy after write(labels, [7], 1)',
        () => b.softmaxCrossEntropy(scores, labels),
        'ValueError',
        ['softmaxCrossEntropy', '7'],
      );
      const gathered = ctx.hold(b, b.gatherRows(labels, [1, 2]));
      expectError(
        check,
        'countCorrect on rows gathered from them',
        () => b.countCorrect(ctx.on(b, [1, 0, 0, 0, 0, 0, 1, 0], [2, 4]), gathered),
        'ValueError',
        ['countCorrect', '7'],
      );
    },
  ),
  errorCase(
    'non-finite values and wrong sizes are refused at the door',
    ['tensor', 'write'],
    (ctx, b, check) => {
      expectError(check, 'tensor with NaN', () => b.tensor([1, Number.NaN], [2]), 'ValueError', [
        'NaN',
        'index 1',
      ]);
      expectError(
        check,
        'tensor with Infinity',
        () => b.tensor([Number.POSITIVE_INFINITY], [1]),
        'ValueError',
        ['Infinity'],
      );
      expectError(
        check,
        'tensor of 5 values as [2,3]',
        () => b.tensor([1, 2, 3, 4, 5], [2, 3]),
        'ShapeError',
        ['5', '[2,3]'],
      );
      if (b.dtype === 'float32') {
        // float32 would store it as Infinity
        expectError(
          check,
          'tensor with 1e39 in float32',
          () => b.tensor([1, 1e39], [2]),
          'ValueError',
          ['1e+39', 'float32'],
        );
      }
      const t = ctx.on(b, [1, 2, 3], [3]);
      expectError(check, 'write NaN', () => b.write(t, [Number.NaN], 0), 'ValueError', ['NaN']);
      expectError(check, 'write past the end', () => b.write(t, [1, 2], 2), 'ShapeError', [
        'write',
      ]);
    },
  ),
  errorCase(
    'Affine names itself and the shapes when the input does not fit W',
    ['matmul'],
    (ctx, b, check) => {
      const affine = new Affine(b, ctx.on(b, new Array(6).fill(1), [3, 2]), ctx.on(b, [0, 0], [2]));
      expectError(
        check,
        'Affine with x [2,4] for W [3,2]',
        () => affine.forward(ctx.on(b, new Array(8).fill(1), [2, 4])),
        'ShapeError',
        ['Affine', '[2,4]', '[3,2]'],
      );
      affine.dispose();
    },
  ),
];
