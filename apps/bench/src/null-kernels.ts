/**
 * A backend whose kernels do no arithmetic: each returns fresh storage of the right size
 * and nothing else (a read gives zeros). A training step on it costs only what core does
 * around the kernels — handles, checks, dispatch, tensor objects, `tidy` — which is the
 * bench's "core's overhead per step". It overrides the composed kernels the wasm backend
 * overrides, so core takes the path it takes in wasm's step.
 */
import {
  Backend,
  type DType,
  type FloatArray,
  type GatherDims,
  type KernelBackend,
  type LabelDims,
  type MatmulDims,
  type WindowDims,
} from '@backprop/core';

/** Storage that is only a size. */
interface Slot {
  size: number;
}

const slot = (size: number): Slot => ({ size });

class NullKernels implements KernelBackend<Slot> {
  readonly name = 'null';
  readonly dtype: DType = 'float32';
  readonly description = 'kernels that do no arithmetic: core alone';

  upload(values: ArrayLike<number>): Slot {
    return slot(values.length);
  }
  async download(_data: Slot, size: number): Promise<FloatArray> {
    return new Float32Array(size);
  }
  downloadSync(_data: Slot, size: number): FloatArray {
    return new Float32Array(size);
  }
  write(): void {}
  free(): void {}

  matmul(_a: Slot, _b: Slot, { m, n }: MatmulDims): Slot {
    return slot(m * n);
  }
  unary(_op: string, _x: Slot, size: number): Slot {
    return slot(size);
  }
  binary(_op: string, _a: Slot, _b: Slot, { rows, cols }: { rows: number; cols: number }): Slot {
    return slot(rows * cols);
  }
  reduce(_op: string, _x: Slot, rows: number, cols: number, axis: 0 | 1): Slot {
    return slot(axis === 0 ? cols : rows);
  }
  gatherRows(_x: Slot, indices: Int32Array, width: number): Slot {
    return slot(indices.length * width);
  }
  gather(_x: Slot, _map: unknown, { batch, outSize }: GatherDims): Slot {
    return slot(batch * outSize);
  }
  scatterAdd(_v: Slot, _map: unknown, { batch, inSize }: GatherDims): Slot {
    return slot(batch * inSize);
  }

  // the composed kernels wasm overrides
  relu(_x: Slot, size: number): Slot {
    return slot(size);
  }
  reluBackward(_dout: Slot, _out: Slot, size: number): Slot {
    return slot(size);
  }
  sigmoid(_x: Slot, size: number): Slot {
    return slot(size);
  }
  sigmoidBackward(_dout: Slot, _out: Slot, size: number): Slot {
    return slot(size);
  }
  softmaxCrossEntropy(_logits: Slot, _labels: Slot, { batch, classes }: LabelDims): [Slot, Slot] {
    return [slot(batch * classes), slot(1)];
  }
  softmaxCrossEntropyBackward(_probs: Slot, _labels: Slot, { batch, classes }: LabelDims): Slot {
    return slot(batch * classes);
  }
  sgdUpdate(): void {}
  adamUpdate(): void {}
  countCorrect(): Slot {
    return slot(1);
  }
  im2col(_x: Slot, d: WindowDims): Slot {
    return slot(d.batch * d.outHeight * d.outWidth * d.channels * d.windowHeight * d.windowWidth);
  }
  col2im(_col: Slot, d: WindowDims): Slot {
    return slot(d.batch * d.channels * d.height * d.width);
  }
  maxPool(_x: Slot, d: WindowDims): [Slot, Slot] {
    const windows = d.batch * d.channels * d.outHeight * d.outWidth;
    return [slot(windows), slot(windows)];
  }
  maxPoolBackward(_dout: Slot, _argmax: Slot, d: WindowDims): Slot {
    return slot(d.batch * d.channels * d.height * d.width);
  }
}

/** A Backend over kernels that do nothing: what a step costs in core alone. */
export function nullBackend(): Backend {
  return new Backend(new NullKernels());
}
