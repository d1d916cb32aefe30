#!/usr/bin/env node
// Adds up the test-results.json that each package's vitest run wrote and prints
// `N passed, N failed` (and skipped, when any) — the line CI reads.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('../..', import.meta.url).pathname;
let passed = 0;
let failed = 0;
let skipped = 0;
const missing = [];
for (const group of ['packages', 'apps', 'tooling']) {
  const dir = join(root, group);
  if (!existsSync(dir)) continue;
  for (const name of readdirSync(dir)) {
    const pkg = join(dir, name);
    if (!existsSync(join(pkg, 'package.json'))) continue;
    const { scripts = {} } = JSON.parse(readFileSync(join(pkg, 'package.json'), 'utf8'));
    if (!scripts.test) continue;
    const file = join(pkg, 'test-results.json');
    if (!existsSync(file)) {
      missing.push(`${group}/${name}`);
      continue;
    }
    const report = JSON.parse(readFileSync(file, 'utf8'));
    passed += report.numPassedTests;
    failed += report.numFailedTests;
    skipped += report.numPendingTests + report.numTodoTests;
    // A file that failed to load has no tests to count but is still a failure.
    failed += report.testResults.filter(
      (r) => r.status === 'failed' && r.assertionResults.length === 0,
    ).length;
  }
}
// A package whose tests never produced a report counts as one failure, named here.
for (const pkg of missing) console.log(`no test results from ${pkg}: its test run did not finish`);
failed += missing.length;
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
