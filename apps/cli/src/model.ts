/**
 * Reading a model file: model.json whole, or the compact form's header with the weights
 * file it names beside it.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import {
  type Backend,
  DataError,
  isModelHeader,
  modelFromBinary,
  modelFromJSON,
  type Network,
} from '@backprop/core';

/** A model file as read from disk, before any backend: see `readModel`. */
export interface SavedModel {
  file: string;
  json: unknown;
  /** The compact form's values, from the weights file its header names. */
  weights?: Uint8Array;
}

/**
 * Reads `file` (either form) without building it: a missing or broken file is the cheap
 * mistake, so the commands read it before MNIST and before any backend starts.
 */
export function readModel(file: string): SavedModel {
  const json = readModelFile(file);
  // the compact form: a header whose values are in a binary file beside it
  return isModelHeader(json)
    ? { file, json, weights: readWeights(file, json.weights?.file) }
    : { file, json };
}

/** The network `readModel` read, on `backend`; any fault in its contents names the file. */
export function loadModel(backend: Backend, { file, json, weights }: SavedModel): Network {
  return isModelHeader(json) && weights
    ? modelFromBinary(backend, json, weights, file)
    : modelFromJSON(backend, json, file);
}

function readModelFile(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new DataError(
      file,
      code === 'ENOENT'
        ? 'file not found'
        : code === 'EISDIR'
          ? 'is a folder, not a model file'
          : `cannot be read (${code})`,
    );
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new DataError(file, `is not valid JSON (${(error as Error).message})`);
  }
}

function readWeights(modelFile: string, name: unknown): Uint8Array {
  if (typeof name !== 'string' || name === '' || name.includes('/') || name.includes('\\')) {
    throw new DataError(
      modelFile,
      `weights.file must name a file beside it, got ${JSON.stringify(name)}`,
    );
  }
  const file = join(dirname(modelFile), name);
  try {
    return readFileSync(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new DataError(
      file,
      code === 'ENOENT'
        ? `file not found (${modelFile} keeps its weights there)`
        : `cannot be read (${code})`,
    );
  }
}
