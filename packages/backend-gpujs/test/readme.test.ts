import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { runReadmeExample } from '../../../tooling/readme-example.js';

it('the README example runs and prints what it says', () => {
  const run = runReadmeExample(fileURLToPath(new URL('..', import.meta.url)));
  expect(run.stderr).toBe('');
  expect(run.status).toBe(0);
  expect(run.actual).toBe(run.expected);
}, 60_000);
