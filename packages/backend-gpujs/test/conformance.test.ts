import { provideNavigatorGpu } from '@backprop/backend-webgpu';
import {
  defineConformanceSuite,
  defineConformanceSuiteWhereAvailable,
} from '@backprop/conformance/vitest';
import { expect, it } from 'vitest';
import { GpujsBackend } from '../src/index.js';

// gpu.js's WebAssembly engine runs everywhere.
// A slow engine runs the leak case's 500 iterations (two evaluations past the warm-up, as
// the 2 000 had; a lost handle or texture shows in the counts at once): 2 000 took 18 s
// (webasm) and 26 s (headlessgl) of CI's slot.
const slowLeak = (perIteration: string) => ({
  leakIterations: 500,
  leakIterationsReason: `gpu.js's ${perIteration} an iteration`,
});
defineConformanceSuite(
  'gpujs webasm',
  () => GpujsBackend.create({ engine: 'webasm' }),
  slowLeak('WebAssembly engine: ~8 ms'),
);

// GLSL on headless-gl needs the optional `gl` package built (Debian: libxi-dev libx11-dev
// libxext-dev libgl-dev pkg-config) and an X display (xvfb-run -a). CI provides both and
// sets REQUIRE_HEADLESSGL=1, so there a missing GL fails instead of skipping.
// Textures are what leak on a GL engine, and the case counts them.
const exp = (language: string) => ({
  // GLSL ES 3.00 (section 4.5.1) and WGSL allow exp (3 + 2·|x|) ulp; the case's x reach ±8: 19.
  exp: { factor: 19 / 8, reason: `${language} exp may be off by (3 + 2·|x|) ulp` },
});
await defineConformanceSuiteWhereAvailable(
  'gpujs headlessgl',
  () => GpujsBackend.create({ engine: 'headlessgl' }),
  { looser: exp('GLSL'), ...slowLeak('headless-gl engine: ~11 ms') },
  'REQUIRE_HEADLESSGL',
);

// gpu.js's WGSL engine: in Node on Dawn (npm: webgpu), which @backprop/backend-webgpu puts
// at navigator.gpu — a real GPU, else SwiftShader (Debian's chromium + libvulkan1). CI
// has SwiftShader and sets REQUIRE_WEBGPU=1, so there a missing adapter fails.
const gpu = await provideNavigatorGpu().catch(() => undefined);
await defineConformanceSuiteWhereAvailable(
  `gpujs webgpu on ${gpu?.adapter ?? 'no adapter'}`,
  async () => {
    await provideNavigatorGpu(); // rejects with the reason where there is no adapter
    return GpujsBackend.create({ engine: 'webgpu' });
  },
  {
    looser: exp('WGSL'),
    ...(gpu?.software
      ? {
          // 40 iterations hold two evaluations (period 20), as the 100 did
          leakIterations: 40,
          leakIterationsReason:
            'a software adapter, ~0.2 s an iteration; a lost buffer shows in the count at once',
        }
      : {}),
  },
  'REQUIRE_WEBGPU',
);

it('trains from a dataset past 2^24 values: gatherRows takes whole rows on the host', async () => {
  // The full MNIST training set is 47 040 000 values; a float32 flat index is exact only
  // to 2^24, so the rows must be copied, not found by index. 21 400 rows of 784 pass 2^24.
  const b = await GpujsBackend.create({ engine: 'webasm' });
  const rows = 21_400;
  const values = new Float32Array(rows * 784).map((_, i) => (i * 7) % 4099);
  const data = b.tensor(values, [rows, 784]);
  const picked = b.gatherRows(data, [rows - 1, 0, 12_345]);
  const got = await b.read(picked);
  for (const [i, row] of [rows - 1, 0, 12_345].entries())
    expect(got.subarray(i * 784, (i + 1) * 784)).toEqual(
      values.subarray(row * 784, (row + 1) * 784),
    );
  expect(() => b.relu(data)).toThrow(
    /relu: the gpujs-webasm backend's kernels read at most 16777216 values/,
  );
  b.close();
});

it('names the fix when an engine cannot run here', async () => {
  await expect(GpujsBackend.create({ engine: 'webgl2' })).rejects.toThrow(
    /webgl2 engine is not available here \(it needs a browser\)/,
  );
  await expect(GpujsBackend.create({ engine: 'quantum' as never })).rejects.toThrow(
    /unknown engine 'quantum'; engines: auto, headlessgl/,
  );
});
