/**
 * What the page and its worker say to each other. Training, evaluation, prediction and
 * the conformance suite run in the worker, so the page never waits on a kernel: it sends
 * requests and draws what comes back.
 */
import type { ConformanceReport } from '@backprop/conformance';
import type { Accuracy, EpochRecord } from '@backprop/core';

export interface TrainRequest {
  type: 'train';
  /** The page's address: MNIST and TensorFlow.js's .wasm files are served beside it. */
  base: string;
  /** A menu choice: a registry name, `name:dtype` for a dtype. */
  backend: string;
  iters: number;
  batchSize: number;
  learningRate: number;
  /** Accuracy every N iterations (0: only at the end). */
  every: number;
  /** Measure on both sets, or the test set alone (half the time). */
  evalOn: 'both' | 'test';
  /** Measure on the first N images of each set (all when absent). */
  evalSamples?: number;
  /** Measure after the first iteration too, as the book does. */
  evalAtStart: boolean;
}

export type ToWorker =
  | TrainRequest
  | { type: 'stop' }
  /**
   * `base`: where the pre-trained networks are served. `use`: which network answers —
   * 'auto' is the one trained last in the page, else the pre-trained SimpleConvNet.
   */
  | { type: 'predict'; id: number; pixels: Float32Array; base: string; use: NetworkChoice }
  /** What the pre-trained SimpleConvNet's convolution makes of `pixels`, and its filters. */
  | { type: 'convolution'; id: number; pixels: Float32Array | null; base: string }
  /** `cases`: only the cases whose id starts with one of these, as the CLI's --case */
  | { type: 'conformance'; backends: string[]; base: string; cases?: string[] };

/** Which network answers a prediction. */
export type NetworkChoice = 'auto' | 'convnet' | 'mlp';

/** The pre-trained SimpleConvNet's first layer: its filters and what they find in a drawing. */
export interface ConvolutionView {
  /** Filters, each `size`×`size`, as they started (seed 0) and after training: filters·size² values. */
  before: Float32Array;
  after: Float32Array;
  filters: number;
  size: number;
  /** relu(conv(x)) of the drawing, filters × mapSize² values; null without a drawing. */
  maps: Float32Array | null;
  mapSize: number;
  /** Which run trained it, for a person. */
  network: string;
}

export type FromWorker =
  /** Loading, starting: a line for the status bar. */
  | { type: 'status'; text: string }
  | { type: 'started'; backend: string; description: string }
  /** MNIST's gzipped bytes so far and in all; `cached`: from the browser's storage, none downloaded. */
  | { type: 'download'; loaded: number; total: number; cached: boolean }
  /** Losses of iterations `from`, `from + 1`, …, sent a few times a second. */
  | { type: 'losses'; from: number; values: number[]; trainSeconds: number }
  | { type: 'epoch'; record: EpochRecord }
  /** The first test digits a run shows its predictions on, once a run (pixels 0…1, 784 a digit). */
  | { type: 'test-digits'; images: Float32Array; labels: number[] }
  /** After iteration `iter`: the first layer's weights (784 × hidden, row-major) and the digits' predictions. */
  | { type: 'insight'; iter: number; W1: Float32Array; hidden: number; predicted: number[] }
  | {
      type: 'done';
      interrupted: boolean;
      completedIters: number;
      final: Accuracy | null;
      msPerIter: number;
    }
  /** A run that could not start or failed; the previous network, if any, is still there. */
  | { type: 'error'; message: string }
  /** `network`: which one answered (the pre-trained one, or the run's backend). */
  | { type: 'prediction'; id: number; probs: number[] | null; network: string }
  /** The answer to a 'convolution' request (null where the pre-trained net did not load). */
  | { type: 'convolution'; id: number; view: ConvolutionView | null }
  | { type: 'conformance-progress'; text: string }
  | { type: 'conformance-report'; report: ConformanceReport }
  | { type: 'conformance-done'; skipped: string[] };
