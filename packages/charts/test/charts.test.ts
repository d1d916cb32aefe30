import { describe, expect, it } from 'vitest';
import { expectReadmeExampleRuns } from '../../../tooling/readme-example.js';
import { renderBarChart, renderCharts, renderWideChart } from '../src/index.js';

describe('SVG charts', () => {
  const chart = {
    title: 'Training loss',
    xLabel: 'iteration',
    yLabel: 'loss',
    series: [
      {
        label: 'loss',
        points: [
          [0, 2.3],
          [500, 0.4],
          [1000, 0.2],
        ] as [number, number][],
        color: '#1f77b4',
      },
      {
        label: 'other',
        points: [
          [0, 1],
          [1000, 1],
        ] as [number, number][],
        color: '#d62728',
        dashed: true,
      },
    ],
  };

  it('draws axes with their titles, the title, the legend and each series', () => {
    const svg = renderCharts([chart]);
    expect(svg).toMatch(/^<svg[^>]+xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    for (const text of ['Training loss', 'iteration', 'loss', 'other']) {
      expect(svg).toContain(`>${text}</text>`);
    }
    expect(svg.match(/<polyline/g)).toHaveLength(2);
    expect(svg).toContain('stroke-dasharray');
  });

  it('puts the legend beside a wide chart, and draws bars', () => {
    expect(renderWideChart(chart)).toContain('>other</text>');
    const bars = renderBarChart({
      title: 'ms per iteration',
      valueLabel: 'ms (lower is better)',
      bars: [
        { label: 'wasm', value: 0.5 },
        { label: 'cpu', value: 4.5 },
      ],
    });
    expect(bars).toContain('>wasm</text>');
  });

  it('the README example runs and prints what it says', () => {
    expectReadmeExampleRuns(new URL('..', import.meta.url));
  });
});

it('fixes the x-axis to xRange, marks sparse series, draws gridlines, and names the image', () => {
  const svg = renderCharts([
    {
      title: 'Accuracy',
      xLabel: 'iteration',
      yLabel: 'accuracy',
      yRange: [0, 1],
      xRange: [0, 10_000],
      series: [
        {
          label: 'test',
          points: [
            [0, 0.1],
            [600, 0.9],
          ],
          color: '#d62728',
          markers: true,
        },
      ],
    },
  ]);
  // the whole run's ticks, though the points reach only 600
  expect(svg).toContain('>10000</text>');
  expect(svg.match(/<circle /g)).toHaveLength(2);
  expect(svg.match(/stroke="#e5e5e5"/g)?.length).toBeGreaterThanOrEqual(8); // x and y gridlines
  expect(svg).toMatch(/^<svg [^>]*role="img" aria-label="Accuracy"/);
  expect(svg).toContain('<title>Accuracy</title>');
});
