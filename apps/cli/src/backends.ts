/**
 * `--backend` and `--dtype`, turned into a backend through the one registry
 * (@backprop/backends), which the bench and the playground use too.
 */
import { BACKEND_NAMES, createBackend } from '@backprop/backends';
import type { Backend } from '@backprop/core';
import { oneOf, wholeNumber } from './args.js';

/** The backend that `--backend`, `--dtype` and `--threads` name (default: cpu in its first dtype). */
export function backendFromFlags(
  values: Record<string, string | boolean | undefined>,
): Promise<Backend> {
  const name = typeof values.backend === 'string' ? values.backend : 'cpu';
  const dtype =
    values.dtype === undefined
      ? undefined
      : oneOf('dtype', values.dtype, ['float64', 'float32'], 'float64');
  const threads =
    values.threads === undefined ? undefined : wholeNumber('threads', values.threads, 1, 1);
  return createBackend(name, { dtype, threads });
}

/** For help texts: the names there are. */
export const BACKEND_LIST = BACKEND_NAMES.join(', ');
