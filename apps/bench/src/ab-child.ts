/**
 * One side of `pnpm bench ab`: core and the registry of one checkout (paths given), one
 * backend (`name` or `name:dtype`), the book's training step; prints the best of five
 * blocks of 100 steps, in ms per step.
 */
import { loadMnist } from '@backprop/mnist';

const [corePath, registryPath, subject] = process.argv.slice(2);
const [name, dtype] = subject.split(':');
const core = await import(corePath);
const { createBackend } = await import(registryPath);
const mnist = loadMnist();
const backend = await createBackend(name, dtype ? { dtype } : {});
const train = {
  images: backend.tensor(mnist.train.images, [mnist.train.count, mnist.train.features]),
  labels: backend.tensor(mnist.train.labels, [mnist.train.count]),
};
const net = new core.TwoLayerNet(backend, { seed: 1 });
const optimizer = new core.SGD(backend, 0.1);
const random = new core.Random(2);
const step = () => core.trainingStep(net, optimizer, train, random.choice(mnist.train.count, 100));
for (let i = 0; i < 20; i++) await step(); // warm-up: compile, allocate
let best = Number.POSITIVE_INFINITY;
for (let block = 0; block < 5; block++) {
  const started = performance.now();
  for (let i = 0; i < 100; i++) await step();
  best = Math.min(best, (performance.now() - started) / 100);
}
console.log(best);
process.exit(0); // GL engines keep the process alive otherwise
