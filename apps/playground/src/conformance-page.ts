/**
 * The conformance suite run in this browser, on every backend that runs here — so the
 * WebGL paths of gpu.js and TensorFlow.js are proven on a real browser's GL. It runs in
 * the page's worker: the page stays responsive through the minutes it takes.
 */
import { type ConformanceReport, formatCaseCell } from '@backprop/conformance';
import { BROWSER_BACKENDS, downloadText } from './backends.js';
import { escapeHtml } from './html.js';
import { listen, PAGE, send } from './worker-client.js';

export function renderConformance(root: HTMLElement): void {
  const params = new URLSearchParams(location.search);
  const only = params.get('backends')?.split(',');
  const cases = params.get('cases')?.split(',');
  root.innerHTML = `
    <h2>The conformance suite, in this browser</h2>
    <p class="note">Every kernel against a float64 oracle, gradient checks, training agreement, edge cases, leaks and errors — the same cases CI runs in Node.</p>
    <p><button data-testid="run-conformance">Run the suite</button></p>
    <div class="status" data-testid="conformance-status" role="status" aria-live="polite"></div>
    <div class="status" data-testid="conformance-summary" role="status" aria-live="polite"></div>
    <div class="table-scroll"><table class="conformance" data-testid="conformance-table"></table></div>`;
  const $ = (id: string) => root.querySelector(`[data-testid=${id}]`) as HTMLElement;
  let reports: ConformanceReport[] = [];
  listen((message) => {
    switch (message.type) {
      case 'conformance-progress':
        $('conformance-status').textContent = message.text;
        break;
      case 'conformance-report':
        reports.push(message.report);
        $('conformance-table').innerHTML = reportTable(reports);
        break;
      case 'download':
        $('conformance-status').textContent = downloadText(message);
        break;
      case 'conformance-done': {
        const cases = reports.reduce((n, r) => n + r.cases.length, 0);
        const failed = reports.reduce((n, r) => n + r.failed, 0);
        const skipped = message.skipped;
        $('conformance-status').textContent =
          `ran on: ${reports.map((r) => r.description).join('; ')}${skipped.length ? `; could not run: ${skipped.join('; ')}` : ''}`;
        $('conformance-summary').dataset.failed = String(failed);
        $('conformance-summary').dataset.backends = reports.map((r) => r.backend).join(',');
        const skippedCases = reports.reduce((n, r) => n + r.skipped, 0);
        $('conformance-summary').textContent =
          `${cases} cases on ${reports.length} backends: ${cases - failed - skippedCases} passed, ${failed} failed, ${skippedCases} skipped`;
        ($('run-conformance') as HTMLButtonElement).disabled = false;
        break;
      }
      case 'error':
        $('conformance-status').textContent = `error: ${message.message}`;
        ($('run-conformance') as HTMLButtonElement).disabled = false;
        break;
    }
  });
  $('run-conformance').addEventListener('click', () => {
    reports = [];
    ($('run-conformance') as HTMLButtonElement).disabled = true; // one run at a time
    send({
      type: 'conformance',
      base: PAGE,
      backends: BROWSER_BACKENDS.filter((name) => !only || only.includes(name)),
      cases,
    });
  });
}

/**
 * Case × backend: each cell the worst error against its tolerance, green for a pass, red
 * for a failure (with what failed), grey for a skip (with why); the counts head each column.
 */
function reportTable(reports: ConformanceReport[]): string {
  const head = reports
    .map(
      (r) =>
        `<th scope="col">${escapeHtml(`${r.backend}/${r.dtype}`)}<br><span class="pass">${r.passed} passed</span> · <span class="${r.failed ? 'fail' : ''}">${r.failed} failed</span> · <span class="skip">${r.skipped} skipped</span></th>`,
    )
    .join('');
  const ids = reports[0]?.cases.map((c) => c.id) ?? [];
  const rows = ids.map((id) => {
    const cells = reports.map((r) => {
      const result = r.cases.find((c) => c.id === id);
      const kind = !result ? '' : result.skipped ? 'skip' : result.passed ? 'pass' : 'fail';
      return `<td class="${kind}" title="${escapeHtml(result?.detail ?? '')}">${escapeHtml(formatCaseCell(result))}</td>`;
    });
    return `<tr><th scope="row">${escapeHtml(id)}</th>${cells.join('')}</tr>`;
  });
  return `<thead><tr><th scope="col">case</th>${head}</tr></thead><tbody>${rows.join('')}</tbody>`;
}
