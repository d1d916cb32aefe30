#!/usr/bin/env node
/**
 * The `backprop` command. A mistake by the user (a bad flag, a missing file, an unknown
 * backend) ends in one line on stderr and a non-zero exit; only a bug shows a stack.
 */
import { createRequire } from 'node:module';
import { BackpropError, UsageError } from '@backprop/core';
import { closeBackends } from './backends.js';
import { conformance } from './commands/conformance.js';
import { evaluate } from './commands/evaluate.js';
import { gradcheck } from './commands/gradcheck.js';
import { train } from './commands/train.js';

const usage = `backprop — chapter 5 of Deep Learning from Scratch, on interchangeable backends

Commands:
  train       train TwoLayerNet on MNIST (5.7.4) and write metrics, curves and the model
  gradcheck   compare backprop with numerical gradients (5.7.3)
  evaluate    test accuracy of a saved model; --index N shows one prediction
  conformance run the conformance suite against backends and print case × backend

'backprop COMMAND --help' lists a command's options; --version prints the version.`;

/** This package's version, from its package.json (beside dist/ in the published package). */
function version(): string {
  const manifest = createRequire(import.meta.url)('../package.json') as { version: string };
  return `backprop ${manifest.version} (@backprop/cli, Node ${process.version})`;
}

const commands: Record<string, (argv: string[]) => Promise<number>> = {
  train,
  gradcheck,
  evaluate,
  conformance,
};

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (argv.includes('--version') || command === '-v') {
    console.log(version());
    return 0;
  }
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    console.log(usage);
    return command === undefined ? 2 : 0;
  }
  const run = commands[command];
  if (!run) {
    throw new UsageError(
      `unknown command '${command}'; commands: ${Object.keys(commands).join(', ')}`,
    );
  }
  return run(rest);
}

/**
 * Ends the process with `code` once what was written to stdout and stderr is out. An
 * explicit exit, never the natural end of the event loop: at that end Node closes its
 * signal handles before the process is gone, and a Ctrl-C in that window would kill it
 * by the default action (exit code null) instead of reaching the command's handler.
 */
function exit(code: number): void {
  closeBackends();
  process.exitCode = code;
  let pending = 2;
  const done = () => {
    if (--pending === 0) process.exit(code);
  };
  process.stdout.write('', done);
  process.stderr.write('', done);
}

main(process.argv.slice(2)).then(exit, (error: unknown) => {
  if (error instanceof BackpropError) {
    process.stderr.write(`backprop: ${error.message}\n`);
    exit(error instanceof UsageError ? 2 : 1);
  } else {
    process.stderr.write(
      `backprop: internal error (please report it):\n${(error as Error)?.stack ?? String(error)}\n`,
    );
    exit(70);
  }
});
