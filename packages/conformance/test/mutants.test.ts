/**
 * The suite tested by breaking a correct backend on purpose: each mutant is the CPU
 * kernels with one classic mistake, and the suite must fail it by a measurement (not by
 * tripping over an unrelated check). Each runs only the groups expected to catch it, to
 * keep this file fast; that those groups catch it is the claim.
 */
import { CpuKernels } from '@backprop/backend-cpu';
import {
  Backend,
  type BinaryOp,
  type Broadcast,
  type FloatArray,
  type LabelDims,
  type MatmulDims,
  type ReduceOp,
  type WindowDims,
} from '@backprop/core';
import { describe, expect, it } from 'vitest';
import { runConformance } from '../src/index.js';

class DropsBiasGradient extends CpuKernels {
  override reduce(op: ReduceOp, x: FloatArray, rows: number, cols: number, axis: 0 | 1) {
    const out = super.reduce(op, x, rows, cols, axis);
    return op === 'sum' && axis === 0 && rows > 1 ? out.fill(0) : out;
  }
}

class ForgetsToTransposeB extends CpuKernels {
  // Reads b's buffer as if it were already transposed: right shape, wrong values.
  override matmul(a: FloatArray, b: FloatArray, dims: MatmulDims) {
    return super.matmul(a, b, { ...dims, transposeB: false });
  }
}

class SoftmaxWithoutMaxSubtraction extends CpuKernels {
  override softmaxCrossEntropy(
    x: FloatArray,
    t: FloatArray,
    dims: LabelDims,
    delta: number,
  ): [FloatArray, FloatArray] {
    const [probs, loss] = super.softmaxCrossEntropy(x, t, dims, delta);
    const { batch, classes } = dims;
    for (let i = 0; i < batch; i++) {
      let sum = 0;
      for (let j = 0; j < classes; j++) sum += Math.exp(x[i * classes + j]);
      for (let j = 0; j < classes; j++) probs[i * classes + j] = Math.exp(x[i * classes + j]) / sum; // NaN at 1000
    }
    return [probs, loss];
  }
}

class DropsLastRowInTileTail extends CpuKernels {
  // A 4-row tile loop whose tail stops one row early when m is not a multiple of 4.
  override matmul(a: FloatArray, b: FloatArray, dims: MatmulDims) {
    const out = super.matmul(a, b, dims);
    return dims.m % 4 === 0 ? out : out.fill(0, (dims.m - 1) * dims.n);
  }
}

class ReluGradientThroughNegatives extends CpuKernels {
  // Tests out >= 0 instead of out > 0: since relu's output is 0 for every x <= 0, the
  // gradient then passes wherever x <= 0 too — the book's mask is gone.
  override reluBackward(dout: FloatArray, out: FloatArray, size: number) {
    const dx = new Float64Array(size);
    for (let i = 0; i < size; i++) dx[i] = out[i] >= 0 ? dout[i] : 0;
    return dx;
  }
}

class ForgetsToDivideByBatch extends CpuKernels {
  override softmaxCrossEntropyBackward(y: FloatArray, t: FloatArray, dims: LabelDims) {
    const dx = new Float64Array(dims.batch * dims.classes);
    for (let i = 0; i < dims.batch; i++)
      for (let j = 0; j < dims.classes; j++) {
        const target = dims.oneHot ? t[i * dims.classes + j] : t[i] === j ? 1 : 0;
        dx[i * dims.classes + j] = y[i * dims.classes + j] - target;
      }
    return dx;
  }
}

class ClimbsInsteadOfDescends extends CpuKernels {
  override sgdUpdate(w: FloatArray, g: FloatArray, size: number, learningRate: number) {
    for (let i = 0; i < size; i++) w[i] += learningRate * g[i];
  }
}

class LeaksABatch extends CpuKernels {
  private readonly kept: FloatArray[] = [];
  override gatherRows(x: FloatArray, indices: Int32Array, width: number) {
    this.kept.push(super.gatherRows(x, indices, width)); // a copy made and never freed
    return super.gatherRows(x, indices, width);
  }
  resources() {
    return { arrays: this.kept.length };
  }
}

class LastMaxWinsTies extends CpuKernels {
  override reduce(op: ReduceOp, x: FloatArray, rows: number, cols: number, axis: 0 | 1) {
    if (op !== 'argmax') return super.reduce(op, x, rows, cols, axis);
    const [outer, inner, os, is] = axis === 0 ? [cols, rows, 1, cols] : [rows, cols, cols, 1];
    const out = new Float64Array(outer);
    for (let o = 0; o < outer; o++) {
      let best = 0;
      for (let i = 1; i < inner; i++) if (x[o * os + i * is] >= x[o * os + best * is]) best = i;
      out[o] = best;
    }
    return out;
  }
}

class BroadcastIgnoresRowStride extends CpuKernels {
  // Adds a bias [n] by reading it as if it were full [m, n]: past its end after row 0.
  override binary(op: BinaryOp, a: FloatArray, b: FloatArray, layout: Broadcast) {
    return super.binary(op, a, b, { ...layout, bRows: layout.rows, aRows: layout.rows });
  }
}

class IgnoresTheLossGuard extends CpuKernels {
  // float32, log(y) instead of log(y + delta): hidden by rounding for ordinary
  // probabilities, infinite where one is exactly 0.
  constructor() {
    super({ dtype: 'float32' });
  }
  override softmaxCrossEntropy(
    x: FloatArray,
    t: FloatArray,
    dims: LabelDims,
  ): [FloatArray, FloatArray] {
    return super.softmaxCrossEntropy(x, t, dims, 0);
  }
}

class ReadsALiveView extends CpuKernels {
  // Hands out the storage itself instead of a copy: a later update changes what was read.
  override async download(data: FloatArray, size: number) {
    return data.subarray(0, size);
  }
  override downloadSync(data: FloatArray, size: number) {
    return data.subarray(0, size);
  }
}

/** im2col as loops, with the window's origin for output (oy, ox) given by `origin`: a mutant's choice. */
function im2colLoops(
  x: FloatArray,
  d: WindowDims,
  origin: (o: number, axis: 'y' | 'x') => number,
): Float64Array {
  const cols = d.channels * d.windowHeight * d.windowWidth;
  const out = new Float64Array(d.batch * d.outHeight * d.outWidth * cols);
  let i = 0;
  for (let n = 0; n < d.batch; n++)
    for (let oy = 0; oy < d.outHeight; oy++)
      for (let ox = 0; ox < d.outWidth; ox++)
        for (let c = 0; c < d.channels; c++)
          for (let fy = 0; fy < d.windowHeight; fy++)
            for (let fx = 0; fx < d.windowWidth; fx++) {
              const [y, xx] = [origin(oy, 'y') + fy, origin(ox, 'x') + fx];
              const inside = y >= 0 && y < d.height && xx >= 0 && xx < d.width;
              out[i++] = inside ? x[((n * d.channels + c) * d.height + y) * d.width + xx] : 0;
            }
  return out;
}

class PadOffByOne extends CpuKernels {
  // Pads one more row and column than asked: every window reads one pixel up and left.
  override im2col(x: FloatArray, d: WindowDims) {
    return im2colLoops(x, d, (o) => o * d.stride - d.pad - 1);
  }
}

class IgnoresTheStride extends CpuKernels {
  // Moves the window one pixel at a time, whatever the stride: the right shape, wrong windows.
  override im2col(x: FloatArray, d: WindowDims) {
    return im2colLoops(x, d, (o) => o - d.pad);
  }
}

class PoolingRoutesToTheFirstPosition extends CpuKernels {
  // Sends each window's gradient to its first position, not to where its max was.
  override maxPoolBackward(dout: FloatArray, _argmax: FloatArray, d: WindowDims) {
    const dx = new Float64Array(d.batch * d.channels * d.height * d.width);
    let w = 0;
    for (let n = 0; n < d.batch; n++)
      for (let c = 0; c < d.channels; c++)
        for (let oy = 0; oy < d.outHeight; oy++)
          for (let ox = 0; ox < d.outWidth; ox++, w++) {
            const [y, x] = [oy * d.stride - d.pad, ox * d.stride - d.pad];
            if (y >= 0 && x >= 0)
              dx[((n * d.channels + c) * d.height + y) * d.width + x] += dout[w];
          }
    return dx;
  }
}

class BatchNormWithBatchStatisticsAtTest extends CpuKernels {
  // Normalises by the batch's own mean and variance, whatever it is given: right in
  // training, wrong at test, where the running statistics must be used.
  batchNormalize(
    x: FloatArray,
    _mean: FloatArray,
    _variance: FloatArray,
    gamma: FloatArray,
    beta: FloatArray,
    rows: number,
    cols: number,
    epsilon: number,
  ) {
    const out = new Float64Array(rows * cols);
    for (let j = 0; j < cols; j++) {
      let mu = 0;
      for (let i = 0; i < rows; i++) mu += x[i * cols + j] / rows;
      let v = 0;
      for (let i = 0; i < rows; i++) v += (x[i * cols + j] - mu) ** 2 / rows;
      for (let i = 0; i < rows; i++)
        out[i * cols + j] = (gamma[j] * (x[i * cols + j] - mu)) / Math.sqrt(v + epsilon) + beta[j];
    }
    return out;
  }
}

const mutants: [string, () => CpuKernels, string[]][] = [
  ['drops the bias gradient', () => new DropsBiasGradient(), ['kernels/sum', 'layers/']],
  ['forgets to transpose b', () => new ForgetsToTransposeB(), ['kernels/matmul', 'layers/Affine']],
  ['skips the max subtraction in softmax', () => new SoftmaxWithoutMaxSubtraction(), ['edge/']],
  ['drops the last row in a tile tail', () => new DropsLastRowInTileTail(), ['kernels/matmul']],
  [
    'lets the ReLU gradient through every x <= 0 (out >= 0 instead of out > 0)',
    () => new ReluGradientThroughNegatives(),
    ['kernels/relu', 'layers/Relu', 'overrides/reluBackward'],
  ],
  [
    'forgets to divide the loss gradient by the batch',
    () => new ForgetsToDivideByBatch(),
    ['kernels/softmax', 'layers/Softmax', 'overrides/softmaxCrossEntropyBackward'],
  ],
  [
    'adds the gradient in SGD',
    () => new ClimbsInsteadOfDescends(),
    ['kernels/sgdUpdate', 'overrides/sgdUpdate', 'training/'],
  ],
  ['leaks an array per mini-batch', () => new LeaksABatch(), ['resources/live']],
  ['breaks argmax ties towards the last', () => new LastMaxWinsTies(), ['kernels/argmax', 'edge/']],
  [
    'reads a broadcast row as a full matrix',
    () => new BroadcastIgnoresRowStride(),
    ['kernels/add', 'kernels/addBias'],
  ],
  [
    'ignores the loss guard delta (float32)',
    () => new IgnoresTheLossGuard(),
    ['edge/', 'kernels/softmaxCrossEntropy'],
  ],
  ['returns a live view from read', () => new ReadsALiveView(), ['resources/read']],
  [
    'pads one pixel too many in im2col',
    () => new PadOffByOne(),
    ['kernels/im2col', 'layers/Convolution', 'overrides/im2col'],
  ],
  [
    'ignores the stride in im2col',
    () => new IgnoresTheStride(),
    ['kernels/im2col', 'layers/Convolution', 'overrides/im2col'],
  ],
  [
    'routes the pooling gradient to the wrong position',
    () => new PoolingRoutesToTheFirstPosition(),
    ['kernels/maxPoolBackward', 'layers/Pooling', 'overrides/maxPoolBackward'],
  ],
  [
    'uses the batch statistics in BatchNorm at test',
    () => new BatchNormWithBatchStatisticsAtTest(),
    ['layers/BatchNormalization at test', 'kernels/batchNormalize', 'overrides/batchNormalize'],
  ],
];

describe('the suite catches broken kernels', () => {
  for (const [mistake, create, only] of mutants) {
    it(`a backend that ${mistake}`, async () => {
      const report = await runConformance(() => new Backend(create()), {
        only,
        leakIterations: 300,
        leakIterationsReason: 'a leak shows in a few hundred; the mutants run many cases',
      });
      const failed = report.cases.filter((c) => !c.passed).map((c) => c.id);
      expect(failed.length, `no case in ${only.join(', ')} failed`).toBeGreaterThan(0);
      // Caught by a measurement, not by the mutant tripping over an unrelated check.
      const threw = report.cases.filter((c) => !c.passed && c.detail.startsWith('threw'));
      expect(threw.map((c) => c.detail)).toEqual([]);
    });
  }

  it('and passes the unbroken kernels on the same groups, in both dtypes', async () => {
    const only = [...new Set(mutants.flatMap(([, , groups]) => groups))];
    for (const dtype of ['float64', 'float32'] as const) {
      // a subclass, so float64 is judged by the oracle rather than skipped as the oracle itself
      const report = await runConformance(
        () => new Backend(new (class extends CpuKernels {})({ dtype })),
        {
          only,
          leakIterations: 300,
          leakIterationsReason: 'as the mutants',
        },
      );
      expect(report.failed, report.cases.find((c) => !c.passed)?.detail).toBe(0);
      expect(report.passed).toBeGreaterThan(40);
    }
  });
});
