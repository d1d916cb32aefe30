import { defineConformanceSuite } from '@backprop/conformance/vitest';
import { describe, expect, it } from 'vitest';
import { GpujsBackend } from '../src/index.js';

const resources = (backend: unknown) => ({ textures: (backend as GpujsBackend).liveTextures() });

// gpu.js's WebAssembly engine runs everywhere.
defineConformanceSuite('gpujs webasm', () => GpujsBackend.create({ mode: 'webasm' }), {
  resources,
});

// GLSL on headless-gl needs the optional `gl` package built (Debian: libxi-dev libx11-dev
// libxext-dev libgl-dev pkg-config) and an X display (xvfb-run -a). CI provides both and
// sets REQUIRE_HEADLESSGL=1, so there a missing GL fails instead of skipping.
let glUnavailable = '';
try {
  GpujsBackend.create({ mode: 'headlessgl' });
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
  defineConformanceSuite('gpujs headlessgl', () => GpujsBackend.create({ mode: 'headlessgl' }), {
    resources,
  });
}
