/**
 * One side of `pnpm bench ab`: core and the registry of one checkout (paths given), one
 * backend (`name` or `name:dtype`), one workload — the book's MLP step (784-50-10, SGD,
 * blocks of 100 steps) or SimpleConvNet's (train_convnet.py: Adam lr 0.001, blocks of
 * 10) — at batch 100; prints the best of five blocks, in ms per step.
 */
import { loadMnist } from '@backprop/mnist';

const [corePath, registryPath, subject, workload = 'mlp'] = process.argv.slice(2);
const [name, dtype] = subject.split(':');
const core = await import(corePath);
const { createBackend } = await import(registryPath);
const mnist = loadMnist();
const backend = await createBackend(name, dtype ? { dtype } : {});
const train = {
  images: backend.tensor(mnist.train.images, [mnist.train.count, mnist.train.features]),
  labels: backend.tensor(mnist.train.labels, [mnist.train.count]),
};
const convnet = workload === 'convnet';
const net = convnet
  ? new core.SimpleConvNet(backend, { seed: 1 })
  : new core.TwoLayerNet(backend, { seed: 1 });
const optimizer = convnet ? new core.Adam(backend, 0.001) : new core.SGD(backend, 0.1);
const blockSteps = convnet ? 10 : 100;
const random = new core.Random(2);
const step = () => core.trainingStep(net, optimizer, train, random.choice(mnist.train.count, 100));
for (let i = 0; i < (convnet ? 5 : 20); i++) await step(); // warm-up: compile, allocate
let best = Number.POSITIVE_INFINITY;
for (let block = 0; block < 5; block++) {
  const started = performance.now();
  for (let i = 0; i < blockSteps; i++) await step();
  best = Math.min(best, (performance.now() - started) / blockSteps);
}
console.log(best);
process.exit(0); // GL engines keep the process alive otherwise
