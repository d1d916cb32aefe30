/**
 * IDX files for the command's tests: the format of the MNIST files (a magic number, the
 * sizes big-endian, then the bytes), so a test can hand `--data-dir` a set of its own.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadMnist } from '@backprop/mnist';

/** An unsigned-byte IDX file: magic 0x0000 08 <dims>, big-endian sizes, then the bytes. */
export function idx(
  dims: number[],
  values?: ArrayLike<number>,
  { type = 0x08, extra = 0 } = {},
): Buffer {
  const count = dims.reduce((a, b) => a * b, 1);
  const header = Buffer.alloc(4 + 4 * dims.length);
  header.writeUInt8(type, 2);
  header.writeUInt8(dims.length, 3);
  dims.forEach((d, i) => {
    header.writeUInt32BE(d, 4 + 4 * i);
  });
  const body = Buffer.from(values ?? Array.from({ length: count }, (_, i) => (i * 37) % 256));
  return Buffer.concat([header, body, Buffer.alloc(extra)]);
}

export const IDX_FILES = {
  trainImages: 'train-images-idx3-ubyte',
  trainLabels: 'train-labels-idx1-ubyte',
  testImages: 't10k-images-idx3-ubyte',
  testLabels: 't10k-labels-idx1-ubyte',
};

/** Writes the four files into `dir` (made if missing). */
export function writeIdxSet(dir: string, files: Record<keyof typeof IDX_FILES, Buffer>): void {
  mkdirSync(dir, { recursive: true });
  for (const [key, bytes] of Object.entries(files)) {
    writeFileSync(join(dir, IDX_FILES[key as keyof typeof IDX_FILES]), bytes);
  }
}

/**
 * The first `train` training images and `test` test images of the real MNIST files, as a
 * `--data-dir` of their own: a command under test reads 6 MB instead of 55 MB (a full
 * load took ~2.3 s of a one-iteration run here, most of it first touches of the float
 * arrays), and trains and measures on real digits.
 */
export function writeMnistSubset(dir: string, train: number, test: number): void {
  const { train: trainSet, test: testSet } = loadMnist();
  writeIdxSet(dir, {
    trainImages: idx([train, 28, 28], toBytes(trainSet.images.subarray(0, train * 784))),
    trainLabels: idx([train], trainSet.labels.subarray(0, train)),
    testImages: idx([test, 28, 28], toBytes(testSet.images.subarray(0, test * 784))),
    testLabels: idx([test], testSet.labels.subarray(0, test)),
  });
}

/** The reader scales pixels to [0, 1]; back to the file's bytes. */
function toBytes(pixels: Float32Array): Uint8Array {
  const bytes = new Uint8Array(pixels.length);
  for (let i = 0; i < pixels.length; i++) bytes[i] = Math.round(pixels[i] * 255);
  return bytes;
}
