/**
 * What a kind of layer is to a network built from data: one object a layer type, beside
 * its class in layers.ts, from which the JSON spec, the words of a layer list, the model
 * file and the command line all derive (architecture.ts keeps them in one registry, and
 * `registerLayer` adds a user's own). The helpers below check a spec's fields with errors
 * that name the layer.
 */
import type { Backend } from '../engine/backend.js';
import type { WindowDims } from '../engine/contract.js';
import { ShapeError, UsageError } from '../engine/errors.js';
import { formatShape } from '../engine/shapes.js';
import type { Tensor } from '../engine/tensor.js';
import { type Window, windowDims } from '../engine/window.js';
import type { Layer } from './layers.js';
import type { Random } from './random.js';

/** A standard deviation, or the rule that gives one from a layer's inputs n: he √(2/n), xavier √(1/n) (6.2). */
export type WeightInit = number | 'he' | 'xavier';

/** A layer as JSON: its `type` and its own fields. */
export interface LayerSpecBase {
  type: string;
}

/**
 * One kind of layer, for networks built from data. `S` is its spec; a user's own layer
 * gives one of these to `registerLayer` and is then written, built, saved and loaded as
 * the book's layers are.
 */
export interface LayerDescriptor<S extends LayerSpecBase = LayerSpecBase> {
  /** The spec's `type`, and the word that starts it in a layer list: 'conv'. Lowercase. */
  readonly type: S['type'];
  /** The book's name, numbered in a network: Conv → Conv1, Conv2. */
  readonly name: string;
  /** The fields a spec may have besides `type`; any other is refused with a "did you mean". */
  readonly keys: readonly string[];
  /**
   * How it is written in a layer list: the type, then its numbers in capitals (`[X]` where
   * optional), then its options as `[key=X]`: 'conv FILTERS HEIGHT [WIDTH] [stride=S] [pad=P]'.
   * `parseLayers` counts a layer's numbers and options against it.
   */
  readonly words: string;
  /**
   * The spec from a layer list's numbers, in the order of `words`, and its `key=value`
   * options (both already counted against `words`). Without it: the options as fields.
   */
  parse?(numbers: number[], options: Record<string, number>): S;
  /** The spec in the words of a layer list, for messages: 'conv 30 5×5'. Without it: type and `key=value`s. */
  describe?(spec: S): string;
  /** It needs images [C, H, W] a sample: the command line gives MNIST as images before it. */
  readonly readsImages?: boolean;
  /**
   * A spec and one sample's input shape to gradient-check it on: the conformance suite
   * checks every layer that gives one, on every backend (`checkLayer`).
   */
  readonly example?: { spec: S; input: number[] };
  /**
   * The layer for `spec` on a sample of shape `input`, a sample's shape after it, and the
   * most values a sample takes in any tensor it makes (where more than its output, for
   * evaluation's chunks). A field that does not fit is a UsageError naming `ctx.where`.
   */
  build(spec: S, input: readonly number[], ctx: BuildContext): BuiltLayer;
}

export interface BuiltLayer {
  layer: Layer;
  output: number[];
  largest?: number;
}

/** What a descriptor's `build` is given besides the spec and the input's shape. */
export interface BuildContext {
  backend: Backend;
  /** The network's generator (Dropout draws its masks from it). */
  random: Random;
  /** The layer in messages: "layer 2 (Conv1, conv 30 5×5)". */
  where: string;
  /** How weights start where the spec does not say: the network's `weightInit`. */
  weightInit: WeightInit;
  /** Whether the layer must compute its input's gradient: false below every layer with weights. */
  inputGradient: boolean;
  /** A parameter's name in the network: `numbered('W')` is W1, then W2, … across every layer. */
  numbered(key: string): string;
  /**
   * A tensor the network owns, named `name` (from `numbered`), of `shape`: drawn from a
   * normal distribution of `std`, or filled with `value` — or a saved model's values.
   */
  make(name: string, shape: number[], fill: { std: number } | { value: number }): Tensor;
}

/** A whole number ≥ min, or a UsageError naming where. */
export function whole(where: string, what: string, value: unknown, min = 1): number {
  if (!Number.isSafeInteger(value) || (value as number) < min) {
    throw new UsageError(
      `${where}: ${what} must be a whole number >= ${min}, got ${JSON.stringify(value)}`,
    );
  }
  return value as number;
}

/** A size as one whole number (a square) or [height, width]. */
export function pair(where: string, what: string, value: unknown): [number, number] {
  if (Array.isArray(value) && value.length === 2) {
    return [whole(where, `${what}[0]`, value[0]), whole(where, `${what}[1]`, value[1])];
  }
  const n = whole(where, what, value);
  return [n, n];
}

/** A number in [0, 1), or a UsageError naming where and what it means. */
export function fraction(where: string, what: string, value: unknown, meaning = ''): number {
  if (typeof value !== 'number' || !(value >= 0 && value < 1)) {
    throw new UsageError(
      `${where}: ${what} must be a number in [0, 1)${meaning}, got ${JSON.stringify(value)}`,
    );
  }
  return value;
}

/** The standard deviation `init` gives a layer with `fanIn` inputs. */
export function initScale(where: string, init: WeightInit, fanIn: number): number {
  if (init === 'he') return Math.sqrt(2 / fanIn);
  if (init === 'xavier') return Math.sqrt(1 / fanIn);
  if (typeof init === 'number' && init > 0 && Number.isFinite(init)) return init;
  throw new UsageError(
    `${where}: weightInit must be 'he', 'xavier' or a positive standard deviation, got ${JSON.stringify(init)}`,
  );
}

/** [C, H, W] of a sample of images, or a UsageError saying the layer needs images. */
export function images(where: string, input: readonly number[]): [number, number, number] {
  if (input.length !== 3) {
    throw new UsageError(
      `${where}: needs images [channels, height, width] a sample, got ${formatShape(input)}${input.length === 1 ? ' (give the input as images, e.g. [1, 28, 28], or put this layer before any affine)' : ''}`,
    );
  }
  return input as [number, number, number];
}

/** The window's dimensions over a sample of `input`, or a UsageError saying it does not fit. */
export function windowFits(where: string, input: readonly number[], window: Window): WindowDims {
  try {
    return windowDims(where, [1, ...input], window);
  } catch (error) {
    if (error instanceof ShapeError) {
      throw new UsageError(
        `${where}: a ${window.height}×${window.width} window${window.pad ? ` with pad ${window.pad}` : ''} does not fit its input ${formatShape(input)}`,
      );
    }
    throw error;
  }
}

/**
 * Frees each tensor a layer cached (null ones skipped): what a layer does with its last
 * results before it makes new ones, and in `dispose`.
 */
export function releaseAll(backend: Backend, ...tensors: (Tensor | null)[]): void {
  for (const t of tensors) if (t) backend.dispose(t);
}

/** What forward cached, or a UsageError saying `layer`'s backward came first. */
export function fromForward(cached: Tensor | null, layer: string): Tensor {
  if (!cached) {
    throw new UsageError(`${layer}: backward was called before forward; run forward first`);
  }
  return cached;
}

/** A pooling layer's spec: windows of size×size (or [height, width]) moving `stride` (default: the height). */
export interface PoolingWindowSpec {
  size: number | [number, number];
  stride?: number;
  pad?: number;
}

/**
 * A pooling spec checked against a sample of images `input`: its window, the output
 * [C, OH, OW], and the most values a sample's windows take as rows — what max and average
 * pooling both build from.
 */
export function poolingWindow(
  where: string,
  spec: PoolingWindowSpec,
  input: readonly number[],
): { window: Window; output: number[]; largest: number } {
  const [height, width] = pair(where, 'size', spec.size);
  const stride = whole(where, 'stride', spec.stride ?? height);
  const pad = whole(where, 'pad', spec.pad ?? 0, 0);
  const [channels] = images(where, input);
  const window = { height, width, stride, pad };
  const d = windowFits(where, input, window);
  return {
    window,
    output: [channels, d.outHeight, d.outWidth],
    largest: channels * d.outHeight * d.outWidth * height * width, // the windows as rows
  };
}

/** A layer list's numbers HEIGHT [WIDTH] as a spec's size: one number when square. */
export function sizeOfWords(height: number, width = height): number | [number, number] {
  return height === width ? height : [height, width];
}

/** A window in words: `5×5`, `3×3 stride 2 pad 1` (`?` for a field not yet checked). */
export function describeWindow(spec: PoolingWindowSpec): string {
  const n = (value: unknown) => (value === undefined ? '?' : String(value));
  const [h, w] = Array.isArray(spec.size) ? spec.size : [spec.size, spec.size];
  return `${n(h)}×${n(w)}${spec.stride ? ` stride ${spec.stride}` : ''}${spec.pad ? ` pad ${spec.pad}` : ''}`;
}
