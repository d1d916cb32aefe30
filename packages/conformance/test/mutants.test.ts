/**
 * The suite tested by breaking a correct backend on purpose: each mutant is the CPU
 * backend with one classic mistake, and the suite must fail it. Each runs only the
 * groups expected to catch it, to keep this file fast; that those groups catch it is
 * the claim.
 */
import { CpuBackend } from '@backprop/backend-cpu';
import type { Labels, MatmulOptions, SoftmaxCrossEntropyResult, Tensor } from '@backprop/core';
import { describe, expect, it } from 'vitest';
import { runConformance } from '../src/index.js';

/**
 * Rebuilds a result from the right one with some values changed, as a buggy kernel would.
 * It stores them the way the backend stores its own results (its private `wrap`), so
 * NaN from a bug reaches the suite instead of being refused by `tensor()`.
 */
function tamper(backend: CpuBackend, t: Tensor, change: (values: Float64Array) => void): Tensor {
  const values = Float64Array.from(backend.readSync(t));
  change(values);
  backend.dispose(t);
  const internals = backend as unknown as {
    wrap(data: Float64Array, shape: readonly number[]): Tensor;
  };
  return internals.wrap(values, t.shape);
}

class DropsBiasGradient extends CpuBackend {
  override sumColumns(x: Tensor): Tensor {
    return tamper(this, super.sumColumns(x), (v) => v.fill(0));
  }
}

class ForgetsToTransposeB extends CpuBackend {
  // Reinterprets b's buffer as already transposed: right shape, wrong values.
  override matmul(a: Tensor, b: Tensor, options: MatmulOptions = {}): Tensor {
    if (!options.transposeB) return super.matmul(a, b, options);
    const reinterpreted = this.reshape(b, [b.shape[1], b.shape[0]]);
    const result = super.matmul(a, reinterpreted, { ...options, transposeB: false });
    this.dispose(reinterpreted);
    return result;
  }
}

class SoftmaxWithoutMaxSubtraction extends CpuBackend {
  override softmaxCrossEntropy(
    logits: Tensor,
    labels: Labels,
    delta = 1e-7,
  ): SoftmaxCrossEntropyResult {
    const result = super.softmaxCrossEntropy(logits, labels, delta);
    const x = this.readSync(logits);
    const [batch, classes] = logits.shape;
    const probs = tamper(this, result.probs, (p) => {
      for (let i = 0; i < batch; i++) {
        let sum = 0;
        for (let j = 0; j < classes; j++) sum += Math.exp(x[i * classes + j]);
        for (let j = 0; j < classes; j++) p[i * classes + j] = Math.exp(x[i * classes + j]) / sum; // NaN at 1000
      }
    });
    return { probs, loss: result.loss };
  }
}

class DropsLastRowInTileTail extends CpuBackend {
  // A 4-row tile loop whose tail stops one row early when m is not a multiple of 4.
  override matmul(a: Tensor, b: Tensor, options: MatmulOptions = {}): Tensor {
    const result = super.matmul(a, b, options);
    const [m, n] = result.shape;
    if (m % 4 === 0) return result;
    return tamper(this, result, (v) => v.fill(0, (m - 1) * n));
  }
}

class ReluPassesGradientAtZero extends CpuBackend {
  override reluBackward(dout: Tensor, out: Tensor): Tensor {
    const d = this.readSync(dout);
    const y = this.readSync(out);
    return tamper(this, super.reluBackward(dout, out), (v) => {
      for (let i = 0; i < v.length; i++) v[i] = y[i] >= 0 ? d[i] : 0; // x >= 0 instead of x > 0
    });
  }
}

class ForgetsToDivideByBatch extends CpuBackend {
  override softmaxCrossEntropyBackward(probs: Tensor, labels: Labels): Tensor {
    const batch = probs.shape[0];
    return tamper(this, super.softmaxCrossEntropyBackward(probs, labels), (v) => {
      for (let i = 0; i < v.length; i++) v[i] *= batch;
    });
  }
}

class ClimbsInsteadOfDescends extends CpuBackend {
  override sgdUpdate(param: Tensor, grad: Tensor, learningRate: number): void {
    const w = this.readSync(param);
    const g = this.readSync(grad);
    this.write(
      param,
      Array.from(w, (v, i) => v + learningRate * g[i]),
    );
  }
}

class LeaksABatch extends CpuBackend {
  override gatherRows(x: Tensor, indices: ArrayLike<number>): Tensor {
    super.gatherRows(x, indices); // a copy made and never freed
    return super.gatherRows(x, indices);
  }
}

class LastMaxWinsTies extends CpuBackend {
  override countCorrect(scores: Tensor, labels: Labels): Tensor {
    const s = this.readSync(scores);
    const t = this.readSync(labels);
    const [batch, classes] = scores.shape;
    return tamper(this, super.countCorrect(scores, labels), (v) => {
      let correct = 0;
      for (let i = 0; i < batch; i++) {
        let best = 0;
        for (let j = 1; j < classes; j++) if (s[i * classes + j] >= s[i * classes + best]) best = j;
        if (best === t[i]) correct++;
      }
      v[0] = correct;
    });
  }
}

class SkipsBiasShapeCheck extends CpuBackend {
  // Adds bias[j % length] instead of refusing a bias of the wrong length: a wrong answer.
  override addBias(x: Tensor, bias: Tensor): Tensor {
    const b = this.readSync(bias);
    const xs = this.readSync(x);
    const [m, n] = x.shape;
    return this.tensor(
      Array.from(xs, (v, i) => v + b[(i % n) % b.length]),
      [m, n],
    );
  }
}

const mutants: [string, () => CpuBackend, string[]][] = [
  ['drops the bias gradient', () => new DropsBiasGradient(), ['kernels/sumColumns', 'layers/']],
  ['forgets to transpose b', () => new ForgetsToTransposeB(), ['kernels/matmul', 'layers/Affine']],
  ['skips the max subtraction in softmax', () => new SoftmaxWithoutMaxSubtraction(), ['edge/']],
  ['drops the last row in a tile tail', () => new DropsLastRowInTileTail(), ['kernels/matmul']],
  [
    'passes the ReLU gradient at exactly 0',
    () => new ReluPassesGradientAtZero(),
    ['kernels/relu', 'edge/'],
  ],
  [
    'forgets to divide the loss gradient by the batch',
    () => new ForgetsToDivideByBatch(),
    ['kernels/softmax', 'layers/Softmax'],
  ],
  [
    'adds the gradient in SGD',
    () => new ClimbsInsteadOfDescends(),
    ['kernels/sgdUpdate', 'training/'],
  ],
  ['leaks a tensor per mini-batch', () => new LeaksABatch(), ['resources/']],
  ['breaks argmax ties towards the last class', () => new LastMaxWinsTies(), ['edge/']],
  ['accepts a bias of the wrong length', () => new SkipsBiasShapeCheck(), ['errors/']],
];

describe('the suite catches broken kernels', () => {
  for (const [mistake, create, only] of mutants) {
    it(`a backend that ${mistake}`, async () => {
      const report = await runConformance(create, { only });
      const failed = report.cases.filter((c) => !c.passed).map((c) => c.id);
      expect(failed.length, `no case in ${only.join(', ')} failed`).toBeGreaterThan(0);
      // Caught by a measurement, not by the mutant tripping over an unrelated check.
      const threw = report.cases.filter((c) => !c.passed && c.detail.startsWith('threw'));
      expect(threw.map((c) => c.detail)).toEqual([]);
    }, 60_000);
  }

  it('and passes the unbroken backend on the same groups', async () => {
    const only = [...new Set(mutants.flatMap(([, , groups]) => groups))];
    const report = await runConformance(() => new CpuBackend(), { only });
    expect(report.failed, report.cases.find((c) => !c.passed)?.detail).toBe(0);
    expect(report.passed).toBeGreaterThan(40);
  }, 60_000);
});
