export type { CaseGroup, ConformanceCase } from './case.js';
export { type CaseOutcome, Check, type Tolerance, unitRoundoff } from './check.js';
export { type CheckLayerOptions, checkLayer, type LayerCheck } from './check-layer.js';
export { CaseContext, type ConformanceOptions } from './context.js';
export {
  type CaseResult,
  type ConformanceReport,
  conformanceCases,
  runCase,
  runConformance,
  selectCases,
} from './runner.js';
export { formatCaseCell, formatReportTable } from './table.js';
