/**
 * The one test configuration, used by every package's `test` script. Besides the
 * usual terminal output, each run writes test-results.json, which .ci/run adds up.
 */
import { defineConfig } from 'vitest/config';

// BACKPROP_TIMING=skip leaves out the tests tagged [timing] (whose outcome depends on
// wall-clock time): the README's `pnpm test` runs the rest two packages at a time and then
// those alone under load (tooling/scripts/timing-under-load.sh, BACKPROP_TIMING=only).
const timing = process.env.BACKPROP_TIMING;
const testNamePattern =
  timing === 'skip' ? /^(?!.*\[timing\])/ : timing === 'only' ? /\[timing\]/ : undefined;

export default defineConfig({
  test: {
    testNamePattern,
    root: process.cwd(),
    include: ['test/**/*.test.ts'],
    reporters: ['default', 'json'],
    // CI runs other Node versions side by side, each writing a file of its own
    outputFile: { json: process.env.TEST_RESULTS_FILE ?? 'test-results.json' },
    // A timeout catches a hang; it is not a speed check (the bench measures speed). The
    // slowest single test or hook here took ~300 s on the reference machine (2 cores, AMD
    // EPYC): the page's conformance suite on SwiftShader WebGPU, the release check's npm
    // install of every tarball. A CPU three times slower (×3) with a hog on both cores
    // (×2) makes that 1 800 s; no test may take longer than this, and none sets its own.
    testTimeout: 1_800_000,
    hookTimeout: 1_800_000,
  },
});
