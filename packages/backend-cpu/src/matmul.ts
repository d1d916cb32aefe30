/**
 * Row-major matrix products in plain loops, arranged so the innermost loop always walks
 * memory contiguously (no strided inner loops), four rows of C at a time so each row of
 * B is loaded once for four uses, and blocked so the rows revisited stay in cache.
 * C is a zeroed Float64Array: products accumulate in double.
 */
export type FloatArray = Float32Array | Float64Array;

/** Rows of C revisited per pass in xᵀ·dout: 64 rows of 50 doubles ≈ 25 KiB, inside L1. */
const ROW_BLOCK = 64;

/**
 * C[row + r, :] += a_r · B[bRow, :] for r = 0…3: the step both x·W and xᵀ·dout are made
 * of. Multipliers that are all exactly 0 (most MNIST pixels, many ReLU outputs) are
 * skipped: they would add nothing.
 */
function addScaledRows(
  C: Float64Array,
  row: number,
  rows: number,
  n: number,
  a0: number,
  a1: number,
  a2: number,
  a3: number,
  B: FloatArray,
  bRow: number,
) {
  if (a0 === 0 && a1 === 0 && a2 === 0 && a3 === 0) return;
  const c0 = row * n;
  if (rows === 4) {
    const c1 = c0 + n;
    const c2 = c1 + n;
    const c3 = c2 + n;
    for (let j = 0; j < n; j++) {
      const b = B[bRow + j];
      C[c0 + j] += a0 * b;
      C[c1 + j] += a1 * b;
      C[c2 + j] += a2 * b;
      C[c3 + j] += a3 * b;
    }
  } else {
    // the last 1–3 rows: a1…a3 beyond them are 0 and unused
    for (let r = 0; r < rows; r++) {
      const a = r === 0 ? a0 : r === 1 ? a1 : a2;
      const c = c0 + r * n;
      for (let j = 0; j < n; j++) C[c + j] += a * B[bRow + j];
    }
  }
}

/** C[m,n] = A[m,k] · B[k,n]. */
export function matmulNN(
  A: FloatArray,
  B: FloatArray,
  C: Float64Array,
  m: number,
  k: number,
  n: number,
) {
  // C[i,:] += A[i,p] · B[p,:], rows i…i+3 together.
  for (let i = 0; i < m; i += 4) {
    const rows = Math.min(4, m - i);
    const at = (r: number, p: number) => (r < rows ? A[(i + r) * k + p] : 0);
    for (let p = 0; p < k; p++) {
      addScaledRows(C, i, rows, n, at(0, p), at(1, p), at(2, p), at(3, p), B, p * n);
    }
  }
}

/** C[m,n] = A[k,m]ᵀ · B[k,n] (the weight gradient xᵀ·dout). */
export function matmulTN(
  A: FloatArray,
  B: FloatArray,
  C: Float64Array,
  m: number,
  k: number,
  n: number,
) {
  // C[i,:] += A[p,i] · B[p,:], a block of C's rows at a time so that block stays in cache.
  for (let i0 = 0; i0 < m; i0 += ROW_BLOCK) {
    const i1 = Math.min(i0 + ROW_BLOCK, m);
    for (let p = 0; p < k; p++) {
      const aRow = p * m;
      for (let i = i0; i < i1; i += 4) {
        const rows = Math.min(4, i1 - i);
        const at = (r: number) => (r < rows ? A[aRow + i + r] : 0);
        addScaledRows(C, i, rows, n, at(0), at(1), at(2), at(3), B, p * n);
      }
    }
  }
}

/**
 * C[m,n] = A[m,k] · B[n,k]ᵀ (the input gradient dout·Wᵀ, a convolution's col·Wᵀ): B laid
 * out as Bᵀ [k,n] once, then matmulNN's contiguous rows. Each C[i,j] still sums
 * A[i,p]·B[j,p] for p = 0…k−1 in that order (a skipped zero adds nothing), so the result
 * is the dot products', bit for bit; a dot product a thread read B down its rows at ~4 ns
 * a multiply-add for short k.
 */
export function matmulNT(
  A: FloatArray,
  B: FloatArray,
  C: Float64Array,
  m: number,
  k: number,
  n: number,
) {
  const Bt = new Float64Array(k * n);
  for (let j = 0; j < n; j++) for (let p = 0; p < k; p++) Bt[p * n + j] = B[j * k + p];
  matmulNN(A, Bt, C, m, k, n);
}

/** C[m,n] = A[k,m]ᵀ · B[n,k]ᵀ. No layer needs it; kept simple. */
export function matmulTT(
  A: FloatArray,
  B: FloatArray,
  C: Float64Array,
  m: number,
  k: number,
  n: number,
) {
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let sum = 0;
      for (let p = 0; p < k; p++) sum += A[p * m + i] * B[j * k + p];
      C[i * n + j] = sum;
    }
  }
}
