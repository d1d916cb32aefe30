/**
 * The suite as Vitest tests: one call in a backend's test file registers every case.
 *
 *   defineConformanceSuite('my backend', () => new MyBackend());
 */
import type { Backend } from '@backprop/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CaseContext, type ConformanceOptions } from './context.js';
import { runCase, selectCases } from './runner.js';

export function defineConformanceSuite(
  name: string,
  createBackend: () => Backend | Promise<Backend>,
  options: ConformanceOptions = {},
): void {
  describe(`conformance: ${name}`, () => {
    let ctx: CaseContext;
    beforeAll(async () => {
      ctx = new CaseContext(await createBackend(), options);
    });
    // a backend's workers or device end with the suite, so the process can exit
    afterAll(() => ctx?.backend.close());
    for (const testCase of selectCases(options)) {
      const reason = options.skip?.[testCase.id];
      if (reason) {
        // Skipped by the backend's own options; the reason is part of the test's name.
        it.skip(`${testCase.id} — skipped: ${reason}`, () => {});
        continue;
      }
      it(testCase.id, async (test) => {
        const result = await runCase(testCase, ctx);
        // a case that does not apply here (the oracle against itself, no override to
        // check) is reported as skipped, with its reason, not as a pass
        if (result.skipped !== undefined) test.skip(result.skipped);
        expect(result.passed, result.detail).toBe(true);
        // A backend author's vitest config may keep vitest's 5 s; a case is a hang only
        // past this: the slowest case took ~170 s on a software GPU (SwiftShader) on the
        // reference machine, ×3 for a slower CPU and ×2 under load is ~1 000 s.
      }, 1_200_000);
    }
  });
}

/**
 * The suite for a backend that starts only where something is installed — a GL display, a
 * GPU adapter. It is started once to find out: where it cannot start, one skipped test
 * names the reason, and where the environment variable `requiredBy` is set (CI sets it
 * where it installed what the backend needs) a failing test says so instead. `options`
 * may depend on the started backend (a software adapter runs fewer leak iterations, say);
 * its `description` is added to the suite's name. Where `CONFORMANCE_SKIP_SOFTWARE_GPU`
 * holds a reason, a backend on a software GPU adapter is skipped with that reason.
 */
export async function defineConformanceSuiteWhereAvailable(
  name: string,
  createBackend: () => Backend | Promise<Backend>,
  options: ConformanceOptions | ((backend: Backend) => ConformanceOptions),
  requiredBy: string,
): Promise<void> {
  let probe: Backend;
  try {
    probe = await createBackend();
  } catch (error) {
    const why = (error as Error).message;
    describe(`conformance: ${name}`, () => {
      it.skipIf(!process.env[requiredBy])(`is required here (${requiredBy}) but: ${why}`, () => {
        expect.fail(why);
      });
      it.skip(`every case skipped: ${why}`, () => {});
    });
    return;
  }
  const resolved = typeof options === 'function' ? options(probe) : options;
  const named = `${name} (${probe.description})`;
  probe.close();
  // A software GPU adapter (SwiftShader) runs a suite in minutes: CI runs those suites on
  // one Node version and, on the others, sets this variable to the reason it skips them.
  const skipSoftware = process.env.CONFORMANCE_SKIP_SOFTWARE_GPU;
  if (skipSoftware && /\bsoftware\b|swiftshader/i.test(named)) {
    describe(`conformance: ${named}`, () => {
      it.skip(`every case skipped: ${skipSoftware}`, () => {});
    });
    return;
  }
  defineConformanceSuite(named, createBackend, resolved);
}

export type { ConformanceOptions } from './context.js';
