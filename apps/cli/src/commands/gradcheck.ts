import { gradientCheck, TwoLayerNet, UsageError } from '@backprop/core';
import { type FlagSpec, parseFlags, pathFlag, positiveNumber, wholeNumber } from '../args.js';
import { BACKEND_LIST, backendFromFlags } from '../backends.js';
import { readData } from '../data.js';

export const gradcheckHelp = `backprop gradcheck — backprop against numerical gradients (section 5.7.3)

On the first 3 training images, as the book does. Prints, per parameter, the book's
mean absolute difference and the largest relative error.

Options:
  --backend NAME     ${BACKEND_LIST} (default cpu)
  --dtype TYPE       float64 or float32 (default: the backend's first)
  --samples N        how many training images (default 3)
  --h X              the central difference's step (default 1e-4)
  --seed N           seed for the weights (default 0)
  --data-dir DIR     your own IDX files
  --json             print the result as JSON`;

const flags: FlagSpec = {
  backend: { type: 'string' },
  dtype: { type: 'string' },
  samples: { type: 'string' },
  h: { type: 'string' },
  seed: { type: 'string' },
  'data-dir': { type: 'string' },
  json: { type: 'boolean' },
};

export async function gradcheck(argv: string[]): Promise<number> {
  const values = parseFlags('gradcheck', argv, flags);
  if (values.help) {
    console.log(gradcheckHelp);
    return 0;
  }
  const h = positiveNumber('h', values.h, 1e-4);
  if (h > 1)
    throw new UsageError(
      `--h must be at most 1 (a central difference wants a small step), got ${h}`,
    );
  const seed = wholeNumber('seed', values.seed, 0, 0);
  const { train } = readData(pathFlag('data-dir', values['data-dir']));
  // every parameter is nudged twice a sample: 100 samples is already minutes
  const samples = wholeNumber('samples', values.samples, 3, 1, {
    value: Math.min(100, train.count),
    what: 'a gradient check needs a few samples, not the training set',
  });
  const backend = await backendFromFlags(values);

  const net = new TwoLayerNet(backend, { inputSize: train.features, seed });
  const x = backend.tensor(train.images.subarray(0, samples * train.features), [
    samples,
    train.features,
  ]);
  const t = backend.tensor(train.labels.subarray(0, samples), [samples]);
  const report = await gradientCheck(net, x, t, h);
  const names = Object.keys(report);
  if (backend.dtype === 'float32') {
    // A float32 loss carries rounding error of ~1e-7·|L|; divided by 2h that is ~1e-3.
    process.stderr.write(
      'note: in float32 the numerical gradient itself is rounding noise near 1e-4 (h = 1e-4); ' +
        "'backprop conformance' checks float32 backends against float64 numerical gradients instead\n",
    );
  }

  if (values.json) {
    const result: Record<string, unknown> = {};
    for (const name of names) result[name] = report[name].meanAbsDiff;
    result.maxRelError = Object.fromEntries(names.map((name) => [name, report[name].maxRelError]));
    result.maxAbsDiff = Object.fromEntries(names.map((name) => [name, report[name].maxAbsDiff]));
    Object.assign(result, { backend: backend.name, dtype: backend.dtype, samples, h, seed });
    console.log(JSON.stringify(result, null, 2));
    return 0;
  }
  console.log(`backend: ${backend.description}; ${samples} samples, h = ${h}`);
  console.log(
    `${'param'.padEnd(6)}${'mean |diff|'.padStart(14)}${'max |diff|'.padStart(14)}${'max rel error'.padStart(16)}`,
  );
  for (const name of names) {
    const r = report[name];
    console.log(
      `${name.padEnd(6)}${r.meanAbsDiff.toExponential(2).padStart(14)}${r.maxAbsDiff.toExponential(2).padStart(14)}${r.maxRelError.toExponential(2).padStart(16)}`,
    );
  }
  return 0;
}
