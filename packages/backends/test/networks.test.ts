/**
 * MultiLayerNet, the optimizers of section 6.1 and the model file — core code that needs
 * a backend for its arithmetic: run on the CPU kernels in float64.
 */

import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CpuBackend } from '@backprop/backend-cpu';
import {
  AdaGrad,
  Adam,
  createOptimizer,
  gradientCheck,
  isModelHeader,
  loadModel,
  Momentum,
  MultiLayerNet,
  MultiLayerNetExtend,
  modelFromBinary,
  modelFromJSON,
  modelToBinary,
  modelToJSON,
  type Optimizer,
  SGD,
  saveModel,
  type Tensor,
  TwoLayerNet,
} from '@backprop/core';
import { afterAll, describe, expect, it } from 'vitest';

const b = new CpuBackend({ dtype: 'float64' });
const read = (x: Tensor) => Array.from(b.readSync(x));
const closeTo = (actual: number[], expected: number[], tolerance = 1e-15) => {
  for (const [i, v] of actual.entries()) {
    expect(Math.abs(v - expected[i])).toBeLessThanOrEqual(tolerance);
  }
};

describe('optimizers (6.1), one step against the book’s formulas by hand', () => {
  const w0 = [1, -2, 0.5];
  const g0 = [0.3, -0.1, 0];
  const step = (optimizer: (p: Tensor) => Optimizer, steps = 1) => {
    const W = b.tensor(w0, [3]);
    const opt = optimizer(W);
    for (let i = 0; i < steps; i++) opt.update({ W }, { W: b.tensor(g0, [3]) });
    return read(W);
  };

  it('SGD: W − lr·g', () => {
    closeTo(
      step(() => new SGD(b, 0.1)),
      w0.map((w, i) => w - 0.1 * g0[i]),
    );
  });

  it('Momentum: v = 0.9v − lr·g, W + v (twice, so v carries)', () => {
    const v1 = g0.map((g) => -0.01 * g);
    const v2 = g0.map((g, i) => 0.9 * v1[i] - 0.01 * g);
    closeTo(
      step(() => new Momentum(b, 0.01), 2),
      w0.map((w, i) => w + v1[i] + v2[i]),
    );
  });

  it('AdaGrad: h += g², W − lr·g / (√h + 1e-7)', () => {
    closeTo(
      step(() => new AdaGrad(b, 0.01)),
      w0.map((w, i) => w - (0.01 * g0[i]) / (Math.sqrt(g0[i] ** 2) + 1e-7)),
    );
  });

  it('Adam: the bias-corrected lr_t, m and v, as the book writes it', () => {
    const lrT = (0.001 * Math.sqrt(1 - 0.999)) / (1 - 0.9);
    const expected = w0.map((w, i) => {
      const m = 0.1 * g0[i];
      const v = 0.001 * g0[i] ** 2;
      return w - (lrT * m) / (Math.sqrt(v) + 1e-7);
    });
    closeTo(
      step(() => new Adam(b)),
      expected,
      1e-14,
    );
  });

  it('free their state, and refuse rates that cannot work', () => {
    const before = b.liveTensors();
    const W = b.tensor([1, 2], [2]);
    const g = b.tensor([1, 1], [2]);
    const adam = createOptimizer(b, 'adam');
    adam.update({ W }, { W: g });
    adam.dispose();
    W.dispose();
    g.dispose();
    expect(b.liveTensors()).toBe(before);
    expect(() => new Momentum(b, 0.01, 1.5)).toThrow(/momentum must be a positive number below 1/);
    expect(() => createOptimizer(b, 'sgd', -1)).toThrow(/learning rate must be a positive number/);
  });
});

describe('MultiLayerNet (the book’s common/multi_layer_net.py)', () => {
  const x = b.tensor([0.1, 0.5, 0.9, 0.3, 0.8, 0.2, 0.4, 0.6, 0, 1, 0.5, 0.5], [3, 4]);
  const t = b.tensor([2, 0, 1], [3]);

  for (const activation of ['relu', 'sigmoid'] as const) {
    it(`${activation}, two hidden layers, weight decay: backprop = numerical gradient`, async () => {
      const net = new MultiLayerNet(b, {
        inputSize: 4,
        hiddenSizes: [5, 6],
        outputSize: 3,
        activation,
        weightDecay: 0.1,
        seed: 3,
      });
      expect([...net.layers.keys()]).toEqual(
        activation === 'relu'
          ? ['Affine1', 'Relu1', 'Affine2', 'Relu2', 'Affine3']
          : ['Affine1', 'Sigmoid1', 'Affine2', 'Sigmoid2', 'Affine3'],
      );
      const report = await gradientCheck(net, x, t);
      expect(Object.keys(report)).toEqual(['W1', 'b1', 'W2', 'b2', 'W3', 'b3']);
      // float64, h = 1e-4: as the TwoLayerNet check, far below the book's 1e-7 bar
      for (const [name, r] of Object.entries(report))
        expect(r.meanAbsDiff, name).toBeLessThan(1e-9);
      net.dispose();
    });
  }

  it('initialises He for ReLU and Xavier for Sigmoid, scaled by each layer’s inputs', () => {
    const std = (values: Float64Array) =>
      Math.sqrt(values.reduce((s, v) => s + v * v, 0) / values.length);
    const he = new MultiLayerNet(b, { inputSize: 784, hiddenSizes: [200], seed: 1 });
    const xavier = new MultiLayerNet(b, {
      inputSize: 784,
      hiddenSizes: [200],
      activation: 'sigmoid',
      seed: 1,
    });
    // 156 800 samples of the W1 scale: within 1% of √(2/784) and √(1/784)
    expect(std(b.readSync(he.params.W1) as Float64Array) / Math.sqrt(2 / 784)).toBeCloseTo(1, 2);
    expect(std(b.readSync(xavier.params.W1) as Float64Array) / Math.sqrt(1 / 784)).toBeCloseTo(
      1,
      2,
    );
    expect(std(b.readSync(he.params.W2) as Float64Array) / Math.sqrt(2 / 200)).toBeCloseTo(1, 1);
    he.dispose();
    xavier.dispose();
  });

  it('names a bad option', () => {
    expect(() => new MultiLayerNet(b, { hiddenSizes: [] })).toThrow(/at least one hidden layer/);
    expect(() => new MultiLayerNet(b, { hiddenSizes: [10, 0] })).toThrow(
      /hiddenSizes\[1\] must be a whole number >= 1/,
    );
    expect(() => new MultiLayerNet(b, { weightInit: 'lecun' as never })).toThrow(
      /weightInit must be/,
    );
    expect(() => new MultiLayerNet(b, { weightDecay: -1 })).toThrow(
      /weightDecay must be a number >= 0/,
    );
  });
});

describe('the model file', () => {
  it('saves and loads any architecture, on another backend, to the same predictions', async () => {
    const net = new MultiLayerNet(b, {
      inputSize: 4,
      hiddenSizes: [3, 2],
      outputSize: 3,
      activation: 'sigmoid',
      weightDecay: 0.01,
      seed: 5,
    });
    const json = JSON.parse(JSON.stringify(await modelToJSON(net, { note: 'test' })));
    expect(json).toMatchObject({
      format: 'backprop.network',
      version: 3,
      architecture: {
        name: 'MultiLayerNet',
        input: [4],
        layers: [
          { type: 'affine', units: 3 },
          { type: 'sigmoid' },
          { type: 'affine', units: 2 },
          { type: 'sigmoid' },
          { type: 'affine', units: 3 },
        ],
        weightInit: 'xavier',
        weightDecay: 0.01,
      },
    });
    const f32 = new CpuBackend({ dtype: 'float32' });
    const loaded = modelFromJSON(f32, json, 'model.json');
    expect(loaded.architecture).toEqual(net.architecture);
    const x = [0.1, 0.2, 0.3, 0.4];
    const p = read(net.probabilities(b.tensor(x, [1, 4])));
    const q = Array.from(f32.readSync(loaded.probabilities(f32.tensor(x, [1, 4]))));
    closeTo(q, p, 1e-6); // the float32 copy of float64 weights: a few float32 roundings apart
  });

  it('still loads version 1 files (TwoLayerNet only)', () => {
    const v1 = {
      format: 'backprop.two-layer-net',
      version: 1,
      architecture: { inputSize: 2, hiddenSize: 1, outputSize: 2, activation: 'relu' },
      dtype: 'float64',
      params: {
        W1: { shape: [2, 1], values: [1, 1] },
        b1: { shape: [1], values: [0] },
        W2: { shape: [1, 2], values: [1, -1] },
        b2: { shape: [2], values: [0, 0] },
      },
    };
    const net = modelFromJSON(b, v1);
    expect(net.architecture).toMatchObject({ name: 'TwoLayerNet', input: [2], weightInit: 0.01 });
    expect(read(net.predict(b.tensor([1, 2], [1, 2])))).toEqual([3, -3]);
  });

  it("saves BatchNorm's running statistics with the weights: a loaded copy predicts the same at test", async () => {
    const net = new MultiLayerNetExtend(b, {
      inputSize: 4,
      hiddenSizes: [5],
      outputSize: 3,
      useBatchnorm: true,
      useDropout: true,
      dropoutRatio: 0.3,
      seed: 2,
    });
    const batch = b.tensor(
      Array.from({ length: 12 }, (_, i) => ((i * 7) % 10) / 10),
      [3, 4],
    );
    const labels = b.tensor([0, 2, 1], [3]);
    net.gradient(batch, labels); // a training step's forward: the running statistics move
    expect(read(net.state.runningMean1).some((v) => v !== 0)).toBe(true);
    const loaded = modelFromJSON(b, JSON.parse(JSON.stringify(await modelToJSON(net))));
    expect(read(loaded.state.runningVar1)).toEqual(read(net.state.runningVar1));
    // at test: running statistics, every value scaled by 1 − 0.3 instead of dropped
    expect(read(loaded.predict(batch))).toEqual(read(net.predict(batch)));
  });

  it('names the file and what is wrong with it', () => {
    expect(() =>
      modelFromJSON(
        b,
        { format: 'backprop.network', version: 2, architecture: { kind: 'Perceptron' } },
        'm.json',
      ),
    ).toThrow(
      /m.json: not a backprop model file: architecture.kind must be "TwoLayerNet" or "MultiLayerNet"/,
    );
    const f32 = new CpuBackend({ dtype: 'float32' });
    const huge = {
      format: 'backprop.network',
      version: 2,
      architecture: {
        kind: 'TwoLayerNet',
        inputSize: 1,
        hiddenSizes: [1],
        outputSize: 1,
        activation: 'relu',
        weightInit: 0.01,
        weightDecay: 0,
      },
      dtype: 'float64',
      params: {
        W1: { shape: [1, 1], values: [1e39] },
        b1: { shape: [1], values: [0] },
        W2: { shape: [1, 1], values: [1] },
        b2: { shape: [1], values: [0] },
      },
    };
    expect(() => modelFromJSON(f32, huge, 'big.json')).toThrow(
      /big.json: .*1e\+39.*too large for float32/,
    );
  });

  it('has a compact form: a JSON header and the values as bytes, loading to the same network', async () => {
    for (const dtype of ['float64', 'float32'] as const) {
      const backend = new CpuBackend({ dtype });
      const net = new MultiLayerNet(backend, {
        inputSize: 4,
        hiddenSizes: [3, 2],
        outputSize: 3,
        seed: 5,
      });
      const model = await modelToJSON(net);
      const { header, weights } = modelToBinary(model);
      // 4·3 + 3 + 3·2 + 2 + 2·3 + 3 = 32 values, 8 or 4 bytes each
      expect(weights.byteLength).toBe(32 * (dtype === 'float64' ? 8 : 4));
      const parsed = JSON.parse(JSON.stringify(header));
      expect(isModelHeader(parsed)).toBe(true);
      expect(isModelHeader(JSON.parse(JSON.stringify(model)))).toBe(false);
      const loaded = modelFromBinary(backend, parsed, weights.slice().buffer, 'm.json');
      // the same values, bit for bit: each is stored in the model's own dtype
      expect(await modelToJSON(loaded)).toEqual(model);
    }
  });

  it('names a weights file too short for its header', async () => {
    const net = new TwoLayerNet(b, { inputSize: 2, hiddenSize: 2, outputSize: 2, seed: 1 });
    const { header, weights } = modelToBinary(await modelToJSON(net));
    expect(() => modelFromBinary(b, header, weights.subarray(0, 40), 'm.json')).toThrow(
      /m.json: not a backprop model file: parameter b1 needs 16 bytes from offset 32 of model.weights.bin, which has 40/,
    );
  });
});

describe('saveModel and loadModel by URL (file:// here; the browser places in the release check)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'backprop-models-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('round-trips a network with BatchNorm through file://, bit for bit, to the same predictions', async () => {
    const net = new MultiLayerNetExtend(b, {
      inputSize: 4,
      hiddenSizes: [5],
      outputSize: 3,
      useBatchnorm: true,
      seed: 2,
    });
    const batch = b.tensor(
      Array.from({ length: 12 }, (_, i) => ((i * 7) % 10) / 10),
      [3, 4],
    );
    net.gradient(batch, b.tensor([0, 2, 1], [3])); // the running statistics move
    const info = await saveModel(net, `file://${dir}/extend`, { note: 'test' });
    expect(readdirSync(join(dir, 'extend')).sort()).toEqual(['model.json', 'model.weights.bin']);
    // 4·5 + 5 + 5·3 + 3 parameters, γ and β (5 each), two running statistics (5 each)
    expect(info.weightBytes).toBe((20 + 5 + 15 + 3 + 10 + 10) * 8);
    const loaded = await loadModel(b, `file://${dir}/extend`);
    expect(await modelToJSON(loaded)).toEqual(await modelToJSON(net));
    const header = JSON.parse(readFileSync(join(dir, 'extend', 'model.json'), 'utf8'));
    expect(header.trainedWith).toEqual({ note: 'test' });
    expect(read(loaded.predict(batch))).toEqual(read(net.predict(batch)));
    // the header alone names the weights file; a header's path loads too
    const again = await loadModel(b, `file://${dir}/extend/model.json`);
    expect(read(again.predict(batch))).toEqual(read(net.predict(batch)));
  });

  it('names what is wrong: a place it does not know, a browser place in Node, a missing file', async () => {
    const net = new TwoLayerNet(b, { inputSize: 2, hiddenSize: 2, outputSize: 2, seed: 1 });
    await expect(saveModel(net, 'ftp://host/net')).rejects.toThrow(
      /saveModel: "ftp:\/\/host\/net" is not a place it knows; give file:\/\/…, indexeddb:\/\/…, localstorage:\/\/…, downloads:\/\/…/,
    );
    await expect(saveModel(net, 'indexeddb://net')).rejects.toThrow(
      /indexeddb:\/\/net: indexedDB is a browser's; in Node use file:\/\/…/,
    );
    await expect(loadModel(b, `file://${dir}/nothing`)).rejects.toThrow(
      /nothing\/model.json: file not found$/,
    );
    await saveModel(net, `file://${dir}/two`);
    rmSync(join(dir, 'two', 'model.weights.bin'));
    await expect(loadModel(b, `file://${dir}/two`)).rejects.toThrow(
      /two\/model.weights.bin: file not found \(.*two\/model.json keeps its weights there\)$/,
    );
  });
});
