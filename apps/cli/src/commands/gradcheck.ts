import {
  describeArchitecture,
  gradientCheck,
  gradientTolerance,
  gradientVerdict,
  Network,
  readModel,
  type StoredModel,
  UsageError,
} from '@backprop/core';
import { type FlagSpec, parseFlags, pathFlag, positiveNumber, wholeNumber } from '../args.js';
import { BACKEND_LIST, backendFromFlags } from '../backends.js';
import { classesOf, readData } from '../data.js';
import {
  architectureFromFlags,
  buildSavedModel,
  importLayerModules,
  layerModuleFlag,
  layerModuleHelp,
  networkFlags,
  networkHelp,
} from '../network-flags.js';

/** Entries of each parameter compared by default: SimpleConvNet's whole check in seconds. */
export const DEFAULT_MAX_ENTRIES = 200;

export const gradcheckHelp = `backprop gradcheck — backprop against numerical gradients (section 5.7.3)

On the first 3 training images, as the book does, for the book's TwoLayerNet or any
network the flags describe. Prints, per parameter, the book's mean absolute difference
and the largest relative error, then a verdict: exit 0 when every compared entry agrees
within the tolerance, 1 when one does not (or when nothing nonzero was compared).

An entry agrees when |backprop − numerical| <= atol + rtol·max(|backprop|, |numerical|):
rtol 1e-4 in float64 (1e-2 in float32), atol from h (the central difference's own error,
10·h², plus the loss's rounding over 2h). Where a ReLU input or a pooling tie lies within
h of the entry (a fresh network's zero biases over blank pixels sit exactly there) the
loss is not differentiable: an entry whose difference that kink explains is reported,
not judged.

Options:
  --backend NAME       ${BACKEND_LIST} (default cpu), or the path of your
                       own backend's module (./my-backend.js, as for 'backprop conformance')
  --dtype TYPE         float64 or float32 (default: the backend's first)
  --samples N          how many training images (default 3)
  --h X                the central difference's step (default 1e-4)
  --max-entries N|all  compare N entries of each parameter (default ${DEFAULT_MAX_ENTRIES}; all: every
                       one, two forward passes each: SimpleConvNet's W2 has 432 000): half
                       spread over the entries backprop says are nonzero, half over all
  --seed N             seed for the weights (default 0)
  --model FILE         check a saved model (its network and weights) instead: a trained
                       net's pre-activations sit away from ReLU's kink, where a new one's
                       (biases 0, blank pixels) sit exactly on it
${networkHelp}
${layerModuleHelp}
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
  ...layerModuleFlag,
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
  const maxEntries =
    values['max-entries'] === 'all'
      ? Number.POSITIVE_INFINITY
      : wholeNumber('max-entries', values['max-entries'], DEFAULT_MAX_ENTRIES);
  const modelFile = pathFlag('model', values.model);
  if (modelFile !== undefined) {
    const clash = ['seed', ...Object.keys(networkFlags)].find((flag) => values[flag] !== undefined);
    if (clash) throw new UsageError(`--model brings its network and weights; leave out --${clash}`);
  }
  // every parameter is nudged twice a sample: 100 samples is already minutes
  const samples = wholeNumber('samples', values.samples, 3, 1, {
    value: 100,
    what: 'a gradient check needs a few samples, not the training set',
  });
  // the cheap mistakes first — the flags, the layer modules, the model file, the backend —
  // and then the 60 000 images
  await importLayerModules(values['layer-module']);
  const saved = modelFile === undefined ? undefined : await readModel(`file://${modelFile}`);
  const backend = await backendFromFlags(values);
  const { train, test } = readData(pathFlag('data-dir', values['data-dir']));
  if (samples > train.count)
    throw new UsageError(
      `--samples must be at most ${train.count}, the number of training images, got ${samples}`,
    );
  const architecture =
    modelFile === undefined
      ? architectureFromFlags(values, {
          rows: train.rows,
          cols: train.cols,
          classes: classesOf(train.labels, test.labels),
        })
      : null;

  const net = architecture
    ? new Network(backend, architecture, { seed })
    : buildSavedModel(backend, saved as StoredModel);
  const x = backend.tensor(train.images.subarray(0, samples * train.features), [
    samples,
    train.features,
  ]);
  const t = backend.tensor(train.labels.subarray(0, samples), [samples]);
  const progress = new CheckProgress();
  const report = await gradientCheck(net, x, t, {
    h,
    maxEntries,
    onProgress: (done, total, name) => progress.update(done, total, name),
  });
  progress.finish();
  backend.dispose(x);
  backend.dispose(t);
  net.dispose();
  const names = Object.keys(report);
  if (backend.dtype === 'float32') {
    // A float32 loss carries rounding error of ~1e-7·|L|; divided by 2h that is ~1e-3.
    process.stderr.write(
      'note: in float32 the numerical gradient itself is rounding noise near 1e-3 (h = 1e-4), so the tolerance is wide; ' +
        "'backprop conformance' checks float32 backends against float64 numerical gradients instead\n",
    );
  }
  const verdict = gradientVerdict(report);
  const { atol, rtol } = gradientTolerance(backend.dtype, h);
  const tolerance = `|diff| <= ${atol.toExponential(1)} + ${rtol}·|gradient|`;

  if (values.json) {
    const result: Record<string, unknown> = {};
    for (const name of names) result[name] = report[name].meanAbsDiff;
    result.maxRelError = Object.fromEntries(names.map((name) => [name, report[name].maxRelError]));
    result.maxAbsDiff = Object.fromEntries(names.map((name) => [name, report[name].maxAbsDiff]));
    result.entries = Object.fromEntries(names.map((name) => [name, report[name].entries]));
    result.report = report;
    Object.assign(result, {
      backend: backend.name,
      dtype: backend.dtype,
      network: describeArchitecture(net.architecture),
      samples,
      h,
      seed,
      tolerance: { atol, rtol },
      verdict,
    });
    console.log(JSON.stringify(result, null, 2));
    return verdict.ok ? 0 : 1;
  }
  console.log(`backend: ${backend.description}; ${samples} samples, h = ${h}`);
  console.log(`${net.architecture.name ?? 'network'}: ${describeArchitecture(net.architecture)}`);
  const width = Math.max(6, ...names.map((n) => n.length + 1));
  console.log(
    `${'param'.padEnd(width)}${'mean |diff|'.padStart(12)}${'max |diff|'.padStart(12)}${'max rel err'.padStart(12)}${'entries'.padStart(16)}${'ok'.padStart(6)}${'one-sided'.padStart(10)}${'kink'.padStart(6)}${'failed'.padStart(7)}`,
  );
  for (const name of names) {
    const r = report[name];
    const entries = r.entries === r.size ? 'all' : `${r.entries} of ${r.size}`;
    console.log(
      `${name.padEnd(width)}${r.meanAbsDiff.toExponential(2).padStart(12)}${r.maxAbsDiff.toExponential(2).padStart(12)}${r.maxRelError.toExponential(2).padStart(12)}${entries.padStart(16)}${String(r.passed).padStart(6)}${String(r.oneSided).padStart(10)}${String(r.atKink).padStart(6)}${String(r.failed).padStart(7)}`,
    );
  }
  const count = (key: 'entries' | 'passed' | 'oneSided' | 'atKink' | 'failed') =>
    names.reduce((sum, name) => sum + report[name][key], 0);
  const summary = `${count('entries')} entries: ${count('passed')} within ${tolerance} (${count('oneSided')} of them at a kink, matching one side's slope), ${count('atKink')} at a kink not judged, ${count('failed')} failed`;
  if (verdict.ok) {
    console.log(`gradient check passed: ${summary}`);
    return 0;
  }
  const reasons = [
    ...verdict.failed.map((name) => {
      const worst = report[name].worst;
      return `${name}[${worst?.index}]: backprop ${worst?.backprop.toExponential(3)}, numerical ${worst?.numerical.toExponential(3)}`;
    }),
    ...verdict.untested.map(
      (name) =>
        `${name}: every compared entry was 0 both ways or at a kink, so nothing was tested (try more --samples or --max-entries, or a trained --model)`,
    ),
  ];
  console.log(`gradient check FAILED: ${summary}; ${reasons.join('; ')}`);
  return 1;
}

/**
 * A long check says how far it is: redrawn in place on a terminal, a line at each tenth
 * otherwise; stderr, so that --json's stdout stays JSON.
 */
class CheckProgress {
  private readonly started = performance.now();
  private lastDraw = 0;
  private drawn = false;
  private lastTenth = 0;

  update(done: number, total: number, name: string): void {
    const now = performance.now();
    const seconds = ((now - this.started) / 1000).toFixed(0);
    const line = `checking ${name}: ${done} of ${total} entries (${Math.floor((100 * done) / total)}%), ${seconds} s`;
    if (process.stderr.isTTY) {
      if (now - this.lastDraw < 100 && done < total) return;
      this.lastDraw = now;
      process.stderr.write(`\r${line}\x1b[K`);
      this.drawn = true;
    } else if (Math.floor((10 * done) / total) > this.lastTenth && now - this.started > 2000) {
      // a check of a few seconds prints nothing; a long one, a line at each tenth
      this.lastTenth = Math.floor((10 * done) / total);
      process.stderr.write(`${line}\n`);
    }
  }

  finish(): void {
    if (this.drawn) process.stderr.write('\r\x1b[K');
  }
}
