/**
 * A network as data: the shape of one sample and an ordered list of layer specs, as JSON.
 * One factory builds it (`buildLayers`), so the model file, the command line, the
 * playground and the bench make the same network from the same words.
 */
import type { Backend } from './backend.js';
import { ShapeError, UsageError } from './errors.js';
import {
  Affine,
  BatchNormalization,
  Convolution,
  Dropout,
  type Layer,
  Pooling,
  Relu,
  Sigmoid,
} from './layers.js';
import type { Random } from './random.js';
import { formatShape, sizeOf } from './shapes.js';
import type { Tensor } from './tensor.js';
import { windowDims } from './window.js';

/** A standard deviation, or the rule that gives one from a layer's inputs n: he √(2/n), xavier √(1/n) (6.2). */
export type WeightInit = number | 'he' | 'xavier';

/** One layer, as JSON. */
export type LayerSpec =
  /** x·W + b to `units` outputs (5.6.2); any input is flattened per sample. */
  | { type: 'affine'; units: number; weightInit?: WeightInit }
  | { type: 'relu' }
  | { type: 'sigmoid' }
  /** `filters` filters of size×size (or [height, width]) over images [C, H, W] (7.4). */
  | {
      type: 'conv';
      filters: number;
      size: number | [number, number];
      stride?: number;
      pad?: number;
      weightInit?: WeightInit;
    }
  /** Max pooling, windows of size×size moving `stride` (default: size) (7.4.4). */
  | { type: 'pool'; size: number | [number, number]; stride?: number; pad?: number }
  /** Batch normalization of each feature; running statistics kept with `momentum` (6.3). */
  | { type: 'batchnorm'; momentum?: number }
  /** Dropout of `ratio` of the values in training (6.4.3). */
  | { type: 'dropout'; ratio: number };

export type LayerType = LayerSpec['type'];
export const LAYER_TYPES: readonly LayerType[] = [
  'affine',
  'relu',
  'sigmoid',
  'conv',
  'pool',
  'batchnorm',
  'dropout',
];

/** Everything needed to build a network (the model file records it). */
export interface Architecture {
  /** The book's class it is, where it is one (TwoLayerNet, SimpleConvNet, …): for a person. */
  name?: string;
  /** One sample's shape: [784] for MNIST as vectors, [1, 28, 28] as images. */
  input: number[];
  layers: LayerSpec[];
  /** How weights start, where a layer does not say (default 'he'). */
  weightInit?: WeightInit;
  /** λ of the L2 penalty ½·λ·ΣW² over every W (Affine and Convolution) in the loss (default 0). */
  weightDecay?: number;
}

/** What a layer spec became: the layer, the shape of a sample after it, and its parameters' shapes. */
interface Built {
  layer: Layer;
  output: number[];
}

/** The book's name of each kind of layer, numbered in a network: Affine1, Conv1, Pool1, … */
export const LAYER_NAMES: Record<LayerType, string> = {
  affine: 'Affine',
  relu: 'Relu',
  sigmoid: 'Sigmoid',
  conv: 'Conv',
  pool: 'Pool',
  batchnorm: 'BatchNorm',
  dropout: 'Dropout',
};

/** How a layer's parameters start: from the network's generator, or from given values. */
export interface ParamSource {
  /** A parameter `name` (W1, gamma2, …) of `shape`: W from `scale(fanIn)`, the rest constant. */
  make(name: string, shape: number[], fill: { std: number } | { value: number }): Tensor;
  random: Random;
  backend: Backend;
}

/** A whole number ≥ min, or a UsageError naming where. */
function whole(where: string, what: string, value: unknown, min = 1): number {
  if (!Number.isSafeInteger(value) || (value as number) < min) {
    throw new UsageError(
      `${where}: ${what} must be a whole number >= ${min}, got ${JSON.stringify(value)}`,
    );
  }
  return value as number;
}

function pair(where: string, what: string, value: unknown): [number, number] {
  if (Array.isArray(value) && value.length === 2) {
    return [whole(where, `${what}[0]`, value[0]), whole(where, `${what}[1]`, value[1])];
  }
  const n = whole(where, what, value);
  return [n, n];
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

const KNOWN_KEYS: Record<LayerType, string[]> = {
  affine: ['units', 'weightInit'],
  relu: [],
  sigmoid: [],
  conv: ['filters', 'size', 'stride', 'pad', 'weightInit'],
  pool: ['size', 'stride', 'pad'],
  batchnorm: ['momentum'],
  dropout: ['ratio'],
};

/**
 * Builds the layers of `architecture` in order, each sample's shape flowing from one to
 * the next; a spec that does not fit its input is a UsageError naming the layer. The
 * first layer with weights computes no input gradient (nothing below it learns).
 */
export function buildLayers(
  architecture: Architecture,
  source: ParamSource,
): {
  names: string[];
  layers: Layer[];
  /** A sample's shape after each layer. */
  outputs: number[][];
  output: number[];
  largestSample: number;
} {
  const counts: Record<string, number> = {};
  /** The next number of `key`: Affine1, Affine2 …; W1, W2 … across Affine and Convolution. */
  const next = (key: string) => {
    counts[key] = (counts[key] ?? 0) + 1;
    return counts[key];
  };
  const names: string[] = [];
  const layers: Layer[] = [];
  const outputs: number[][] = [];
  let shape = [...architecture.input];
  let largestSample = sizeOf(shape);
  let learnedBelow = false;
  try {
    for (const [i, spec] of architecture.layers.entries()) {
      if (typeof spec !== 'object' || spec === null || !LAYER_TYPES.includes(spec.type)) {
        const type = (spec as { type?: unknown })?.type;
        const near = typeof type === 'string' ? nearest(type, LAYER_TYPES) : undefined;
        throw new UsageError(
          `layer ${i + 1}: unknown type ${JSON.stringify(type)}${near ? ` (did you mean '${near}'?)` : ''}; layers: ${LAYER_TYPES.join(', ')}`,
        );
      }
      const kind = LAYER_NAMES[spec.type];
      const name = `${kind}${next(kind)}`;
      // the fields first: a misspelled one would otherwise describe the layer as 'conv ? 5×5'
      refuseUnknownKeys(`layer ${i + 1} (${name}, ${spec.type})`, spec, [
        'type',
        ...KNOWN_KEYS[spec.type],
      ]);
      const where = `layer ${i + 1} (${name}, ${describe(spec)})`;
      const built = buildLayer(spec, shape, {
        ...source,
        where,
        architecture,
        inputGradient: learnedBelow,
        numbered: (key) => `${key}${next(`param ${key}`)}`,
      });
      names.push(name);
      outputs.push(built.output);
      layers.push(built.layer);
      if (built.layer.params) learnedBelow = true;
      largestSample = Math.max(largestSample, sizeOf(built.output), built.largest ?? 0);
      shape = built.output;
    }
  } catch (error) {
    for (const layer of layers) layer.dispose(); // their parameters are the caller's (`make`)
    throw error;
  }
  return { names, layers, outputs, output: shape, largestSample };
}

/** A layer's spec in the words of the command line: `conv 30 5×5`, `affine 100`. */
export function describe(spec: LayerSpec): string {
  // a spec not yet checked may lack a field: '?' says so where 'undefined' would puzzle
  const n = (value: unknown) => (value === undefined ? '?' : String(value));
  switch (spec.type) {
    case 'affine':
      return `affine ${n(spec.units)}`;
    case 'conv': {
      const [h, w] = Array.isArray(spec.size) ? spec.size : [spec.size, spec.size];
      return `conv ${n(spec.filters)} ${n(h)}×${n(w)}${spec.stride ? ` stride ${spec.stride}` : ''}${spec.pad ? ` pad ${spec.pad}` : ''}`;
    }
    case 'pool': {
      const [h, w] = Array.isArray(spec.size) ? spec.size : [spec.size, spec.size];
      return `pool ${n(h)}×${n(w)}${spec.stride ? ` stride ${spec.stride}` : ''}${spec.pad ? ` pad ${spec.pad}` : ''}`;
    }
    case 'dropout':
      return `dropout ${n(spec.ratio)}`;
    default:
      return spec.type;
  }
}

interface BuildContext extends ParamSource {
  where: string;
  architecture: Architecture;
  inputGradient: boolean;
  /** The parameter's name: W1, W2 … across Affine and Convolution; gamma1 … across BatchNorm. */
  numbered(key: string): string;
}

function buildLayer(
  spec: LayerSpec,
  input: number[],
  ctx: BuildContext,
): Built & { largest?: number } {
  const { backend, where, numbered } = ctx;
  const init = (own?: WeightInit) => own ?? ctx.architecture.weightInit ?? 'he';
  switch (spec.type) {
    case 'affine': {
      const units = whole(where, 'units', spec.units);
      const fanIn = sizeOf(input);
      const std = initScale(where, init(spec.weightInit), fanIn);
      const W = ctx.make(numbered('W'), [fanIn, units], { std });
      const b = ctx.make(numbered('b'), [units], { value: 0 });
      return {
        layer: new Affine(backend, W, b, { inputGradient: ctx.inputGradient }),
        output: [units],
      };
    }
    case 'relu':
      return { layer: new Relu(backend), output: input };
    case 'sigmoid':
      return { layer: new Sigmoid(backend), output: input };
    case 'conv': {
      const filters = whole(where, 'filters', spec.filters);
      const [fh, fw] = pair(where, 'size', spec.size);
      const stride = whole(where, 'stride', spec.stride ?? 1);
      const pad = whole(where, 'pad', spec.pad ?? 0, 0);
      const [channels] = images(where, input);
      const d = windowFits(where, input, { height: fh, width: fw, stride, pad });
      const std = initScale(where, init(spec.weightInit), channels * fh * fw);
      const W = ctx.make(numbered('W'), [filters, channels, fh, fw], { std });
      const b = ctx.make(numbered('b'), [filters], { value: 0 });
      return {
        layer: new Convolution(backend, W, b, { stride, pad, inputGradient: ctx.inputGradient }),
        output: [filters, d.outHeight, d.outWidth],
        largest: d.outHeight * d.outWidth * channels * fh * fw, // im2col's rows of a sample
      };
    }
    case 'pool': {
      const [height, width] = pair(where, 'size', spec.size);
      const stride = whole(where, 'stride', spec.stride ?? height);
      const pad = whole(where, 'pad', spec.pad ?? 0, 0);
      const [channels] = images(where, input);
      const d = windowFits(where, input, { height, width, stride, pad });
      return {
        layer: new Pooling(backend, { height, width, stride, pad }),
        output: [channels, d.outHeight, d.outWidth],
        largest: channels * d.outHeight * d.outWidth * height * width, // the windows as rows
      };
    }
    case 'batchnorm': {
      const features = sizeOf(input);
      const gammaName = numbered('gamma');
      const n = gammaName.slice('gamma'.length);
      const gamma = ctx.make(gammaName, [features], { value: 1 });
      const beta = ctx.make(numbered('beta'), [features], { value: 0 });
      const runningMean = ctx.make(`runningMean${n}`, [features], { value: 0 });
      const runningVar = ctx.make(`runningVar${n}`, [features], { value: 0 });
      const momentum = spec.momentum ?? 0.9;
      if (typeof momentum !== 'number' || !(momentum >= 0 && momentum < 1)) {
        throw new UsageError(
          `${where}: momentum must be a number in [0, 1), got ${JSON.stringify(momentum)}`,
        );
      }
      return {
        layer: new BatchNormalization(backend, gamma, beta, { momentum, runningMean, runningVar }),
        output: input,
      };
    }
    case 'dropout': {
      const { ratio } = spec;
      if (typeof ratio !== 'number' || !(ratio >= 0 && ratio < 1)) {
        throw new UsageError(
          `${where}: ratio must be a number in [0, 1), the share dropped; got ${JSON.stringify(ratio)}`,
        );
      }
      return { layer: new Dropout(backend, ratio, ctx.random), output: input };
    }
  }
}

/** [C, H, W] of a sample of images, or a UsageError saying the layer needs images. */
function images(where: string, input: number[]): [number, number, number] {
  if (input.length !== 3) {
    throw new UsageError(
      `${where}: needs images [channels, height, width] a sample, got ${formatShape(input)}${input.length === 1 ? ' (give the input as images, e.g. [1, 28, 28], or put this layer before any affine)' : ''}`,
    );
  }
  return input as [number, number, number];
}

function windowFits(where: string, input: number[], window: Parameters<typeof windowDims>[2]) {
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

/** How each layer is written in a layer list (`parseLayers`), for help texts and errors. */
export const LAYER_WORDS =
  'affine UNITS, relu, sigmoid, conv FILTERS HEIGHT [WIDTH] [stride=S] [pad=P], pool HEIGHT [WIDTH] [stride=S] [pad=P], batchnorm [momentum=M], dropout RATIO';

/**
 * A layer list in words, as the command line and the playground take it: `conv 30 5 5,
 * relu, pool 2, affine 100, relu, affine 10` — each layer's type and its numbers, with
 * `stride=S`, `pad=P`, `momentum=M` where the default will not do. A word that is not a
 * layer, or a number that is not one, is a UsageError naming the layer.
 */
export function parseLayers(text: string): LayerSpec[] {
  const parts = text.split(',').map((part) => part.trim());
  if (parts.length === 0 || parts.every((p) => p === '')) {
    throw new UsageError(`a layer list names at least one layer: ${LAYER_WORDS}`);
  }
  return parts.map((part, i) => {
    const where = `layer ${i + 1} '${part}'`;
    const [word = '', ...rest] = part.split(/\s+/);
    const type = word.toLowerCase() as LayerType;
    if (!LAYER_TYPES.includes(type)) {
      const near = nearest(type, LAYER_TYPES);
      throw new UsageError(
        `${where}: '${word}' is not a layer${near ? ` (did you mean '${near}'?)` : ''}; layers: ${LAYER_WORDS}`,
      );
    }
    const numbers: number[] = [];
    const named: Record<string, number> = {};
    for (const token of rest) {
      const [key, value] = token.includes('=') ? token.split('=', 2) : [undefined, token];
      const n = Number(value);
      if (value === '' || value === undefined || !Number.isFinite(n)) {
        throw new UsageError(`${where}: '${token}' is not a number`);
      }
      if (key === undefined) numbers.push(n);
      else named[key] = n;
    }
    const allowed: Record<LayerType, [min: number, max: number, keys: string[]]> = {
      affine: [1, 1, []],
      relu: [0, 0, []],
      sigmoid: [0, 0, []],
      conv: [2, 3, ['stride', 'pad']],
      pool: [1, 2, ['stride', 'pad']],
      batchnorm: [0, 0, ['momentum']],
      dropout: [1, 1, []],
    };
    const [min, max, keys] = allowed[type];
    const bad = Object.keys(named).find((k) => !keys.includes(k));
    if (numbers.length < min || numbers.length > max || bad !== undefined) {
      throw new UsageError(
        `${where}: ${bad !== undefined ? `'${bad}=' is not an option of ${type}` : `${type} takes ${min === max ? min : `${min} or ${max}`} number${max === 1 ? '' : 's'}`}; write it as ${LAYER_WORDS.split(', ').find((w) => w.startsWith(type))}`,
      );
    }
    switch (type) {
      case 'affine':
        return { type, units: numbers[0] };
      case 'conv': {
        const [filters, height, width = height] = numbers;
        return {
          type,
          filters,
          size: height === width ? height : [height, width],
          ...('stride' in named ? { stride: named.stride } : {}),
          ...('pad' in named ? { pad: named.pad } : {}),
        };
      }
      case 'pool': {
        const [height, width = height] = numbers;
        return {
          type,
          size: height === width ? height : [height, width],
          ...('stride' in named ? { stride: named.stride } : {}),
          ...('pad' in named ? { pad: named.pad } : {}),
        };
      }
      case 'batchnorm':
        return { type, ...('momentum' in named ? { momentum: named.momentum } : {}) };
      case 'dropout':
        return { type, ratio: numbers[0] };
      default:
        return { type } as LayerSpec;
    }
  });
}

/**
 * Refuses any key of `value` outside `known` with a UsageError that names it, suggests the
 * nearest known key ("did you mean"), and lists the known ones: a misspelled field that
 * is silently dropped is a setting the user believes they made.
 */
export function refuseUnknownKeys(where: string, value: object, known: readonly string[]): void {
  const unknown = Object.keys(value).filter((key) => !known.includes(key));
  if (unknown.length === 0) return;
  const named = unknown.map((key) => {
    const near = nearest(key, known);
    return `'${key}'${near ? ` (did you mean '${near}'?)` : ''}`;
  });
  throw new UsageError(
    `${where}: unknown field${unknown.length > 1 ? 's' : ''} ${named.join(', ')}; ${known.length > 0 ? `it takes ${known.join(', ')}` : 'it takes none'}`,
  );
}

/** The known word nearest to `word`, if it is a near miss (at most 2 edits, or a case slip). */
export function nearest(word: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const candidate of known) {
    const distance = editDistance(word.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

/** How many single-letter edits turn a into b (for "did you mean"). */
export function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(
        previous[j] + 1,
        current[j - 1] + 1,
        previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    previous = current;
  }
  return previous[b.length];
}

/** A network in words: `[1,28,28] → conv 30 5×5 → relu → pool 2×2 → affine 100 → relu → affine 10`. */
export function describeArchitecture(architecture: Architecture): string {
  return [formatShape(architecture.input), ...architecture.layers.map(describe)].join(' → ');
}
