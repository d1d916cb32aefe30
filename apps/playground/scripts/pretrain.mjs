#!/usr/bin/env node
// The networks the Draw tab uses before any training in the page, trained by our own
// command (`backprop train`, wasm, seed 0) and kept in the compact form:
//   pretrained/            TwoLayerNet, the book's settings, 3000 iterations (SGD)
//   pretrained/convnet/    SimpleConvNet (7.5) with 50 hidden units instead of 100, so its
//                          weights stay under 1 MB; Adam, lr 0.001, 3000 iterations
// with the first 20 test digits beside them, so Draw can be tried without a mouse and
// before any MNIST download. The output is committed in public/pretrained/; rerun after a
// change to the model format:
//   pnpm --filter @backprop/playground pretrain
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadMnist } from '@backprop/mnist';

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, '../public/pretrained');
const cli = join(here, '../../cli/dist/main.js');

const NETWORKS = [
  { folder: '.', args: ['--iters', '3000', '--eval-every', '1000'] },
  {
    folder: 'convnet',
    args: [
      '--net',
      'simple-convnet',
      '--hidden',
      '50',
      '--optimizer',
      'adam',
      '--lr',
      '0.001',
      '--iters',
      '3000',
      '--eval-every',
      '1000',
    ],
  },
];
const about = {};
for (const { folder, args } of NETWORKS) {
  const run = mkdtempSync(join(tmpdir(), 'pretrain-'));
  const command = ['train', '--backend', 'wasm', ...args, '--model-format', 'binary'];
  execFileSync(process.execPath, [cli, ...command, '--out', run], { stdio: 'inherit' });
  const to = join(out, folder);
  mkdirSync(to, { recursive: true });
  for (const file of ['model.json', 'model.weights.bin'])
    copyFileSync(join(run, file), join(to, file));
  const { final } = JSON.parse(readFileSync(join(run, 'metrics.json'), 'utf8'));
  rmSync(run, { recursive: true });
  about[folder === '.' ? 'twoLayerNet' : 'simpleConvNet'] = {
    command: `backprop ${command.join(' ')}`,
    testAccuracy: final.testAccuracy,
    trainAccuracy: final.trainAccuracy,
  };
}
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
  `${JSON.stringify({ ...about, testDigits: count }, null, 2)}\n`,
);
console.log(`wrote ${out}: ${JSON.stringify(about)}`);
