/**
 * Where a run's files go, and writing them so that none is ever half written: each goes
 * to a temporary name first and is renamed into place. A run that cannot write where it
 * was asked writes somewhere it can and says where: training is never thrown away.
 */
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  renameSync,
  rmdirSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { UsageError } from '@backprop/core';

/** Makes the --out folder (checking it can be written) before any work is done. */
export function prepareOutDir(dir: string): { dir: string; created: boolean } {
  if (existsSync(dir) && !statSync(dir).isDirectory()) {
    throw new UsageError(`--out ${dir} is a file; give a folder (it is made if missing)`);
  }
  const created = !existsSync(dir);
  try {
    makeDirs(dir);
    const probe = join(dir, `.backprop-${process.pid}`);
    writeFileSync(probe, '');
    unlinkSync(probe);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOTDIR' || code === 'EEXIST'
        ? `a part of it (${firstFile(dir)}) is a file, not a folder`
        : code === 'EACCES' || code === 'EPERM' || code === 'EROFS'
          ? 'it cannot be written here'
          : `it cannot be made (${code ?? (error as Error).message})`;
    throw new UsageError(`--out ${dir}: ${why}`);
  }
  return { dir, created };
}

/** Removes a folder this run made and left empty (a run that failed leaves nothing behind). */
export function removeIfEmpty(dir: string): void {
  try {
    if (readdirSync(dir).length === 0) rmdirSync(dir);
  } catch {
    // nothing to clean
  }
}

/**
 * Writes `files` into `dir`, each whole or not at all. If `dir` cannot take them, they
 * go to a fresh folder under the system's temporary folder; returns where they went.
 */
export function writeFilesAtomically(
  dir: string,
  files: Record<string, string | Uint8Array>,
): string {
  try {
    writeAll(dir, files);
    return dir;
  } catch (error) {
    const fallback = mkdtempSync(join(tmpdir(), 'backprop-run-'));
    writeAll(fallback, files);
    process.stderr.write(
      `backprop: could not write into ${dir} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); wrote the run to ${fallback} instead\n`,
    );
    return fallback;
  }
}

function writeAll(dir: string, files: Record<string, string | Uint8Array>): void {
  makeDirs(dir);
  for (const [name, content] of Object.entries(files)) {
    const target = join(dir, name);
    const temporary = join(dir, `.${name}.${process.pid}.tmp`);
    writeFileSync(temporary, content);
    renameSync(temporary, target);
  }
}

/**
 * mkdir -p, one level at a time: Node's own recursive mkdir never returns on some
 * filesystems (/proc), where a plain mkdir fails at once.
 */
function makeDirs(dir: string): void {
  const missing: string[] = [];
  for (let part = dir; !existsSync(part); part = dirname(part)) {
    missing.unshift(part);
    if (part === dirname(part)) break;
  }
  for (const part of missing) mkdirSync(part);
}

/** The first existing part of `path` that is a file (for the message). */
function firstFile(path: string): string {
  let part = path;
  while (part !== dirname(part)) {
    if (existsSync(part) && !statSync(part).isDirectory()) return part;
    part = dirname(part);
  }
  return path;
}
