import { defineConformanceSuite } from '@backprop/conformance/vitest';
import { TfjsBackend } from '../src/index.js';

// Both engines that run in Node. TensorFlow.js's own tensor count must stay flat too.
for (const engine of ['cpu', 'wasm'] as const) {
  defineConformanceSuite(`tfjs ${engine}`, () => TfjsBackend.create({ engine }), {
    resources: (backend) => ({ engineTensors: (backend as TfjsBackend).engineTensors() }),
  });
}
