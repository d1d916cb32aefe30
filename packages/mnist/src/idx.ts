/** Reading IDX files from disk (Node). The format itself is parse.ts. */
import { existsSync, readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { DataError } from '@backprop/core';
import { type IdxArray, parseIdx } from './parse.js';

/** Reads an unsigned-byte IDX file (or the same file gzipped, as `file.gz`). */
export function readIdxFile(file: string, expectedDims?: number): IdxArray {
  let bytes: Uint8Array;
  try {
    bytes =
      existsSync(file) || !existsSync(`${file}.gz`) ? readFileSync(file) : readGzip(`${file}.gz`);
  } catch (error) {
    if (error instanceof DataError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    throw new DataError(
      file,
      code === 'ENOENT'
        ? 'file not found'
        : code === 'EISDIR'
          ? 'is a folder, not an IDX file'
          : `cannot be read (${code ?? String(error)})`,
    );
  }
  return parseIdx(file, bytes, expectedDims);
}

function readGzip(file: string): Uint8Array {
  const compressed = readFileSync(file);
  try {
    return gunzipSync(compressed);
  } catch (error) {
    throw new DataError(file, `is not valid gzip data (${(error as Error).message})`);
  }
}
