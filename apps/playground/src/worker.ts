/**
 * The page's worker: it holds the backend, the data and the network, trains and
 * evaluates with core's loop, answers predictions, and runs the conformance suite. The
 * loop gives the worker's event loop a turn every ~50 ms, which is when a Stop or a
 * prediction request is read.
 */

import { CpuBackend } from '@backprop/backend-cpu';
import { conformanceAllowances, parseBackendChoice } from '@backprop/backends';
import { runConformance } from '@backprop/conformance';
import {
  type Backend,
  checkTrainConfig,
  type Dataset,
  type Layer,
  modelFromBinary,
  Network,
  SGD,
  type Tensor,
  TwoLayerNet,
  toDataset,
  trainNetwork,
} from '@backprop/core';
import { createChoice, loadMnistInBrowser, WEBGPU_CHOICES, webgpuMissing } from './backends.js';
import type {
  ConvolutionView,
  FromWorker,
  NetworkChoice,
  ToWorker,
  TrainRequest,
} from './protocol.js';

const post = (message: FromWorker) => (self as unknown as Worker).postMessage(message);

interface Current {
  choice: string;
  backend: Backend;
  train: Dataset;
  test: Dataset;
  net: TwoLayerNet;
}

/** The network trained last: what predictions use, kept until a new run has started. */
let current: Current | null = null;
let stop: AbortController | null = null;
let busy = false;

self.onmessage = async (event: MessageEvent<ToWorker>) => {
  const message = event.data;
  switch (message.type) {
    case 'train':
      if (!busy) await guarded(() => train(message));
      break;
    case 'stop':
      stop?.abort();
      break;
    case 'predict':
      void predict(message.id, message.pixels, message.base, message.use);
      break;
    case 'convolution':
      void convolution(message.id, message.pixels, message.base);
      break;
    case 'conformance':
      if (!busy) await guarded(() => conformance(message.backends, message.base, message.cases));
      break;
  }
};

async function guarded(task: () => Promise<void>): Promise<void> {
  busy = true;
  try {
    await task();
  } catch (error) {
    post({ type: 'error', message: (error as Error).message });
  } finally {
    busy = false;
  }
}

/**
 * A menu choice started, WebGPU's absence named before anything is downloaded; `software`
 * where the GPU adapter is a software one (SwiftShader), which is slow.
 */
async function start(
  choice: string,
  base: string,
): Promise<{ backend: Backend; software: boolean }> {
  let software = false;
  if (WEBGPU_CHOICES.has(choice)) {
    if (webgpuMissing()) throw new Error(`${choice}: ${webgpuMissing()}`);
    const { provideNavigatorGpu } = await import('@backprop/backend-webgpu');
    software = (await provideNavigatorGpu()).software;
  }
  return { backend: await createChoice(choice, base), software };
}

async function train(request: TrainRequest): Promise<void> {
  // A bad setting fails here, before anything is started or the previous network let go.
  const { iters, batchSize, learningRate, every, evalSamples } = request;
  checkTrainConfig({ iters, batchSize, iterPerEpoch: every, evalSamples }, 60_000); // core's rules
  if (!(learningRate > 0) || !Number.isFinite(learningRate))
    throw new Error(`the learning rate must be > 0, got ${learningRate}`);
  post({ type: 'status', text: `starting ${request.backend}…` });
  // The new backend and network first: if either fails, the previous ones stay usable.
  const { backend } = await start(request.backend, request.base);
  let next: Current;
  let mnist: Awaited<ReturnType<typeof mnistWithProgress>>;
  try {
    mnist = await mnistWithProgress(request.base);
    const train = toDataset(backend, mnist.train.images, mnist.train.labels, 784);
    const test = toDataset(backend, mnist.test.images, mnist.test.labels, 784);
    next = { choice: request.backend, backend, train, test, net: new TwoLayerNet(backend) };
  } catch (error) {
    backend.close();
    throw error;
  }
  release(current);
  current = next;
  post({ type: 'started', backend: request.backend, description: backend.description });
  const shown = showTestDigits(next, mnist.test.images, mnist.test.labels);
  void shown.insight(-1);

  stop = new AbortController();
  const losses: number[] = [];
  let sentUpTo = 0;
  let lastSent = 0;
  const flush = (trainSeconds: number) => {
    post({ type: 'losses', from: sentUpTo, values: losses.slice(sentUpTo), trainSeconds });
    sentUpTo = losses.length;
    lastSent = performance.now();
  };
  const { net, train: trainSet, test } = next;
  let trainSeconds = 0;
  let result: Awaited<ReturnType<typeof trainNetwork>>;
  try {
    result = await trainNetwork(
      net,
      trainSet,
      test,
      {
        iters: request.iters,
        batchSize: request.batchSize,
        optimizer: new SGD(backend, request.learningRate),
        random: net.random,
        iterPerEpoch: request.every,
        evalOn: request.evalOn,
        evalSamples: request.evalSamples,
        evalAtStart: request.evalAtStart,
        // a Stop ends the run at once; measuring the stopped weights could take minutes on GL
        evalOnStop: 'never',
      },
      {
        signal: stop.signal,
        onIteration(_, loss, seconds) {
          losses.push(loss);
          trainSeconds = seconds;
          if (performance.now() - lastSent > 150) flush(seconds);
        },
        onEpoch(record) {
          flush(trainSeconds);
          post({ type: 'epoch', record });
          void shown.insight(record.iter);
        },
      },
    );
    flush(trainSeconds);
    await shown.insight(result.completedIters - 1);
  } finally {
    shown.dispose();
  }
  post({
    type: 'done',
    interrupted: result.interrupted,
    completedIters: result.completedIters,
    final: result.final,
    msPerIter: result.timing.msPerIter,
  });
}

/**
 * The networks the page starts with: trained by our command and served in the compact form
 * (public/pretrained, scripts/pretrain.mjs), on the CPU backend, which starts at once:
 * SimpleConvNet in `convnet/`, TwoLayerNet beside it.
 */
type Pretrained = { backend: Backend; net: Network; name: string };
const pretrained: Partial<Record<'convnet' | 'mlp', Promise<Pretrained>>> = {};
function loadPretrained(base: string, which: 'convnet' | 'mlp'): Promise<Pretrained> {
  pretrained[which] ??= (async () => {
    const at = (file: string) =>
      new URL(`./pretrained/${which === 'convnet' ? 'convnet/' : ''}${file}`, base);
    const [header, weights] = await Promise.all([
      fetch(at('model.json')).then((r) => r.json()),
      fetch(at('model.weights.bin')).then((r) => r.arrayBuffer()),
    ]);
    const backend = new CpuBackend({ dtype: 'float32' });
    const net = modelFromBinary(backend, header, weights, `pretrained/${which}/model.json`);
    const accuracy = (header.trainedWith?.final?.testAccuracy as number | undefined)?.toFixed(3);
    const name = `pre-trained ${net.architecture.name}: ${header.trainedWith?.iters} iterations on ${header.trainedWith?.backend}, test accuracy ${accuracy}`;
    return { backend, net, name };
  })();
  const loading = pretrained[which];
  loading.catch(() => {
    delete pretrained[which]; // the next prediction tries again
  });
  return loading;
}

async function predict(
  id: number,
  pixels: Float32Array,
  base: string,
  use: NetworkChoice,
): Promise<void> {
  let network: Pretrained;
  try {
    network =
      use === 'auto' && current
        ? { backend: current.backend, net: current.net, name: `trained here on ${current.choice}` }
        : await loadPretrained(base, use === 'mlp' ? 'mlp' : 'convnet');
  } catch {
    post({ type: 'prediction', id, probs: null, network: '' });
    return;
  }
  const { backend, net, name } = network;
  const x = backend.tensor(pixels, [1, 784]);
  const probs = net.probabilities(x);
  try {
    post({ type: 'prediction', id, probs: Array.from(await backend.read(probs)), network: name });
  } finally {
    backend.dispose(x);
    backend.dispose(probs);
  }
}

/**
 * The pre-trained SimpleConvNet's filters as they started (the same seed, 0, rebuilds
 * them) and after training, and what its convolution and ReLU make of a drawing: the
 * book's figures 7-24 and 7-25 for your own digit.
 */
async function convolution(id: number, pixels: Float32Array | null, base: string): Promise<void> {
  let view: ConvolutionView | null = null;
  try {
    const { backend, net, name } = await loadPretrained(base, 'convnet');
    const W1 = net.params.W1 as Tensor;
    const [filters, , size] = W1.shape as number[];
    const fresh = new Network(backend, net.architecture, { seed: 0 });
    const before = Float32Array.from(await backend.read(fresh.params.W1 as Tensor));
    fresh.dispose();
    let maps: Float32Array | null = null;
    let mapSize = 0;
    if (pixels) {
      const conv = net.layers.get('Conv1') as Layer;
      const x = backend.tensor(pixels, [1, 1, 28, 28]);
      const out = backend.relu(conv.forward(x));
      mapSize = out.shape[2] as number;
      maps = Float32Array.from(await backend.read(out));
      for (const t of [x, out]) backend.dispose(t);
    }
    const after = Float32Array.from(await backend.read(W1));
    view = { before, after, filters, size, maps, mapSize, network: name };
  } catch {
    // the pre-trained network did not load: the page says so
  }
  post({ type: 'convolution', id, view });
}

async function conformance(choices: string[], base: string, cases?: string[]): Promise<void> {
  const mnist = await mnistWithProgress(base);
  const skipped: string[] = [];
  for (const choice of choices) {
    let backend: Backend;
    let software: boolean;
    try {
      ({ backend, software } = await start(choice, base));
    } catch (error) {
      skipped.push(`${choice} (${(error as Error).message})`);
      continue;
    }
    let done = 0;
    const report = await runConformance(
      () => backend,
      {
        mnist: () => mnist,
        // 2 000 iterations a backend would take a minute in a page: 200, with evaluations
        // among them, show a lost handle or texture at once (the count grows by one each
        // iteration); the 2 000-iteration runs are Node's, for every backend Node has
        leakIterations: 200,
        leakIterationsReason: software
          ? 'in a page, on a software GPU adapter'
          : 'in a page: Node runs 2 000 where the backend runs there',
        looser: conformanceAllowances(parseBackendChoice(choice).name),
        only: cases,
      },
      () => post({ type: 'conformance-progress', text: `${backend.description}: ${++done} cases` }),
    );
    backend.close();
    post({ type: 'conformance-report', report });
  }
  post({ type: 'conformance-done', skipped });
}

/** How many test digits a run shows its predictions on. */
const SHOWN_DIGITS = 100;

/**
 * What a run shows besides its numbers: the first layer's weights as images and its
 * predictions on the first test digits. Both are read where `insight` is called (inside
 * onEpoch, between iterations: a snapshot), then posted when the reads come back.
 */
function showTestDigits(run: Current, images: Float32Array, labels: Uint8Array) {
  const { backend, net } = run;
  const pixels = images.slice(0, SHOWN_DIGITS * 784);
  post({
    type: 'test-digits',
    images: pixels,
    labels: Array.from(labels.subarray(0, SHOWN_DIGITS)),
  });
  const x = backend.tensor(pixels, [SHOWN_DIGITS, 784]);
  return {
    async insight(iter: number): Promise<void> {
      const W1 = net.params.W1 as Tensor;
      const weights = backend.read(W1);
      const scores = net.probabilities(x); // ours to free (predict's belong to the last layer)
      try {
        const values = await backend.read(scores);
        const predicted: number[] = [];
        for (let i = 0; i < SHOWN_DIGITS; i++) {
          const row = values.subarray(i * 10, i * 10 + 10);
          predicted.push(row.indexOf(Math.max(...row)));
        }
        post({
          type: 'insight',
          iter,
          W1: Float32Array.from(await weights),
          hidden: W1.shape[1] as number,
          predicted,
        });
      } finally {
        backend.dispose(scores);
      }
    },
    dispose: () => backend.dispose(x),
  };
}

/** MNIST, its download's progress posted a few times a second (and at the start and end). */
function mnistWithProgress(base: string) {
  let lastPost = 0;
  return loadMnistInBrowser(base, (loaded, total, cached) => {
    const now = performance.now();
    if (loaded !== 0 && loaded !== total && now - lastPost < 100) return;
    lastPost = now;
    post({ type: 'download', loaded, total, cached });
  });
}

function release(run: Current | null): void {
  if (!run) return;
  run.net.dispose();
  for (const t of [run.train.images, run.train.labels, run.test.images, run.test.labels]) {
    run.backend.dispose(t);
  }
  run.backend.close();
}
