/**
 * A network is an ordered list of layers (the book's OrderedDict) ending in
 * SoftmaxWithLoss: `predict`, `loss`, `accuracy`, `numericalGradient` and `gradient` as
 * the book writes them for TwoLayerNet (5.7.2), MultiLayerNet(Extend) and SimpleConvNet.
 * Its parameters are its layers', named as the book names them (W1, b1, gamma1, …) and
 * made by the network, which owns them.
 */

import type { Backend, Labels } from '../engine/backend.js';
import { ShapeError, UsageError } from '../engine/errors.js';
import { formatShape, sameShape, sizeOf } from '../engine/shapes.js';
import { Tensor } from '../engine/tensor.js';
import {
  type Architecture,
  buildLayers,
  type LayerSpec,
  layerTypes,
  nearest,
  refuseUnknownKeys,
} from './architecture.js';
import { numericalGradient } from './gradient.js';
import { initScale } from './layer-descriptor.js';
import { type Layer, SoftmaxWithLoss } from './layers.js';
import { Random } from './random.js';

export type Params = Record<string, Tensor>;
export type Gradients = Record<string, Tensor>;

export interface NetworkOptions {
  /** Seed for the weights (default 0); the same seed gives the same weights on every backend. */
  seed?: number;
  /** Or draw the weights from this generator (training, and Dropout's masks, keep drawing from it). */
  random?: Random;
  /** Start from these values instead of made ones (a saved model): W1, b1, gamma1, runningMean1, … */
  initialParams?: Record<string, ArrayLike<number>>;
}

/** The options `Network` itself takes; a subclass's options add its own to these. */
export const NETWORK_OPTION_KEYS = ['seed', 'random', 'initialParams'] as const;

/** Only the `Network` options of a subclass's `options` (which were checked there). */
export function networkOptions(options: NetworkOptions): NetworkOptions {
  return Object.fromEntries(
    NETWORK_OPTION_KEYS.filter((key) => options[key] !== undefined).map((key) => [
      key,
      options[key],
    ]),
  );
}

export class Network {
  /** W1, b1, W2, b2, gamma1, …: the tensors the layers compute with and the optimizer updates. */
  readonly params: Params = {};
  /** What the layers learn without a gradient (runningMean1, runningVar1, …): saved with a model. */
  readonly state: Params = {};
  /** The book's OrderedDict, in the order predict runs them: Affine1, Relu1, Conv1, … */
  readonly layers = new Map<string, Layer>();
  readonly lastLayer: SoftmaxWithLoss;
  /** The loss of the last `loss` or `gradient` call, [] (owned by the network). */
  lastLoss: Tensor | null = null;
  readonly architecture: Architecture;
  /** The generator the weights came from; training draws its mini-batches (and Dropout its masks) from it. */
  readonly random: Random;
  /** One sample's shape, as `predict` takes it (a flat [batch, size] input is reshaped to it). */
  readonly inputShape: readonly number[];
  /** Scores a sample: the classes. */
  readonly outputSize: number;
  /** The most values one sample takes in any tensor of a forward pass (evaluation sizes its chunks by it). */
  readonly largestSample: number;
  /** A sample's shape after each layer, in the order of `layers`. */
  private readonly outputShapes: number[][];
  /** Each parameter's layer and short name (W, b, gamma, beta), for the gradients. */
  private readonly sources: [name: string, layer: Layer, key: string][] = [];
  /** The tensors weight decay and its gradient made in the last call: freed by the next. */
  private penalties: Tensor[] = [];

  constructor(
    readonly backend: Backend,
    architecture: Architecture,
    options: NetworkOptions = {},
  ) {
    refuseUnknownKeys('network options', options ?? {}, NETWORK_OPTION_KEYS);
    this.architecture = checkArchitecture(architecture);
    this.random = options.random ?? new Random(options.seed ?? 0);
    this.inputShape = this.architecture.input;
    const initial = options.initialParams;
    const made = new Map<Tensor, string>();
    const used = new Set<string>();
    let built: ReturnType<typeof buildLayers>;
    try {
      built = buildLayers(this.architecture, {
        backend,
        random: this.random,
        make: (name, shape, fill) => {
          const size = sizeOf(shape);
          let t: Tensor;
          try {
            t = backend.tensor(this.initialValues(name, shape, size, fill, initial, used), shape);
          } catch (error) {
            if (error instanceof RangeError) {
              throw new UsageError(
                `${name} ${formatShape(shape)} needs more memory than this JavaScript engine can allocate (${error.message})`,
              );
            }
            throw error;
          }
          made.set(t, name);
          return t;
        },
      });
    } catch (error) {
      for (const t of made.keys()) t.dispose(); // a constructor that throws leaks nothing
      throw error;
    }
    try {
      const extra = Object.keys(initial ?? {}).filter((name) => !used.has(name));
      if (extra.length > 0) {
        throw new UsageError(
          `initialParams.${extra[0]} belongs to no layer of this network${extra.length > 1 ? ` (nor ${extra.slice(1).join(', ')})` : ''}`,
        );
      }
      if (built.output.length !== 1) {
        throw new UsageError(
          `the last layer must give one score a class, [classes], but it gives ${formatShape(built.output)} a sample: end with an affine layer`,
        );
      }
    } catch (error) {
      for (const t of made.keys()) t.dispose();
      for (const layer of built.layers) layer.dispose();
      throw error;
    }
    this.outputSize = built.output[0];
    this.largestSample = built.largestSample;
    this.outputShapes = built.outputs;
    for (const [i, layer] of built.layers.entries()) {
      this.layers.set(built.names[i], layer);
      for (const [key, t] of Object.entries(layer.params ?? {})) {
        const name = made.get(t) as string;
        this.params[name] = t;
        this.sources.push([name, layer, key]);
      }
      for (const t of Object.values(layer.state ?? {})) this.state[made.get(t) as string] = t;
    }
    this.lastLayer = new SoftmaxWithLoss(backend);
  }

  /**
   * Each layer in order with a sample's shape after it and its parameters (W1 [30,1,5,5],
   * b1 [30] …), and the total to learn — what `model.summary()` shows a Keras user.
   */
  layerSummary(): {
    layer: string;
    output: number[];
    params: Record<string, number[]>;
    count: number;
  }[] {
    return [...this.layers].map(([layer, object], i) => {
      const params: Record<string, number[]> = {};
      for (const [name, owner] of this.sources) {
        if (owner === object) params[name] = [...this.params[name].shape];
      }
      const count = Object.values(params).reduce((sum, shape) => sum + sizeOf(shape), 0);
      return { layer, output: this.outputShapes[i], params, count };
    });
  }

  /** `layerSummary` as a table: layer, output shape, parameters, and the total. */
  summary(): string {
    const rows = this.layerSummary();
    const total = rows.reduce((sum, row) => sum + row.count, 0);
    const table = [
      ['layer', 'output', 'parameters', ''],
      ['input', formatShape(this.inputShape), '', ''],
      ...rows.map((row) => [
        row.layer,
        formatShape(row.output),
        row.count === 0 ? '0' : row.count.toLocaleString('en-US'),
        Object.entries(row.params)
          .map(([name, shape]) => `${name} ${formatShape(shape)}`)
          .join(', '),
      ]),
    ];
    const widths = [0, 1, 2].map((c) => Math.max(...table.map((r) => r[c].length)));
    const lines = table.map((r) =>
      `${r[0].padEnd(widths[0])}  ${r[1].padEnd(widths[1])}  ${r[2].padStart(widths[2])}  ${r[3]}`.trimEnd(),
    );
    return `${lines.join('\n')}\n${total.toLocaleString('en-US')} parameters`;
  }

  /**
   * The scores (logits) for each sample, [batch, outputs]; owned by the last layer.
   * `train` is the book's train_flg: Dropout drops, BatchNorm uses the batch's statistics.
   */
  predict(x: Tensor, train = false): Tensor {
    const b = this.backend;
    const batch = x.shape[0];
    const sample = sizeOf(this.inputShape);
    if (x.shape.length < 2 || x.size !== batch * sample) {
      // a ShapeError, as a kernel's: a program that catches shape errors catches this one
      const [first] = this.layers.keys();
      const ways =
        this.inputShape.length === 1
          ? `[batch, ${sample}]`
          : `[batch, ${sample}] or [batch, ${this.inputShape.join(', ')}]`;
      throw new ShapeError(
        `${first} (the network's input)`,
        `takes samples of ${formatShape(this.inputShape)} (${sample} values), as ${ways}; got ${formatShape(x.shape)}`,
      );
    }
    // MNIST arrives as rows of 784 pixels; a convolution reads them as [1, 28, 28] images
    const input = b.reshape(x, [batch, ...this.inputShape]);
    try {
      let out = input;
      for (const layer of this.layers.values()) out = layer.forward(out, train);
      return out;
    } finally {
      b.dispose(input);
    }
  }

  /** The mean cross-entropy (plus ½·λ·ΣW² with weight decay), [] (owned by the network). */
  loss(x: Tensor, t: Labels, train = false): Tensor {
    const y = this.predict(x, train);
    this.lastLoss = this.lastLayer.forward(y, t);
    const lambda = this.architecture.weightDecay ?? 0;
    if (lambda > 0) {
      const b = this.backend;
      this.release();
      const weights = this.weights();
      this.lastLoss = b.tidy(() => {
        let penalty = b.sum(b.mul(weights[0], weights[0]));
        for (const W of weights.slice(1)) penalty = b.add(penalty, b.sum(b.mul(W, W)));
        return b.add(this.lastLayer.loss as Tensor, b.mul(penalty, 0.5 * lambda));
      });
      this.penalties.push(this.lastLoss);
    }
    return this.lastLoss;
  }

  /** The probabilities of each class, softmax(predict(x)), [batch, outputs]; the caller owns them. */
  probabilities(x: Tensor): Tensor {
    return this.backend.softmax(this.predict(x));
  }

  /** The fraction of samples whose largest score is at the label's class (at test: no dropout, running statistics). */
  async accuracy(x: Tensor, t: Labels): Promise<number> {
    const correct = this.backend.countCorrect(this.predict(x), t);
    const count = await this.backend.item(correct);
    this.backend.dispose(correct);
    return count / x.shape[0];
  }

  /**
   * The gradients by numerical differentiation (slow; for checking `gradient`), of the
   * training loss, as the book's: every evaluation draws the same Dropout masks (the
   * generator is rewound to where it stood). The caller owns them.
   */
  async numericalGradient(x: Tensor, t: Labels, h?: number): Promise<Gradients> {
    const start = this.random.save();
    const lossW = async () => {
      this.random.restore(start);
      return this.backend.item(this.loss(x, t, true));
    };
    const grads: Gradients = {};
    try {
      for (const [name, param] of Object.entries(this.params)) {
        grads[name] = await numericalGradient(lossW, this.backend, param, h);
      }
    } finally {
      this.random.restore(start);
    }
    return grads;
  }

  /** The gradients by backpropagation, of the training loss. Owned by the network: valid until its next call. */
  gradient(x: Tensor, t: Labels): Gradients {
    // forward, in training
    this.loss(x, t, true);

    // backward: from the loss (dout = 1) back through the layers in reverse, down to the
    // first layer that learns (below it, no gradient is needed)
    let dout: Tensor | null = this.lastLayer.backward();
    const layers = [...this.layers];
    const lowest = layers.findIndex(([, layer]) => layer.params);
    for (const [name, layer] of layers.slice(Math.max(lowest, 0)).reverse()) {
      if (!dout) throw new UsageError(`${name}: the layer after it computed no input gradient`);
      dout = layer.backward(dout);
    }

    const lambda = this.architecture.weightDecay ?? 0;
    const grads: Gradients = {};
    for (const [name, layer, key] of this.sources) {
      let grad = layer.grads?.[key] as Tensor;
      if (lambda > 0 && key === 'W') {
        const b = this.backend;
        const W = this.params[name];
        const dW = grad;
        grad = b.tidy(() => b.add(dW, b.mul(W, lambda))); // d(½·λ·ΣW²)/dW = λ·W
        this.penalties.push(grad);
      }
      grads[name] = grad;
    }
    return grads;
  }

  /**
   * Every parameter and every piece of state by its layer and its name there, in layer
   * order — Conv1.W, Conv1.b, BatchNorm2d1.gamma, …, BatchNorm2d1.runningMean — as
   * PyTorch's `state_dict()`. The network's own tensors, not copies; `params` and `state`
   * hold the same ones under the book's names (W1, b1, gamma1, runningMean1).
   */
  stateDict(): Record<string, Tensor> {
    const entries: Record<string, Tensor> = {};
    for (const [layerName, layer] of this.layers) {
      for (const [key, t] of [
        ...Object.entries(layer.params ?? {}),
        ...Object.entries(layer.state ?? {}),
      ]) {
        entries[`${layerName}.${key}`] = t;
      }
    }
    return entries;
  }

  /**
   * Copies `values` into the network's parameters and state, by the names `stateDict()`
   * gives (Conv1.W) or the book's (W1); each a tensor of this backend or plain numbers.
   * `strict` (default true, as PyTorch's): every entry must name one of the network's and
   * every one of the network's must be given. Everything is checked before anything is
   * written: a mistake leaves the network as it was.
   */
  loadStateDict(
    values: Record<string, Tensor | ArrayLike<number>>,
    { strict = true }: { strict?: boolean } = {},
  ): void {
    const qualified = this.stateDict();
    const targets = new Map<string, [name: string, target: Tensor]>();
    for (const [name, t] of Object.entries(qualified)) targets.set(name, [name, t]);
    const flat = { ...this.params, ...this.state };
    for (const [name, t] of Object.entries(flat)) targets.set(name, [name, t]);
    const known = Object.keys(qualified);
    const writes: [Tensor, Tensor | ArrayLike<number>][] = [];
    const given = new Set<Tensor>();
    for (const [name, value] of Object.entries(values)) {
      const found = targets.get(name);
      if (!found) {
        if (!strict) continue;
        const near = nearest(name, [...known, ...Object.keys(flat)]);
        throw new UsageError(
          `loadStateDict: "${name}" is none of this network's${near ? ` (did you mean "${near}"?)` : ''}; it has ${known.join(', ')} (or the book's names ${Object.keys(flat).join(', ')}); pass { strict: false } to skip the ones it lacks`,
        );
      }
      const target = found[1];
      const shape = value instanceof Tensor ? value.shape : undefined;
      const size = value instanceof Tensor ? value.size : value?.length;
      if ((shape && !sameShape(shape, target.shape)) || size !== target.size) {
        throw new ShapeError(
          'loadStateDict',
          `"${name}" is ${formatShape(target.shape)} (${target.size} values), got ${shape ? formatShape(shape) : `${size} values`}`,
        );
      }
      if (value instanceof Tensor && value.backend !== this.backend) {
        throw new UsageError(
          `loadStateDict: "${name}" is a tensor of another backend (${value.backend.name}); pass its values (await backend.read(t)) or a tensor of this one (${this.backend.name})`,
        );
      }
      writes.push([target, value]);
      given.add(target);
    }
    if (strict) {
      const missing = known.filter((name) => !given.has(qualified[name]));
      if (missing.length > 0) {
        throw new UsageError(
          `loadStateDict: ${missing.join(', ')} ${missing.length === 1 ? 'is' : 'are'} missing; pass { strict: false } to keep the values it has`,
        );
      }
    }
    const b = this.backend;
    for (const [target, value] of writes) {
      if (value instanceof Tensor)
        b.tidy(() => b.assign(target, b.mul(value, 1))); // a copy, used up by assign
      else b.write(target, value);
    }
  }

  /** The parameters and the state as plain arrays, for saving. */
  async readParams(): Promise<Record<string, Float64Array>> {
    const values: Record<string, Float64Array> = {};
    for (const [name, t] of [...Object.entries(this.params), ...Object.entries(this.state)]) {
      values[name] = Float64Array.from(await this.backend.read(t));
    }
    return values;
  }

  /** Frees the parameters, the state and everything the layers hold. */
  dispose(): void {
    this.release();
    for (const layer of this.layers.values()) layer.dispose();
    this.lastLayer.dispose();
    for (const t of [...Object.values(this.params), ...Object.values(this.state)]) {
      this.backend.dispose(t);
    }
  }

  /** A parameter's first values: given (a saved model's), drawn, or a constant. */
  private initialValues(
    name: string,
    shape: number[],
    size: number,
    fill: { std: number } | { value: number },
    initial: Record<string, ArrayLike<number>> | undefined,
    used: Set<string>,
  ): ArrayLike<number> {
    if (initial) {
      const values = initial[name];
      if (!values) {
        throw new UsageError(`initialParams.${name} is missing (${name} is ${formatShape(shape)})`);
      }
      if (values.length !== size) {
        throw new UsageError(
          `initialParams.${name} must hold ${size} values (${name} is ${formatShape(shape)}), got ${values.length}`,
        );
      }
      used.add(name);
      return values;
    }
    // as the book: std · randn(shape); biases and β zeros, γ ones
    if ('std' in fill) return this.random.normalArray(size, fill.std);
    return new Float64Array(size).fill(fill.value);
  }

  /** Every W the book decays: of the Affine and Convolution layers, first to last. */
  private weights(): Tensor[] {
    return this.sources.filter(([, , key]) => key === 'W').map(([name]) => this.params[name]);
  }

  private release(): void {
    for (const t of this.penalties.splice(0)) this.backend.dispose(t);
  }
}

/**
 * A network as PyTorch's `nn.Sequential` and TensorFlow.js's `tf.sequential` read: one
 * sample's shape and the layers in order, as specs — the book's, the ones beyond it, or
 * a user's own (`registerLayer`). The same `Network` the JSON architecture builds.
 *
 *     new Sequential(backend, [1, 28, 28], [
 *       { type: 'conv', filters: 30, size: 5 }, { type: 'relu' }, { type: 'pool', size: 2 },
 *       { type: 'affine', units: 100 }, { type: 'relu' }, { type: 'affine', units: 10 },
 *     ]);
 */
export class Sequential extends Network {
  constructor(
    backend: Backend,
    input: number[],
    layers: LayerSpec[],
    options: NetworkOptions & Pick<Architecture, 'name' | 'weightInit' | 'weightDecay'> = {},
  ) {
    refuseUnknownKeys('Sequential options', options, [
      ...NETWORK_OPTION_KEYS,
      'name',
      'weightInit',
      'weightDecay',
    ]);
    const { name, weightInit, weightDecay, ...network } = options;
    super(
      backend,
      {
        ...(name !== undefined ? { name } : {}),
        input,
        layers,
        ...(weightInit !== undefined ? { weightInit } : {}),
        ...(weightDecay !== undefined ? { weightDecay } : {}),
      },
      network,
    );
  }
}

/** A whole number >= 1, or a UsageError naming the option. */
export function checkSize(name: string, size: unknown): number {
  if (!Number.isSafeInteger(size) || (size as number) < 1) {
    throw new UsageError(`${name} must be a whole number >= 1, got ${String(size)}`);
  }
  return size as number;
}

/** The architecture, checked where a whole layer list is not, and copied (the network keeps its own). */
function checkArchitecture(architecture: Architecture): Architecture {
  if (typeof architecture !== 'object' || architecture === null) {
    throw new UsageError(
      'an architecture is { input: [784], layers: [{ type: "affine", units: 10 }] }',
    );
  }
  const { input, layers, weightInit, weightDecay, name } = architecture;
  if (!Array.isArray(input) || input.length === 0) {
    throw new UsageError(
      `input must be one sample's shape, e.g. [784] or [1, 28, 28], got ${JSON.stringify(input)}`,
    );
  }
  for (const [i, n] of input.entries()) checkSize(`input[${i}]`, n);
  if (!Array.isArray(layers) || layers.length === 0) {
    throw new UsageError(
      `layers must list at least one layer spec ({ type: ${layerTypes()
        .map((t) => `'${t}'`)
        .join(' | ')}, … })`,
    );
  }
  if (weightInit !== undefined) initScale('architecture', weightInit, 1);
  if (
    weightDecay !== undefined &&
    !(typeof weightDecay === 'number' && weightDecay >= 0 && Number.isFinite(weightDecay))
  ) {
    throw new UsageError(`weightDecay must be a number >= 0, got ${JSON.stringify(weightDecay)}`);
  }
  refuseUnknownKeys('architecture', architecture, [
    'name',
    'input',
    'layers',
    'weightInit',
    'weightDecay',
  ]);
  return structuredClone({
    ...(name !== undefined ? { name } : {}),
    input,
    layers,
    weightInit: weightInit ?? 'he',
    weightDecay: weightDecay ?? 0,
  });
}
