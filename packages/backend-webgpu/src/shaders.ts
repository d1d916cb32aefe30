/**
 * The kernels in WGSL, one compute shader each. Every tensor is a flat `array<f32>` in a
 * storage buffer; each shader's dimensions come in a small uniform (`P`). Element-wise
 * shaders run one invocation a value on a 2-D grid of WIDTH-wide workgroups (a grid,
 * because one dimension holds at most 65 535 workgroups); INDEX turns the grid back into
 * a flat index. Workgroups stay at 64 invocations: SwiftShader aborts the process, now
 * and then, on workgroups of 256.
 */
import type { BinaryOp, ReduceOp, UnaryOp } from '@backprop/core';

const GRID = /* wgsl */ `
@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u`;
/** Invocations a workgroup, for the one-value-an-invocation shaders. */
export const WIDTH = 64;
const INDEX = /* wgsl */ `let i = gid.y * groups.x * ${WIDTH}u + gid.x;`;

/** Element-wise over `size` values: out[i] = body(a[i], b[i]…). */
function elementwise(inputs: string[], body: string, inPlace = false): string {
  const bindings = inputs
    .map(
      (name, n) =>
        `@group(0) @binding(${n}) var<storage, ${inPlace && n === 0 ? 'read_write' : 'read'}> ${name}: array<f32>;`,
    )
    .join('\n');
  const out = inPlace
    ? ''
    : `@group(0) @binding(${inputs.length}) var<storage, read_write> out: array<f32>;`;
  const uniform = inPlace ? inputs.length : inputs.length + 1;
  return /* wgsl */ `
${bindings}
${out}
struct P { size: u32, scalar: f32 }
@group(0) @binding(${uniform}) var<uniform> p: P;
@compute @workgroup_size(${WIDTH})
fn main(${GRID}) {
  ${INDEX}
  if (i >= p.size) { return; }
  ${body}
}`;
}

const UNARY: Record<UnaryOp, string> = {
  neg: '-x[i]',
  exp: 'exp(x[i])',
  log: 'log(x[i])',
  sqrt: 'sqrt(x[i])',
};

export const unaryShader = (op: UnaryOp) => elementwise(['x'], `out[i] = ${UNARY[op]};`);

const BINARY: Record<BinaryOp, string> = {
  add: 'va + vb',
  sub: 'va - vb',
  mul: 'va * vb',
  div: 'va / vb',
  maximum: 'max(va, vb)',
  greater: 'select(0.0, 1.0, va > vb)',
  equal: 'select(0.0, 1.0, va == vb)',
};

/** op(a, b) for a [rows, cols] output, each operand read through strides (0 repeats it: numpy's broadcast). */
export const binaryShader = (op: BinaryOp) => /* wgsl */ `
@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
struct P { size: u32, cols: u32, aRow: u32, aCol: u32, bRow: u32, bCol: u32 }
@group(0) @binding(3) var<uniform> p: P;
@compute @workgroup_size(${WIDTH})
fn main(${GRID}) {
  ${INDEX}
  if (i >= p.size) { return; }
  let r = i / p.cols;
  let c = i % p.cols;
  let va = a[r * p.aRow + c * p.aCol];
  let vb = b[r * p.bRow + c * p.bCol];
  out[i] = ${BINARY[op]};
}`;

/**
 * One invocation an output: along axis 0 it walks a column's `rows` values, along axis 1
 * a row's `cols`. argmax keeps the first of equal maxima, as numpy.
 */
export const reduceShader = (op: ReduceOp) => /* wgsl */ `
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
struct P { outputs: u32, inner: u32, outerStride: u32, innerStride: u32 }
@group(0) @binding(2) var<uniform> p: P;
@compute @workgroup_size(${WIDTH})
fn main(${GRID}) {
  ${INDEX}
  if (i >= p.outputs) { return; }
  let start = i * p.outerStride;
  ${
    op === 'sum'
      ? `var sum = 0.0;
  for (var k = 0u; k < p.inner; k++) { sum += x[start + k * p.innerStride]; }
  out[i] = sum;`
      : `var best = 0u;
  var value = x[start];
  for (var k = 1u; k < p.inner; k++) {
    let v = x[start + k * p.innerStride];
    if (v > value) { best = k; value = v; }
  }
  out[i] = ${op === 'max' ? 'value' : 'f32(best)'};`
  }
}`;

/**
 * op(a)·op(b) in TILE×TILE tiles: each workgroup loads a tile of each operand into
 * workgroup memory once and every invocation reads its row and column from there, TILE
 * products a load instead of one. Transposes only change how a tile is loaded. 16 on a
 * GPU; 8 (64 invocations) on SwiftShader, whose workgroups of 256 abort the process.
 */
export const matmulShader = (tile: 8 | 16) => /* wgsl */ `
@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read_write> c: array<f32>;
struct P { m: u32, k: u32, n: u32, ta: u32, tb: u32 }
@group(0) @binding(3) var<uniform> p: P;
const TILE = ${tile}u;
var<workgroup> tileA: array<array<f32, ${tile}>, ${tile}>;
var<workgroup> tileB: array<array<f32, ${tile}>, ${tile}>;

fn A(i: u32, k: u32) -> f32 {
  if (i >= p.m || k >= p.k) { return 0.0; }
  if (p.ta == 1u) { return a[k * p.m + i]; }
  return a[i * p.k + k];
}
fn B(k: u32, j: u32) -> f32 {
  if (k >= p.k || j >= p.n) { return 0.0; }
  if (p.tb == 1u) { return b[j * p.k + k]; }
  return b[k * p.n + j];
}

@compute @workgroup_size(${tile}, ${tile})
fn main(@builtin(workgroup_id) group: vec3u, @builtin(local_invocation_id) local: vec3u) {
  let row = group.y * TILE + local.y;
  let col = group.x * TILE + local.x;
  var sum = 0.0;
  for (var t = 0u; t < p.k; t += TILE) {
    tileA[local.y][local.x] = A(row, t + local.x);
    tileB[local.y][local.x] = B(t + local.y, col);
    workgroupBarrier();
    for (var k = 0u; k < TILE; k++) { sum += tileA[local.y][k] * tileB[k][local.x]; }
    workgroupBarrier();
  }
  if (row < p.m && col < p.n) { c[row * p.n + col] = sum; }
}`;

/**
 * The same product for a software adapter, without workgroup memory: SwiftShader runs a
 * workgroup's invocations as coroutines and switches among all of them at each barrier,
 * so the tiled shader took ~88 ms for 100×784·784×50 there (a product and its read,
 * Dawn's SwiftShader in Node, 2-core EPYC). Here each invocation walks its row of op(a)
 * once for four columns of op(b), with the transposes as strides rather than branches:
 * ~21 ms. The products are added in the order k = 0, 1, … as the tiled shader adds them.
 */
export const matmulByRowsShader = (tile: 8 | 16) => /* wgsl */ `
@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read_write> c: array<f32>;
struct P { m: u32, k: u32, n: u32, ta: u32, tb: u32 }
@group(0) @binding(3) var<uniform> p: P;

@compute @workgroup_size(${tile}, ${tile})
fn main(@builtin(global_invocation_id) id: vec3u) {
  let row = id.y;
  let col = id.x * 4u;
  if (row >= p.m || col >= p.n) { return; }
  // a[row, k] = a[aRow + k·aStep]; b[k, j] = b[k·bStep + j·bCol]
  var aRow = row * p.k;
  var aStep = 1u;
  if (p.ta == 1u) { aRow = row; aStep = p.m; }
  var bStep = p.n;
  var bCol = 1u;
  if (p.tb == 1u) { bStep = 1u; bCol = p.k; }
  // past the last column, read the last again (and store nothing)
  let last = p.n - 1u;
  let j = vec4u(col, min(col + 1u, last), min(col + 2u, last), min(col + 3u, last)) * bCol;
  var sum = vec4f(0.0);
  for (var k = 0u; k < p.k; k++) {
    let kb = k * bStep;
    sum += a[aRow + k * aStep] * vec4f(b[kb + j.x], b[kb + j.y], b[kb + j.z], b[kb + j.w]);
  }
  for (var i = 0u; i < min(4u, p.n - col); i++) { c[row * p.n + col + i] = sum[i]; }
}`;

/** The rows of x at `rows` (indices as u32), one after another. */
export const gatherShader = /* wgsl */ `
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> rows: array<u32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
struct P { size: u32, width: u32 }
@group(0) @binding(3) var<uniform> p: P;
@compute @workgroup_size(${WIDTH})
fn main(${GRID}) {
  ${INDEX}
  if (i >= p.size) { return; }
  out[i] = x[rows[i / p.width] * p.width + i % p.width];
}`;

/**
 * Each sample rearranged by a map: out[b, i] = x[b, index[i]], 0 where index[i] is −1
 * (the index is whole numbers stored as floats).
 */
export const gatherByMapShader = /* wgsl */ `
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> index: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
struct P { size: u32, inSize: u32, outSize: u32 }
@group(0) @binding(3) var<uniform> p: P;
@compute @workgroup_size(${WIDTH})
fn main(${GRID}) {
  ${INDEX}
  if (i >= p.size) { return; }
  let j = i32(index[i % p.outSize]);
  var value = 0.0;
  if (j >= 0) { value = x[(i / p.outSize) * p.inSize + u32(j)]; }
  out[i] = value;
}`;

/**
 * gather's adjoint, one invocation an input value: out[b, j] = Σ values[b, sources[k]]
 * for k from offsets[j] up to offsets[j + 1], in that order.
 */
export const scatterAddShader = /* wgsl */ `
@group(0) @binding(0) var<storage, read> values: array<f32>;
@group(0) @binding(1) var<storage, read> offsets: array<f32>;
@group(0) @binding(2) var<storage, read> sources: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
struct P { size: u32, inSize: u32, outSize: u32 }
@group(0) @binding(4) var<uniform> p: P;
@compute @workgroup_size(${WIDTH})
fn main(${GRID}) {
  ${INDEX}
  if (i >= p.size) { return; }
  let j = i % p.inSize;
  let first = (i / p.inSize) * p.outSize;
  var sum = 0.0;
  for (var k = u32(offsets[j]); k < u32(offsets[j + 1u]); k++) {
    sum += values[first + u32(sources[k])];
  }
  out[i] = sum;
}`;

// ---- fused kernels: one pass where core's composition takes several -----------------------

export const reluShader = elementwise(['x'], 'out[i] = max(x[i], 0.0);');
// x <= 0 passed no gradient; out > 0 exactly where x > 0
export const reluBackwardShader = elementwise(
  ['dout', 'y'],
  'out[i] = select(0.0, dout[i], y[i] > 0.0);',
);
export const sigmoidShader = elementwise(['x'], 'out[i] = 1.0 / (1.0 + exp(-x[i]));');
export const sigmoidBackwardShader = elementwise(
  ['dout', 'y'],
  'out[i] = dout[i] * y[i] * (1.0 - y[i]);',
);
/** W ← W − lr·dW, in place (the learning rate in the uniform's `scalar`). */
export const sgdShader = elementwise(['w', 'g'], 'w[i] = w[i] - p.scalar * g[i];', true);

/**
 * Row-wise softmax (the row's max subtracted before exp, so logits of 1000 stay finite);
 * with labels, also each row's −Σ t·log(y + delta) into `rowLoss`. Labels are class
 * indices (oneHot 0) or one-hot rows (1).
 */
export const softmaxShader = (withLoss: boolean) => /* wgsl */ `
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> probs: array<f32>;
struct P { rows: u32, cols: u32, oneHot: u32, delta: f32 }
@group(0) @binding(2) var<uniform> p: P;
${
  withLoss
    ? `@group(0) @binding(3) var<storage, read> t: array<f32>;
@group(0) @binding(4) var<storage, read_write> rowLoss: array<f32>;`
    : ''
}
@compute @workgroup_size(${WIDTH})
fn main(${GRID}) {
  let r = gid.y * groups.x * ${WIDTH}u + gid.x;
  if (r >= p.rows) { return; }
  let start = r * p.cols;
  var m = x[start];
  for (var j = 1u; j < p.cols; j++) { m = max(m, x[start + j]); }
  var sum = 0.0;
  for (var j = 0u; j < p.cols; j++) { sum += exp(x[start + j] - m); }
  ${withLoss ? 'var loss = 0.0;' : ''}
  for (var j = 0u; j < p.cols; j++) {
    let y = exp(x[start + j] - m) / sum;
    probs[start + j] = y;
    ${
      withLoss
        ? `var truth = 0.0;
    if (p.oneHot == 1u) { truth = t[start + j]; } else if (u32(t[r]) == j) { truth = 1.0; }
    if (truth != 0.0) { loss -= truth * log(y + p.delta); }`
        : ''
    }
  }
  ${withLoss ? 'rowLoss[r] = loss;' : ''}
}`;

/** (y − t) / batch. */
export const softmaxBackwardShader = /* wgsl */ `
@group(0) @binding(0) var<storage, read> y: array<f32>;
@group(0) @binding(1) var<storage, read> t: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
struct P { size: u32, cols: u32, oneHot: u32, batch: f32 }
@group(0) @binding(3) var<uniform> p: P;
@compute @workgroup_size(${WIDTH})
fn main(${GRID}) {
  ${INDEX}
  if (i >= p.size) { return; }
  var truth = 0.0;
  if (p.oneHot == 1u) { truth = t[i]; } else if (u32(t[i / p.cols]) == i % p.cols) { truth = 1.0; }
  out[i] = (y[i] - truth) / p.batch;
}`;

/** 1 where the row's first largest score is at the label's class, else 0. */
export const correctRowsShader = /* wgsl */ `
@group(0) @binding(0) var<storage, read> s: array<f32>;
@group(0) @binding(1) var<storage, read> t: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
struct P { rows: u32, cols: u32, oneHot: u32 }
@group(0) @binding(3) var<uniform> p: P;
@compute @workgroup_size(${WIDTH})
fn main(${GRID}) {
  let r = gid.y * groups.x * ${WIDTH}u + gid.x;
  if (r >= p.rows) { return; }
  let start = r * p.cols;
  var best = 0u;
  for (var j = 1u; j < p.cols; j++) { if (s[start + j] > s[start + best]) { best = j; } }
  var label = 0u;
  if (p.oneHot == 1u) {
    for (var j = 1u; j < p.cols; j++) { if (t[start + j] > t[start + label]) { label = j; } }
  } else {
    label = u32(t[r]);
  }
  out[r] = select(0.0, 1.0, best == label);
}`;

/** out[0] = scale · Σ x (a batch's mean loss, a count of correct rows): one invocation, few values. */
export const sumShader = /* wgsl */ `
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
struct P { count: u32, scale: f32 }
@group(0) @binding(2) var<uniform> p: P;
@compute @workgroup_size(1)
fn main() {
  var sum = 0.0;
  for (var k = 0u; k < p.count; k++) { sum += x[k]; }
  out[0] = sum * p.scale;
}`;
