/**
 * Every published package as a user gets it: packed with pnpm (workspace: ranges turned
 * into real ones), linted with publint and are-the-types-wrong, then core + a backend +
 * mnist installed from the tarballs into an empty project outside the workspace with
 * plain npm, where a script trains through the public API only.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../..', import.meta.url));
const packagesDir = join(root, 'packages');
const published = readdirSync(packagesDir).filter((dir) => {
  const pkg = JSON.parse(readFileSync(join(packagesDir, dir, 'package.json'), 'utf8'));
  return !pkg.private;
});
const work = mkdtempSync(join(tmpdir(), 'backprop-packs-'));
const tarballs = new Map<string, string>();
const bin = (name: string) => join(root, 'node_modules', '.bin', name);
const run = (command: string, args: string[], cwd: string) =>
  spawnSync(command, args, { cwd, encoding: 'utf8' });

beforeAll(() => {
  for (const dir of published) {
    const out = execFileSync('pnpm', ['pack', '--pack-destination', work], {
      cwd: join(packagesDir, dir),
      encoding: 'utf8',
    });
    tarballs.set(dir, out.trim().split('\n').at(-1) as string);
  }
}, 120_000);
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe.each(published)('the %s tarball', (dir) => {
  it('holds the build, types, README and LICENSE, and no sources, tests or workspace ranges', () => {
    const files = execFileSync('tar', ['tzf', tarballs.get(dir) as string], { encoding: 'utf8' })
      .trim()
      .split('\n');
    expect(files).toContain('package/dist/index.js');
    expect(files).toContain('package/dist/index.d.ts');
    expect(files).toContain('package/README.md');
    expect(files).toContain('package/LICENSE');
    expect(
      files.filter((f) => /^package\/(src|test|assembly|scripts)\//.test(f) || f.endsWith('.map')),
    ).toEqual([]);
    const manifest = execFileSync(
      'tar',
      ['xzf', tarballs.get(dir) as string, '-O', 'package/package.json'],
      { encoding: 'utf8' },
    );
    expect(manifest).not.toContain('workspace:');
    const pkg = JSON.parse(manifest);
    for (const field of ['license', 'repository', 'engines', 'exports', 'files'])
      expect(pkg[field], field).toBeDefined();
    expect(pkg.sideEffects).toBe(false);
    expect(Object.keys(pkg.exports['.'])[0]).toBe('types'); // types first, as resolvers read in order
  });

  it('passes publint with no errors or warnings', () => {
    const lint = run(bin('publint'), ['run', tarballs.get(dir) as string, '--strict'], root);
    expect(lint.status, lint.stdout + lint.stderr).toBe(0);
  }, 60_000);

  it('resolves its types under node16 and bundlers (are-the-types-wrong)', () => {
    // ESM-only by design: a CommonJS require() of it is the one resolution we do not offer
    // (Node 20.19+ can require() ESM anyway), so that rule is the one ignored.
    const attw = run(
      bin('attw'),
      [
        tarballs.get(dir) as string,
        '--profile',
        'node16',
        '--ignore-rules',
        'cjs-resolves-to-esm',
        '--format',
        'ascii',
      ],
      root,
    );
    expect(attw.status, attw.stdout + attw.stderr).toBe(0);
  }, 60_000);
});

describe('a user project outside the workspace', () => {
  it('installs core + backend-cpu + mnist from the tarballs with npm and trains through the public API', () => {
    const project = join(work, 'user-project');
    execFileSync('mkdir', ['-p', project]);
    writeFileSync(
      join(project, 'package.json'),
      JSON.stringify({ name: 'user-project', private: true, type: 'module' }),
    );
    const install = run(
      'npm',
      [
        'install',
        '--no-audit',
        '--no-fund',
        ...['core', 'backend-cpu', 'mnist'].map((d) => tarballs.get(d) as string),
      ],
      project,
    );
    expect(install.status, install.stderr).toBe(0);
    // backend-cpu pulls in nothing heavy: no TensorFlow.js, no gpu.js
    expect(readdirSync(join(project, 'node_modules'))).not.toContain('@tensorflow');
    writeFileSync(
      join(project, 'train.mjs'),
      `import { CpuBackend } from '@backprop/backend-cpu';
import { Random, TwoLayerNet, datasetAccuracy, toDataset, trainNetwork } from '@backprop/core';
import { loadMnist } from '@backprop/mnist';
const { train, test } = loadMnist();
const backend = new CpuBackend({ dtype: 'float32' });
const random = new Random(1);
const net = new TwoLayerNet(backend, { random });
const trainSet = toDataset(backend, train.images, train.labels, 784);
const testSet = toDataset(backend, test.images, test.labels, 784);
const before = await datasetAccuracy(net, testSet);
const result = await trainNetwork(net, trainSet, testSet, { iters: 200, batchSize: 100, random, iterPerEpoch: 1000 });
console.log(JSON.stringify({ before, after: result.final.testAccuracy, iters: result.completedIters }));
`,
    );
    const train = run(process.execPath, ['train.mjs'], project);
    expect(train.status, train.stderr).toBe(0);
    const { before, after, iters } = JSON.parse(train.stdout);
    expect(iters).toBe(200);
    expect(before).toBeLessThan(0.2); // chance
    expect(after).toBeGreaterThan(0.8); // 200 steps of the book's settings
  }, 180_000);
});

describe('publishing', () => {
  it('pnpm -r publish --dry-run passes', () => {
    const publish = run('pnpm', ['-r', 'publish', '--dry-run', '--no-git-checks'], root);
    expect(publish.status, publish.stdout + publish.stderr).toBe(0);
    for (const dir of published)
      expect(publish.stdout + publish.stderr).toContain(`@backprop/${dir}`);
  }, 180_000);
});
