#!/usr/bin/env node
// Adds up the test-results.json that each package's vitest run wrote and prints
// `N passed, N failed` (and skipped, when any) — the line CI reads.
//
//   count-tests.mjs                          every package with a test script
//   count-tests.mjs --except apps/playground --label "Node v22" --save counts.json
//                                            leave packages out, name the run, keep its totals
//   count-tests.mjs --file results-22.json   read that file in each package instead
//   count-tests.mjs --only packages/core,apps/cli   only these packages (each must have one)
//   count-tests.mjs --sum a.json b.json      the totals of several saved runs
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const { values, positionals } = parseArgs({
  options: {
    except: { type: 'string' },
    only: { type: 'string' },
    file: { type: 'string' },
    label: { type: 'string' },
    save: { type: 'string' },
    sum: { type: 'boolean' },
  },
  allowPositionals: true,
});
const line = ({ passed, failed, skipped }) =>
  `${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`;

if (values.sum) {
  const total = { passed: 0, failed: 0, skipped: 0 };
  for (const file of positionals) {
    // a run whose counts were never saved did not finish: one failure, named
    if (!existsSync(file)) {
      console.log(`no counts in ${file}: that run did not finish`);
      total.failed += 1;
      continue;
    }
    const counts = JSON.parse(readFileSync(file, 'utf8'));
    for (const key of Object.keys(total)) total[key] += counts[key];
  }
  console.log(line(total));
  process.exit(0);
}

const root = new URL('../..', import.meta.url).pathname;
const except = new Set(values.except?.split(',') ?? []);
const only = values.only ? new Set(values.only.split(',')) : undefined;
const counts = { passed: 0, failed: 0, skipped: 0 };
const missing = [];
for (const group of ['packages', 'apps', 'tooling']) {
  const dir = join(root, group);
  if (!existsSync(dir)) continue;
  for (const name of readdirSync(dir)) {
    const pkg = join(dir, name);
    if (except.has(`${group}/${name}`) || !existsSync(join(pkg, 'package.json'))) continue;
    if (only && !only.has(`${group}/${name}`)) continue;
    const { scripts = {} } = JSON.parse(readFileSync(join(pkg, 'package.json'), 'utf8'));
    if (!scripts.test) continue;
    const file = join(pkg, values.file ?? 'test-results.json');
    if (!existsSync(file)) {
      missing.push(`${group}/${name}`);
      continue;
    }
    const report = JSON.parse(readFileSync(file, 'utf8'));
    counts.passed += report.numPassedTests;
    counts.failed += report.numFailedTests;
    counts.skipped += report.numPendingTests + report.numTodoTests;
    // A file that failed to load has no tests to count but is still a failure.
    counts.failed += report.testResults.filter(
      (r) => r.status === 'failed' && r.assertionResults.length === 0,
    ).length;
  }
}
// A package whose tests never produced a report counts as one failure, named here.
for (const pkg of missing) console.log(`no test results from ${pkg}: its test run did not finish`);
counts.failed += missing.length;
if (values.save) writeFileSync(values.save, JSON.stringify(counts));
console.log(values.label ? `${values.label}: ${line(counts)}` : line(counts));
