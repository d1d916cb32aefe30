/**
 * Draw a digit; it is centred and scaled the way MNIST's were — the ink's bounding box
 * fitted into 20×20 (aspect kept), then placed in 28×28 with its centre of mass at the
 * centre — and the network trained last gives its ten probabilities as you draw.
 */
import type { NetworkChoice } from './protocol.js';
import { predict as ask, convolve } from './worker-client.js';

export function renderDraw(root: HTMLElement): void {
  root.innerHTML = `
    <h2>Draw a digit</h2>
    <p class="note">Draw with the mouse or a finger, or pick a test digit below. Until you train a network (the Train tab), a pre-trained one answers.</p>
    <p class="choice"><label for="draw-network">network</label>
    <select id="draw-network" data-testid="network">
      <option value="auto">trained last (Train tab), else pre-trained SimpleConvNet</option>
      <option value="convnet">pre-trained SimpleConvNet (convolution, 7.5)</option>
      <option value="mlp">pre-trained TwoLayerNet (5.7)</option>
    </select></p>
    <div class="row">
      <div>
        <canvas id="draw-canvas" data-testid="draw-canvas" width="280" height="280" role="img" aria-label="drawing area: draw a digit here, or pick a test digit below"></canvas>
        <p><button data-testid="clear">Clear</button></p>
      </div>
      <div><div>as the network sees it (28×28)</div><canvas data-testid="preview" width="112" height="112" role="img" aria-label="the drawing as the network sees it, 28 by 28 pixels" style="image-rendering: pixelated; border: 1px solid #ccc"></canvas></div>
      <div><div data-testid="prediction" role="status" aria-live="polite">no prediction yet</div><div data-testid="probs"></div><div class="status" data-testid="prob-sum"></div></div>
    </div>
    <h3>Test digits (the first 20 of MNIST's test set)</h3>
    <div class="digits" data-testid="test-digits"></div>
    <section class="convolution" aria-labelledby="convolution-heading">
      <h3 id="convolution-heading">What the convolution sees (7.5–7.6)</h3>
      <p class="note">The pre-trained SimpleConvNet's first layer: 30 filters of 5×5, each slid over the image (im2col and one matrix product). Before training they are noise (0.01·N(0, 1)); after, many find edges and blobs — the book's figure 7-24. Below them, what each filter finds in your drawing after ReLU: 30 maps of 24×24, the input of the pooling layer.</p>
      <div class="status" data-testid="conv-status" role="status" aria-live="polite">loading the pre-trained SimpleConvNet…</div>
      <div><div>filters before training</div><div class="filters" data-testid="conv-filters-before"></div></div>
      <div><div>filters after training</div><div class="filters" data-testid="conv-filters-after"></div></div>
      <div><div>feature maps of the drawing (dark: nothing found)</div><div class="maps" data-testid="conv-maps"><span class="note">draw a digit or pick one above</span></div></div>
    </section>`;
  const canvas = root.querySelector('#draw-canvas') as HTMLCanvasElement;
  const ctx = canvas.getContext('2d', { willReadFrequently: true }) as CanvasRenderingContext2D;
  const clear = () => {
    ctx.fillStyle = 'black';
    ctx.fillRect(0, 0, canvas.width, canvas.height);
  };
  clear();
  let drawing = false;
  let last: [number, number] | null = null;
  const at = (event: PointerEvent): [number, number] => {
    const box = canvas.getBoundingClientRect();
    return [
      ((event.clientX - box.left) * canvas.width) / box.width,
      ((event.clientY - box.top) * canvas.height) / box.height,
    ];
  };
  canvas.addEventListener('pointerdown', (event) => {
    drawing = true;
    last = at(event);
    canvas.setPointerCapture(event.pointerId);
  });
  canvas.addEventListener('pointermove', (event) => {
    if (!drawing || !last) return;
    const point = at(event);
    ctx.strokeStyle = 'white';
    ctx.lineWidth = 20;
    ctx.lineCap = 'round';
    ctx.beginPath();
    ctx.moveTo(...last);
    ctx.lineTo(...point);
    ctx.stroke();
    last = point;
    void predict();
  });
  canvas.addEventListener('pointerup', () => {
    drawing = false;
    last = null;
    void predict();
  });
  const preview = root.querySelector('[data-testid=preview]') as HTMLCanvasElement;
  const choice = root.querySelector('[data-testid=network]') as HTMLSelectElement;
  choice.addEventListener('change', () => void predict());
  void showConvolution(root, null);
  root.querySelector('[data-testid=clear]')?.addEventListener('click', () => {
    clear();
    for (const id of ['probs', 'prob-sum'])
      (root.querySelector(`[data-testid=${id}]`) as HTMLElement).innerHTML = '';
    (root.querySelector('[data-testid=prediction]') as HTMLElement).textContent =
      'no prediction yet';
    (preview.getContext('2d') as CanvasRenderingContext2D).clearRect(
      0,
      0,
      preview.width,
      preview.height,
    );
    void showConvolution(root, null);
  });

  // The test digits: buttons (reachable by keyboard) that draw a digit into the canvas.
  void fetch(new URL('./pretrained/test-digits.bin', document.baseURI))
    .then((r) => (r.ok ? r.arrayBuffer() : Promise.reject(new Error(`HTTP ${r.status}`))))
    .then((buffer) => {
      const bytes = new Uint8Array(buffer);
      const grid = root.querySelector('[data-testid=test-digits]') as HTMLElement;
      for (let i = 0; i * 785 < bytes.length; i++) {
        const pixels = bytes.subarray(i * 785, i * 785 + 784);
        const label = bytes[i * 785 + 784];
        const button = document.createElement('button');
        button.className = 'digit';
        button.dataset.testid = `test-digit-${i}`;
        button.setAttribute('aria-label', `classify test digit ${i + 1}, labelled ${label}`);
        const thumb = document.createElement('canvas');
        thumb.width = thumb.height = 28;
        const image = new ImageData(28, 28);
        for (const [p, v] of pixels.entries()) image.data.set([v, v, v, 255], p * 4);
        (thumb.getContext('2d') as CanvasRenderingContext2D).putImageData(image, 0, 0);
        button.append(thumb);
        button.addEventListener('click', () => {
          clear();
          ctx.imageSmoothingEnabled = true;
          ctx.drawImage(thumb, 0, 0, canvas.width, canvas.height);
          void predict(label);
        });
        grid.append(button);
      }
    })
    .catch((error: Error) => {
      (root.querySelector('[data-testid=test-digits]') as HTMLElement).textContent =
        `the test digits could not be loaded: ${error.message}`;
    });

  let busy = false;
  /** Classifies what is on the canvas; `label`: the true digit, when it is a test digit. */
  async function predict(label?: number): Promise<void> {
    const pixels = toMnist(canvas, preview);
    const line = root.querySelector('[data-testid=prediction]') as HTMLElement;
    if (!pixels) return;
    if (busy && label === undefined) return;
    busy = true;
    try {
      const [{ probs, network }] = await Promise.all([
        ask(pixels, choice.value as NetworkChoice),
        showConvolution(root, pixels),
      ]);
      if (!probs) {
        line.textContent =
          'no network yet: the pre-trained one did not load; train one on the Train tab';
        return;
      }
      const p = probs;
      const best = p.indexOf(Math.max(...p));
      const verdict =
        label === undefined ? '' : best === label ? ' — right' : ` — wrong: it is a ${label}`;
      line.innerHTML = `prediction: <b data-testid="predicted">${best}</b>${verdict} (${network})`;
      (root.querySelector('[data-testid=probs]') as HTMLElement).innerHTML = p
        .map(
          (v, d) =>
            `<div class="prob"><span>${d}</span><span data-testid="prob-${d}" data-value="${v}">${v.toFixed(3)}</span><span class="bar" style="width:${Math.round(v * 200)}px"></span></div>`,
        )
        .join('');
      (root.querySelector('[data-testid=prob-sum]') as HTMLElement).textContent =
        `sum ${p.reduce((a, b) => a + b, 0).toFixed(4)}`;
    } finally {
      busy = false;
    }
  }
}

/** Draws the convolution's filters (once) and its feature maps of `pixels`, from the worker. */
async function showConvolution(root: HTMLElement, pixels: Float32Array | null): Promise<void> {
  const status = root.querySelector('[data-testid=conv-status]') as HTMLElement;
  const view = await convolve(pixels);
  if (!view) {
    status.textContent = 'the pre-trained SimpleConvNet did not load';
    return;
  }
  status.textContent = view.network;
  const { filters, size } = view;
  for (const [which, values] of [
    ['before', view.before],
    ['after', view.after],
  ] as const) {
    const row = root.querySelector(`[data-testid=conv-filters-${which}]`) as HTMLElement;
    if (row.childElementCount === filters) continue; // drawn already: filters do not change
    row.replaceChildren(
      ...Array.from({ length: filters }, (_, f) =>
        grayImage(
          values.subarray(f * size * size, (f + 1) * size * size),
          size,
          true,
          `filter ${f + 1} ${which} training`,
        ),
      ),
    );
  }
  const maps = root.querySelector('[data-testid=conv-maps]') as HTMLElement;
  if (!view.maps) {
    maps.innerHTML = '<span class="note">draw a digit or pick one above</span>';
    return;
  }
  const { mapSize } = view;
  const all = view.maps;
  maps.replaceChildren(
    ...Array.from({ length: filters }, (_, f) =>
      grayImage(
        all.subarray(f * mapSize * mapSize, (f + 1) * mapSize * mapSize),
        mapSize,
        false,
        `feature map ${f + 1}`,
      ),
    ),
  );
}

/**
 * A size×size image of `values`, scaled from its own smallest to largest value (as
 * matplotlib's imshow): filters dark where large (the book's gray_r), maps light where a
 * filter found something.
 */
function grayImage(
  values: Float32Array,
  size: number,
  darkIsLarge: boolean,
  label: string,
): HTMLCanvasElement {
  const canvas = document.createElement('canvas');
  canvas.width = canvas.height = size;
  canvas.setAttribute('role', 'img');
  canvas.setAttribute('aria-label', label);
  let [lo, hi] = [Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY];
  for (const v of values) [lo, hi] = [Math.min(lo, v), Math.max(hi, v)];
  const image = new ImageData(size, size);
  for (const [i, v] of values.entries()) {
    const level = hi > lo ? (v - lo) / (hi - lo) : 0;
    const shade = Math.round(255 * (darkIsLarge ? 1 - level : level));
    image.data.set([shade, shade, shade, 255], i * 4);
  }
  (canvas.getContext('2d') as CanvasRenderingContext2D).putImageData(image, 0, 0);
  return canvas;
}

/** The drawing as MNIST would have it: 784 values in [0, 1], or null when there is no ink. */
export function toMnist(
  source: HTMLCanvasElement,
  preview?: HTMLCanvasElement,
): Float32Array | null {
  const { width, height } = source;
  const image = (source.getContext('2d') as CanvasRenderingContext2D).getImageData(
    0,
    0,
    width,
    height,
  ).data;
  let [x0, y0, x1, y1] = [width, height, -1, -1];
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (image[(y * width + x) * 4] > 20)
        [x0, y0, x1, y1] = [Math.min(x0, x), Math.min(y0, y), Math.max(x1, x), Math.max(y1, y)];
    }
  }
  if (x1 < 0) return null;
  // the ink's box, fitted into 20×20 with its aspect kept
  const [bw, bh] = [x1 - x0 + 1, y1 - y0 + 1];
  const scale = 20 / Math.max(bw, bh);
  const [w, h] = [Math.max(1, Math.round(bw * scale)), Math.max(1, Math.round(bh * scale))];
  const small = document.createElement('canvas');
  small.width = w;
  small.height = h;
  const sctx = small.getContext('2d', { willReadFrequently: true }) as CanvasRenderingContext2D;
  sctx.imageSmoothingQuality = 'high';
  sctx.drawImage(source, x0, y0, bw, bh, 0, 0, w, h);
  const scaled = sctx.getImageData(0, 0, w, h).data;
  // its centre of mass, moved to the centre of 28×28
  let [mass, mx, my] = [0, 0, 0];
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const v = scaled[(y * w + x) * 4] / 255;
      mass += v;
      mx += v * x;
      my += v * y;
    }
  }
  const [ox, oy] = [Math.round(14 - mx / mass), Math.round(14 - my / mass)];
  const pixels = new Float32Array(784);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const [tx, ty] = [x + ox, y + oy];
      if (tx >= 0 && tx < 28 && ty >= 0 && ty < 28)
        pixels[ty * 28 + tx] = scaled[(y * w + x) * 4] / 255;
    }
  }
  if (preview) {
    const pctx = preview.getContext('2d') as CanvasRenderingContext2D;
    const out = pctx.createImageData(28, 28);
    for (const [i, v] of pixels.entries()) out.data.set([v * 255, v * 255, v * 255, 255], i * 4);
    const tmp = document.createElement('canvas');
    tmp.width = tmp.height = 28;
    (tmp.getContext('2d') as CanvasRenderingContext2D).putImageData(out, 0, 0);
    pctx.imageSmoothingEnabled = false;
    pctx.drawImage(tmp, 0, 0, preview.width, preview.height);
  }
  return pixels;
}
