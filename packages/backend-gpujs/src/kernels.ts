/**
 * The kernel bodies, as gpu.js compiles them to GLSL (or its WebAssembly engine runs
 * them): one function a kernel, one output value a thread. Every tensor is a matrix
 * [rows, cols] here; a thread's (x, y) is (column, row). Loop bounds are constants
 * fixed when a kernel is compiled for its shapes.
 *
 * They are source text, not functions, because gpu.js parses them: a bundler's minifier
 * would otherwise rewrite them into forms gpu.js cannot translate.
 */
export const KERNELS = {
  matmulNN: `function (a, b) {
    let sum = 0;
    for (let p = 0; p < this.constants.k; p++)
        sum += a[this.thread.y][p] * b[p][this.thread.x];
    return sum;
  }`,
  matmulTN: `function (a, b) {
    let sum = 0;
    for (let p = 0; p < this.constants.k; p++)
        sum += a[p][this.thread.y] * b[p][this.thread.x];
    return sum;
  }`,
  matmulNT: `function (a, b) {
    let sum = 0;
    for (let p = 0; p < this.constants.k; p++)
        sum += a[this.thread.y][p] * b[this.thread.x][p];
    return sum;
  }`,
  matmulTT: `function (a, b) {
    let sum = 0;
    for (let p = 0; p < this.constants.k; p++)
        sum += a[p][this.thread.y] * b[this.thread.x][p];
    return sum;
  }`,
  addBias: `function (x, bias) {
    return x[this.thread.y][this.thread.x] + bias[0][this.thread.x];
  }`,
  sumColumns: `function (x) {
    let sum = 0;
    for (let i = 0; i < this.constants.rows; i++)
        sum += x[i][this.thread.x];
    return sum;
  }`,
  add: `function (a, b) {
    return a[this.thread.y][this.thread.x] + b[this.thread.y][this.thread.x];
  }`,
  mul: `function (a, b) {
    return a[this.thread.y][this.thread.x] * b[this.thread.y][this.thread.x];
  }`,
  relu: `function (x) {
    const v = x[this.thread.y][this.thread.x];
    if (v > 0)
        return v;
    return 0;
  }`,
  // x <= 0 passed no gradient; out > 0 exactly where x > 0
  reluBackward: `function (dout, out) {
    if (out[this.thread.y][this.thread.x] > 0)
        return dout[this.thread.y][this.thread.x];
    return 0;
  }`,
  sigmoid: `function (x) {
    return 1 / (1 + Math.exp(-x[this.thread.y][this.thread.x]));
  }`,
  sigmoidBackward: `function (dout, out) {
    const y = out[this.thread.y][this.thread.x];
    return dout[this.thread.y][this.thread.x] * y * (1 - y);
  }`,
  // the row's max is subtracted before exp, so logits of 1000 do not overflow
  softmax: `function (x) {
    let max = x[this.thread.y][0];
    for (let j = 1; j < this.constants.classes; j++)
        max = Math.max(max, x[this.thread.y][j]);
    let sum = 0;
    for (let j = 0; j < this.constants.classes; j++)
        sum += Math.exp(x[this.thread.y][j] - max);
    return Math.exp(x[this.thread.y][this.thread.x] - max) / sum;
  }`,
  // each row's −Σ t·log(p + delta); labels are class indices (oneHot 0) or one-hot rows (1)
  crossEntropyRows: `function (probs, labels, delta) {
    let loss = 0;
    for (let j = 0; j < this.constants.classes; j++) {
        let t = 0;
        if (this.constants.oneHot > 0)
            t = labels[this.thread.x][j];
        else if (Math.abs(labels[0][this.thread.x] - j) < 0.5)
            t = 1;
        if (t !== 0)
            loss -= t * Math.log(probs[this.thread.x][j] + delta);
    }
    return loss;
  }`,
  meanOfRow: `function (values) {
    let sum = 0;
    for (let i = 0; i < this.constants.count; i++)
        sum += values[0][i];
    return sum / this.constants.count;
  }`,
  softmaxCrossEntropyBackward: `function (probs, labels) {
    let t = 0;
    if (this.constants.oneHot > 0)
        t = labels[this.thread.y][this.thread.x];
    else if (Math.abs(labels[0][this.thread.y] - this.thread.x) < 0.5)
        t = 1;
    return (probs[this.thread.y][this.thread.x] - t) / this.constants.batch;
  }`,
  sgdUpdate: `function (w, g, learningRate) {
    return w[this.thread.y][this.thread.x] - learningRate * g[this.thread.y][this.thread.x];
  }`,
  // 1 where the row's first largest score is at the label's class
  correctRows: `function (scores, labels) {
    let best = 0;
    for (let j = 1; j < this.constants.classes; j++)
        if (scores[this.thread.x][j] > scores[this.thread.x][best])
            best = j;
    let label = 0;
    if (this.constants.oneHot > 0) {
        for (let j = 1; j < this.constants.classes; j++)
            if (labels[this.thread.x][j] > labels[this.thread.x][label])
                label = j;
    }
    else
        label = Math.floor(labels[0][this.thread.x] + 0.5);
    if (best === label)
        return 1;
    return 0;
  }`,
  sumOfRow: `function (values) {
    let sum = 0;
    for (let i = 0; i < this.constants.count; i++)
        sum += values[0][i];
    return sum;
  }`,
  gatherRows: `function (x, rows) {
    return x[rows[0][this.thread.y]][this.thread.x];
  }`,
};

export type KernelName = keyof typeof KERNELS;
