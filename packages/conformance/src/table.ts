import type { CaseResult, ConformanceReport } from './runner.js';

/** Case × backend, each cell pass/fail with the worst error against its tolerance. */
export function formatReportTable(reports: ConformanceReport[]): string {
  const names = reports.map((r) => `${r.backend}/${r.dtype}`);
  const ids = reports[0]?.cases.map((c) => c.id) ?? [];
  const rows = ids.map((id) => [
    id,
    ...reports.map((r) => formatCaseCell(r.cases.find((c) => c.id === id))),
  ]);
  rows.push([
    'passed / failed / skipped',
    ...reports.map((r) => `${r.passed} / ${r.failed} / ${r.skipped}`),
  ]);
  const header = ['case', ...names];
  const widths = header.map((h, col) => Math.max(h.length, ...rows.map((row) => row[col].length)));
  const line = (cells: string[]) =>
    cells
      .map((c, col) => c.padEnd(widths[col]))
      .join('  ')
      .trimEnd();
  const failures = reports.flatMap((r) =>
    r.cases.filter((c) => !c.passed).map((c) => `✗ ${r.backend}/${r.dtype} ${c.id}: ${c.detail}`),
  );
  // why cases were skipped, once a reason and backend (a cell has no room for it)
  const skips = reports.flatMap((r) => {
    const counts = new Map<string, number>();
    for (const c of r.cases)
      if (c.skipped !== undefined) counts.set(c.skipped, (counts.get(c.skipped) ?? 0) + 1);
    return [...counts].map(
      ([reason, n]) =>
        `– ${r.backend}/${r.dtype}: ${n} case${n === 1 ? '' : 's'} skipped: ${reason}`,
    );
  });
  return [
    line(header),
    line(widths.map((w) => '-'.repeat(w))),
    ...rows.map(line),
    ...(failures.length ? ['', ...failures] : []),
    ...(skips.length ? ['', ...skips] : []),
  ].join('\n');
}

/** One cell: `✓ worst ≤ tolerance`, `✗ worst > tolerance`, `– skipped` (the table's and the playground's). */
export function formatCaseCell(result: CaseResult | undefined): string {
  if (!result) return '';
  if (result.skipped) return '– skipped';
  if (!result.passed)
    return `✗ ${Number.isFinite(result.worstError) ? `${result.worstError.toExponential(1)} > ${result.tolerance.toExponential(1)}` : 'failed'}`;
  if (result.tolerance === 0) return result.worstError === 0 ? '✓ exact' : '✓';
  return `✓ ${result.worstError.toExponential(1)} ≤ ${result.tolerance.toExponential(1)}`;
}
