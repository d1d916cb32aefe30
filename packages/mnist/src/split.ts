/**
 * From parsed IDX arrays to the book's arrays: images scaled to [0, 1] and flattened,
 * labels as indices (one-hot on request). No Node APIs: browsers use it too.
 */
import { DataError } from '@backprop/core';
import { type IdxArray, parseIdx } from './parse.js';

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

export interface SplitOptions {
  /** Scale pixels to [0, 1] (default true), else keep 0…255. */
  normalize?: boolean;
  /** Also give labels as one-hot rows. */
  oneHotLabel?: boolean;
  /** Number of classes for one-hot rows and label checks (default 10). */
  classes?: number;
}

/** Checks that images and labels belong together and builds the split. */
export function toSplit(
  images: IdxArray,
  imagesName: string,
  labels: IdxArray,
  labelsName: string,
  options: SplitOptions = {},
): MnistSplit {
  const { normalize = true, oneHotLabel = false, classes = 10 } = options;
  const [count, rows, cols] = images.dims;
  if (count === 0) throw new DataError(imagesName, 'holds no images (its header says 0)');
  if (rows === 0 || cols === 0) {
    throw new DataError(
      imagesName,
      `its images are ${rows}×${cols} pixels: there is nothing to learn from`,
    );
  }
  if (labels.dims[0] !== count) {
    throw new DataError(
      labelsName,
      `has ${labels.dims[0]} labels but ${imagesName} has ${count} images`,
    );
  }
  const badLabel = labels.data.findIndex((label) => label >= classes);
  if (badLabel >= 0) {
    throw new DataError(
      labelsName,
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

/** MNIST from the four files' bytes, e.g. fetched by a web page. `source` names them in errors. */
export function mnistFromBytes(
  files: Record<keyof typeof MNIST_FILES, Uint8Array>,
  source = 'MNIST',
  options: SplitOptions = {},
): Mnist {
  const split = (images: keyof typeof MNIST_FILES, labels: keyof typeof MNIST_FILES) => {
    const [imagesName, labelsName] = [
      `${source}/${MNIST_FILES[images]}`,
      `${source}/${MNIST_FILES[labels]}`,
    ];
    return toSplit(
      parseIdx(imagesName, files[images], 3),
      imagesName,
      parseIdx(labelsName, files[labels], 1),
      labelsName,
      options,
    );
  };
  return sameImageSize(
    {
      train: split('trainImages', 'trainLabels'),
      test: split('testImages', 'testLabels'),
      dataDir: source,
    },
    `${source}/${MNIST_FILES.testImages}`,
  );
}

/** Test images must be the size the network learns from (the training images'). */
export function sameImageSize(mnist: Mnist, testImagesName: string): Mnist {
  const { train, test } = mnist;
  if (train.rows !== test.rows || train.cols !== test.cols) {
    throw new DataError(
      testImagesName,
      `its images are ${test.rows}×${test.cols} pixels but the training images are ${train.rows}×${train.cols}`,
    );
  }
  return mnist;
}

/** Class indices → one-hot rows, like the book's `_change_one_hot_label`. */
export function toOneHot(labels: ArrayLike<number>, classes = 10): Float32Array {
  const rows = new Float32Array(labels.length * classes);
  for (let i = 0; i < labels.length; i++) rows[i * classes + labels[i]] = 1;
  return rows;
}
