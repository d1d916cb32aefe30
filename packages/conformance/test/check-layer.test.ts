/**
 * checkLayer on a layer written outside core, as a user writes one: it passes a right
 * backward, and fails a wrong one by a measurement that names the entry.
 */
import { CpuBackend } from '@backprop/backend-cpu';
import {
  type Backend,
  fromForward,
  type Layer,
  type LayerDescriptor,
  registerLayer,
  releaseAll,
  type Tensor,
  UsageError,
} from '@backprop/core';
import { describe, expect, it } from 'vitest';
import { checkLayer } from '../src/index.js';

/** y = x where x > 0, alpha·x elsewhere; `slip` breaks its backward on purpose. */
class LeakyRelu implements Layer {
  out: Tensor | null = null;
  positive: Tensor | null = null;
  dx: Tensor | null = null;

  constructor(
    private readonly backend: Backend,
    readonly alpha: number,
    private readonly slip = false,
  ) {}

  forward(x: Tensor): Tensor {
    releaseAll(this.backend, this.out, this.positive);
    const b = this.backend;
    this.positive = b.greater(x, 0);
    // x·(alpha + (1 − alpha)·[x > 0])
    this.out = b.tidy(() =>
      b.mul(x, b.add(this.alpha, b.mul(this.positive as Tensor, 1 - this.alpha))),
    );
    return this.out;
  }

  backward(dout: Tensor): Tensor {
    releaseAll(this.backend, this.dx);
    const b = this.backend;
    const positive = fromForward(this.positive, 'LeakyRelu');
    const slope = this.slip ? 1 : 1 - this.alpha; // the slip: a slope of 1 + alpha where x > 0
    this.dx = b.tidy(() => b.mul(dout, b.add(this.alpha, b.mul(positive, slope))));
    return this.dx;
  }

  dispose(): void {
    releaseAll(this.backend, this.out, this.positive, this.dx);
    this.out = this.positive = this.dx = null;
  }
}

type LeakyReluSpec = { type: 'leakyrelu-test' | 'leakyrelu-slip'; alpha?: number };
const descriptor = (
  type: LeakyReluSpec['type'],
  slip: boolean,
): LayerDescriptor<LeakyReluSpec> => ({
  type,
  name: slip ? 'LeakyReluSlip' : 'LeakyReluTest',
  keys: ['alpha'],
  words: `${type} [alpha=A]`,
  build: (spec, input, { backend }) => ({
    layer: new LeakyRelu(backend, spec.alpha ?? 0.01, slip),
    output: [...input],
  }),
});
registerLayer(descriptor('leakyrelu-test', false));
registerLayer(descriptor('leakyrelu-slip', true));

describe('checkLayer on a layer of ones own', () => {
  for (const dtype of ['float64', 'float32'] as const) {
    it(`passes a right backward (cpu ${dtype})`, async () => {
      const result = await checkLayer(
        new CpuBackend({ dtype }),
        { type: 'leakyrelu-test', alpha: 0.1 },
        { input: [4, 3] },
      );
      expect(result.passed, result.detail).toBe(true);
      expect(result.entries).toBe(3 * 4 * 3); // dx of a batch of 3; no parameters
    });
  }

  it('fails a wrong backward, naming the entry and both values', async () => {
    const result = await checkLayer(
      new CpuBackend({ dtype: 'float64' }),
      { type: 'leakyrelu-slip', alpha: 0.1 },
      { input: [4, 3] },
    );
    expect(result.passed).toBe(false);
    // 1.1 where 1 is right: 10 % off, against a float64 tolerance near 1e-6
    expect(result.worstRatio).toBeGreaterThan(1e3);
    expect(result.detail).toMatch(/^worst dx\[\d+\]: .* is off by/);
  });

  it('checks every parameter, and the output shape the descriptor declared', async () => {
    const result = await checkLayer(
      new CpuBackend({ dtype: 'float64' }),
      { type: 'conv', filters: 2, size: [3, 2], stride: 2, pad: 1 },
      { input: [2, 5, 4] },
    );
    expect(result.passed, result.detail).toBe(true);
    // dx 3·2·5·4, dW1 2·2·3·2, db1 2
    expect(result.entries).toBe(120 + 24 + 2);
  });

  it('names a type nobody registered, and a misspelled field', async () => {
    const backend = new CpuBackend({ dtype: 'float64' });
    await expect(checkLayer(backend, { type: 'swish' }, { input: [3] })).rejects.toThrow(
      /checkLayer: no layer of type "swish" is registered \(layers: affine, .*\); registerLayer\(descriptor\) first/,
    );
    await expect(
      checkLayer(backend, { type: 'leakyrelu-test', alpah: 0.1 } as never, { input: [3] }),
    ).rejects.toThrow(UsageError);
  });
});
