/**
 * Options that refuse typos: every public options object, given a misspelled or unknown
 * key, throws a one-line UsageError naming the key, the near miss where there is one, and
 * what it takes. A key silently ignored is a setting its user believes they made
 * (`{ epoch: 2 }` would run 10 000 iterations; `useDropout` on MultiLayerNet built no dropout).
 */
import { CpuBackend } from '@backprop/backend-cpu';
import { GpujsBackend } from '@backprop/backend-gpujs';
import { TfjsBackend } from '@backprop/backend-tfjs';
import { WasmBackend } from '@backprop/backend-wasm';
import { WebgpuBackend } from '@backprop/backend-webgpu';
import {
  gradientCheck,
  MultiLayerNet,
  MultiLayerNetExtend,
  Network,
  Sequential,
  SimpleConvNet,
  TwoLayerNet,
  toDataset,
  trainNetwork,
  UsageError,
} from '@backprop/core';
import { describe, expect, it } from 'vitest';
import { createBackend } from '../src/index.js';

const backend = new CpuBackend({ dtype: 'float64' });
const tiny = () => new TwoLayerNet(backend, { inputSize: 4, hiddenSize: 3, outputSize: 2 });
const data = () => toDataset(backend, new Float64Array(8), new Float64Array([0, 1]), 4);
const layers = [{ type: 'affine' as const, units: 2 }];
const x = () => backend.tensor(new Float64Array(8), [2, 4]);
const t = () => backend.tensor([0, 1], [2]);
// what a user might write, through JavaScript or a cast: the types would refuse these
const loose = <T>(value: object) => value as T;

/** [where, what the user wrote, the message it must give]. */
const mistakes: [string, () => unknown, RegExp][] = [
  [
    'TwoLayerNet',
    () => new TwoLayerNet(backend, loose({ hidenSize: 5 })),
    /TwoLayerNet options: unknown field 'hidenSize' \(did you mean 'hiddenSize'\?\)/,
  ],
  [
    'TwoLayerNet',
    () => new TwoLayerNet(backend, loose({ sed: 1 })),
    /'sed' \(did you mean 'seed'\?\)/,
  ],
  [
    'TwoLayerNet',
    () => new TwoLayerNet(backend, loose({ weight_init_std: 0.1 })),
    /unknown field 'weight_init_std' \(did you mean 'weightInitStd'\?\); it takes seed, random, initialParams, inputSize/,
  ],
  [
    'MultiLayerNet',
    () => new MultiLayerNet(backend, loose({ useDropout: true })),
    /MultiLayerNet options: unknown field 'useDropout'; it takes/,
  ],
  [
    'MultiLayerNet',
    () => new MultiLayerNet(backend, loose({ hiddenSizeList: [100] })),
    /'hiddenSizeList'/,
  ],
  [
    'MultiLayerNet',
    () => new MultiLayerNet(backend, loose({ activaton: 'relu' })),
    /'activaton' \(did you mean 'activation'\?\)/,
  ],
  [
    'MultiLayerNet',
    () => new MultiLayerNet(backend, loose({ weightDecayLambda: 0.1 })),
    /'weightDecayLambda'/,
  ],
  [
    'MultiLayerNetExtend',
    () => new MultiLayerNetExtend(backend, loose({ useBatchNorm: true })),
    /'useBatchNorm' \(did you mean 'useBatchnorm'\?\)/,
  ],
  [
    'MultiLayerNetExtend',
    () => new MultiLayerNetExtend(backend, loose({ dropoutRation: 0.5 })),
    /'dropoutRation' \(did you mean 'dropoutRatio'\?\)/,
  ],
  [
    'SimpleConvNet',
    () => new SimpleConvNet(backend, loose({ inputDims: [1, 28, 28] })),
    /SimpleConvNet options: unknown field 'inputDims' \(did you mean 'inputDim'\?\)/,
  ],
  [
    'SimpleConvNet',
    () => new SimpleConvNet(backend, loose({ conv: { filterNum: 30, filter_size: 5 } })),
    /SimpleConvNet options.conv: unknown field 'filter_size'/,
  ],
  ['SimpleConvNet', () => new SimpleConvNet(backend, loose({ convParam: {} })), /'convParam'/],
  [
    'Network',
    () => new Network(backend, { input: [4], layers }, loose({ seeds: 1 })),
    /network options: unknown field 'seeds' \(did you mean 'seed'\?\)/,
  ],
  [
    'Network',
    () => new Network(backend, loose({ input: [4], layers, weightinit: 'he' })),
    /architecture: unknown field 'weightinit' \(did you mean 'weightInit'\?\)/,
  ],
  [
    'Network layer',
    () => new Network(backend, { input: [4], layers: [loose({ type: 'affine', unit: 2 })] }),
    /unknown field 'unit' \(did you mean 'units'\?\)/,
  ],
  [
    'Sequential',
    () => new Sequential(backend, [4], layers, loose({ weightDecay: 0, decay: 1 })),
    /Sequential options: unknown field 'decay'/,
  ],
  [
    'trainNetwork config',
    () => trainNetwork(tiny(), data(), data(), loose({ epoch: 2 })),
    /trainNetwork config: unknown field 'epoch' \(did you mean 'epochs'\?\); it takes iters, epochs, batchSize/,
  ],
  [
    'trainNetwork config',
    () => trainNetwork(tiny(), data(), data(), loose({ iterations: 2 })),
    /'iterations'/,
  ],
  [
    'trainNetwork config',
    () => trainNetwork(tiny(), data(), data(), loose({ batch_size: 2 })),
    /'batch_size' \(did you mean 'batchSize'\?\)/,
  ],
  [
    'trainNetwork config',
    () => trainNetwork(tiny(), data(), data(), loose({ learningRate: 0.1 })),
    /'learningRate'/,
  ],
  [
    'trainNetwork config',
    () => trainNetwork(tiny(), data(), data(), loose({ evalon: 'test' })),
    /'evalon' \(did you mean 'evalOn'\?\)/,
  ],
  [
    'trainNetwork hooks',
    () => trainNetwork(tiny(), data(), data(), { iters: 1 }, loose({ onEpochEnd: () => {} })),
    /trainNetwork hooks: unknown field 'onEpochEnd' \(did you mean 'onEpoch'\?\); it takes onIteration, onEpoch, signal/,
  ],
  [
    'trainNetwork hooks',
    () => trainNetwork(tiny(), data(), data(), { iters: 1 }, loose({ onIter: () => {} })),
    /'onIter'/,
  ],
  [
    'gradientCheck',
    () => gradientCheck(tiny(), x(), t(), loose({ maxEntry: 3 })),
    /gradientCheck options: unknown field 'maxEntry' \(did you mean 'maxEntries'\?\)/,
  ],
  [
    'CpuBackend',
    () => new CpuBackend(loose({ dtyp: 'float32' })),
    /CpuBackend options: unknown field 'dtyp' \(did you mean 'dtype'\?\)/,
  ],
  [
    'CpuBackend.create',
    () => CpuBackend.create(loose({ precision: 'float32' })),
    /unknown field 'precision'; it takes dtype/,
  ],
  [
    'WasmBackend.create',
    () => WasmBackend.create(loose({ thread: 2 })),
    /WasmBackend.create options: unknown field 'thread' \(did you mean 'threads'\?\)/,
  ],
  [
    'WasmBackend.create',
    () => WasmBackend.create(loose({ simd: true })),
    /unknown field 'simd'; it takes threads, build, threadedFrom/,
  ],
  [
    'TfjsBackend.create',
    () => TfjsBackend.create(loose({ backend: 'wasm' })),
    /TfjsBackend.create options: unknown field 'backend'; it takes engine, wasmPaths/,
  ],
  [
    'TfjsBackend.create',
    () => TfjsBackend.create(loose({ wasmPath: '/' })),
    /'wasmPath' \(did you mean 'wasmPaths'\?\)/,
  ],
  [
    'GpujsBackend.create',
    () => GpujsBackend.create(loose({ mode: 'webasm' })),
    /GpujsBackend.create options: unknown field 'mode'; it takes engine/,
  ],
  [
    'WebgpuBackend.create',
    () => WebgpuBackend.create(loose({ powerPrefrence: 'low-power' })),
    /WebgpuBackend.create options: unknown field 'powerPrefrence' \(did you mean 'powerPreference'\?\)/,
  ],
  [
    'createBackend',
    () => createBackend('cpu', loose({ dtpye: 'float32' })),
    /createBackend\('cpu'\) options: unknown field 'dtpye' \(did you mean 'dtype'\?\)/,
  ],
  [
    'createBackend',
    () => createBackend('wasm', loose({ workers: 2 })),
    /unknown field 'workers'; it takes dtype, wasmPaths, threads/,
  ],
];

describe('options that refuse typos', () => {
  it(`has ${mistakes.length} mistakes to catch (30 or more, across the public API)`, () => {
    expect(mistakes.length).toBeGreaterThanOrEqual(30);
  });
  it.each(
    mistakes.map(([where, make, message], i) => [`${i + 1}. ${where}`, make, message] as const),
  )('%s: a one-line UsageError naming the key', async (_, make, message) => {
    let thrown: unknown;
    try {
      await make();
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(UsageError);
    const text = (thrown as Error).message;
    expect(text).toMatch(message);
    expect(text).not.toContain('\n');
  });
});
