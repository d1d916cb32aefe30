import { join } from 'node:path';
import { renderCharts } from '@backprop/charts';
import {
  type Accuracy,
  createOptimizer,
  DataError,
  DEFAULT_LEARNING_RATES,
  describeArchitecture,
  type EpochRecord,
  MAX_SEED,
  type ModelFile,
  modelFileOf,
  modelToBinary,
  modelToJSON,
  Network,
  OPTIMIZER_NAMES,
  Random,
  TrainingDivergedError,
  type TrainResult,
  trainNetwork,
  UsageError,
} from '@backprop/core';
import {
  type FlagSpec,
  oneOf,
  parseFlags,
  pathFlag,
  positiveNumber,
  userPath,
  wholeNumber,
} from '../args.js';
import { BACKEND_LIST, backendFromFlags } from '../backends.js';
import { classesOf, readData, uploadData } from '../data.js';
import { prepareOutDir, removeIfEmpty, writeFilesAtomically } from '../files.js';
import {
  architectureFromFlags,
  importLayerModules,
  layerModuleFlag,
  layerModuleHelp,
  networkFlags,
  networkHelp,
} from '../network-flags.js';
import { TrainProgress } from '../progress.js';

export const trainHelp = `backprop train — train the book's TwoLayerNet on MNIST (section 5.7.4), or any network of its layers

Options (defaults are the book's):
  --backend NAME       ${BACKEND_LIST} (default cpu)
  --dtype TYPE         float64 or float32 (default: the backend's first)
  --threads N          wasm: threads for the matrix products (default: every core)
  --iters N            iterations (default 10000)
  --batch-size N       mini-batch size, drawn with replacement (default 100)
  --shuffle            draw batches as PyTorch's DataLoader(shuffle=True) does: each
                       epoch a new permutation, every image once (default: the book's
                       np.random.choice, with replacement)
  --optimizer NAME     ${OPTIMIZER_NAMES.join(', ')} (default sgd, adam for deep-convnet; section 6.1)
  --lr X               learning rate (default: sgd 0.1, momentum 0.01, adagrad 0.01, adam 0.001)
${networkHelp}
${layerModuleHelp}
  --seed N             seed for the weights and the mini-batches (default 0)
  --eval-every N       measure accuracy every N iterations (default: an epoch, 600);
                       0: only after the last
  --eval-on SETS       both (default) or test: the test set alone, in half the time
  --eval-samples N     measure on the first N images of each set (default: all)
  --no-eval-at-start   skip the book's measurement after the first iteration
  --eval-on-stop       after a stop, always measure the stopped weights (default:
                       only when a measurement takes under two seconds)
  --model-format F   json (default: one self-contained model.json) or binary (model.json
                     as a header and the values in model.weights.bin, a fifth the size)
  --out DIR          where to write metrics.json, curves.svg, model.json
                     (default runs/<time>-<backend>-<dtype>)
  --data-dir DIR     your own IDX files (same format and names as MNIST)
Ctrl-C or SIGTERM stops within an iteration and still writes the three files (exit 130
or 143); a second one writes what there is and quits at once. A run whose loss stops
being a number is stopped, says so in metrics.json, writes no model.json and exits 1.`;

const flags: FlagSpec = {
  'eval-every': { type: 'string' },
  'eval-on': { type: 'string' },
  'eval-samples': { type: 'string' },
  'no-eval-at-start': { type: 'boolean' },
  'eval-on-stop': { type: 'boolean' },
  backend: { type: 'string' },
  dtype: { type: 'string' },
  threads: { type: 'string' },
  'model-format': { type: 'string' },
  iters: { type: 'string' },
  'batch-size': { type: 'string' },
  shuffle: { type: 'boolean' },
  optimizer: { type: 'string' },
  lr: { type: 'string' },
  ...networkFlags,
  ...layerModuleFlag,
  seed: { type: 'string' },
  out: { type: 'string' },
  'data-dir': { type: 'string' },
};

export async function train(argv: string[]): Promise<number> {
  const values = parseFlags('train', argv, flags);
  if (values.help) {
    console.log(trainHelp);
    return 0;
  }
  // Every flag is checked before anything is read, made or started.
  const iters = wholeNumber('iters', values.iters, 10_000);
  // DeepConvNet as the book trains it (ch08/train_deepnet.py: Adam, lr 0.001)
  const optimizerName = oneOf(
    'optimizer',
    values.optimizer,
    OPTIMIZER_NAMES,
    values.net === 'deep-convnet' ? 'adam' : 'sgd',
  );
  const learningRate = positiveNumber('lr', values.lr, DEFAULT_LEARNING_RATES[optimizerName]);
  const seed = wholeNumber('seed', values.seed, 0, 0, {
    value: MAX_SEED,
    what: 'seeds are 32-bit',
  });
  const evalOn = oneOf('eval-on', values['eval-on'], ['both', 'test'] as const, 'both');
  const evalAtStart = !values['no-eval-at-start'];
  const shuffle = values.shuffle === true;
  const evalOnStop = values['eval-on-stop'] ? 'always' : 'if-cheap';
  const outFlag = pathFlag('out', values.out);
  const modelFormat = oneOf(
    'model-format',
    values['model-format'],
    ['json', 'binary'] as const,
    'json',
  );
  const dataDir = pathFlag('data-dir', values['data-dir']);
  await importLayerModules(values['layer-module']);

  const mnist = readData(dataDir);
  const classes = classesOf(mnist.train.labels, mnist.test.labels);
  const architecture = architectureFromFlags(values, {
    rows: mnist.train.rows,
    cols: mnist.train.cols,
    classes,
  });
  const trainCount = mnist.train.count;
  const batchSize = wholeNumber('batch-size', values['batch-size'], 100, 1, {
    value: trainCount,
    what: 'the number of training images',
  });
  const epochIters = Math.max(Math.floor(trainCount / batchSize), 1);
  const evalEvery = wholeNumber('eval-every', values['eval-every'], epochIters, 0);
  const largestSet = Math.max(trainCount, mnist.test.count);
  const evalSamples =
    values['eval-samples'] === undefined
      ? undefined
      : wholeNumber('eval-samples', values['eval-samples'], largestSet, 1, {
          value: largestSet,
          what: 'the images in the larger set',
        });

  const backend = await backendFromFlags(values);
  const stamp = new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19);
  const out = prepareOutDir(
    outFlag ?? userPath(join('runs', `${stamp}-${backend.name}-${backend.dtype}`)),
  );
  let net: Network;
  let data: ReturnType<typeof uploadData>;
  const random = new Random(seed);
  try {
    data = uploadData(backend, mnist);
    net = new Network(backend, architecture, { random });
    if (net.outputSize !== classes) {
      const outputs = net.outputSize;
      net.dispose();
      throw new UsageError(
        `--layers: the last layer gives ${outputs} score${outputs === 1 ? '' : 's'} a sample, but the labels name ${classes} classes (0…${classes - 1}): end the list with affine ${classes}`,
      );
    }
  } catch (error) {
    if (out.created) removeIfEmpty(out.dir);
    throw error;
  }
  const optimizer = createOptimizer(backend, optimizerName, learningRate);
  console.log(`backend: ${backend.description}`);
  console.log(`data: ${trainCount} train / ${mnist.test.count} test images from ${mnist.dataDir}`);
  console.log(
    `${net.architecture.name ?? 'network'}: ${describeArchitecture(net.architecture)} (weights ${net.architecture.weightInit}${net.architecture.weightDecay ? `, weight decay ${net.architecture.weightDecay}` : ''}), ` +
      `${optimizerName} lr ${learningRate}, iters ${iters}, batch ${batchSize}${shuffle ? ' shuffled' : ''}, seed ${seed}`,
  );

  // What a run writes, from whatever state it is in: the normal end, a stop, a second signal.
  const run = {
    settings: {
      backend: backend.name,
      description: backend.description,
      dtype: backend.dtype,
      iters,
      batchSize,
      shuffle,
      optimizer: optimizerName,
      learningRate,
      architecture: net.architecture,
      seed,
      evaluation: {
        every: evalEvery,
        on: evalOn,
        atStart: evalAtStart,
        samples: evalSamples ?? null,
      },
      dataDir: mnist.dataDir,
    },
    loss: [] as number[],
    epochs: [] as EpochRecord[],
    saved: false,
  };
  const metricsOf = (result: Partial<TrainResult>, status: Record<string, unknown>) => ({
    ...run.settings,
    ...status,
    completedIters: result.completedIters ?? run.loss.length,
    epochs: result.epochs ?? run.epochs,
    final: result.final ?? null,
    loss: result.loss ?? run.loss,
    timing: result.timing ?? null,
    node: process.version,
    finishedAt: new Date().toISOString(),
  });
  const trainedWith = (result: Partial<TrainResult>) => ({
    backend: backend.name,
    dtype: backend.dtype,
    optimizer: optimizerName,
    learningRate,
    iters: result.completedIters ?? run.loss.length,
    seed,
    final: result.final ?? null,
  });

  // The first SIGINT or SIGTERM stops the loop (within an iteration or an evaluation
  // chunk) and the files are written as for a finished run; a second one writes what
  // there is, synchronously, and leaves at once.
  const stop = new AbortController();
  let stoppedBy: NodeJS.Signals | null = null;
  const onSignal = (signal: NodeJS.Signals) => {
    const code = signal === 'SIGTERM' ? 143 : 130;
    if (stoppedBy) {
      if (!run.saved && backend.canReadSync) {
        const params = Object.fromEntries(
          [...Object.entries(net.params), ...Object.entries(net.state)].map(([name, t]) => [
            name,
            backend.readSync(t),
          ]),
        );
        const finite = Object.values(params).every((v) => v.every(Number.isFinite));
        const files: Record<string, string | Uint8Array> = {
          'metrics.json': `${JSON.stringify(metricsOf({}, { status: 'interrupted', interrupted: true, stoppedBy: signal }), null, 2)}\n`,
          ...(finite ? modelFiles(modelFileOf(net, params, trainedWith({})), modelFormat) : {}),
        };
        const where = writeFilesAtomically(out.dir, files);
        process.stderr.write(
          `\nquit at once; wrote ${Object.keys(files).join(', ')} to ${where}\n`,
        );
      }
      process.exit(code);
    }
    stoppedBy = signal;
    stop.abort();
    process.stderr.write(
      `\n${signal}: stopping; writing the results (${signal === 'SIGINT' ? 'Ctrl-C' : 'the signal'} again to quit at once)\n`,
    );
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const progress = new TrainProgress(iters);
  progress.epochHeader();
  let result: TrainResult;
  try {
    result = await trainNetwork(
      net,
      data.train,
      data.test,
      {
        iters,
        batchSize,
        shuffle,
        optimizer,
        random,
        iterPerEpoch: evalEvery,
        evalAtStart,
        evalOn,
        evalSamples,
        evalOnStop,
      },
      {
        onIteration: (i, loss, trainSeconds) => {
          run.loss.push(loss);
          progress.iteration(i, loss, trainSeconds);
        },
        onEpoch: (record) => {
          run.epochs.push(record);
          progress.epoch(record);
        },
        signal: stop.signal,
      },
    );
  } catch (error) {
    progress.finish();
    if (!(error instanceof TrainingDivergedError)) {
      if (out.created) removeIfEmpty(out.dir);
      throw error;
    }
    // No model.json: weights that are not numbers cannot be loaded, nor used.
    const metrics = metricsOf(error.result, {
      status: 'diverged',
      interrupted: false,
      diverged: { iter: error.iter, message: error.message },
    });
    const where = writeFilesAtomically(out.dir, {
      'metrics.json': `${JSON.stringify(metrics, null, 2)}\n`,
      'curves.svg': curves(error.result, iters),
    });
    run.saved = true;
    throw new DataError(join(where, 'metrics.json'), `${error.message} (no model.json written)`);
  } finally {
    progress.finish();
  }

  const status = result.interrupted
    ? { status: 'interrupted', interrupted: true, stoppedBy }
    : { status: 'completed', interrupted: false, stoppedBy: null };
  const model = await modelToJSON(net, trainedWith(result));
  const files = {
    'metrics.json': `${JSON.stringify(metricsOf(result, status), null, 2)}\n`,
    'curves.svg': curves(result, iters),
    ...modelFiles(model, modelFormat),
  };
  const where = writeFilesAtomically(out.dir, files);
  run.saved = true; // a signal from here on only ends the process: the files are written

  const accuracy = (a: Accuracy | null) =>
    a === null
      ? 'the stopped weights were not measured (that takes a while: backprop evaluate --model does it)'
      : `${a.trainAccuracy === null ? '' : `train accuracy ${a.trainAccuracy.toFixed(4)}, `}test accuracy ${a.testAccuracy.toFixed(4)}`;
  console.log(
    `${result.interrupted ? `stopped after ${result.completedIters} of ${iters} iterations` : 'done'}: ` +
      `${accuracy(result.final)}, ${result.timing.msPerIter.toFixed(2)} ms/iter (+${result.timing.evalSeconds.toFixed(1)} s evaluating)`,
  );
  console.log(`wrote ${join(where, 'metrics.json')}, ${Object.keys(files).slice(1).join(', ')}`);
  if (stoppedBy) return stoppedBy === 'SIGTERM' ? 143 : 130;
  // saved, but not where asked: a script must not believe its files are in --out
  return where === out.dir ? 0 : 1;
}

/**
 * The model's files: model.json whole, or (binary) model.json as a small header and the
 * values in model.weights.bin — a fifth of the size in float32.
 */
function modelFiles(
  model: ModelFile,
  format: 'json' | 'binary',
): Record<string, string | Uint8Array> {
  if (format === 'json') return { 'model.json': JSON.stringify(model) };
  const { header, weights } = modelToBinary(model, 'model.weights.bin');
  return { 'model.json': JSON.stringify(header), 'model.weights.bin': weights };
}

/** The book's figures: the loss over iterations, and train/test accuracy over epochs. */
function curves(result: TrainResult, iters: number): string {
  // At most ~1000 points keeps the file small and the line readable.
  const step = Math.max(1, Math.floor(result.loss.length / 1000));
  const lossPoints: [number, number][] = [];
  for (let i = 0; i < result.loss.length; i += step) {
    if (Number.isFinite(result.loss[i])) lossPoints.push([i, result.loss[i]]); // a diverged run ends in NaN
  }
  const suffix = result.interrupted ? ` (stopped at ${result.completedIters}/${iters})` : '';
  return renderCharts([
    {
      title: `Training loss${suffix}`,
      xLabel: 'iteration',
      yLabel: 'loss (mini-batch cross-entropy)',
      yRange: [0, Math.max(...lossPoints.map((p) => p[1]), 1e-9)],
      series: [{ label: 'loss', points: lossPoints, color: '#1f77b4' }],
    },
    {
      title: 'Accuracy',
      xLabel: 'epoch',
      yLabel: 'accuracy',
      yRange: [0, 1],
      legendAt: 'bottom',
      series: [
        {
          label: 'train',
          points: result.epochs.flatMap((e): [number, number][] =>
            e.trainAccuracy === null ? [] : [[e.epoch, e.trainAccuracy]],
          ),
          color: '#1f77b4',
        },
        {
          label: 'test',
          points: result.epochs.map((e) => [e.epoch, e.testAccuracy]),
          color: '#ff7f0e',
          dashed: true,
        },
      ],
    },
  ]);
}
