import { it } from 'vitest';
import { expectReadmeExampleRuns } from '../../../tooling/readme-example.js';

it('the README example runs and prints what it says', () => {
  expectReadmeExampleRuns(new URL('..', import.meta.url));
});
