/**
 * The conformance suite run in this browser, on every backend that runs here — so the
 * WebGL paths of gpu.js and TensorFlow.js are proven on a real browser's GL.
 */
import { type ConformanceReport, formatReportTable, runConformance } from '@backprop/conformance';
import type { Backend } from '@backprop/core';
import { BROWSER_BACKENDS, loadMnistInBrowser } from './backends.js';

const resources = (backend: Backend): Record<string, number> => {
  const b = backend as Partial<{
    liveTextures(): number;
    engineTensors(): number;
    memoryBytes(): number;
  }>;
  return {
    ...(b.liveTextures ? { textures: b.liveTextures() } : {}),
    ...(b.engineTensors ? { engineTensors: b.engineTensors() } : {}),
    ...(b.memoryBytes ? { memoryBytes: b.memoryBytes() } : {}),
  };
};

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
    for (const [name, create] of Object.entries(BROWSER_BACKENDS)) {
      if (only && !only.includes(name)) continue;
      let backend: Backend;
      try {
        backend = await create();
      } catch (error) {
        skipped.push(`${name} (${(error as Error).message})`);
        continue;
      }
      let done = 0;
      const report = await runConformance(
        () => backend,
        { mnist: () => mnist, resources },
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
