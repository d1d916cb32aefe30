import { defineConformanceSuiteWhereAvailable } from '@backprop/conformance/vitest';
import { describe, expect, it } from 'vitest';
import { WebgpuBackend } from '../src/index.js';
import { webgpuUnavailable } from './adapter.js';

// In Node the backend runs on Dawn (the npm package webgpu): a real GPU where there is
// one, else SwiftShader — the software Vulkan driver in Debian's chromium package, with
// the Vulkan loader (libvulkan1). CI installs both and sets REQUIRE_WEBGPU=1, so there a
// missing adapter fails instead of skipping.
await defineConformanceSuiteWhereAvailable(
  'webgpu',
  () => WebgpuBackend.create(),
  (backend) => ({
    looser: {
      // WGSL (as GLSL) allows exp (3 + 2·|x|) ulp; the case's x reach ±8: 19.
      exp: { factor: 19 / 8, reason: 'WGSL exp may be off by (3 + 2·|x|) ulp' },
    },
    // A software adapter runs ~20 dispatches a step at a few ms each: a lost buffer grows
    // the pool's count at once, so 40 iterations (two evaluations among them) show a
    // leak in ~6 s; the same code runs the full 2 000 on a hardware adapter.
    ...(/software/.test(backend.description)
      ? { leakIterations: 40, leakIterationsReason: 'a software adapter: ~0.2 s an iteration' }
      : {}),
  }),
  'REQUIRE_WEBGPU',
);

const unavailable = await webgpuUnavailable();

// These need an adapter too: without one they skip, and the suite above reports why (and
// fails instead where REQUIRE_WEBGPU is set, as in CI).
describe.skipIf(!!unavailable)('the webgpu backend', () => {
  it('names its adapter, and refuses to run once closed', async () => {
    const backend = await WebgpuBackend.create();
    expect(backend.description).toMatch(/^webgpu: WGSL compute shaders on .+, float32$/);
    const t = backend.tensor([1, 2, 3], [3]);
    expect(Array.from(await backend.read(backend.relu(backend.sub(t, 2))))).toEqual([0, 0, 1]);
    backend.close();
    expect(() => backend.tensor([1], [1])).toThrow(/the webgpu backend was closed/);
  });

  it('keeps its buffers flat: a pool by size', async () => {
    const backend = await WebgpuBackend.create();
    const x = backend.tensor(new Float32Array(1000).fill(1), [10, 100]);
    const step = async () => {
      const y = backend.tidy(() => backend.sum(backend.exp(backend.mul(x, 0.5)), 1));
      await backend.read(y);
      backend.dispose(y);
    };
    await step();
    const warm = backend.resources();
    for (let i = 0; i < 50; i++) await step();
    expect(backend.resources()).toEqual(warm);
    backend.close();
  });
});
