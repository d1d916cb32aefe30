import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderCharts } from '@backprop/charts';
import {
  type Backend,
  createOptimizer,
  DEFAULT_LEARNING_RATES,
  MultiLayerNet,
  modelToJSON,
  type Network,
  OPTIMIZER_NAMES,
  Random,
  type TrainResult,
  TwoLayerNet,
  trainNetwork,
  UsageError,
} from '@backprop/core';
import {
  type FlagSpec,
  oneOf,
  parseFlags,
  positiveNumber,
  userPath,
  wholeNumber,
} from '../args.js';
import { BACKEND_LIST, backendFromFlags } from '../backends.js';
import { loadMnistOn } from '../data.js';
import { TrainProgress } from '../progress.js';

export const trainHelp = `backprop train — train the book's TwoLayerNet on MNIST (section 5.7.4), or a deeper net

Options (defaults are the book's):
  --backend NAME       ${BACKEND_LIST} (default cpu)
  --dtype TYPE         float64 or float32 (default: the backend's first)
  --iters N            iterations (default 10000)
  --batch-size N       mini-batch size, drawn with replacement (default 100)
  --optimizer NAME     ${OPTIMIZER_NAMES.join(', ')} (default sgd; section 6.1)
  --lr X               learning rate (default: sgd 0.1, momentum 0.01, adagrad 0.01, adam 0.001)
  --hidden N[,N…]      hidden units, a layer each (default 50: the book's TwoLayerNet)
  --activation NAME    relu or sigmoid (default relu)
  --weight-init INIT   he, xavier or a standard deviation (default: 0.01 for the book's
                       net, else he for relu and xavier for sigmoid; section 6.2)
  --weight-decay X     λ of the L2 penalty ½·λ·ΣW² (default 0; section 6.4.1)
  --seed N             seed for the weights and the mini-batches (default 0)
  --out DIR          where to write metrics.json, curves.svg, model.json
                     (default runs/<time>-<backend>-<dtype>)
  --data-dir DIR     your own IDX files (same format and names as MNIST)
Ctrl-C stops after the current iteration and still writes the three files.`;

const flags: FlagSpec = {
  backend: { type: 'string' },
  dtype: { type: 'string' },
  iters: { type: 'string' },
  'batch-size': { type: 'string' },
  optimizer: { type: 'string' },
  lr: { type: 'string' },
  hidden: { type: 'string' },
  activation: { type: 'string' },
  'weight-init': { type: 'string' },
  'weight-decay': { type: 'string' },
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
  const iters = wholeNumber('iters', values.iters, 10_000);
  const batchSize = wholeNumber('batch-size', values['batch-size'], 100);
  const optimizerName = oneOf('optimizer', values.optimizer, OPTIMIZER_NAMES, 'sgd');
  const learningRate = positiveNumber('lr', values.lr, DEFAULT_LEARNING_RATES[optimizerName]);
  const hidden = hiddenSizes(values.hidden);
  const activation = oneOf('activation', values.activation, ['relu', 'sigmoid'] as const, 'relu');
  const weightInit = weightInitFlag(values['weight-init']);
  const weightDecay = nonNegativeNumber('weight-decay', values['weight-decay']);
  const seed = wholeNumber('seed', values.seed, 0, 0);

  const backend = await backendFromFlags(values);
  const stamp = new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19);
  const outDir = userPath(
    typeof values.out === 'string'
      ? values.out
      : join('runs', `${stamp}-${backend.name}-${backend.dtype}`),
  );
  const {
    mnist,
    train: trainSet,
    test: testSet,
    features,
  } = loadMnistOn(backend, values['data-dir'] as string | undefined);
  mkdirSync(outDir, { recursive: true }); // fail on an unwritable --out before training, not after

  const random = new Random(seed);
  const net = makeNetwork(backend, features, hidden, activation, weightInit, weightDecay, random);
  const optimizer = createOptimizer(backend, optimizerName, learningRate);
  const { architecture } = net;
  console.log(`backend: ${backend.description}`);
  console.log(
    `data: ${mnist.train.count} train / ${mnist.test.count} test images from ${mnist.dataDir}`,
  );
  console.log(
    `${architecture.kind} ${[features, ...hidden, 10].join('-')} (${activation}, weights ${architecture.weightInit}${weightDecay ? `, weight decay ${weightDecay}` : ''}), ` +
      `${optimizerName} lr ${learningRate}, iters ${iters}, batch ${batchSize}, seed ${seed}`,
  );

  const progress = new TrainProgress(iters);
  const stop = new AbortController();
  const onSigint = () => {
    if (stop.signal.aborted) process.exit(130); // a second Ctrl-C: leave at once
    stop.abort();
    process.stderr.write(
      '\nstopping after this iteration; writing results (Ctrl-C again to quit now)\n',
    );
  };
  process.on('SIGINT', onSigint);
  progress.epochHeader();
  let result: TrainResult;
  try {
    result = await trainNetwork(
      net,
      trainSet,
      testSet,
      { iters, batchSize, optimizer, random },
      {
        onIteration: (i, loss) => progress.iteration(i, loss),
        onEpoch: (record) => progress.epoch(record),
        signal: stop.signal,
      },
    );
  } finally {
    process.off('SIGINT', onSigint);
    progress.finish();
  }

  const metrics = {
    backend: backend.name,
    description: backend.description,
    dtype: backend.dtype,
    iters,
    completedIters: result.completedIters,
    interrupted: result.interrupted,
    batchSize,
    optimizer: optimizerName,
    learningRate,
    architecture,
    seed,
    dataDir: mnist.dataDir,
    epochs: result.epochs,
    final: result.final,
    loss: result.loss,
    timing: result.timing,
    node: process.version,
    finishedAt: new Date().toISOString(),
  };
  const model = await modelToJSON(net, {
    backend: backend.name,
    dtype: backend.dtype,
    optimizer: optimizerName,
    learningRate,
    iters: result.completedIters,
    seed,
    final: result.final,
  });
  writeFileSync(join(outDir, 'metrics.json'), `${JSON.stringify(metrics, null, 2)}\n`);
  writeFileSync(join(outDir, 'curves.svg'), curves(result, iters));
  writeFileSync(join(outDir, 'model.json'), JSON.stringify(model));

  console.log(
    `${result.interrupted ? `stopped after ${result.completedIters} of ${iters} iterations` : 'done'}: ` +
      `train accuracy ${result.final.trainAccuracy.toFixed(4)}, test accuracy ${result.final.testAccuracy.toFixed(4)}, ` +
      `${result.timing.msPerIter.toFixed(2)} ms/iter (+${result.timing.evalSeconds.toFixed(1)} s evaluating)`,
  );
  console.log(`wrote ${join(outDir, 'metrics.json')}, curves.svg, model.json`);
  return result.interrupted ? 130 : 0;
}

/** `--hidden 50` or `--hidden 100,100,100`. */
function hiddenSizes(value: string | boolean | undefined): number[] {
  if (value === undefined) return [50];
  const parts = typeof value === 'string' ? value.split(',') : [];
  if (parts.length === 0 || !parts.every((p) => /^\s*\d+\s*$/.test(p) && Number(p) >= 1)) {
    throw new UsageError(
      `--hidden must be whole numbers >= 1, separated by commas (50, or 100,100), got '${String(value)}'`,
    );
  }
  return parts.map(Number);
}

function weightInitFlag(value: string | boolean | undefined): 'he' | 'xavier' | number | undefined {
  if (value === undefined || value === 'he' || value === 'xavier') return value;
  const std = Number(value);
  if (typeof value !== 'string' || value.trim() === '' || !Number.isFinite(std) || std <= 0) {
    throw new UsageError(
      `--weight-init must be he, xavier or a positive standard deviation (0.01), got '${String(value)}'`,
    );
  }
  return std;
}

function nonNegativeNumber(flag: string, value: string | boolean | undefined): number {
  if (value === undefined) return 0;
  const n = Number(value);
  if (typeof value !== 'string' || value.trim() === '' || !Number.isFinite(n) || n < 0) {
    throw new UsageError(`--${flag} must be a number >= 0, got '${String(value)}'`);
  }
  return n;
}

/** The book's TwoLayerNet for its own settings; MultiLayerNet for anything else. */
function makeNetwork(
  backend: Backend,
  inputSize: number,
  hidden: number[],
  activation: 'relu' | 'sigmoid',
  weightInit: 'he' | 'xavier' | number | undefined,
  weightDecay: number,
  random: Random,
): Network {
  const book =
    hidden.length === 1 &&
    activation === 'relu' &&
    weightDecay === 0 &&
    (weightInit === undefined || typeof weightInit === 'number');
  if (book) {
    return new TwoLayerNet(backend, {
      inputSize,
      hiddenSize: hidden[0],
      outputSize: 10,
      weightInitStd: weightInit as number | undefined,
      random,
    });
  }
  return new MultiLayerNet(backend, {
    inputSize,
    hiddenSizes: hidden,
    outputSize: 10,
    activation,
    weightInit,
    weightDecay,
    random,
  });
}

/** The book's figures: the loss over iterations, and train/test accuracy over epochs. */
function curves(result: TrainResult, iters: number): string {
  // At most ~1000 points keeps the file small and the line readable.
  const step = Math.max(1, Math.floor(result.loss.length / 1000));
  const lossPoints: [number, number][] = [];
  for (let i = 0; i < result.loss.length; i += step) lossPoints.push([i, result.loss[i]]);
  const suffix = result.interrupted ? ` (stopped at ${result.completedIters}/${iters})` : '';
  return renderCharts([
    {
      title: `Training loss${suffix}`,
      xLabel: 'iteration',
      yLabel: 'loss (mini-batch cross-entropy)',
      yRange: [0, Math.max(...result.loss, 1e-9)],
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
          points: result.epochs.map((e) => [e.epoch, e.trainAccuracy]),
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
