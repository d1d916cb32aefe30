/**
 * How a case decides: every comparison is |actual − expected| ≤ atol + rtol · scale,
 * where `scale` is what the error can grow with (|expected|, or Σ|a·b| for a sum of
 * products). A case keeps its worst comparison, as a fraction of its tolerance: at most
 * 1 passes.
 */
import type { DType } from '@backprop/core';

export interface Tolerance {
  rtol: number;
  atol: number;
}

export interface CaseOutcome {
  passed: boolean;
  /** Why the case did not apply to this backend (then `passed` says nothing): e.g. the oracle compared with itself. */
  skipped?: string;
  /** The worst |actual − expected| / (atol + rtol · scale) over the case; ≤ 1 passes. */
  worstRatio: number;
  /** The absolute error at that worst element. */
  worstError: number;
  /** The tolerance at that element. */
  tolerance: number;
  /** What failed (or, for a pass, what was measured). */
  detail: string;
}

/** Unit roundoff of a dtype: 2⁻²⁴ for float32, 2⁻⁵³ for float64. */
export function unitRoundoff(dtype: DType): number {
  return dtype === 'float32' ? 2 ** -24 : 2 ** -53;
}

export class Check {
  private worstRatio = 0;
  private worstError = 0;
  private tolerance = 0;
  private worstLabel = '';
  private failures: string[] = [];
  private notes: string[] = [];
  private skipReason: string | undefined;

  /** Element-wise closeness; `scale` is one number for all elements or one per element. */
  close(
    label: string,
    actual: ArrayLike<number>,
    expected: ArrayLike<number>,
    tolerance: Tolerance,
    scale: ArrayLike<number> | number | 'expected' = 'expected',
  ): void {
    if (actual.length !== expected.length) {
      this.fail(`${label}: ${actual.length} values, expected ${expected.length}`);
      return;
    }
    for (let i = 0; i < expected.length; i++) {
      const s =
        scale === 'expected' ? Math.abs(expected[i]) : typeof scale === 'number' ? scale : scale[i];
      const allowed = tolerance.atol + tolerance.rtol * s;
      const error = Math.abs(actual[i] - expected[i]);
      if (!Number.isFinite(actual[i])) {
        this.fail(`${label}: value ${actual[i]} at ${i}, expected ${expected[i]}`);
        return;
      }
      const ratio = allowed > 0 ? error / allowed : error === 0 ? 0 : Number.POSITIVE_INFINITY;
      if (ratio > this.worstRatio) {
        this.worstRatio = ratio;
        this.worstError = error;
        this.tolerance = allowed;
        this.worstLabel = `${label}[${i}]: ${actual[i]} vs ${expected[i]}`;
      }
    }
  }

  /** Exactly equal, element by element (selection, not arithmetic: relu, gather, counts). */
  exact(label: string, actual: ArrayLike<number>, expected: ArrayLike<number>): void {
    this.close(label, actual, expected, { rtol: 0, atol: 0 });
  }

  that(condition: boolean, failure: string): void {
    if (!condition) this.fail(failure);
  }

  fail(failure: string): void {
    this.failures.push(failure);
  }

  /** The case does not apply here, and says why: it is reported as skipped, never as a pass. */
  skip(reason: string): void {
    this.skipReason = reason;
  }

  get skipped(): string | undefined {
    return this.skipReason;
  }

  /** Something measured that the report should show even when the case passes. */
  note(text: string): void {
    this.notes.push(text);
  }

  outcome(): CaseOutcome {
    if (this.skipReason !== undefined && this.failures.length === 0) {
      return {
        passed: true,
        skipped: this.skipReason,
        worstRatio: 0,
        worstError: 0,
        tolerance: 0,
        detail: `skipped: ${this.skipReason}`,
      };
    }
    const passed = this.failures.length === 0 && this.worstRatio <= 1;
    const detail =
      this.failures.length > 0
        ? this.failures.join('; ')
        : this.worstRatio > 1
          ? `worst ${this.worstLabel} is off by ${this.worstError.toExponential(2)}, allowed ${this.tolerance.toExponential(2)}`
          : [...this.notes, this.worstLabel ? `worst ${this.worstLabel}` : 'ok'].join('; ');
    return {
      passed,
      worstRatio: this.worstRatio,
      worstError: this.worstError,
      tolerance: this.tolerance,
      detail,
    };
  }
}
