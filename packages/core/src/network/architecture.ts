/**
 * A network as data: the shape of one sample and an ordered list of layer specs, as JSON.
 * One factory builds it (`buildLayers`), so the model file, the command line, the
 * playground and the bench make the same network from the same words.
 */
import type { Backend } from '../engine/backend.js';
import { UsageError } from '../engine/errors.js';
import { formatShape, sizeOf } from '../engine/shapes.js';
import type { Tensor } from '../engine/tensor.js';
import type { LayerDescriptor, LayerSpecBase, WeightInit } from './layer-descriptor.js';
import {
  type AffineSpec,
  affineDescriptor,
  type BatchNormalizationSpec,
  batchNormalizationDescriptor,
  type ConvolutionSpec,
  convolutionDescriptor,
  type DropoutSpec,
  dropoutDescriptor,
  type Layer,
  type PoolingSpec,
  poolingDescriptor,
  type ReluSpec,
  reluDescriptor,
  type SigmoidSpec,
  sigmoidDescriptor,
} from './layers.js';
import type { Random } from './random.js';

/**
 * Every layer spec a network takes, by its type. A user's own layer is added to it by
 * TypeScript's declaration merging, beside its `registerLayer`:
 * `declare module '@backprop/core' { interface LayerSpecs { leakyrelu: LeakyReluSpec } }`.
 */
export interface LayerSpecs {
  affine: AffineSpec;
  relu: ReluSpec;
  sigmoid: SigmoidSpec;
  conv: ConvolutionSpec;
  pool: PoolingSpec;
  batchnorm: BatchNormalizationSpec;
  dropout: DropoutSpec;
}

/** One layer, as JSON. */
export type LayerSpec = LayerSpecs[keyof LayerSpecs];

/**
 * The layer types a network can be built from, by `type`: the book's, then each a user
 * registered. The one table: building, the words of a layer list, messages and the
 * command line all read it.
 */
const registry = new Map<string, LayerDescriptor>();
/** What each registered layer's `words` allow, read once at registration. */
const grammars = new Map<string, Grammar>();

/**
 * Adds a kind of layer, so that networks are built from its spec, layer lists name it and
 * model files that hold it load (register it before loading one). Its `type` must be new
 * and lowercase, its `name` new and capitalised.
 */
export function registerLayer<S extends LayerSpecBase>(descriptor: LayerDescriptor<S>): void {
  const d = descriptor as unknown as LayerDescriptor;
  const where = `registerLayer(${JSON.stringify(d?.type)})`;
  if (typeof d !== 'object' || d === null || typeof d.build !== 'function') {
    throw new UsageError(
      `${where}: a layer descriptor has type, name, keys, words and build(spec, input, ctx)`,
    );
  }
  if (typeof d.type !== 'string' || !/^[a-z][a-z0-9-]*$/.test(d.type)) {
    throw new UsageError(
      `${where}: type must be a lowercase word (letters, digits, '-'), e.g. 'leakyrelu'`,
    );
  }
  if (registry.has(d.type)) {
    throw new UsageError(`${where}: a layer of type '${d.type}' is registered already`);
  }
  if (typeof d.name !== 'string' || !/^[A-Z][A-Za-z0-9]*$/.test(d.name)) {
    throw new UsageError(
      `${where}: name must be a capitalised word, e.g. 'LeakyRelu' (a network numbers it: LeakyRelu1)`,
    );
  }
  const taken = [...registry.values()].find((other) => other.name === d.name);
  if (taken) {
    throw new UsageError(
      `${where}: the name '${d.name}' is the ${taken.type} layer's; give it its own`,
    );
  }
  if (!Array.isArray(d.keys) || d.keys.some((key) => typeof key !== 'string' || key === 'type')) {
    throw new UsageError(`${where}: keys must list the spec's fields besides type, e.g. ['alpha']`);
  }
  if (typeof d.words !== 'string' || d.words.split(/\s+/)[0] !== d.type) {
    throw new UsageError(`${where}: words must start with its type, e.g. '${d.type} [alpha=A]'`);
  }
  grammars.set(d.type, wordsGrammar(d)); // its words must read
  registry.set(d.type, d);
}

for (const descriptor of [
  affineDescriptor,
  reluDescriptor,
  sigmoidDescriptor,
  convolutionDescriptor,
  poolingDescriptor,
  batchNormalizationDescriptor,
  dropoutDescriptor,
] as LayerDescriptor[]) {
  registerLayer(descriptor);
}

/** The descriptor of a layer type, or undefined when none is registered. */
export function layerDescriptor(type: string): LayerDescriptor | undefined {
  return registry.get(type);
}

/** The registered layer types, the book's first: affine, relu, sigmoid, conv, … */
export function layerTypes(): string[] {
  return [...registry.keys()];
}

/** How each layer is written in a layer list (`parseLayers`), for help texts and errors. */
export function layerWords(): string {
  return [...registry.values()].map((d) => d.words).join(', ');
}

/** Whether a layer list reads images [C, H, W] a sample (a convolution or pooling, …) rather than rows. */
export function readsImages(layers: readonly LayerSpecBase[]): boolean {
  return layers.some((spec) => registry.get(spec?.type)?.readsImages === true);
}

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

/** How a layer's parameters start: from the network's generator, or from given values. */
export interface ParamSource {
  /** A parameter `name` (W1, gamma2, …) of `shape`: W from `scale(fanIn)`, the rest constant. */
  make(name: string, shape: number[], fill: { std: number } | { value: number }): Tensor;
  random: Random;
  backend: Backend;
}

/** The descriptor of `spec`'s type, or a UsageError naming the layer and how to register one. */
function descriptorOf(where: string, spec: unknown): LayerDescriptor {
  const type = (spec as { type?: unknown } | null)?.type;
  const found =
    typeof spec === 'object' && typeof type === 'string' ? registry.get(type) : undefined;
  if (found) return found;
  const near = typeof type === 'string' ? nearest(type, layerTypes()) : undefined;
  throw new UsageError(
    `${where}: unknown type ${JSON.stringify(type)}${near ? ` (did you mean '${near}'?)` : ''}; layers: ${layerTypes().join(', ')}` +
      (near
        ? ''
        : '; a layer of your own is added with registerLayer(descriptor) before the network is built or loaded'),
  );
}

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
      const descriptor = descriptorOf(`layer ${i + 1}`, spec);
      const name = `${descriptor.name}${next(descriptor.name)}`;
      // the fields first: a misspelled one would otherwise describe the layer as 'conv ? 5×5'
      refuseUnknownKeys(`layer ${i + 1} (${name}, ${spec.type})`, spec, [
        'type',
        ...descriptor.keys,
      ]);
      const where = `layer ${i + 1} (${name}, ${describe(spec)})`;
      const built = descriptor.build(spec, shape, {
        backend: source.backend,
        random: source.random,
        make: source.make,
        where,
        weightInit: architecture.weightInit ?? 'he',
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

/** A layer's spec in the words of a layer list: `conv 30 5×5`, `affine 100`, `batchnorm momentum=0.5`. */
export function describe(spec: LayerSpecBase): string {
  const descriptor = registry.get(spec.type);
  if (descriptor?.describe) return descriptor.describe(spec);
  const options = Object.entries(spec).filter(([key]) => key !== 'type');
  return [spec.type, ...options.map(([key, value]) => `${key}=${JSON.stringify(value)}`)].join(' ');
}

/** What a layer's `words` allow: how many numbers, and which `key=` options. */
interface Grammar {
  min: number;
  max: number;
  keys: string[];
}

function wordsGrammar(descriptor: LayerDescriptor): Grammar {
  const grammar: Grammar = { min: 0, max: 0, keys: [] };
  for (const word of descriptor.words.split(/\s+/).slice(1)) {
    const option = /^\[([A-Za-z]\w*)=[A-Z]+\]$/.exec(word);
    if (option) grammar.keys.push(option[1]);
    else if (/^\[[A-Z]+\]$/.test(word)) grammar.max++;
    else if (/^[A-Z]+$/.test(word) && grammar.max === grammar.min) grammar.min = ++grammar.max;
    else {
      throw new UsageError(
        `registerLayer(${JSON.stringify(descriptor.type)}): '${word}' in its words '${descriptor.words}' is not a NUMBER, an optional [NUMBER] after the others, or an [option=X]`,
      );
    }
  }
  return grammar;
}

/**
 * A layer list in words, as the command line and the playground take it: `conv 30 5 5,
 * relu, pool 2, affine 100, relu, affine 10` — each layer's type and its numbers, with
 * `stride=S`, `pad=P`, `momentum=M` where the default will not do (each layer's `words`
 * say which). A word that is not a layer, or a number that is not one, is a UsageError
 * naming the layer.
 */
export function parseLayers(text: string): LayerSpec[] {
  const parts = text.split(',').map((part) => part.trim());
  if (parts.length === 0 || parts.every((p) => p === '')) {
    throw new UsageError(`a layer list names at least one layer: ${layerWords()}`);
  }
  return parts.map((part, i) => {
    const where = `layer ${i + 1} '${part}'`;
    const [word = '', ...rest] = part.split(/\s+/);
    const descriptor = registry.get(word.toLowerCase());
    if (!descriptor) {
      const near = nearest(word, layerTypes());
      throw new UsageError(
        `${where}: '${word}' is not a layer${near ? ` (did you mean '${near}'?)` : ''}; layers: ${layerWords()}`,
      );
    }
    const numbers: number[] = [];
    const options: Record<string, number> = {};
    for (const token of rest) {
      const [key, value] = token.includes('=') ? token.split('=', 2) : [undefined, token];
      const n = Number(value);
      if (value === '' || value === undefined || !Number.isFinite(n)) {
        throw new UsageError(`${where}: '${token}' is not a number`);
      }
      if (key === undefined) numbers.push(n);
      else options[key] = n;
    }
    const { min, max, keys } = grammars.get(descriptor.type) as Grammar;
    const { type } = descriptor;
    const bad = Object.keys(options).find((k) => !keys.includes(k));
    if (numbers.length < min || numbers.length > max || bad !== undefined) {
      throw new UsageError(
        `${where}: ${bad !== undefined ? `'${bad}=' is not an option of ${type}` : `${type} takes ${min === max ? min : `${min} or ${max}`} number${max === 1 ? '' : 's'}`}; write it as ${descriptor.words}`,
      );
    }
    return (descriptor.parse?.(numbers, options) ?? { type, ...options }) as LayerSpec;
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

/**
 * The known word nearest to `word`, if it is a near miss: at most 2 edits (a third of the
 * longer word's letters for long ones: maxEntry for maxEntries), or a case slip.
 */
export function nearest(word: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of known) {
    const distance = editDistance(word.toLowerCase(), candidate.toLowerCase());
    const allowed = Math.max(2, Math.floor(Math.max(word.length, candidate.length) / 3));
    if (distance <= allowed && distance < bestDistance) {
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
