/**
 * A trained TwoLayerNet as JSON: the architecture and every parameter, so a model
 * trained on one backend can be loaded on any other.
 */
import type { Backend, DType } from './backend.js';
import { DataError } from './errors.js';
import { PARAM_NAMES, type ParamName, TwoLayerNet } from './two-layer-net.js';

export const MODEL_FORMAT = 'backprop.two-layer-net';
export const MODEL_VERSION = 1;

export interface ModelFile {
  format: typeof MODEL_FORMAT;
  version: typeof MODEL_VERSION;
  architecture: { inputSize: number; hiddenSize: number; outputSize: number; activation: 'relu' };
  /** The dtype the model was trained in. */
  dtype: DType;
  /** Free-form facts about the run that made it (backend, iterations, accuracy). */
  trainedWith?: Record<string, unknown>;
  params: Record<ParamName, { shape: number[]; values: number[] }>;
}

export async function modelToJSON(
  net: TwoLayerNet,
  trainedWith?: Record<string, unknown>,
): Promise<ModelFile> {
  const values = await net.readParams();
  const params = {} as ModelFile['params'];
  for (const name of PARAM_NAMES) {
    params[name] = { shape: [...net.params[name].shape], values: Array.from(values[name]) };
  }
  return {
    format: MODEL_FORMAT,
    version: MODEL_VERSION,
    architecture: {
      inputSize: net.inputSize,
      hiddenSize: net.hiddenSize,
      outputSize: net.outputSize,
      activation: 'relu',
    },
    dtype: net.backend.dtype,
    ...(trainedWith ? { trainedWith } : {}),
    params,
  };
}

/** Checks `json` (already parsed) and builds the network on `backend`. `file` names it in errors. */
export function modelFromJSON(backend: Backend, json: unknown, file = 'model'): TwoLayerNet {
  const fail = (detail: string): never => {
    throw new DataError(file, `not a backprop model file: ${detail}`);
  };
  if (typeof json !== 'object' || json === null) fail('expected a JSON object');
  const model = json as Partial<ModelFile>;
  if (model.format !== MODEL_FORMAT)
    fail(`"format" must be "${MODEL_FORMAT}", got ${JSON.stringify(model.format)}`);
  if (model.version !== MODEL_VERSION)
    fail(`version ${JSON.stringify(model.version)} is not supported (expected ${MODEL_VERSION})`);
  const arch = model.architecture;
  if (
    !arch ||
    ![arch.inputSize, arch.hiddenSize, arch.outputSize].every((n) => Number.isInteger(n) && n > 0)
  ) {
    fail('"architecture" needs whole inputSize, hiddenSize and outputSize');
  }
  const { inputSize, hiddenSize, outputSize } = arch as ModelFile['architecture'];
  const expected: Record<ParamName, number[]> = {
    W1: [inputSize, hiddenSize],
    b1: [hiddenSize],
    W2: [hiddenSize, outputSize],
    b2: [outputSize],
  };
  const initialParams = {} as Record<ParamName, number[]>;
  for (const name of PARAM_NAMES) {
    const param = model.params?.[name];
    const size = expected[name].reduce((a, b) => a * b, 1);
    if (!param || !Array.isArray(param.values)) fail(`parameter ${name} is missing`);
    const { shape, values } = param as { shape: number[]; values: number[] };
    if (JSON.stringify(shape) !== JSON.stringify(expected[name]) || values.length !== size) {
      fail(
        `parameter ${name} must have shape [${expected[name]}] (${size} values), got [${shape}] with ${values.length} values`,
      );
    }
    const bad = values.findIndex((v) => typeof v !== 'number' || !Number.isFinite(v));
    if (bad >= 0) fail(`parameter ${name} has a non-finite value at index ${bad}`);
    initialParams[name] = values;
  }
  return new TwoLayerNet(backend, { inputSize, hiddenSize, outputSize, initialParams });
}
