/**
 * A trained network as JSON: its architecture (the layer list) and every parameter, so a
 * model trained on one backend loads on any other. Version 3 records any layer list;
 * version 2 files (TwoLayerNet or MultiLayerNet as a record) and version 1 files
 * (TwoLayerNet only) still load, as the same layer lists.
 *
 * Beside it, a compact form in the spirit of TensorFlow.js's model.json + weights.bin: the
 * same JSON with `weights` (where each parameter's values lie) in place of the values,
 * and the values themselves in a binary file, little-endian, in the model's dtype — a
 * fifth of the JSON's size in float32.
 */

import type { Backend } from '../engine/backend.js';
import type { DType } from '../engine/contract.js';
import { BackpropError, DataError } from '../engine/errors.js';
import { formatShape, sameShape } from '../engine/shapes.js';
import {
  type Architecture,
  type LayerSpec,
  layerDescriptor,
  layerTypes,
  nearest,
} from './architecture.js';
import { Network } from './network.js';

export const MODEL_FORMAT = 'backprop.network';
export const MODEL_VERSION = 3;
/** The versions this build reads: 1 (TwoLayerNet), 2 (an MLP as a record), 3 (a layer list). */
export const READABLE_MODEL_VERSIONS: readonly number[] = [1, 2, 3];
/** The first format, TwoLayerNet only: read, never written. */
const MODEL_FORMAT_V1 = 'backprop.two-layer-net';

/** A tensor in a model file: its shape and its values, row-major. */
export interface SavedTensor {
  shape: number[];
  values: number[];
}

export interface ModelFile {
  format: typeof MODEL_FORMAT;
  version: typeof MODEL_VERSION;
  architecture: Architecture;
  /** The dtype the model was trained in. */
  dtype: DType;
  /** Free-form facts about the run that made it (backend, iterations, accuracy). */
  trainedWith?: Record<string, unknown>;
  /** W1, b1, W2, b2, gamma1, … */
  params: Record<string, SavedTensor>;
  /** What the layers learned without a gradient: runningMean1, runningVar1, … (BatchNorm). */
  state?: Record<string, SavedTensor>;
}

/** The fields a model file may have; any other was written by something this build does not know. */
const MODEL_FIELDS = [
  'format',
  'version',
  'architecture',
  'dtype',
  'trainedWith',
  'params',
  'state',
];

export async function modelToJSON(
  net: Network,
  trainedWith?: Record<string, unknown>,
): Promise<ModelFile> {
  return modelFileOf(net, await net.readParams(), trainedWith);
}

/**
 * The model file of `net` from values already read (`net.readParams()`): what a process
 * that must not wait (a second Ctrl-C) writes with a synchronous read.
 */
export function modelFileOf(
  net: Network,
  values: Record<string, ArrayLike<number>>,
  trainedWith?: Record<string, unknown>,
): ModelFile {
  const saved = (tensors: Record<string, { shape: readonly number[] }>) => {
    const out: Record<string, SavedTensor> = {};
    for (const [name, t] of Object.entries(tensors)) {
      out[name] = { shape: [...t.shape], values: Array.from(values[name]) };
    }
    return out;
  };
  const state = saved(net.state);
  return {
    format: MODEL_FORMAT,
    version: MODEL_VERSION,
    architecture: structuredClone(net.architecture),
    dtype: net.backend.dtype,
    ...(trainedWith ? { trainedWith } : {}),
    params: saved(net.params),
    ...(Object.keys(state).length > 0 ? { state } : {}),
  };
}

/** The header of the compact form: a model file whose values are in a binary file. */
export interface ModelHeader extends Omit<ModelFile, 'params'> {
  weights: {
    /** The binary file, named relative to the header. */
    file: string;
    /** How each value is stored: the model's dtype, little-endian. */
    dtype: DType;
    /** Each saved tensor's shape (parameters and state alike) and where its values start, in bytes. */
    params: Record<string, { shape: number[]; offset: number }>;
  };
}

/** The compact form of `model`: a header to save as JSON and the weights as bytes. */
export function modelToBinary(
  model: ModelFile,
  weightsFile = 'model.weights.bin',
): { header: ModelHeader; weights: Uint8Array } {
  const bytesPer = model.dtype === 'float64' ? 8 : 4;
  const entries = Object.entries({ ...model.params, ...model.state });
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
  const { params: _, state: __, ...rest } = model;
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
  const model = json as Record<string, unknown>;
  const v1 = model.format === MODEL_FORMAT_V1 && model.version === 1;
  if (!v1 && model.format !== MODEL_FORMAT)
    fail(`"format" must be "${MODEL_FORMAT}", got ${JSON.stringify(model.format)}`);
  const version = v1 ? 1 : model.version;
  if (!READABLE_MODEL_VERSIONS.includes(version as number)) {
    const newer = typeof version === 'number' && version > MODEL_VERSION;
    throw new DataError(
      file,
      `format version ${JSON.stringify(version)} is ${newer ? 'newer than this build reads' : 'not one this build reads'} (it reads ${READABLE_MODEL_VERSIONS.join(', ')})${newer ? '; a newer @backprop release wrote it: update @backprop/core (npm install @backprop/core@latest)' : ''}`,
    );
  }
  // A field this build does not know may change what the model computes: never skip one.
  const unknown = Object.keys(model).filter((key) => !MODEL_FIELDS.includes(key));
  if (unknown.length > 0) {
    fail(
      `it has ${unknown.map((k) => `"${k}"`).join(', ')}, which version ${version} files do not (a newer @backprop release may have written it)`,
    );
  }
  const architecture =
    version === 3
      ? (model.architecture as Architecture)
      : architectureOfV2(model.architecture, version === 1, fail);

  const saved = { ...(model.params as object), ...(model.state as object) } as Record<
    string,
    unknown
  >;
  if (typeof model.params !== 'object' || model.params === null) fail('"params" is missing');
  const initialParams: Record<string, number[]> = {};
  for (const [name, entry] of Object.entries(saved)) {
    const { shape, values } = (entry ?? {}) as { shape?: unknown; values?: unknown };
    if (!Array.isArray(values) || !Array.isArray(shape))
      fail(`parameter ${name} needs "shape" and "values"`);
    const bad = (values as unknown[]).findIndex(
      (v) => typeof v !== 'number' || !Number.isFinite(v),
    );
    if (bad >= 0) fail(`parameter ${name} has a non-finite value at index ${bad}`);
    initialParams[name] = values as number[];
  }

  // a user's own layer (registerLayer) the loading program has not registered: say so,
  // not "not a model file" (a near miss of a known type reads as a typo, below)
  const layers = Array.isArray(architecture?.layers) ? architecture.layers : [];
  for (const [i, spec] of layers.entries()) {
    const type = (spec as { type?: unknown } | null)?.type;
    if (typeof type === 'string' && !layerDescriptor(type) && !nearest(type, layerTypes())) {
      throw new DataError(
        file,
        `layer ${i + 1} is of type "${type}", which this program has not registered (it knows ${layerTypes().join(', ')}): import the module that defines it and call registerLayer(its descriptor) before loading the model`,
      );
    }
  }
  let net: Network;
  try {
    net = new Network(backend, architecture, { initialParams });
  } catch (error) {
    // a list that does not build, a missing parameter, a weight float32 cannot hold (1e39)
    if (error instanceof BackpropError)
      fail(error.message.replace(/^initialParams\./, 'parameter '));
    throw error;
  }
  for (const [name, t] of [...Object.entries(net.params), ...Object.entries(net.state)]) {
    const shape = (saved[name] as { shape: number[] }).shape;
    if (!sameShape(shape, t.shape)) {
      net.dispose();
      fail(
        `parameter ${name} must have shape ${formatShape(t.shape)} (${t.size} values), got ${JSON.stringify(shape)}`,
      );
    }
  }
  return net;
}

/** A version 1 or 2 architecture record as the layer list it always meant. */
function architectureOfV2(
  value: unknown,
  v1: boolean,
  fail: (detail: string) => never,
): Architecture {
  const arch = (value ?? {}) as Record<string, unknown>;
  const whole = (n: unknown) => Number.isSafeInteger(n) && (n as number) > 0;
  if (v1) {
    if (![arch.inputSize, arch.hiddenSize, arch.outputSize].every(whole))
      fail('"architecture" needs whole inputSize, hiddenSize and outputSize');
    return mlpLayers(
      'TwoLayerNet',
      arch.inputSize as number,
      [arch.hiddenSize as number],
      arch.outputSize as number,
      'relu',
      0.01,
      0,
    );
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
  return mlpLayers(
    arch.kind as string,
    arch.inputSize as number,
    hidden as number[],
    arch.outputSize as number,
    arch.activation as 'relu' | 'sigmoid',
    weightInit as Architecture['weightInit'],
    weightDecay as number,
  );
}

function mlpLayers(
  name: string,
  inputSize: number,
  hiddenSizes: number[],
  outputSize: number,
  activation: 'relu' | 'sigmoid',
  weightInit: Architecture['weightInit'],
  weightDecay: number,
): Architecture {
  const layers: LayerSpec[] = hiddenSizes.flatMap((units): LayerSpec[] => [
    { type: 'affine', units },
    { type: activation },
  ]);
  layers.push({ type: 'affine', units: outputSize });
  return { name, input: [inputSize], layers, weightInit, weightDecay };
}
