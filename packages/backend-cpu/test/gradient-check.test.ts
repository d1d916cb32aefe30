import { compareGradients, gradientCheck, TwoLayerNet } from '@backprop/core';
import { loadMnist } from '@backprop/mnist';
import { describe, expect, it } from 'vitest';
import { CpuBackend } from '../src/index.js';

// 5.7.3: backprop against numerical differentiation on the first 3 training images.
const mnist = loadMnist({ oneHotLabel: true });
const PARAM_NAMES = ['W1', 'b1', 'W2', 'b2'];
const firstImages = mnist.train.images.subarray(0, 3 * 784);
const firstLabels = mnist.train.oneHotLabels!.subarray(0, 3 * 10);

function netOn(dtype: 'float64' | 'float32') {
  const backend = new CpuBackend({ dtype });
  const net = new TwoLayerNet(backend, { seed: 0 });
  return {
    backend,
    net,
    x: backend.tensor(firstImages, [3, 784]),
    t: backend.tensor(firstLabels, [3, 10]),
  };
}

describe('gradient check (5.7.3)', () => {
  it('float64: every mean |backprop − numerical| is below 1e-7', async () => {
    const { net, x, t } = netOn('float64');
    const report = await gradientCheck(net, x, t);
    // h = 1e-4 in float64: truncation error ~h²·|f'''| and rounding ~1e-16·|L|/h, both
    // far below 1e-7; measured here: W1 2.7e-13, b1 8.9e-13, W2 9.1e-13, b2 1.2e-10.
    for (const name of PARAM_NAMES) expect(report[name].meanAbsDiff).toBeLessThan(1e-7);
  });

  it('float32 backprop agrees with float64 numerical gradients', async () => {
    const f64 = netOn('float64');
    const f32 = netOn('float32');
    const numerical = await f64.net.numericalGradient(f64.x, f64.t);
    const backprop = f32.net.gradient(f32.x, f32.t);
    for (const name of PARAM_NAMES) {
      const diff = compareGradients(
        f32.backend.readSync(backprop[name]),
        f64.backend.readSync(numerical[name]),
      );
      // float32 keeps 24 bits (u ≈ 6e-8); every gradient here is below 1 in magnitude and
      // the longest sum has 784 terms accumulated in double, so each element is off by a
      // few u of its inputs' magnitudes, plus the 1e-7 guard's ~1e-6 relative shift on
      // the numerical side: 1e-6 absolute bounds both with room.
      expect(diff.maxAbsDiff, name).toBeLessThan(1e-6);
    }
  });

  it('float32 on its own (the book’s check run in float32) stays within rounding noise', async () => {
    const { net, x, t } = netOn('float32');
    const report = await gradientCheck(net, x, t);
    // Each float32 loss value carries rounding error of a few ulp of L ≈ 2.3 (1 ulp ≈
    // 2.4e-7); the central difference divides it by 2h = 2e-4, so single elements can be
    // off by ~1e-3 and means by a few 1e-4 (measured: 6e-5 … 3.4e-4). A wrong gradient
    // misses by its own magnitude (b2's entries are ~0.1), far above 1e-3.
    for (const name of PARAM_NAMES) expect(report[name].meanAbsDiff, name).toBeLessThan(1e-3);
  });
});
