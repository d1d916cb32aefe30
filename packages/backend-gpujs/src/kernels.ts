/**
 * The kernel bodies, as gpu.js compiles them to GLSL (or its WebAssembly engine runs
 * them): one function a kernel, one output value a thread. Every tensor is a matrix
 * [rows, cols] here; a thread's (x, y) is (column, row). Loop bounds are constants
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
    const v = x[this.thread.y][this.thread.x];
    return ${UNARY[op]};
  }`;

/**
 * op(a, b) with broadcasting: an operand whose rows (or columns) are 1 is read at row
 * (column) 0 whatever the thread's, which is numpy's broadcast of that axis.
 */
export const binarySource = (op: BinaryOp) => `function (a, b) {
    let ay = this.thread.y;
    let ax = this.thread.x;
    let by = this.thread.y;
    let bx = this.thread.x;
    if (this.constants.aRowOne > 0)
        ay = 0;
    if (this.constants.aColOne > 0)
        ax = 0;
    if (this.constants.bRowOne > 0)
        by = 0;
    if (this.constants.bColOne > 0)
        bx = 0;
    const va = a[ay][ax];
    const vb = b[by][bx];
    ${BINARY[op]}
  }`;

/**
 * Reductions: along axis 0 a thread is a column and walks the rows (the output is a
 * row [1, cols]); along axis 1 a thread is a row and walks the columns (a column [rows, 1]).
 * `argmax` keeps the first of equal maxima, as numpy.
 */
export const reduceSource = (op: ReduceOp, axis: 0 | 1) => {
  const at = axis === 0 ? 'x[i][this.thread.x]' : 'x[this.thread.y][i]';
  const count = axis === 0 ? 'this.constants.rows' : 'this.constants.cols';
  const first = axis === 0 ? 'x[0][this.thread.x]' : 'x[this.thread.y][0]';
  if (op === 'sum') {
    return `function (x) {
    let sum = 0;
    for (let i = 0; i < ${count}; i++)
        sum += ${at};
    return sum;
  }`;
  }
  return `function (x) {
    let best = 0;
    let bestValue = ${first};
    for (let i = 1; i < ${count}; i++) {
        const v = ${at};
        if (v > bestValue) {
            best = i;
            bestValue = v;
        }
    }
    ${op === 'max' ? 'return bestValue;' : 'return best;'}
  }`;
};

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
  // The same values in another [rows, cols]: value i of the output is value i of the
  // source. (+ 0.5 keeps floor() right where a GPU's division rounds a whole number down.)
  relayout: `function (source) {
    const i = this.thread.y * this.constants.cols + this.thread.x;
    const row = Math.floor((i + 0.5) / this.constants.sourceCols);
    return source[row][i - row * this.constants.sourceCols];
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
  // Each sample (a row) rearranged by a map: index [1, outSize], −1 for a 0.
  gatherByMap: `function (x, index) {
    const j = index[0][this.thread.x];
    if (j < 0)
        return 0;
    return x[this.thread.y][j];
  }`,
  // gather's adjoint: the sum over the positions that read input value (column) x of the
  // sample; at most maxSources of them (a constant, as loop bounds must be).
  scatterAdd: `function (values, offsets, sources) {
    const start = offsets[0][this.thread.x];
    const count = offsets[0][this.thread.x + 1] - start;
    let sum = 0;
    for (let k = 0; k < this.constants.maxSources; k++) {
        if (k < count) {
            sum += values[this.thread.y][sources[0][start + k]];
        }
    }
    return sum;
  }`,
};

export type KernelName = keyof typeof KERNELS;
