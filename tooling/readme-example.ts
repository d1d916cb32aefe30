/**
 * Runs the example in a package's README, so the example that users copy is known to
 * work. The first ```js (or plain-JavaScript ```ts) block after "## Example" is written into a package folder (its
 * own, or `runIn`, one that has the example's dependencies) and run there with node. Each `console.log(…); // text`
 * line states its output: the test compares all of stdout with those comments, ignoring
 * white space.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';

/** A README's code block: its language, and the file it names in a first-line comment (`// page/main.ts`). */
export interface ReadmeBlock {
  lang: 'js' | 'ts';
  code: string;
  file?: string;
}

/** Every ```js and ```ts block of a README, in order. */
export function readmeBlocks(readme: string): ReadmeBlock[] {
  return [...readme.matchAll(/^```(js|ts)\n([\s\S]*?)^```/gm)].map(([, lang, code]) => {
    const file = /^\/\/ ([\w./-]+\.[jt]s)\b/.exec(code as string)?.[1];
    return { lang: lang as 'js' | 'ts', code: code as string, ...(file ? { file } : {}) };
  });
}

/**
 * What a block says it prints: the `// text` after each `console.log(…);`, without white
 * space. A comment starting `e.g.` shows output that differs between machines (an adapter's
 * name, the reason a backend is missing there): it is not compared, and must come last.
 */
export function expectedOutput(code: string): string {
  return squash(
    [...code.matchAll(/console\.log\(.*\);\s*\/\/ (.*)$/gm)]
      .map((m) => m[1] as string)
      .filter((text) => !text.startsWith('e.g.'))
      .join(''),
  );
}

export const squash = (text: string) => text.replace(/\s+/g, '');

export function runReadmeExample(packageDir: string, runIn = packageDir) {
  const readme = readFileSync(join(packageDir, 'README.md'), 'utf8');
  const match = /## Example[\s\S]*?```(?:js|ts)\n([\s\S]*?)```/.exec(readme);
  if (!match) throw new Error(`${packageDir}/README.md has no code block under "## Example"`);
  const code = match[1] as string;
  // one file a process: CI runs two Node versions' tests side by side
  const file = join(runIn, `.readme-example-${process.pid}.mjs`);
  writeFileSync(file, code);
  try {
    const run = spawnSync(process.execPath, [file], { cwd: runIn, encoding: 'utf8' });
    return { ...run, expected: expectedOutput(code), actual: squash(run.stdout) };
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
  // the `e.g.` lines come last and are not compared: what is compared is the start
  expect(run.actual.slice(0, run.expected.length)).toBe(run.expected);
  if (!/\/\/ e\.g\./.test(readFileSync(join(packageDir, 'README.md'), 'utf8')))
    expect(run.actual).toBe(run.expected);
}
