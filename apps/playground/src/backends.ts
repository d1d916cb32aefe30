/** The backends the page offers (registry names, `name:dtype` for a dtype), and the MNIST files fetched once a page. */
import { wasmSimdSupported } from '@backprop/backend-wasm/probe';
import { createBackend, parseBackendChoice } from '@backprop/backends';
import type { Backend } from '@backprop/core';
import { MNIST_FILES, type Mnist, mnistFromBytes } from '@backprop/mnist/browser';

export const BROWSER_BACKENDS = [
  'wasm',
  'cpu:float32',
  'cpu:float64',
  'webgpu',
  'tfjs-webgl',
  'tfjs-webgpu',
  'tfjs-wasm',
  'gpujs-webgl2',
  'gpujs-webgpu',
] as const;

/** The choices that need WebGPU: a browser without `navigator.gpu` is told so before anything downloads. */
export const WEBGPU_CHOICES = new Set(['webgpu', 'tfjs-webgpu', 'gpujs-webgpu']);

/** Why this browser cannot run the WebGPU choices, or '' where it has WebGPU. */
export function webgpuMissing(): string {
  return 'gpu' in navigator
    ? ''
    : 'this browser has no WebGPU (navigator.gpu): Chrome and Edge 113+ have it, Firefox 141+ on Windows, Safari 26; Chromium without a GPU driver it trusts needs --enable-unsafe-webgpu';
}

/**
 * Whether this browser can run a choice, found without downloading it: '' where it can,
 * else why not. The training runs in a worker, so GL is asked of an OffscreenCanvas there.
 */
export async function probeChoice(choice: string): Promise<string> {
  const { name } = parseBackendChoice(choice);
  if (WEBGPU_CHOICES.has(choice)) {
    if (webgpuMissing()) return webgpuMissing();
    const adapter = await (
      navigator as unknown as { gpu: { requestAdapter(): Promise<unknown> } }
    ).gpu
      .requestAdapter()
      .catch(() => null);
    return adapter ? '' : 'this browser has WebGPU but gave no adapter (no GPU it trusts)';
  }
  if (name === 'tfjs-webgl' || name === 'gpujs-webgl2') {
    if (typeof OffscreenCanvas === 'undefined')
      return 'this browser has no OffscreenCanvas, which WebGL in a worker needs';
    return new OffscreenCanvas(1, 1).getContext('webgl2')
      ? ''
      : 'this browser gives no WebGL2 context (GPU blocklisted or WebGL turned off)';
  }
  if (name === 'wasm' || name === 'tfjs-wasm') {
    if (typeof WebAssembly !== 'object') return 'this browser has no WebAssembly';
    return wasmSimdSupported()
      ? ''
      : 'this browser has no WebAssembly SIMD (Chrome 91+, Firefox 89+, Safari 16.4+)';
  }
  return ''; // the CPU backend is plain JavaScript
}

/** A menu choice made into a backend, through the same registry as the command line's. */
export function createChoice(choice: string, base: string): Promise<Backend> {
  const { name, dtype } = parseBackendChoice(choice);
  return createBackend(name, {
    dtype,
    // the page serves tfjs-backend-wasm's .wasm files beside itself (scripts/copy-assets.mjs)
    wasmPaths: new URL('./tfjs-wasm/', base).href,
  });
}

let mnist: Promise<Mnist> | null = null;

/**
 * Where the gzipped files are kept after the first visit (the Cache API: a page's and its
 * worker's storage). A new name for new files: the version of the copy the page ships.
 */
const MNIST_CACHE = 'backprop-mnist-gz-v1';

/** Bytes so far and in all, across the four files; `cached` when none came from the network. */
export type MnistProgress = (loaded: number, total: number, cached: boolean) => void;

/**
 * The real MNIST files, gzipped beside the page (scripts/copy-assets.mjs): from the
 * browser's storage where an earlier visit kept them, else downloaded with a byte count,
 * then kept. Unpacked here (DecompressionStream), so the count is of the bytes that travel.
 */
export function loadMnistInBrowser(page: string, onProgress?: MnistProgress): Promise<Mnist> {
  mnist ??= (async () => {
    const base = new URL('./mnist/', page);
    const cache = 'caches' in globalThis ? await caches.open(MNIST_CACHE).catch(() => null) : null;
    const names = Object.entries(MNIST_FILES);
    // every response first (from storage or the network), so the total is known
    const responses = await Promise.all(
      names.map(async ([, file]) => {
        const url = new URL(`${file}.gz.bin`, base); // gzipped (scripts/copy-assets.mjs)
        const kept = await cache?.match(url);
        if (kept) return { url, response: kept, fromCache: true };
        const response = await fetch(url);
        if (!response.ok) throw new Error(`${url.pathname}: HTTP ${response.status}`);
        return { url, response, fromCache: false };
      }),
    );
    const total = responses.reduce(
      (n, r) => n + Number(r.response.headers.get('content-length') ?? 0),
      0,
    );
    const cached = responses.every((r) => r.fromCache);
    let loaded = 0;
    onProgress?.(0, total, cached);
    const gzipped = await Promise.all(
      responses.map(async ({ url, response, fromCache }) => {
        const chunks: Uint8Array[] = [];
        const reader = (response.body as ReadableStream<Uint8Array>).getReader();
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          chunks.push(value);
          loaded += value.byteLength;
          onProgress?.(loaded, total, cached);
        }
        const bytes = new Blob(chunks as BlobPart[]);
        if (!fromCache) {
          await cache
            ?.put(url, new Response(bytes, { headers: { 'content-length': String(bytes.size) } }))
            .catch(() => {}); // storage full or refused: the next visit downloads again
        }
        return bytes;
      }),
    );
    const unpacked = await Promise.all(
      gzipped.map(
        async (blob) =>
          new Uint8Array(
            await new Response(
              blob.stream().pipeThrough(new DecompressionStream('gzip')),
            ).arrayBuffer(),
          ),
      ),
    );
    return mnistFromBytes(
      Object.fromEntries(names.map(([key], i) => [key, unpacked[i]])) as Record<
        keyof typeof MNIST_FILES,
        Uint8Array
      >,
      base.pathname,
    );
  })();
  // a failed download is not kept: the next Start tries again
  mnist.catch(() => {
    mnist = null;
  });
  return mnist;
}

/** What a download line says: so many MB of so many, or that nothing was downloaded. */
export function downloadText({
  loaded,
  total,
  cached,
}: {
  loaded: number;
  total: number;
  cached: boolean;
}): string {
  const mb = (bytes: number) => (bytes / 1e6).toFixed(1);
  if (cached) return `MNIST from this browser's storage (${mb(total)} MB, nothing downloaded)`;
  return loaded < total
    ? `downloading MNIST: ${mb(loaded)} of ${mb(total)} MB (gzipped)`
    : `MNIST downloaded: ${mb(total)} MB (gzipped), kept in this browser for the next visit`;
}
