/**
 * The playground in a real browser: Debian's Chromium driven by playwright-core, headless,
 * with background networking off (no browser download: none can happen here). The built
 * page is served from dist/ on 127.0.0.1. Screenshots of each tab are kept in
 * test-artifacts/ for a person to look at.
 */
import { existsSync, mkdirSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EVAL_CHUNK_MS } from '@backprop/core';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serve } from '../scripts/serve.mjs';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const artifacts = fileURLToPath(new URL('../test-artifacts/', import.meta.url));
// Every page and state at a desktop's and a phone's size, rewritten on each run and
// committed: a person looks at them before each commit.
const screenshots = fileURLToPath(new URL('../screenshots/', import.meta.url));
const PHONE = { width: 390, height: 844 };
const DESKTOP = { width: 1280, height: 800 };
const missing = existsSync(CHROMIUM)
  ? ''
  : `no browser at ${CHROMIUM} (Debian: apt-get install chromium; or set CHROMIUM_PATH)`;

// The page's conformance suite, whole, where a browser runs a backend differently from
// Node: WebAssembly (wasm: the browser's engine, its threads Web Workers sharing memory
// under cross-origin isolation) and WebGL (TensorFlow.js's and gpu.js's own GL paths: no
// other place runs them). What runs the same here as in Node is proven there, whole: cpu
// is the same JavaScript, tfjs-wasm the same engine, and webgpu, tfjs-webgpu and
// gpujs-webgpu the same WGSL on the same Dawn and SwiftShader — here they show that they
// start and train in a page's worker as the oracle does.
const PAGE_SUITE = ['wasm', 'tfjs-webgl', 'gpujs-webgl2'];
const IN_NODE_TOO = ['cpu:float32', 'webgpu', 'tfjs-webgpu', 'gpujs-webgpu'];
const TRAINS_LIKE_THE_ORACLE = 'training/20 SGD steps agree with the oracle';

let server: Server;
let browser: Browser;
let base = '';

/** Every page error and console error of each page: a test ends with none (`close`). */
const problems = new WeakMap<Page, string[]>();
function watch(page: Page): Page {
  const seen: string[] = [];
  problems.set(page, seen);
  page.on('pageerror', (error) => seen.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error') seen.push(`console error: ${message.text()}`);
  });
  return page;
}
/** Closes the page; none of its errors may remain but those a test expects (`allowed`). */
async function close(page: Page, allowed?: RegExp): Promise<void> {
  const seen = (problems.get(page) ?? []).filter((text) => !allowed?.test(text));
  await page.close();
  expect(seen, 'page and console errors').toEqual([]);
}

async function open(
  path: string,
  viewport = { width: 1280, height: 800 },
  context?: BrowserContext,
): Promise<Page> {
  const page = watch(await (context ?? browser).newPage({ viewport }));
  // No wait of the page's own times out: the test's timeout (tooling/vitest.config.ts)
  // catches a hang, and what a wait takes is not what a test here checks.
  page.setDefaultTimeout(0);
  // Every long task (≥ 50 ms on the page's main thread), with when it started.
  await page.addInitScript(() => {
    const tasks: [start: number, duration: number][] = [];
    (window as unknown as { longTasks: typeof tasks }).longTasks = tasks;
    new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) tasks.push([entry.startTime, entry.duration]);
    }).observe({ type: 'longtask', buffered: true });
  });
  await page.goto(`${base}${path}`);
  return page;
}

/**
 * What the fixed loop of `slowdown` took on a page's main thread on the reference machine
 * (2 cores, AMD EPYC, Debian's Chromium 156, 2026-12-01): 152–206 ms over seven runs with
 * the other core busy; the quickest is the unit.
 */
const REFERENCE_LOOP_MS = 150;

/**
 * How many times slower than the reference machine this page's main thread runs now: a
 * fixed loop timed here, at least 1. Bounds on the page's own times are multiplied by it,
 * so they hold on a slower CPU and under load. By default the loop runs with a worker of
 * the page spinning beside it, as a training worker would: timed with the worker idle,
 * the loop had a core the page's tasks later did not (a CI run under two busy processes
 * timed it at 1.0 and then saw a 328 ms chart redraw). With `beside: 'training'` it runs
 * with nothing added, for timing it while the page's own worker trains (see
 * `slowdownWhileTraining`). Each loop's span is kept in `window.calibrations`, so the
 * page's long tasks can leave the loop itself out.
 */
async function slowdown(
  page: Page,
  beside: 'spinning worker' | 'training' = 'spinning worker',
): Promise<number> {
  const ms = await page.evaluate(async (spinWorker) => {
    const spin = URL.createObjectURL(new Blob(['for (;;) {}'], { type: 'text/javascript' }));
    const busy = spinWorker ? new Worker(spin) : undefined;
    if (busy) await new Promise((resolve) => setTimeout(resolve, 50)); // the worker under way
    const started = performance.now();
    let x = 0;
    for (let i = 0; i < 5_000_000; i++) x = (x + i * 1.000001) % 1e9;
    const took = performance.now() - started;
    busy?.terminate();
    URL.revokeObjectURL(spin);
    const w = window as unknown as { sink: number; calibrations?: [number, number][] };
    w.sink = x;
    w.calibrations = [...(w.calibrations ?? []), [started, started + took]];
    return took;
  }, beside === 'spinning worker');
  return Math.max(1, ms / REFERENCE_LOOP_MS);
}

/**
 * The page's slowdown measured again and again while its worker trains, until `done`
 * holds: the largest. The load a backend puts on the machine is its own (tfjs-wasm and
 * wasm run a pool of threads, WebGL a GPU process), and a loop timed before or after the
 * run does not see it: a CI run under two busy processes timed 1.92 around a tfjs-wasm
 * run whose chart redraw then took 487 ms.
 */
async function slowdownWhileTraining(page: Page, done: () => Promise<boolean>): Promise<number> {
  let largest = 1;
  while (!(await done())) {
    largest = Math.max(largest, await slowdown(page, 'training'));
    await page.waitForTimeout(250); // the page's own tasks run between the loops
  }
  return largest;
}

/** Picks a backend once the page has probed which ones this browser runs. */
async function chooseBackend(page: Page, backend: string): Promise<void> {
  await page.waitForSelector('[data-testid=backend][data-probed]');
  await page.getByTestId('backend').selectOption(backend);
}

/** Starts a run on `backend` from the open Train tab and waits for its final accuracy. */
async function trainToEnd(page: Page, backend: string): Promise<void> {
  await chooseBackend(page, backend);
  await page.getByTestId('start').click();
  await page.waitForFunction(
    () => document.querySelector('[data-testid=accuracy]')?.getAttribute('data-test-accuracy'),
    null,
    { timeout: 0 },
  );
}

/**
 * The longest task on the page's main thread since `since` (page time, ms); 0 when none.
 * The loops `slowdown` ran are not the page's tasks: a task that holds one is left out.
 */
const longestTaskSince = (page: Page, since: number) =>
  page.evaluate((from) => {
    const w = window as unknown as {
      longTasks: [number, number][];
      calibrations?: [number, number][];
    };
    const calibration = ([start, duration]: [number, number]) =>
      (w.calibrations ?? []).some(([a, b]) => start <= a && b <= start + duration);
    return Math.max(
      0,
      ...w.longTasks
        .filter((task) => task[0] >= from && !calibration(task))
        .map(([, duration]) => duration),
    );
  }, since);

// CI installs Chromium and sets REQUIRE_CHROMIUM=1, so there a missing browser fails.
it.skipIf(!missing || !process.env.REQUIRE_CHROMIUM)(
  'has a browser to test with (REQUIRE_CHROMIUM)',
  () => {
    expect.fail(missing);
  },
);

describe.skipIf(missing)(
  `the playground in Chromium${missing ? ` — skipped: ${missing}` : ''}`,
  () => {
    beforeAll(async () => {
      mkdirSync(artifacts, { recursive: true });
      mkdirSync(screenshots, { recursive: true });
      server = await serve(0);
      base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
      browser = await chromium.launch({
        executablePath: CHROMIUM,
        headless: true,
        timeout: 0, // the hook's timeout catches a hang
        args: [
          '--no-sandbox',
          '--disable-background-networking',
          '--disable-component-update',
          '--disable-sync',
          '--no-first-run',
          '--disable-quic',
          '--enable-unsafe-swiftshader',
          '--use-angle=swiftshader',
          // WebGPU on a machine without a GPU driver Chromium trusts: SwiftShader's adapter
          '--enable-unsafe-webgpu',
        ],
      });
    });
    afterAll(async () => {
      await browser?.close();
      server?.close();
    });

    it('draws the shopping graph: 715, and after backward 110, 2.2, 3.3, 165, 650; edits update it', async () => {
      const page = await open('#graph');
      expect(await page.getByTestId('price').textContent()).toBe('715');
      await page.getByTestId('backward').click();
      const grad = async (id: string) => page.getByTestId(`grad-${id}`).textContent();
      expect(await grad('appleNum')).toBe('110');
      expect(await grad('apple')).toBe('2.2');
      expect(await grad('orange')).toBe('3.3');
      expect(await grad('orangeNum')).toBe('165');
      expect(await grad('tax')).toBe('650');
      await page.screenshot({ path: join(screenshots, 'graph-backward-1280.png') });
      await page.locator('input[data-input=appleNum]').fill('4');
      expect(await page.getByTestId('price').textContent()).toBe('935'); // (400 + 450) · 1.1
      expect(await grad('tax')).toBe('850');
      await close(page);
    });

    // A short run on each backend the browser has: 50 iterations reach 0.48 on the
    // command line with the same seed and settings (`backprop train --iters 50 --eval-on
    // test`, cpu float32 and wasm alike; 0.74 at 100), so 0.3 is three times chance (0.1)
    // with room for a backend's float32 rounding: what this proves is that the worker
    // trains on that backend. And the page's main thread never runs a task over 200 ms
    // meanwhile: training and evaluation are in the page's worker. (100 iterations took
    // 56 s of the timing run on SwiftShader's WebGPU under two busy processes.)
    const measured: Record<string, { longestTaskMs?: number; slowdown?: number; stopMs?: number }> =
      {};
    afterAll(() => console.log('playground long tasks and stops:', JSON.stringify(measured)));
    // One page for all of them, as a user switches backends: a page of each test's own
    // cost each a page load, a probe of every backend and MNIST's download again (under
    // two busy processes, seconds each). Each test ends with no page error so far.
    const trainedOn = ['cpu:float32', 'wasm', 'tfjs-webgl', 'tfjs-wasm', 'gpujs-webgl2', 'webgpu'];
    let shared: Page | undefined;
    const sharedPage = async () => {
      const page = shared ?? (await open('#train'));
      shared = undefined; // the test's own until it hands it on
      return page;
    };
    const handOn = async (page: Page, last: boolean) => {
      if (last) return close(page);
      expect(problems.get(page) ?? [], 'page and console errors').toEqual([]);
      shared = page;
    };
    for (const backend of trainedOn) {
      const [iters, floor] = [50, 0.3];
      it(`[timing] trains on ${backend} in the page past ${floor} test accuracy, the page never blocked over 200 ms`, async () => {
        const page = await sharedPage();
        await chooseBackend(page, backend);
        await page.getByTestId('iters').fill(String(iters));
        await page.getByTestId('every').fill('1000');
        // the accuracy at the end, on the first 2 000 test images: measuring the 60 000
        // training images (and at the start) would take SwiftShader minutes and prove
        // nothing more here; at 0.48 the estimate's spread over 2 000 images is ±0.011
        await page.getByTestId('eval-on').selectOption('test');
        await page.getByTestId('eval-at-start').uncheck();
        await page.getByTestId('eval-samples').fill('2000');
        const before = await slowdown(page);
        const started = await page.evaluate(() => performance.now());
        await page.getByTestId('start').click();
        const during = await slowdownWhileTraining(page, () =>
          page.evaluate(() =>
            Boolean(
              document.querySelector('[data-testid=accuracy]')?.getAttribute('data-test-accuracy'),
            ),
          ),
        );
        const status = await page.getByTestId('status').textContent();
        expect(status).not.toMatch(/^error/);
        // the page is cross-origin isolated, so wasm shares its products among the cores
        if (backend === 'wasm') expect(status).toMatch(/, [2-9]\d* threads/);
        const accuracy = Number(
          await page.getByTestId('accuracy').getAttribute('data-test-accuracy'),
        );
        expect(accuracy, status ?? '').toBeGreaterThan(floor);
        const longest = await longestTaskSince(page, started);
        // the load changes with the run: the slowest of the times before, during and after
        const factor = Math.max(before, during, await slowdown(page));
        measured[backend] = { longestTaskMs: longest, slowdown: Number(factor.toFixed(2)) };
        // The main thread only draws what the worker posts: its longest task here was
        // 87–158 ms on the reference machine (the charts redrawn), so 200 ms there, times
        // how much slower this machine runs the page right now. Training on the main
        // thread would block for whole evaluations (seconds).
        expect(longest, `the page's longest task while training on ${backend}`).toBeLessThanOrEqual(
          200 * factor,
        );
        await page.screenshot({ path: join(artifacts, `train-${backend.replace(':', '-')}.png`) });
        await handOn(page, false);
      });

      it(`[timing] stops ${backend} within a second, also in the middle of an evaluation`, async () => {
        const page = await sharedPage();
        await chooseBackend(page, backend);
        // a long run that measures both sets, whole, after its first iteration (the page's
        // defaults), so the stop below may land in the middle of that evaluation
        await page.getByTestId('iters').fill('100000');
        await page.getByTestId('every').fill('600');
        await page.getByTestId('eval-on').selectOption('both');
        await page.getByTestId('eval-samples').fill('');
        await page.getByTestId('eval-at-start').check();
        await page.getByTestId('start').click();
        // the first loss arrives after iteration 0, and the book's first evaluation follows it
        await page.waitForFunction(
          () =>
            /iteration \d+/.test(document.querySelector('[data-testid=status]')?.textContent ?? ''),
          null,
          { timeout: 0 },
        );
        await page.waitForTimeout(300);
        const clicked = Date.now();
        await page.getByTestId('stop').click();
        await page.waitForFunction(
          () =>
            /stopped after/.test(document.querySelector('[data-testid=status]')?.textContent ?? ''),
          null,
          { timeout: 0 },
        );
        const stopMs = Date.now() - clicked;
        measured[backend] = { ...measured[backend], stopMs };
        // A stop lands at the end of the iteration or evaluation chunk under way (sized to
        // EVAL_CHUNK_MS = 50 ms by its rows' time), then the worker reads the weights and
        // posts the result. So the bound follows this run's own step (the status says its
        // ms/iter) and the page's slowdown: three steps and chunks, plus a second (at the
        // reference machine's speed) for the messages and the final read.
        const status = (await page.getByTestId('status').textContent()) ?? '';
        const step = Number(/([\d.]+) ms\/iter/.exec(status)?.[1] ?? Number.NaN);
        expect(step, status).toBeGreaterThan(0);
        const factor = await slowdown(page);
        expect(stopMs, `Stop on ${backend} (${status})`).toBeLessThan(
          3 * (step + 2 * EVAL_CHUNK_MS) + 1000 * factor,
        );
        await handOn(page, backend === trainedOn.at(-1));
      });
    }

    it('predicts a drawn digit: ten probabilities that sum to 1', async () => {
      const page = await open('?iters=300&every=1000#train');
      await trainToEnd(page, 'wasm');
      await page.evaluate(() => {
        location.hash = '#draw';
      });
      const box = (await page.getByTestId('draw-canvas').boundingBox()) as { x: number; y: number };
      await page.mouse.move(box.x + 140, box.y + 40);
      await page.mouse.down();
      for (let y = 40; y <= 240; y += 10) await page.mouse.move(box.x + 140, box.y + y);
      await page.mouse.up();
      await page.waitForSelector('[data-testid=prob-9]');
      const probs = await page.$$eval('[data-testid^=prob-]', (els) =>
        els
          .filter((e) => e.getAttribute('data-value'))
          .map((e) => Number(e.getAttribute('data-value'))),
      );
      expect(probs).toHaveLength(10);
      expect(Math.abs(probs.reduce((a, b) => a + b, 0) - 1)).toBeLessThan(1e-5); // float32 softmax
      await page.screenshot({ path: join(screenshots, 'draw-drawn-1280.png') });
      await close(page);
    });

    /** Opens the conformance tab for `backends`, runs the suite, waits for the summary. */
    const runPageSuite = async (backends: string[], cases?: string) => {
      const only = cases ? `&cases=${encodeURIComponent(cases)}` : '';
      const page = await open(`?backends=${backends.join(',')}${only}#conformance`);
      await page.getByTestId('run-conformance').click();
      await page.waitForFunction(
        () =>
          document
            .querySelector('[data-testid=conformance-summary]')
            ?.getAttribute('data-failed') !== null,
        null,
        { timeout: 0 },
      );
      const summary = page.getByTestId('conformance-summary');
      return {
        page,
        failed: await summary.getAttribute('data-failed'),
        ran: (await summary.getAttribute('data-backends'))?.split(',') ?? [],
        status: (await page.getByTestId('conformance-status').textContent()) ?? '',
        table: (await page.getByTestId('conformance-table').textContent()) ?? '',
      };
    };

    it('runs the conformance suite in the browser, green, where a browser runs a backend unlike Node', async () => {
      const { page, failed, ran, status, table } = await runPageSuite(PAGE_SUITE);
      expect(failed, `${status}\n${table}`).toBe('0');
      expect([...ran].sort(), status).toEqual(PAGE_SUITE.map((name) => name.split(':')[0]).sort());
      expect(status).toMatch(/gpu\.js webgl2 engine/);
      await page.screenshot({ path: join(screenshots, 'conformance-1280.png'), fullPage: true });
      await close(page);
    });

    it('cpu and the WebGPU backends start in the page and train as the oracle does', async () => {
      const { page, failed, ran, status, table } = await runPageSuite(
        IN_NODE_TOO,
        TRAINS_LIKE_THE_ORACLE,
      );
      expect(failed, `${status}\n${table}`).toBe('0');
      expect(ran, status).toEqual(IN_NODE_TOO.map((name) => name.split(':')[0]));
      expect(status).toMatch(/webgpu: WGSL compute shaders on google swiftshader/);
      expect(table).toContain(TRAINS_LIKE_THE_ORACLE);
      await close(page);
    });

    // ---- the explainer: graph steps, first visit, caching, the menu, phone and a11y ----

    it('steps backward a node at a time, each step naming its rule with its numbers', async () => {
      const page = await open('#graph');
      const rule = page.getByTestId('step-rule');
      expect(await rule.textContent()).toMatch(/^Forward: the price is 715/);
      expect(await page.getByTestId('grad-tax').count()).toBe(0);
      await page.screenshot({ path: join(screenshots, 'graph-forward-1280.png') });
      await page.getByTestId('step-next').click(); // the output's 1
      expect(await page.getByTestId('grad-price').textContent()).toBe('1');
      await page.getByTestId('step-next').click(); // the tax's ×
      expect(await rule.textContent()).toContain('1 × 650 = 650 to the tax');
      expect(await page.getByTestId('grad-tax').textContent()).toBe('650');
      expect(await page.getByTestId('grad-apple').count()).toBe(0); // not yet
      await page.screenshot({ path: join(screenshots, 'graph-step-2-1280.png') });
      for (let i = 0; i < 3; i++) await page.getByTestId('step-next').click();
      expect(await rule.textContent()).toContain('1.1 × 2 = 2.2 to the apple price');
      expect(await page.getByTestId('step-next').isDisabled()).toBe(true);
      await page.getByTestId('step-back').click();
      expect(await page.getByTestId('grad-apple').count()).toBe(0);
      // no label sits on another at the largest values the inputs take
      await page.locator('input[data-input=apple]').fill('123456789');
      await page.locator('input[data-input=appleNum]').fill('987654');
      await page.getByTestId('backward').click();
      const overlaps = await page.evaluate(() => {
        const boxes = [...document.querySelectorAll('[data-testid=graph-svg] text')].map((t) =>
          t.getBoundingClientRect(),
        );
        let count = 0;
        for (let i = 0; i < boxes.length; i++)
          for (let j = i + 1; j < boxes.length; j++) {
            const [a, b] = [boxes[i] as DOMRect, boxes[j] as DOMRect];
            if (
              a.left < b.right - 1 &&
              b.left < a.right - 1 &&
              a.top < b.bottom - 1 &&
              b.top < a.bottom - 1
            )
              count++;
          }
        return count;
      });
      expect(overlaps).toBe(0);
      await page.screenshot({ path: join(screenshots, 'graph-backward-large-1280.png') });
      // an emptied input is named, and the graph marked as showing the last numbers
      await page.locator('input[data-input=tax]').fill('');
      expect(await page.getByTestId('graph-stale').textContent()).toMatch(/^tax: enter a number/);
      await close(page);
    });

    it('walks a ReLU, a Sigmoid and an Affine layer forward and backward, with their numbers', async () => {
      const page = await open('#graph');
      const table = page.getByTestId('layer-table');
      await page.getByTestId('layer-backward').click();
      expect(await table.textContent()).toContain('∂L/∂x[0.5, 0, -1, 0]');
      expect(await page.getByTestId('layer-rule').textContent()).toMatch(
        /^ReLU \(5\.5\.1\)\. Backward/,
      );
      await page.getByTestId('layer').selectOption('1');
      await page.getByTestId('layer-backward').click();
      expect(await page.getByTestId('layer-rule').textContent()).toContain(
        '0.5 × 0.7310585786 × (1 − 0.7310585786) = 0.09830596662',
      );
      await page.getByTestId('layer').selectOption('2');
      expect(await table.textContent()).toContain('y = x·W + b[9.1, 12.2, 15.3]');
      await page.getByTestId('layer-backward').click();
      expect(await table.textContent()).toContain('∂L/∂x = ∂L/∂y · Wᵀ[-1, 0.5]');
      await page.getByTestId('layer-table').scrollIntoViewIfNeeded();
      await page.screenshot({ path: join(screenshots, 'layers-affine-backward-1280.png') });
      await close(page);
    });

    it('[timing] first visit: Draw predicts with the pre-trained network within 2 s, no MNIST downloaded', async () => {
      const context = await browser.newContext();
      const mnistRequests: string[] = [];
      context.on('request', (request) => {
        if (request.url().includes('/mnist/')) mnistRequests.push(request.url());
      });
      const page = await open('#draw', DESKTOP, context);
      const factor = await slowdown(page);
      const opened = Date.now();
      await page.getByTestId('test-digit-0').click();
      await page.waitForSelector('[data-testid=predicted]');
      const ms = Date.now() - opened;
      // 0.95–1.73 s on the reference machine (loading the network, the CPU backend, the
      // page's scripts); 2 s there, times how much slower this page runs now
      expect(ms).toBeLessThan(2000 * factor);
      expect(await page.getByTestId('prediction').textContent()).toMatch(
        /prediction: 7 — right \(pre-trained SimpleConvNet: 3000 iterations on wasm, test accuracy 0\.9\d\d\)/,
      );
      expect(mnistRequests).toEqual([]);
      await page.screenshot({ path: join(screenshots, 'draw-pretrained-1280.png') });
      // Clear takes the prediction and the preview away too
      await page.getByTestId('clear').click();
      expect(await page.getByTestId('prediction').textContent()).toBe('no prediction yet');
      expect(await page.getByTestId('probs').textContent()).toBe('');
      await close(page);
      await context.close();
    });

    it("Convolution: the pre-trained SimpleConvNet's filters before and after training, and the feature maps of a drawn digit", async () => {
      const page = await open('#draw');
      const canvases = (id: string) => page.locator(`[data-testid=${id}] canvas`);
      await page.waitForFunction(
        () => document.querySelectorAll('[data-testid=conv-filters-after] canvas').length === 30,
      );
      expect(await canvases('conv-filters-before').count()).toBe(30);
      expect(await page.getByTestId('conv-status').textContent()).toMatch(
        /^pre-trained SimpleConvNet: 3000 iterations on wasm/,
      );
      // each filter as pixels: before (0.01·N(0,1) noise) and after training differ
      const pixels = (id: string) =>
        page.$$eval(`[data-testid=${id}] canvas`, (all) =>
          all.map((c) =>
            Array.from(
              (c as HTMLCanvasElement).getContext('2d')?.getImageData(0, 0, 5, 5).data ?? [],
            ).join(','),
          ),
        );
      const [before, after] = [
        await pixels('conv-filters-before'),
        await pixels('conv-filters-after'),
      ];
      expect(before.filter((p, i) => p !== after[i]).length).toBeGreaterThan(25);
      // no drawing, no maps; then a test digit: 30 maps of 24×24, not all blank
      expect(await canvases('conv-maps').count()).toBe(0);
      await page.getByTestId('test-digit-0').click();
      await page.waitForFunction(
        () => document.querySelectorAll('[data-testid=conv-maps] canvas').length === 30,
      );
      const lit = await page.$$eval(
        '[data-testid=conv-maps] canvas',
        (all) =>
          all.filter((c) => {
            const data = (c as HTMLCanvasElement).getContext('2d')?.getImageData(0, 0, 24, 24).data;
            return data ? new Set(data.filter((_, i) => i % 4 === 0)).size > 1 : false;
          }).length,
      );
      expect(lit).toBeGreaterThan(20); // most filters find something in a 7
      const maps7 = await pixels('conv-maps');
      // a digit drawn by hand: the maps follow the drawing
      await page.getByTestId('clear').click();
      const box = (await page.getByTestId('draw-canvas').boundingBox()) as { x: number; y: number };
      await page.mouse.move(box.x + 80, box.y + 60);
      await page.mouse.down();
      for (let x = 80; x <= 200; x += 10) await page.mouse.move(box.x + x, box.y + 60 + (x - 80));
      await page.mouse.up();
      await page.waitForFunction(
        () => document.querySelectorAll('[data-testid=conv-maps] canvas').length === 30,
      );
      // The maps change when the worker answers for the drawing: wait for that (a fixed
      // wait lost the race on a loaded machine); a page that never updates them hangs
      // here until the suite's timeout (tooling/vitest.config.ts) fails it.
      while ((await pixels('conv-maps')).join() === maps7.join()) await page.waitForTimeout(50);
      await page.locator('.convolution').scrollIntoViewIfNeeded();
      await page.screenshot({ path: join(screenshots, 'convolution-1280.png'), fullPage: true });
      await page.setViewportSize(PHONE);
      await page.locator('.convolution').scrollIntoViewIfNeeded();
      expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(
        390,
      );
      await page.screenshot({ path: join(screenshots, 'convolution-390.png'), fullPage: true });
      await close(page);
    });

    it('Draw answers with the network chosen: the pre-trained TwoLayerNet on request', async () => {
      const page = await open('#draw');
      await page.getByTestId('network').selectOption('mlp');
      await page.getByTestId('test-digit-1').click();
      await page.waitForSelector('[data-testid=predicted]');
      expect(await page.getByTestId('prediction').textContent()).toMatch(
        /prediction: 2 — right \(pre-trained TwoLayerNet: 3000 iterations on wasm/,
      );
      await close(page);
    });

    it("second visit: MNIST comes from the browser's storage, not one byte downloaded", async () => {
      const context = await browser.newContext();
      const downloaded: string[] = [];
      context.on('requestfinished', (request) => {
        if (request.url().includes('/mnist/')) downloaded.push(request.url());
      });
      for (const visit of [1, 2]) {
        const page = await open('?iters=20&every=20#train', DESKTOP, context);
        await trainToEnd(page, 'wasm');
        const text = await page.getByTestId('download-text').textContent();
        if (visit === 1) {
          expect(downloaded).toHaveLength(4); // the four gzipped files
          expect(text).toMatch(/^MNIST downloaded: 1[01]\.\d MB \(gzipped\)/);
          expect(await page.getByTestId('download').getAttribute('value')).toBe(
            await page.getByTestId('download').getAttribute('max'),
          );
        } else {
          expect(downloaded).toHaveLength(4); // none more
          expect(text).toMatch(/^MNIST from this browser's storage/);
        }
        await close(page);
      }
      await context.close();
    });

    it('offers only what it probed, locks the form while training, and names a bad input', async () => {
      const page = await open('?iters=3000&every=2.5#train');
      await page.waitForSelector('[data-testid=backend][data-probed]');
      // this Chromium (SwiftShader, --enable-unsafe-webgpu) runs every choice
      expect(
        await page.$$eval('[data-testid=backend] option', (options) =>
          options.filter((o) => (o as HTMLOptionElement).disabled).map((o) => o.textContent),
        ),
      ).toEqual([]);
      await page.getByTestId('start').click();
      expect(await page.getByTestId('form-error').textContent()).toMatch(
        /accuracy every must be a whole number ≥ 0 \(iterations; 0: only at the end\), got “2\.5”/,
      );
      expect(await page.getByTestId('every').getAttribute('aria-invalid')).toBe('true');
      await page.getByTestId('every').fill('1000');
      await chooseBackend(page, 'cpu:float32');
      await page.getByTestId('start').click();
      expect(await page.getByTestId('backend').isDisabled()).toBe(true);
      expect(await page.getByTestId('iters').isDisabled()).toBe(true);
      expect(await page.getByTestId('stop').isEnabled()).toBe(true);
      await page.waitForFunction(
        () =>
          /iteration \d+/.test(document.querySelector('[data-testid=status]')?.textContent ?? ''),
        null,
        { timeout: 0 },
      );
      await page.getByTestId('stop').click();
      await page.waitForFunction(
        () =>
          /stopped after/.test(document.querySelector('[data-testid=status]')?.textContent ?? ''),
        null,
        { timeout: 0 },
      );
      expect(await page.getByTestId('backend').isEnabled()).toBe(true);
      await close(page);
    });

    it('keeps the trained network and a consistent page when a backend fails to start', async () => {
      const page = await open('?iters=50&every=50#train');
      await trainToEnd(page, 'wasm');
      // TensorFlow.js's .wasm files cannot be fetched: its start fails in the worker
      await page.context().route('**/tfjs-wasm/**', (route) => route.abort());
      await chooseBackend(page, 'tfjs-wasm');
      await page.getByTestId('start').click();
      await page.waitForFunction(
        () => /^error:/.test(document.querySelector('[data-testid=status]')?.textContent ?? ''),
        null,
        { timeout: 0 },
      );
      expect(await page.getByTestId('status').textContent()).toMatch(
        /the wasm engine did not start: its \.wasm file did not load from wasmPaths/,
      );
      expect(await page.getByTestId('backend').isEnabled()).toBe(true); // unlocked again
      expect(await page.getByTestId('start').isEnabled()).toBe(true);
      await page.screenshot({
        path: join(screenshots, 'train-failed-start-1280.png'),
        fullPage: true,
      });
      // the network trained on wasm still answers
      await page.evaluate(() => {
        location.hash = '#draw';
      });
      await page.getByTestId('test-digit-0').click();
      await page.waitForFunction(() =>
        /trained here on wasm/.test(
          document.querySelector('[data-testid=prediction]')?.textContent ?? '',
        ),
      );
      await close(page, /net::ERR_FAILED|Failed to load resource/);
    });

    it('works on a phone (390 px): no sideways scroll, 44 px targets, labelled and announced', async () => {
      const page = await open('#graph', PHONE);
      for (const tab of ['graph', 'train', 'draw', 'conformance']) {
        await page.evaluate((t) => {
          location.hash = `#${t}`;
        }, tab);
        // the tab is shown when its link is the current page (hashchange runs later, and
        // later still on a loaded machine: waited for, not slept on)
        await page.waitForSelector(`nav a[data-tab=${tab}][aria-current=page]`);
        expect(
          await page.evaluate(() => document.documentElement.scrollWidth),
          tab,
        ).toBeLessThanOrEqual(390);
        // every visible button, link, field and menu is at least 44 px high
        const small = await page.$$eval('button, nav a, input, select', (els) =>
          els
            .filter(
              (e) =>
                (e as HTMLElement).offsetParent !== null &&
                (e as HTMLInputElement).type !== 'checkbox',
            )
            .map((e) => [e.outerHTML.slice(0, 60), e.getBoundingClientRect().height] as const)
            .filter(([, h]) => h < 44),
        );
        expect(small, tab).toEqual([]);
        await page.screenshot({ path: join(screenshots, `${tab}-390.png`), fullPage: true });
      }
      // live regions for progress and predictions; images with names
      for (const id of ['status', 'accuracy', 'prediction', 'step-rule', 'conformance-status'])
        expect(await page.getByTestId(id).getAttribute('aria-live'), id).toBe('polite');
      for (const id of ['draw-canvas', 'preview'])
        expect(await page.getByTestId(id).getAttribute('aria-label'), id).toBeTruthy();
      expect(await page.evaluate(() => document.getElementById('graph-name')?.textContent)).toMatch(
        /^The shopping graph: price 715/,
      );
      // the states after a prediction and after a run, on the phone too
      await page.evaluate(() => {
        location.hash = '#draw';
      });
      await page.getByTestId('test-digit-3').click();
      await page.waitForSelector('[data-testid=predicted]');
      await page.screenshot({ path: join(screenshots, 'draw-predicted-390.png'), fullPage: true });
      await page.goto(`${base}?iters=100&every=50#train`);
      await trainToEnd(page, 'wasm');
      expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(
        390,
      );
      await page.screenshot({ path: join(screenshots, 'train-done-390.png'), fullPage: true });
      await close(page);
    });

    it('draws the charts with titled axes, gridlines, the whole run, and lines of 3:1 contrast', async () => {
      const page = await open('?iters=200&every=100#train');
      await trainToEnd(page, 'wasm');
      const svg = (await page.getByTestId('charts').innerHTML()) as string;
      for (const title of ['>iteration<', '>loss<', '>accuracy<', '>train (dashed)<', '>test<'])
        expect(svg).toContain(title);
      expect(svg).toContain('stroke="#e5e5e5"'); // gridlines
      expect(svg.match(/<circle /g)?.length).toBeGreaterThanOrEqual(6); // 0, 100, 199 on both sets
      const luminance = (hex: string) => {
        const [r, g, b] = [1, 3, 5].map((i) => {
          const c = Number.parseInt(hex.slice(i, i + 2), 16) / 255;
          return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
        });
        return 0.2126 * (r as number) + 0.7152 * (g as number) + 0.0722 * (b as number);
      };
      for (const [, color] of svg.matchAll(/<polyline [^>]*stroke="(#[0-9a-f]{6})"/g))
        expect(1.05 / (luminance(color as string) + 0.05), color).toBeGreaterThanOrEqual(3);
      // the first layer's weights as images, and the first 100 test digits with the answers
      await page.waitForFunction(() =>
        /^after iteration 199: \d+ of 100 right/.test(
          document.querySelector('[data-testid=predictions-summary]')?.textContent ?? '',
        ),
      );
      const right = Number(
        await page.getByTestId('predictions-summary').getAttribute('data-right'),
      );
      expect(right).toBeGreaterThan(70); // test accuracy is past 0.8 at iteration 199
      expect(await page.getByTestId('weights').getAttribute('width')).toBe('300'); // 10 tiles a row
      await page.screenshot({ path: join(screenshots, 'train-wasm-1280.png'), fullPage: true });
      await page.evaluate(() => {
        location.hash = '#draw';
      });
      await page.getByTestId('test-digit-1').click();
      await page.waitForFunction(() =>
        /trained here on wasm/.test(
          document.querySelector('[data-testid=prediction]')?.textContent ?? '',
        ),
      );
      await page.screenshot({ path: join(screenshots, 'draw-trained-1280.png'), fullPage: true });
      await close(page);
    });
  },
);
