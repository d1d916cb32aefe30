/**
 * Section 5.7.4 in the page: pick a backend, train the book's TwoLayerNet on the real
 * MNIST files, watch the loss and the accuracies, stop whenever. The loop is core's
 * trainNetwork, run in the page's worker: the page itself only draws.
 */
import { BROWSER_BACKENDS } from './backends.js';
import { listen, PAGE, send } from './worker-client.js';

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
      <label>accuracy every <input type="number" data-testid="every" value="${params.get('every') ?? 600}" min="0" /> iterations</label>
      <label>on <select data-testid="eval-on"><option value="both">both sets</option><option value="test">the test set alone</option></select></label>
      <label>the first <input type="number" data-testid="eval-samples" placeholder="all" min="1" /> images</label>
      <label><input type="checkbox" data-testid="eval-at-start" checked /> after the first iteration</label>
    </div>
    <p><button data-testid="start">Start</button><button data-testid="stop" disabled>Stop</button></p>
    <div class="status" data-testid="status">ready</div>
    <div class="row">
      <div><div>loss (per iteration)</div><canvas class="chart" data-testid="loss-chart" width="460" height="260"></canvas></div>
      <div><div>accuracy (train — blue, test — orange)</div><canvas class="chart" data-testid="acc-chart" width="460" height="260"></canvas></div>
    </div>
    <div class="status" data-testid="accuracy"></div>`;
  const $ = <T extends HTMLElement>(id: string) => root.querySelector(`[data-testid=${id}]`) as T;
  const status = $('status');
  let losses: number[] = [];
  let epochs: [number, number | null, number][] = [];
  let lastDraw = 0;
  let started = 0;
  let iters = 0;
  let description = '';

  const drawLoss = () =>
    drawLine($<HTMLCanvasElement>('loss-chart'), [losses.map((l, x) => [x, l])], ['#1f77b4']);
  const finish = () => {
    $<HTMLButtonElement>('start').disabled = false;
    $<HTMLButtonElement>('stop').disabled = true;
  };

  listen((message) => {
    switch (message.type) {
      case 'status':
        status.textContent = message.text;
        break;
      case 'started':
        description = message.description;
        started = performance.now();
        break;
      case 'losses': {
        losses.splice(message.from, message.values.length, ...message.values);
        const now = performance.now();
        if (now - lastDraw > 200) {
          lastDraw = now;
          // iterations a second of training, evaluation excluded
          const rate = losses.length / Math.max(message.trainSeconds, 1e-9);
          status.textContent = `${description} — iteration ${losses.length}/${iters}, loss ${losses.at(-1)?.toFixed(4)}, ${rate.toFixed(0)} it/s`;
          drawLoss();
        }
        break;
      }
      case 'epoch':
        epochs.push([
          message.record.iter,
          message.record.trainAccuracy,
          message.record.testAccuracy,
        ]);
        drawLine(
          $<HTMLCanvasElement>('acc-chart'),
          [
            epochs.flatMap(([x, a]): [number, number][] => (a === null ? [] : [[x, a]])),
            epochs.map(([x, , b]) => [x, b]),
          ],
          ['#1f77b4', '#ff7f0e'],
          [0, 1],
        );
        break;
      case 'done': {
        drawLoss();
        status.textContent = `${description} — ${message.interrupted ? 'stopped' : 'done'} after ${message.completedIters} iterations, ${message.msPerIter.toFixed(2)} ms/iter (${((performance.now() - started) / 1000).toFixed(1)} s in all)`;
        const acc = $('accuracy');
        if (message.final) {
          acc.dataset.testAccuracy = String(message.final.testAccuracy);
          acc.textContent = `final train accuracy ${message.final.trainAccuracy?.toFixed(4)}, test accuracy ${message.final.testAccuracy.toFixed(4)}`;
        } else {
          acc.textContent = 'stopped: the last weights were not measured';
        }
        finish();
        break;
      }
      case 'error':
        status.textContent = `error: ${message.message}`;
        finish();
        break;
    }
  });

  $('start').addEventListener('click', () => {
    const [itersValue, batchSize, learningRate, every] = ['iters', 'batch', 'lr', 'every'].map(
      (id) => Number($<HTMLInputElement>(id).value),
    );
    iters = itersValue;
    losses = [];
    epochs = [];
    $('accuracy').textContent = '';
    delete $('accuracy').dataset.testAccuracy;
    $<HTMLButtonElement>('start').disabled = true;
    $<HTMLButtonElement>('stop').disabled = false;
    const samples = $<HTMLInputElement>('eval-samples').value;
    send({
      type: 'train',
      base: PAGE,
      backend: $<HTMLSelectElement>('backend').value,
      iters,
      batchSize,
      learningRate,
      every,
      evalOn: $<HTMLSelectElement>('eval-on').value as 'both' | 'test',
      evalSamples: samples ? Number(samples) : undefined,
      evalAtStart: $<HTMLInputElement>('eval-at-start').checked,
    });
  });
  $('stop').addEventListener('click', () => send({ type: 'stop' }));
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
