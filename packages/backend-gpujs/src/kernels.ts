/**
 * The kernel bodies, as gpu.js compiles them to GLSL (or its WebAssembly engine runs
 * them): one function a kernel, one output value a thread. Every tensor is a matrix
 * [rows, cols] here; a thread's (x, y) is (column, row). Loop bounds are constants
 * fixed when a kernel is compiled for its shapes.
 */
/* biome-ignore-all lint/complexity/useArrowFunction: gpu.js reads `this.thread`, so these must be functions */

export interface KernelThis {
  thread: { x: number; y: number };
  constants: Record<string, number>;
}
type M = number[][];

export const KERNELS = {
  matmulNN(this: KernelThis, a: M, b: M) {
    let sum = 0;
    for (let p = 0; p < this.constants.k; p++) sum += a[this.thread.y][p] * b[p][this.thread.x];
    return sum;
  },
  matmulTN(this: KernelThis, a: M, b: M) {
    let sum = 0;
    for (let p = 0; p < this.constants.k; p++) sum += a[p][this.thread.y] * b[p][this.thread.x];
    return sum;
  },
  matmulNT(this: KernelThis, a: M, b: M) {
    let sum = 0;
    for (let p = 0; p < this.constants.k; p++) sum += a[this.thread.y][p] * b[this.thread.x][p];
    return sum;
  },
  matmulTT(this: KernelThis, a: M, b: M) {
    let sum = 0;
    for (let p = 0; p < this.constants.k; p++) sum += a[p][this.thread.y] * b[this.thread.x][p];
    return sum;
  },
  addBias(this: KernelThis, x: M, bias: M) {
    return x[this.thread.y][this.thread.x] + bias[0][this.thread.x];
  },
  sumColumns(this: KernelThis, x: M) {
    let sum = 0;
    for (let i = 0; i < this.constants.rows; i++) sum += x[i][this.thread.x];
    return sum;
  },
  add(this: KernelThis, a: M, b: M) {
    return a[this.thread.y][this.thread.x] + b[this.thread.y][this.thread.x];
  },
  mul(this: KernelThis, a: M, b: M) {
    return a[this.thread.y][this.thread.x] * b[this.thread.y][this.thread.x];
  },
  relu(this: KernelThis, x: M) {
    const v = x[this.thread.y][this.thread.x];
    if (v > 0) return v;
    return 0;
  },
  // x <= 0 passed no gradient; out > 0 exactly where x > 0
  reluBackward(this: KernelThis, dout: M, out: M) {
    if (out[this.thread.y][this.thread.x] > 0) return dout[this.thread.y][this.thread.x];
    return 0;
  },
  sigmoid(this: KernelThis, x: M) {
    return 1 / (1 + Math.exp(-x[this.thread.y][this.thread.x]));
  },
  sigmoidBackward(this: KernelThis, dout: M, out: M) {
    const y = out[this.thread.y][this.thread.x];
    return dout[this.thread.y][this.thread.x] * y * (1 - y);
  },
  // the row's max is subtracted before exp, so logits of 1000 do not overflow
  softmax(this: KernelThis, x: M) {
    let max = x[this.thread.y][0];
    for (let j = 1; j < this.constants.classes; j++) max = Math.max(max, x[this.thread.y][j]);
    let sum = 0;
    for (let j = 0; j < this.constants.classes; j++) sum += Math.exp(x[this.thread.y][j] - max);
    return Math.exp(x[this.thread.y][this.thread.x] - max) / sum;
  },
  // the target probability t[i][j], from class indices (oneHot 0) or one-hot rows (1)
  crossEntropyRows(this: KernelThis, probs: M, labels: M, delta: number) {
    let loss = 0;
    for (let j = 0; j < this.constants.classes; j++) {
      let t = 0;
      if (this.constants.oneHot > 0) t = labels[this.thread.x][j];
      else if (Math.abs(labels[0][this.thread.x] - j) < 0.5) t = 1;
      if (t !== 0) loss -= t * Math.log(probs[this.thread.x][j] + delta);
    }
    return loss;
  },
  meanOfRow(this: KernelThis, values: M) {
    let sum = 0;
    for (let i = 0; i < this.constants.count; i++) sum += values[0][i];
    return sum / this.constants.count;
  },
  softmaxCrossEntropyBackward(this: KernelThis, probs: M, labels: M) {
    let t = 0;
    if (this.constants.oneHot > 0) t = labels[this.thread.y][this.thread.x];
    else if (Math.abs(labels[0][this.thread.y] - this.thread.x) < 0.5) t = 1;
    return (probs[this.thread.y][this.thread.x] - t) / this.constants.batch;
  },
  sgdUpdate(this: KernelThis, w: M, g: M, learningRate: number) {
    return w[this.thread.y][this.thread.x] - learningRate * g[this.thread.y][this.thread.x];
  },
  // 1 where the row's first largest score is at the label's class
  correctRows(this: KernelThis, scores: M, labels: M) {
    let best = 0;
    for (let j = 1; j < this.constants.classes; j++)
      if (scores[this.thread.x][j] > scores[this.thread.x][best]) best = j;
    let label = 0;
    if (this.constants.oneHot > 0) {
      for (let j = 1; j < this.constants.classes; j++)
        if (labels[this.thread.x][j] > labels[this.thread.x][label]) label = j;
    } else label = Math.floor(labels[0][this.thread.x] + 0.5);
    if (best === label) return 1;
    return 0;
  },
  sumOfRow(this: KernelThis, values: M) {
    let sum = 0;
    for (let i = 0; i < this.constants.count; i++) sum += values[0][i];
    return sum;
  },
  gatherRows(this: KernelThis, x: M, rows: M) {
    return x[rows[0][this.thread.y]][this.thread.x];
  },
};

export type KernelName = keyof typeof KERNELS;
