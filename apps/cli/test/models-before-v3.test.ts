/**
 * Every kind of model file the command wrote before layer lists (format version 3) still
 * loads, as the same network, and gives the same test accuracy the command that wrote it
 * measured (see fixtures/models-before-v3/README.md for how each was made).
 */
import { fileURLToPath } from 'node:url';
import { createBackend } from '@backprop/backends';
import { datasetAccuracy, loadModel, toDataset } from '@backprop/core';
import { loadMnist } from '@backprop/mnist';
import { describe, expect, it } from 'vitest';

const fixtures = fileURLToPath(new URL('fixtures/models-before-v3/', import.meta.url));

/** File, the layer list it now reads as, and the accuracy the old `backprop evaluate` printed. */
const MODELS: [file: string, network: string, accuracy: string][] = [
  ['v1-two-layer.json', 'TwoLayerNet [784] affine 8 relu affine 10', '0.8514'],
  ['v2-two-layer.json', 'TwoLayerNet [784] affine 8 relu affine 10', '0.8514'],
  ['v2-two-layer-compact.json', 'TwoLayerNet [784] affine 8 relu affine 10', '0.8514'],
  [
    'v2-multi-layer-sigmoid-decay.json',
    'MultiLayerNet [784] affine 8 sigmoid affine 6 sigmoid affine 10',
    '0.4423',
  ],
  [
    'v2-multi-layer-compact.json',
    'MultiLayerNet [784] affine 8 relu affine 6 relu affine 10',
    '0.8226',
  ],
];

describe('model files written before version 3', async () => {
  const backend = await createBackend('cpu');
  const { test } = loadMnist();
  const data = toDataset(backend, test.images, test.labels, test.features);
  for (const [file, network, accuracy] of MODELS) {
    it(`${file} loads as ${network} and evaluates to ${accuracy}, as when it was written`, async () => {
      const net = await loadModel(backend, `file://${fixtures}${file}`);
      const { name, input, layers } = net.architecture;
      const words = layers.map((l) => ('units' in l ? `${l.type} ${l.units}` : l.type));
      expect(`${name} [${input}] ${words.join(' ')}`).toBe(network);
      expect((await datasetAccuracy(net, data)).toFixed(4)).toBe(accuracy);
      net.dispose();
    });
  }
});
