/**
 * The one test configuration, used by every package's `test` script. Besides the
 * usual terminal output, each run writes test-results.json, which .ci/run adds up.
 */
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    root: process.cwd(),
    include: ['test/**/*.test.ts'],
    reporters: ['default', 'json'],
    // CI runs other Node versions side by side, each writing a file of its own
    outputFile: { json: process.env.TEST_RESULTS_FILE ?? 'test-results.json' },
    // The heavy tests (gradient checks, training on MNIST) set their own timeouts.
    testTimeout: 20_000,
  },
});
