/**
 * Gather maps: where each value of a rearranged sample comes from. One primitive pair —
 * gather by a map, and its adjoint, a sum over the positions that read each value — makes
 * im2col and col2im (7.4.3), max pooling's windows, a permutation of axes and padding
 * compositions that every backend runs on the device. A map is made once for a layer's
 * shapes, checked once when made, and reused by every batch size.
 */
import { ShapeError } from './errors.js';
import type { Tensor } from './tensor.js';

/**
 * The largest sample a map may index: indices are stored as floats, and float32 holds
 * every whole number up to 2^24 exactly.
 */
export const MAX_GATHER_SIZE = 2 ** 24;

/** The map's values, ready to upload: the index and its inverse (see GatherStorage). */
export interface GatherTables {
  index: Int32Array;
  offsets: Int32Array;
  sources: Int32Array;
  maxSources: number;
}

/**
 * Checks `index` (whole numbers in −1…inSize−1, −1 for a 0) and builds its inverse: for
 * each input value j, the output positions that read it, ascending.
 */
export function gatherTables(
  where: string,
  index: ArrayLike<number>,
  inSize: number,
): GatherTables {
  if (!Number.isInteger(inSize) || inSize < 1 || inSize > MAX_GATHER_SIZE) {
    throw new ShapeError(
      where,
      `a sample must hold 1…${MAX_GATHER_SIZE} values (2^24: indices are stored as float32), got ${inSize}`,
    );
  }
  const outSize = index.length;
  if (outSize < 1 || outSize > MAX_GATHER_SIZE) {
    throw new ShapeError(
      where,
      `a map must have 1…${MAX_GATHER_SIZE} entries (2^24: positions are stored as float32), got ${outSize}`,
    );
  }
  const forward = new Int32Array(outSize);
  const counts = new Int32Array(inSize);
  for (let i = 0; i < outSize; i++) {
    const j = index[i];
    if (!Number.isInteger(j) || j < -1 || j >= inSize) {
      throw new ShapeError(
        where,
        `index ${j} at ${i} is not a value of the sample: each must be a whole number in 0…${inSize - 1}, or −1 for a 0`,
      );
    }
    forward[i] = j;
    if (j >= 0) counts[j]++;
  }
  const offsets = new Int32Array(inSize + 1);
  let maxSources = 0;
  for (let j = 0; j < inSize; j++) {
    offsets[j + 1] = offsets[j] + counts[j];
    maxSources = Math.max(maxSources, counts[j]);
  }
  const sources = new Int32Array(Math.max(offsets[inSize], 1));
  const next = offsets.slice(0, inSize);
  for (let i = 0; i < outSize; i++) {
    const j = forward[i];
    if (j >= 0) sources[next[j]++] = i;
  }
  return { index: forward, offsets, sources, maxSources };
}

/**
 * A map on a backend: `index`, `offsets` and `sources` as tensors the map owns. Made by
 * `backend.gatherMap(index, inSize)`; freed by `dispose()`.
 */
export class GatherMap {
  constructor(
    /** Values a sample of the input holds. */
    readonly inSize: number,
    /** Values a sample of the output holds (the index's length). */
    readonly outSize: number,
    /** The most output positions that read one input value. */
    readonly maxSources: number,
    readonly index: Tensor,
    readonly offsets: Tensor,
    readonly sources: Tensor,
    /** Set where the map is each sample's [rows, cols] transposed (GatherDims.transpose). */
    readonly transpose?: { rows: number; cols: number },
  ) {}

  dispose(): void {
    for (const t of [this.index, this.offsets, this.sources]) t.dispose();
  }
}
