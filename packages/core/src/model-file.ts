/**
 * A trained network as JSON: its architecture and every parameter, so a model trained on
 * one backend loads on any other. Version 2 records any architecture (TwoLayerNet or
 * MultiLayerNet); version 1 files (TwoLayerNet only) still load.
 *
 * Beside it, a compact form in the spirit of TensorFlow.js's model.json + weights.bin: the
 * same JSON with `weights` (where each parameter's values lie) in place of the values,
 * and the values themselves in a binary file, little-endian, in the model's dtype — a
 * fifth of the JSON's size in float32.
 */
import type { Backend } from './backend.js';
import type { DType } from './contract.js';
import { DataError } from './errors.js';
import { MultiLayerNet } from './multi-layer-net.js';
import type { Architecture, Network } from './network.js';
import { TwoLayerNet } from './two-layer-net.js';

export const MODEL_FORMAT = 'backprop.network';
export const MODEL_VERSION = 2;
/** The first format, TwoLayerNet only: read, never written. */
const MODEL_FORMAT_V1 = 'backprop.two-layer-net';

export interface ModelFile {
  format: typeof MODEL_FORMAT;
  version: typeof MODEL_VERSION;
  architecture: Architecture;
  /** The dtype the model was trained in. */
  dtype: DType;
  /** Free-form facts about the run that made it (backend, iterations, accuracy). */
  trainedWith?: Record<string, unknown>;
  /** W1, b1, W2, b2, … */
  params: Record<string, { shape: number[]; values: number[] }>;
}

export async function modelToJSON(
  net: Network,
  trainedWith?: Record<string, unknown>,
): Promise<ModelFile> {
  const values = await net.readParams();
  const params: ModelFile['params'] = {};
  for (const [name, param] of Object.entries(net.params)) {
    params[name] = { shape: [...param.shape], values: Array.from(values[name]) };
  }
  return {
    format: MODEL_FORMAT,
    version: MODEL_VERSION,
    architecture: structuredClone(net.architecture),
    dtype: net.backend.dtype,
    ...(trainedWith ? { trainedWith } : {}),
    params,
  };
}

/** The header of the compact form: a model file whose values are in a binary file. */
export interface ModelHeader extends Omit<ModelFile, 'params'> {
  weights: {
    /** The binary file, named relative to the header. */
    file: string;
    /** How each value is stored: the model's dtype, little-endian. */
    dtype: DType;
    /** Each parameter's shape and where its values start, in bytes. */
    params: Record<string, { shape: number[]; offset: number }>;
  };
}

/** The compact form of `model`: a header to save as JSON and the weights as bytes. */
export function modelToBinary(
  model: ModelFile,
  weightsFile = 'model.weights.bin',
): { header: ModelHeader; weights: Uint8Array } {
  const bytesPer = model.dtype === 'float64' ? 8 : 4;
  const entries = Object.entries(model.params);
  const total = entries.reduce((n, [, p]) => n + p.values.length, 0);
  const weights = new Uint8Array(total * bytesPer);
  const view = new DataView(weights.buffer);
  const params: ModelHeader['weights']['params'] = {};
  let offset = 0;
  for (const [name, { shape, values }] of entries) {
    params[name] = { shape, offset };
    for (const value of values) {
      if (bytesPer === 8) view.setFloat64(offset, value, true);
      else view.setFloat32(offset, value, true);
      offset += bytesPer;
    }
  }
  const { params: _, ...rest } = model;
  return {
    header: { ...rest, weights: { file: weightsFile, dtype: model.dtype, params } },
    weights,
  };
}

/** Whether a parsed model file is the compact form's header (its values are elsewhere). */
export function isModelHeader(json: unknown): json is ModelHeader {
  return typeof json === 'object' && json !== null && 'weights' in json && !('params' in json);
}

/**
 * The network a compact model describes: `header` (parsed JSON) and the bytes of its
 * weights file; checked as `modelFromJSON` checks, plus the bytes' length. Works in Node
 * and in browsers (`await (await fetch(url)).arrayBuffer()`).
 */
export function modelFromBinary(
  backend: Backend,
  header: unknown,
  weights: ArrayBuffer | Uint8Array,
  file = 'model',
): Network {
  const fail = (detail: string): never => {
    throw new DataError(file, `not a backprop model file: ${detail}`);
  };
  if (!isModelHeader(header)) fail('expected a header with "weights" and no "params"');
  const { weights: manifest, ...rest } = header as ModelHeader;
  const bytesPer = manifest?.dtype === 'float64' ? 8 : manifest?.dtype === 'float32' ? 4 : 0;
  if (!bytesPer)
    fail(`weights.dtype must be "float32" or "float64", got ${JSON.stringify(manifest?.dtype)}`);
  const bytes = weights instanceof Uint8Array ? weights : new Uint8Array(weights);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const params: ModelFile['params'] = {};
  for (const [name, entry] of Object.entries(manifest.params ?? {})) {
    const shape = Array.isArray(entry?.shape) ? entry.shape : [];
    const count = shape.reduce((a, b) => a * b, 1);
    const start = entry?.offset;
    if (!Number.isSafeInteger(start) || start < 0 || start + count * bytesPer > bytes.byteLength) {
      fail(
        `parameter ${name} needs ${count * bytesPer} bytes from offset ${start} of ${manifest.file}, which has ${bytes.byteLength}`,
      );
    }
    const values = new Array<number>(count);
    for (let i = 0; i < count; i++) {
      const at = start + i * bytesPer;
      values[i] = bytesPer === 8 ? view.getFloat64(at, true) : view.getFloat32(at, true);
    }
    params[name] = { shape, values };
  }
  return modelFromJSON(backend, { ...rest, params }, file);
}

/** Checks `json` (already parsed) and builds the network on `backend`. `file` names it in errors. */
export function modelFromJSON(backend: Backend, json: unknown, file = 'model'): Network {
  const fail = (detail: string): never => {
    throw new DataError(file, `not a backprop model file: ${detail}`);
  };
  if (typeof json !== 'object' || json === null || Array.isArray(json))
    fail('expected a JSON object');
  const model = json as Omit<Partial<ModelFile>, 'format' | 'version'> & {
    format?: unknown;
    version?: unknown;
  };
  const v1 = model.format === MODEL_FORMAT_V1 && model.version === 1;
  if (!v1 && model.format !== MODEL_FORMAT)
    fail(`"format" must be "${MODEL_FORMAT}", got ${JSON.stringify(model.format)}`);
  if (!v1 && model.version !== MODEL_VERSION)
    fail(`version ${JSON.stringify(model.version)} is not supported (expected ${MODEL_VERSION})`);
  const arch = readArchitecture(model.architecture, v1, fail);

  const sizes = [arch.inputSize, ...arch.hiddenSizes, arch.outputSize];
  const initialParams: Record<string, number[]> = {};
  for (let i = 1; i < sizes.length; i++) {
    const expected: Record<string, number[]> = {
      [`W${i}`]: [sizes[i - 1], sizes[i]],
      [`b${i}`]: [sizes[i]],
    };
    for (const [name, shape] of Object.entries(expected)) {
      const param = model.params?.[name];
      const size = shape.reduce((a, b) => a * b, 1);
      if (!param || !Array.isArray(param.values)) fail(`parameter ${name} is missing`);
      const { shape: actual, values } = param as { shape: unknown; values: unknown[] };
      if (JSON.stringify(actual) !== JSON.stringify(shape) || values.length !== size) {
        fail(
          `parameter ${name} must have shape [${shape}] (${size} values), got ${JSON.stringify(actual)} with ${values.length} values`,
        );
      }
      const bad = values.findIndex((v) => typeof v !== 'number' || !Number.isFinite(v));
      if (bad >= 0) fail(`parameter ${name} has a non-finite value at index ${bad}`);
      initialParams[name] = values as number[];
    }
  }
  const extra = Object.keys(model.params ?? {}).filter((name) => !(name in initialParams));
  if (extra.length > 0) fail(`parameters ${extra.join(', ')} do not belong to this architecture`);

  try {
    return arch.kind === 'TwoLayerNet'
      ? new TwoLayerNet(backend, {
          inputSize: arch.inputSize,
          hiddenSize: arch.hiddenSizes[0],
          outputSize: arch.outputSize,
          initialParams,
        })
      : new MultiLayerNet(backend, { ...arch, initialParams });
  } catch (error) {
    // a weight the backend's dtype cannot hold (1e39 in float32), named with the file
    if ((error as Error).name === 'ValueError') fail((error as Error).message);
    throw error;
  }
}

function readArchitecture(
  value: unknown,
  v1: boolean,
  fail: (detail: string) => never,
): Architecture {
  const arch = (value ?? {}) as Record<string, unknown>;
  const whole = (n: unknown) => Number.isSafeInteger(n) && (n as number) > 0;
  if (v1) {
    if (![arch.inputSize, arch.hiddenSize, arch.outputSize].every(whole))
      fail('"architecture" needs whole inputSize, hiddenSize and outputSize');
    return {
      kind: 'TwoLayerNet',
      inputSize: arch.inputSize as number,
      hiddenSizes: [arch.hiddenSize as number],
      outputSize: arch.outputSize as number,
      activation: 'relu',
      weightInit: 0.01,
      weightDecay: 0,
    };
  }
  if (arch.kind !== 'TwoLayerNet' && arch.kind !== 'MultiLayerNet')
    fail(
      `architecture.kind must be "TwoLayerNet" or "MultiLayerNet", got ${JSON.stringify(arch.kind)}`,
    );
  const hidden = arch.hiddenSizes;
  if (
    !whole(arch.inputSize) ||
    !whole(arch.outputSize) ||
    !Array.isArray(hidden) ||
    hidden.length === 0 ||
    !hidden.every(whole)
  )
    fail('"architecture" needs whole inputSize and outputSize and a list of whole hiddenSizes');
  if (arch.kind === 'TwoLayerNet' && (hidden as number[]).length !== 1)
    fail('a TwoLayerNet has exactly one hidden layer');
  if (arch.kind === 'TwoLayerNet' && arch.activation !== 'relu')
    fail('a TwoLayerNet uses relu between its layers');
  if (arch.activation !== 'relu' && arch.activation !== 'sigmoid')
    fail(
      `architecture.activation must be "relu" or "sigmoid", got ${JSON.stringify(arch.activation)}`,
    );
  const weightDecay = arch.weightDecay ?? 0;
  if (typeof weightDecay !== 'number' || !(weightDecay >= 0) || !Number.isFinite(weightDecay))
    fail(`architecture.weightDecay must be a number >= 0, got ${JSON.stringify(weightDecay)}`);
  const weightInit = arch.weightInit ?? 0.01;
  if (
    weightInit !== 'he' &&
    weightInit !== 'xavier' &&
    !(typeof weightInit === 'number' && weightInit > 0 && Number.isFinite(weightInit))
  )
    fail(`architecture.weightInit must be "he", "xavier" or a positive number`);
  return {
    kind: arch.kind as Architecture['kind'],
    inputSize: arch.inputSize as number,
    hiddenSizes: [...(hidden as number[])],
    outputSize: arch.outputSize as number,
    activation: arch.activation as Architecture['activation'],
    weightInit: weightInit as Architecture['weightInit'],
    weightDecay: weightDecay as number,
  };
}
