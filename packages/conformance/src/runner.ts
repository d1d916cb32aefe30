import { type Backend, refuseUnknownKeys, UsageError } from '@backprop/core';
import type { CaseGroup, ConformanceCase } from './case.js';
import { edgeCases } from './cases/edge.js';
import { errorCases } from './cases/errors.js';
import { kernelCases } from './cases/kernels.js';
import { layerCases } from './cases/layers.js';
import { networkCases } from './cases/network.js';
import { overrideCases } from './cases/overrides.js';
import { resourceCases } from './cases/resources.js';
import type { CaseOutcome } from './check.js';
import { CaseContext, type ConformanceOptions, MnistUnavailable } from './context.js';

/** Every case, in the order the suite runs them. */
export const conformanceCases: readonly ConformanceCase[] = [
  ...kernelCases,
  ...overrideCases,
  ...layerCases,
  ...networkCases,
  ...edgeCases,
  ...resourceCases,
  ...errorCases,
];

export interface CaseResult extends CaseOutcome {
  id: string;
  group: CaseGroup;
  ms: number;
}

export interface ConformanceReport {
  backend: string;
  dtype: string;
  description: string;
  cases: CaseResult[];
  passed: number;
  failed: number;
  skipped: number;
}

/**
 * The cases `options.only` selects (all when it is not given). A prefix that matches no
 * case is a mistake (a typo would otherwise pass, having run nothing): it throws.
 */
export function selectCases(options: ConformanceOptions): readonly ConformanceCase[] {
  refuseUnknownKeys('conformance options', options, [
    'looser',
    'skip',
    'only',
    'mnist',
    'leakIterations',
    'leakIterationsReason',
  ]);
  const { only } = options;
  if (!only) return conformanceCases;
  const unmatched = only.filter((prefix) => !conformanceCases.some((c) => c.id.startsWith(prefix)));
  if (unmatched.length > 0) {
    throw new UsageError(
      `no conformance case starts with ${unmatched.map((p) => `'${p}'`).join(', ')}; groups: ${[...new Set(conformanceCases.map((c) => `${c.group}/`))].join(', ')}`,
    );
  }
  return conformanceCases.filter((c) => only.some((prefix) => c.id.startsWith(prefix)));
}

/** Runs one case; an exception inside it is a failure with the exception's message. */
export async function runCase(testCase: ConformanceCase, ctx: CaseContext): Promise<CaseResult> {
  const base = { id: testCase.id, group: testCase.group };
  const skip = (reason: string): CaseResult => ({
    ...base,
    skipped: reason,
    passed: true,
    worstRatio: 0,
    worstError: 0,
    tolerance: 0,
    detail: `skipped: ${reason}`,
    ms: 0,
  });
  const skipped = ctx.options.skip?.[testCase.id];
  if (skipped !== undefined) return skip(skipped);
  const started = performance.now();
  try {
    const outcome = (await testCase.run(ctx)).outcome();
    return { ...base, ...outcome, ms: performance.now() - started };
  } catch (error) {
    if (error instanceof MnistUnavailable) return skip(error.message);
    const { name, message } = error as Error;
    return {
      ...base,
      passed: false,
      worstRatio: Number.POSITIVE_INFINITY,
      worstError: Number.NaN,
      tolerance: Number.NaN,
      detail: `threw ${name}: ${message}`,
      ms: performance.now() - started,
    };
  } finally {
    ctx.release();
  }
}

/** Runs the whole suite against one backend and returns a structured report. */
export async function runConformance(
  createBackend: () => Backend | Promise<Backend>,
  options: ConformanceOptions = {},
  onCase?: (result: CaseResult) => void,
): Promise<ConformanceReport> {
  const selected = selectCases(options);
  const backend = await createBackend();
  const ctx = new CaseContext(backend, options);
  const cases: CaseResult[] = [];
  for (const testCase of selected) {
    const result = await runCase(testCase, ctx);
    cases.push(result);
    onCase?.(result);
  }
  const skipped = cases.filter((c) => c.skipped !== undefined).length;
  const failed = cases.filter((c) => !c.passed).length;
  return {
    backend: backend.name,
    dtype: backend.dtype,
    description: backend.description,
    cases,
    passed: cases.length - failed - skipped,
    failed,
    skipped,
  };
}
