/**
 * Flatten as a layer, added as a user adds one (this file alone): each sample to one row,
 * as Keras's Flatten and PyTorch's nn.Flatten. Affine flattens its input itself (the
 * book's way), so a network needs it only to say so, or before a layer that does not.
 */

import type { Backend } from '../../engine/backend.js';
import { sizeOf } from '../../engine/shapes.js';
import type { Tensor } from '../../engine/tensor.js';
import { registerLayer } from '../architecture.js';
import { fromForward, type LayerDescriptor, releaseAll } from '../layer-descriptor.js';
import type { Layer } from '../layers.js';

/** [N, …] → [N, size of …]; backward gives the gradient the input's shape back. */
export class Flatten implements Layer {
  out: Tensor | null = null;
  dx: Tensor | null = null;
  xShape: readonly number[] = [];

  constructor(private readonly backend: Backend) {}

  forward(x: Tensor): Tensor {
    releaseAll(this.backend, this.out);
    this.xShape = x.shape;
    const batch = x.shape[0] ?? 1;
    this.out = this.backend.reshape(x, [batch, sizeOf(x.shape) / batch]);
    return this.out;
  }

  backward(dout: Tensor): Tensor {
    releaseAll(this.backend, this.dx);
    fromForward(this.out, 'Flatten');
    this.dx = this.backend.reshape(dout, this.xShape);
    return this.dx;
  }

  dispose(): void {
    releaseAll(this.backend, this.out, this.dx);
    this.out = this.dx = null;
  }
}

export type FlattenSpec = { type: 'flatten' };
export const flattenDescriptor: LayerDescriptor<FlattenSpec> = {
  type: 'flatten',
  name: 'Flatten',
  keys: [],
  words: 'flatten',
  build: (_spec, input, { backend }) => ({ layer: new Flatten(backend), output: [sizeOf(input)] }),
  example: { spec: { type: 'flatten' }, input: [2, 3, 2] },
};
registerLayer(flattenDescriptor);

declare module '../architecture.js' {
  interface LayerSpecs {
    flatten: FlattenSpec;
  }
}
