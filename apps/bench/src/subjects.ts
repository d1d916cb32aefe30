/**
 * What the bench measures: every backend the command knows (through the same registry),
 * and the peers — a training step written directly in TensorFlow.js, and small numpy and
 * PyTorch scripts of the project's own (peers/step.py). Each subject can set up a
 * training step for a (hidden, batch) and run it for N iterations.
 */
import { type ChildProcessWithoutNullStreams, spawn, spawnSync } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { BACKENDS, createBackend } from '@backprop/backends';
import {
  Adam,
  type Backend,
  type Dataset,
  Random,
  SGD,
  SimpleConvNet,
  TwoLayerNet,
  trainingStep,
} from '@backprop/core';
import type { Mnist } from '@backprop/mnist';
import { nullBackend } from './null-kernels.js';

export interface StepConfig {
  hidden: number;
  batch: number;
  /**
   * The network: the book's MLP 784-hidden-10 with SGD (default), or SimpleConvNet
   * (7.5: conv 30 5×5 → ReLU → pool 2 → affine hidden → ReLU → affine 10) with Adam, lr
   * 0.001, as the book's train_convnet.py.
   */
  net?: 'mlp' | 'convnet';
}

export interface StepRunner {
  /** Runs `iters` training iterations; returns their wall time in ms. */
  run(iters: number): Promise<number>;
  dispose(): void;
}

export interface Subject {
  id: string;
  kind: 'backend' | 'peer';
  /** What actually ran, in the subject's own words. */
  description: string;
  /** The backend, for kernel timings and the full run (backends only). */
  backend?: Backend;
  /** Whether it runs SimpleConvNet's step: true, or why not. */
  convnet: true | string;
  step(config: StepConfig): Promise<StepRunner>;
  close(): void;
}

export interface Skipped {
  id: string;
  reason: string;
}

/** Every backend of the registry in each of its dtypes, as `cpu/float64`, `wasm`, … */
export async function backendSubjects(
  mnist: Mnist,
  wanted: (id: string) => boolean = () => true,
): Promise<{ subjects: Subject[]; skipped: Skipped[] }> {
  const subjects: Subject[] = [];
  const skipped: Skipped[] = [];
  // every backend and dtype; wasm also on one thread, to show what its threads buy
  const variants = BACKENDS.flatMap(({ name, dtypes }) =>
    dtypes.flatMap((dtype) => {
      const id = dtypes.length > 1 ? `${name}/${dtype}` : name;
      return name === 'wasm'
        ? [
            { id, name, options: { dtype } },
            { id: `${id}/1t`, name, options: { dtype, threads: 1 } },
          ]
        : [{ id, name, options: { dtype } }];
    }),
  );
  for (const { id, name, options } of variants) {
    if (!wanted(id)) continue;
    let backend: Backend;
    try {
      backend = await createBackend(name, options);
    } catch (error) {
      skipped.push({ id, reason: (error as Error).message });
      continue;
    }
    const train: Dataset = {
      images: backend.tensor(mnist.train.images, [mnist.train.count, mnist.train.features]),
      labels: backend.tensor(mnist.train.labels, [mnist.train.count]),
    };
    subjects.push({
      id,
      kind: 'backend',
      description: await withAdapter(name, backend.description),
      backend,
      convnet: true,
      step: (config) => coreStep(backend, train, config),
      close() {
        backend.dispose(train.images);
        backend.dispose(train.labels);
      },
    });
  }
  return { subjects, skipped };
}

/** The exact iteration `backprop train` runs (core's trainingStep), on `backend`. */
async function coreStep(
  backend: Backend,
  train: Dataset,
  { hidden, batch, net: kind }: StepConfig,
): Promise<StepRunner> {
  const net =
    kind === 'convnet'
      ? new SimpleConvNet(backend, { hiddenSize: hidden, seed: 1 })
      : new TwoLayerNet(backend, { hiddenSize: hidden, seed: 1 });
  const optimizer = kind === 'convnet' ? new Adam(backend, 0.001) : new SGD(backend, 0.1);
  const random = new Random(2);
  const samples = train.images.shape[0] as number;
  return {
    async run(iters) {
      const start = performance.now();
      for (let i = 0; i < iters; i++)
        await trainingStep(net, optimizer, train, random.choice(samples, batch));
      return performance.now() - start;
    },
    dispose: () => {
      net.dispose();
      optimizer.dispose();
    },
  };
}

/**
 * The step on kernels that do no arithmetic (null-kernels.ts): what core itself costs a
 * step — handles, checks, dispatch, tensor objects, `tidy` — on wasm's path.
 */
export function coreOverheadSubject(mnist: Mnist): Subject {
  const backend = nullBackend();
  const train: Dataset = {
    images: backend.tensor(mnist.train.images, [mnist.train.count, mnist.train.features]),
    labels: backend.tensor(mnist.train.labels, [mnist.train.count]),
  };
  return {
    id: 'core-overhead',
    kind: 'backend',
    description: backend.description,
    convnet: true,
    step: (config) => coreStep(backend, train, config),
    close() {
      backend.dispose(train.images);
      backend.dispose(train.labels);
    },
  };
}

/**
 * gpu.js's and TensorFlow.js's WebGPU engines do not say which adapter they run on: the
 * registry gave them Dawn's, chosen as the webgpu backend chooses — named here, and a
 * software one (SwiftShader) called what it is, so nobody reads its times as a GPU's.
 */
async function withAdapter(name: string, description: string): Promise<string> {
  if (!name.endsWith('-webgpu')) return description;
  const { provideNavigatorGpu } = await import('@backprop/backend-webgpu');
  // the adapter's description says "software" itself where it is one
  const { adapter } = await provideNavigatorGpu();
  return `${description}, on ${adapter}`;
}

/** The same iteration written directly in TensorFlow.js, the way a tfjs user would. */
export async function tfjsDirectSubject(mnist: Mnist, engine: 'wasm' | 'cpu'): Promise<Subject> {
  const tf = await import('@tensorflow/tfjs-core');
  await import(`@tensorflow/tfjs-backend-${engine}`);
  // tfjs-core alone has no gradients: the @tensorflow/tfjs bundle (the one a tfjs user
  // installs) registers them, for SimpleConvNet's tf.variableGrads
  await import('@tensorflow/tfjs');
  tf.env().set('PROD', true);
  await tf.setBackend(engine);
  const images = tf.tensor(
    mnist.train.images,
    [mnist.train.count, mnist.train.features],
    'float32',
  );
  const labels = tf.tensor(Int32Array.from(mnist.train.labels), [mnist.train.count], 'int32');
  const activate = () => {
    if (tf.getBackend() !== engine) void tf.setBackend(engine); // switches at once after the first start
  };
  return {
    id: `tfjs-direct-${engine}`,
    kind: 'peer',
    description: `TensorFlow.js ${tf.version_core} ${engine} engine, the step written directly in tf ops (SimpleConvNet: tf.conv2d and tf.maxPool, gradients by tf.variableGrads, tf.train.adam)`,
    convnet:
      engine === 'wasm'
        ? `TensorFlow.js's wasm engine has no Conv2DBackpropFilter kernel (tfjs-backend-wasm ${tf.version_core}): a convolution's weights cannot be trained on it`
        : true,
    async step({ hidden, batch, net }) {
      activate();
      if (net === 'convnet')
        return tfjsConvnetStep(tf, images, labels, mnist.train.count, hidden, batch);
      const random = new Random(2);
      const init = new Random(1);
      const W1 = tf.variable(
        tf.tensor(Float32Array.from(init.normalArray(784 * hidden, 0.01)), [784, hidden]),
      );
      const b1 = tf.variable(tf.zeros([hidden]));
      const W2 = tf.variable(
        tf.tensor(Float32Array.from(init.normalArray(hidden * 10, 0.01)), [hidden, 10]),
      );
      const b2 = tf.variable(tf.zeros([10]));
      const lr = 0.1;
      const step = async () => {
        const loss = tf.tidy(() => {
          const idx = tf.tensor1d(random.choice(mnist.train.count, batch), 'int32');
          const x = tf.gather(images, idx);
          const t = tf.cast(tf.oneHot(tf.gather(labels, idx), 10), 'float32');
          const a1 = tf.add(tf.matMul(x, W1), b1);
          const z1 = tf.relu(a1);
          const y = tf.softmax(tf.add(tf.matMul(z1, W2), b2));
          const loss = tf.div(tf.neg(tf.sum(tf.mul(t, tf.log(tf.add(y, 1e-7))))), batch);
          const dy = tf.div(tf.sub(y, t), batch);
          const dz1 = tf.matMul(dy, W2, false, true);
          const da1 = tf.where(tf.greater(a1, 0), dz1, tf.zerosLike(dz1));
          W2.assign(tf.sub(W2, tf.mul(tf.matMul(z1, dy, true, false), lr)));
          b2.assign(tf.sub(b2, tf.mul(tf.sum(dy, 0), lr)));
          W1.assign(tf.sub(W1, tf.mul(tf.matMul(x, da1, true, false), lr)));
          b1.assign(tf.sub(b1, tf.mul(tf.sum(da1, 0), lr)));
          return loss;
        });
        await loss.data();
        loss.dispose();
      };
      return {
        async run(iters) {
          activate();
          const start = performance.now();
          for (let i = 0; i < iters; i++) await step();
          return performance.now() - start;
        },
        dispose: () => {
          for (const v of [W1, b1, W2, b2]) v.dispose();
        },
      };
    },
    close() {
      images.dispose();
      labels.dispose();
    },
  };
}

type Tf = typeof import('@tensorflow/tfjs-core');

/**
 * SimpleConvNet's step as a TensorFlow.js user writes it: NHWC images, tf.conv2d,
 * tf.maxPool, two dense layers, softmax cross-entropy, gradients by tf.variableGrads and
 * the update by tf.train.adam(0.001); the same initial weights' scale (0.01·N(0, 1)).
 */
function tfjsConvnetStep(
  tf: Tf,
  images: ReturnType<Tf['tensor']>,
  labels: ReturnType<Tf['tensor']>,
  count: number,
  hidden: number,
  batch: number,
): StepRunner {
  const random = new Random(2);
  const init = new Random(1);
  const normal = (shape: number[]) =>
    tf.variable(
      tf.tensor(
        Float32Array.from(
          init.normalArray(
            shape.reduce((a, b) => a * b, 1),
            0.01,
          ),
        ),
        shape,
      ),
    );
  const params = {
    W1: normal([5, 5, 1, 30]),
    b1: tf.variable(tf.zeros([30])),
    W2: normal([12 * 12 * 30, hidden]),
    b2: tf.variable(tf.zeros([hidden])),
    W3: normal([hidden, 10]),
    b3: tf.variable(tf.zeros([10])),
  };
  const optimizer = tf.train.adam(0.001);
  const step = async () => {
    const idx = tf.tensor1d(random.choice(count, batch), 'int32');
    const x = tf.reshape(tf.gather(images, idx), [batch, 28, 28, 1]);
    const t = tf.cast(tf.oneHot(tf.gather(labels, idx), 10), 'float32');
    const { value, grads } = tf.variableGrads(() => {
      const c = tf.relu(tf.add(tf.conv2d(x as never, params.W1 as never, 1, 'valid'), params.b1));
      const p = tf.reshape(tf.maxPool(c as never, 2, 2, 'valid'), [batch, 12 * 12 * 30]);
      const h = tf.relu(tf.add(tf.matMul(p, params.W2), params.b2));
      const logits = tf.add(tf.matMul(h, params.W3), params.b3);
      return tf.losses.softmaxCrossEntropy(t, logits) as never;
    });
    optimizer.applyGradients(grads as never);
    await value.data();
    for (const u of [idx, x, t, value, ...Object.values(grads)]) u.dispose();
  };
  return {
    async run(iters) {
      const start = performance.now();
      for (let i = 0; i < iters; i++) await step();
      return performance.now() - start;
    },
    dispose() {
      for (const v of Object.values(params)) v.dispose();
      optimizer.dispose();
    },
  };
}

const PEER_SCRIPT = fileURLToPath(new URL('../peers/step.py', import.meta.url));

/** A Python that has the module, or the reason there is none. */
export function findPython(
  module: string,
): { python: string; version: string } | { reason: string } {
  const candidates = ['/usr/bin/python3', 'python3'];
  for (const python of candidates) {
    const probe = spawnSync(python, ['-c', `import ${module}, sys; print(${module}.__version__)`], {
      encoding: 'utf8',
    });
    if (probe.status === 0) return { python, version: probe.stdout.trim() };
  }
  return {
    reason: `no python3 with ${module} (tried ${candidates.join(', ')}); on Debian: apt-get install python3-numpy python3-torch libopenblas0-pthread`,
  };
}

/** numpy or PyTorch running peers/step.py in a long-lived process. */
export async function pythonSubject(
  impl: 'numpy' | 'torch',
  dtype: 'float32' | 'float64',
  dataDir: string,
  threads?: number,
): Promise<Subject | Skipped> {
  const id = impl === 'numpy' ? `numpy/${dtype}` : `pytorch/${dtype}/${threads ?? 'default'}t`;
  const found = findPython(impl);
  if ('reason' in found) return { id, reason: found.reason };
  const child: ChildProcessWithoutNullStreams = spawn(found.python, [PEER_SCRIPT], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk) => {
    stderr += chunk;
  });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const ask = async (command: object): Promise<Record<string, unknown>> => {
    child.stdin.write(`${JSON.stringify(command)}\n`);
    const { value, done } = await lines.next();
    if (done)
      throw new Error(`${id}: the Python peer stopped: ${stderr.trim().split('\n').at(-1)}`);
    return JSON.parse(value);
  };
  const setup = (config: StepConfig) =>
    ask({ cmd: 'setup', impl, dtype, data: dataDir, threads: threads ?? null, ...config });
  const info = await setup({ hidden: 50, batch: 100 });
  const threadNote =
    impl === 'torch'
      ? `, ${info.threads} thread${info.threads === 1 ? '' : 's'}`
      : ', OpenBLAS threads as configured';
  return {
    id,
    kind: 'peer',
    description: `${impl === 'torch' ? `PyTorch ${info.torch}` : `numpy ${info.numpy}`} ${dtype} (Python ${info.python}${threadNote}), peers/step.py${impl === 'torch' ? ' (SimpleConvNet: torch conv2d and max_pool2d, autograd, torch.optim.Adam)' : ''}`,
    convnet:
      impl === 'torch' ||
      "numpy: the book's SimpleConvNet in numpy is its own im2col loops, not a peer's library call",
    async step(config) {
      await setup(config);
      return {
        run: async (iters) => (await ask({ cmd: 'run', iters })).ms as number,
        dispose() {},
      };
    },
    close() {
      child.stdin.end();
      child.kill();
    },
  };
}
