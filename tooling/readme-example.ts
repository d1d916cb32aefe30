/**
 * Runs the example in a package's README, so the example that users copy is known to
 * work. The first ```js block after "## Example" is written into a package folder (its
 * own, or `runIn`, one that has the example's dependencies) and run there with node. Each `console.log(…); // text`
 * line states its output: the test compares all of stdout with those comments, ignoring
 * white space.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';

export function runReadmeExample(packageDir: string, runIn = packageDir) {
  const readme = readFileSync(join(packageDir, 'README.md'), 'utf8');
  const match = /## Example[\s\S]*?```js\n([\s\S]*?)```/.exec(readme);
  if (!match) throw new Error(`${packageDir}/README.md has no \`\`\`js block under "## Example"`);
  const code = match[1];
  const expected = [...code.matchAll(/console\.log\(.*\);\s*\/\/ (.*)$/gm)]
    .map((m) => m[1])
    .join('');
  // one file a process: CI runs two Node versions' tests side by side
  const file = join(runIn, `.readme-example-${process.pid}.mjs`);
  writeFileSync(file, code);
  try {
    const run = spawnSync(process.execPath, [file], { cwd: runIn, encoding: 'utf8' });
    const squash = (text: string) => text.replace(/\s+/g, '');
    return { ...run, expected: squash(expected), actual: squash(run.stdout) };
  } finally {
    rmSync(file, { force: true });
  }
}

/**
 * The assertion every package's readme.test.ts makes: the example (of the package at
 * `packageUrl`, run inside `runInUrl` if given) exits cleanly and prints what it says.
 */
export function expectReadmeExampleRuns(packageUrl: URL, runInUrl?: URL): void {
  const packageDir = fileURLToPath(packageUrl);
  const run = runReadmeExample(packageDir, runInUrl ? fileURLToPath(runInUrl) : packageDir);
  expect(run.stderr).toBe('');
  expect(run.status).toBe(0);
  expect(run.actual).toBe(run.expected);
}
