import { expect, it } from 'vitest';
import { expectReadmeExampleRuns } from '../../../tooling/readme-example.js';
import { webgpuUnavailable } from './adapter.js';

// The example needs an adapter: a GPU, or SwiftShader (CI has it and sets REQUIRE_WEBGPU,
// so there a missing adapter fails instead of skipping).
const unavailable = await webgpuUnavailable();

if (unavailable) {
  it.skipIf(!process.env.REQUIRE_WEBGPU)(
    `has a WebGPU adapter (REQUIRE_WEBGPU): ${unavailable}`,
    () => {
      expect.fail(unavailable);
    },
  );
  it.skip(`the README example — skipped: ${unavailable}`, () => {});
} else {
  it('the README example runs and prints what it says', () => {
    expectReadmeExampleRuns(new URL('..', import.meta.url));
  });
}
