/**
 * Layers as descriptors: networks from the layers beyond the book (BatchNorm2d, AvgPool,
 * Tanh, Flatten), a user's own layer built, saved and loaded, and the registry's mistakes.
 */
import {
  Adam,
  type Backend,
  DataError,
  gradientCheck,
  gradientVerdict,
  type Layer,
  type LayerDescriptor,
  layerTypes,
  modelFromJSON,
  modelToJSON,
  Network,
  parseLayers,
  Random,
  registerLayer,
  releaseAll,
  Sequential,
  ShapeError,
  type Tensor,
  trainingStep,
  UsageError,
} from '@backprop/core';
import { describe, expect, it } from 'vitest';
import { CpuBackend } from '../src/index.js';

/** y = alpha·x: a user's layer with a parameter, so the model file must carry it. */
class Scale implements Layer {
  out: Tensor | null = null;
  x: Tensor | null = null;
  dx: Tensor | null = null;
  dalpha: Tensor | null = null;
  constructor(
    private readonly backend: Backend,
    readonly alpha: Tensor,
  ) {}
  get params() {
    return { alpha: this.alpha };
  }
  get grads() {
    return { alpha: this.dalpha };
  }
  forward(x: Tensor): Tensor {
    releaseAll(this.backend, this.out);
    this.x = x;
    this.out = this.backend.mul(x, this.alpha);
    return this.out;
  }
  backward(dout: Tensor): Tensor {
    releaseAll(this.backend, this.dx, this.dalpha);
    const b = this.backend;
    this.dx = b.mul(dout, this.alpha);
    this.dalpha = b.tidy(() => b.sum(b.mul(dout, this.x as Tensor), 0));
    return this.dx;
  }
  dispose(): void {
    releaseAll(this.backend, this.out, this.dx, this.dalpha);
    this.out = this.dx = this.dalpha = null;
  }
}
type ScaleSpec = { type: 'scale'; init?: number };
const scaleDescriptor: LayerDescriptor<ScaleSpec> = {
  type: 'scale',
  name: 'Scale',
  keys: ['init'],
  words: 'scale [init=V]',
  build: (spec, input, ctx) => ({
    layer: new Scale(
      ctx.backend,
      ctx.make(ctx.numbered('alpha'), [...input], { value: spec.init ?? 1 }),
    ),
    output: [...input],
  }),
};
registerLayer(scaleDescriptor);
declare module '@backprop/core' {
  interface LayerSpecs {
    scale: ScaleSpec;
  }
}

/** A batch of `n` random images [channels, size, size] and their labels. */
function batch(backend: Backend, n: number, sample: number[], seed = 3) {
  const random = new Random(seed);
  const size = sample.reduce((a, b) => a * b, 1);
  const x = Float64Array.from({ length: n * size }, () => random.uniform());
  const t = Float64Array.from({ length: n }, (_, i) => i % 10);
  return { x: backend.tensor(x, [n, ...sample]), t: backend.tensor(t, [n]) };
}

describe('the layers beyond the book, from words', () => {
  it('parses and builds batchnorm2d, avgpool, tanh and flatten; BatchNorm2d has one gamma a channel', () => {
    const layers = parseLayers(
      'conv 30 5 5, batchnorm2d momentum=0.8, relu, avgpool 2, flatten, affine 20, tanh, affine 10',
    );
    expect(layers).toEqual([
      { type: 'conv', filters: 30, size: 5 },
      { type: 'batchnorm2d', momentum: 0.8 },
      { type: 'relu' },
      { type: 'avgpool', size: 2 },
      { type: 'flatten' },
      { type: 'affine', units: 20 },
      { type: 'tanh' },
      { type: 'affine', units: 10 },
    ]);
    const net = new Network(new CpuBackend({ dtype: 'float64' }), { input: [1, 28, 28], layers });
    // PyTorch's BatchNorm2d(30): 30, where the book's BatchNormalization has 30·24·24
    expect(net.params.gamma1.shape).toEqual([30]);
    expect(net.state.runningVar1.shape).toEqual([30]);
    expect([...net.layers.keys()]).toEqual([
      'Conv1',
      'BatchNorm2d1',
      'Relu1',
      'AvgPool1',
      'Flatten1',
      'Affine1',
      'Tanh1',
      'Affine2',
    ]);
    expect(net.summary()).toContain('AvgPool1');
    net.dispose();
  });

  it('batchnorm2d after a convolution: the gradient check in float64 passes, every difference <= 1e-8', async () => {
    const backend = new CpuBackend({ dtype: 'float64' });
    const net = new Network(backend, {
      input: [1, 8, 8],
      layers: parseLayers('conv 3 3 3, batchnorm2d, relu, avgpool 2, tanh, affine 10'),
    });
    const { x, t } = batch(backend, 4, [1, 8, 8]);
    const report = await gradientCheck(net, x, t);
    // b1 tests nothing, rightly: BatchNorm2d takes each channel's mean away, a bias with
    // it, so b1's gradient is 0 both ways (3e-16 measured); every other parameter passes
    expect(gradientVerdict(report), JSON.stringify(report)).toEqual({
      ok: false,
      failed: [],
      untested: ['b1'],
    });
    // h = 1e-4 in float64: truncation h²·|f‴| and rounding 1e-16·|L|/h stay near 1e-10
    for (const [name, check] of Object.entries(report)) {
      expect(check.maxAbsDiff, name).toBeLessThanOrEqual(1e-8);
    }
    expect(Object.keys(report)).toEqual(expect.arrayContaining(['gamma1', 'beta1', 'W1', 'W2']));
  });

  it('a SimpleConvNet with batchnorm2d trains: the loss falls over 30 Adam steps', async () => {
    const backend = new CpuBackend({ dtype: 'float32' });
    const net = new Network(backend, {
      input: [1, 12, 12],
      layers: parseLayers('conv 8 3 3, batchnorm2d, relu, pool 2, affine 10'),
    });
    // a Dataset holds rows of pixels; the network reshapes them to its input [1, 12, 12]
    const { x, t } = batch(backend, 20, [144]);
    const optimizer = new Adam(backend, 0.01);
    const all = Array.from({ length: 20 }, (_, i) => i);
    const losses: number[] = [];
    for (let i = 0; i < 30; i++) {
      losses.push(await trainingStep(net, optimizer, { images: x, labels: t }, all));
    }
    // 20 samples of noise with labels 0–9: a net this size learns them by heart; the loss
    // starts near ln 10 = 2.30 and ends below half of that
    expect(losses[0]).toBeGreaterThan(1.5);
    expect(losses.at(-1)).toBeLessThan(losses[0] / 2);
    net.dispose();
  });
});

describe("a user's own layer (registerLayer)", () => {
  it('builds from JSON and words, numbers its parameter, saves and loads with the model file', async () => {
    const backend = new CpuBackend({ dtype: 'float64' });
    expect(parseLayers('affine 6, scale init=0.5, affine 10')[1]).toEqual({
      type: 'scale',
      init: 0.5,
    });
    const net = new Network(backend, {
      input: [12],
      layers: [
        { type: 'affine', units: 6 },
        { type: 'scale', init: 0.5 },
        { type: 'relu' },
        { type: 'affine', units: 10 },
      ],
    });
    expect(Object.keys(net.params)).toEqual(['W1', 'b1', 'alpha1', 'W2', 'b2']);
    const { x, t } = batch(backend, 5, [12]);
    const report = await gradientCheck(net, x, t);
    expect(gradientVerdict(report).ok).toBe(true);
    const file = JSON.parse(JSON.stringify(await modelToJSON(net)));
    expect(file.architecture.layers[1]).toEqual({ type: 'scale', init: 0.5 });
    const loaded = modelFromJSON(backend, file);
    expect(Array.from(backend.readSync(loaded.predict(x)))).toEqual(
      Array.from(backend.readSync(net.predict(x))),
    );
    // a layer type the loading program never registered: named, with what to do
    file.architecture.layers[1] = { type: 'swish' };
    expect(() => modelFromJSON(backend, file, 'net.json')).toThrow(DataError);
    expect(() => modelFromJSON(backend, file, 'net.json')).toThrow(
      /net\.json: layer 2 is of type "swish", which this program has not registered .*call registerLayer\(its descriptor\) before loading the model/,
    );
  });

  it('refuses a descriptor it could not use, saying what to change', () => {
    const ok = { ...scaleDescriptor, type: 'scale2', name: 'Scale2', words: 'scale2 [init=V]' };
    const mistakes: [object, RegExp][] = [
      [scaleDescriptor, /a layer of type 'scale' is registered already/],
      [{ ...ok, type: 'Scale2' }, /type must be a lowercase word/],
      [{ ...ok, name: 'scale2' }, /name must be a capitalised word/],
      [{ ...ok, name: 'Affine' }, /the name 'Affine' is the affine layer's/],
      [{ ...ok, words: 'scale [init=V]' }, /words must start with its type/],
      [
        { ...ok, words: 'scale2 [N] M' },
        /'M' in its words 'scale2 \[N\] M' is not a NUMBER, an optional/,
      ],
      [{ ...ok, keys: ['type'] }, /keys must list the spec's fields besides type/],
      [{ ...ok, build: undefined }, /a layer descriptor has type, name, keys, words and build/],
    ];
    for (const [descriptor, message] of mistakes) {
      expect(() => registerLayer(descriptor as LayerDescriptor)).toThrow(UsageError);
      expect(() => registerLayer(descriptor as LayerDescriptor)).toThrow(message);
    }
    expect(layerTypes()).not.toContain('scale2');
  });

  it('names an unknown layer in a list, with the near miss or how to add one', () => {
    const backend = new CpuBackend({ dtype: 'float64' });
    expect(() => new Network(backend, { input: [4], layers: [{ type: 'tahn' } as never] })).toThrow(
      /layer 1: unknown type "tahn" \(did you mean 'tanh'\?\)/,
    );
    expect(
      () => new Network(backend, { input: [4], layers: [{ type: 'swish' } as never] }),
    ).toThrow(
      /layer 1: unknown type "swish"; layers: affine, .*scale; a layer of your own is added with registerLayer\(descriptor\)/,
    );
    expect(() => parseLayers('affine 10, flatten 3')).toThrow(
      /layer 2 'flatten 3': flatten takes 0 numbers; write it as flatten/,
    );
  });
});

describe('Sequential, stateDict and loadStateDict', () => {
  const layers = parseLayers('conv 4 3 3, batchnorm2d, relu, pool 2, affine 10');

  it('Sequential builds what the JSON architecture builds, from the same seed', () => {
    const backend = new CpuBackend({ dtype: 'float64' });
    const seq = new Sequential(backend, [1, 8, 8], layers, { seed: 5, weightInit: 0.1 });
    const net = new Network(backend, { input: [1, 8, 8], layers, weightInit: 0.1 }, { seed: 5 });
    expect(seq).toBeInstanceOf(Network);
    expect(Array.from(backend.readSync(seq.params.W1))).toEqual(
      Array.from(backend.readSync(net.params.W1)),
    );
    seq.dispose();
    net.dispose();
  });

  it('names every tensor by its layer, and loads them into another network, by either name', () => {
    const backend = new CpuBackend({ dtype: 'float64' });
    const a = new Sequential(backend, [1, 8, 8], layers, { seed: 1 });
    const b = new Sequential(backend, [1, 8, 8], layers, { seed: 2 });
    const sd = a.stateDict();
    expect(Object.keys(sd)).toEqual([
      'Conv1.W',
      'Conv1.b',
      'BatchNorm2d1.gamma',
      'BatchNorm2d1.beta',
      'BatchNorm2d1.runningMean',
      'BatchNorm2d1.runningVar',
      'Affine1.W',
      'Affine1.b',
    ]);
    expect(sd['Affine1.W']).toBe(a.params.W2); // the same tensor as the book's W2
    b.loadStateDict(sd);
    const { x } = batch(backend, 3, [1, 8, 8]);
    expect(Array.from(backend.readSync(b.predict(x)))).toEqual(
      Array.from(backend.readSync(a.predict(x))),
    );
    // the book's flat names, as plain numbers
    const c = new Sequential(backend, [1, 8, 8], layers, { seed: 3 });
    const flat = Object.fromEntries(
      Object.entries({ ...a.params, ...a.state }).map(([name, t]) => [name, backend.readSync(t)]),
    );
    c.loadStateDict(flat);
    expect(Array.from(backend.readSync(c.predict(x)))).toEqual(
      Array.from(backend.readSync(a.predict(x))),
    );
    for (const n of [a, b, c]) n.dispose();
  });

  it('refuses a wrong name, a wrong shape or a missing entry, and then has changed nothing', () => {
    const backend = new CpuBackend({ dtype: 'float64' });
    const net = new Sequential(backend, [1, 8, 8], layers, { seed: 1 });
    const before = Array.from(backend.readSync(net.params.W1));
    const sd: Record<string, Tensor> = {
      ...net.stateDict(),
      'Conv1.W': backend.tensor(new Float64Array(36).fill(7), [4, 1, 3, 3]),
    };
    expect(() => net.loadStateDict({ ...sd, 'Conv1.w': sd['Conv1.b'] as Tensor })).toThrow(
      /loadStateDict: "Conv1.w" is none of this network's \(did you mean "Conv1.W"\?\); it has Conv1.W, /,
    );
    expect(() => net.loadStateDict({ ...sd, 'Affine1.b': [1, 2, 3] })).toThrow(ShapeError);
    expect(() => net.loadStateDict({ ...sd, 'Affine1.b': [1, 2, 3] })).toThrow(
      /"Affine1.b" is \[10\] \(10 values\), got 3 values/,
    );
    const { 'BatchNorm2d1.runningVar': _, ...missing } = sd;
    expect(() => net.loadStateDict(missing)).toThrow(
      /BatchNorm2d1.runningVar is missing; pass \{ strict: false \}/,
    );
    expect(Array.from(backend.readSync(net.params.W1))).toEqual(before);
    // not strict: what it has is loaded, what it lacks stays, what it does not know is skipped
    net.loadStateDict({ 'Conv1.W': sd['Conv1.W'] as Tensor, 'Extra.W': [1] }, { strict: false });
    expect(Array.from(backend.readSync(net.params.W1))).toEqual(new Array(36).fill(7));
    net.dispose();
  });
});
