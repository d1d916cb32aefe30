/**
 * Small SVG charts that read on their own (axes, ticks, labels, legend): line charts for
 * the book's loss and accuracy figures and the bench's growth curves, bar charts for the
 * bench's side-by-side timings.
 */

export interface Series {
  label: string;
  points: [x: number, y: number][];
  color: string;
  dashed?: boolean;
  /** A dot at each point: for a few measurements (accuracy once an epoch) rather than a trace. */
  markers?: boolean;
}

export interface LineChart {
  title: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
  yRange?: [number, number];
  /** The x-axis's extent, fixed (a run's whole length, from its start), instead of the data's. */
  xRange?: [number, number];
  /** Where the legend sits: inside the plot at the top or bottom, or to its right (many series). */
  legendAt?: 'top' | 'bottom' | 'right';
  /** Logarithmic axes, for quantities spanning decades (batch 1 … 1000). */
  xLog?: boolean;
  yLog?: boolean;
}

export interface BarChart {
  title: string;
  /** What the bars measure, e.g. "ms per iteration (lower is better)". */
  valueLabel: string;
  bars: { label: string; value: number; color?: string; note?: string }[];
}

/** Width of one chart; the SVG scales to its container through its viewBox. */
const WIDTH = 480;
const LEGEND_WIDTH = 170;
const HEIGHT = 340;
const MARGIN = { left: 64, right: 16, top: 36, bottom: 48 };

/** Line charts side by side in one SVG document. */
export function renderCharts(charts: LineChart[]): string {
  const body = charts.map(
    (chart, i) => `<g transform="translate(${i * WIDTH},0)">${renderChart(chart)}</g>`,
  );
  return svg(WIDTH * charts.length, HEIGHT, body, charts.map((c) => c.title).join('; '));
}

/** One wide line chart with its legend beside the plot, for many series. */
export function renderWideChart(chart: LineChart): string {
  const width = WIDTH + LEGEND_WIDTH;
  return svg(width, HEIGHT, [renderChart({ ...chart, legendAt: 'right' }, width)], chart.title);
}

function renderChart(chart: LineChart, width = WIDTH): string {
  // On a log axis, positions are computed on log10 of the values; ticks are powers of 10.
  const fx = chart.xLog ? Math.log10 : (v: number) => v;
  const fy = chart.yLog ? Math.log10 : (v: number) => v;
  const all = chart.series.flatMap((s) => s.points);
  const [x0, x1] = chart.xRange
    ? [fx(chart.xRange[0]), fx(chart.xRange[1])]
    : extent(all.map((p) => fx(p[0])));
  const [y0, y1] = chart.yRange
    ? [fy(chart.yRange[0]), fy(chart.yRange[1])]
    : extent(all.map((p) => fy(p[1])));
  const legendW = chart.legendAt === 'right' ? LEGEND_WIDTH : 0;
  const plotW = width - MARGIN.left - MARGIN.right - legendW;
  const plotH = HEIGHT - MARGIN.top - MARGIN.bottom;
  const sx = (x: number) => MARGIN.left + ((fx(x) - x0) / (x1 - x0 || 1)) * plotW;
  const sy = (y: number) => MARGIN.top + plotH - ((fy(y) - y0) / (y1 - y0 || 1)) * plotH;
  const xTicks = chart.xLog ? logTicks(x0, x1) : ticks(x0, x1);
  const yTicks = chart.yLog ? logTicks(y0, y1) : ticks(y0, y1);
  const parts: string[] = [];

  parts.push(
    `<text x="${width / 2}" y="20" text-anchor="middle" font-size="14" font-weight="bold">${escapeXml(chart.title)}</text>`,
  );
  for (const tick of xTicks) {
    parts.push(
      `<line x1="${sx(tick)}" y1="${MARGIN.top}" x2="${sx(tick)}" y2="${MARGIN.top + plotH}" stroke="#e5e5e5"/>`,
    );
    parts.push(
      `<line x1="${sx(tick)}" y1="${MARGIN.top + plotH}" x2="${sx(tick)}" y2="${MARGIN.top + plotH + 5}" stroke="black"/>`,
    );
    parts.push(
      `<text x="${sx(tick)}" y="${MARGIN.top + plotH + 18}" text-anchor="middle">${formatTick(tick)}</text>`,
    );
  }
  for (const tick of yTicks) {
    parts.push(
      `<line x1="${MARGIN.left}" y1="${sy(tick)}" x2="${MARGIN.left + plotW}" y2="${sy(tick)}" stroke="#e5e5e5"/>`,
    );
    parts.push(
      `<text x="${MARGIN.left - 8}" y="${sy(tick) + 4}" text-anchor="end">${formatTick(tick)}</text>`,
    );
  }
  parts.push(
    `<rect x="${MARGIN.left}" y="${MARGIN.top}" width="${plotW}" height="${plotH}" fill="none" stroke="black"/>`,
  );
  parts.push(
    `<text x="${MARGIN.left + plotW / 2}" y="${HEIGHT - 10}" text-anchor="middle">${escapeXml(chart.xLabel)}</text>`,
  );
  parts.push(
    `<text x="16" y="${MARGIN.top + plotH / 2}" text-anchor="middle" transform="rotate(-90 16 ${MARGIN.top + plotH / 2})">${escapeXml(chart.yLabel)}</text>`,
  );

  chart.series.forEach((series, i) => {
    const path = series.points.map(([x, y]) => `${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join(' ');
    const dash = series.dashed ? ' stroke-dasharray="6 4"' : '';
    parts.push(
      `<polyline points="${path}" fill="none" stroke="${series.color}" stroke-width="1.5"${dash}/>`,
    );
    if (series.markers) {
      for (const [x, y] of series.points)
        parts.push(
          `<circle cx="${sx(x).toFixed(1)}" cy="${sy(y).toFixed(1)}" r="3" fill="${series.color}"/>`,
        );
    }
    const ly =
      chart.legendAt === 'right'
        ? MARGIN.top + 10 + i * 16
        : chart.legendAt === 'bottom'
          ? MARGIN.top + plotH - 10 - (chart.series.length - 1 - i) * 16
          : MARGIN.top + 16 + i * 16;
    const lx = chart.legendAt === 'right' ? MARGIN.left + plotW + 12 : MARGIN.left + plotW - 150;
    parts.push(
      `<line x1="${lx}" y1="${ly - 4}" x2="${lx + 24}" y2="${ly - 4}" stroke="${series.color}" stroke-width="2"${dash}/>`,
    );
    parts.push(`<text x="${lx + 30}" y="${ly}">${escapeXml(series.label)}</text>`);
  });
  return parts.join('\n');
}

/** Horizontal bars, one a row, each labelled with its value. */
export function renderBarChart(chart: BarChart): string {
  const rowH = 26;
  const labelW = 230;
  const width = 760;
  const height = 60 + rowH * chart.bars.length + 30;
  const max = Math.max(...chart.bars.map((b) => b.value), 1e-12);
  const barW = width - labelW - 150;
  const rows = chart.bars.map((bar, i) => {
    const y = 44 + i * rowH;
    const w = Math.max(1, (bar.value / max) * barW);
    return [
      `<text x="${labelW - 8}" y="${y + 16}" text-anchor="end">${escapeXml(bar.label)}</text>`,
      `<rect x="${labelW}" y="${y + 3}" width="${w.toFixed(1)}" height="${rowH - 8}" fill="${bar.color ?? '#1f77b4'}"/>`,
      `<text x="${(labelW + w + 6).toFixed(1)}" y="${y + 16}">${escapeXml(formatValue(bar.value))}${bar.note ? ` ${escapeXml(bar.note)}` : ''}</text>`,
    ].join('');
  });
  return svg(
    width,
    height,
    [
      `<text x="${width / 2}" y="22" text-anchor="middle" font-size="14" font-weight="bold">${escapeXml(chart.title)}</text>`,
      ...rows,
      `<text x="${labelW}" y="${height - 10}">${escapeXml(chart.valueLabel)}</text>`,
    ],
    chart.title,
  );
}

/** The document: an image named by its titles (what a screen reader announces). */
function svg(width: number, height: number, body: string[], name: string): string {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12" role="img" aria-label="${escapeXml(name).replace(/"/g, '&quot;')}">`,
    `<title>${escapeXml(name)}</title>`,
    `<rect width="100%" height="100%" fill="white"/>`,
    ...body,
    '</svg>',
  ].join('\n');
}

function extent(values: number[]): [number, number] {
  if (values.length === 0) return [0, 1];
  let min = Math.min(...values);
  let max = Math.max(...values);
  if (min === max) [min, max] = [min - 1, max + 1];
  return [min, max];
}

/** About five round tick values between lo and hi. */
function ticks(lo: number, hi: number): number[] {
  const rough = (hi - lo) / 5;
  const power = 10 ** Math.floor(Math.log10(rough));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= rough) ?? rough;
  const result: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step)
    result.push(Number(v.toPrecision(12)));
  return result;
}

/** Powers of 10 between 10^lo and 10^hi (lo and hi are log10 values). */
function logTicks(lo: number, hi: number): number[] {
  const result: number[] = [];
  for (let e = Math.ceil(lo - 1e-9); e <= hi + 1e-9; e++) result.push(10 ** e);
  return result.length >= 2 ? result : [10 ** lo, 10 ** hi].map((v) => Number(v.toPrecision(2)));
}

function formatTick(value: number): string {
  return Math.abs(value) >= 1e6 ? value.toExponential(1) : String(value);
}

function formatValue(v: number): string {
  return v >= 100
    ? v.toFixed(0)
    : v >= 10
      ? v.toFixed(1)
      : v >= 1
        ? v.toFixed(2)
        : v.toPrecision(2);
}

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
