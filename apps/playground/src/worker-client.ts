/**
 * The page's side of the worker (worker.ts): one worker for the page, and whoever wants
 * its messages listens. Predictions are requests answered by id.
 */
import type { FromWorker, ToWorker } from './protocol.js';

const worker = new Worker(new URL('./worker.ts', import.meta.url), { type: 'module' });
const listeners = new Set<(message: FromWorker) => void>();
const pending = new Map<number, (answer: { probs: number[] | null; network: string }) => void>();
let nextId = 0;

worker.onmessage = (event: MessageEvent<FromWorker>) => {
  const message = event.data;
  if (message.type === 'prediction') {
    pending.get(message.id)?.({ probs: message.probs, network: message.network });
    pending.delete(message.id);
    return;
  }
  for (const listener of listeners) listener(message);
};

export function send(message: ToWorker): void {
  worker.postMessage(message);
}

/** Calls `listener` with every message but predictions; returns the way to stop listening. */
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
): Promise<{ probs: number[] | null; network: string }> {
  const id = nextId++;
  return new Promise((resolve) => {
    pending.set(id, resolve);
    worker.postMessage({ type: 'predict', id, pixels, base: PAGE } satisfies ToWorker);
  });
}
