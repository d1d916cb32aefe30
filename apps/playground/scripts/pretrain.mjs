#!/usr/bin/env node
// The network the Draw tab uses before any training in the page: trained by our own
// command (`backprop train`, wasm, the book's settings, 3000 iterations, seed 0) and kept
// in the compact form, with the first 20 test digits beside it so Draw can be tried
// without a mouse and before any MNIST download. Its output is committed in
// public/pretrained/; rerun after a change to the model format:
//   pnpm --filter @backprop/playground pretrain
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadMnist } from '@backprop/mnist';

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, '../public/pretrained');
const run = mkdtempSync(join(tmpdir(), 'pretrain-'));
const cli = join(here, '../../cli/dist/main.js');
execFileSync(
  process.execPath,
  [
    cli,
    'train',
    '--backend',
    'wasm',
    '--iters',
    '3000',
    '--eval-every',
    '1000',
    '--model-format',
    'binary',
    '--out',
    run,
  ],
  { stdio: 'inherit' },
);
mkdirSync(out, { recursive: true });
copyFileSync(join(run, 'model.json'), join(out, 'model.json'));
copyFileSync(join(run, 'model.weights.bin'), join(out, 'model.weights.bin'));
const { final } = JSON.parse(readFileSync(join(run, 'metrics.json'), 'utf8'));
rmSync(run, { recursive: true });
// 20 test digits: 784 bytes of pixels (0…255) and then the label, one after another
const { test } = loadMnist({ normalize: false });
const count = 20;
const digits = new Uint8Array(count * 785);
for (let i = 0; i < count; i++) {
  digits.set(test.images.subarray(i * 784, (i + 1) * 784), i * 785);
  digits[i * 785 + 784] = test.labels[i];
}
writeFileSync(join(out, 'test-digits.bin'), digits);
writeFileSync(
  join(out, 'about.json'),
  `${JSON.stringify({ command: 'backprop train --backend wasm --iters 3000 --eval-every 1000 --model-format binary', testAccuracy: final.testAccuracy, trainAccuracy: final.trainAccuracy, testDigits: count }, null, 2)}\n`,
);
console.log(`wrote ${out}: test accuracy ${final.testAccuracy}`);
