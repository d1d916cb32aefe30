import { describeArchitecture, gradientCheck, Network, UsageError } from '@backprop/core';
import { type FlagSpec, parseFlags, pathFlag, positiveNumber, wholeNumber } from '../args.js';
import { BACKEND_LIST, backendFromFlags } from '../backends.js';
import { classesOf, readData } from '../data.js';
import { loadModel } from '../model.js';
import { architectureFromFlags, networkFlags, networkHelp } from '../network-flags.js';

export const gradcheckHelp = `backprop gradcheck — backprop against numerical gradients (section 5.7.3)

On the first 3 training images, as the book does, for the book's TwoLayerNet or any
network the flags describe. Prints, per parameter, the book's mean absolute difference
and the largest relative error.

Options:
  --backend NAME       ${BACKEND_LIST} (default cpu)
  --dtype TYPE         float64 or float32 (default: the backend's first)
  --samples N          how many training images (default 3)
  --h X                the central difference's step (default 1e-4)
  --max-entries N      compare at most N entries of each parameter, evenly spaced (default
                       all; each costs two forward passes: SimpleConvNet's W2 has 432 000)
  --seed N             seed for the weights (default 0)
  --model FILE         check a saved model (its network and weights) instead: a trained
                       net's pre-activations sit away from ReLU's kink, where a new one's
                       (biases 0, blank pixels) sit exactly on it
${networkHelp}
  --data-dir DIR       your own IDX files
  --json               print the result as JSON`;

const flags: FlagSpec = {
  backend: { type: 'string' },
  dtype: { type: 'string' },
  samples: { type: 'string' },
  h: { type: 'string' },
  'max-entries': { type: 'string' },
  seed: { type: 'string' },
  model: { type: 'string' },
  ...networkFlags,
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
  const maxEntries = wholeNumber('max-entries', values['max-entries'], Number.MAX_SAFE_INTEGER);
  const modelFile = pathFlag('model', values.model);
  const { train, test } = readData(pathFlag('data-dir', values['data-dir']));
  if (modelFile !== undefined) {
    const clash = ['seed', ...Object.keys(networkFlags)].find((flag) => values[flag] !== undefined);
    if (clash) throw new UsageError(`--model brings its network and weights; leave out --${clash}`);
  }
  const architecture =
    modelFile === undefined
      ? architectureFromFlags(values, {
          rows: train.rows,
          cols: train.cols,
          classes: classesOf(train.labels, test.labels),
        })
      : null;
  // every parameter is nudged twice a sample: 100 samples is already minutes
  const samples = wholeNumber('samples', values.samples, 3, 1, {
    value: Math.min(100, train.count),
    what: 'a gradient check needs a few samples, not the training set',
  });
  const backend = await backendFromFlags(values);

  const net = architecture
    ? new Network(backend, architecture, { seed })
    : loadModel(backend, modelFile as string);
  const x = backend.tensor(train.images.subarray(0, samples * train.features), [
    samples,
    train.features,
  ]);
  const t = backend.tensor(train.labels.subarray(0, samples), [samples]);
  const report = await gradientCheck(net, x, t, { h, maxEntries });
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
    result.entries = Object.fromEntries(names.map((name) => [name, report[name].entries]));
    Object.assign(result, {
      backend: backend.name,
      dtype: backend.dtype,
      network: describeArchitecture(net.architecture),
      samples,
      h,
      seed,
    });
    console.log(JSON.stringify(result, null, 2));
    return 0;
  }
  console.log(`backend: ${backend.description}; ${samples} samples, h = ${h}`);
  console.log(`${net.architecture.name ?? 'network'}: ${describeArchitecture(net.architecture)}`);
  const width = Math.max(6, ...names.map((n) => n.length + 1));
  console.log(
    `${'param'.padEnd(width)}${'mean |diff|'.padStart(14)}${'max |diff|'.padStart(14)}${'max rel error'.padStart(16)}  entries`,
  );
  for (const name of names) {
    const r = report[name];
    console.log(
      `${name.padEnd(width)}${r.meanAbsDiff.toExponential(2).padStart(14)}${r.maxAbsDiff.toExponential(2).padStart(14)}${r.maxRelError.toExponential(2).padStart(16)}  ${r.entries === r.size ? 'all' : `${r.entries} of ${r.size}`}`,
    );
  }
  return 0;
}
