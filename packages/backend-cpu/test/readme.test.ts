import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { runReadmeExample } from '../../../tooling/readme-example.js';

const here = fileURLToPath(new URL('..', import.meta.url));

it('the README example runs and prints what it says', () => {
  const run = runReadmeExample(here);
  expect(run.stderr).toBe('');
  expect(run.status).toBe(0);
  expect(run.actual).toBe(run.expected);
}, 30_000);

// Core's example needs a backend, and core cannot depend on one (backends depend on
// core), so it runs here, where both are installed.
it('@backprop/core’s README example runs and prints what it says', () => {
  const run = runReadmeExample(fileURLToPath(new URL('../../core', import.meta.url)), here);
  expect(run.stderr).toBe('');
  expect(run.status).toBe(0);
  expect(run.actual).toBe(run.expected);
}, 30_000);
