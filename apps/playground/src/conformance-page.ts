/**
 * The conformance suite run in this browser, on every backend that runs here — so the
 * WebGL paths of gpu.js and TensorFlow.js are proven on a real browser's GL.
 */
import { type ConformanceReport, formatReportTable, runConformance } from '@backprop/conformance';
import type { Backend } from '@backprop/core';
import { BROWSER_BACKENDS, createChoice, loadMnistInBrowser } from './backends.js';

/** The engines whose kernels are GLSL, and the exp precision GLSL ES 3.00 (4.5.1) allows: (3 + 2·|x|) ulp, 19 for the suite's |x| ≤ 8. */
const GLSL = new Set(['tfjs-webgl', 'gpujs-webgl2']);
const GLSL_EXP = { factor: 19 / 8, reason: 'GLSL exp may be off by (3 + 2·|x|) ulp' };

export function renderConformance(root: HTMLElement): void {
  const only = new URLSearchParams(location.search).get('backends')?.split(',');
  root.innerHTML = `
    <h2>The conformance suite, in this browser</h2>
    <p class="note">Every kernel against a float64 oracle, gradient checks, training agreement, edge cases, leaks and errors — the same cases CI runs in Node.</p>
    <p><button data-testid="run-conformance">Run the suite</button></p>
    <div class="status" data-testid="conformance-status"></div>
    <div class="status" data-testid="conformance-summary"></div>
    <pre data-testid="conformance-table"></pre>`;
  const $ = (id: string) => root.querySelector(`[data-testid=${id}]`) as HTMLElement;
  $('run-conformance').addEventListener('click', async () => {
    const mnist = await loadMnistInBrowser((m) => {
      $('conformance-status').textContent = m;
    });
    const reports: ConformanceReport[] = [];
    const skipped: string[] = [];
    for (const name of BROWSER_BACKENDS) {
      if (only && !only.includes(name)) continue;
      let backend: Backend;
      try {
        backend = await createChoice(name);
      } catch (error) {
        skipped.push(`${name} (${(error as Error).message})`);
        continue;
      }
      let done = 0;
      const report = await runConformance(
        () => backend,
        {
          mnist: () => mnist,
          // 10 000 iterations a backend would hold the page for minutes; 1000 show a leak
          leakIterations: 1000,
          leakIterationsReason: 'in a page',
          ...(GLSL.has(name) ? { looser: { exp: GLSL_EXP } } : {}),
        },
        () => {
          $('conformance-status').textContent = `${backend.description}: ${++done} cases`;
        },
      );
      reports.push(report);
      $('conformance-table').textContent = formatReportTable(reports);
    }
    const cases = reports.reduce((n, r) => n + r.cases.length, 0);
    const failed = reports.reduce((n, r) => n + r.failed, 0);
    $('conformance-status').textContent =
      `ran on: ${reports.map((r) => r.description).join('; ')}${skipped.length ? `; could not run: ${skipped.join('; ')}` : ''}`;
    $('conformance-summary').dataset.failed = String(failed);
    $('conformance-summary').dataset.backends = reports.map((r) => r.backend).join(',');
    $('conformance-summary').textContent =
      `${cases} cases on ${reports.length} backends: ${cases - failed} passed, ${failed} failed`;
  });
}
