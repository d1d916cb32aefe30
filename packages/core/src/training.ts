/**
 * Section 5.7.4 — the training loop: mini-batches drawn with replacement, gradient by
 * backprop, SGD, and train/test accuracy once an epoch. Shared by the CLI, the bench
 * and the playground so that all three run exactly the same procedure.
 */
import type { Backend, Labels } from './backend.js';
import { UsageError } from './errors.js';
import type { Network } from './network.js';
import { type Optimizer, SGD } from './optimizer.js';
import type { Random } from './random.js';
import type { Tensor } from './tensor.js';

/** Samples on the backend: images [count, features] and labels [count] or [count, classes]. */
export interface Dataset {
  images: Tensor;
  labels: Labels;
}

export interface TrainConfig {
  /** Iterations (default 10 000, the book's). */
  iters?: number;
  /** Samples a mini-batch, drawn with replacement (default 100). */
  batchSize?: number;
  /** How the weights move (default: SGD with the book's learning rate 0.1). */
  optimizer?: Optimizer;
  /** Draws the mini-batches (default: the generator the network's weights came from, so one seed fixes the run). */
  random?: Random;
  /** Accuracy is measured when iter % iterPerEpoch === 0; default max(trainSize / batchSize, 1). */
  iterPerEpoch?: number;
  /** Samples per forward pass when measuring accuracy (bounds memory). */
  evalChunkSize?: number;
}

export interface EpochRecord {
  /** The 0-based iteration after whose update accuracy was measured. */
  iter: number;
  epoch: number;
  trainAccuracy: number;
  testAccuracy: number;
}

export interface TrainResult {
  /** Iterations actually run (fewer than asked when stopped). */
  completedIters: number;
  interrupted: boolean;
  /** The mini-batch loss of each iteration, measured on the forward pass of its gradient. */
  loss: number[];
  epochs: EpochRecord[];
  /** Accuracy after the last completed iteration. */
  final: { trainAccuracy: number; testAccuracy: number };
  timing: { msPerIter: number; trainSeconds: number; evalSeconds: number };
}

export interface TrainHooks {
  onIteration?(iter: number, loss: number): void;
  onEpoch?(record: EpochRecord): void;
  /** Stops the loop after the iteration in progress; the result covers what ran. */
  signal?: AbortSignal;
}

/** Trains `net` on `train`, measuring accuracy on both sets once an epoch (the book's 5.7.4 loop). */
export async function trainNetwork(
  net: Network,
  train: Dataset,
  test: Dataset,
  config: TrainConfig = {},
  hooks: TrainHooks = {},
): Promise<TrainResult> {
  const { backend } = net;
  const trainSize = train.images.shape[0];
  const { iters = 10_000, batchSize = 100, random = net.random } = config;
  if (!Number.isInteger(iters) || iters < 1) {
    throw new UsageError(`iters must be a whole number >= 1, got ${iters}`);
  }
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > trainSize) {
    throw new UsageError(`batch size must be a whole number in 1…${trainSize}, got ${batchSize}`);
  }
  const iterPerEpoch = config.iterPerEpoch ?? Math.max(Math.floor(trainSize / batchSize), 1);
  const optimizer = config.optimizer ?? new SGD(backend, 0.1);

  const loss: number[] = [];
  const epochs: EpochRecord[] = [];
  let evalMs = 0;
  const evaluate = async () => {
    const start = performance.now();
    const trainAccuracy = await datasetAccuracy(net, train, config.evalChunkSize);
    const testAccuracy = await datasetAccuracy(net, test, config.evalChunkSize);
    evalMs += performance.now() - start;
    return { trainAccuracy, testAccuracy };
  };

  const started = performance.now();
  let lastYield = started;
  let completedIters = 0;
  let final: TrainResult['final'] | null = null;
  for (let i = 0; i < iters; i++) {
    if (hooks.signal?.aborted) break;
    const batchMask = random.choice(trainSize, batchSize);
    const lossValue = await trainingStep(net, optimizer, train, batchMask);

    loss.push(lossValue);
    completedIters = i + 1;
    hooks.onIteration?.(i, lossValue);

    if (i % iterPerEpoch === 0) {
      const accuracy = await evaluate();
      const record = { iter: i, epoch: i / iterPerEpoch, ...accuracy };
      epochs.push(record);
      hooks.onEpoch?.(record);
      if (i === iters - 1) final = accuracy;
    }
    // Let timers, signals (Ctrl-C) and a page's events through every ~50 ms.
    if (performance.now() - lastYield > 50) {
      await yieldToEventLoop();
      lastYield = performance.now();
    }
  }
  final ??= await evaluate();
  const totalMs = performance.now() - started;
  const trainMs = totalMs - evalMs;
  return {
    completedIters,
    interrupted: completedIters < iters,
    loss,
    epochs,
    final,
    timing: {
      msPerIter: completedIters > 0 ? trainMs / completedIters : 0,
      trainSeconds: trainMs / 1000,
      evalSeconds: evalMs / 1000,
    },
  };
}

/**
 * One iteration: gather the mini-batch, backprop, SGD. Returns the batch's loss as the
 * gradient's forward pass saw it (the book runs one more forward pass after the update
 * to record it; this one costs nothing extra), the only value read back.
 */
export async function trainingStep(
  net: Network,
  optimizer: Optimizer,
  train: Dataset,
  batchMask: ArrayLike<number>,
): Promise<number> {
  const { backend } = net;
  const xBatch = backend.gatherRows(train.images, batchMask);
  const tBatch = backend.gatherRows(train.labels, batchMask);
  const grads = net.gradient(xBatch, tBatch);
  const loss = (await backend.read(net.lastLoss as Tensor))[0];
  optimizer.update(net.params, grads);
  backend.dispose(xBatch);
  backend.dispose(tBatch);
  return loss;
}

/** Accuracy over a whole dataset, a chunk of rows at a time. */
export async function datasetAccuracy(
  net: Network,
  data: Dataset,
  chunkSize = 10_000,
): Promise<number> {
  const { backend } = net;
  const count = data.images.shape[0];
  const chunk = Math.min(chunkSize, backend.maxRows ?? chunkSize);
  let correct = 0;
  for (let start = 0; start < count; start += chunk) {
    const rows = Array.from({ length: Math.min(chunk, count - start) }, (_, i) => start + i);
    const x = backend.gatherRows(data.images, rows);
    const t = backend.gatherRows(data.labels, rows);
    correct += (await net.accuracy(x, t)) * rows.length;
    backend.dispose(x);
    backend.dispose(t);
  }
  return correct / count;
}

export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) =>
    typeof setImmediate === 'function' ? setImmediate(resolve) : setTimeout(resolve, 0),
  );
}

/** Uploads host arrays as a dataset on `backend`. */
export function toDataset(
  backend: Backend,
  images: ArrayLike<number>,
  labels: ArrayLike<number>,
  features: number,
): Dataset {
  const count = labels.length;
  return {
    images: backend.tensor(images, [count, features]),
    labels: backend.tensor(labels, [count]),
  };
}
