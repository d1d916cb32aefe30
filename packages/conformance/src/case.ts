import type { Check } from './check.js';
import type { CaseContext } from './context.js';

export type CaseGroup =
  | 'kernels'
  | 'overrides'
  | 'layers'
  | 'network'
  | 'training'
  | 'edge'
  | 'resources'
  | 'errors';

export interface ConformanceCase {
  /** `group/what`, unique; what `skip` and the report use. */
  id: string;
  group: CaseGroup;
  /** Kernels the case exercises, for `looser` and for reading the report. */
  kernels: string[];
  run(ctx: CaseContext): Promise<Check>;
}
