/**
 * Section 5.7.4 in the page: pick a backend, train the book's TwoLayerNet on the real
 * MNIST files, watch the loss and the accuracies, stop whenever. The loop is core's
 * trainTwoLayerNet, which yields to the page every ~50 ms, so the page stays responsive.
 */
import {
  type Backend,
  type Dataset,
  Random,
  SGD,
  TwoLayerNet,
  toDataset,
  trainNetwork,
} from '@backprop/core';
import { BROWSER_BACKENDS, createChoice, loadMnistInBrowser } from './backends.js';
import { shared } from './state.js';

export function renderTrain(root: HTMLElement): void {
  const params = new URLSearchParams(location.search);
  root.innerHTML = `
    <h2>Train TwoLayerNet on MNIST (5.7.4)</h2>
    <div>
      <label>backend <select data-testid="backend">${BROWSER_BACKENDS.map(
        (n) => `<option>${n}</option>`,
      ).join('')}</select></label>
      <label>iterations <input type="number" data-testid="iters" value="${params.get('iters') ?? 10000}" min="1" /></label>
      <label>batch <input type="number" data-testid="batch" value="100" min="1" /></label>
      <label>learning rate <input type="number" data-testid="lr" value="0.1" step="any" /></label>
      <label>accuracy every <input type="number" data-testid="every" value="${params.get('every') ?? 600}" min="1" /> iterations</label>
    </div>
    <p><button data-testid="start">Start</button><button data-testid="stop" disabled>Stop</button></p>
    <div class="status" data-testid="status">ready</div>
    <div class="row">
      <div><div>loss (per iteration)</div><canvas class="chart" data-testid="loss-chart" width="460" height="260"></canvas></div>
      <div><div>accuracy (train — blue, test — orange)</div><canvas class="chart" data-testid="acc-chart" width="460" height="260"></canvas></div>
    </div>
    <div class="status" data-testid="accuracy"></div>`;
  const $ = <T extends HTMLElement>(id: string) => root.querySelector(`[data-testid=${id}]`) as T;
  let stop: AbortController | null = null;
  let current: { backend: Backend; train: Dataset; test: Dataset } | null = null;

  $('start').addEventListener('click', async () => {
    const name = $<HTMLSelectElement>('backend').value;
    const [iters, batchSize, learningRate, every] = ['iters', 'batch', 'lr', 'every'].map((id) =>
      Number($<HTMLInputElement>(id).value),
    );
    $<HTMLButtonElement>('start').disabled = true;
    $<HTMLButtonElement>('stop').disabled = false;
    stop = new AbortController();
    const status = $('status');
    try {
      const mnist = await loadMnistInBrowser((m) => {
        status.textContent = m;
      });
      status.textContent = `starting ${name}…`;
      if (current) {
        shared.net?.dispose();
        for (const t of [
          current.train.images,
          current.train.labels,
          current.test.images,
          current.test.labels,
        ])
          current.backend.dispose(t);
      }
      const backend = await createChoice(name);
      const train = toDataset(backend, mnist.train.images, mnist.train.labels, 784);
      const test = toDataset(backend, mnist.test.images, mnist.test.labels, 784);
      current = { backend, train, test };
      const random = new Random(0);
      const net = new TwoLayerNet(backend, { random });
      shared.net = net;
      shared.backendName = name;
      const losses: number[] = [];
      const epochs: [number, number, number][] = [];
      const started = performance.now();
      let lastDraw = 0;
      const result = await trainNetwork(
        net,
        train,
        test,
        {
          iters,
          batchSize,
          optimizer: new SGD(backend, learningRate),
          random,
          iterPerEpoch: every,
        },
        {
          signal: stop.signal,
          onIteration(i, loss) {
            losses.push(loss);
            const now = performance.now();
            if (now - lastDraw > 200) {
              lastDraw = now;
              const rate = (i + 1) / ((now - started) / 1000);
              status.textContent = `${backend.description} — iteration ${i + 1}/${iters}, loss ${loss.toFixed(4)}, ${rate.toFixed(0)} it/s`;
              drawLine(
                $<HTMLCanvasElement>('loss-chart'),
                [losses.map((l, x) => [x, l])],
                ['#1f77b4'],
              );
            }
          },
          onEpoch(record) {
            epochs.push([record.iter, record.trainAccuracy, record.testAccuracy]);
            drawLine(
              $<HTMLCanvasElement>('acc-chart'),
              [epochs.map(([x, a]) => [x, a]), epochs.map(([x, , b]) => [x, b])],
              ['#1f77b4', '#ff7f0e'],
              [0, 1],
            );
          },
        },
      );
      drawLine($<HTMLCanvasElement>('loss-chart'), [losses.map((l, x) => [x, l])], ['#1f77b4']);
      status.textContent = `${backend.description} — ${result.interrupted ? 'stopped' : 'done'} after ${result.completedIters} iterations, ${result.timing.msPerIter.toFixed(2)} ms/iter`;
      const acc = $('accuracy');
      acc.dataset.testAccuracy = String(result.final.testAccuracy);
      acc.textContent = `final train accuracy ${result.final.trainAccuracy.toFixed(4)}, test accuracy ${result.final.testAccuracy.toFixed(4)}`;
    } catch (error) {
      status.textContent = `error: ${(error as Error).message}`;
    } finally {
      $<HTMLButtonElement>('start').disabled = false;
      $<HTMLButtonElement>('stop').disabled = true;
    }
  });
  $('stop').addEventListener('click', () => stop?.abort());
}

/** A plain line chart on a canvas: axes and the lines, rescaled to what they hold. */
function drawLine(
  canvas: HTMLCanvasElement,
  series: [number, number][][],
  colors: string[],
  yRange?: [number, number],
): void {
  const ctx = canvas.getContext('2d') as CanvasRenderingContext2D;
  const { width, height } = canvas;
  const pad = 34;
  ctx.clearRect(0, 0, width, height);
  const all = series.flat();
  if (all.length === 0) return;
  const xMax = Math.max(...all.map((p) => p[0]), 1);
  const [y0, y1] = yRange ?? [0, Math.max(...all.map((p) => p[1]), 1e-9)];
  ctx.strokeStyle = '#333';
  ctx.strokeRect(pad, 8, width - pad - 8, height - pad - 8);
  ctx.fillStyle = '#333';
  ctx.font = '11px sans-serif';
  ctx.fillText(y1.toFixed(2), 2, 16);
  ctx.fillText(y0.toFixed(2), 2, height - pad);
  ctx.fillText(String(xMax), width - 40, height - 12);
  series.forEach((points, s) => {
    ctx.strokeStyle = colors[s];
    ctx.beginPath();
    points.forEach(([x, y], i) => {
      const px = pad + (x / xMax) * (width - pad - 8);
      const py = 8 + (1 - (y - y0) / (y1 - y0 || 1)) * (height - pad - 8);
      if (i === 0) ctx.moveTo(px, py);
      else ctx.lineTo(px, py);
    });
    ctx.stroke();
    if (points.length < 50) {
      // few points (accuracy once an epoch): mark each one
      ctx.fillStyle = colors[s];
      for (const [x, y] of points) {
        ctx.beginPath();
        ctx.arc(
          pad + (x / xMax) * (width - pad - 8),
          8 + (1 - (y - y0) / (y1 - y0 || 1)) * (height - pad - 8),
          3,
          0,
          2 * Math.PI,
        );
        ctx.fill();
      }
    }
  });
}
