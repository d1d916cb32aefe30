/**
 * Flags for every command, parsed with node's own parseArgs and checked into numbers,
 * so a bad value becomes one line that names the flag and says what it wants.
 */
import { isAbsolute, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { UsageError } from '@backprop/core';

export type FlagSpec = Record<string, { type: 'string' | 'boolean'; short?: string }>;

export function parseFlags(command: string, argv: string[], spec: FlagSpec) {
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      options: { ...spec, help: { type: 'boolean', short: 'h' } },
      strict: true,
      allowPositionals: true,
    });
    if (positionals.length > 0) {
      throw new UsageError(
        `${command}: unexpected argument '${positionals[0]}'; see 'backprop ${command} --help'`,
      );
    }
    return values as Record<string, string | boolean | undefined>;
  } catch (error) {
    if (error instanceof UsageError) throw error;
    // node's messages run over several lines; keep the first sentence, and add the fix
    // for the one that puzzles people: a value that starts with '-'.
    const message = (error as Error).message.split(/\.\s/)[0].replace(/'/g, '');
    const flag = /--[\w-]+/.exec(message)?.[0];
    if (flag && message.includes('ambiguous')) {
      throw new UsageError(
        `${command}: ${flag} needs a value; for one that starts with '-', write ${flag}=VALUE`,
      );
    }
    throw new UsageError(
      `${command}: ${message.charAt(0).toLowerCase()}${message.slice(1)}; see 'backprop ${command} --help'`,
    );
  }
}

export function wholeNumber(
  flag: string,
  value: string | boolean | undefined,
  fallback: number,
  min = 1,
  max?: { value: number; what: string },
): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (
    typeof value !== 'string' ||
    !/^\d+$/.test(value.trim()) ||
    !Number.isSafeInteger(n) ||
    n < min
  ) {
    throw new UsageError(`--${flag} must be a whole number >= ${min}, got '${String(value)}'`);
  }
  if (max && n > max.value) {
    throw new UsageError(`--${flag} must be at most ${max.value} (${max.what}), got ${n}`);
  }
  return n;
}

/** A number >= 0 (0 allowed, unlike positiveNumber). */
export function nonNegativeNumber(
  flag: string,
  value: string | boolean | undefined,
  fallback: number,
): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (typeof value !== 'string' || value.trim() === '' || !Number.isFinite(n) || n < 0) {
    throw new UsageError(`--${flag} must be a number >= 0, got '${String(value)}'`);
  }
  return n;
}

/** A path flag: present and not empty (an empty one would quietly mean "here"). */
export function pathFlag(flag: string, value: string | boolean | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.trim() === '') {
    throw new UsageError(`--${flag} needs a path, got an empty one`);
  }
  return userPath(value);
}

export function positiveNumber(
  flag: string,
  value: string | boolean | undefined,
  fallback: number,
): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (typeof value !== 'string' || value.trim() === '' || !Number.isFinite(n) || n <= 0) {
    throw new UsageError(`--${flag} must be a positive number, got '${String(value)}'`);
  }
  return n;
}

export function oneOf<T extends string>(
  flag: string,
  value: string | boolean | undefined,
  choices: readonly T[],
  fallback: T,
): T {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || !choices.includes(value as T)) {
    throw new UsageError(`--${flag} must be one of ${choices.join(', ')}, got '${String(value)}'`);
  }
  return value as T;
}

/**
 * A path the user typed. `pnpm backprop` runs from the repository root, so relative
 * paths are taken from where the user was (pnpm's INIT_CWD), not from the root.
 */
export function userPath(path: string): string {
  return isAbsolute(path) ? path : resolve(process.env.INIT_CWD ?? process.cwd(), path);
}
