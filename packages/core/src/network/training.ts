/**
 * Section 5.7.4 — the training loop: mini-batches drawn with replacement (or an epoch
 * of shuffled samples, as PyTorch users know it), gradient by
 * backprop, an optimizer step, and train/test accuracy once an epoch. Shared by the CLI,
 * the bench and the playground so that all three run exactly the same procedure.
 *
 * It never holds its host for long: it gives the event loop (a page, a Node process's
 * signals and timers) a turn at least every ~50 ms of training and between evaluation
 * chunks, which are sized to take about that long; and it stops within one iteration, or
 * one evaluation chunk, of being asked.
 */

import type { Backend, Labels } from '../engine/backend.js';
import { BackpropError, UsageError } from '../engine/errors.js';
import type { Tensor } from '../engine/tensor.js';
import { refuseUnknownKeys } from './architecture.js';
import type { Network } from './network.js';
import { type Optimizer, SGD } from './optimizer.js';
import type { Random } from './random.js';

/** Samples on the backend: images [count, features] and labels [count] or [count, classes]. */
export interface Dataset {
  images: Tensor;
  labels: Labels;
}

/** What asks a loop to stop: an AbortSignal, or anything with the same `aborted`. */
export interface StopSignal {
  readonly aborted: boolean;
}

export interface TrainConfig {
  /** Iterations (default 10 000, the book's). */
  iters?: number;
  /**
   * Or how many epochs: `epochs` × the iterations of an epoch (trainSize / batchSize, at
   * least 1), as TensorFlow.js's `fit` and Keras count a run. Give one of the two.
   */
  epochs?: number;
  /** Samples a mini-batch (default 100). */
  batchSize?: number;
  /**
   * How mini-batches are drawn. false (default, the book's `np.random.choice`): each
   * batch independently, with replacement, so an "epoch" sees about 63% of the samples.
   * true (PyTorch's `DataLoader(shuffle=True)`, Keras's `fit`): each epoch walks a fresh
   * permutation of the training set in batches, every sample once; the last partial
   * batch is dropped (`drop_last`), so every batch has batchSize samples.
   */
  shuffle?: boolean;
  /** How the weights move (default: SGD with the book's learning rate 0.1). */
  optimizer?: Optimizer;
  /** Draws the mini-batches (default: the generator the network's weights came from, so one seed fixes the run). */
  random?: Random;
  /** Accuracy is measured when iter % iterPerEpoch === 0 (default: one epoch, trainSize / batchSize); 0: only after the last. */
  iterPerEpoch?: number;
  /** Measure accuracy after the first iteration too (iteration 0), as the book does (default true). */
  evalAtStart?: boolean;
  /** Measure on both sets (the book) or on the test set alone, in half the time (default 'both'). */
  evalOn?: 'both' | 'test';
  /** Measure on the first N samples of each set instead of all of them. */
  evalSamples?: number;
  /**
   * Rows per forward pass when measuring accuracy, fixed. Unless given, the loop sizes
   * them by time: the first chunk is FIRST_EVAL_CHUNK rows, and each next one as many
   * (a power of two, at most 8192, and few enough that the network's largest tensor fits
   * the backend's maxValues) as the last took to fill about EVAL_CHUNK_MS, so the host
   * gets a turn soon on any machine and any network.
   */
  evalChunkSize?: number;
  /**
   * After a stop, measure the stopped weights: 'always', 'never', or 'if-cheap' (default):
   * when the last measurement took under two seconds.
   */
  evalOnStop?: 'always' | 'never' | 'if-cheap';
}

export interface Accuracy {
  /** null when only the test set is measured (`evalOn: 'test'`). */
  trainAccuracy: number | null;
  testAccuracy: number;
}

export interface EpochRecord extends Accuracy {
  /** The 0-based iteration after whose update accuracy was measured. */
  iter: number;
  /** iter / iterPerEpoch. */
  epoch: number;
}

export interface TrainResult {
  /** Iterations actually run (fewer than asked when stopped). */
  completedIters: number;
  /** Whether a stop signal ended the run early. */
  interrupted: boolean;
  /** The mini-batch loss of each iteration, measured on the forward pass of its gradient. */
  loss: number[];
  epochs: EpochRecord[];
  /** Accuracy of the weights after the last completed iteration; null where a stopped run did not measure it (see evalOnStop). */
  final: Accuracy | null;
  timing: {
    /** Training time a completed iteration, evaluation excluded. */
    msPerIter: number;
    trainSeconds: number;
    evalSeconds: number;
    /**
     * How long the last whole measurement took (null: none was made). A stopped run
     * measures its weights where this is under two seconds (evalOnStop 'if-cheap').
     */
    lastEvalSeconds: number | null;
  };
}

export interface TrainHooks {
  /** After each iteration, with the seconds spent training so far (evaluation excluded). */
  onIteration?(iter: number, loss: number, trainSeconds: number): void;
  onEpoch?(record: EpochRecord): void;
  /** Stops the loop within one iteration or evaluation chunk; the result covers what ran. */
  signal?: StopSignal;
}

/**
 * A run that went to a loss (or weights) that are not finite numbers: stopping is the only
 * honest answer. `result` holds what ran, up to and including that iteration.
 */
export class TrainingDivergedError extends BackpropError {
  override name = 'TrainingDivergedError';
  constructor(
    readonly iter: number,
    readonly result: TrainResult,
    what: string,
  ) {
    super(
      `training diverged at iteration ${iter}: ${what}; the learning rate is likely too high (try a tenth of it)`,
    );
  }
}

/**
 * The training settings checked, with the book's defaults filled in: what `trainNetwork`
 * checks before it starts, for a caller (a page's worker) that must know before it lets
 * the previous network go. A bad setting is a UsageError naming it.
 */
export function checkTrainConfig(
  config: Pick<
    TrainConfig,
    'iters' | 'epochs' | 'batchSize' | 'shuffle' | 'iterPerEpoch' | 'evalSamples' | 'evalChunkSize'
  >,
  trainSize: number,
): { iters: number; batchSize: number; iterPerEpoch: number } {
  const { batchSize = 100, epochs } = config;
  if (config.shuffle !== undefined && typeof config.shuffle !== 'boolean') {
    throw new UsageError(`shuffle must be true or false, got ${String(config.shuffle)}`);
  }
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > trainSize) {
    throw new UsageError(`batch size must be a whole number in 1…${trainSize}, got ${batchSize}`);
  }
  if (epochs !== undefined && config.iters !== undefined) {
    throw new UsageError(
      `give iters or epochs, not both (iters ${config.iters}, epochs ${epochs}); an epoch is ${Math.max(Math.floor(trainSize / batchSize), 1)} iterations here`,
    );
  }
  if (epochs !== undefined && (!Number.isInteger(epochs) || epochs < 1)) {
    throw new UsageError(`epochs must be a whole number >= 1, got ${epochs}`);
  }
  const iters =
    epochs !== undefined
      ? epochs * Math.max(Math.floor(trainSize / batchSize), 1)
      : (config.iters ?? 10_000);
  if (!Number.isInteger(iters) || iters < 1) {
    throw new UsageError(`iters must be a whole number >= 1, got ${iters}`);
  }
  const iterPerEpoch = config.iterPerEpoch ?? Math.max(Math.floor(trainSize / batchSize), 1);
  if (!Number.isInteger(iterPerEpoch) || iterPerEpoch < 0) {
    throw new UsageError(`iterPerEpoch must be a whole number >= 0, got ${iterPerEpoch}`);
  }
  for (const name of ['evalSamples', 'evalChunkSize'] as const) {
    const value = config[name];
    if (value !== undefined && (!Number.isInteger(value) || value < 1)) {
      throw new UsageError(`${name} must be a whole number >= 1, got ${value}`);
    }
  }
  return { iters, batchSize, iterPerEpoch };
}

/**
 * The mini-batches' sample indices, one batch a call: drawn with replacement (the book),
 * or consecutive slices of a permutation made anew each epoch (`shuffle`).
 */
function batchSampler(
  random: Random,
  trainSize: number,
  batchSize: number,
  shuffle: boolean,
): () => Int32Array {
  if (!shuffle) return () => random.choice(trainSize, batchSize);
  let order: Int32Array = new Int32Array(0);
  let next = 0;
  return () => {
    if (next + batchSize > order.length) {
      order = random.permutation(trainSize);
      next = 0;
    }
    next += batchSize;
    return order.subarray(next - batchSize, next);
  };
}

/** A measurement this quick is made of a stopped run's weights too (evalOnStop 'if-cheap'). */
export const CHEAP_EVAL_MS = 2000;

const TRAIN_CONFIG_KEYS: readonly (keyof TrainConfig)[] = [
  'iters',
  'epochs',
  'batchSize',
  'shuffle',
  'optimizer',
  'random',
  'iterPerEpoch',
  'evalAtStart',
  'evalOn',
  'evalSamples',
  'evalChunkSize',
  'evalOnStop',
];

/** Trains `net` on `train`, measuring accuracy on both sets once an epoch (the book's 5.7.4 loop). */
export async function trainNetwork(
  net: Network,
  train: Dataset,
  test: Dataset,
  config: TrainConfig = {},
  hooks: TrainHooks = {},
): Promise<TrainResult> {
  const { backend } = net;
  refuseUnknownKeys('trainNetwork config', config, TRAIN_CONFIG_KEYS);
  refuseUnknownKeys('trainNetwork hooks', hooks, ['onIteration', 'onEpoch', 'signal']);
  const trainSize = train.images.shape[0];
  const { iters, batchSize, iterPerEpoch } = checkTrainConfig(config, trainSize);
  const { random = net.random } = config;
  const nextBatch = batchSampler(random, trainSize, batchSize, config.shuffle ?? false);
  const optimizer = config.optimizer ?? new SGD(backend, 0.1);
  const evaluation = new Evaluation(net, train, test, config, hooks.signal);

  const loss: number[] = [];
  const epochs: EpochRecord[] = [];
  let trainMs = 0;
  let completedIters = 0;
  let final: Accuracy | null = null;
  let lastYield = performance.now();
  const result = (): TrainResult => ({
    completedIters,
    interrupted: completedIters < iters,
    loss,
    epochs,
    final,
    timing: {
      msPerIter: completedIters > 0 ? trainMs / completedIters : 0,
      trainSeconds: trainMs / 1000,
      evalSeconds: evaluation.ms / 1000,
      lastEvalSeconds: Number.isFinite(evaluation.lastMs) ? evaluation.lastMs / 1000 : null,
    },
  });

  for (let i = 0; i < iters && !hooks.signal?.aborted; i++) {
    const started = performance.now();
    const batchMask = nextBatch();
    const lossValue = await trainingStep(net, optimizer, train, batchMask);
    trainMs += performance.now() - started;
    loss.push(lossValue);
    completedIters = i + 1;
    if (!Number.isFinite(lossValue)) {
      throw new TrainingDivergedError(i, result(), `the loss is ${lossValue}`);
    }
    hooks.onIteration?.(i, lossValue, trainMs / 1000);

    const due =
      iterPerEpoch > 0 && i % iterPerEpoch === 0 && (i > 0 || config.evalAtStart !== false);
    if (due || i === iters - 1) {
      const accuracy = await evaluation.run();
      if (!accuracy) break; // stopped in the middle: the partial measurement is dropped
      if (i === iters - 1) final = accuracy;
      if (due) {
        const record = { iter: i, epoch: i / iterPerEpoch, ...accuracy };
        epochs.push(record);
        hooks.onEpoch?.(record);
      }
    }
    // Let timers, signals (Ctrl-C) and a page's events through every ~50 ms.
    if (performance.now() - lastYield > 50) {
      await yieldToEventLoop();
      lastYield = performance.now();
    }
  }

  if (final === null && completedIters > 0) {
    // Stopped early: measure the stopped weights where that is cheap, or asked for.
    const when = config.evalOnStop ?? 'if-cheap';
    if (when === 'always' || (when === 'if-cheap' && evaluation.lastMs < CHEAP_EVAL_MS)) {
      final = await evaluation.run({ ignoreStop: true });
    }
  }
  // A finite loss can still leave an update's weights infinite: check before anyone saves them.
  for (const [name, values] of Object.entries(await net.readParams())) {
    const bad = values.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) {
      throw new TrainingDivergedError(
        completedIters - 1,
        result(),
        `${name}[${bad}] is ${values[bad]} after the update`,
      );
    }
  }
  return result();
}

/**
 * How long one evaluation chunk should take: the host gets a turn after each (a page's
 * input, a Node process's signals), and a stop is seen within one.
 */
export const EVAL_CHUNK_MS = 50;
/**
 * The rows of the first chunk: a task that is short on any machine and any network (a
 * phone, a CPU three times slower, a convolutional net on plain JavaScript). Later chunks
 * are sized by the time rows took, never by a row count tuned on one machine.
 */
export const FIRST_EVAL_CHUNK = 16;

/**
 * Rows a chunk, by measured time: a power of two (so a backend's buffer pool and kernel
 * cache settle on a few sizes) from FIRST_EVAL_CHUNK up. It doubles (at most to four times
 * the size it had) while the doubled chunk would still take about EVAL_CHUNK_MS, and halves
 * only when a chunk took over twice that: between the two it stays, so timing noise does
 * not flip it between sizes.
 */
class ChunkSizer {
  rows: number;
  constructor(private readonly limit: number) {
    this.rows = Math.min(FIRST_EVAL_CHUNK, limit);
  }

  /** The next chunk's rows for `remaining` rows left (a tail under the first size goes whole). */
  next(remaining: number): number {
    if (remaining < FIRST_EVAL_CHUNK) return remaining;
    return Math.min(this.rows, 2 ** Math.floor(Math.log2(remaining)));
  }

  /** Learns from a chunk of `rows` that took `ms`. */
  took(rows: number, ms: number): void {
    const fit = (EVAL_CHUNK_MS * rows) / Math.max(ms, 0.01); // rows that take EVAL_CHUNK_MS
    let next = this.rows;
    while (next * 2 <= fit && next * 2 <= this.limit && next * 2 <= this.rows * 4) next *= 2;
    while (next > 2 * fit && next > FIRST_EVAL_CHUNK) next /= 2;
    this.rows = next;
  }
}

/**
 * The most rows a chunk may have: `fixed` (evalChunkSize) or 8192 (a few MB of images),
 * and never so many that the network's largest tensor outgrows the backend's maxValues;
 * a power of two unless fixed.
 */
function chunkLimit(net: Network, fixed?: number): number {
  const { maxValues } = net.backend;
  const fits = maxValues ? Math.max(1, Math.floor(maxValues / net.largestSample)) : Infinity;
  const limit = Math.min(fixed ?? 8192, fits);
  return fixed === undefined ? 2 ** Math.floor(Math.log2(limit)) : limit;
}

/**
 * Accuracy over the evaluation sets, in chunks that take about EVAL_CHUNK_MS each (so the
 * host gets a turn between them, and a stop is seen within one), timed apart from training.
 */
class Evaluation {
  ms = 0;
  /** How long the last complete measurement took (none yet: not known to be cheap). */
  lastMs = Number.POSITIVE_INFINITY;
  /** Rows per chunk: fixed when asked for (evalChunkSize), else sized by time. */
  private readonly sizer: ChunkSizer | null;
  private readonly fixedRows: number;

  constructor(
    private readonly net: Network,
    private readonly train: Dataset,
    private readonly test: Dataset,
    private readonly config: TrainConfig,
    private readonly signal: StopSignal | undefined,
  ) {
    const { evalChunkSize } = config; // checked by checkTrainConfig
    this.fixedRows = chunkLimit(net, evalChunkSize);
    this.sizer = evalChunkSize === undefined ? new ChunkSizer(this.fixedRows) : null;
  }

  /** The accuracies, or null when a stop came first. */
  async run({ ignoreStop = false } = {}): Promise<Accuracy | null> {
    const started = performance.now();
    const signal = ignoreStop ? undefined : this.signal;
    let result: Accuracy | null = null;
    try {
      const testAccuracy = await this.accuracy(this.test, signal);
      if (testAccuracy === null) return null;
      if (this.config.evalOn === 'test') {
        result = { trainAccuracy: null, testAccuracy };
      } else {
        const trainAccuracy = await this.accuracy(this.train, signal);
        if (trainAccuracy !== null) result = { trainAccuracy, testAccuracy };
      }
      return result;
    } finally {
      const took = performance.now() - started;
      this.ms += took;
      if (result) this.lastMs = took; // a stopped measurement says nothing of a whole one
    }
  }

  private accuracy(data: Dataset, signal: StopSignal | undefined) {
    const count = Math.min(
      this.config.evalSamples ?? Number.POSITIVE_INFINITY,
      data.images.shape[0],
    );
    return chunkedAccuracy(this.net, data, count, this.sizer, this.fixedRows, signal);
  }
}

/**
 * How many of the first `count` samples the network classifies right, a chunk at a time
 * with a turn for the host after each; null when `signal` stopped it first.
 */
async function chunkedAccuracy(
  net: Network,
  data: Dataset,
  count: number,
  sizer: ChunkSizer | null,
  fixedRows: number,
  signal?: StopSignal,
): Promise<number | null> {
  let correct = 0;
  for (let start = 0; start < count; ) {
    if (signal?.aborted) return null;
    const rows = sizer ? sizer.next(count - start) : Math.min(fixedRows, count - start);
    const began = performance.now();
    correct += await countCorrectRows(net, data, start, rows);
    sizer?.took(rows, performance.now() - began);
    start += rows;
    await yieldToEventLoop();
  }
  return correct / count;
}

/**
 * One iteration: gather the mini-batch, backprop, the optimizer's step. Returns the
 * batch's loss as the gradient's forward pass saw it (the book runs one more forward pass
 * after the update to record it; this one costs nothing extra), the only value read back.
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
  try {
    const grads = net.gradient(xBatch, tBatch);
    const loss = (await backend.read(net.lastLoss as Tensor))[0];
    optimizer.update(net.params, grads);
    return loss;
  } finally {
    backend.dispose(xBatch);
    backend.dispose(tBatch);
  }
}

/** How many of `rows` samples from `start` the network classifies right. */
async function countCorrectRows(net: Network, data: Dataset, start: number, rows: number) {
  const { backend } = net;
  const indices = Array.from({ length: rows }, (_, i) => start + i);
  const x = backend.gatherRows(data.images, indices);
  const t = backend.gatherRows(data.labels, indices);
  try {
    return (await net.accuracy(x, t)) * rows;
  } finally {
    backend.dispose(x);
    backend.dispose(t);
  }
}

/**
 * Accuracy over a whole dataset, in chunks sized as training's evaluation sizes them
 * (about EVAL_CHUNK_MS each), giving the host a turn between chunks.
 */
export async function datasetAccuracy(net: Network, data: Dataset): Promise<number> {
  const limit = chunkLimit(net);
  const count = data.images.shape[0];
  return (await chunkedAccuracy(net, data, count, new ChunkSizer(limit), limit)) as number;
}

/**
 * Gives the host a turn: Node's I/O (signals) and timers, a page's input and painting. A
 * MessageChannel in browsers, where setTimeout(0) waits at least 4 ms once nested.
 */
export function yieldToEventLoop(): Promise<void> {
  if (typeof setImmediate === 'function') return new Promise((resolve) => setImmediate(resolve));
  const Channel = (globalThis as unknown as { MessageChannel?: new () => MessageChannelLike })
    .MessageChannel;
  if (Channel) {
    return new Promise((resolve) => {
      const channel = new Channel();
      channel.port1.onmessage = () => {
        channel.port1.close();
        resolve();
      };
      channel.port2.postMessage(null);
    });
  }
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/** The part of a browser's MessageChannel used above (core's types do not include the DOM). */
interface MessageChannelLike {
  port1: { onmessage: (() => void) | null; close(): void };
  port2: { postMessage(message: unknown): void };
}

/**
 * Uploads host arrays as a dataset on `backend`: `images` holds `features` values a
 * sample; `labels` one class index a sample, or one-hot rows (then its length is
 * samples × classes). If the second upload fails, the first is freed.
 */
export function toDataset(
  backend: Backend,
  images: ArrayLike<number>,
  labels: ArrayLike<number>,
  features: number,
): Dataset {
  if (!Number.isInteger(features) || features < 1 || images.length % features !== 0) {
    throw new UsageError(
      `toDataset: ${images.length} image values are not a whole number of samples of ${features} features`,
    );
  }
  const count = images.length / features;
  if (count === 0) throw new UsageError('toDataset: there are no samples');
  if (labels.length % count !== 0 || labels.length === 0) {
    throw new UsageError(
      `toDataset: ${labels.length} label values fit neither ${count} class indices (one a sample) nor one-hot rows for ${count} samples`,
    );
  }
  const classes = labels.length / count;
  const imageTensor = backend.tensor(images, [count, features]);
  try {
    return {
      images: imageTensor,
      labels: backend.tensor(labels, classes === 1 ? [count] : [count, classes]),
    };
  } catch (error) {
    backend.dispose(imageTensor);
    throw error;
  }
}
