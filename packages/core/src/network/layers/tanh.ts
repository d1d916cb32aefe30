/**
 * tanh as a layer, added as a user adds one: this file alone — the class, its
 * descriptor, `registerLayer` — and no kernel, since tanh(x) = 2·σ(2x) − 1.
 */

import type { Backend } from '../../engine/backend.js';
import type { Tensor } from '../../engine/tensor.js';
import { registerLayer } from '../architecture.js';
import { fromForward, type LayerDescriptor, releaseAll } from '../layer-descriptor.js';
import type { Layer } from '../layers.js';

/** y = tanh(x); dx = dout · (1 − y²). */
export class Tanh implements Layer {
  out: Tensor | null = null;
  dx: Tensor | null = null;

  constructor(private readonly backend: Backend) {}

  forward(x: Tensor): Tensor {
    releaseAll(this.backend, this.out);
    const b = this.backend;
    this.out = b.tidy(() => b.sub(b.mul(b.sigmoid(b.mul(x, 2)), 2), 1));
    return this.out;
  }

  backward(dout: Tensor): Tensor {
    releaseAll(this.backend, this.dx);
    const b = this.backend;
    const y = fromForward(this.out, 'Tanh');
    this.dx = b.tidy(() => b.mul(dout, b.sub(1, b.mul(y, y))));
    return this.dx;
  }

  dispose(): void {
    releaseAll(this.backend, this.out, this.dx);
    this.out = this.dx = null;
  }
}

export type TanhSpec = { type: 'tanh' };
export const tanhDescriptor: LayerDescriptor<TanhSpec> = {
  type: 'tanh',
  name: 'Tanh',
  keys: [],
  words: 'tanh',
  build: (_spec, input, { backend }) => ({ layer: new Tanh(backend), output: [...input] }),
  example: { spec: { type: 'tanh' }, input: [7] },
};
registerLayer(tanhDescriptor);

declare module '../architecture.js' {
  interface LayerSpecs {
    tanh: TanhSpec;
  }
}
