import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import {
  DataError,
  datasetAccuracy,
  isModelHeader,
  modelFromBinary,
  modelFromJSON,
  toDataset,
  UsageError,
} from '@backprop/core';
import { type FlagSpec, parseFlags, pathFlag, wholeNumber } from '../args.js';
import { BACKEND_LIST, backendFromFlags } from '../backends.js';
import { readData } from '../data.js';

export const evaluateHelp = `backprop evaluate — a saved model's accuracy on the MNIST test set

Options:
  --model FILE       model.json written by 'backprop train' (required); with
                     --model-format binary its values are read from model.weights.bin beside it
  --index N          also show test image N: its label, the predicted digit, the ten
                     probabilities and the image as text
  --backend NAME     ${BACKEND_LIST} (default cpu)
  --dtype TYPE       float64 or float32 (default: the backend's first)
  --data-dir DIR     your own IDX files`;

const flags: FlagSpec = {
  model: { type: 'string' },
  index: { type: 'string' },
  backend: { type: 'string' },
  dtype: { type: 'string' },
  'data-dir': { type: 'string' },
};

export async function evaluate(argv: string[]): Promise<number> {
  const values = parseFlags('evaluate', argv, flags);
  if (values.help) {
    console.log(evaluateHelp);
    return 0;
  }
  const modelFile = pathFlag('model', values.model);
  if (modelFile === undefined)
    throw new UsageError("evaluate: --model FILE is required; see 'backprop evaluate --help'");
  const index = values.index === undefined ? undefined : wholeNumber('index', values.index, 0, 0);
  const dataDir = pathFlag('data-dir', values['data-dir']);

  const json = readModelFile(modelFile);
  const { test } = readData(dataDir);
  if (index !== undefined && index >= test.count) {
    throw new UsageError(
      `--index must be below ${test.count}, the number of test images; got ${index}`,
    );
  }
  const backend = await backendFromFlags(values);
  // the compact form: a header whose values are in a binary file beside it
  const net = isModelHeader(json)
    ? modelFromBinary(backend, json, readWeights(modelFile, json.weights.file), modelFile)
    : modelFromJSON(backend, json, modelFile);
  const { inputSize } = net.architecture;
  if (test.features !== inputSize) {
    throw new DataError(
      modelFile,
      `the model takes ${inputSize} inputs but the test images have ${test.features} pixels (${test.rows}×${test.cols})`,
    );
  }
  const testSet = toDataset(backend, test.images, test.labels, test.features);
  const accuracy = await datasetAccuracy(net, testSet);
  console.log(
    `test accuracy ${accuracy.toFixed(4)} on ${test.count} images (${backend.description})`,
  );

  if (index !== undefined) {
    const pixels = test.images.subarray(index * test.features, (index + 1) * test.features);
    const x = backend.tensor(pixels, [1, test.features]);
    const probs = net.probabilities(x);
    const p = Array.from(await backend.read(probs));
    for (const t of [x, probs]) backend.dispose(t);
    const predicted = p.indexOf(Math.max(...p));
    console.log(`\ntest image ${index}: label ${test.labels[index]}, predicted ${predicted}`);
    console.log(
      p
        .map((v, digit) => `  ${digit}: ${v.toFixed(4)} ${'#'.repeat(Math.round(v * 40))}`)
        .join('\n'),
    );
    console.log(textArt(pixels, test.rows, test.cols));
  }
  return 0;
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

/** The image in characters from light to dark, two per pixel so it keeps its shape. */
function textArt(pixels: ArrayLike<number>, rows: number, cols: number): string {
  const shades = ' .:-=+*#%@';
  const frame = `+${'-'.repeat(2 * cols)}+`;
  const lines: string[] = [frame];
  for (let r = 0; r < rows; r++) {
    let line = '|';
    for (let c = 0; c < cols; c++) {
      const shade =
        shades[Math.min(shades.length - 1, Math.floor(pixels[r * cols + c] * shades.length))];
      line += shade + shade;
    }
    lines.push(`${line}|`);
  }
  lines.push(frame);
  return lines.join('\n');
}
