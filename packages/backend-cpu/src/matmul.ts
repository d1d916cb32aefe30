/**
 * Row-major matrix products in plain loops, arranged so the innermost loop always walks
 * memory contiguously (no strided inner loops), and blocked so the rows it revisits stay
 * in cache. C is a zeroed Float64Array: products accumulate in double.
 */
export type FloatArray = Float32Array | Float64Array;

/** Rows of C revisited per pass in the blocked loops: 64 rows of 50 doubles ≈ 25 KiB, inside L1. */
const ROW_BLOCK = 64;

/** C[m,n] = A[m,k] · B[k,n]. */
export function matmulNN(
  A: FloatArray,
  B: FloatArray,
  C: Float64Array,
  m: number,
  k: number,
  n: number,
) {
  // C[i,:] += A[i,p] · B[p,:] — rows of B and C are contiguous.
  for (let i = 0; i < m; i++) {
    const cRow = i * n;
    const aRow = i * k;
    for (let p = 0; p < k; p++) {
      const a = A[aRow + p];
      if (a === 0) continue; // MNIST pixels and ReLU outputs are mostly 0: skip their rows of B
      const bRow = p * n;
      for (let j = 0; j < n; j++) C[cRow + j] += a * B[bRow + j];
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
      const bRow = p * n;
      for (let i = i0; i < i1; i++) {
        const a = A[aRow + i];
        if (a === 0) continue;
        const cRow = i * n;
        for (let j = 0; j < n; j++) C[cRow + j] += a * B[bRow + j];
      }
    }
  }
}

/** C[m,n] = A[m,k] · B[n,k]ᵀ (the input gradient dout·Wᵀ). */
export function matmulNT(
  A: FloatArray,
  B: FloatArray,
  C: Float64Array,
  m: number,
  k: number,
  n: number,
) {
  // Each C[i,j] is a dot product of two contiguous rows.
  for (let i = 0; i < m; i++) {
    const aRow = i * k;
    for (let j = 0; j < n; j++) {
      const bRow = j * k;
      let sum = 0;
      for (let p = 0; p < k; p++) sum += A[aRow + p] * B[bRow + p];
      C[i * n + j] = sum;
    }
  }
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
