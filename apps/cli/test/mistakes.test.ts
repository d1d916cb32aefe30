/**
 * The command as a user misuses it: every mistake in a flag, a path, a model file or a
 * data file must end in one line on stderr that names the flag or the file, says what was
 * wrong and what is allowed, with exit 2 for the command line and 1 for data — no stack
 * trace, and nothing left behind that claims a run succeeded.
 */
import { type SpawnSyncReturns, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { IDX_FILES, idx, writeIdxSet } from './idx.js';
import { model, param } from './models.js';

const main = fileURLToPath(new URL('../dist/main.js', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'backprop-mistakes-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function backprop(args: string[]): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, [main, ...args], {
    encoding: 'utf8',
    cwd: work,
    env: { ...process.env, INIT_CWD: work },
  });
}

// ---- data files: a tiny valid set, and one broken variant a folder ------------------------

const labels = (n: number) => Array.from({ length: n }, (_, i) => i % 10);
const valid = (): Record<keyof typeof IDX_FILES, Buffer> => ({
  trainImages: idx([20, 4, 4]),
  trainLabels: idx([20], labels(20)),
  testImages: idx([10, 4, 4]),
  testLabels: idx([10], labels(10)),
});

function dataDir(name: string, change: (files: Record<string, Buffer>) => void = () => {}) {
  const files = valid();
  change(files);
  writeIdxSet(join(work, name), files);
  return name;
}

dataDir('tiny');
dataDir('truncated', (f) => {
  f.trainImages = f.trainImages.subarray(0, 100);
});
dataDir('bad-magic', (f) => {
  f.trainLabels = idx([20], labels(20), { type: 0x0d });
});
dataDir('no-images', (f) => {
  f.trainImages = idx([0, 4, 4], []);
  f.trainLabels = idx([0], []);
});
dataDir('no-pixels', (f) => {
  f.trainImages = idx([20, 0, 0], []);
});
dataDir('other-size', (f) => {
  f.testImages = idx([10, 5, 5]);
});
dataDir('label-12', (f) => {
  f.trainLabels = idx([20], [...labels(19), 12]);
});
dataDir('count-mismatch', (f) => {
  f.trainLabels = idx([19], labels(19));
});
dataDir('trailing', (f) => {
  f.testLabels = idx([10], labels(10), { extra: 3 });
});
dataDir('two-dims', (f) => {
  f.trainImages = idx([20, 16]);
});
const gz = dataDir('bad-gzip');
rmSync(join(work, gz, IDX_FILES.trainImages));
writeFileSync(join(work, gz, `${IDX_FILES.trainImages}.gz`), Buffer.from('not gzip at all'));
const folder = dataDir('image-folder');
rmSync(join(work, folder, IDX_FILES.testImages));
mkdirSync(join(work, folder, IDX_FILES.testImages));
const zipped = dataDir('gzipped-ok');
writeFileSync(join(work, zipped, `${IDX_FILES.trainImages}.gz`), gzipSync(valid().trainImages));
rmSync(join(work, zipped, IDX_FILES.trainImages));

// ---- model files --------------------------------------------------------------------------

const models: Record<string, string> = {
  'good.json': model(),
  'garbage.json': '{"format": ',
  'array.json': '[1, 2, 3]',
  'other.json': '{"name": "not a model"}',
  'v3.json': model((m) => {
    m.version = 3; // a version 3 file holds a layer list, not version 2's record
  }),
  'v4.json': model((m) => {
    m.version = 4;
  }),
  'newer-field.json': model((m) => {
    m.writtenBy = '@backprop/core 9.0.0'; // a field a newer release might add
  }),
  'five-classes.json': model((m) => {
    const arch = m.architecture as Record<string, unknown>;
    arch.outputSize = 5;
    (m.params as Record<string, unknown>).W2 = param([3, 5]);
    (m.params as Record<string, unknown>).b2 = param([5]);
  }),
  'kind.json': model((m) => {
    (m.architecture as Record<string, unknown>).kind = 'Perceptron';
  }),
  'hidden.json': model((m) => {
    (m.architecture as Record<string, unknown>).hiddenSizes = 'many';
  }),
  'missing-param.json': model((m) => {
    delete (m.params as Record<string, unknown>).b2;
  }),
  'shape.json': model((m) => {
    (m.params as Record<string, unknown>).W1 = param([3, 16]);
  }),
  'null-value.json': model((m) => {
    const w = param([3]);
    (w.values as unknown[])[2] = null;
    (m.params as Record<string, unknown>).b1 = w;
  }),
  'extra.json': model((m) => {
    (m.params as Record<string, unknown>).W3 = param([2, 2]);
  }),
  'huge.json': model((m) => {
    (m.params as Record<string, unknown>).b1 = param([3], 1e39);
  }),
  'sigmoid-two-layer.json': model((m) => {
    (m.architecture as Record<string, unknown>).activation = 'sigmoid';
  }),
};
for (const [name, text] of Object.entries(models)) writeFileSync(join(work, name), text);
mkdirSync(join(work, 'a-folder.json'));
writeFileSync(join(work, 'a-file'), 'x');

// ---- the table --------------------------------------------------------------------------

/**
 * A row; `'node'` marks one whose words or outcome come from Node itself (parseArgs, V8's
 * JSON.parse, zlib, the file system's error codes): its title carries [node], and CI runs
 * those on Node 22 and 24 too (the rest is this command's own code, the same on every Node).
 */
type Case = [args: string[], message: RegExp, status: number, from?: 'node'];
// ---- layer files: strict as model files are ------------------------------------------------

const layerFiles: Record<string, unknown> = {
  'layrs.json': {
    weightDecay: 0.5,
    layrs: [{ type: 'affine', units: 10 }],
    layers: [{ type: 'affine', units: 10 }],
  },
  'filtres.json': {
    layers: [
      { type: 'conv', filtres: 3, size: 3 },
      { type: 'relu' },
      { type: 'affine', units: 10 },
    ],
  },
  'no-filters.json': {
    layers: [
      { type: 'conv', size: 3 },
      { type: 'affine', units: 10 },
    ],
  },
  'relo.json': [{ type: 'affine', units: 5 }, { type: 'relo' }, { type: 'affine', units: 10 }],
  'decay.json': { weightDecay: 0.1, layers: [{ type: 'affine', units: 10 }] },
  'bad-decay.json': { weightDecay: -1, layers: [{ type: 'affine', units: 10 }] },
  'layers-string.json': { layers: 'affine 10' },
};
for (const [name, json] of Object.entries(layerFiles)) {
  writeFileSync(join(work, name), JSON.stringify(json));
}
writeFileSync(join(work, 'registers-nothing.mjs'), 'export const nothing = 1;\n');
writeFileSync(join(work, 'throws.mjs'), "throw new Error('not today');\n");
writeFileSync(join(work, 'not-json.json'), '{ "layers": [ { "type": "affine", "units": 10 }, ] }');

const train = (...args: string[]) => ['train', '--data-dir', 'tiny', '--out', 'out', ...args];

const cases: Case[] = [
  // numbers
  [train('--iters', '0'), /--iters must be a whole number >= 1, got '0'$/, 2],
  [train('--iters', '1.5'), /--iters must be a whole number >= 1, got '1\.5'$/, 2],
  [train('--iters', 'ten'), /--iters must be a whole number >= 1, got 'ten'$/, 2],
  [train('--iters', ''), /--iters must be a whole number >= 1, got ''$/, 2],
  [train('--iters=-5'), /--iters must be a whole number >= 1, got '-5'$/, 2, 'node'],
  [train('--iters', '99999999999999999999'), /--iters must be a whole number >= 1/, 2],
  [train('--iters', '1e3'), /--iters must be a whole number >= 1, got '1e3'$/, 2],
  [train('--batch-size', '0'), /--batch-size must be a whole number >= 1/, 2],
  [
    train('--batch-size', '21'),
    /--batch-size must be at most 20 \(the number of training images\), got 21$/,
    2,
  ],
  [train('--lr', '0'), /--lr must be a positive number, got '0'$/, 2],
  [train('--lr', 'NaN'), /--lr must be a positive number, got 'NaN'$/, 2],
  [train('--lr', 'Infinity'), /--lr must be a positive number, got 'Infinity'$/, 2],
  [train('--lr', '1e400'), /--lr must be a positive number, got '1e400'$/, 2],
  [
    train('--lr', '-1'),
    /--lr needs a value; for one that starts with '-', write --lr=VALUE$/,
    2,
    'node',
  ],
  [train('--seed', '-1'), /--seed needs a value; for one that starts with '-'/, 2, 'node'],
  [train('--seed', '1.5'), /--seed must be a whole number >= 0, got '1\.5'$/, 2],
  // a larger seed was folded to 32 bits: 4294967296 gave the run of seed 1
  [
    train('--seed', '4294967296'),
    /--seed must be at most 4294967295 \(seeds are 32-bit\), got 4294967296$/,
    2,
  ],
  [train('--hidden', '0'), /--hidden must be whole numbers >= 1, separated by commas/, 2],
  [train('--hidden', '10,'), /--hidden must be whole numbers >= 1, separated by commas/, 2],
  [train('--hidden', 'a,b'), /--hidden must be whole numbers >= 1/, 2],
  [
    train('--hidden', '2000000000'),
    /W1 \[16,2000000000\] needs more memory than this JavaScript/,
    2,
  ],
  [
    train('--weight-init', '0'),
    /--weight-init must be he, xavier or a positive standard deviation/,
    2,
  ],
  [train('--weight-init', 'lecun'), /--weight-init must be he, xavier or a positive/, 2],
  [train('--weight-decay=-1'), /--weight-decay must be a number >= 0, got '-1'$/, 2],
  [train('--weight-decay', 'lots'), /--weight-decay must be a number >= 0, got 'lots'$/, 2],
  [train('--eval-every', 'x'), /--eval-every must be a whole number >= 0, got 'x'$/, 2],
  [train('--eval-samples', '0'), /--eval-samples must be a whole number >= 1, got '0'$/, 2],
  [
    train('--eval-samples', '25'),
    /--eval-samples must be at most 20 \(the images in the larger set\)/,
    2,
  ],
  [train('--eval-on', 'train'), /--eval-on must be one of both, test, got 'train'$/, 2],
  // choices
  [train('--dtype', 'float16'), /--dtype must be one of float64, float32, got 'float16'$/, 2],
  [
    train('--backend', 'wasm', '--dtype', 'float64'),
    /backend 'wasm' has no float64; it offers float32$/,
    2,
  ],
  [train('--backend', ''), /unknown backend ''; backends: cpu, wasm/, 2],
  [train('--backend', 'cuda'), /unknown backend 'cuda'; backends: cpu, wasm/, 2],
  [train('--backend', 'wsam'), /unknown backend 'wsam' \(did you mean 'wasm'\?\); backends:/, 2],
  [
    train('--backend', 'gpujs-webgl2'),
    /^backprop: the gpujs-webgl2 backend needs a browser's WebGL2, which Node does not have; in Node use gpujs-headlessgl, gpujs-webasm$/,
    1,
  ],
  [train('--backend', 'tfjs-node'), /install @tensorflow\/tfjs-node@4\.22\.0/, 1],
  [
    train('--optimizer', 'lbfgs'),
    /--optimizer must be one of sgd, momentum, adagrad, adam, got 'lbfgs'$/,
    2,
  ],
  [train('--activation', 'tanh'), /--activation must be one of relu, sigmoid, got 'tanh'$/, 2],
  // networks: names, layer lists that do not fit, options that clash
  [
    train('--net', 'lenet'),
    /--net must be one of two-layer, multi-layer, multi-layer-extend, simple-convnet, deep-convnet, got 'lenet'$/,
    2,
  ],
  [
    train('--dropout', '1.5'),
    /--dropout must be a ratio in \[0, 1\), the share dropped \(0\.5\), got '1\.5'$/,
    2,
  ],
  [
    train('--net', 'simple-convnet', '--batchnorm'),
    /--net simple-convnet has no batch normalization or dropout: use --net multi-layer-extend$/,
    2,
  ],
  [
    train('--net', 'simple-convnet', '--hidden', '10,10'),
    /--net simple-convnet has one hidden Affine layer/,
    2,
  ],
  [
    train('--net', 'deep-convnet', '--hidden', '5'),
    /--net deep-convnet has its own layers: use --layers to change them$/,
    2,
  ],
  [
    train('--layers', 'affine 10', '--hidden', '5'),
    /--layers lists the whole network; leave out --hidden$/,
    2,
  ],
  [
    train('--layers', 'conv 2 3 3, rellu, affine 10'),
    /--layers: layer 2 'rellu': 'rellu' is not a layer \(did you mean 'relu'\?\); layers: affine UNITS, relu/,
    2,
  ],
  [
    train('--layers', 'conv 2 three'),
    /--layers: layer 1 'conv 2 three': 'three' is not a number$/,
    2,
  ],
  [
    train('--layers', 'pool 2 stride=2 size=3'),
    /layer 1 'pool 2 stride=2 size=3': 'size=' is not an option of pool/,
    2,
  ],
  [
    train('--layers', 'conv 2 3 3, relu, pool 5, affine 10'),
    /layer 3 \(Pool1, pool 5×5\): a 5×5 window does not fit its input \[2,2,2\]$/,
    2,
  ],
  [
    train('--layers', 'affine 10, conv 2 3 3'),
    /layer 2 \(Conv1, conv 2 3×3\): needs images \[channels, height, width\] a sample, got \[10\]/,
    2,
  ],
  [
    train('--layers', 'affine 5'),
    /--layers: the last layer gives 5 scores a sample, but the labels name 10 classes \(0…9\): end the list with affine 10$/,
    2,
  ],
  [
    train('--layers', 'conv 2 3 3'),
    /the last layer must give one score a class, \[classes\], but it gives \[2,2,2\] a sample: end with an affine layer$/,
    2,
  ],
  [train('--layers', 'missing.json'), /--layers missing\.json: file not found \(.*\)$/, 2],
  [
    train('--layers', 'layrs.json'),
    /--layers layrs\.json: unknown field 'layrs' \(did you mean 'layers'\?\); it takes layers, weightInit, weightDecay$/,
    2,
  ],
  [
    train('--layers', 'filtres.json'),
    /layer 1 \(Conv1, conv\): unknown field 'filtres' \(did you mean 'filters'\?\); it takes type, filters, size, stride, pad, weightInit$/,
    2,
  ],
  [
    train('--layers', 'no-filters.json'),
    /layer 1 \(Conv1, conv \? 3×3\): filters must be a whole number >= 1, got undefined$/,
    2,
  ],
  [
    train('--layers', 'relo.json'),
    /layer 2: unknown type "relo" \(did you mean 'relu'\?\); layers: affine, relu/,
    2,
  ],
  [
    train('--layers', 'not-json.json'),
    /^backprop: --layers not-json\.json: is not valid JSON \(.+\)$/,
    2,
    'node',
  ],
  [
    train('--layers', 'decay.json', '--weight-decay', '0.2'),
    /--layers decay\.json sets weightDecay; leave out --weight-decay$/,
    2,
  ],
  [
    train('--layers', 'bad-decay.json'),
    /--layers bad-decay\.json: weightDecay must be a number >= 0 \(λ of ½·λ·ΣW²\), got -1$/,
    2,
  ],
  [
    train('--layers', 'layers-string.json'),
    /--layers layers-string\.json: must hold a list of layer specs, or \{ "layers": \[\.\.\.\] \}$/,
    2,
  ],
  // a layer module of one's own
  [train('--layer-module', 'missing.mjs'), /--layer-module missing\.mjs: no such file/, 2],
  [
    train('--layer-module', 'registers-nothing.mjs'),
    /--layer-module registers-nothing\.mjs: registered no layer type; call registerLayer\(descriptor\) in it/,
    2,
  ],
  [
    train('--layer-module', 'throws.mjs'),
    /--layer-module throws\.mjs: the module failed to load: not today$/,
    2,
  ],
  // the command line itself
  [
    train('--wat'),
    /^backprop: train: unknown option --wat; see 'backprop train --help'$/,
    2,
    'node',
  ],
  [train('extra'), /train: unexpected argument 'extra'; see 'backprop train --help'$/, 2, 'node'],
  [
    ['fly'],
    /^backprop: unknown command 'fly'; commands: train, gradcheck, evaluate, conformance$/,
    2,
  ],
  [['train', '--iters'], /--iters needs a value|argument missing/, 2, 'node'],
  // paths
  [['train', '--out', ''], /--out needs a path, got an empty one$/, 2],
  [['train', '--data-dir', '', '--out', 'x'], /--data-dir needs a path, got an empty one$/, 2],
  [train('--out', 'a-file'), /--out .*a-file is a file; give a folder/, 2],
  [
    train('--out', 'a-file/run'),
    /--out .*a-file\/run: a part of it \(.*a-file\) is a file, not a folder$/,
    2,
  ],
  [
    train('--out', '/proc/backprop-run'),
    /--out \/proc\/backprop-run: it cannot be (made|written)/,
    2,
  ],
  // data files
  [
    ['train', '--data-dir', 'no-such-dir', '--out', 'x'],
    /no-such-dir\/train-images-idx3-ubyte: file not found$/,
    1,
  ],
  [
    ['train', '--data-dir', 'truncated', '--out', 'x'],
    /truncated\/train-images-idx3-ubyte: truncated: 100 bytes, but its header \(20×4×4\) says 336$/,
    1,
  ],
  [
    ['train', '--data-dir', 'bad-magic', '--out', 'x'],
    /bad-magic\/train-labels-idx1-ubyte: not an unsigned-byte IDX file: magic number 0x00000d01/,
    1,
  ],
  [
    ['train', '--data-dir', 'no-images', '--out', 'x'],
    /no-images\/train-images-idx3-ubyte: holds no images/,
    1,
  ],
  [
    ['train', '--data-dir', 'no-pixels', '--out', 'x'],
    /no-pixels\/train-images-idx3-ubyte: its images are 0×0 pixels/,
    1,
  ],
  [
    ['train', '--data-dir', 'other-size', '--out', 'x'],
    /other-size\/t10k-images-idx3-ubyte: its images are 5×5 pixels but the training images are 4×4$/,
    1,
  ],
  [
    ['train', '--data-dir', 'label-12', '--out', 'x'],
    /label-12\/train-labels-idx1-ubyte: label 12 at index 19 is not a class in 0…9$/,
    1,
  ],
  [
    ['train', '--data-dir', 'count-mismatch', '--out', 'x'],
    /count-mismatch\/train-labels-idx1-ubyte: has 19 labels but .* has 20 images$/,
    1,
  ],
  [
    ['train', '--data-dir', 'trailing', '--out', 'x'],
    /trailing\/t10k-labels-idx1-ubyte: has trailing bytes/,
    1,
  ],
  [
    ['train', '--data-dir', 'two-dims', '--out', 'x'],
    /two-dims\/train-images-idx3-ubyte: has 2 dimensions, expected 3$/,
    1,
  ],
  [
    ['train', '--data-dir', 'bad-gzip', '--out', 'x'],
    /bad-gzip\/train-images-idx3-ubyte\.gz: is not valid gzip data/,
    1,
    'node',
  ],
  [
    ['train', '--data-dir', 'image-folder', '--out', 'x'],
    /image-folder\/t10k-images-idx3-ubyte: is a folder, not an IDX file$/,
    1,
    'node',
  ],
  // evaluate and model files
  [['evaluate'], /--model FILE is required/, 2],
  [['evaluate', '--model', ''], /--model needs a path, got an empty one$/, 2],
  [['evaluate', '--model', 'missing.json'], /missing\.json: file not found$/, 1, 'node'],
  [
    ['evaluate', '--model', 'a-folder.json'],
    /a-folder\.json: is a folder, not a model file$/,
    1,
    'node',
  ],
  [['evaluate', '--model', 'garbage.json'], /garbage\.json: is not valid JSON/, 1, 'node'],
  [
    ['evaluate', '--model', 'array.json'],
    /array\.json: not a backprop model file: expected a JSON object$/,
    1,
  ],
  [
    ['evaluate', '--model', 'other.json'],
    /other\.json: not a backprop model file: "format" must be "backprop.network"/,
    1,
  ],
  [
    ['evaluate', '--model', 'v3.json'],
    /v3\.json: not a backprop model file: input must be one sample's shape, e.g\. \[784\] or \[1, 28, 28\], got undefined$/,
    1,
  ],
  // a file from a newer release: refused with the versions this build reads, never evaluated
  [
    ['evaluate', '--model', 'v4.json'],
    /v4\.json: format version 4 is newer than this build reads \(it reads 1, 2, 3\); a newer @backprop release wrote it: update @backprop\/core/,
    1,
  ],
  [
    ['evaluate', '--model', 'newer-field.json'],
    /newer-field\.json: not a backprop model file: it has "writtenBy", which version 2 files do not \(a newer @backprop release may have written it\)$/,
    1,
  ],
  // a model for 5 classes on data with 10: said before any kernel meets label 7
  [
    ['evaluate', '--model', 'five-classes.json', '--data-dir', 'tiny'],
    /five-classes\.json: the model scores 5 classes \(0…4\), but the test labels go up to 9 \(10 classes\): it was trained on other data$/,
    1,
  ],
  [
    ['evaluate', '--model', 'kind.json'],
    /kind\.json: .*architecture\.kind must be "TwoLayerNet" or "MultiLayerNet", got "Perceptron"$/,
    1,
  ],
  [['evaluate', '--model', 'hidden.json'], /hidden\.json: .*a list of whole hiddenSizes$/, 1],
  [
    ['evaluate', '--model', 'missing-param.json'],
    /missing-param\.json: .*parameter b2 is missing \(b2 is \[10\]\)$/,
    1,
  ],
  [
    ['evaluate', '--model', 'shape.json'],
    /shape\.json: .*parameter W1 must have shape \[16,3\] \(48 values\), got \[3,16\]/,
    1,
  ],
  [
    ['evaluate', '--model', 'null-value.json'],
    /null-value\.json: .*parameter b1 has a non-finite value at index 2$/,
    1,
  ],
  [
    ['evaluate', '--model', 'extra.json'],
    /extra\.json: .*parameter W3 belongs to no layer of this network$/,
    1,
  ],
  [
    ['evaluate', '--model', 'sigmoid-two-layer.json'],
    /a TwoLayerNet uses relu between its layers$/,
    1,
  ],
  [
    ['evaluate', '--model', 'huge.json', '--backend', 'wasm', '--data-dir', 'tiny'],
    /huge\.json: .*1e\+39 at index 0 is too large for float32/,
    1,
  ],
  [
    ['evaluate', '--model', 'good.json'],
    /good\.json: the model takes 16 inputs \(\[16\]\) but the test images have 784 pixels \(28×28\)$/,
    1,
  ],
  [
    ['evaluate', '--model', 'good.json', '--data-dir', 'tiny', '--index', '10'],
    /--index must be below 10, the number of test images; got 10$/,
    2,
  ],
  [
    ['evaluate', '--model', 'good.json', '--data-dir', 'tiny', '--index', 'first'],
    /--index must be a whole number >= 0, got 'first'$/,
    2,
  ],
  // gradcheck and conformance
  [['gradcheck', '--samples', '0'], /--samples must be a whole number >= 1, got '0'$/, 2],
  [
    ['gradcheck', '--samples', '101'],
    /--samples must be at most 100 \(a gradient check needs a few samples/,
    2,
  ],
  [['gradcheck', '--h', '0'], /--h must be a positive number, got '0'$/, 2],
  [['gradcheck', '--h', '5'], /--h must be at most 1/, 2],
  [
    ['gradcheck', '--backend', 'tfjs-webgl'],
    // the registry's names, not the library's calls: what a command-line user types
    /^backprop: the tfjs-webgl backend needs a browser's WebGL, which Node does not have; in Node use tfjs-wasm, tfjs-cpu, tfjs-webgpu$/,
    1,
  ],
  [['conformance', '--case', 'kernel/'], /no conformance case starts with 'kernel\/'/, 2],
  [
    ['conformance', '--backend', 'cpu:float16'],
    /backend 'cpu' has no float16; it offers float64, float32$/,
    2,
  ],
  [['conformance', '--backend', 'nope'], /unknown backend 'nope'; backends:/, 2],
];

describe('user mistakes: one line naming what was wrong, the right exit code, no stack trace', () => {
  it(`the table has ${cases.length} cases`, () => {
    expect(cases.length).toBeGreaterThanOrEqual(60);
  });
  for (const [args, message, status, from] of cases) {
    const command = args.map((a) => (a === '' ? "''" : a)).join(' ');
    it(`backprop ${command}${from === 'node' ? ' [node]' : ''}`, () => {
      rmSync(join(work, 'out'), { recursive: true, force: true });
      rmSync(join(work, 'x'), { recursive: true, force: true });
      const run = backprop(args);
      const lines = run.stderr.trim().split('\n');
      expect(lines, run.stderr).toHaveLength(1);
      expect(lines[0]).toMatch(message);
      expect(lines[0]).toMatch(/^backprop: /);
      expect(run.stderr).not.toMatch(/\n\s+at /);
      expect(run.status, run.stderr).toBe(status);
      // nothing that claims a run happened: --out was not made, or was left empty
      for (const dir of ['out', 'x']) {
        const path = join(work, dir);
        if (existsSync(path)) expect(readdirSync(path)).toEqual([]);
      }
    });
  }

  it('a run that cannot be written into --out is saved elsewhere, says where, and exits 1 [node]', () => {
    // model.json is a folder there: the files go to a temporary folder, and a script that
    // checks the exit code must not believe they are in --out
    mkdirSync(join(work, 'blocked', 'model.json'), { recursive: true });
    const run = backprop([
      'train',
      '--data-dir',
      'tiny',
      '--iters',
      '5',
      '--batch-size',
      '5',
      '--out',
      'blocked',
    ]);
    expect(run.status, run.stderr).toBe(1);
    const where =
      /could not write into .*blocked \(EISDIR\); wrote the run to (\S+) instead$/m.exec(
        run.stderr,
      )?.[1];
    expect(where, run.stderr).toBeTruthy();
    expect(readdirSync(where as string).sort()).toEqual([
      'curves.svg',
      'metrics.json',
      'model.json',
    ]);
    expect(run.stdout).toContain(`wrote ${join(where as string, 'metrics.json')}`);
    rmSync(where as string, { recursive: true, force: true });
  });

  it('and the data that is fine trains: the tiny set, a gzipped file among them [node]', () => {
    for (const dir of ['tiny', 'gzipped-ok']) {
      const run = backprop([
        'train',
        '--data-dir',
        dir,
        '--iters',
        '5',
        '--batch-size',
        '5',
        '--out',
        `ok-${dir}`,
      ]);
      expect(run.status, run.stderr).toBe(0);
      expect(readdirSync(join(work, `ok-${dir}`)).sort()).toEqual([
        'curves.svg',
        'metrics.json',
        'model.json',
      ]);
    }
  });
});
