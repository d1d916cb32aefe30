/**
 * Which network `train` and `gradcheck` build: the book's nets by name (`--net`), their
 * sizes and options, or a list of layers of one's own (`--layers`), all through core's
 * one factory (an `Architecture`), so a model file records exactly what was trained.
 */
import { existsSync, readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import {
  type Architecture,
  type Backend,
  buildModel,
  DataError,
  layerTypes,
  layerWords,
  MultiLayerNet,
  MultiLayerNetExtend,
  type Network,
  parseLayers,
  readsImages,
  refuseUnknownKeys,
  SimpleConvNet,
  type StoredModel,
  TwoLayerNet,
  UsageError,
  type WeightInit,
} from '@backprop/core';
import { type FlagSpec, nonNegativeNumber, oneOf, userPath } from './args.js';

export const NET_NAMES = [
  'two-layer',
  'multi-layer',
  'multi-layer-extend',
  'simple-convnet',
  'deep-convnet',
] as const;

/**
 * Chapter 8's DeepConvNet (`ch08/deep_convnet.py`) as a list of the layers core already
 * has: six 3×3 convolutions (the fourth with pad 2, so 14 becomes 16 and three poolings
 * leave 4×4), He's initial weights, Dropout 0.5 after the hidden Affine and after the last.
 */
export const DEEP_CONVNET_LAYERS =
  'conv 16 3 3 pad=1, relu, conv 16 3 3 pad=1, relu, pool 2, ' +
  'conv 32 3 3 pad=1, relu, conv 32 3 3 pad=2, relu, pool 2, ' +
  'conv 64 3 3 pad=1, relu, conv 64 3 3 pad=1, relu, pool 2, ' +
  'affine 50, relu, dropout 0.5, affine 10, dropout 0.5';
export type NetName = (typeof NET_NAMES)[number];

export const networkFlags: FlagSpec = {
  net: { type: 'string' },
  layers: { type: 'string' },
  hidden: { type: 'string' },
  activation: { type: 'string' },
  'weight-init': { type: 'string' },
  'weight-decay': { type: 'string' },
  batchnorm: { type: 'boolean' },
  dropout: { type: 'string' },
};

export const networkHelp = `  --net NAME           ${NET_NAMES.join(', ')} (default two-layer: the book's
                       TwoLayerNet, 5.7; multi-layer when --hidden lists several sizes or
                       --activation/--weight-decay change it; multi-layer-extend with
                       --batchnorm or --dropout, 6.3–6.4; simple-convnet: 7.5;
                       deep-convnet: 8.1, trained with adam lr 0.001 unless told)
  --hidden N[,N…]      hidden units, a layer each (default 50; simple-convnet 100)
  --activation NAME    relu or sigmoid (default relu)
  --weight-init INIT   he, xavier or a standard deviation (default: 0.01 for two-layer and
                       simple-convnet, else he for relu and xavier for sigmoid; 6.2)
  --weight-decay X     λ of the L2 penalty ½·λ·ΣW² (default 0; 6.4.1)
  --batchnorm          Batch Normalization after each hidden Affine (6.3)
  --dropout RATIO      Dropout of RATIO after each hidden activation (6.4.3)
  --layers LIST|FILE   a network of your own, as words or a JSON file of layer specs:
                       '${layerWords()}', comma-separated; e.g. 'conv 30 5 5, relu, pool 2,
                       affine 100, relu, affine 10'`;

/** `--layer-module`: train, gradcheck and evaluate take it (not a network flag: a model brings its layers, not their code). */
export const layerModuleFlag: FlagSpec = { 'layer-module': { type: 'string' } };

export const layerModuleHelp = `  --layer-module FILE  a module of your own that registers layer types when imported
                       (registerLayer(descriptor) from @backprop/core, installed beside
                       this command); several: FILE,FILE`;

/**
 * Imports each `--layer-module`: a user's module registers its layer types when imported,
 * as core's own layers/ do. It must import the @backprop/core this command uses (both
 * installed in one project): a type registered in another copy is not seen here, so a
 * module that adds none is refused rather than ignored.
 */
export async function importLayerModules(value: string | boolean | undefined): Promise<void> {
  if (typeof value !== 'string') return;
  const paths = [...new Set(value.split(',').map((p) => p.trim()))];
  for (const path of paths) {
    const file = userPath(path);
    if (path === '' || !existsSync(file))
      throw new UsageError(`--layer-module ${path}: no such file (${file})`);
    const before = new Set(layerTypes());
    try {
      await import(pathToFileURL(file).href);
    } catch (error) {
      throw new UsageError(
        `--layer-module ${path}: the module failed to load: ${(error as Error).message.split('\n')[0]}`,
      );
    }
    if (layerTypes().every((type) => before.has(type))) {
      throw new UsageError(
        `--layer-module ${path}: registered no layer type; call registerLayer(descriptor) in it, with the @backprop/core this command uses (install both in one project)`,
      );
    }
  }
}

/**
 * core's buildModel, with the command line's way to register a layer: where a model names a
 * layer type nobody registered, core tells a program to call registerLayer; a command
 * user gives the module that does with --layer-module.
 */
export function buildSavedModel(backend: Backend, saved: StoredModel): Network {
  try {
    return buildModel(backend, saved);
  } catch (error) {
    if (error instanceof DataError && error.message.includes('this program has not registered')) {
      const detail = error.message
        .slice(error.file.length + 2)
        .replace(/: import the module.*$/, '');
      throw new DataError(
        error.file,
        `${detail}: give the module that registers it with --layer-module FILE`,
      );
    }
    throw error;
  }
}

/** What the data gives a network: one image's size, and how many classes its labels name. */
export interface DataShape {
  rows: number;
  cols: number;
  classes: number;
}

/** The architecture the flags describe (checked, not built). */
export function architectureFromFlags(
  values: Record<string, string | boolean | undefined>,
  data: DataShape,
): Architecture {
  const { rows, cols, classes } = data;
  const weightInit = weightInitFlag(values['weight-init']);
  const weightDecay = nonNegativeNumber('weight-decay', values['weight-decay'], 0);
  if (values.layers !== undefined) {
    const clash = ['net', 'hidden', 'activation', 'batchnorm', 'dropout'].find(
      (flag) => values[flag] !== undefined,
    );
    if (clash) {
      throw new UsageError(`--layers lists the whole network; leave out --${clash}`);
    }
    const file = layersFlag(values.layers);
    const { layers } = file;
    // the file's settings and the flags' may not both speak: which one wins is a guess
    for (const [field, flag] of [
      ['weightInit', 'weight-init'],
      ['weightDecay', 'weight-decay'],
    ] as const) {
      if (file[field] !== undefined && values[flag] !== undefined) {
        throw new UsageError(
          `--layers ${String(values.layers).trim()} sets ${field}; leave out --${flag}`,
        );
      }
    }
    // a layer that reads images (a convolution, a pooling) gets them; else rows of pixels
    return {
      input: readsImages(layers) ? [1, rows, cols] : [rows * cols],
      layers,
      weightInit: file.weightInit ?? weightInit ?? 'he',
      weightDecay: file.weightDecay ?? weightDecay,
    };
  }
  const hidden = hiddenSizes(values.hidden);
  const activation = oneOf('activation', values.activation, ['relu', 'sigmoid'] as const, 'relu');
  const dropout = values.dropout === undefined ? undefined : ratioFlag('dropout', values.dropout);
  const extended = values.batchnorm === true || dropout !== undefined;
  const net = oneOf(
    'net',
    values.net,
    NET_NAMES,
    extended
      ? 'multi-layer-extend'
      : (hidden ?? [50]).length === 1 &&
          activation === 'relu' &&
          weightDecay === 0 &&
          (weightInit === undefined || typeof weightInit === 'number')
        ? 'two-layer'
        : 'multi-layer',
  );
  const fits = (what: string, ok: boolean) => {
    if (!ok) throw new UsageError(`--net ${net} ${what}`);
  };
  if (net !== 'multi-layer-extend') {
    fits('has no batch normalization or dropout: use --net multi-layer-extend', !extended);
  }
  const inputSize = rows * cols;
  switch (net) {
    case 'two-layer':
      fits(
        'has one hidden layer: give --hidden one size, or use --net multi-layer',
        !hidden || hidden.length === 1,
      );
      fits('uses relu: use --net multi-layer for sigmoid', activation === 'relu');
      fits('has no weight decay: use --net multi-layer', weightDecay === 0);
      fits(
        "starts from a standard deviation (0.01): use --net multi-layer for 'he' or 'xavier'",
        typeof (weightInit ?? 0.01) === 'number',
      );
      return TwoLayerNet.architecture({
        inputSize,
        hiddenSize: hidden?.[0] ?? 50,
        outputSize: classes,
        weightInitStd: weightInit as number | undefined,
      });
    case 'simple-convnet':
      fits('has one hidden Affine layer: give --hidden one size', !hidden || hidden.length === 1);
      fits('uses relu', activation === 'relu');
      fits('has no weight decay', weightDecay === 0);
      fits(
        'starts from a standard deviation (0.01): give --weight-init a number',
        typeof (weightInit ?? 0.01) === 'number',
      );
      return SimpleConvNet.architecture({
        inputDim: [1, rows, cols],
        hiddenSize: hidden?.[0] ?? 100,
        outputSize: classes,
        weightInitStd: weightInit as number | undefined,
      });
    case 'deep-convnet':
      fits(
        'has its own layers: use --layers to change them',
        !hidden && values.activation === undefined,
      );
      fits('has no weight decay', weightDecay === 0);
      return {
        name: 'DeepConvNet',
        input: [1, rows, cols],
        layers: parseLayers(DEEP_CONVNET_LAYERS),
        weightInit: weightInit ?? 'he',
        weightDecay: 0,
      };
    default: {
      const options = {
        inputSize,
        hiddenSizes: hidden ?? (net === 'multi-layer-extend' ? [100, 100, 100] : [100]),
        outputSize: classes,
        activation,
        weightInit,
        weightDecay,
      };
      return net === 'multi-layer'
        ? MultiLayerNet.architecture(options)
        : MultiLayerNetExtend.architecture({
            ...options,
            useBatchnorm: values.batchnorm === true,
            useDropout: dropout !== undefined,
            dropoutRatio: dropout,
          });
    }
  }
}

/** What `--layers` gives: the list, and the settings a JSON file may carry beside it. */
type LayersFile = Pick<Architecture, 'layers' | 'weightInit' | 'weightDecay'>;

/**
 * `--layers`: words (`conv 30 5 5, relu, …`) or the path of a JSON file holding the list,
 * or `{ "layers": [...], "weightInit": …, "weightDecay": … }`. Every mistake in it is the
 * command line's (exit 2, one line naming the file); a field it does not know is refused,
 * as a model file's is, since a dropped `"weightDecay"` would train without it.
 */
function layersFlag(value: string | boolean | undefined): LayersFile {
  if (typeof value !== 'string' || value.trim() === '') {
    throw new UsageError(`--layers needs a layer list or a JSON file: ${layerWords()}`);
  }
  if (value.trim().endsWith('.json')) {
    const file = userPath(value.trim());
    const fail = (detail: string): never => {
      throw new UsageError(`--layers ${value.trim()}: ${detail}`);
    };
    let text = '';
    try {
      text = readFileSync(file, 'utf8');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      fail(code === 'ENOENT' ? `file not found (${file})` : `cannot be read (${code})`);
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (error) {
      // V8's message may quote the offending text over several lines: one line here
      fail(`is not valid JSON (${(error as Error).message.replace(/\s+/g, ' ')})`);
    }
    const shape = 'must hold a list of layer specs, or { "layers": [...] }';
    if (Array.isArray(json)) return { layers: json as Architecture['layers'] };
    if (typeof json !== 'object' || json === null) return fail(shape);
    refuseUnknownKeys(`--layers ${value.trim()}`, json, ['layers', 'weightInit', 'weightDecay']);
    const { layers, weightInit, weightDecay } = json as Record<string, unknown>;
    if (!Array.isArray(layers)) return fail(shape);
    const std = weightInit as number;
    if (
      !(weightInit === undefined || weightInit === 'he' || weightInit === 'xavier') &&
      !(typeof std === 'number' && std > 0 && Number.isFinite(std))
    ) {
      fail(
        `weightInit must be 'he', 'xavier' or a positive standard deviation, got ${JSON.stringify(weightInit)}`,
      );
    }
    if (
      weightDecay !== undefined &&
      !(typeof weightDecay === 'number' && weightDecay >= 0 && Number.isFinite(weightDecay))
    ) {
      fail(`weightDecay must be a number >= 0 (λ of ½·λ·ΣW²), got ${JSON.stringify(weightDecay)}`);
    }
    return {
      layers: layers as Architecture['layers'],
      weightInit: weightInit as WeightInit | undefined,
      weightDecay: weightDecay as number | undefined,
    };
  }
  try {
    return { layers: parseLayers(value) };
  } catch (error) {
    if (error instanceof UsageError) throw new UsageError(`--layers: ${error.message}`);
    throw error;
  }
}

/** `--hidden 50` or `--hidden 100,100,100`; undefined when not given. */
function hiddenSizes(value: string | boolean | undefined): number[] | undefined {
  if (value === undefined) return undefined;
  const parts = typeof value === 'string' ? value.split(',') : [];
  if (parts.length === 0 || !parts.every((p) => /^\s*\d+\s*$/.test(p) && Number(p) >= 1)) {
    throw new UsageError(
      `--hidden must be whole numbers >= 1, separated by commas (50, or 100,100), got '${String(value)}'`,
    );
  }
  return parts.map(Number);
}

function weightInitFlag(value: string | boolean | undefined): WeightInit | undefined {
  if (value === undefined || value === 'he' || value === 'xavier') return value;
  const std = Number(value);
  if (typeof value !== 'string' || value.trim() === '' || !Number.isFinite(std) || std <= 0) {
    throw new UsageError(
      `--weight-init must be he, xavier or a positive standard deviation (0.01), got '${String(value)}'`,
    );
  }
  return std;
}

function ratioFlag(flag: string, value: string | boolean | undefined): number {
  const ratio = Number(value);
  if (typeof value !== 'string' || value.trim() === '' || !(ratio >= 0 && ratio < 1)) {
    throw new UsageError(
      `--${flag} must be a ratio in [0, 1), the share dropped (0.5), got '${String(value)}'`,
    );
  }
  return ratio;
}
