import { defineConformanceSuite } from '@backprop/conformance/vitest';
import { describe, expect, it } from 'vitest';
import { GpujsBackend } from '../src/index.js';

// gpu.js's WebAssembly engine runs everywhere.
defineConformanceSuite('gpujs webasm', () => GpujsBackend.create({ engine: 'webasm' }), {
  leakIterations: 2000,
  leakIterationsReason: 'about 5 ms an iteration; textures do not exist on this engine',
});

// GLSL on headless-gl needs the optional `gl` package built (Debian: libxi-dev libx11-dev
// libxext-dev libgl-dev pkg-config) and an X display (xvfb-run -a). CI provides both and
// sets REQUIRE_HEADLESSGL=1, so there a missing GL fails instead of skipping.
let glUnavailable = '';
try {
  (await GpujsBackend.create({ engine: 'headlessgl' })).close();
} catch (error) {
  glUnavailable = (error as Error).message;
}

if (glUnavailable) {
  describe('gpujs headlessgl', () => {
    it.skipIf(!process.env.REQUIRE_HEADLESSGL)(
      `is required here (REQUIRE_HEADLESSGL) but: ${glUnavailable}`,
      () => {
        expect.fail(glUnavailable);
      },
    );
    it.skip(`conformance cases skipped: ${glUnavailable}`, () => {});
  });
} else {
  // Textures are what leak on a GL engine: the full 10 000 iterations (software GL, ~1 min).
  defineConformanceSuite('gpujs headlessgl', () => GpujsBackend.create({ engine: 'headlessgl' }), {
    looser: {
      // GLSL ES 3.00 (section 4.5.1) allows exp (3 + 2·|x|) ulp; the case's x reach ±8: 19.
      exp: { factor: 19 / 8, reason: 'GLSL exp may be off by (3 + 2·|x|) ulp' },
    },
  });
}

it('names the fix when an engine cannot run here', async () => {
  await expect(GpujsBackend.create({ engine: 'webgl2' })).rejects.toThrow(
    /webgl2 engine is not available here \(it needs a browser\)/,
  );
  await expect(GpujsBackend.create({ engine: 'quantum' as never })).rejects.toThrow(
    /unknown engine 'quantum'; engines: auto, headlessgl/,
  );
});
