/**
 * A small SVG line chart with axes, ticks, labels and a legend: enough to draw the
 * book's loss and accuracy figures as a file that reads on its own.
 */

export interface Series {
  label: string;
  points: [x: number, y: number][];
  color: string;
  dashed?: boolean;
}

export interface LineChart {
  title: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
  yRange?: [number, number];
  /** Where the legend sits inside the plot, away from the lines (default top). */
  legendAt?: 'top' | 'bottom';
}

const WIDTH = 480;
const HEIGHT = 340;
const MARGIN = { left: 64, right: 16, top: 36, bottom: 48 };

/** Charts side by side in one SVG document. */
export function renderCharts(charts: LineChart[]): string {
  const body = charts.map(
    (chart, i) => `<g transform="translate(${i * WIDTH},0)">${renderChart(chart)}</g>`,
  );
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH * charts.length}" height="${HEIGHT}" viewBox="0 0 ${WIDTH * charts.length} ${HEIGHT}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    ...body,
    '</svg>',
  ].join('\n');
}

function renderChart(chart: LineChart): string {
  const all = chart.series.flatMap((s) => s.points);
  const [x0, x1] = extent(all.map((p) => p[0]));
  const [y0, y1] = chart.yRange ?? extent(all.map((p) => p[1]));
  const plotW = WIDTH - MARGIN.left - MARGIN.right;
  const plotH = HEIGHT - MARGIN.top - MARGIN.bottom;
  const sx = (x: number) => MARGIN.left + ((x - x0) / (x1 - x0 || 1)) * plotW;
  const sy = (y: number) => MARGIN.top + plotH - ((y - y0) / (y1 - y0 || 1)) * plotH;
  const parts: string[] = [];

  parts.push(
    `<text x="${WIDTH / 2}" y="20" text-anchor="middle" font-size="14" font-weight="bold">${escapeXml(chart.title)}</text>`,
  );
  for (const tick of ticks(x0, x1)) {
    parts.push(
      `<line x1="${sx(tick)}" y1="${MARGIN.top + plotH}" x2="${sx(tick)}" y2="${MARGIN.top + plotH + 5}" stroke="black"/>`,
    );
    parts.push(
      `<text x="${sx(tick)}" y="${MARGIN.top + plotH + 18}" text-anchor="middle">${formatTick(tick)}</text>`,
    );
  }
  for (const tick of ticks(y0, y1)) {
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
    const ly =
      chart.legendAt === 'bottom'
        ? MARGIN.top + plotH - 10 - (chart.series.length - 1 - i) * 18
        : MARGIN.top + 16 + i * 18;
    const lx = MARGIN.left + plotW - 120;
    parts.push(
      `<line x1="${lx}" y1="${ly - 4}" x2="${lx + 24}" y2="${ly - 4}" stroke="${series.color}" stroke-width="2"${dash}/>`,
    );
    parts.push(`<text x="${lx + 30}" y="${ly}">${escapeXml(series.label)}</text>`);
  });
  return parts.join('\n');
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

function formatTick(value: number): string {
  return Math.abs(value) >= 1e6 ? value.toExponential(1) : String(value);
}

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
