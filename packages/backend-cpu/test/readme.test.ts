import { it } from 'vitest';
import { expectReadmeExampleRuns } from '../../../tooling/readme-example.js';

it('the README example runs and prints what it says', () => {
  expectReadmeExampleRuns(new URL('..', import.meta.url));
});

// Core's example needs a backend, and core cannot depend on one (backends depend on
// core), so it runs here, where both are installed.
it('@backprop/core’s README example runs and prints what it says', () => {
  expectReadmeExampleRuns(new URL('../../core/', import.meta.url), new URL('..', import.meta.url));
});
