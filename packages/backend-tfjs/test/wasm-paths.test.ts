import { UsageError } from '@backprop/core';
import { expect, it } from 'vitest';
import { TfjsBackend, type TfjsWasmFiles } from '../src/index.js';

// A bundled page passes each .wasm file's URL; a map missing one is the user's mistake,
// named before TensorFlow.js would fail on it with its own words.
it('refuses a wasmPaths map without the SIMD or the plain build, naming the file', async () => {
  const onlyPlain = { 'tfjs-backend-wasm.wasm': '/plain.wasm' } as unknown as TfjsWasmFiles;
  const made = TfjsBackend.create({ engine: 'wasm', wasmPaths: onlyPlain });
  await expect(made).rejects.toThrow(UsageError);
  await expect(made).rejects.toThrow(/wasmPaths has no URL for 'tfjs-backend-wasm-simd\.wasm'/);
  // and nothing was changed: Node finds the files itself
  const backend = await TfjsBackend.create({ engine: 'wasm' });
  expect(backend.name).toBe('tfjs-wasm');
});

it('names the API, not a command, when an engine cannot run here', async () => {
  await expect(TfjsBackend.create({ engine: 'webgl' })).rejects.toThrow(
    /the webgl engine cannot run here: it needs a browser's WebGL; try TfjsBackend\.create\(\{ engine: 'wasm' \}\) or TfjsBackend\.create\(\{ engine: 'cpu' \}\)/,
  );
});
