import {
  BACKEND_NAMES,
  conformanceAllowances,
  createBackend,
  dtypesOf,
  parseBackendChoice,
} from '@backprop/backends';
import {
  type ConformanceOptions,
  type ConformanceReport,
  formatReportTable,
  runConformance,
  selectCases,
} from '@backprop/conformance';
import { type Backend, BackendError, type DType } from '@backprop/core';
import { type FlagSpec, parseFlags } from '../args.js';
import { isModulePath, loadOwnBackend, opened } from '../backends.js';

export const conformanceHelp = `backprop conformance — run the conformance suite against backends

Every kernel against a float64 oracle, each layer's backward against a numerical
gradient, the book's gradient check on MNIST, training agreement, edge cases, leaks and
errors. Prints a table of case × backend: pass or fail, worst error against tolerance.

Options:
  --backend LIST     comma-separated: a name runs all its dtypes (cpu), name:dtype one
                     (cpu:float32), all runs every backend (default all), or the path of
                     your own backend's module (./my-backend.js): its default export
                     creates the backend — () => Backend | Promise<Backend> — and an
                     optional export 'conformance' holds suite options (looser, skip)
                     backends: ${BACKEND_NAMES.join(', ')}
  --case PREFIX      only the cases whose id starts with PREFIX (repeatable via commas)
  --json             print the reports as JSON`;

const flags: FlagSpec = {
  backend: { type: 'string' },
  case: { type: 'string' },
  json: { type: 'boolean' },
};

export async function conformance(argv: string[]): Promise<number> {
  const values = parseFlags('conformance', argv, flags);
  if (values.help) {
    console.log(conformanceHelp);
    return 0;
  }
  const list = typeof values.backend === 'string' ? values.backend : 'all';
  const targets = expandTargets(list);
  const only =
    typeof values.case === 'string' ? values.case.split(',').map((s) => s.trim()) : undefined;
  selectCases({ only }); // a --case that matches nothing is a mistake, named before anything runs
  const reports: ConformanceReport[] = [];
  for (const [name, dtype] of targets) {
    let backend: Backend;
    let options: ConformanceOptions;
    try {
      if (isModulePath(name)) {
        const own = await loadOwnBackend(name);
        backend = await own.create();
        options = own.options;
      } else {
        backend = await createBackend(name, { dtype });
        options = { looser: conformanceAllowances(name) };
      }
      opened.add(backend); // closed on every way out, an error's too
    } catch (error) {
      // With 'all', a backend this machine cannot run is reported and passed over.
      if (list !== 'all' || !(error instanceof BackendError)) throw error;
      process.stderr.write(`skipping ${name}: ${error.message}\n`);
      continue;
    }
    process.stderr.write(`running the suite on ${backend.description}\n`);
    let done = 0;
    const report = await runConformance(
      () => backend,
      { ...options, only },
      (result) => {
        done++;
        if (!result.passed) process.stderr.write(`  ✗ ${result.id}: ${result.detail}\n`);
        else if (process.stderr.isTTY) process.stderr.write(`\r  ${done} cases\x1b[K`);
      },
    );
    if (process.stderr.isTTY) process.stderr.write('\r\x1b[K');
    backend.close();
    reports.push(report);
  }
  if (values.json) {
    console.log(JSON.stringify(reports, null, 2));
  } else {
    console.log(formatReportTable(reports));
    const cases = reports.reduce((n, r) => n + r.cases.length, 0);
    const sum = (key: 'passed' | 'failed' | 'skipped') => reports.reduce((n, r) => n + r[key], 0);
    const configurations = `${reports.length} backend configuration${reports.length === 1 ? '' : 's'}`;
    console.log(
      `\n${cases} case${cases === 1 ? '' : 's'} on ${configurations}: ${sum('passed')} passed, ${sum('failed')} failed, ${sum('skipped')} skipped`,
    );
  }
  return reports.some((r) => r.failed > 0) ? 1 : 0;
}

function expandTargets(list: string): [string, DType][] {
  // 'all' leaves out gpujs, which is one of the gpujs-… engines under another name
  const names =
    list === 'all'
      ? BACKEND_NAMES.filter((n) => n !== 'gpujs')
      : list.split(',').map((s) => s.trim());
  return names.flatMap((entry): [string, DType][] => {
    if (isModulePath(entry)) return [[entry, 'float32']]; // its module says its dtype
    const { name, dtype } = parseBackendChoice(entry);
    return dtype === undefined ? dtypesOf(name).map((d) => [name, d]) : [[name, dtype]];
  });
}
