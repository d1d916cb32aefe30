import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { webgpuUnavailable } from './adapter.js';

// Skipped where there is no adapter at all (the conformance suite reports why, and fails
// where REQUIRE_WEBGPU is set, as in CI), and where the machine has a GPU's device node:
// there the probe asks its real drivers first, whose own messages are theirs, not ours.
const unavailable = await webgpuUnavailable();
const gpuNode = ['/dev/dri', '/dev/nvidia0', '/dev/dxg'].some((path) => existsSync(path));

describe.skipIf(!!unavailable || gpuNode)('finding an adapter on a machine without a GPU', () => {
  it('prints nothing: SwiftShader is asked without a probe of the CPU drivers Dawn refuses', () => {
    // a process of its own, as a user's program starts: the probe's stderr is the process's
    const index = fileURLToPath(new URL('../dist/index.js', import.meta.url));
    const probe = spawnSync(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `const { provideNavigatorGpu } = await import(${JSON.stringify(index)}); console.log((await provideNavigatorGpu()).software);`,
      ],
      { encoding: 'utf8', env: { ...process.env, VK_ICD_FILENAMES: '' } },
    );
    expect(probe.stderr).toBe('');
    expect(probe.stdout.trim()).toBe('true');
  });
});
