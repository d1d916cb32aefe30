import { defineConformanceSuite } from '@backprop/conformance/vitest';
import { TfjsBackend } from '../src/index.js';

// Both engines that run in Node. TensorFlow.js's own tensor count (engineTensors) must
// stay flat too: the suite's resources case watches it.
for (const engine of ['cpu', 'wasm'] as const) {
  defineConformanceSuite(
    `tfjs ${engine}`,
    () => TfjsBackend.create({ engine }),
    engine === 'cpu'
      ? { leakIterations: 3000, leakIterationsReason: 'about 4 ms an iteration at batch 10' }
      : {},
  );
}
