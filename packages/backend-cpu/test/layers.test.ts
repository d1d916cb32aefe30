import {
  Affine,
  Convolution,
  Relu,
  ShapeError,
  Sigmoid,
  SoftmaxWithLoss,
  type Tensor,
  UsageError,
  ValueError,
} from '@backprop/core';
import { describe, expect, it } from 'vitest';
import { CpuBackend } from '../src/index.js';

const backend = new CpuBackend({ dtype: 'float64' });
const tensor = (values: number[], shape: number[]) => backend.tensor(values, shape);
const read = (t: Tensor | null) => Array.from(backend.readSync(t as Tensor));

// float64 kernels do the book's arithmetic; 1e-12 absolute covers the last-bit
// differences of summing in another order. Values below are computed by hand.
const close = (actual: number[], expected: number[], tolerance = 1e-12) => {
  expect(actual).toHaveLength(expected.length);
  for (const [i, value] of actual.entries()) {
    expect(Math.abs(value - expected[i])).toBeLessThanOrEqual(tolerance);
  }
};

describe('Relu (5.5.1)', () => {
  it('passes positives, blocks x <= 0, including exactly 0', () => {
    const relu = new Relu(backend);
    const out = relu.forward(tensor([1, -0.5, -2, 3, 0, 0], [3, 2]));
    expect(read(out)).toEqual([1, 0, 0, 3, 0, 0]);
    const dx = relu.backward(tensor([1, 2, 3, 4, 5, 6], [3, 2]));
    expect(read(dx)).toEqual([1, 0, 0, 4, 0, 0]); // the book's mask is x <= 0: 0 passes nothing
  });
});

describe('Sigmoid (5.5.2)', () => {
  it('computes 1/(1+e^-x) and dout·y·(1−y), saturating at ±50 without NaN', () => {
    const sigmoid = new Sigmoid(backend);
    const y = read(sigmoid.forward(tensor([0, 2, -50, 50], [4])));
    close(y, [0.5, 1 / (1 + Math.exp(-2)), 1 / (1 + Math.exp(50)), 1]);
    const dx = read(sigmoid.backward(tensor([1, 1, 1, 1], [4])));
    close(dx, [0.25, y[1] * (1 - y[1]), y[2] * (1 - y[2]), 0]);
    expect(dx.every(Number.isFinite)).toBe(true);
  });
});

describe('Affine (5.6.2)', () => {
  it('computes x·W + b and dx, dW, db by hand on a batch of 1', () => {
    const W = tensor([1, 2, 3, 4, 5, 6], [2, 3]);
    const b = tensor([0.1, 0.2, 0.3], [3]);
    const affine = new Affine(backend, W, b);
    close(read(affine.forward(tensor([1, 2], [1, 2]))), [9.1, 12.2, 15.3]);
    const dx = affine.backward(tensor([1, 1, 1], [1, 3]));
    close(read(dx), [6, 15]); // dout·Wᵀ
    close(read(affine.dW), [1, 1, 1, 2, 2, 2]); // xᵀ·dout
    close(read(affine.db), [1, 1, 1]); // Σ over the batch
  });

  it('handles odd sizes (3×7 · 7×5) against a direct triple loop', () => {
    const [m, k, n] = [3, 7, 5];
    const xs = Array.from({ length: m * k }, (_, i) => Math.sin(i + 1));
    const ws = Array.from({ length: k * n }, (_, i) => Math.cos(i * 0.7));
    const bs = [0.5, -1, 0, 2, 0.25];
    const douts = Array.from({ length: m * n }, (_, i) => (i % 4) - 1.5);
    const affine = new Affine(backend, tensor(ws, [k, n]), tensor(bs, [n]));
    const out = read(affine.forward(tensor(xs, [m, k])));
    const dx = read(affine.backward(tensor(douts, [m, n])));
    const expectOut: number[] = [];
    const expectDx: number[] = [];
    const expectDW: number[] = new Array(k * n).fill(0);
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let s = bs[j];
        for (let p = 0; p < k; p++) s += xs[i * k + p] * ws[p * n + j];
        expectOut.push(s);
      }
      for (let p = 0; p < k; p++) {
        let s = 0;
        for (let j = 0; j < n; j++) s += douts[i * n + j] * ws[p * n + j];
        expectDx.push(s);
      }
    }
    for (let p = 0; p < k; p++)
      for (let j = 0; j < n; j++)
        for (let i = 0; i < m; i++) expectDW[p * n + j] += xs[i * k + p] * douts[i * n + j];
    const expectDb = Array.from({ length: n }, (_, j) =>
      [0, 1, 2].reduce((s, i) => s + douts[i * n + j], 0),
    );
    close(out, expectOut);
    close(dx, expectDx);
    close(read(affine.dW), expectDW);
    close(read(affine.db), expectDb);
  });

  it('flattens an input of any rank and returns dx in the original shape', () => {
    const affine = new Affine(
      backend,
      tensor(new Array(12).fill(0.5), [4, 3]),
      tensor([0, 0, 0], [3]),
    );
    const x = tensor([1, 2, 3, 4, 5, 6, 7, 8], [2, 1, 2, 2]);
    close(read(affine.forward(x)), [5, 5, 5, 13, 13, 13]);
    const dx = affine.backward(tensor([1, 0, 0, 0, 0, 2], [2, 3])) as Tensor;
    expect(dx.shape).toEqual([2, 1, 2, 2]);
    close(read(dx), [0.5, 0.5, 0.5, 0.5, 1, 1, 1, 1]);
  });

  it('skips dx when built without an input gradient, still giving dW and db', () => {
    const affine = new Affine(backend, tensor([1, 2], [2, 1]), tensor([0], [1]), {
      inputGradient: false,
    });
    affine.forward(tensor([3, 4], [1, 2]));
    expect(affine.backward(tensor([1], [1, 1]))).toBeNull();
    close(read(affine.dW), [3, 4]);
  });

  it('names the layer and both shapes when the input does not fit W', () => {
    const affine = new Affine(backend, tensor(new Array(6).fill(1), [3, 2]), tensor([0, 0], [2]));
    const attempt = () => affine.forward(tensor([1, 2, 3, 4], [2, 2]));
    expect(attempt).toThrow(ShapeError);
    expect(attempt).toThrow(/Affine: input \[2,2\] must be \[batch, 3\].*W \[3,2\]/);
  });

  it('refuses backward before forward', () => {
    const affine = new Affine(backend, tensor([1], [1, 1]), tensor([0], [1]));
    expect(() => affine.backward(tensor([1], [1, 1]))).toThrow(UsageError);
  });
});

describe('Convolution (7.4.3)', () => {
  const images = () =>
    tensor(
      Array.from({ length: 2 * 2 * 5 * 4 }, (_, i) => Math.sin(i)),
      [2, 2, 5, 4],
    );
  const layer = () =>
    new Convolution(
      backend,
      tensor(
        Array.from({ length: 3 * 2 * 3 * 2 }, (_, i) => Math.cos(i)),
        [3, 2, 3, 2],
      ),
      tensor([0.1, -0.2, 0.3], [3]),
      { pad: 1 },
    );

  it("keeps forward's im2col in training, as the book's layer does, and backward reads it", () => {
    const conv = layer();
    const out = conv.forward(images(), true);
    const dout = tensor(
      Array.from({ length: out.size }, (_, i) => Math.cos(3 * i)),
      [...out.shape],
    );
    // [N·OH·OW, C·FH·FW]: 2 images of 5×5 positions (pad 1, 3×2 filters), 2·3·2 taps
    expect(conv.col?.shape).toEqual([50, 12]);
    conv.backward(dout);
    // the same gradients when backward must take im2col again (forward not in training)
    const again = layer();
    again.forward(images());
    expect(again.col).toBeNull();
    again.backward(dout);
    // the same im2col and product either way: equal to the last bit
    expect(read(conv.dW)).toEqual(read(again.dW));
    expect(read(conv.db)).toEqual(read(again.db));
    expect(read(conv.dx)).toEqual(read(again.dx));
  });

  it('names a col that is not the im2col of the images given', () => {
    const x = images();
    const W = tensor(new Array(36).fill(0.5), [3, 2, 3, 2]);
    const { out, col } = backend.convolution(x, W, tensor([0, 0, 0], [3]), { stride: 1, pad: 1 });
    const dout = tensor(new Array(out.size).fill(0), [...out.shape]);
    const wrong = backend.reshape(col as Tensor, [100, 6]);
    expect(() =>
      backend.convolutionGradients(x, dout, W.shape, { stride: 1, pad: 1 }, wrong),
    ).toThrow(/col must be the im2col of images \[2,2,5,4\].*\[50,12\], got \[100,6\]/);
  });
});

describe('SoftmaxWithLoss (5.6.3)', () => {
  it('computes softmax, the loss with the book’s 1e-7, and (y − t) / batch', () => {
    const layer = new SoftmaxWithLoss(backend);
    const loss = read(layer.forward(tensor([0, 0], [1, 2]), tensor([1], [1])))[0];
    expect(loss).toBeCloseTo(-Math.log(0.5 + 1e-7), 14);
    close(read(layer.y), [0.5, 0.5]);
    close(read(layer.backward()), [0.5, -0.5]);
  });

  it('gives the same loss and gradient for one-hot and index labels', () => {
    const logits = tensor([0.3, 2.9, 4.0, 0.1, 0.2, 0.3], [2, 3]);
    const a = new SoftmaxWithLoss(backend);
    const b = new SoftmaxWithLoss(backend);
    const lossIndex = read(a.forward(logits, tensor([2, 0], [2])))[0];
    const lossOneHot = read(b.forward(logits, tensor([0, 0, 1, 1, 0, 0], [2, 3])))[0];
    expect(lossOneHot).toBeCloseTo(lossIndex, 14);
    close(read(b.backward()), read(a.backward()));
    // hand value: batch mean of −log softmax at the label
    const row0 = Math.exp(4.0) / (Math.exp(0.3) + Math.exp(2.9) + Math.exp(4.0));
    const row1 = Math.exp(0.1) / (Math.exp(0.1) + Math.exp(0.2) + Math.exp(0.3));
    expect(lossIndex).toBeCloseTo(-(Math.log(row0 + 1e-7) + Math.log(row1 + 1e-7)) / 2, 12);
  });

  it('stays finite for logits of ±1000 (max subtracted before exp)', () => {
    const layer = new SoftmaxWithLoss(backend);
    const right = read(layer.forward(tensor([1000, 0, -1000], [1, 3]), tensor([0], [1])))[0];
    close(read(layer.y), [1, 0, 0]);
    expect(right).toBeCloseTo(-Math.log(1 + 1e-7), 14);
    const wrong = read(layer.forward(tensor([1000, 0, -1000], [1, 3]), tensor([2], [1])))[0];
    // probability exactly 0: the 1e-7 keeps the loss at −log(1e-7) ≈ 16.1, not Infinity
    expect(wrong).toBeCloseTo(-Math.log(1e-7), 10);
    close(read(layer.backward()), [1, 0, -1]);
  });

  it('rejects wrong label length, out-of-range classes and non-finite logits by name', () => {
    const layer = new SoftmaxWithLoss(backend);
    const logits = tensor([1, 2, 3, 4, 5, 6], [2, 3]);
    expect(() => layer.forward(logits, tensor([1, 2, 0], [3]))).toThrow(
      /SoftmaxWithLoss: labels must be class indices \[2\] or one-hot \[2,3\] .* got \[3\]/,
    );
    expect(() => layer.forward(logits, tensor([1, 3], [2]))).toThrow(ValueError);
    expect(() => layer.forward(logits, tensor([1, 3], [2]))).toThrow(
      /label 3 at row 1 is not a class index in 0…2/,
    );
    expect(() => tensor([1, Number.NaN], [1, 2])).toThrow(
      /value NaN at index 1 is not a finite number/,
    );
  });
});

describe('a network given samples of the wrong size', () => {
  it('throws a ShapeError naming its first layer and both shapes, from predict and gradient', async () => {
    const { Network, SimpleConvNet, TwoLayerNet } = await import('@backprop/core');
    const flat = new TwoLayerNet(backend, { inputSize: 4, hiddenSize: 3, outputSize: 2 });
    const x = tensor(new Array(10).fill(0.5), [2, 5]);
    expect(() => flat.predict(x)).toThrow(ShapeError);
    expect(() => flat.predict(x)).toThrow(
      /^Affine1 \(the network's input\): takes samples of \[4\] \(4 values\), as \[batch, 4\]; got \[2,5\]$/,
    );
    expect(() => flat.gradient(x, tensor([0, 1], [2]))).toThrow(ShapeError);
    const images = new Network(
      backend,
      SimpleConvNet.architecture({ inputDim: [1, 6, 6], hiddenSize: 3, outputSize: 2 }),
    );
    expect(() => images.predict(x)).toThrow(
      /^Conv1 \(the network's input\): takes samples of \[1,6,6\] \(36 values\), as \[batch, 36\] or \[batch, 1, 6, 6\]; got \[2,5\]$/,
    );
  });
});

describe('summary', () => {
  it("lists each layer, a sample's shape after it and its parameters, and the total", async () => {
    const { SimpleConvNet } = await import('@backprop/core');
    const net = new SimpleConvNet(backend);
    // the book's SimpleConvNet: 30·1·5·5 + 30, 4320·100 + 100, 100·10 + 10
    expect(net.summary()).toBe(
      [
        'layer    output      parameters',
        'input    [1,28,28]',
        'Conv1    [30,24,24]         780  W1 [30,1,5,5], b1 [30]',
        'Relu1    [30,24,24]           0',
        'Pool1    [30,12,12]           0',
        'Affine1  [100]          432,100  W2 [4320,100], b2 [100]',
        'Relu2    [100]                0',
        'Affine2  [10]             1,010  W3 [100,10], b3 [10]',
        '433,890 parameters',
      ].join('\n'),
    );
    expect(net.layerSummary()[0]).toEqual({
      layer: 'Conv1',
      output: [30, 24, 24],
      params: { W1: [30, 1, 5, 5], b1: [30] },
      count: 780,
    });
    net.dispose();
  });
});
