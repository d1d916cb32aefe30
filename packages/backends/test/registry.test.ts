import { describe, expect, it } from 'vitest';
import { expectReadmeExampleRuns } from '../../../tooling/readme-example.js';
import { BACKEND_NAMES, conformanceAllowances, createBackend, listBackends } from '../src/index.js';

describe('the registry', () => {
  it('creates each backend that runs in Node, and its name creates it again', async () => {
    for (const name of ['cpu', 'wasm', 'tfjs-wasm', 'tfjs-cpu', 'gpujs-webasm']) {
      const backend = await createBackend(name);
      const again = await createBackend(backend.name, { dtype: backend.dtype });
      expect([backend.name, again.description]).toEqual([name, backend.description]);
      backend.close();
      again.close();
    }
    // gpujs picks an engine and reports the one it picked, which recreates that engine
    const auto = await createBackend('gpujs');
    expect(auto.name).toMatch(/^gpujs-(headlessgl|webasm)$/);
    expect(BACKEND_NAMES).toContain(auto.name);
  });

  // The WebGPU names need an adapter (SwiftShader in CI, which sets REQUIRE_WEBGPU).
  it.skipIf(!process.env.REQUIRE_WEBGPU)(
    'creates the three WebGPU backends in Node on Dawn, each again from its name',
    async () => {
      for (const name of ['webgpu', 'tfjs-webgpu', 'gpujs-webgpu']) {
        const backend = await createBackend(name);
        const again = await createBackend(backend.name);
        expect([backend.name, again.name]).toEqual([name, name]);
        const x = backend.tensor([-1, 2], [2]);
        expect(Array.from(await backend.read(backend.relu(x)))).toEqual([0, 2]);
        backend.close();
        again.close();
      }
    },
    120_000,
  );

  it('says what the conformance suite allows a shader backend, by case', () => {
    expect(conformanceAllowances('cpu')).toEqual({});
    expect(conformanceAllowances('webgpu').exp?.reason).toMatch(/WGSL exp/);
    expect(conformanceAllowances('gpujs-webgl2').exp?.factor).toBeCloseTo(19 / 8);
    expect(() => conformanceAllowances('cuda')).toThrow(/unknown backend 'cuda'/);
  });

  it('names the mistake: an unknown name, a dtype a backend lacks', async () => {
    await expect(createBackend('cuda')).rejects.toThrow(
      /unknown backend 'cuda'; backends: cpu, wasm, webgpu, tfjs-wasm/,
    );
    // a caller's mistake (UsageError: the command exits 2), with the near miss
    await expect(createBackend('tfjs-wsam')).rejects.toMatchObject({
      name: 'UsageError',
      message: expect.stringMatching(/unknown backend 'tfjs-wsam' \(did you mean 'tfjs-wasm'\?\)/),
    });
    await expect(createBackend('wasm', { dtype: 'float64' })).rejects.toThrow(
      /backend 'wasm' has no float64; it offers float32/,
    );
    // a browser's backend asked for in Node: said by the registry, in its names, before
    // its package is looked for (installing that would not make it run here)
    await expect(createBackend('tfjs-webgl')).rejects.toMatchObject({
      name: 'BackendError',
      message:
        "the tfjs-webgl backend needs a browser's WebGL, which Node does not have; in Node use tfjs-wasm, tfjs-cpu, tfjs-webgpu",
    });
  });

  it('lists what runs here and why the rest does not', async () => {
    const list = await listBackends();
    expect(list.map((b) => b.name)).toEqual(BACKEND_NAMES);
    const byName = Object.fromEntries(list.map((b) => [b.name, b]));
    expect(byName.cpu.available).toBe(true);
    expect(byName['gpujs-webgl2']).toMatchObject({ available: false });
    expect(byName['gpujs-webgl2'].reason).toMatch(/needs a browser/);
    expect(byName['tfjs-node'].reason).toMatch(/install @tensorflow\/tfjs-node/);
  });

  it('the README example runs and prints what it says', () => {
    expectReadmeExampleRuns(new URL('..', import.meta.url));
  });
});
