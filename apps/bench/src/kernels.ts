/**
 * The kernels at the network's real shapes (784-50-10, batch 100), with real MNIST images
 * as x: the three products of each Affine layer and softmax-cross-entropy forward +
 * backward. Backends only.
 */
import { type Backend, Random, type Tensor } from '@backprop/core';
import type { Mnist } from '@backprop/mnist';

export interface KernelWork {
  name: string;
  /** Nominal floating-point operations per call (products only), for GFLOP/s. */
  flops: number;
  /** `call` runs the kernel once and returns its result, for the caller to read or free. */
  setup(backend: Backend): { call(): Tensor; dispose(): void };
}

function tensors(backend: Backend, mnist: Mnist) {
  const random = new Random(3);
  const held: Tensor[] = [];
  const t = (values: ArrayLike<number>, shape: number[]) => {
    const tensor = backend.tensor(values, shape);
    held.push(tensor);
    return tensor;
  };
  return {
    x: t(mnist.train.images.subarray(0, 100 * 784), [100, 784]),
    W1: t(random.normalArray(784 * 50, 0.01), [784, 50]),
    dout1: t(random.normalArray(100 * 50, 0.01), [100, 50]),
    z1: t(
      random.normalArray(100 * 50).map((v) => Math.max(v, 0)),
      [100, 50],
    ),
    W2: t(random.normalArray(50 * 10, 0.01), [50, 10]),
    dout2: t(random.normalArray(100 * 10, 0.01), [100, 10]),
    logits: t(random.normalArray(100 * 10), [100, 10]),
    labels: t(Array.from(mnist.train.labels.subarray(0, 100)), [100]),
    release: () => {
      for (const tensor of held) backend.dispose(tensor);
    },
  };
}

function product(
  name: string,
  flops: number,
  run: (b: Backend, d: ReturnType<typeof tensors>) => Tensor,
): (mnist: Mnist) => KernelWork {
  return (mnist) => ({
    name,
    flops,
    setup(backend) {
      const data = tensors(backend, mnist);
      return { call: () => run(backend, data), dispose: data.release };
    },
  });
}

export const KERNEL_WORK: ((mnist: Mnist) => KernelWork)[] = [
  product('x·W1 [100×784·784×50]', 2 * 100 * 784 * 50, (b, d) => b.matmul(d.x, d.W1)),
  product('dout·W1ᵀ [100×50·50×784]', 2 * 100 * 784 * 50, (b, d) =>
    b.matmul(d.dout1, d.W1, { transposeB: true }),
  ),
  product('xᵀ·dout [784×100·100×50]', 2 * 100 * 784 * 50, (b, d) =>
    b.matmul(d.x, d.dout1, { transposeA: true }),
  ),
  product('z1·W2 [100×50·50×10]', 2 * 100 * 50 * 10, (b, d) => b.matmul(d.z1, d.W2)),
  product('dout·W2ᵀ [100×10·10×50]', 2 * 100 * 50 * 10, (b, d) =>
    b.matmul(d.dout2, d.W2, { transposeB: true }),
  ),
  product('z1ᵀ·dout [50×100·100×10]', 2 * 100 * 50 * 10, (b, d) =>
    b.matmul(d.z1, d.dout2, { transposeA: true }),
  ),
  (mnist) => ({
    name: 'softmax-cross-entropy fwd+bwd [100×10]',
    flops: 0,
    setup(backend) {
      const d = tensors(backend, mnist);
      return {
        call() {
          const { probs, loss } = backend.softmaxCrossEntropy(d.logits, d.labels);
          const dx = backend.softmaxCrossEntropyBackward(probs, d.labels);
          backend.dispose(probs);
          backend.dispose(loss);
          return dx;
        },
        dispose: d.release,
      };
    },
  }),
];
