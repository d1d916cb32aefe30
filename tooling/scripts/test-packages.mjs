#!/usr/bin/env node
/**
 * Every package's tests, N at a time (default 2), the longest first: the first part of
 * the README's `pnpm test`.
 *
 *   node tooling/scripts/test-packages.mjs [--concurrency N]
 *
 * Why not one `turbo run test --concurrency=2`: turbo starts the tests in the order their
 * builds finish, so the playground (which depends on every package) started last and ran
 * alone for its 5 minutes while the other core idled — a fifth of CI. Here each package is
 * still one turbo task (`--only`: the builds ran first, once; unchanged packages replay
 * from turbo's cache), taken from a queue that starts with the slowest. The order is
 * static: the durations of a fresh-clone CI (b578d9d, 2-core AMD EPYC) in seconds.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const LONGEST_FIRST = [
  ['@backprop/playground', 322],
  ['@backprop/cli', 278],
  ['@backprop/backend-tfjs', 253],
  ['@backprop/release-check', 249],
  ['@backprop/backend-gpujs', 169],
  ['@backprop/backend-webgpu', 120],
  ['@backprop/conformance', 89],
  ['@backprop/backend-wasm', 81],
  ['@backprop/backend-cpu', 78],
].map(([name]) => name);

const root = join(import.meta.dirname, '..', '..');
const args = process.argv.slice(2);
let concurrency = 2;
for (let i = 0; i < args.length; i++) {
  const value = Number(args[i + 1]);
  if (args[i] !== '--concurrency') {
    console.error(`test-packages: unknown argument ${args[i]} (it takes --concurrency N)`);
    process.exit(2);
  }
  if (!Number.isInteger(value) || value < 1) {
    console.error(`test-packages: --concurrency takes a whole number ≥ 1, not ${args[i + 1]}`);
    process.exit(2);
  }
  concurrency = value;
  i++;
}

// the workspace's packages (pnpm-workspace.yaml) that have a test script
const workspace = ['packages', 'apps']
  .flatMap((group) => readdirSync(join(root, group)).map((dir) => join(root, group, dir)))
  .concat(join(root, 'tooling', 'release'))
  .filter((dir) => existsSync(join(dir, 'package.json')))
  .map((dir) => JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')))
  .filter((manifest) => manifest.scripts?.test)
  .map((manifest) => manifest.name);
const rank = (name) => {
  const at = LONGEST_FIRST.indexOf(name);
  return at === -1 ? LONGEST_FIRST.length : at;
};
const queue = [...workspace].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));

const turbo = join(root, 'node_modules', '.bin', 'turbo');
const built = spawnSync(turbo, ['run', 'build', '--output-logs=errors-only'], {
  cwd: root,
  stdio: 'inherit',
});
if (built.status !== 0) process.exit(built.status ?? 1);

const failed = [];
const started = Date.now();
const lane = async () => {
  for (let name = queue.shift(); name; name = queue.shift()) {
    const from = Date.now();
    const code = await new Promise((resolve) => {
      spawn(turbo, ['run', 'test', '--only', `--filter=${name}`], { cwd: root, stdio: 'inherit' })
        .on('error', () => resolve(1))
        .on('exit', (exit) => resolve(exit ?? 1));
    });
    if (code !== 0) failed.push(name);
    const seconds = Math.round((Date.now() - from) / 1000);
    console.log(`test-packages: ${name} ${code === 0 ? 'passed' : 'FAILED'} in ${seconds} s`);
  }
};
await Promise.all(Array.from({ length: concurrency }, lane));
const total = Math.round((Date.now() - started) / 1000);
console.log(
  `test-packages: ${workspace.length} packages in ${total} s, ${concurrency} at a time; ${failed.length ? `failed: ${failed.join(', ')}` : 'all passed'}`,
);
process.exit(failed.length ? 1 : 0);
