/**
 * The IDX format of the MNIST files: a 4-byte magic number (0x00 0x00, the type code,
 * the number of dimensions), one big-endian 32-bit size per dimension, then the values.
 * No Node APIs here, so browsers use it too (`@backprop/mnist/browser`).
 */
import { DataError } from '@backprop/core';

const UNSIGNED_BYTE = 0x08;

export interface IdxArray {
  dims: number[];
  data: Uint8Array;
}

export function parseIdx(file: string, bytes: Uint8Array, expectedDims?: number): IdxArray {
  if (bytes.length < 4) {
    throw new DataError(file, `truncated: ${bytes.length} bytes, too short for an IDX header`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const [zero0, zero1, type, ndims] = bytes;
  if (zero0 !== 0 || zero1 !== 0 || type !== UNSIGNED_BYTE) {
    const magic = view.getUint32(0).toString(16).padStart(8, '0');
    throw new DataError(
      file,
      `not an unsigned-byte IDX file: magic number 0x${magic}, expected 0x000008NN`,
    );
  }
  if (expectedDims !== undefined && ndims !== expectedDims) {
    throw new DataError(file, `has ${ndims} dimensions, expected ${expectedDims}`);
  }
  const headerBytes = 4 + 4 * ndims;
  if (bytes.length < headerBytes) {
    throw new DataError(
      file,
      `truncated: ${bytes.length} bytes, the header alone needs ${headerBytes}`,
    );
  }
  const dims = Array.from({ length: ndims }, (_, i) => view.getUint32(4 + 4 * i));
  const valueCount = dims.reduce((a, b) => a * b, 1);
  const expectedBytes = headerBytes + valueCount;
  if (bytes.length !== expectedBytes) {
    throw new DataError(
      file,
      `${bytes.length < expectedBytes ? 'truncated' : 'has trailing bytes'}: ${bytes.length} bytes, but its header (${dims.join('×')}) says ${expectedBytes}`,
    );
  }
  return { dims, data: bytes.subarray(headerBytes) };
}
