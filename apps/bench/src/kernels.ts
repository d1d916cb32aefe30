/**
 * The kernels at the networks' real shapes, with real MNIST images as x: the three products
 * of each Affine layer of the book's net (784-50-10, batch 100) and softmax-cross-entropy
 * forward + backward; SimpleConvNet's convolution (forward, and its parameter gradients)
 * and Affine1's three products at its batch; and a dense 512×512×512 product, the shape
 * GEMM speeds are usually quoted at. Backends only.
 */
import { type Backend, Random, type Tensor } from '@backprop/core';
import type { Mnist } from '@backprop/mnist';

export interface KernelWork {
  name: string;
  /** Nominal floating-point operations per call (products only), for GFLOP/s. */
  flops: number;
  /**
   * The operations that change the result: a product whose A is made of MNIST pixels
   * (x: ~80% zeros) counts only A's nonzeros, as a
   * kernel that skips zeros does its work. Absent: the same as `flops`.
   */
  usefulFlops?: number;
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
  /** Ten batches of x, one after another: see `product`. */
  const xs = Array.from({ length: X_BATCHES }, (_, i) =>
    t(mnist.train.images.subarray(i * 100 * 784, (i + 1) * 100 * 784), [100, 784]),
  );
  return {
    x: xs[0] as Tensor,
    xs,
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

/**
 * The products whose A is x take the next of ten real batches at each call, as a training
 * step does: on one batch again and again, a kernel that branches on where the nonzeros
 * are runs faster than it ever does in training — the CPU's branch predictor learns the
 * batch (measured: wasm's sparse x·W1 at 81 µs on one batch, 127 µs inside the step).
 */
const X_BATCHES = 10;

function product(
  name: string,
  flops: number,
  run: (b: Backend, d: ReturnType<typeof tensors>) => Tensor,
  /** x·… products: only x's nonzero pixels change the result (50 columns each). */
  xIsA = false,
): (mnist: Mnist) => KernelWork {
  return (mnist) => ({
    name,
    flops,
    ...(xIsA
      ? {
          usefulFlops:
            (2 * nonzeros(mnist.train.images.subarray(0, X_BATCHES * 100 * 784)) * 50) / X_BATCHES,
        }
      : {}),
    setup(backend) {
      const data = tensors(backend, mnist);
      let calls = 0;
      const call = xIsA
        ? () => run(backend, { ...data, x: data.xs[calls++ % X_BATCHES] as Tensor })
        : () => run(backend, data);
      return { call, dispose: data.release };
    },
  });
}

/** The nonzeros of `values`. */
function nonzeros(values: ArrayLike<number>): number {
  let count = 0;
  for (let i = 0; i < values.length; i++) if (values[i] !== 0) count++;
  return count;
}

/** One product A·B (or with a transposed operand) on tensors made once per backend. */
function fixedProduct(
  name: string,
  flops: number,
  usefulFlops: number | undefined,
  operands: () => {
    a: ArrayLike<number>;
    aShape: number[];
    b: ArrayLike<number>;
    bShape: number[];
  },
  options: { transposeA?: boolean; transposeB?: boolean },
): KernelWork {
  return {
    name,
    flops,
    ...(usefulFlops === undefined ? {} : { usefulFlops }),
    setup(backend) {
      const { a, aShape, b, bShape } = operands();
      const ta = backend.tensor(a, aShape);
      const tb = backend.tensor(b, bShape);
      return {
        call: () => backend.matmul(ta, tb, options),
        dispose() {
          backend.dispose(ta);
          backend.dispose(tb);
        },
      };
    },
  };
}

/**
 * SimpleConvNet's convolution (30 5×5 filters on `batch` MNIST images of 28×28) forward,
 * and its parameter gradients from a dout that is mostly zeros (as max pooling's and
 * ReLU's backward leave it), as the layer calls them: `Backend.convolution` and
 * `convolutionGradients` (a backend's direct kernel, or the book's im2col and product).
 */
function convolutionWork(mnist: Mnist, batch: number, gradients: boolean): KernelWork {
  const flops = 2 * batch * 30 * 576 * 25;
  return {
    name: gradients
      ? `conv dW, db [${batch}×1×28×28, dout ${batch}×30×24×24]`
      : `conv forward [${batch}×1×28×28 ⊛ 30×1×5×5 + b]`,
    flops,
    setup(backend) {
      const random = new Random(6);
      const x = backend.tensor(mnist.train.images.subarray(0, batch * 784), [batch, 1, 28, 28]);
      const W = backend.tensor(random.normalArray(30 * 25, 0.1), [30, 1, 5, 5]);
      const b = backend.tensor(random.normalArray(30, 0.1), [30]);
      const dout = backend.tensor(
        random.normalArray(batch * 30 * 576, 0.01).map((v, i) => (i % 4 === 0 ? v : 0)),
        [batch, 30, 24, 24],
      );
      const step = { stride: 1, pad: 0 };
      // the gradients as the layer calls them: with forward's col where the backend composed
      const forward = gradients ? backend.convolution(x, W, b, step) : null;
      if (forward) backend.dispose(forward.out);
      const col = forward?.col ?? null;
      return {
        call() {
          if (gradients) {
            const { dW, db } = backend.convolutionGradients(x, dout, W.shape, step, col);
            backend.dispose(db);
            return dW;
          }
          const { out, col: unused } = backend.convolution(x, W, b, step);
          if (unused) backend.dispose(unused);
          return out;
        },
        dispose() {
          for (const t of [x, W, b, dout, col]) if (t) backend.dispose(t);
        },
      };
    },
  };
}

/**
 * SimpleConvNet's convolution and products at batch `batch` (conv 30 5×5 on 28×28; Affine1
 * 4320 → 100), as its layers call them.
 */
export function convnetKernelWork(mnist: Mnist, batch: number): KernelWork[] {
  const random = new Random(5);
  const normal = (count: number, std = 0.1) => random.normalArray(count, std);
  // Affine1's input is 2×2 max pooling of ReLU output: zero only where all four values
  // were (1/16 here; 0–26 % in a real step, measured over 50 steps of training), so the
  // products take the dense path, as in the step. Half zeros, as here before, sat on the
  // wasm backend's sparse/dense line and timed whichever path a sample of zeros chose.
  const values = random.normalArray(batch * 4320 * 4);
  const pooled = Array.from({ length: batch * 4320 }, (_, i) =>
    Math.max(
      values[4 * i] as number,
      values[4 * i + 1] as number,
      values[4 * i + 2] as number,
      values[4 * i + 3] as number,
      0,
    ),
  );
  const work = (f: number) => 2 * f;
  return [
    convolutionWork(mnist, batch, false),
    convolutionWork(mnist, batch, true),
    fixedProduct(
      `affine1 x·W [${batch}×4320·4320×100]`,
      work(batch * 4320 * 100),
      undefined,
      () => ({
        a: pooled,
        aShape: [batch, 4320],
        b: normal(4320 * 100, 0.01),
        bShape: [4320, 100],
      }),
      {},
    ),
    fixedProduct(
      `affine1 dout·Wᵀ [${batch}×100·100×4320]`,
      work(batch * 4320 * 100),
      undefined,
      () => ({
        a: normal(batch * 100, 0.01),
        aShape: [batch, 100],
        b: normal(4320 * 100, 0.01),
        bShape: [4320, 100],
      }),
      { transposeB: true },
    ),
    fixedProduct(
      `affine1 xᵀ·dout [4320×${batch}·${batch}×100]`,
      work(batch * 4320 * 100),
      undefined,
      () => ({
        a: pooled,
        aShape: [batch, 4320],
        b: normal(batch * 100, 0.01),
        bShape: [batch, 100],
      }),
      { transposeA: true },
    ),
  ];
}

/** A dense square product, `square`³: the GEMM's shape where nothing is sparse or thin. */
export function squareWork(square: number): KernelWork {
  const random = new Random(6);
  return fixedProduct(
    `dense A·B [${square}×${square}·${square}×${square}]`,
    2 * square ** 3,
    undefined,
    () => ({
      a: random.normalArray(square * square, 0.1),
      aShape: [square, square],
      b: random.normalArray(square * square, 0.1),
      bShape: [square, square],
    }),
    {},
  );
}

export const KERNEL_WORK: ((mnist: Mnist) => KernelWork)[] = [
  product('x·W1 [100×784·784×50]', 2 * 100 * 784 * 50, (b, d) => b.matmul(d.x, d.W1), true),
  product('dout·W1ᵀ [100×50·50×784]', 2 * 100 * 784 * 50, (b, d) =>
    b.matmul(d.dout1, d.W1, { transposeB: true }),
  ),
  product(
    'xᵀ·dout [784×100·100×50]',
    2 * 100 * 784 * 50,
    (b, d) => b.matmul(d.x, d.dout1, { transposeA: true }),
    true,
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
