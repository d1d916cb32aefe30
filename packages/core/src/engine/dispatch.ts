/**
 * The composed kernels' dispatch table: one row a kernel of `COMPOSED_KERNELS`. A row
 * says what core checks before any backend sees the call, how the backend's own override
 * is called and its storage made tensors, and which composition of primitives runs where
 * the backend has none (composed.ts). `Backend`'s method of the same name is one line
 * that hands its arguments here, so a new override is one optional method in the
 * contract plus one row below, and the conformance suite checks it against the
 * composition (its overrides group walks the same `COMPOSED_KERNELS`).
 */
import type {
  Backend,
  ConvolutionGradients,
  ConvolutionResult,
  Labels,
  MaxPoolResult,
  SoftmaxCrossEntropyResult,
} from './backend.js';
import * as composed from './composed.js';
import type { AdamStep, ComposedKernel, KernelBackend, LabelDims, Shape } from './contract.js';
import { ShapeError, ValueError } from './errors.js';
import {
  addBiasShape,
  checkAdamStep,
  checkLearningRate,
  checkSameShape,
  formatShape,
  matrixShape,
  sameShape,
  sizeOf,
} from './shapes.js';
import type { Tensor } from './tensor.js';
import {
  convolutionDims,
  type FilterStep,
  im2colShape,
  type Window,
  windowDims,
} from './window.js';

/** What a row may ask of the backend beyond its public methods: its own checks and handles. */
export interface Engine {
  readonly backend: Backend;
  /** Refuses a disposed, foreign or too-large tensor, or a closed backend. */
  own(where: string, ...tensors: Tensor[]): void;
  /** Checks labels against scores (shapes, and class indices in range). */
  labels(where: string, scores: Tensor, labels: Labels): LabelDims;
  /** A new handle the caller owns, on storage a kernel returned. */
  wrap(storage: unknown, shape: Shape): Tensor;
}

/**
 * One composed kernel: `check` throws for a bad call and returns what both ways need
 * (sizes, window dims); `override` is called only where the backend has the kernel of
 * the row's name (so `kernels` holds it); `compose` is core's composition.
 */
interface Row<In extends unknown[], Dims, Out> {
  check(e: Engine, ...inputs: In): Dims;
  /** `DECLINED` where the backend's kernel declined the call (see `convolution`). */
  override(
    e: Engine,
    kernels: Required<KernelBackend>,
    dims: Dims,
    ...inputs: In
  ): Out | typeof DECLINED;
  compose(b: Backend, dims: Dims, ...inputs: In): Out;
}

const row = <In extends unknown[], Dims, Out>(r: Row<In, Dims, Out>) => r;

/** What a row's override gives where the backend's kernel returned undefined: compose instead. */
const DECLINED: unique symbol = Symbol('declined');

/** A tensor's storage, for an override's call. */
const s = (t: Tensor): unknown => t.store.storage;

export const COMPOSED_ROWS = {
  addBias: row({
    check: (e: Engine, x: Tensor, bias: Tensor) => {
      e.own('addBias', x, bias);
      return addBiasShape(x, bias);
    },
    override: (e, k, { m, n }, x, bias) => e.wrap(k.addBias(s(x), s(bias), m, n), [m, n]),
    compose: (b, _, x, bias): Tensor => composed.addBias(b, x, bias),
  }),

  sumColumns: row({
    check: (e: Engine, x: Tensor) => {
      e.own('sumColumns', x);
      return matrixShape('sumColumns', x);
    },
    override: (e, k, [m, n], x) => e.wrap(k.sumColumns(s(x), m, n), [n]),
    compose: (b, _, x): Tensor => composed.sumColumns(b, x),
  }),

  relu: row({
    check: (e: Engine, x: Tensor) => e.own('relu', x),
    override: (e, k, _, x) => e.wrap(k.relu(s(x), x.size), x.shape),
    compose: (b, _, x): Tensor => composed.relu(b, x),
  }),

  reluBackward: row({
    check: (e: Engine, dout: Tensor, out: Tensor) => {
      e.own('reluBackward', dout, out);
      checkSameShape('reluBackward', dout, out, ['dout', 'out']);
    },
    override: (e, k, _, dout, out) =>
      e.wrap(k.reluBackward(s(dout), s(out), dout.size), dout.shape),
    compose: (b, _, dout, out): Tensor => composed.reluBackward(b, dout, out),
  }),

  sigmoid: row({
    check: (e: Engine, x: Tensor) => e.own('sigmoid', x),
    override: (e, k, _, x) => e.wrap(k.sigmoid(s(x), x.size), x.shape),
    compose: (b, _, x): Tensor => composed.sigmoid(b, x),
  }),

  sigmoidBackward: row({
    check: (e: Engine, dout: Tensor, out: Tensor) => {
      e.own('sigmoidBackward', dout, out);
      checkSameShape('sigmoidBackward', dout, out, ['dout', 'out']);
    },
    override: (e, k, _, dout, out) =>
      e.wrap(k.sigmoidBackward(s(dout), s(out), dout.size), dout.shape),
    compose: (b, _, dout, out): Tensor => composed.sigmoidBackward(b, dout, out),
  }),

  softmax: row({
    check: (e: Engine, x: Tensor) => {
      e.own('softmax', x);
      return matrixShape('softmax', x);
    },
    override: (e, k, [m, n], x) => e.wrap(k.softmax(s(x), m, n), [m, n]),
    compose: (b, _, x): Tensor => composed.softmax(b, x),
  }),

  softmaxCrossEntropy: row({
    check: (e: Engine, logits: Tensor, labels: Labels, delta: number) => {
      const dims = e.labels('softmaxCrossEntropy', logits, labels);
      if (!(delta >= 0 && Number.isFinite(delta)))
        throw new ValueError('softmaxCrossEntropy', `delta must be a number >= 0, got ${delta}`);
      return dims;
    },
    override: (e, k, dims, logits, labels, delta): SoftmaxCrossEntropyResult => {
      const [probs, loss] = k.softmaxCrossEntropy(s(logits), s(labels), dims, delta);
      return { probs: e.wrap(probs, [dims.batch, dims.classes]), loss: e.wrap(loss, []) };
    },
    compose: (b, _, logits, labels, delta) =>
      composed.softmaxCrossEntropy(b, logits, labels, delta),
  }),

  softmaxCrossEntropyBackward: row({
    check: (e: Engine, probs: Tensor, labels: Labels) =>
      e.labels('softmaxCrossEntropyBackward', probs, labels),
    override: (e, k, dims, probs, labels) =>
      e.wrap(k.softmaxCrossEntropyBackward(s(probs), s(labels), dims), probs.shape),
    compose: (b, _, probs, labels): Tensor =>
      composed.softmaxCrossEntropyBackward(b, probs, labels),
  }),

  sgdUpdate: row({
    check: (e: Engine, param: Tensor, grad: Tensor, learningRate: number) => {
      e.own('sgdUpdate', param, grad);
      checkSameShape('sgdUpdate', param, grad, ['param', 'grad']);
      checkLearningRate(learningRate);
    },
    override: (_e, k, _, param, grad, learningRate): void => {
      k.sgdUpdate(s(param), s(grad), param.size, learningRate);
      param.store.facts = null; // what was known of its values on upload no longer holds
    },
    compose: (b, _, param, grad, learningRate) => composed.sgdUpdate(b, param, grad, learningRate),
  }),

  adamUpdate: row({
    check: (e: Engine, param: Tensor, grad: Tensor, m: Tensor, v: Tensor, step: AdamStep) => {
      e.own('adamUpdate', param, grad, m, v);
      checkSameShape('adamUpdate', param, grad, ['param', 'grad']);
      checkSameShape('adamUpdate', param, m, ['param', 'm']);
      checkSameShape('adamUpdate', param, v, ['param', 'v']);
      checkAdamStep(step);
    },
    override: (_e, k, _, param, grad, m, v, step): void => {
      k.adamUpdate(s(param), s(grad), s(m), s(v), param.size, step);
      // what was known of their values on upload no longer holds
      param.store.facts = m.store.facts = v.store.facts = null;
    },
    compose: (b, _, param, grad, m, v, step) => composed.adamUpdate(b, param, grad, m, v, step),
  }),

  countCorrect: row({
    check: (e: Engine, scores: Tensor, labels: Labels) => e.labels('countCorrect', scores, labels),
    override: (e, k, dims, scores, labels) =>
      e.wrap(k.countCorrect(s(scores), s(labels), dims), []),
    compose: (b, _, scores, labels): Tensor => composed.countCorrect(b, scores, labels),
  }),

  im2col: row({
    check: (e: Engine, x: Tensor, window: Window) => {
      e.own('im2col', x);
      return windowDims('im2col', x.shape, window);
    },
    override: (e, k, d, x) => e.wrap(k.im2col(s(x), d), im2colShape(d)),
    compose: (b, d, x): Tensor => composed.im2col(b, x, d),
  }),

  col2im: row({
    check: (e: Engine, col: Tensor, shape: readonly number[], window: Window) => {
      e.own('col2im', col);
      const d = windowDims('col2im', shape, window);
      const expected = im2colShape(d);
      if (!sameShape(col.shape, expected)) {
        throw new ShapeError(
          'col2im',
          `col must be ${formatShape(expected)} for images ${formatShape(shape)} and a ${d.windowHeight}×${d.windowWidth} window, got ${formatShape(col.shape)}`,
        );
      }
      return d;
    },
    override: (e, k, d, col, shape) => e.wrap(k.col2im(s(col), d), shape),
    compose: (b, d, col): Tensor => composed.col2im(b, col, d),
  }),

  convolution: row({
    check: (e: Engine, x: Tensor, W: Tensor, bias: Tensor, step: FilterStep) => {
      e.own('convolution', x, W, bias);
      return convolutionDims('convolution', x.shape, W.shape, step, bias);
    },
    override: (e, k, d, x, W, bias): ConvolutionResult | typeof DECLINED => {
      const out = k.convolution(s(x), s(W), s(bias), d, d.filters);
      if (out === undefined) return DECLINED;
      return { out: e.wrap(out, [d.batch, d.filters, d.outHeight, d.outWidth]), col: null };
    },
    compose: (b, d, x, W, bias): ConvolutionResult => composed.convolution(b, x, W, bias, d),
  }),

  convolutionGradients: row({
    check: (
      e: Engine,
      x: Tensor,
      dout: Tensor,
      filterShape: readonly number[],
      step: FilterStep,
      col: Tensor | null,
    ) => {
      e.own('convolutionGradients', x, dout, ...(col ? [col] : []));
      const d = convolutionDims('convolutionGradients', x.shape, filterShape, step);
      const outShape = [d.batch, d.filters, d.outHeight, d.outWidth];
      if (!sameShape(dout.shape, outShape)) {
        throw new ShapeError(
          'convolutionGradients',
          `dout must be ${formatShape(outShape)} for images ${formatShape(x.shape)} and filters ${formatShape(filterShape)}, got ${formatShape(dout.shape)}`,
        );
      }
      const colShape = im2colShape(d);
      if (col && !sameShape(col.shape, colShape)) {
        throw new ShapeError(
          'convolutionGradients',
          `col must be the im2col of images ${formatShape(x.shape)} that convolution gave, ${formatShape(colShape)}, got ${formatShape(col.shape)}`,
        );
      }
      return d;
    },
    override: (e, k, d, x, dout, filterShape): ConvolutionGradients | typeof DECLINED => {
      const out = k.convolutionGradients(s(x), s(dout), d, d.filters);
      if (out === undefined) return DECLINED;
      return { dW: e.wrap(out[0], filterShape), db: e.wrap(out[1], [d.filters]) };
    },
    compose: (b, d, x, dout, filterShape, _step, col): ConvolutionGradients =>
      composed.convolutionGradients(b, x, dout, filterShape, d, col),
  }),

  maxPool: row({
    check: (e: Engine, x: Tensor, window: Window) => {
      e.own('maxPool', x);
      return windowDims('maxPool', x.shape, window);
    },
    override: (e, k, d, x): MaxPoolResult => {
      const [out, argmax] = k.maxPool(s(x), d);
      return {
        out: e.wrap(out, [d.batch, d.channels, d.outHeight, d.outWidth]),
        argmax: e.wrap(argmax, [d.batch * d.channels * d.outHeight * d.outWidth]),
      };
    },
    compose: (b, d, x) => composed.maxPool(b, x, d),
  }),

  maxPoolBackward: row({
    check: (e: Engine, dout: Tensor, argmax: Tensor, shape: readonly number[], window: Window) => {
      e.own('maxPoolBackward', dout, argmax);
      const d = windowDims('maxPoolBackward', shape, window);
      const outShape = [d.batch, d.channels, d.outHeight, d.outWidth];
      if (!sameShape(dout.shape, outShape) || argmax.size !== sizeOf(outShape)) {
        throw new ShapeError(
          'maxPoolBackward',
          `dout must be ${formatShape(outShape)} and argmax hold ${sizeOf(outShape)} values for images ${formatShape(shape)}, got ${formatShape(dout.shape)} and ${formatShape(argmax.shape)}`,
        );
      }
      return d;
    },
    override: (e, k, d, dout, argmax, shape) =>
      e.wrap(k.maxPoolBackward(s(dout), s(argmax), d), shape),
    compose: (b, d, dout, argmax): Tensor => composed.maxPoolBackward(b, dout, argmax, d),
  }),

  batchNormalize: row({
    check: (
      e: Engine,
      x: Tensor,
      mean: Tensor,
      variance: Tensor,
      gamma: Tensor,
      beta: Tensor,
      epsilon: number,
    ) => {
      e.own('batchNormalize', x, mean, variance, gamma, beta);
      const [rows, cols] = matrixShape('batchNormalize', x);
      for (const [name, t] of [
        ['mean', mean],
        ['variance', variance],
        ['gamma', gamma],
        ['beta', beta],
      ] as const) {
        if (!sameShape(t.shape, [cols])) {
          throw new ShapeError(
            'batchNormalize',
            `${name} must be [${cols}] for x ${formatShape(x.shape)}, got ${formatShape(t.shape)}`,
          );
        }
      }
      if (!(epsilon > 0 && Number.isFinite(epsilon)))
        throw new ValueError('batchNormalize', `epsilon must be a positive number, got ${epsilon}`);
      return [rows, cols] as const;
    },
    override: (e, k, [rows, cols], x, mean, variance, gamma, beta, epsilon) =>
      e.wrap(
        k.batchNormalize(s(x), s(mean), s(variance), s(gamma), s(beta), rows, cols, epsilon),
        x.shape,
      ),
    compose: (b, _, x, mean, variance, gamma, beta, epsilon): Tensor =>
      composed.batchNormalize(b, x, mean, variance, gamma, beta, epsilon),
  }),
} satisfies Record<ComposedKernel, unknown>; // a row for each, and no other

type Rows = typeof COMPOSED_ROWS;
/** The arguments `Backend`'s method of that name takes. */
export type InputsOf<K extends ComposedKernel> =
  Parameters<Rows[K]['compose']> extends [Backend, unknown, ...infer In] ? In : never;
/** What it returns. */
export type OutputOf<K extends ComposedKernel> = ReturnType<Rows[K]['compose']>;

/** Checks the call, then runs the backend's override of `name` if it has one, else core's composition. */
export function dispatch<K extends ComposedKernel>(
  e: Engine,
  name: K,
  inputs: InputsOf<K>,
): OutputOf<K> {
  const r = COMPOSED_ROWS[name] as unknown as Row<InputsOf<K>, unknown, OutputOf<K>>;
  const dims = r.check(e, ...inputs);
  const kernels = e.backend.kernels;
  if (kernels[name]) {
    const out = r.override(e, kernels as Required<KernelBackend>, dims, ...inputs);
    if (out !== DECLINED) return out;
  }
  return r.compose(e.backend, dims, ...inputs);
}
