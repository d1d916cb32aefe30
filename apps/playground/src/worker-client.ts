/**
 * The page's side of the worker (worker.ts): one worker for the page, and whoever wants
 * its messages listens. Predictions are requests answered by id.
 */
import type { ConvolutionView, FromWorker, NetworkChoice, ToWorker } from './protocol.js';

const worker = new Worker(new URL('./worker.ts', import.meta.url), { type: 'module' });
const listeners = new Set<(message: FromWorker) => void>();
const pending = new Map<number, (answer: { probs: number[] | null; network: string }) => void>();
const views = new Map<number, (view: ConvolutionView | null) => void>();
let nextId = 0;

worker.onmessage = (event: MessageEvent<FromWorker>) => {
  const message = event.data;
  if (message.type === 'prediction') {
    pending.get(message.id)?.({ probs: message.probs, network: message.network });
    pending.delete(message.id);
    return;
  }
  if (message.type === 'convolution') {
    views.get(message.id)?.(message.view);
    views.delete(message.id);
    return;
  }
  for (const listener of listeners) listener(message);
};

export function send(message: ToWorker): void {
  worker.postMessage(message);
}

/** Calls `listener` with every message but answers to requests; returns the way to stop listening. */
export function listen(listener: (message: FromWorker) => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** The page's address, which the worker needs to fetch what is served beside it. */
export const PAGE = document.baseURI;

/**
 * The ten probabilities of the network trained last in the page, or before any run of the
 * pre-trained one (null if neither could be loaded), and which network answered.
 */
export function predict(
  pixels: Float32Array,
  use: NetworkChoice = 'auto',
): Promise<{ probs: number[] | null; network: string }> {
  const id = nextId++;
  return new Promise((resolve) => {
    pending.set(id, resolve);
    worker.postMessage({ type: 'predict', id, pixels, base: PAGE, use } satisfies ToWorker);
  });
}

/** The pre-trained SimpleConvNet's filters and its feature maps of `pixels` (null: none). */
export function convolve(pixels: Float32Array | null): Promise<ConvolutionView | null> {
  const id = nextId++;
  return new Promise((resolve) => {
    views.set(id, resolve);
    worker.postMessage({ type: 'convolution', id, pixels, base: PAGE } satisfies ToWorker);
  });
}
