/**
 * The kernel bodies, as gpu.js compiles them to GLSL or WGSL (or its WebAssembly engine
 * runs them): one function a kernel, one output value a thread. Every tensor is a flat
 * list of values here, whatever its shape: gpu.js packs a flat output into the squarest
 * texture that holds it, so no tensor meets a GL texture's width or height limit (an
 * im2col of a batch is [57 600, 25], a convolution's output 17 280 values a sample). A
 * thread's `this.thread.x` is its value's flat index; a kernel that works by rows and
 * columns recovers them as `row = floor((i + 0.5) / cols)` (the + 0.5 keeps floor()
 * right where a GPU's division rounds a whole number down). Loop bounds are constants
 * fixed when a kernel is compiled for its shapes.
 *
 * They are source text, not functions, because gpu.js parses them: a bundler's minifier
 * would otherwise rewrite them into forms gpu.js cannot translate.
 */
import type { BinaryOp, ReduceOp, UnaryOp } from '@backprop/core';

const UNARY: Record<UnaryOp, string> = {
  neg: '-v',
  exp: 'Math.exp(v)',
  log: 'Math.log(v)',
  sqrt: 'Math.sqrt(v)',
};

const BINARY: Record<BinaryOp, string> = {
  add: 'return va + vb;',
  sub: 'return va - vb;',
  mul: 'return va * vb;',
  div: 'return va / vb;',
  maximum: 'return Math.max(va, vb);',
  greater: 'if (va > vb)\n        return 1;\n    return 0;',
  equal: 'if (va === vb)\n        return 1;\n    return 0;',
};

/** The element-wise kernels: op(x) at the thread's own place. */
export const unarySource = (op: UnaryOp) => `function (x) {
    const v = x[this.thread.x];
    return ${UNARY[op]};
  }`;

/**
 * op(a, b) for a [rows, cols] output, each operand read through its strides: a row
 * stride of 0 repeats a row (a bias), a column stride of 0 repeats a value along the
 * row — numpy's broadcast.
 */
export const binarySource = (op: BinaryOp) => `function (a, b) {
    const i = this.thread.x;
    const row = Math.floor((i + 0.5) / this.constants.cols);
    const col = i - row * this.constants.cols;
    const va = a[row * this.constants.aRow + col * this.constants.aCol];
    const vb = b[row * this.constants.bRow + col * this.constants.bCol];
    ${BINARY[op]}
  }`;

/**
 * A reduction of x [rows, cols]: thread o walks `count` values from `o·outerStride`,
 * `innerStride` apart (down a column for axis 0, along a row for axis 1, over a chunk
 * for a whole tensor's first stage). `argmax` keeps the first of equal maxima, as numpy.
 */
export const reduceSource = (op: ReduceOp) => {
  const at = 'x[start + k * this.constants.innerStride]';
  const head = `const start = this.thread.x * this.constants.outerStride;`;
  if (op === 'sum') {
    return `function (x) {
    ${head}
    let sum = 0;
    for (let k = 0; k < this.constants.count; k++) {
        if (start + k * this.constants.innerStride < this.constants.size)
            sum += ${at};
    }
    return sum;
  }`;
  }
  return `function (x) {
    ${head}
    let best = 0;
    let bestValue = x[start];
    for (let k = 1; k < this.constants.count; k++) {
        if (start + k * this.constants.innerStride < this.constants.size) {
            const v = ${at};
            if (v > bestValue) {
                best = k;
                bestValue = v;
            }
        }
    }
    ${op === 'max' ? 'return bestValue;' : 'return best;'}
  }`;
};

/** op(a)·op(b) = [m,k]·[k,n]: a stored [k,m] when transposed (`aᵀ`), b [n,k]. */
const matmul = (a: string, b: string) => `function (a, b) {
    const i = this.thread.x;
    const row = Math.floor((i + 0.5) / this.constants.n);
    const col = i - row * this.constants.n;
    let sum = 0;
    for (let p = 0; p < this.constants.k; p++)
        sum += a[${a}] * b[${b}];
    return sum;
  }`;

export const KERNELS = {
  matmulNN: matmul('row * this.constants.k + p', 'p * this.constants.n + col'),
  matmulTN: matmul('p * this.constants.m + row', 'p * this.constants.n + col'),
  matmulNT: matmul('row * this.constants.k + p', 'col * this.constants.k + p'),
  matmulTT: matmul('p * this.constants.m + row', 'col * this.constants.k + p'),
  addBias: `function (x, bias) {
    const i = this.thread.x;
    const row = Math.floor((i + 0.5) / this.constants.cols);
    return x[i] + bias[i - row * this.constants.cols];
  }`,
  sumColumns: `function (x) {
    let sum = 0;
    for (let r = 0; r < this.constants.rows; r++)
        sum += x[r * this.constants.cols + this.thread.x];
    return sum;
  }`,
  relu: `function (x) {
    const v = x[this.thread.x];
    if (v > 0)
        return v;
    return 0;
  }`,
  // x <= 0 passed no gradient; out > 0 exactly where x > 0
  reluBackward: `function (dout, out) {
    if (out[this.thread.x] > 0)
        return dout[this.thread.x];
    return 0;
  }`,
  sigmoid: `function (x) {
    return 1 / (1 + Math.exp(-x[this.thread.x]));
  }`,
  sigmoidBackward: `function (dout, out) {
    const y = out[this.thread.x];
    return dout[this.thread.x] * y * (1 - y);
  }`,
  // the row's max is subtracted before exp, so logits of 1000 do not overflow
  softmax: `function (x) {
    const i = this.thread.x;
    const start = Math.floor((i + 0.5) / this.constants.classes) * this.constants.classes;
    let max = x[start];
    for (let j = 1; j < this.constants.classes; j++)
        max = Math.max(max, x[start + j]);
    let sum = 0;
    for (let j = 0; j < this.constants.classes; j++)
        sum += Math.exp(x[start + j] - max);
    return Math.exp(x[i] - max) / sum;
  }`,
  // each row's −Σ t·log(p + delta); labels are class indices (oneHot 0) or one-hot rows (1)
  crossEntropyRows: `function (probs, labels, delta) {
    const start = this.thread.x * this.constants.classes;
    let loss = 0;
    for (let j = 0; j < this.constants.classes; j++) {
        let t = 0;
        if (this.constants.oneHot > 0)
            t = labels[start + j];
        else if (Math.abs(labels[this.thread.x] - j) < 0.5)
            t = 1;
        if (t !== 0)
            loss -= t * Math.log(probs[start + j] + delta);
    }
    return loss;
  }`,
  softmaxCrossEntropyBackward: `function (probs, labels) {
    const i = this.thread.x;
    const row = Math.floor((i + 0.5) / this.constants.classes);
    let t = 0;
    if (this.constants.oneHot > 0)
        t = labels[i];
    else if (Math.abs(labels[row] - (i - row * this.constants.classes)) < 0.5)
        t = 1;
    return (probs[i] - t) / this.constants.batch;
  }`,
  sgdUpdate: `function (w, g, learningRate) {
    return w[this.thread.x] - learningRate * g[this.thread.x];
  }`,
  // 1 where the row's first largest score is at the label's class
  correctRows: `function (scores, labels) {
    const start = this.thread.x * this.constants.classes;
    let best = 0;
    for (let j = 1; j < this.constants.classes; j++)
        if (scores[start + j] > scores[start + best])
            best = j;
    let label = 0;
    if (this.constants.oneHot > 0) {
        for (let j = 1; j < this.constants.classes; j++)
            if (labels[start + j] > labels[start + label])
                label = j;
    }
    else
        label = Math.floor(labels[this.thread.x] + 0.5);
    if (best === label)
        return 1;
    return 0;
  }`,
  // Σ of `count` values, times `scale` (a batch's mean loss, a count of correct rows)
  sumAll: `function (values) {
    let sum = 0;
    for (let k = 0; k < this.constants.count; k++)
        sum += values[k];
    return sum * this.constants.scale;
  }`,
  // the rows of x (each `width` values) at `rows`
  gatherRows: `function (x, rows) {
    const i = this.thread.x;
    const r = Math.floor((i + 0.5) / this.constants.width);
    return x[rows[r] * this.constants.width + i - r * this.constants.width];
  }`,
  // each sample rearranged by a map: index [outSize], −1 for a 0
  gatherByMap: `function (x, index) {
    const i = this.thread.x;
    const b = Math.floor((i + 0.5) / this.constants.outSize);
    const j = index[i - b * this.constants.outSize];
    if (j < 0)
        return 0;
    return x[b * this.constants.inSize + j];
  }`,
  // gather's adjoint: the sum over the positions that read input value j of the sample;
  // at most maxSources of them (a constant, as loop bounds must be)
  scatterAdd: `function (values, offsets, sources) {
    const i = this.thread.x;
    const b = Math.floor((i + 0.5) / this.constants.inSize);
    const j = i - b * this.constants.inSize;
    const start = offsets[j];
    const count = offsets[j + 1] - start;
    const from = b * this.constants.outSize;
    let sum = 0;
    for (let k = 0; k < this.constants.maxSources; k++) {
        if (k < count) {
            sum += values[from + sources[start + k]];
        }
    }
    return sum;
  }`,
};

export type KernelName = keyof typeof KERNELS;
