/**
 * Section 5.7.4 in the page: pick a backend, train the book's TwoLayerNet on the real
 * MNIST files, watch the loss and the accuracies, stop whenever. The loop is core's
 * trainNetwork, run in the page's worker: the page itself only draws.
 */
import { type LineChart, renderCharts } from '@backprop/charts';
import { BROWSER_BACKENDS, downloadText, probeChoice } from './backends.js';
import { escapeHtml } from './html.js';
import { listen, PAGE, send } from './worker-client.js';

// Colours at 4.5:1 or more on white; train and test also differ by line style.
const TRAIN_COLOR = '#1f5f99';
const TEST_COLOR = '#b23a00';
const LOSS_COLOR = '#3b3b8f';

/** The inputs: each with its rule, checked before anything is sent to the worker. */
const FIELDS = [
  {
    id: 'iters',
    label: 'iterations',
    value: '10000',
    check: (v: number) => Number.isInteger(v) && v >= 1,
    rule: 'a whole number ≥ 1',
  },
  {
    id: 'batch',
    label: 'batch',
    value: '100',
    check: (v: number) => Number.isInteger(v) && v >= 1 && v <= 60_000,
    rule: 'a whole number from 1 to 60000',
  },
  {
    id: 'lr',
    label: 'learning rate',
    value: '0.1',
    check: (v: number) => Number.isFinite(v) && v > 0,
    rule: 'a number > 0',
  },
  {
    id: 'every',
    label: 'accuracy every',
    value: '600',
    // core's rule (checkTrainConfig), as the command line's --eval-every
    check: (v: number) => Number.isInteger(v) && v >= 0,
    rule: 'a whole number ≥ 0 (iterations; 0: only at the end)',
  },
] as const;

export function renderTrain(root: HTMLElement): void {
  const params = new URLSearchParams(location.search);
  const preset: Record<string, string | null> = {
    iters: params.get('iters'),
    every: params.get('every'),
  };
  root.innerHTML = `
    <h2>Train TwoLayerNet on MNIST (5.7.4)</h2>
    <form data-testid="train-form" novalidate>
      <label>backend <select data-testid="backend">${BROWSER_BACKENDS.map(
        (n) => `<option value="${n}" disabled>${n} (checking…)</option>`,
      ).join('')}</select></label>
      ${FIELDS.map(
        (f) =>
          `<label>${f.label} <input type="number" inputmode="decimal" data-testid="${f.id}" value="${preset[f.id] ?? f.value}" step="any" aria-describedby="form-error" /></label>`,
      ).join('')}
      <label>on <select data-testid="eval-on"><option value="both">both sets</option><option value="test">the test set alone</option></select></label>
      <label>the first <input type="number" data-testid="eval-samples" placeholder="all" min="1" aria-label="measure on the first N images (empty: all)" /> images</label>
      <label><input type="checkbox" data-testid="eval-at-start" checked /> measure after the first iteration</label>
      <p class="form-error" id="form-error" data-testid="form-error" role="alert"></p>
      <p><button type="submit" data-testid="start" disabled>Start</button><button type="button" data-testid="stop" disabled>Stop</button></p>
    </form>
    <div data-testid="backend-notes" class="note"></div>
    <div class="download" data-testid="download-box" hidden>
      <progress data-testid="download" max="1" value="0" aria-label="MNIST download"></progress>
      <span data-testid="download-text"></span>
    </div>
    <div class="status" data-testid="status" role="status" aria-live="polite">ready</div>
    <div class="charts" data-testid="charts"></div>
    <div class="status" data-testid="accuracy" role="status" aria-live="polite"></div>
    <div class="row insight" data-testid="insight" hidden>
      <div>
        <h3>What the first layer looks for</h3>
        <p class="note">Each of its weight vectors (one a hidden unit) as a 28×28 image: red where ink raises the unit, blue where it lowers it.</p>
        <canvas class="weights" data-testid="weights" role="img" aria-label="the first layer's weight vectors as images"></canvas>
      </div>
      <div>
        <h3>The first 100 test digits</h3>
        <p class="note">What the network says of each; a mistake is boxed in red, with its answer in the corner.</p>
        <canvas class="predictions" data-testid="predictions" width="300" height="300" role="img" aria-label="the first 100 test digits and the network's answers"></canvas>
        <p data-testid="predictions-summary" role="status" aria-live="polite"></p>
      </div>
    </div>`;
  const $ = <T extends HTMLElement>(id: string) => root.querySelector(`[data-testid=${id}]`) as T;
  const form = $<HTMLFormElement>('train-form');
  const select = $<HTMLSelectElement>('backend');
  const status = $('status');
  const available = new Map<string, string>(); // choice → '' or why not

  // Each backend probed before it is offered: the ones this browser cannot run stay
  // disabled, with the reason beside the menu.
  void Promise.all(
    BROWSER_BACKENDS.map(async (choice) => {
      const reason = await probeChoice(choice);
      available.set(choice, reason);
      const option = select.querySelector(`option[value="${choice}"]`) as HTMLOptionElement;
      option.disabled = reason !== '';
      option.textContent = reason ? `${choice} (not here)` : choice;
    }),
  ).then(() => {
    const first = BROWSER_BACKENDS.find((c) => available.get(c) === '');
    if (first && (!select.value || select.selectedOptions[0]?.disabled)) select.value = first;
    $<HTMLButtonElement>('start').disabled = !first;
    const missing = BROWSER_BACKENDS.filter((c) => available.get(c));
    $('backend-notes').innerHTML = missing
      .map((c) => `<div><b>${c}</b> is not offered: ${escapeHtml(available.get(c) ?? '')}</div>`)
      .join('');
    select.dataset.probed = 'true';
  });

  let losses: number[] = [];
  let epochs: { iter: number; train: number | null; test: number }[] = [];
  let finalPoint: { iter: number; train: number | null; test: number } | null = null;
  let lastDraw = 0;
  let started = 0;
  let iters = 0;
  let description = '';
  let testDigits: { images: Float32Array; labels: number[] } | null = null;

  const drawCharts = () => {
    const xRange: [number, number] = [0, Math.max(iters - 1, 1)];
    const points = [...epochs, ...(finalPoint ? [finalPoint] : [])];
    const charts: LineChart[] = [
      {
        title: 'Loss (each mini-batch)',
        xLabel: 'iteration',
        yLabel: 'loss',
        xRange,
        series: [{ label: 'loss', points: thin(losses), color: LOSS_COLOR }],
      },
      {
        title: 'Accuracy',
        xLabel: 'iteration',
        yLabel: 'accuracy',
        yRange: [0, 1],
        xRange,
        legendAt: 'bottom',
        // test first, so the dashed train line is drawn over it where they meet
        series: [
          {
            label: 'test',
            points: points.map((p) => [p.iter, p.test]),
            color: TEST_COLOR,
            markers: true,
          },
          {
            label: 'train (dashed)',
            points: points.flatMap((p): [number, number][] =>
              p.train === null ? [] : [[p.iter, p.train]],
            ),
            color: TRAIN_COLOR,
            dashed: true,
            markers: true,
          },
        ],
      },
    ];
    // one SVG a chart: side by side on a wide screen, one above the other on a phone
    $('charts').innerHTML = charts.map((chart) => renderCharts([chart])).join('');
  };
  const setRunning = (running: boolean) => {
    for (const control of form.querySelectorAll<
      HTMLInputElement | HTMLSelectElement | HTMLButtonElement
    >('input, select, button'))
      control.disabled = control.dataset.testid === 'stop' ? !running : running;
    // the probe's verdicts hold again once unlocked
    if (!running)
      for (const option of select.options)
        option.disabled = (available.get(option.value) ?? 'checking') !== '';
  };

  listen((message) => {
    switch (message.type) {
      case 'status':
        status.textContent = message.text;
        break;
      case 'download': {
        $('download-box').hidden = false;
        const bar = $<HTMLProgressElement>('download');
        bar.max = Math.max(message.total, 1);
        bar.value = message.cached ? message.total : message.loaded;
        $('download-text').textContent = downloadText(message);
        $('download-box').dataset.cached = String(message.cached);
        break;
      }
      case 'started':
        description = message.description;
        started = performance.now();
        status.textContent = `${description} — training…`;
        break;
      case 'losses': {
        losses.splice(message.from, message.values.length, ...message.values);
        const now = performance.now();
        if (now - lastDraw > 250) {
          lastDraw = now;
          // iterations a second of training, evaluation excluded
          const rate = losses.length / Math.max(message.trainSeconds, 1e-9);
          status.textContent = `${description} — iteration ${losses.length}/${iters}, loss ${losses.at(-1)?.toFixed(4)}, ${rate.toFixed(0)} it/s`;
          drawCharts();
        }
        break;
      }
      case 'test-digits':
        testDigits = message;
        $('insight').hidden = false;
        break;
      case 'insight':
        drawWeights($<HTMLCanvasElement>('weights'), message.W1, message.hidden);
        if (testDigits) {
          const wrong = drawPredictions(
            $<HTMLCanvasElement>('predictions'),
            testDigits,
            message.predicted,
          );
          const summary = $('predictions-summary');
          summary.dataset.right = String(message.predicted.length - wrong.length);
          summary.textContent = `${message.iter < 0 ? 'before training' : `after iteration ${message.iter}`}: ${message.predicted.length - wrong.length} of ${message.predicted.length} right${
            wrong.length
              ? `; wrong: ${wrong
                  .slice(0, 8)
                  .map(([i, label, said]) => `#${i + 1} is a ${label}, said ${said}`)
                  .join('; ')}${wrong.length > 8 ? `; and ${wrong.length - 8} more` : ''}`
              : ''
          }`;
        }
        break;
      case 'epoch':
        epochs.push({
          iter: message.record.iter,
          train: message.record.trainAccuracy,
          test: message.record.testAccuracy,
        });
        drawCharts();
        break;
      case 'done': {
        status.textContent = `${description} — ${message.interrupted ? 'stopped' : 'done'} after ${message.completedIters} iterations, ${message.msPerIter.toFixed(2)} ms/iter (${((performance.now() - started) / 1000).toFixed(1)} s in all)`;
        const acc = $('accuracy');
        if (message.final) {
          const iter = message.completedIters - 1;
          // the final measurement, plotted unless the last epoch's was this same one
          if (epochs.at(-1)?.iter !== iter)
            finalPoint = {
              iter,
              train: message.final.trainAccuracy,
              test: message.final.testAccuracy,
            };
          acc.dataset.testAccuracy = String(message.final.testAccuracy);
          acc.textContent = `final${message.final.trainAccuracy === null ? '' : ` train accuracy ${message.final.trainAccuracy.toFixed(4)},`} test accuracy ${message.final.testAccuracy.toFixed(4)}`;
        } else {
          acc.textContent = 'stopped: the last weights were not measured';
        }
        drawCharts();
        setRunning(false);
        break;
      }
      case 'error':
        // the previous network (if any) is still the one the Draw tab uses
        status.textContent = `error: ${message.message}`;
        setRunning(false);
        break;
    }
  });

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const values: Record<string, number> = {};
    const wrong: string[] = [];
    for (const field of FIELDS) {
      const input = $<HTMLInputElement>(field.id);
      const value = Number(input.value);
      const ok = input.value.trim() !== '' && field.check(value);
      input.setAttribute('aria-invalid', String(!ok));
      if (!ok) wrong.push(`${field.label} must be ${field.rule}, got “${input.value}”`);
      values[field.id] = value;
    }
    const samples = $<HTMLInputElement>('eval-samples').value;
    if (samples && !(Number.isInteger(Number(samples)) && Number(samples) >= 1))
      wrong.push(`the first N images: N must be a whole number ≥ 1, got “${samples}”`);
    $('form-error').textContent = wrong.join('; ');
    if (wrong.length > 0) return;
    iters = values.iters as number;
    losses = [];
    epochs = [];
    finalPoint = null;
    $('accuracy').textContent = '';
    delete $('accuracy').dataset.testAccuracy;
    drawCharts();
    setRunning(true);
    send({
      type: 'train',
      base: PAGE,
      backend: select.value,
      iters,
      batchSize: values.batch as number,
      learningRate: values.lr as number,
      every: values.every as number,
      evalOn: $<HTMLSelectElement>('eval-on').value as 'both' | 'test',
      evalSamples: samples ? Number(samples) : undefined,
      evalAtStart: $<HTMLInputElement>('eval-at-start').checked,
    });
  });
  $('stop').addEventListener('click', () => send({ type: 'stop' }));
  drawCharts();
}

/** Each hidden unit's weights as a 28×28 tile, 10 a row: red positive, blue negative, scaled by the unit's largest. */
function drawWeights(canvas: HTMLCanvasElement, W1: Float32Array, hidden: number): void {
  const columns = 10;
  const rows = Math.ceil(hidden / columns);
  canvas.width = columns * 30;
  canvas.height = rows * 30;
  const ctx = canvas.getContext('2d') as CanvasRenderingContext2D;
  ctx.fillStyle = 'white';
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  for (let unit = 0; unit < hidden; unit++) {
    let largest = 1e-12;
    for (let p = 0; p < 784; p++)
      largest = Math.max(largest, Math.abs(W1[p * hidden + unit] as number));
    const tile = ctx.createImageData(28, 28);
    for (let p = 0; p < 784; p++) {
      const v = (W1[p * hidden + unit] as number) / largest; // -1 … 1
      const [r, g, b] =
        v > 0 ? [255, 255 * (1 - v), 255 * (1 - v)] : [255 * (1 + v), 255 * (1 + v), 255];
      tile.data.set([r, g, b, 255], p * 4);
    }
    ctx.putImageData(tile, (unit % columns) * 30 + 1, Math.floor(unit / columns) * 30 + 1);
  }
}

/** The digits 10 a row, mistakes boxed in red with the answer; returns [index, label, answer] of each mistake. */
function drawPredictions(
  canvas: HTMLCanvasElement,
  digits: { images: Float32Array; labels: number[] },
  predicted: number[],
): [number, number, number][] {
  const ctx = canvas.getContext('2d') as CanvasRenderingContext2D;
  ctx.fillStyle = 'white';
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  const wrong: [number, number, number][] = [];
  predicted.forEach((said, i) => {
    const [x, y] = [(i % 10) * 30 + 1, Math.floor(i / 10) * 30 + 1];
    const tile = ctx.createImageData(28, 28);
    for (let p = 0; p < 784; p++) {
      const v = 255 - 255 * (digits.images[i * 784 + p] as number); // ink dark on white
      tile.data.set([v, v, v, 255], p * 4);
    }
    ctx.putImageData(tile, x, y);
    const label = digits.labels[i] as number;
    if (said !== label) {
      wrong.push([i, label, said]);
      ctx.strokeStyle = '#c00000';
      ctx.lineWidth = 2;
      ctx.strokeRect(x, y, 28, 28);
      ctx.fillStyle = '#c00000';
      ctx.font = 'bold 11px sans-serif';
      ctx.fillText(String(said), x + 20, y + 10);
    }
  });
  return wrong;
}

/** At most ~600 points (the mean of each run of losses): the trend, at any length. */
function thin(values: number[]): [number, number][] {
  const step = Math.max(1, Math.ceil(values.length / 600));
  const points: [number, number][] = [];
  for (let i = 0; i < values.length; i += step) {
    const run = values.slice(i, i + step);
    points.push([i + (run.length - 1) / 2, run.reduce((a, b) => a + b, 0) / run.length]);
  }
  return points;
}
