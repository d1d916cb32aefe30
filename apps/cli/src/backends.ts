/**
 * `--backend` and `--dtype`, turned into a backend through the one registry
 * (@backprop/backends), which the bench and the playground use too.
 */
import { existsSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { BACKEND_NAMES, createBackend } from '@backprop/backends';
import type { ConformanceOptions } from '@backprop/conformance';
import { type Backend, UsageError } from '@backprop/core';
import { oneOf, userPath, wholeNumber } from './args.js';

/** Every backend a command made, so that every way out of the process closes it. */
export const opened = new Set<Backend>();

/**
 * Closes every backend `backendFromFlags` made (wasm's helper threads, a WebGPU device,
 * gpu.js's contexts): main calls it on every exit path, an error's included, so no
 * worker or device outlives the command's last line.
 */
export function closeBackends(): void {
  for (const backend of opened) {
    try {
      backend.close?.();
    } catch {
      // closing is best effort on the way out; the command's own outcome is what counts
    }
  }
  opened.clear();
}

/** The backend that `--backend`, `--dtype` and `--threads` name (default: cpu in its first dtype). */
export async function backendFromFlags(
  values: Record<string, string | boolean | undefined>,
): Promise<Backend> {
  const name = typeof values.backend === 'string' ? values.backend : 'cpu';
  if (isModulePath(name)) {
    if (values.dtype !== undefined) {
      throw new UsageError(
        `--backend ${name} is a module of your own: it sets its dtype; leave out --dtype`,
      );
    }
    const backend = await (await loadOwnBackend(name)).create();
    opened.add(backend);
    return backend;
  }
  const dtype =
    values.dtype === undefined
      ? undefined
      : oneOf('dtype', values.dtype, ['float64', 'float32'], 'float64');
  const threads =
    values.threads === undefined ? undefined : wholeNumber('threads', values.threads, 1, 1);
  const backend = await createBackend(name, { dtype, threads });
  opened.add(backend);
  return backend;
}

/** For help texts: the names there are. */
export const BACKEND_LIST = BACKEND_NAMES.join(', ');

/** `./x.js`, `../x.mjs`, `/abs/x.js`: a backend of the user's own, not a registry name. */
export function isModulePath(entry: string): boolean {
  return /^\.{0,2}\//.test(entry) || /\.[cm]?js$/.test(entry);
}

/** The module at `path` (from the folder the command ran in), checked for the documented shape. */
export async function loadOwnBackend(
  path: string,
): Promise<{ create: () => Promise<Backend>; options: ConformanceOptions }> {
  const file = userPath(path);
  if (!existsSync(file)) throw new UsageError(`--backend ${path}: no such file (${file})`);
  let module: { default?: unknown; conformance?: unknown };
  try {
    module = await import(pathToFileURL(file).href);
  } catch (error) {
    throw new UsageError(
      `--backend ${path}: the module failed to load: ${(error as Error).message.split('\n')[0]}`,
    );
  }
  if (typeof module.default !== 'function') {
    throw new UsageError(
      `--backend ${path}: its default export must be a function that creates the backend (export default () => new MyBackend()); it is ${typeof module.default}`,
    );
  }
  const create = module.default as () => unknown;
  return {
    create: async () => {
      const backend = (await create()) as Backend | null;
      // by shape, not instanceof: the module may have its own copy of @backprop/core
      const isBackend = ['tensor', 'read', 'matmul', 'dispose', 'close'].every(
        (method) => typeof (backend as unknown as Record<string, unknown>)?.[method] === 'function',
      );
      if (!isBackend) {
        throw new UsageError(
          `--backend ${path}: its default export returned ${backend === null ? 'null' : typeof backend}, not a Backend (class MyBackend extends Backend<MyKernels>, from @backprop/core)`,
        );
      }
      return backend as Backend;
    },
    options: (module.conformance ?? {}) as ConformanceOptions,
  };
}
