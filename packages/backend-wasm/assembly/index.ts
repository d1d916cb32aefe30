// The kernels in AssemblyScript, compiled to WebAssembly with 128-bit SIMD (f32x4).
// All data is float32 in the module's linear memory; every pointer is a byte offset the
// JavaScript side allocated. Row-major matrices throughout. Each kernel writes its whole
// output, so outputs need no clearing.

// ---- matrix product ----------------------------------------------------------------
// C[m,n] = Σ_p A(i,p)·B(p,j), summed over p in order for every element, so the result is
// the same bit for bit however the work is blocked or shared among threads. Strides are
// in floats. A(i,p) is at a + i·aRow + p·aCol: row-major A (aRow k, aCol 1) gives a·b,
// A stored transposed (aRow 1, aCol m) gives aᵀ·b. B is read in panels of 8 columns:
// B(p,j) at b + (j/8)·bPanel + p·bRow + j%8 — a row-major B read where it is (bPanel 8,
// bRow n), or a B stored transposed packed by `packPanels` first (bPanel 8k, bRow 8), so
// that every step of p reads 32 contiguous bytes of it. C's rows are ldc floats apart (a
// thread given a range of C's columns writes into rows of the whole C).
//
// A register tile is 5 rows × 8 columns of C where the engine fuses the multiply-add
// (relaxed build): 10 accumulators, and at each step of p two vectors of B and five
// broadcast values of A for 10 multiply-adds — 13 of V8's 15 vector registers. Without
// it (a multiply, then an add, needs one more for the product) the tile is 4 × 8: 5 × 8
// measured 20 GFLOP/s on one thread under Node 20 against 45 for 4 × 8, spilling.
// Every address moves by a constant step (with A's and B's addresses recomputed from i,
// j and p at each step, the 4×8 tile this replaced ran at ~50 % of the measured peak on
// one thread; this one at ~90 %).

/**
 * c + a·b, lane by lane: one fused multiply-add where the engine has relaxed SIMD (the
 * relaxed build; the engine may still round twice), a multiply then an add otherwise.
 * Each element of a product sums its terms in the same order on any thread count.
 */
@inline function madd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
  return f32x4.add(c, f32x4.mul(a, b));
}

// B in blocks that stay in a core's cache (KC rows of NC columns, 128 kB): every row of A
// takes its turn with one block before the next block is read. A block's sums start from
// C's partial sums of the blocks before it, stored and loaded as they are: each element
// still adds its terms in the order of p, so the result is the unblocked one, bit for bit.
const KC = 256, NC = 128;
const TILE_ROWS: i32 = ASC_FEATURE_RELAXED_SIMD ? 5 : 4;

export function matmul(
  a: usize, b: usize, c: usize, m: i32, k: i32, n: i32,
  aRow: i32, aCol: i32, bRow: i32, bPanel: i32, ldc: i32,
): void {
  const aRowBytes = <usize>aRow << 2, aColBytes = <usize>aCol << 2;
  const bRowBytes = <usize>bRow << 2, bPanelBytes = <usize>bPanel << 2, cRowBytes = <usize>ldc << 2;
  for (let j0 = 0; j0 < n; j0 += NC) {
    const cols = min(NC, n - j0);
    for (let p0 = 0; p0 < k; p0 += KC) {
      const depth = min(KC, k - p0);
      const add = p0 > 0;
      const aBlock = a + <usize>p0 * aColBytes;
      const bBlock = b + <usize>(j0 >> 3) * bPanelBytes + <usize>p0 * bRowBytes;
      const cBlock = c + (<usize>j0 << 2);
      let i = 0;
      for (; i + TILE_ROWS <= m; i += TILE_ROWS) {
        const ai = aBlock + <usize>i * aRowBytes, ci = cBlock + <usize>i * cRowBytes;
        if (TILE_ROWS == 5) tileRow5(ai, aRowBytes, aColBytes, bBlock, bRowBytes, bPanelBytes, ci, cRowBytes, depth, cols, add);
        else tileRow4(ai, aRowBytes, aColBytes, bBlock, bRowBytes, bPanelBytes, ci, cRowBytes, depth, cols, add);
      }
      const left = m - i, ai = aBlock + <usize>i * aRowBytes, ci = cBlock + <usize>i * cRowBytes;
      if (left == 4) tileRow4(ai, aRowBytes, aColBytes, bBlock, bRowBytes, bPanelBytes, ci, cRowBytes, depth, cols, add);
      else if (left == 3) tileRow3(ai, aRowBytes, aColBytes, bBlock, bRowBytes, bPanelBytes, ci, cRowBytes, depth, cols, add);
      else if (left == 2) tileRow2(ai, aRowBytes, aColBytes, bBlock, bRowBytes, bPanelBytes, ci, cRowBytes, depth, cols, add);
      else if (left == 1) tileRow1(ai, aRowBytes, aColBytes, bBlock, bRowBytes, bPanelBytes, ci, cRowBytes, depth, cols, add);
    }
  }
}

/**
 * `rows` rows of C (a constant at each call, so each size compiles to its own loop), the
 * block's `cols` columns a tile at a time; the last 1–7 columns as one or two vectors
 * whose lanes past the block read B's next columns, the packed panel's zeros or the
 * allocator's slack after B, and are never stored.
 */
@inline function tileRow(
  a: usize, aRow: usize, aCol: usize, b: usize, bRow: usize, bPanel: usize,
  c: usize, cRow: usize, k: i32, cols: i32, add: bool, rows: i32,
): void {
  let j = 0;
  for (; j + 8 <= cols; j += 8) tile(a, aRow, aCol, b + <usize>(j >> 3) * bPanel, bRow, c + (<usize>j << 2), cRow, k, add, rows, 2, 8);
  const left = cols - j, bj = b + <usize>(j >> 3) * bPanel, cj = c + (<usize>j << 2);
  if (left > 4) tile(a, aRow, aCol, bj, bRow, cj, cRow, k, add, rows, 2, left);
  else if (left > 0) tile(a, aRow, aCol, bj, bRow, cj, cRow, k, add, rows, 1, left);
}

// each size of tile its own function, so that its loop has no branch on the size
function tileRow5(a: usize, aRow: usize, aCol: usize, b: usize, bRow: usize, bPanel: usize, c: usize, cRow: usize, k: i32, cols: i32, add: bool): void {
  tileRow(a, aRow, aCol, b, bRow, bPanel, c, cRow, k, cols, add, 5);
}
function tileRow4(a: usize, aRow: usize, aCol: usize, b: usize, bRow: usize, bPanel: usize, c: usize, cRow: usize, k: i32, cols: i32, add: bool): void {
  tileRow(a, aRow, aCol, b, bRow, bPanel, c, cRow, k, cols, add, 4);
}
function tileRow3(a: usize, aRow: usize, aCol: usize, b: usize, bRow: usize, bPanel: usize, c: usize, cRow: usize, k: i32, cols: i32, add: bool): void {
  tileRow(a, aRow, aCol, b, bRow, bPanel, c, cRow, k, cols, add, 3);
}
function tileRow2(a: usize, aRow: usize, aCol: usize, b: usize, bRow: usize, bPanel: usize, c: usize, cRow: usize, k: i32, cols: i32, add: bool): void {
  tileRow(a, aRow, aCol, b, bRow, bPanel, c, cRow, k, cols, add, 2);
}
function tileRow1(a: usize, aRow: usize, aCol: usize, b: usize, bRow: usize, bPanel: usize, c: usize, cRow: usize, k: i32, cols: i32, add: bool): void {
  tileRow(a, aRow, aCol, b, bRow, bPanel, c, cRow, k, cols, add, 1);
}

/** C's sums so far (add) or zeros, as a vector. */
@inline function startAt(cp: usize, add: bool): v128 {
  return add ? v128.load(cp) : f32x4.splat(0);
}

/** One register tile: `rows` × 4·`vectors` columns, of which `columns` are stored. */
@inline function tile(
  a: usize, aRow: usize, aCol: usize, b: usize, bRow: usize, c: usize, cRow: usize,
  k: i32, add: bool, rows: i32, vectors: i32, columns: i32,
): void {
  const zero = f32x4.splat(0);
  const a1 = aRow, a2 = aRow << 1, a3 = a2 + aRow, a4 = aRow << 2;
  let c00 = startAt(c, add), c01 = vectors > 1 ? startAt(c + 16, add) : zero;
  let c10 = zero, c11 = zero, c20 = zero, c21 = zero, c30 = zero, c31 = zero, c40 = zero, c41 = zero;
  if (rows > 1) { c10 = startAt(c + cRow, add); if (vectors > 1) c11 = startAt(c + cRow + 16, add); }
  if (rows > 2) { c20 = startAt(c + 2 * cRow, add); if (vectors > 1) c21 = startAt(c + 2 * cRow + 16, add); }
  if (rows > 3) { c30 = startAt(c + 3 * cRow, add); if (vectors > 1) c31 = startAt(c + 3 * cRow + 16, add); }
  if (rows > 4) { c40 = startAt(c + 4 * cRow, add); if (vectors > 1) c41 = startAt(c + 4 * cRow + 16, add); }
  for (let p = 0; p < k; p++) {
    const b0 = v128.load(b), b1 = vectors > 1 ? v128.load(b, 16) : zero;
    let s = v128.load32_splat(a);
    c00 = madd(s, b0, c00); if (vectors > 1) c01 = madd(s, b1, c01);
    if (rows > 1) { s = v128.load32_splat(a + a1); c10 = madd(s, b0, c10); if (vectors > 1) c11 = madd(s, b1, c11); }
    if (rows > 2) { s = v128.load32_splat(a + a2); c20 = madd(s, b0, c20); if (vectors > 1) c21 = madd(s, b1, c21); }
    if (rows > 3) { s = v128.load32_splat(a + a3); c30 = madd(s, b0, c30); if (vectors > 1) c31 = madd(s, b1, c31); }
    if (rows > 4) { s = v128.load32_splat(a + a4); c40 = madd(s, b0, c40); if (vectors > 1) c41 = madd(s, b1, c41); }
    a += aCol;
    b += bRow;
  }
  storeTileRow(c, c00, c01, vectors, columns);
  if (rows > 1) storeTileRow(c + cRow, c10, c11, vectors, columns);
  if (rows > 2) storeTileRow(c + 2 * cRow, c20, c21, vectors, columns);
  if (rows > 3) storeTileRow(c + 3 * cRow, c30, c31, vectors, columns);
  if (rows > 4) storeTileRow(c + 4 * cRow, c40, c41, vectors, columns);
}

@inline function storeTileRow(c: usize, v0: v128, v1: v128, vectors: i32, columns: i32): void {
  if (vectors > 1) {
    v128.store(c, v0);
    storeLanes(c + 16, v1, columns - 4);
  } else {
    storeLanes(c, v0, columns);
  }
}

/**
 * B stored transposed ([n, k] at src, k floats a row) packed for `matmul` into panels of
 * 8 of its rows: panel q holds, for each p, B's rows 8q..8q+7 at column p — 8k floats a
 * panel, rows past n zero. Blocks of 4×4 turned by shuffles, the edges one value at a time.
 */
export function packPanels(src: usize, dst: usize, n: i32, k: i32): void {
  const srcRow = <usize>k << 2, panelBytes = <usize>k << 5;
  for (let r = 0; r < n; r += 4) {
    const to = dst + <usize>(r >> 3) * panelBytes + (<usize>(r & 7) << 2);
    const from = src + <usize>r * srcRow;
    if (r + 4 <= n) {
      let p = 0;
      for (; p + 4 <= k; p += 4) transpose4x4(from + (<usize>p << 2), srcRow, to + (<usize>p << 5), 32);
      for (; p < k; p++) {
        for (let i = 0; i < 4; i++) store<f32>(to + (<usize>p << 5) + (<usize>i << 2), load<f32>(from + <usize>i * srcRow + (<usize>p << 2)));
      }
    } else {
      for (let p = 0; p < k; p++) {
        for (let i = 0; i < 4; i++) {
          store<f32>(to + (<usize>p << 5) + (<usize>i << 2), r + i < n ? load<f32>(from + <usize>i * srcRow + (<usize>p << 2)) : 0);
        }
      }
    }
  }
  // a last panel's rows past the last group of four (n % 8 in 1..4): zeros
  if ((n & 7) != 0 && (n & 7) <= 4) {
    const to = dst + <usize>(n >> 3) * panelBytes + 16;
    for (let p = 0; p < k; p++) v128.store(to + (<usize>p << 5), f32x4.splat(0));
  }
}

// ---- the machine's peak ----------------------------------------------------------------
// What the products are measured against: `madd` (a multiply and an add, or one fused
// multiply-add in the relaxed build) at full throughput. Twelve independent chains
// x = x·scale + shift keep the vector units busy past their latency (about 4–8 cycles for a
// multiply then an add) with registers to spare; no load or store, so nothing but the
// arithmetic is measured. 0 < scale < 1 keeps x bounded (it tends to shift / (1 − scale)),
// so no value overflows or turns denormal. Measured on V8 (Node 20): with 14 chains it runs
// out of vector registers and spills, and with scale and shift computed inside the function
// instead of passed in, its code ran at half the speed; both would understate the peak.

/** `rounds` × 12 madds of f32x4: 96 floating-point operations a round. */
export function peakMadd(rounds: i32, scale: f32, shift: f32): f32 {
  const m = f32x4.splat(scale), c = f32x4.splat(shift);
  let x0 = f32x4.splat(0), x1 = f32x4.splat(1), x2 = f32x4.splat(2), x3 = f32x4.splat(3);
  let x4 = f32x4.splat(4), x5 = f32x4.splat(5), x6 = f32x4.splat(6), x7 = f32x4.splat(7);
  let x8 = f32x4.splat(8), x9 = f32x4.splat(9), x10 = f32x4.splat(10), x11 = f32x4.splat(11);
  for (let r = 0; r < rounds; r++) {
    x0 = madd(x0, m, c); x1 = madd(x1, m, c); x2 = madd(x2, m, c); x3 = madd(x3, m, c);
    x4 = madd(x4, m, c); x5 = madd(x5, m, c); x6 = madd(x6, m, c); x7 = madd(x7, m, c);
    x8 = madd(x8, m, c); x9 = madd(x9, m, c); x10 = madd(x10, m, c); x11 = madd(x11, m, c);
  }
  // every chain feeds the result, so none can be dropped as dead code
  const sum = f32x4.add(f32x4.add(f32x4.add(x0, x1), f32x4.add(x2, x3)), f32x4.add(f32x4.add(x4, x5), f32x4.add(x6, x7)));
  return f32x4.extract_lane(f32x4.add(sum, f32x4.add(f32x4.add(x8, x9), f32x4.add(x10, x11))), 0);
}

// ---- matrix product with a mostly-zero A ---------------------------------------------
// MNIST images are about 80% zeros, and x is the A of both big products (x·W1, xᵀ·dout).
// These skip the zeros outright instead of multiplying by them: a SIMD compare finds the
// nonzeros of four values at once (a 4-bit mask), and only they are visited.

/**
 * How many lanes are exactly 0 in every `step`-th of `vectors` f32x4 vectors at x: a sample
 * of a matrix, to choose between the dense and sparse paths.
 */
export function countZeros(x: usize, vectors: i32, step: i32): i32 {
  const zero = f32x4.splat(0);
  let zeros = 0;
  for (let v = 0; v < vectors; v += step) {
    zeros += popcnt<i32>(i32x4.bitmask(f32x4.eq(v128.load(x + (<usize>v << 4)), zero)));
  }
  return zeros;
}

/**
 * For each 4-bit mask of the lanes that are not zero, the byte shuffle (i8x16.swizzle)
 * that moves those lanes to the front of a vector, in order; 0x80 gives a zero byte.
 */
const PACK_LANES = memory.data<u8>([
  0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
  0x00, 0x01, 0x02, 0x03, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
  0x04, 0x05, 0x06, 0x07, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
  0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
  0x08, 0x09, 0x0a, 0x0b, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
  0x00, 0x01, 0x02, 0x03, 0x08, 0x09, 0x0a, 0x0b, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
  0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
  0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x80, 0x80, 0x80, 0x80,
  0x0c, 0x0d, 0x0e, 0x0f, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
  0x00, 0x01, 0x02, 0x03, 0x0c, 0x0d, 0x0e, 0x0f, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
  0x04, 0x05, 0x06, 0x07, 0x0c, 0x0d, 0x0e, 0x0f, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
  0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x0c, 0x0d, 0x0e, 0x0f, 0x80, 0x80, 0x80, 0x80,
  0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
  0x00, 0x01, 0x02, 0x03, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x80, 0x80, 0x80, 0x80,
  0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x80, 0x80, 0x80, 0x80,
  0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f,
]);

/**
 * Writes the nonzeros of `count` floats at x as (byte offset of B's row p, value) pairs
 * to `list`, with B's rows `rowBytes` apart; returns how many. Without branching on each
 * nonzero (a branch a nonzero mispredicted often and cost more than the products' adds):
 * each vector's nonzeros are packed to its front by a shuffle looked up by their mask and
 * stored as four pairs, of which only the first popcnt(mask) are kept — the next vector's
 * pairs are written over the rest. Eight values a step, skipping eight zeros at once (the
 * margins of an image) with one branch. `list` has room for count + 4 pairs.
 */
function listNonzeros(x: usize, count: i32, rowBytes: i32, list: usize): i32 {
  const zero = f32x4.splat(0);
  const fourRows = i32x4.splat(rowBytes << 2);
  let offsets = i32x4.mul(i32x4(0, 1, 2, 3), i32x4.splat(rowBytes));
  let found = 0;
  let p = 0;
  for (; p + 8 <= count; p += 8) {
    const v = v128.load(x + (<usize>p << 2)), w = v128.load(x + (<usize>p << 2), 16);
    const maskV = i32x4.bitmask(f32x4.ne(v, zero)), maskW = i32x4.bitmask(f32x4.ne(w, zero));
    if ((maskV | maskW) != 0) {
      found = packPairs(list, found, v, offsets, maskV);
      found = packPairs(list, found, w, i32x4.add(offsets, fourRows), maskW);
    }
    offsets = i32x4.add(offsets, i32x4.add(fourRows, fourRows));
  }
  for (; p < count; p++) {
    const value = load<f32>(x + (<usize>p << 2));
    if (value != 0) {
      store<i32>(list + (<usize>found << 3), p * rowBytes);
      store<f32>(list + (<usize>found << 3), value, 4);
      found++;
    }
  }
  return found;
}

/** The lanes of `values` in `mask` as (offset, value) pairs at list[found..]; returns the new count. */
@inline function packPairs(list: usize, found: i32, values: v128, offsets: v128, mask: i32): i32 {
  const shuffle = v128.load(PACK_LANES + (<usize>mask << 4));
  const packedValues = i8x16.swizzle(values, shuffle), packedOffsets = i8x16.swizzle(offsets, shuffle);
  const at = list + (<usize>found << 3);
  v128.store(at, v128.shuffle<i32>(packedOffsets, packedValues, 0, 4, 1, 5));
  v128.store(at, v128.shuffle<i32>(packedOffsets, packedValues, 2, 6, 3, 7), 16);
  return found + popcnt<i32>(mask);
}

/**
 * C[m,n] = A[m,k]·B[k,n] visiting only A's nonzeros. Rows' nonzeros are listed first, one
 * list after another at `lists` (room for `capacity` ≥ k + 4 pairs, then m + 1 starts), as
 * many rows as fit, so that their sums can go a block of columns at a time over all those
 * rows (see sumListedRows). The capacity keeps the lists in cache: listing all 57 600 of a
 * convolution's im2col rows first wrote and read back megabytes that a row at a time never
 * leaves the core for.
 */
export function matmulSparseA(
  a: usize, b: usize, c: usize, m: i32, k: i32, n: i32, lists: usize, capacity: i32,
): void {
  const starts = lists + (<usize>capacity << 3);
  const rowBytes = n << 2;
  let i = 0;
  while (i < m) {
    const first = i;
    let found = 0;
    for (; i < m && found + k + 4 <= capacity; i++) {
      store<i32>(starts + (<usize>(i - first) << 2), found);
      found += listNonzeros(a + (<usize>(i * k) << 2), k, rowBytes, lists + (<usize>found << 3));
    }
    store<i32>(starts + (<usize>(i - first) << 2), found);
    sumListedRows(lists, starts, i - first, b, c + (<usize>(first * n) << 2), n, k);
  }
}

/**
 * C[m,n] = A[k,m]ᵀ·B[k,n] visiting only A's nonzeros (the weight gradient xᵀ·dout).
 * C's row i is the sum of A[p,i]·B[p,:] over the p where A[p,i] ≠ 0, added up in registers
 * (as matmulSparseA does) instead of adding each nonzero's row into C in memory, which
 * chains consecutive nonzeros through loads and stores of C. A's columns are its rows'
 * lanes, so four at a time are transposed into `scratch` (4·k floats) to be listed as
 * rows; the lists follow it as in matmulSparseA (room for `capacity` ≥ 4·(k + 4) pairs,
 * then m + 1 starts). A's rows are `lda` floats apart, so a thread can take m of its columns.
 */
export function matmulSparseAT(
  a: usize, b: usize, c: usize, m: i32, k: i32, n: i32, lda: i32, scratch: usize, capacity: i32,
): void {
  const rowBytes = n << 2;
  const aRow = <usize>lda << 2, scratchRow = <usize>k << 2;
  const lists = scratch + 4 * scratchRow;
  const starts = lists + (<usize>capacity << 3);
  let i = 0;
  while (i < m) {
    const first = i;
    let found = 0;
    for (; i < m && found + 4 * (k + 4) <= capacity; i += 4) {
      const columns = min(4, m - i);
      const from = a + (<usize>i << 2);
      if (columns == 4) {
        // four columns of A as four rows of k, 4×4 blocks at a time
        let p = 0;
        for (; p + 4 <= k; p += 4) transpose4x4(from + <usize>p * aRow, aRow, scratch + (<usize>p << 2), scratchRow);
        for (; p < k; p++) {
          for (let l = 0; l < 4; l++) {
            store<f32>(scratch + <usize>l * scratchRow + (<usize>p << 2), load<f32>(from + <usize>p * aRow + (<usize>l << 2)));
          }
        }
      } else {
        // the last 1–3 columns one value at a time
        for (let l = 0; l < columns; l++) {
          for (let p = 0; p < k; p++) {
            store<f32>(scratch + <usize>l * scratchRow + (<usize>p << 2), load<f32>(from + <usize>p * aRow + (<usize>l << 2)));
          }
        }
      }
      for (let l = 0; l < columns; l++) {
        store<i32>(starts + (<usize>(i + l - first) << 2), found);
        found += listNonzeros(scratch + <usize>l * scratchRow, k, rowBytes, lists + (<usize>found << 3));
      }
    }
    const last = min(i, m);
    store<i32>(starts + (<usize>(last - first) << 2), found);
    sumListedRows(lists, starts, last - first, b, c + (<usize>(first * n) << 2), n, k);
    i = last;
  }
}

/**
 * matmulSparseAT for a C small enough to stay in the core's first cache (the
 * convolution's weight gradient: C is 30×25, k is 57 600): each nonzero A[p,i] adds
 * A[p,i]·B[p,:] into C's row i, found four at a time by a SIMD compare, so B is read once,
 * in order. (matmulSparseAT reads B's rows once per nonzero in a column: at this shape,
 * 43 MB through the caches instead of 5.7.)
 */
export function matmulSparseATInto(a: usize, b: usize, c: usize, m: i32, k: i32, n: i32, lda: i32): void {
  memory.fill(c, 0, <usize>(m * n) << 2);
  const zero = f32x4.splat(0);
  for (let p = 0; p < k; p++) {
    const arow = a + (<usize>(p * lda) << 2);
    const brow = b + (<usize>(p * n) << 2);
    let i = 0;
    for (; i + 4 <= m; i += 4) {
      let mask = i32x4.bitmask(f32x4.ne(v128.load(arow + (<usize>i << 2)), zero));
      while (mask != 0) {
        const lane = ctz<i32>(mask);
        mask &= mask - 1;
        addScaledRow(c + (<usize>((i + lane) * n) << 2), load<f32>(arow + (<usize>(i + lane) << 2)), brow, n);
      }
    }
    for (; i < m; i++) {
      const value = load<f32>(arow + (<usize>i << 2));
      if (value != 0) addScaledRow(c + (<usize>(i * n) << 2), value, brow, n);
    }
  }
}

/** crow[0..n) += value·brow[0..n). */
@inline function addScaledRow(crow: usize, value: f32, brow: usize, n: i32): void {
  const s = f32x4.splat(value);
  let j = 0;
  for (; j + 4 <= n; j += 4) {
    const o = <usize>j << 2;
    v128.store(crow + o, madd(s, v128.load(brow + o), v128.load(crow + o)));
  }
  if (j + 2 <= n) {
    // two columns as the low half of a vector: 8 bytes stored, the rest of the lanes unused
    const o = <usize>j << 2;
    v128.store64_lane(crow + o, madd(s, v128.load64_zero(brow + o), v128.load64_zero(crow + o)), 0);
    j += 2;
  }
  if (j < n) {
    const o = <usize>j << 2;
    store<f32>(crow + o, load<f32>(crow + o) + value * load<f32>(brow + o));
  }
}

/**
 * C's m rows of n: row i the sum of value·B[offset..offset + n) over the (offset, value)
 * pairs of list i (at lists + 8·starts[i], up to starts[i + 1]); B [k, n] at b + offset.
 * The columns go in blocks of up to seven vectors, each vector one accumulator, so that
 * seven independent chains of adds are in flight (an add's result is ready only some
 * cycles later). Seven is V8's limit: with eight, its code (Node 20, x64) ran at a third
 * of the speed — out of vector registers, as peakMadd found at 14 chains — while seven,
 * six and four ran near the measured peak. Columns left past the blocks of seven go as
 * one block of six, or of four and single vectors; a single vector takes four chains over
 * the pairs in turn. The last 1–3 columns take a whole vector: lanes past B's row read the
 * next row (or the allocator's slack after the last) and are never stored.
 */
function sumListedRows(lists: usize, starts: usize, m: i32, b: usize, c: usize, n: i32, k: i32): void {
  // B read a block of columns at a time over every row only where all of it would not
  // stay in the core's cache (about 1 MB of L2) while its rows are visited again and again
  if (<i64>k * n * 4 <= 262144) {
    for (let i = 0; i < m; i++) sumListedColumns(lists, starts, i, i + 1, b, c, n, 0, n);
    return;
  }
  let j = 0;
  for (; j + 28 <= n; j += 28) sumListedColumns(lists, starts, 0, m, b, c, n, j, j + 28);
  sumListedColumns(lists, starts, 0, m, b, c, n, j, n);
}

/** Columns [j, end) of C's rows [first, last) (see sumListedRows). */
@inline function sumListedColumns(
  lists: usize, starts: usize, first: i32, last: i32, b: usize, c: usize, n: i32, j: i32, end: i32,
): void {
  for (; j + 28 <= end; j += 28) {
    for (let i = first; i < last; i++) {
      const from = load<i32>(starts + (<usize>i << 2)), to = load<i32>(starts + (<usize>i << 2), 4);
      sumScaled7(lists + (<usize>from << 3), to - from, b + (<usize>j << 2), c + (<usize>(i * n + j) << 2));
    }
  }
  const left = end - j;
  if (left > 20) {
    // 21–27 columns: six vectors, the sixth perhaps partly stored
    for (let i = first; i < last; i++) {
      const from = load<i32>(starts + (<usize>i << 2)), to = load<i32>(starts + (<usize>i << 2), 4);
      sumScaled6(lists + (<usize>from << 3), to - from, b + (<usize>j << 2), c + (<usize>(i * n + j) << 2), left);
    }
    return;
  }
  if (left >= 16) {
    for (let i = first; i < last; i++) {
      const from = load<i32>(starts + (<usize>i << 2)), to = load<i32>(starts + (<usize>i << 2), 4);
      sumScaled4(lists + (<usize>from << 3), to - from, b + (<usize>j << 2), c + (<usize>(i * n + j) << 2));
    }
    j += 16;
  }
  for (; j < end; j += 4) {
    for (let i = first; i < last; i++) {
      const from = load<i32>(starts + (<usize>i << 2)), to = load<i32>(starts + (<usize>i << 2), 4);
      sumScaled1(lists + (<usize>from << 3), to - from, b + (<usize>j << 2), c + (<usize>(i * n + j) << 2), end - j);
    }
  }
}

/** 28 columns: seven accumulators. */
@inline function sumScaled7(list: usize, found: i32, bj: usize, cp: usize): void {
  let c0 = f32x4.splat(0), c1 = f32x4.splat(0), c2 = f32x4.splat(0), c3 = f32x4.splat(0);
  let c4 = f32x4.splat(0), c5 = f32x4.splat(0), c6 = f32x4.splat(0);
  for (let e = 0; e < found; e++) {
    const entry = list + (<usize>e << 3);
    const bp = bj + <usize>load<i32>(entry);
    const s = f32x4.splat(load<f32>(entry, 4));
    c0 = madd(s, v128.load(bp), c0); c1 = madd(s, v128.load(bp, 16), c1);
    c2 = madd(s, v128.load(bp, 32), c2); c3 = madd(s, v128.load(bp, 48), c3);
    c4 = madd(s, v128.load(bp, 64), c4); c5 = madd(s, v128.load(bp, 80), c5);
    c6 = madd(s, v128.load(bp, 96), c6);
  }
  v128.store(cp, c0); v128.store(cp, c1, 16); v128.store(cp, c2, 32); v128.store(cp, c3, 48);
  v128.store(cp, c4, 64); v128.store(cp, c5, 80); v128.store(cp, c6, 96);
}

/** 21–24 (`columns`) columns: six accumulators, the last vector stored only as far as C's row goes. */
@inline function sumScaled6(list: usize, found: i32, bj: usize, cp: usize, columns: i32): void {
  let c0 = f32x4.splat(0), c1 = f32x4.splat(0), c2 = f32x4.splat(0), c3 = f32x4.splat(0);
  let c4 = f32x4.splat(0), c5 = f32x4.splat(0);
  for (let e = 0; e < found; e++) {
    const entry = list + (<usize>e << 3);
    const bp = bj + <usize>load<i32>(entry);
    const s = f32x4.splat(load<f32>(entry, 4));
    c0 = madd(s, v128.load(bp), c0); c1 = madd(s, v128.load(bp, 16), c1);
    c2 = madd(s, v128.load(bp, 32), c2); c3 = madd(s, v128.load(bp, 48), c3);
    c4 = madd(s, v128.load(bp, 64), c4); c5 = madd(s, v128.load(bp, 80), c5);
  }
  v128.store(cp, c0); v128.store(cp, c1, 16); v128.store(cp, c2, 32); v128.store(cp, c3, 48);
  v128.store(cp, c4, 64); storeLanes(cp + 80, c5, columns - 20);
}

/** 16 columns: four accumulators. */
@inline function sumScaled4(list: usize, found: i32, bj: usize, cp: usize): void {
  let c0 = f32x4.splat(0), c1 = f32x4.splat(0), c2 = f32x4.splat(0), c3 = f32x4.splat(0);
  for (let e = 0; e < found; e++) {
    const entry = list + (<usize>e << 3);
    const bp = bj + <usize>load<i32>(entry);
    const s = f32x4.splat(load<f32>(entry, 4));
    c0 = madd(s, v128.load(bp), c0); c1 = madd(s, v128.load(bp, 16), c1);
    c2 = madd(s, v128.load(bp, 32), c2); c3 = madd(s, v128.load(bp, 48), c3);
  }
  v128.store(cp, c0); v128.store(cp, c1, 16); v128.store(cp, c2, 32); v128.store(cp, c3, 48);
}

/** 1–4 (`columns`) columns in one vector: four chains over the pairs in turn, added at the end. */
@inline function sumScaled1(list: usize, found: i32, bj: usize, cp: usize, columns: i32): void {
  let c0 = f32x4.splat(0), c1 = f32x4.splat(0), c2 = f32x4.splat(0), c3 = f32x4.splat(0);
  let e = 0;
  for (; e + 4 <= found; e += 4) {
    const entry = list + (<usize>e << 3);
    c0 = madd(f32x4.splat(load<f32>(entry, 4)), v128.load(bj + <usize>load<i32>(entry)), c0);
    c1 = madd(f32x4.splat(load<f32>(entry, 12)), v128.load(bj + <usize>load<i32>(entry, 8)), c1);
    c2 = madd(f32x4.splat(load<f32>(entry, 20)), v128.load(bj + <usize>load<i32>(entry, 16)), c2);
    c3 = madd(f32x4.splat(load<f32>(entry, 28)), v128.load(bj + <usize>load<i32>(entry, 24)), c3);
  }
  for (; e < found; e++) {
    const entry = list + (<usize>e << 3);
    c0 = madd(f32x4.splat(load<f32>(entry, 4)), v128.load(bj + <usize>load<i32>(entry)), c0);
  }
  storeLanes(cp, f32x4.add(f32x4.add(c0, c1), f32x4.add(c2, c3)), columns);
}

/** The first `lanes` (1–4; 4 or more stores the whole vector) lanes of v at `at`. */
@inline function storeLanes(at: usize, v: v128, lanes: i32): void {
  if (lanes >= 4) {
    v128.store(at, v);
    return;
  }
  store<f32>(at, f32x4.extract_lane(v, 0));
  if (lanes > 1) store<f32>(at, f32x4.extract_lane(v, 1), 4);
  if (lanes > 2) store<f32>(at, f32x4.extract_lane(v, 2), 8);
}

/** The rows of src (each `width` floats) at the `count` int32 indices, one after another into dst. */
export function gatherRows(src: usize, dst: usize, indices: usize, count: i32, width: i32): void {
  const bytes = <usize>width << 2;
  for (let i = 0; i < count; i++) {
    memory.copy(dst + <usize>i * bytes, src + <usize>load<i32>(indices + (<usize>i << 2)) * bytes, bytes);
  }
}

/**
 * out[b, i] = x[b, index[i]], 0 where index[i] is −1, for `batch` samples of `inSize`
 * values in and `outSize` out. The index is whole numbers stored as floats.
 */
export function gather(x: usize, index: usize, out: usize, batch: i32, inSize: i32, outSize: i32): void {
  for (let b = 0; b < batch; b++) {
    const from = x + (<usize>(b * inSize) << 2);
    const to = out + (<usize>(b * outSize) << 2);
    for (let i = 0; i < outSize; i++) {
      const j = <i32>load<f32>(index + (<usize>i << 2));
      store<f32>(to + (<usize>i << 2), j < 0 ? 0 : load<f32>(from + (<usize>j << 2)));
    }
  }
}

/**
 * gather's adjoint: out[b, j] = Σ values[b, sources[k]] for k from offsets[j] up to
 * offsets[j + 1], added in that order.
 */
export function scatterAdd(values: usize, offsets: usize, sources: usize, out: usize, batch: i32, inSize: i32, outSize: i32): void {
  for (let b = 0; b < batch; b++) {
    const from = values + (<usize>(b * outSize) << 2);
    const to = out + (<usize>(b * inSize) << 2);
    let start = <i32>load<f32>(offsets);
    for (let j = 0; j < inSize; j++) {
      const end = <i32>load<f32>(offsets + (<usize>(j + 1) << 2));
      let sum: f32 = 0;
      for (let k = start; k < end; k++) sum += load<f32>(from + (<usize><i32>load<f32>(sources + (<usize>k << 2)) << 2));
      store<f32>(to + (<usize>j << 2), sum);
      start = end;
    }
  }
}

// ---- windows over images [N, C, H, W] (7.4): im2col, col2im, max pooling ----------------
// The same arithmetic as core's compositions by gather maps, as direct loops: no index
// table to read, and each sum adds its terms in the same order as the composition's.

/** The flat index of pixel (y, x) of image plane `plane`, or −1 in the padding. */
@inline function pixelAt(plane: i32, y: i32, x: i32, h: i32, w: i32): i32 {
  return y < 0 || y >= h || x < 0 || x >= w ? -1 : (plane * h + y) * w + x;
}

/** Rows (n, oy, ox), columns (c, fy, fx): the book's im2col. */
export function im2col(x: usize, out: usize, n: i32, c: i32, h: i32, w: i32, fh: i32, fw: i32, stride: i32, pad: i32, oh: i32, ow: i32): void {
  let o = out;
  for (let b = 0; b < n; b++) {
    for (let oy = 0; oy < oh; oy++) {
      for (let ox = 0; ox < ow; ox++) {
        for (let ch = 0; ch < c; ch++) {
          const plane = b * c + ch;
          const x0 = ox * stride - pad;
          const inside = x0 >= 0 && x0 + fw <= w; // the window's columns all in the image
          for (let fy = 0; fy < fh; fy++) {
            const y = oy * stride + fy - pad;
            if (inside && y >= 0 && y < h) {
              // a row of the window clear of the padding: copied without a check a pixel
              // (measured: the checks were a third of the kernel's time)
              const from = x + (<usize>((plane * h + y) * w + x0) << 2);
              let fx = 0;
              for (; fx + 4 <= fw; fx += 4) v128.store(o + (<usize>fx << 2), v128.load(from + (<usize>fx << 2)));
              for (; fx < fw; fx++) store<f32>(o + (<usize>fx << 2), load<f32>(from + (<usize>fx << 2)));
              o += <usize>fw << 2;
              continue;
            }
            for (let fx = 0; fx < fw; fx++) {
              const p = pixelAt(plane, y, x0 + fx, h, w);
              store<f32>(o, p < 0 ? 0 : load<f32>(x + (<usize>p << 2)));
              o += 4;
            }
          }
        }
      }
    }
  }
}

/** im2col's adjoint: each column value added back to its pixel, in im2col's order. */
export function col2im(col: usize, out: usize, n: i32, c: i32, h: i32, w: i32, fh: i32, fw: i32, stride: i32, pad: i32, oh: i32, ow: i32): void {
  memory.fill(out, 0, <usize>(n * c * h * w) << 2);
  let o = col;
  for (let b = 0; b < n; b++) {
    for (let oy = 0; oy < oh; oy++) {
      for (let ox = 0; ox < ow; ox++) {
        for (let ch = 0; ch < c; ch++) {
          const plane = b * c + ch;
          for (let fy = 0; fy < fh; fy++) {
            const y = oy * stride + fy - pad;
            for (let fx = 0; fx < fw; fx++) {
              const p = pixelAt(plane, y, ox * stride + fx - pad, h, w);
              if (p >= 0) {
                const at = out + (<usize>p << 2);
                store<f32>(at, load<f32>(at) + load<f32>(o));
              }
              o += 4;
            }
          }
        }
      }
    }
  }
}

/**
 * Whether the windows are the common 2×2, stride 2, no padding: each pixel in one window at
 * most, and four windows side by side are eight pixels of two rows, for vectors.
 */
@inline function pool2x2(fh: i32, fw: i32, stride: i32, pad: i32): bool {
  return fh == 2 && fw == 2 && stride == 2 && pad == 0;
}

/** Each window's max and its position in the window (the first of equal maxima; the padding reads 0). */
export function maxPool(x: usize, out: usize, argmax: usize, n: i32, c: i32, h: i32, w: i32, fh: i32, fw: i32, stride: i32, pad: i32, oh: i32, ow: i32): void {
  let o: usize = 0;
  const fast = pool2x2(fh, fw, stride, pad);
  for (let plane = 0; plane < n * c; plane++) {
    for (let oy = 0; oy < oh; oy++) {
      let ox = 0;
      if (fast) {
        // four windows at once: the even and odd pixels of both rows as four vectors, the
        // max taken in window order (a later position wins only if strictly larger); the
        // scalar loop below took ~60 cycles a window, measured
        const row0 = x + (<usize>((plane * h + 2 * oy) * w) << 2);
        const row1 = row0 + (<usize>w << 2);
        for (; ox + 4 <= ow; ox += 4) {
          const at0 = row0 + (<usize>ox << 3), at1 = row1 + (<usize>ox << 3);
          const u0 = v128.load(at0), u1 = v128.load(at0, 16), l0 = v128.load(at1), l1 = v128.load(at1, 16);
          let best = v128.shuffle<f32>(u0, u1, 0, 2, 4, 6);
          let at = f32x4.splat(0);
          let v = v128.shuffle<f32>(u0, u1, 1, 3, 5, 7);
          let wins = f32x4.gt(v, best);
          best = v128.bitselect(v, best, wins);
          at = v128.bitselect(f32x4.splat(1), at, wins);
          v = v128.shuffle<f32>(l0, l1, 0, 2, 4, 6);
          wins = f32x4.gt(v, best);
          best = v128.bitselect(v, best, wins);
          at = v128.bitselect(f32x4.splat(2), at, wins);
          v = v128.shuffle<f32>(l0, l1, 1, 3, 5, 7);
          wins = f32x4.gt(v, best);
          best = v128.bitselect(v, best, wins);
          at = v128.bitselect(f32x4.splat(3), at, wins);
          v128.store(out + o, best);
          v128.store(argmax + o, at);
          o += 16;
        }
      }
      for (; ox < ow; ox++) {
        let best: f32 = 0;
        let at = 0;
        for (let fy = 0; fy < fh; fy++) {
          for (let fx = 0; fx < fw; fx++) {
            const p = pixelAt(plane, oy * stride + fy - pad, ox * stride + fx - pad, h, w);
            const v: f32 = p < 0 ? 0 : load<f32>(x + (<usize>p << 2));
            const k = fy * fw + fx;
            if (k == 0 || v > best) { best = v; at = k; }
          }
        }
        store<f32>(out + o, best);
        store<f32>(argmax + o, <f32>at);
        o += 4;
      }
    }
  }
}

/** Each window's gradient to its max's pixel (none where the max was padding), in window order. */
export function maxPoolBackward(dout: usize, argmax: usize, dx: usize, n: i32, c: i32, h: i32, w: i32, fh: i32, fw: i32, stride: i32, pad: i32, oh: i32, ow: i32): void {
  const fast = pool2x2(fh, fw, stride, pad);
  // 2×2 windows that tile the image exactly, four at a time with no remainder, write every
  // pixel: no clearing first
  if (!fast || h != 2 * oh || w != 2 * ow || ow % 4 != 0) memory.fill(dx, 0, <usize>(n * c * h * w) << 2);
  let o: usize = 0;
  for (let plane = 0; plane < n * c; plane++) {
    for (let oy = 0; oy < oh; oy++) {
      let ox = 0;
      if (fast) {
        // four windows at once: each gradient masked to its window's position and woven
        // back into the two rows' even and odd pixels (no window shares a pixel)
        const row0 = dx + (<usize>((plane * h + 2 * oy) * w) << 2);
        const row1 = row0 + (<usize>w << 2);
        for (; ox + 4 <= ow; ox += 4) {
          const g = v128.load(dout + o), at = v128.load(argmax + o);
          const e0 = v128.and(g, f32x4.eq(at, f32x4.splat(0))), o0 = v128.and(g, f32x4.eq(at, f32x4.splat(1)));
          const e1 = v128.and(g, f32x4.eq(at, f32x4.splat(2))), o1 = v128.and(g, f32x4.eq(at, f32x4.splat(3)));
          const to0 = row0 + (<usize>ox << 3), to1 = row1 + (<usize>ox << 3);
          v128.store(to0, v128.shuffle<f32>(e0, o0, 0, 4, 1, 5));
          v128.store(to0, v128.shuffle<f32>(e0, o0, 2, 6, 3, 7), 16);
          v128.store(to1, v128.shuffle<f32>(e1, o1, 0, 4, 1, 5));
          v128.store(to1, v128.shuffle<f32>(e1, o1, 2, 6, 3, 7), 16);
          o += 16;
        }
      }
      for (; ox < ow; ox++) {
        const k = <i32>load<f32>(argmax + o);
        const fy = k / fw;
        const p = pixelAt(plane, oy * stride + fy - pad, ox * stride + k - fy * fw - pad, h, w);
        if (p >= 0) {
          const at = dx + (<usize>p << 2);
          store<f32>(at, load<f32>(at) + load<f32>(dout + o));
        }
        o += 4;
      }
    }
  }
}

/** Four rows of four floats at `from` (rows `fromRow` bytes apart) as four columns at `to` (rows `toRow` apart). */
@inline function transpose4x4(from: usize, fromRow: usize, to: usize, toRow: usize): void {
  const r0 = v128.load(from), r1 = v128.load(from + fromRow);
  const r2 = v128.load(from + 2 * fromRow), r3 = v128.load(from + 3 * fromRow);
  const lo01 = v128.shuffle<f32>(r0, r1, 0, 4, 1, 5), hi01 = v128.shuffle<f32>(r0, r1, 2, 6, 3, 7);
  const lo23 = v128.shuffle<f32>(r2, r3, 0, 4, 1, 5), hi23 = v128.shuffle<f32>(r2, r3, 2, 6, 3, 7);
  v128.store(to, v128.shuffle<f32>(lo01, lo23, 0, 1, 4, 5));
  v128.store(to + toRow, v128.shuffle<f32>(lo01, lo23, 2, 3, 6, 7));
  v128.store(to + 2 * toRow, v128.shuffle<f32>(hi01, hi23, 0, 1, 4, 5));
  v128.store(to + 3 * toRow, v128.shuffle<f32>(hi01, hi23, 2, 3, 6, 7));
}

/**
 * dst[cols,rows] = src[rows,cols]ᵀ for each of `count` matrices one after another: lets
 * b·ᵀ products run as plain ones, and is a convolution's NHWC ↔ NCHW permute. Blocks of
 * 4×4 turned by shuffles (four loads and four stores for sixteen values; one value at a
 * time read a cache line a value), the edges one value at a time.
 */
export function transpose(src: usize, dst: usize, count: i32, rows: i32, cols: i32): void {
  const size = <usize>(rows * cols) << 2;
  const srcRow = <usize>cols << 2, dstRow = <usize>rows << 2;
  for (let m = 0; m < count; m++) {
    const from = src + <usize>m * size, to = dst + <usize>m * size;
    let r = 0;
    for (; r + 4 <= rows; r += 4) {
      let c = 0;
      for (; c + 4 <= cols; c += 4) {
        transpose4x4(from + (<usize>(r * cols + c) << 2), srcRow, to + (<usize>(c * rows + r) << 2), dstRow);
      }
      for (; c < cols; c++) {
        for (let i = 0; i < 4; i++) {
          store<f32>(to + (<usize>(c * rows + r + i) << 2), load<f32>(from + (<usize>((r + i) * cols + c) << 2)));
        }
      }
    }
    for (; r < rows; r++) {
      for (let c = 0; c < cols; c++) {
        store<f32>(to + (<usize>(c * rows + r) << 2), load<f32>(from + (<usize>(r * cols + c) << 2)));
      }
    }
  }
}

// ---- convolution, directly (stride 1) --------------------------------------------------
// The book's convolution lays every window position out as a row (im2col: SimpleConvNet's
// 57 600 rows of 25), multiplies, adds the bias and transposes back to [N, FN, OH, OW]:
// four passes over megabytes, and a product of a poor shape (K = 25). Here each row of the
// output is summed in registers straight from the image's rows under the filter — for
// three filters at once, each tap one splatted weight a filter times the vectors of the
// image row it shifts over (three vectors, 12 outputs, with a fused multiply-add; two
// without, whose separate add leaves fewer registers) — and the weight gradient is summed from dout
// in its own layout, so nothing is laid out, transposed or added afterwards. The dims
// at `dims` are ten int32: batch, channels, height, width, filter height and width, pad,
// output height and width, filters. A padded image is copied into `padded` first
// (channels·(height + 2·pad)·(width + 2·pad) + 4 floats); with no pad the image is read
// where it is. Vectors reach up to 3 floats past an image row: lanes never stored, or
// masked to zero before a sum.

@inline function dimsAt(dims: usize, i: i32): i32 {
  return load<i32>(dims + (<usize>i << 2));
}

/** Image n with its pad of zeros around, into `padded` (or x's own image where pad is 0). */
@inline function paddedImage(x: usize, n: i32, dims: usize, padded: usize): usize {
  const channels = dimsAt(dims, 1), height = dimsAt(dims, 2), width = dimsAt(dims, 3), pad = dimsAt(dims, 6);
  const image = x + (<usize>(n * channels * height * width) << 2);
  if (pad == 0) return image;
  const rows = height + 2 * pad, columns = width + 2 * pad;
  memory.fill(padded, 0, <usize>(channels * rows * columns + 4) << 2);
  for (let c = 0; c < channels; c++) {
    for (let y = 0; y < height; y++) {
      memory.copy(
        padded + (<usize>((c * rows + y + pad) * columns + pad) << 2),
        image + (<usize>((c * height + y) * width) << 2),
        <usize>width << 2,
      );
    }
  }
  return padded;
}

/** out[n, f] for images [first, first + count): see the section's comment. */
export function convolution(x: usize, w: usize, bias: usize, out: usize, first: i32, count: i32, dims: usize, padded: usize): void {
  const channels = dimsAt(dims, 1), fh = dimsAt(dims, 4), fw = dimsAt(dims, 5), pad = dimsAt(dims, 6);
  const oh = dimsAt(dims, 7), ow = dimsAt(dims, 8), filters = dimsAt(dims, 9);
  const columns = dimsAt(dims, 3) + 2 * pad, plane = <usize>((dimsAt(dims, 2) + 2 * pad) * columns) << 2;
  const rowBytes = <usize>columns << 2, taps = channels * fh * fw;
  const filterBytes = <usize>taps << 2, planeOut = <usize>(oh * ow) << 2;
  for (let n = first; n < first + count; n++) {
    const image = paddedImage(x, n, dims, padded);
    for (let f = 0; f < filters; f += 3) {
      const wf = w + <usize>f * filterBytes, bf = bias + (<usize>f << 2);
      const planes = out + <usize>(n * filters + f) * planeOut;
      const group = min(3, filters - f);
      for (let oy = 0; oy < oh; oy++) {
        const src = image + <usize>oy * rowBytes, dst = planes + (<usize>(oy * ow) << 2);
        if (group == 3) convolveRows3(src, rowBytes, plane, wf, filterBytes, channels, fh, fw, bf, dst, planeOut, ow);
        else if (group == 2) convolveRows2(src, rowBytes, plane, wf, filterBytes, channels, fh, fw, bf, dst, planeOut, ow);
        else convolveRows1(src, rowBytes, plane, wf, filterBytes, channels, fh, fw, bf, dst, planeOut, ow);
      }
    }
  }
}

const CONV_VECTORS: i32 = ASC_FEATURE_RELAXED_SIMD ? 3 : 2;

// each number of filters its own function, so that its loops have no branch on it
function convolveRows3(src: usize, rowBytes: usize, plane: usize, wf: usize, filterBytes: usize, channels: i32, fh: i32, fw: i32, bias: usize, dst: usize, planeOut: usize, ow: i32): void {
  convolveRows(src, rowBytes, plane, wf, filterBytes, channels, fh, fw, bias, dst, planeOut, ow, 3);
}
function convolveRows2(src: usize, rowBytes: usize, plane: usize, wf: usize, filterBytes: usize, channels: i32, fh: i32, fw: i32, bias: usize, dst: usize, planeOut: usize, ow: i32): void {
  convolveRows(src, rowBytes, plane, wf, filterBytes, channels, fh, fw, bias, dst, planeOut, ow, 2);
}
function convolveRows1(src: usize, rowBytes: usize, plane: usize, wf: usize, filterBytes: usize, channels: i32, fh: i32, fw: i32, bias: usize, dst: usize, planeOut: usize, ow: i32): void {
  convolveRows(src, rowBytes, plane, wf, filterBytes, channels, fh, fw, bias, dst, planeOut, ow, 1);
}

/** One output row of `group` filters, 12 columns (three vectors) at a time. */
@inline function convolveRows(
  src: usize, rowBytes: usize, plane: usize, wf: usize, filterBytes: usize, channels: i32, fh: i32, fw: i32,
  bias: usize, dst: usize, planeOut: usize, ow: i32, group: i32,
): void {
  let ox = 0;
  const width = CONV_VECTORS << 2;
  for (; ox + width <= ow; ox += width) {
    convolveTile(src + (<usize>ox << 2), rowBytes, plane, wf, filterBytes, channels, fh, fw, bias, dst + (<usize>ox << 2), planeOut, width, group, CONV_VECTORS);
  }
  const left = ow - ox, at = <usize>ox << 2;
  if (left > 8) convolveTile(src + at, rowBytes, plane, wf, filterBytes, channels, fh, fw, bias, dst + at, planeOut, left, group, 3);
  else if (left > 4) convolveTile(src + at, rowBytes, plane, wf, filterBytes, channels, fh, fw, bias, dst + at, planeOut, left, group, 2);
  else if (left > 0) convolveTile(src + at, rowBytes, plane, wf, filterBytes, channels, fh, fw, bias, dst + at, planeOut, left, group, 1);
}

/**
 * `columns` (at most 4·vectors) outputs of one row for `group` filters (both constants at
 * each call, so the unused accumulators compile away): each filter's bias plus, for each
 * tap, its weight times the image row the tap shifts over. Each image vector loaded is
 * used by every filter of the group: up to nine independent sums in flight, where one
 * filter's six vectors (the kernel this replaced) waited on the multiply-add's latency.
 * Each output still adds its taps in the same order.
 */
@inline function convolveTile(
  src: usize, rowBytes: usize, plane: usize, wf: usize, filterBytes: usize, channels: i32, fh: i32, fw: i32,
  bias: usize, dst: usize, planeOut: usize, columns: i32, group: i32, vectors: i32,
): void {
  const b0 = v128.load32_splat(bias);
  const b1 = group > 1 ? v128.load32_splat(bias, 4) : b0, b2 = group > 2 ? v128.load32_splat(bias, 8) : b0;
  let c00 = b0, c01 = b0, c02 = b0, c10 = b1, c11 = b1, c12 = b1, c20 = b2, c21 = b2, c22 = b2;
  const w1 = filterBytes, w2 = filterBytes << 1;
  let wp = wf;
  for (let c = 0; c < channels; c++) {
    for (let ky = 0; ky < fh; ky++) {
      const row = src + <usize>c * plane + <usize>ky * rowBytes;
      for (let kx = 0; kx < fw; kx++) {
        const at = row + (<usize>kx << 2);
        const x0 = v128.load(at);
        const x1 = vectors > 1 ? v128.load(at, 16) : x0, x2 = vectors > 2 ? v128.load(at, 32) : x0;
        let s = v128.load32_splat(wp);
        c00 = madd(s, x0, c00);
        if (vectors > 1) c01 = madd(s, x1, c01);
        if (vectors > 2) c02 = madd(s, x2, c02);
        if (group > 1) {
          s = v128.load32_splat(wp + w1);
          c10 = madd(s, x0, c10);
          if (vectors > 1) c11 = madd(s, x1, c11);
          if (vectors > 2) c12 = madd(s, x2, c12);
        }
        if (group > 2) {
          s = v128.load32_splat(wp + w2);
          c20 = madd(s, x0, c20);
          if (vectors > 1) c21 = madd(s, x1, c21);
          if (vectors > 2) c22 = madd(s, x2, c22);
        }
        wp += 4;
      }
    }
  }
  storeVectors(dst, c00, c01, c02, columns, vectors);
  if (group > 1) storeVectors(dst + planeOut, c10, c11, c12, columns, vectors);
  if (group > 2) storeVectors(dst + (planeOut << 1), c20, c21, c22, columns, vectors);
}

/** `columns` floats from up to three vectors, the last perhaps in part. */
@inline function storeVectors(dst: usize, v0: v128, v1: v128, v2: v128, columns: i32, vectors: i32): void {
  if (vectors == 1) storeLanes(dst, v0, columns);
  if (vectors == 2) { v128.store(dst, v0); storeLanes(dst + 16, v1, columns - 4); }
  if (vectors == 3) { v128.store(dst, v0); v128.store(dst, v1, 16); storeLanes(dst + 32, v2, columns - 8); }
}

/**
 * dW [FN, C, FH, FW] and db [FN] for filters [first, first + count), over every image:
 * dW[f, c, ky, kx] = Σ dout[n, f, oy, ox]·x[n, c, oy + ky − pad, ox + kx − pad] and
 * db[f] = Σ dout[n, f, oy, ox]. Two filters and a few taps at a time, over a whole image:
 * each vector of the two filters' dout times each tap's shifted image vector, up to ten
 * independent sums in registers (each image vector loaded once for both filters), added
 * to the taps' vectors of four partial sums in `sums` ((count·(C·FH·FW + 1)) vectors) once
 * an image, and those added up at the end. The filters are the split among threads, so
 * each sum runs in one order on any thread count.
 */
export function convolutionGradients(x: usize, dout: usize, dw: usize, db: usize, first: i32, count: i32, dims: usize, padded: usize, sums: usize): void {
  const batch = dimsAt(dims, 0), channels = dimsAt(dims, 1), fh = dimsAt(dims, 4), fw = dimsAt(dims, 5), pad = dimsAt(dims, 6);
  const oh = dimsAt(dims, 7), ow = dimsAt(dims, 8), filters = dimsAt(dims, 9);
  const columns = dimsAt(dims, 3) + 2 * pad, plane = <usize>((dimsAt(dims, 2) + 2 * pad) * columns) << 2;
  const rowBytes = <usize>columns << 2, taps = channels * fh * fw;
  const perFilter = <usize>(taps + 1) << 4, planeOut = <usize>(oh * ow) << 2;
  // each tap's byte offset in the image from its output's position, kept after the sums
  const offsets = sums + <usize>count * perFilter;
  let t = 0;
  for (let c = 0; c < channels; c++) {
    for (let ky = 0; ky < fh; ky++) {
      for (let kx = 0; kx < fw; kx++) {
        store<u32>(offsets + (<usize>t << 2), <u32>(<usize>c * plane + <usize>ky * rowBytes + (<usize>kx << 2)));
        t++;
      }
    }
  }
  memory.fill(sums, 0, <usize>count * perFilter);
  for (let n = 0; n < batch; n++) {
    const image = paddedImage(x, n, dims, padded);
    for (let f = first; f < first + count; f += 2) {
      const fs = sums + <usize>(f - first) * perFilter;
      const d = dout + <usize>(n * filters + f) * planeOut;
      if (f + 1 < first + count) gradientImage2(image, d, fs, rowBytes, planeOut, oh, ow, taps, perFilter, offsets);
      else gradientImage1(image, d, fs, rowBytes, planeOut, oh, ow, taps, perFilter, offsets);
    }
  }
  for (let f = first; f < first + count; f++) {
    const fs = sums + <usize>(f - first) * perFilter;
    for (let t = 0; t <= taps; t++) {
      const v = v128.load(fs + (<usize>t << 4));
      const total = (f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1)) + (f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3));
      if (t < taps) store<f32>(dw + (<usize>(f * taps + t) << 2), total);
      else store<f32>(db + (<usize>f << 2), total);
    }
  }
}

// Taps at a time: five with a fused multiply-add (ten sums, two dout vectors and an image
// vector: 13 registers), four without (its separate add needs one more register; five
// spilled under Node 20: 4.4 ms a batch-100 gradient on one thread against 2.7–3.0).
const GRADIENT_TAPS: i32 = ASC_FEATURE_RELAXED_SIMD ? 5 : 4;

// one filter or two, each its own function, so that its loops have no branch on it
function gradientImage2(image: usize, d: usize, fs: usize, rowBytes: usize, planeOut: usize, oh: i32, ow: i32, taps: i32, perFilter: usize, offsets: usize): void {
  gradientImage(image, d, fs, rowBytes, planeOut, oh, ow, taps, perFilter, offsets, 2);
}
function gradientImage1(image: usize, d: usize, fs: usize, rowBytes: usize, planeOut: usize, oh: i32, ow: i32, taps: i32, perFilter: usize, offsets: usize): void {
  gradientImage(image, d, fs, rowBytes, planeOut, oh, ow, taps, perFilter, offsets, 1);
}

/** One image's dout for `filters` (1 or 2) filters into every tap's sums and db's. */
@inline function gradientImage(
  image: usize, d: usize, fs: usize, rowBytes: usize, planeOut: usize, oh: i32, ow: i32, taps: i32, perFilter: usize, offsets: usize, filters: i32,
): void {
  let t = 0;
  for (; t + GRADIENT_TAPS <= taps; t += GRADIENT_TAPS) gradientTaps(image, d, fs, rowBytes, planeOut, oh, ow, taps, perFilter, offsets, t, filters, GRADIENT_TAPS);
  const left = taps - t;
  if (left == 4) gradientTaps(image, d, fs, rowBytes, planeOut, oh, ow, taps, perFilter, offsets, t, filters, 4);
  else if (left == 3) gradientTaps(image, d, fs, rowBytes, planeOut, oh, ow, taps, perFilter, offsets, t, filters, 3);
  else if (left == 2) gradientTaps(image, d, fs, rowBytes, planeOut, oh, ow, taps, perFilter, offsets, t, filters, 2);
  else if (left == 1) gradientTaps(image, d, fs, rowBytes, planeOut, oh, ow, taps, perFilter, offsets, t, filters, 1);
  // db: the image's dout, summed (every plane is contiguous; the last 1–3 values masked)
  const values = oh * ow;
  let s0 = f32x4.splat(0), s1 = s0;
  let i = 0;
  for (; i + 4 <= values; i += 4) {
    s0 = f32x4.add(s0, v128.load(d + (<usize>i << 2)));
    if (filters > 1) s1 = f32x4.add(s1, v128.load(d + planeOut + (<usize>i << 2)));
  }
  if (i < values) {
    const last = v128.load(LAST_LANES + (<usize>(values & 3) << 4));
    s0 = f32x4.add(s0, v128.and(v128.load(d + (<usize>i << 2)), last));
    if (filters > 1) s1 = f32x4.add(s1, v128.and(v128.load(d + planeOut + (<usize>i << 2)), last));
  }
  const p = fs + (<usize>taps << 4);
  addInto(p, s0);
  if (filters > 1) addInto(p + perFilter, s1);
}

/** Taps [t, t + count) of `filters` filters over every row of one image (both constants at each call). */
@inline function gradientTaps(
  image: usize, d: usize, fs: usize, rowBytes: usize, planeOut: usize, oh: i32, ow: i32, taps: i32, perFilter: usize, offsets: usize,
  t: i32, filters: i32, count: i32,
): void {
  const at = offsets + (<usize>t << 2), full = ow >> 2, vectors = (ow + 3) >> 2;
  // lanes past a row's end are other values: the last vector's dout is masked to zero
  const last = v128.load(LAST_LANES + (<usize>(ow & 3) << 4));
  const o0 = <usize>load<u32>(at), o1 = count > 1 ? <usize>load<u32>(at, 4) : 0, o2 = count > 2 ? <usize>load<u32>(at, 8) : 0;
  const o3 = count > 3 ? <usize>load<u32>(at, 12) : 0, o4 = count > 4 ? <usize>load<u32>(at, 16) : 0;
  const zero = f32x4.splat(0);
  let a0 = zero, a1 = zero, a2 = zero, a3 = zero, a4 = zero;
  let b0 = zero, b1 = zero, b2 = zero, b3 = zero, b4 = zero;
  let src = image, row = d;
  for (let oy = 0; oy < oh; oy++) {
    for (let v = 0; v < vectors; v++) {
      const step = <usize>v << 4;
      let d0 = v128.load(row + step), d1 = filters > 1 ? v128.load(row + planeOut + step) : zero;
      if (v == full) {
        d0 = v128.and(d0, last);
        if (filters > 1) d1 = v128.and(d1, last);
      }
      const x = src + step;
      let xv = v128.load(x + o0);
      a0 = madd(d0, xv, a0); if (filters > 1) b0 = madd(d1, xv, b0);
      if (count > 1) { xv = v128.load(x + o1); a1 = madd(d0, xv, a1); if (filters > 1) b1 = madd(d1, xv, b1); }
      if (count > 2) { xv = v128.load(x + o2); a2 = madd(d0, xv, a2); if (filters > 1) b2 = madd(d1, xv, b2); }
      if (count > 3) { xv = v128.load(x + o3); a3 = madd(d0, xv, a3); if (filters > 1) b3 = madd(d1, xv, b3); }
      if (count > 4) { xv = v128.load(x + o4); a4 = madd(d0, xv, a4); if (filters > 1) b4 = madd(d1, xv, b4); }
    }
    src += rowBytes;
    row += <usize>ow << 2;
  }
  const p = fs + (<usize>t << 4);
  addInto(p, a0); if (count > 1) addInto(p + 16, a1); if (count > 2) addInto(p + 32, a2);
  if (count > 3) addInto(p + 48, a3); if (count > 4) addInto(p + 64, a4);
  if (filters > 1) {
    const q = p + perFilter;
    addInto(q, b0); if (count > 1) addInto(q + 16, b1); if (count > 2) addInto(q + 32, b2);
    if (count > 3) addInto(q + 48, b3); if (count > 4) addInto(q + 64, b4);
  }
}

@inline function addInto(p: usize, v: v128): void {
  v128.store(p, f32x4.add(v128.load(p), v));
}

/** The lanes a row's last vector keeps, by how many of its columns are left over (0: all four). */
const LAST_LANES = memory.data<u32>([
  0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff,
  0xffffffff, 0, 0, 0,
  0xffffffff, 0xffffffff, 0, 0,
  0xffffffff, 0xffffffff, 0xffffffff, 0,
]);

// ---- element-wise ------------------------------------------------------------------
// Vectors of 4, then the last 1–3 elements one by one. Op codes follow the order of core's
// UNARY_OPS and BINARY_OPS (contract.ts).

const NEG = 0, EXP = 1, LOG = 2, SQRT = 3;

/** out = op(x) for `count` values; exp and log in double (rounded once). */
export function unary(op: i32, x: usize, out: usize, count: i32): void {
  let i = 0;
  if (op == NEG || op == SQRT) {
    for (; i + 4 <= count; i += 4) {
      const o = <usize>i << 2;
      const v = v128.load(x + o);
      v128.store(out + o, op == NEG ? f32x4.neg(v) : f32x4.sqrt(v));
    }
  }
  for (; i < count; i++) {
    const o = <usize>i << 2;
    const v = load<f32>(x + o);
    let r: f32;
    if (op == NEG) r = -v;
    else if (op == SQRT) r = Mathf.sqrt(v);
    else if (op == EXP) r = <f32>Math.exp(<f64>v);
    else r = <f32>Math.log(<f64>v);
    store<f32>(out + o, r);
  }
}

const ADD = 0, SUB = 1, MUL = 2, DIV = 3, MAXIMUM = 4, GREATER = 5, EQUAL = 6;

@inline function apply4(op: i32, a: v128, b: v128): v128 {
  if (op == ADD) return f32x4.add(a, b);
  if (op == SUB) return f32x4.sub(a, b);
  if (op == MUL) return f32x4.mul(a, b);
  if (op == DIV) return f32x4.div(a, b);
  if (op == MAXIMUM) return f32x4.max(a, b);
  // comparisons give all-ones lanes where true: keep 1.0 there
  const mask = op == GREATER ? f32x4.gt(a, b) : f32x4.eq(a, b);
  return v128.and(mask, f32x4.splat(1));
}

@inline function apply1(op: i32, a: f32, b: f32): f32 {
  if (op == ADD) return a + b;
  if (op == SUB) return a - b;
  if (op == MUL) return a * b;
  if (op == DIV) return a / b;
  if (op == MAXIMUM) return Mathf.max(a, b); // f32.max, as f32x4.max: +0 over −0
  if (op == GREATER) return a > b ? 1 : 0;
  return a == b ? 1 : 0;
}

/**
 * out[rows, cols] = op(a, b), each operand read through strides in floats: a row stride
 * of 0 repeats a row (a bias), a column stride of 0 repeats a value along the row. Rows
 * whose operands are both contiguous (column stride 1) or one of them a single repeated
 * value run as vectors.
 */
export function binary(
  op: i32, a: usize, b: usize, out: usize, rows: i32, cols: i32,
  aRowStride: i32, aColStride: i32, bRowStride: i32, bColStride: i32,
): void {
  for (let r = 0; r < rows; r++) {
    const ar = a + (<usize>(r * aRowStride) << 2);
    const br = b + (<usize>(r * bRowStride) << 2);
    const or = out + (<usize>(r * cols) << 2);
    let j = 0;
    if (aColStride == 1 && bColStride == 1) {
      for (; j + 4 <= cols; j += 4) {
        const o = <usize>j << 2;
        v128.store(or + o, apply4(op, v128.load(ar + o), v128.load(br + o)));
      }
    } else if (aColStride == 1 && bColStride == 0) {
      const bv = f32x4.splat(load<f32>(br));
      for (; j + 4 <= cols; j += 4) {
        const o = <usize>j << 2;
        v128.store(or + o, apply4(op, v128.load(ar + o), bv));
      }
    } else if (aColStride == 0 && bColStride == 1) {
      const av = f32x4.splat(load<f32>(ar));
      for (; j + 4 <= cols; j += 4) {
        const o = <usize>j << 2;
        v128.store(or + o, apply4(op, av, v128.load(br + o)));
      }
    }
    for (; j < cols; j++) {
      store<f32>(or + (<usize>j << 2), apply1(op, load<f32>(ar + (<usize>(j * aColStride) << 2)), load<f32>(br + (<usize>(j * bColStride) << 2))));
    }
  }
}

const SUM = 0, MAX = 1, ARGMAX = 2;

/**
 * Reduces x[rows, cols] along axis 0 (one result a column) or 1 (one a row). Column sums
 * run as vectors across the row (the bias gradient); the rest is a plain loop. Sums
 * accumulate in float32, as the SIMD column sums do.
 */
export function reduce(op: i32, x: usize, out: usize, rows: i32, cols: i32, axis: i32): void {
  if (axis == 0 && op == SUM) {
    memory.fill(out, 0, <usize>cols << 2);
    for (let i = 0; i < rows; i++) {
      const row = x + (<usize>(i * cols) << 2);
      let j = 0;
      for (; j + 4 <= cols; j += 4) {
        const o = <usize>j << 2;
        v128.store(out + o, f32x4.add(v128.load(out + o), v128.load(row + o)));
      }
      for (; j < cols; j++) {
        const o = <usize>j << 2;
        store<f32>(out + o, load<f32>(out + o) + load<f32>(row + o));
      }
    }
    return;
  }
  const outer = axis == 0 ? cols : rows;
  const inner = axis == 0 ? rows : cols;
  const outerStride = axis == 0 ? 1 : cols;
  const innerStride = axis == 0 ? cols : 1;
  for (let o = 0; o < outer; o++) {
    const start = x + (<usize>(o * outerStride) << 2);
    let result: f32;
    if (op == SUM) {
      let sum: f32 = 0;
      for (let i = 0; i < inner; i++) sum += load<f32>(start + (<usize>(i * innerStride) << 2));
      result = sum;
    } else {
      let best = 0; // the first of equal maxima, as numpy
      let bestValue = load<f32>(start);
      for (let i = 1; i < inner; i++) {
        const v = load<f32>(start + (<usize>(i * innerStride) << 2));
        if (v > bestValue) { best = i; bestValue = v; }
      }
      result = op == ARGMAX ? <f32>best : bestValue;
    }
    store<f32>(out + (<usize>o << 2), result);
  }
}

export function relu(x: usize, out: usize, count: i32): void {
  const zero = f32x4.splat(0);
  let i = 0;
  for (; i + 4 <= count; i += 4) {
    const o = <usize>i << 2;
    const v = v128.load(x + o);
    v128.store(out + o, v128.and(v, f32x4.gt(v, zero))); // x where x > 0, else +0
  }
  for (; i < count; i++) {
    const o = <usize>i << 2;
    const v = load<f32>(x + o);
    store<f32>(out + o, v > 0 ? v : 0);
  }
}

/** dx = dout where out > 0, else 0: x <= 0 passes no gradient (the book's mask). */
export function reluBackward(dout: usize, out: usize, dx: usize, count: i32): void {
  const zero = f32x4.splat(0);
  let i = 0;
  for (; i + 4 <= count; i += 4) {
    const o = <usize>i << 2;
    v128.store(dx + o, v128.and(v128.load(dout + o), f32x4.gt(v128.load(out + o), zero)));
  }
  for (; i < count; i++) {
    const o = <usize>i << 2;
    store<f32>(dx + o, load<f32>(out + o) > 0 ? load<f32>(dout + o) : 0);
  }
}

export function sigmoid(x: usize, out: usize, count: i32): void {
  for (let i = 0; i < count; i++) {
    const o = <usize>i << 2;
    store<f32>(out + o, <f32>(1 / (1 + Math.exp(-<f64>load<f32>(x + o)))));
  }
}

export function sigmoidBackward(dout: usize, out: usize, dx: usize, count: i32): void {
  const one = f32x4.splat(1);
  let i = 0;
  for (; i + 4 <= count; i += 4) {
    const o = <usize>i << 2;
    const y = v128.load(out + o);
    v128.store(dx + o, f32x4.mul(f32x4.mul(v128.load(dout + o), y), f32x4.sub(one, y)));
  }
  for (; i < count; i++) {
    const o = <usize>i << 2;
    const y = load<f32>(out + o);
    store<f32>(dx + o, load<f32>(dout + o) * y * (1 - y));
  }
}

export function sgdUpdate(w: usize, g: usize, count: i32, learningRate: f32): void {
  const lr = f32x4.splat(learningRate);
  let i = 0;
  for (; i + 4 <= count; i += 4) {
    const o = <usize>i << 2;
    v128.store(w + o, f32x4.sub(v128.load(w + o), f32x4.mul(lr, v128.load(g + o))));
  }
  for (; i < count; i++) {
    const o = <usize>i << 2;
    store<f32>(w + o, load<f32>(w + o) - learningRate * load<f32>(g + o));
  }
}

/**
 * Adam's step in one pass over the parameter, its gradient and both moments: each value
 * read and written once instead of by a dozen element-wise kernels. The same operations in
 * the same order as core's composition, each rounded to f32 as those kernels round it
 * (no fused multiply-add, in either build), so the result is bit for bit the composition's.
 */
export function adamUpdate(
  param: usize, grad: usize, m: usize, v: usize, count: i32,
  learningRate: f32, rate1: f32, rate2: f32, epsilon: f32,
): void {
  const lr = f32x4.splat(learningRate), r1 = f32x4.splat(rate1), r2 = f32x4.splat(rate2);
  const eps = f32x4.splat(epsilon);
  let i = 0;
  for (; i + 4 <= count; i += 4) {
    const o = <usize>i << 2;
    const g = v128.load(grad + o);
    const mi = f32x4.add(v128.load(m + o), f32x4.mul(f32x4.sub(g, v128.load(m + o)), r1));
    const vi = f32x4.add(v128.load(v + o), f32x4.mul(f32x4.sub(f32x4.mul(g, g), v128.load(v + o)), r2));
    v128.store(m + o, mi);
    v128.store(v + o, vi);
    v128.store(param + o, f32x4.sub(v128.load(param + o), f32x4.div(f32x4.mul(mi, lr), f32x4.add(f32x4.sqrt(vi), eps))));
  }
  for (; i < count; i++) {
    const o = <usize>i << 2;
    const g = load<f32>(grad + o);
    const mi = load<f32>(m + o) + (g - load<f32>(m + o)) * rate1;
    const vi = load<f32>(v + o) + (g * g - load<f32>(v + o)) * rate2;
    store<f32>(m + o, mi);
    store<f32>(v + o, vi);
    store<f32>(param + o, load<f32>(param + o) - (mi * learningRate) / (Mathf.sqrt(vi) + epsilon));
  }
}

// ---- softmax with cross-entropy ----------------------------------------------------
// Labels are class indices (oneHot = 0: one float per row) or one-hot rows (oneHot = 1).
// Each exp once, in float (AssemblyScript's Mathf.exp, within an ulp), kept in probs until
// the row's sum is known; the sum, the divide and the log in double, each result rounded
// once to float. Computing exp twice in double (once for the sum, once for each
// probability) took 17 µs of a 784-50-10 step at batch 100 and 168 µs at batch 1000.

/** Writes softmax(x) to probs and returns the mean −Σ t·log(y + delta). */
export function softmaxCrossEntropy(x: usize, labels: usize, oneHot: i32, probs: usize, batch: i32, classes: i32, delta: f64): f64 {
  let lossSum: f64 = 0;
  for (let i = 0; i < batch; i++) {
    const row = <usize>(i * classes) << 2;
    let max: f32 = -Infinity; // subtract the row's max so exp never overflows
    for (let j = 0; j < classes; j++) max = Mathf.max(max, load<f32>(x + row + (<usize>j << 2)));
    let sum: f64 = 0;
    for (let j = 0; j < classes; j++) {
      const e = Mathf.exp(load<f32>(x + row + (<usize>j << 2)) - max);
      store<f32>(probs + row + (<usize>j << 2), e);
      sum += e;
    }
    const label = oneHot ? -1 : <i32>load<f32>(labels + (<usize>i << 2));
    for (let j = 0; j < classes; j++) {
      const o = row + (<usize>j << 2);
      const y = <f64>load<f32>(probs + o) / sum;
      store<f32>(probs + o, <f32>y);
      const t: f64 = oneHot ? <f64>load<f32>(labels + o) : (label == j ? 1 : 0);
      if (t != 0) lossSum -= t * Math.log(y + delta);
    }
  }
  return lossSum / batch;
}

/** dx = (probs − t) / batch. */
export function softmaxCrossEntropyBackward(probs: usize, labels: usize, oneHot: i32, dx: usize, batch: i32, classes: i32): void {
  for (let i = 0; i < batch; i++) {
    const row = <usize>(i * classes) << 2;
    const label = oneHot ? -1 : <i32>load<f32>(labels + (<usize>i << 2));
    for (let j = 0; j < classes; j++) {
      const o = row + (<usize>j << 2);
      const t: f32 = oneHot ? load<f32>(labels + o) : (label == j ? 1 : 0);
      store<f32>(dx + o, (load<f32>(probs + o) - t) / <f32>batch);
    }
  }
}

/** How many rows have their largest score (the first, on ties) at the label's class. */
export function countCorrect(scores: usize, labels: usize, oneHot: i32, batch: i32, classes: i32): i32 {
  let correct = 0;
  for (let i = 0; i < batch; i++) {
    const row = <usize>(i * classes) << 2;
    const predicted = argmax(scores + row, classes);
    const label = oneHot ? argmax(labels + row, classes) : <i32>load<f32>(labels + (<usize>i << 2));
    if (predicted == label) correct++;
  }
  return correct;
}

function argmax(values: usize, count: i32): i32 {
  let best = 0;
  for (let j = 1; j < count; j++) if (load<f32>(values + (<usize>j << 2)) > load<f32>(values + (<usize>best << 2))) best = j;
  return best;
}
