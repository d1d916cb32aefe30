import { provideNavigatorGpu } from '@backprop/backend-webgpu';
import {
  defineConformanceSuite,
  defineConformanceSuiteWhereAvailable,
} from '@backprop/conformance/vitest';
import { TfjsBackend } from '../src/index.js';

// Both engines that run in Node. TensorFlow.js's own tensor count (engineTensors) must
// stay flat too: the suite's resources case watches it.
for (const engine of ['cpu', 'wasm'] as const) {
  defineConformanceSuite(
    `tfjs ${engine}`,
    () => TfjsBackend.create({ engine }),
    engine === 'cpu'
      ? {
          // a lost tensor shows in engineTensors at once; 500 iterations hold two
          // evaluations past the warm-up (2 000 took 23 s of CI's slot)
          leakIterations: 500,
          leakIterationsReason: "TensorFlow.js's JavaScript engine: ~10 ms an iteration",
        }
      : {},
  );
}

// The webgpu engine registers itself only where it sees navigator.gpu: in Node that is
// Dawn's (npm: webgpu), put there by @backprop/backend-webgpu before the engine is
// imported — a real GPU, else SwiftShader (Debian's chromium + libvulkan1). CI has
// SwiftShader and sets REQUIRE_WEBGPU=1, so there a missing adapter fails.
const gpu = await provideNavigatorGpu().catch(() => undefined);
await defineConformanceSuiteWhereAvailable(
  `tfjs webgpu on ${gpu?.adapter ?? 'no adapter'}`,
  async () => {
    await provideNavigatorGpu(); // rejects with the reason where there is no adapter
    return TfjsBackend.create({ engine: 'webgpu' });
  },
  {
    looser: {
      // WGSL allows exp (3 + 2·|x|) ulp; the case's x reach ±8: 19.
      exp: { factor: 19 / 8, reason: 'WGSL exp may be off by (3 + 2·|x|) ulp' },
    },
    ...(gpu?.software
      ? {
          // a lost tensor shows in engineTensors at once; 40 iterations hold two evaluations
          // (100 took 60 s of CI's slot here, 40 prove the same)
          leakIterations: 40,
          leakIterationsReason: 'a software adapter: ~0.3 s an iteration',
          skip: {
            'training/8 Adam steps of a SimpleConvNet agree with the oracle':
              "a software adapter: TensorFlow.js's WGSL convolutions took 48 s of CI here; this backend's convolution path is the same tf ops on every engine, proved on cpu and wasm above (a hardware adapter runs it)",
          },
        }
      : {}),
  },
  'REQUIRE_WEBGPU',
);
