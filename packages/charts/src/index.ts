export * from './svg-chart.js';
