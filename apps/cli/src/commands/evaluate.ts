import {
  DataError,
  datasetAccuracy,
  formatShape,
  readModel,
  toDataset,
  UsageError,
} from '@backprop/core';
import { type FlagSpec, parseFlags, pathFlag, wholeNumber } from '../args.js';
import { BACKEND_LIST, backendFromFlags } from '../backends.js';
import { classesOf, readData } from '../data.js';
import {
  buildSavedModel,
  importLayerModules,
  layerModuleFlag,
  layerModuleHelp,
} from '../network-flags.js';

export const evaluateHelp = `backprop evaluate — a saved model's accuracy on the MNIST test set

Options:
  --model FILE       model.json written by 'backprop train' (required); with
                     --model-format binary its values are read from model.weights.bin beside it
  --index N          also show test image N: its label, the predicted digit, the ten
                     probabilities and the image as text
  --backend NAME     ${BACKEND_LIST} (default cpu)
  --dtype TYPE       float64 or float32 (default: the backend's first)
  --data-dir DIR     your own IDX files
${layerModuleHelp}`;

const flags: FlagSpec = {
  model: { type: 'string' },
  index: { type: 'string' },
  backend: { type: 'string' },
  dtype: { type: 'string' },
  'data-dir': { type: 'string' },
  ...layerModuleFlag,
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

  // the model first: a wrong file is told before the 60 000 images are read
  await importLayerModules(values['layer-module']);
  const saved = await readModel(`file://${modelFile}`);
  const backend = await backendFromFlags(values);
  const net = buildSavedModel(backend, saved);
  const { test } = readData(dataDir);
  if (index !== undefined && index >= test.count) {
    net.dispose();
    throw new UsageError(
      `--index must be below ${test.count}, the number of test images; got ${index}`,
    );
  }
  const inputSize = net.inputShape.reduce((a, b) => a * b, 1);
  if (test.features !== inputSize) {
    net.dispose();
    throw new DataError(
      modelFile,
      `the model takes ${inputSize} inputs (${formatShape(net.inputShape)}) but the test images have ${test.features} pixels (${test.rows}×${test.cols})`,
    );
  }
  // a label the model has no score for would fail inside a kernel, far from its cause
  const classes = classesOf(test.labels);
  if (classes > net.outputSize) {
    net.dispose();
    throw new DataError(
      modelFile,
      `the model scores ${net.outputSize} classes (0…${net.outputSize - 1}), but the test labels go up to ${classes - 1} (${classes} classes): it was trained on other data`,
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
