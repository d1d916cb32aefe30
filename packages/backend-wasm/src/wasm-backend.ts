import {
  type AdamStep,
  Backend,
  BackendError,
  BINARY_OPS,
  type BinaryOp,
  type Broadcast,
  type DType,
  type FloatArray,
  type GatherDims,
  type GatherStorage,
  type KernelBackend,
  type LabelDims,
  type MatmulDims,
  REDUCE_OPS,
  type ReduceOp,
  refuseUnknownKeys,
  UNARY_OPS,
  type UnaryOp,
  type WindowDims,
} from '@backprop/core';
import {
  KERNELS_RELAXED,
  KERNELS_RELAXED_SHARED,
  KERNELS_SIMD,
  KERNELS_SIMD_SHARED,
} from './generated/kernels-wasm.js';
import { LinearMemory } from './memory.js';
import { wasmSimdSupported } from './probe.js';
import { bitsFloat, floatBits, Job, ThreadPool } from './threads.js';

/** What assembly/index.ts exports. Pointers are byte offsets into `memory`. */
interface Kernels {
  memory: WebAssembly.Memory;
  matmul(
    a: number,
    b: number,
    c: number,
    m: number,
    k: number,
    n: number,
    aRow: number,
    aCol: number,
    bRow: number,
    bPanel: number,
    ldc: number,
  ): void;
  packPanels(src: number, dst: number, n: number, k: number): void;
  countZeros(x: number, vectors: number, step: number): number;
  peakMadd(rounds: number, scale: number, shift: number): number;
  matmulSparseA(
    a: number,
    b: number,
    c: number,
    m: number,
    k: number,
    n: number,
    lists: number,
    capacity: number,
  ): void;
  matmulSparseAT(
    a: number,
    b: number,
    c: number,
    m: number,
    k: number,
    n: number,
    lda: number,
    scratch: number,
    capacity: number,
  ): void;
  matmulSparseATInto(
    a: number,
    b: number,
    c: number,
    m: number,
    k: number,
    n: number,
    lda: number,
  ): void;
  transpose(src: number, dst: number, count: number, rows: number, cols: number): void;
  im2col(x: number, out: number, ...window: number[]): void;
  col2im(col: number, out: number, ...window: number[]): void;
  convolution(
    x: number,
    w: number,
    bias: number,
    out: number,
    first: number,
    count: number,
    dims: number,
    padded: number,
  ): void;
  convolutionGradients(
    x: number,
    dout: number,
    dw: number,
    db: number,
    first: number,
    count: number,
    dims: number,
    padded: number,
    sums: number,
  ): void;
  maxPool(x: number, out: number, argmax: number, ...window: number[]): void;
  maxPoolBackward(dout: number, argmax: number, dx: number, ...window: number[]): void;
  gatherRows(src: number, dst: number, indices: number, count: number, width: number): void;
  gather(
    x: number,
    index: number,
    out: number,
    batch: number,
    inSize: number,
    outSize: number,
  ): void;
  scatterAdd(
    values: number,
    offsets: number,
    sources: number,
    out: number,
    batch: number,
    inSize: number,
    outSize: number,
  ): void;
  unary(op: number, x: number, out: number, count: number): void;
  binary(
    op: number,
    a: number,
    b: number,
    out: number,
    rows: number,
    cols: number,
    aRowStride: number,
    aColStride: number,
    bRowStride: number,
    bColStride: number,
  ): void;
  reduce(op: number, x: number, out: number, rows: number, cols: number, axis: number): void;
  relu(x: number, out: number, count: number): void;
  reluBackward(dout: number, out: number, dx: number, count: number): void;
  sigmoid(x: number, out: number, count: number): void;
  sigmoidBackward(dout: number, out: number, dx: number, count: number): void;
  sgdUpdate(w: number, g: number, count: number, learningRate: number): void;
  adamUpdate(
    param: number,
    grad: number,
    m: number,
    v: number,
    count: number,
    learningRate: number,
    rate1: number,
    rate2: number,
    epsilon: number,
  ): void;
  softmaxCrossEntropy(
    x: number,
    labels: number,
    oneHot: number,
    probs: number,
    batch: number,
    classes: number,
    delta: number,
  ): number;
  softmaxCrossEntropyBackward(
    probs: number,
    labels: number,
    oneHot: number,
    dx: number,
    batch: number,
    classes: number,
  ): void;
  countCorrect(
    scores: number,
    labels: number,
    oneHot: number,
    batch: number,
    classes: number,
  ): number;
}

/** A tensor's values: `count` float32s at byte `offset` of linear memory. */
export interface WasmBlock {
  readonly offset: number;
  readonly count: number;
}

/** Which module: plain SIMD, or relaxed SIMD (fused multiply-adds in the products). */
export type WasmBuild = 'simd' | 'relaxed';

export interface WasmOptions {
  /**
   * Threads for the matrix products, the caller's included. Default: every core, where
   * this thread may wait on shared memory (Node; a browser's worker when the page is
   * cross-origin isolated), else 1. Any count gives bit-identical results.
   */
  threads?: number;
  /** Default: `relaxed` where the engine validates it (Node 22+, Chromium), else `simd`. */
  build?: WasmBuild;
  /**
   * Share work among threads from this many multiply-adds (or gathered floats) on
   * (default THREADED_FROM); 0 shares everything, as the tests do to cover every split.
   */
  threadedFrom?: number;
}

const MODULES: Record<WasmBuild, Record<'own' | 'shared', string>> = {
  simd: { own: KERNELS_SIMD, shared: KERNELS_SIMD_SHARED },
  relaxed: { own: KERNELS_RELAXED, shared: KERNELS_RELAXED_SHARED },
};
const compiled = new Map<string, Promise<WebAssembly.Module>>();

/**
 * Work is shared among threads from this many multiply-adds on (or floats, for a gather):
 * below it, waking a helper costs more than it saves (measured: see the README).
 */
export const THREADED_FROM = 1 << 20;

/**
 * The kernels in hand-written WebAssembly SIMD (assembly/index.ts). Data lives in the
 * module's linear memory; storage is a block there, from this backend's allocator.
 * float32 only.
 */
export class WasmKernels implements KernelBackend<WasmBlock> {
  readonly name = 'wasm';
  readonly dtype: DType = 'float32';
  readonly description: string;
  private readonly heap: LinearMemory;
  /** What `nonzeros` counted, by block, until the block is written or freed. */
  private readonly nonzeroCounts = new WeakMap<WasmBlock, number>();

  /**
   * @internal `WasmBackend.create` builds it (instantiating the module, starting the
   * threads); left out of the published types, which then need no WebAssembly typings.
   */
  constructor(
    private readonly kernels: Kernels,
    readonly build: WasmBuild,
    private readonly pool: ThreadPool | null,
    private readonly threadedFrom = THREADED_FROM,
  ) {
    this.heap = new LinearMemory(kernels.memory);
    const threads = pool?.threads ?? 1;
    this.description = `wasm: hand-written WebAssembly ${build === 'relaxed' ? 'relaxed SIMD (f32x4, fused multiply-add)' : 'SIMD (f32x4)'}, float32, ${threads} thread${threads === 1 ? '' : 's'}`;
  }

  /** Threads the products run on, the caller's included. */
  get threads(): number {
    return this.pool?.threads ?? 1;
  }

  close(): void {
    this.pool?.close();
  }

  /**
   * The machine's peak for these kernels, in GFLOP/s: `madd` (this build's multiply-add)
   * at full throughput on every thread at once, nothing loaded or stored (assembly's
   * peakMadd). What a product's useful GFLOP/s is measured against. The best of runs of
   * `rounds` each, repeated until three in a row bring nothing new (at most `maxMs`): an
   * engine first runs the baseline compiler's code, at a quarter the speed, and swaps in
   * the optimizing compiler's only for a later call, once it is made in the background.
   */
  measurePeak({ rounds = 1_000_000, maxMs = 3000 } = {}): number {
    const FLOPS_A_ROUND = 96; // 12 f32x4 madds: 12 × 4 lanes × 2
    const run = () => {
      const started = performance.now();
      this.parallel(
        // scale 0.999 and shift 0.001, in millionths: a job's arguments are int32s
        Array.from(
          { length: this.threads },
          () => [Job.PeakMadd, [rounds, 999_000, 1000]] as [Job, number[]],
        ),
      );
      return performance.now() - started;
    };
    const until = performance.now() + maxMs;
    let best = run();
    for (let stale = 0; stale < 3 && performance.now() < until; ) {
      const ms = run();
      stale = ms < best * 0.98 ? 0 : stale + 1;
      best = Math.min(best, ms);
    }
    return (this.threads * rounds * FLOPS_A_ROUND) / best / 1e6;
  }

  /** Bytes of linear memory (constant once training has run an iteration), and bytes in blocks now. */
  resources(): Record<string, number> {
    return { memoryBytes: this.heap.totalBytes, bytesInUse: this.heap.bytesInUse };
  }

  // ---- storage -------------------------------------------------------------------------

  upload(values: ArrayLike<number>): WasmBlock {
    const block = this.allocate(values.length);
    this.heap.f32.set(values, block.offset / 4);
    return block;
  }

  async download(block: WasmBlock, size: number): Promise<FloatArray> {
    return this.downloadSync(block, size);
  }

  downloadSync(block: WasmBlock, size: number): FloatArray {
    const start = block.offset / 4;
    return this.heap.f32.slice(start, start + size);
  }

  write(block: WasmBlock, values: ArrayLike<number>, offset: number): void {
    this.nonzeroCounts.delete(block);
    this.heap.f32.set(values, block.offset / 4 + offset);
  }

  free(block: WasmBlock): void {
    this.nonzeroCounts.delete(block);
    this.heap.release(block.offset, block.count);
  }

  // ---- primitives ----------------------------------------------------------------------

  matmul(a: WasmBlock, b: WasmBlock, { m, k, n, transposeA, transposeB }: MatmulDims): WasmBlock {
    const out = this.allocate(m * n);
    const nonzeros = this.nonzeros(a, m * k);
    const sparse = nonzeros * 2 < m * k;
    if (!sparse) {
      this.denseMatmul(a, b, out, m, k, n, transposeA, transposeB);
      return out;
    }
    // The sparse kernels want B as [k, n]; a transposed B is laid out so first.
    const bRows = transposeB ? this.transposed(b, n, k) : null;
    const bPtr = bRows?.offset ?? b.offset;
    // x in both big products: MNIST pixels are ~80% zeros, so visit only the rest.
    // Shares of C's rows, a multiple of 4 each, one a thread, by the multiply-adds actually
    // done: a sparse A does only its nonzeros' share, and is shared from four times the
    // work: its multiply-adds are few for the data a helper must bring to its own core (all
    // of B, and A's rows, fresh in this thread's cache). At 784-200-10, batch 100, sharing
    // x·W1 and xᵀ·dout (2.9 M each) made the step slower than one thread did (1.02 against
    // 0.83 ms; the helper ~100 µs late a product).
    const shares = this.shares(m, (nonzeros * n) / 4);
    if (transposeA && m * n <= SMALL_C) {
      // rows of C are columns of A, whose rows stay m apart; each nonzero's row of B is
      // added into C, which stays in the first cache
      this.parallel(
        shares.map(([i, rows]) => [
          Job.MatmulSparseATInto,
          [a.offset + 4 * i, bPtr, out.offset + 4 * i * n, rows, k, n, m],
        ]),
      );
    } else if (transposeA) {
      this.sparseATInHalves(a, bPtr, out, m, k, n, shares.length);
    } else {
      // each thread lists its rows' nonzeros in lists of its own
      const capacity = listCapacity(k + 4);
      const words = shares.map(([, rows]) => 2 * capacity + rows + 1);
      this.withBlocks(words, (lists) =>
        this.parallel(
          shares.map(([i, rows], s) => [
            Job.MatmulSparseA,
            [a.offset + 4 * i * k, bPtr, out.offset + 4 * i * n, rows, k, n].concat([
              lists[s] as number,
              capacity,
            ]),
          ]),
        ),
      );
    }
    if (bRows) this.free(bRows);
    return out;
  }

  /**
   * C = A[k,m]ᵀ·B[k,n] for a sparse A by lists of its columns (`matmulSparseAT`): each
   * share transposes four of A's columns at a time into scratch of its own and lists their
   * nonzeros there. A of many rows (a big batch) is summed in two halves of its rows, the
   * second half into a block of its own added into C at the end, and the threads take the
   * halves: each then reads the rows of x it gathered itself. Shared by C's rows instead,
   * every thread read all of x, half of it from the other core's cache (batch 1000: ~0.9
   * ms on two threads against ~1.0 on one). The halves are chosen by k alone, so that every
   * thread count sums the same halves and C is the same bit for bit.
   */
  private sparseATInHalves(
    a: WasmBlock,
    bPtr: number,
    out: WasmBlock,
    m: number,
    k: number,
    n: number,
    parts: number,
  ): void {
    const halves = k >= HALVED_FROM_ROWS ? 2 : 1;
    const firstHalf = halves === 2 ? Math.ceil(k / 2 / 4) * 4 : k;
    const partial = halves === 2 ? this.allocate(m * n) : null;
    // each half's columns shared among its part of the threads, a multiple of 4 each
    const columnsEach = Math.ceil(m / Math.max(1, Math.floor(parts / halves)) / 4) * 4;
    const jobs: [Job, number[]][] = [];
    const words: number[] = [];
    const capacity = listCapacity(4 * (firstHalf + 4));
    for (let h = 0; h < halves; h++) {
      const [from, rows] = h === 0 ? [0, firstHalf] : [firstHalf, k - firstHalf];
      const c = h === 0 ? out.offset : (partial as WasmBlock).offset;
      for (let i = 0; i < m; i += columnsEach) {
        const columns = Math.min(columnsEach, m - i);
        jobs.push([
          Job.MatmulSparseAT,
          [a.offset + 4 * (from * m + i), bPtr + 4 * from * n, c + 4 * i * n, columns, rows, n, m],
        ]);
        words.push(4 * rows + 2 * capacity + columns + 1);
      }
    }
    this.withBlocks(words, (scratch) => {
      const withScratch = jobs.map(([op, args], s): [Job, number[]] => [
        op,
        args.concat([scratch[s] as number, capacity]),
      ]);
      // one job a thread where there are threads enough, else one after another
      if (withScratch.length <= parts) this.parallel(withScratch);
      else for (const job of withScratch) this.parallel([job]);
    });
    if (partial) {
      const size = m * n;
      this.kernels.binary(
        BINARY_OPS.indexOf('add'),
        out.offset,
        partial.offset,
        out.offset,
        1,
        size,
        0,
        1,
        0,
        1,
      );
      this.free(partial);
    }
  }

  /**
   * C = A·B by the register-tiled kernel (assembly's `matmul`): A read through strides
   * ([m, k] row-major, or stored as [k, m] for aᵀ), B read where it is or, stored
   * transposed, packed into panels of 8 columns first (the panels replace the transpose
   * the old kernel needed, at the same cost). Threads share C's rows when A is the larger
   * operand and its columns (8 at a time) otherwise, so that each thread reads only its
   * part of the large one (Affine1's dout·Wᵀ: W, 1.7 MB, against dout's 40 kB).
   */
  private denseMatmul(
    a: WasmBlock,
    b: WasmBlock,
    out: WasmBlock,
    m: number,
    k: number,
    n: number,
    transposeA: boolean,
    transposeB: boolean,
  ): void {
    const panels = transposeB ? this.allocate(8 * k * Math.ceil(n / 8)) : null;
    if (panels) this.kernels.packPanels(b.offset, panels.offset, n, k);
    const [aRow, aCol] = transposeA ? [1, m] : [k, 1];
    const [bPtr, bRow, bPanel] = panels ? [panels.offset, 8, 8 * k] : [b.offset, n, 8];
    const byRows = m >= n;
    const shares = byRows ? this.shares(m, m * k * n) : this.shares(n, m * k * n, 8);
    this.parallel(
      shares.map(([first, count]) => [
        Job.Matmul,
        byRows
          ? [a.offset + 4 * first * aRow, bPtr, out.offset + 4 * first * n, count, k, n].concat([
              aRow,
              aCol,
              bRow,
              bPanel,
              n,
            ])
          : [a.offset, bPtr + 4 * (first / 8) * bPanel, out.offset + 4 * first, m, k, count].concat(
              [aRow, aCol, bRow, bPanel, n],
            ),
      ]),
    );
    if (panels) this.free(panels);
  }

  unary(op: UnaryOp, x: WasmBlock, size: number): WasmBlock {
    const out = this.allocate(size);
    this.kernels.unary(UNARY_OPS.indexOf(op), x.offset, out.offset, size);
    return out;
  }

  binary(op: BinaryOp, a: WasmBlock, b: WasmBlock, layout: Broadcast): WasmBlock {
    const { rows, cols, aRows, aCols, bRows, bCols } = layout;
    const out = this.allocate(rows * cols);
    // A stride of 0 repeats an operand along that axis (numpy's broadcast).
    this.kernels.binary(
      BINARY_OPS.indexOf(op),
      a.offset,
      b.offset,
      out.offset,
      rows,
      cols,
      aRows === 1 ? 0 : aCols,
      aCols === 1 ? 0 : 1,
      bRows === 1 ? 0 : bCols,
      bCols === 1 ? 0 : 1,
    );
    return out;
  }

  reduce(op: ReduceOp, x: WasmBlock, rows: number, cols: number, axis: 0 | 1): WasmBlock {
    const out = this.allocate(axis === 0 ? cols : rows);
    this.kernels.reduce(REDUCE_OPS.indexOf(op), x.offset, out.offset, rows, cols, axis);
    return out;
  }

  gatherRows(x: WasmBlock, indices: Int32Array, width: number): WasmBlock {
    const out = this.allocate(indices.length * width);
    const list = this.heap.alloc(indices.length);
    this.heap.i32.set(indices, list / 4);
    // A batch is rows scattered over the dataset (MNIST's is 188 MB): the copy waits on
    // memory, not arithmetic, and a second thread doubles the misses in flight, so it is
    // shared from a quarter of a product's threshold, batch 335 of MNIST (batch 1000: ~0.6
    // → ~0.4 ms of the step on two threads; shared at batch 100 too, it measured level).
    // Each thread's rows are the ones its share of x·W1 reads next.
    this.parallel(
      this.shares(indices.length, 4 * indices.length * width).map(([i, rows]) => [
        Job.GatherRows,
        [x.offset, out.offset + 4 * i * width, list + 4 * i, rows, width],
      ]),
    );
    this.heap.release(list, indices.length);
    return out;
  }

  gather(x: WasmBlock, { index }: GatherStorage<WasmBlock>, dims: GatherDims): WasmBlock {
    const { batch, inSize, outSize, transpose } = dims;
    const out = this.allocate(batch * outSize);
    if (transpose) {
      // a permute that is each sample transposed (a convolution's NHWC ↔ NCHW): by 4×4
      // blocks, not a value at a time through the index
      this.kernels.transpose(x.offset, out.offset, batch, transpose.rows, transpose.cols);
    } else {
      this.kernels.gather(x.offset, index.offset, out.offset, batch, inSize, outSize);
    }
    return out;
  }

  scatterAdd(values: WasmBlock, map: GatherStorage<WasmBlock>, dims: GatherDims): WasmBlock {
    const { batch, inSize, outSize } = dims;
    const out = this.allocate(batch * inSize);
    const { offsets, sources } = map;
    this.kernels.scatterAdd(
      values.offset,
      offsets.offset,
      sources.offset,
      out.offset,
      batch,
      inSize,
      outSize,
    );
    return out;
  }

  // ---- overrides: one pass where the composition takes several -----------------------------

  // The element-wise kernels of a convolution's 1.7 M values (ReLU and its backward, max
  // pooling and its backward, Adam over 432 k parameters) are shared among threads too,
  // each thread on its own range, from `threadedFrom` values (Adam: an eighth of that —
  // a dozen operations a value). Every value is computed as on one thread.

  relu(x: WasmBlock, size: number): WasmBlock {
    const out = this.allocate(size);
    this.parallel(
      this.shares(size, size).map(([i, count]) => [
        Job.Relu,
        [x.offset + 4 * i, out.offset + 4 * i, count],
      ]),
    );
    return out;
  }

  reluBackward(dout: WasmBlock, y: WasmBlock, size: number): WasmBlock {
    const dx = this.allocate(size);
    this.parallel(
      this.shares(size, size).map(([i, count]) => [
        Job.ReluBackward,
        [dout.offset + 4 * i, y.offset + 4 * i, dx.offset + 4 * i, count],
      ]),
    );
    return dx;
  }

  sigmoid(x: WasmBlock, size: number): WasmBlock {
    const out = this.allocate(size);
    this.kernels.sigmoid(x.offset, out.offset, size);
    return out;
  }

  sigmoidBackward(dout: WasmBlock, y: WasmBlock, size: number): WasmBlock {
    const dx = this.allocate(size);
    this.kernels.sigmoidBackward(dout.offset, y.offset, dx.offset, size);
    return dx;
  }

  softmaxCrossEntropy(
    x: WasmBlock,
    t: WasmBlock,
    { batch, classes, oneHot }: LabelDims,
    delta: number,
  ): [WasmBlock, WasmBlock] {
    const probs = this.allocate(batch * classes);
    const loss = this.kernels.softmaxCrossEntropy(
      x.offset,
      t.offset,
      oneHot ? 1 : 0,
      probs.offset,
      batch,
      classes,
      delta,
    );
    return [probs, this.upload([loss])];
  }

  softmaxCrossEntropyBackward(y: WasmBlock, t: WasmBlock, dims: LabelDims): WasmBlock {
    const dx = this.allocate(dims.batch * dims.classes);
    const { batch, classes, oneHot } = dims;
    this.kernels.softmaxCrossEntropyBackward(
      y.offset,
      t.offset,
      oneHot ? 1 : 0,
      dx.offset,
      batch,
      classes,
    );
    return dx;
  }

  sgdUpdate(w: WasmBlock, g: WasmBlock, size: number, learningRate: number): void {
    this.nonzeroCounts.delete(w);
    this.kernels.sgdUpdate(w.offset, g.offset, size, learningRate);
  }

  adamUpdate(
    param: WasmBlock,
    grad: WasmBlock,
    m: WasmBlock,
    v: WasmBlock,
    size: number,
    { learningRate, beta1, beta2, epsilon }: AdamStep,
  ): void {
    for (const block of [param, m, v]) this.nonzeroCounts.delete(block);
    // 1 − β as the composition has it: computed in double, then rounded to f32 on the way in
    const rates = [learningRate, 1 - beta1, 1 - beta2, epsilon].map((r) => floatBits(r));
    this.parallel(
      this.shares(size, size * 8).map(([i, count]) => [
        Job.AdamUpdate,
        [
          param.offset + 4 * i,
          grad.offset + 4 * i,
          m.offset + 4 * i,
          v.offset + 4 * i,
          count,
        ].concat(rates),
      ]),
    );
  }

  countCorrect(scores: WasmBlock, t: WasmBlock, { batch, classes, oneHot }: LabelDims): WasmBlock {
    return this.upload([
      this.kernels.countCorrect(scores.offset, t.offset, oneHot ? 1 : 0, batch, classes),
    ]);
  }

  // ---- the window kernels as loops: no map to read (7.4) -------------------------------

  im2col(x: WasmBlock, d: WindowDims): WasmBlock {
    const colsAnImage = d.outHeight * d.outWidth * patch(d); // its rows of col, as floats
    const out = this.allocate(d.batch * colsAnImage);
    // shared among threads by images, each written where one thread would write it
    const [, ...window] = windowArgs(d);
    const image = d.channels * d.height * d.width;
    this.parallel(
      this.shares(d.batch, d.batch * colsAnImage).map(([first, images]) => [
        Job.Im2col,
        [x.offset + 4 * first * image, out.offset + 4 * first * colsAnImage, images, ...window],
      ]),
    );
    return out;
  }

  col2im(col: WasmBlock, d: WindowDims): WasmBlock {
    const out = this.allocate(d.batch * d.channels * d.height * d.width);
    this.kernels.col2im(col.offset, out.offset, ...windowArgs(d));
    return out;
  }

  /**
   * The convolution straight from the images (assembly's `convolution`): no im2col, no
   * product of K = 25, no bias pass, no transpose. Stride 1 only; core composes the rest.
   * Shared among threads by images.
   */
  convolution(
    x: WasmBlock,
    w: WasmBlock,
    bias: WasmBlock,
    d: WindowDims,
    filters: number,
  ): WasmBlock | undefined {
    if (d.stride !== 1) return undefined;
    const out = this.allocate(d.batch * filters * d.outHeight * d.outWidth);
    const work = d.batch * filters * d.outHeight * d.outWidth * patch(d);
    this.withConvolutionDims(d, filters, (dims, padded) => {
      const shares = this.shares(d.batch, work);
      this.withBlocks(
        shares.map(() => padded),
        (scratch) =>
          this.parallel(
            shares.map(([first, images], s) => [
              Job.Convolution,
              [x.offset, w.offset, bias.offset, out.offset, first, images, dims].concat([
                scratch[s] as number,
              ]),
            ]),
          ),
      );
    });
    return out;
  }

  /**
   * dW and db straight from the images and dout in its own layout (assembly's
   * `convolutionGradients`). Stride 1 only. Shared among threads by filters, so each sum
   * runs in one order on any thread count.
   */
  convolutionGradients(
    x: WasmBlock,
    dout: WasmBlock,
    d: WindowDims,
    filters: number,
  ): [WasmBlock, WasmBlock] | undefined {
    if (d.stride !== 1) return undefined;
    const taps = patch(d);
    const [dw, db] = [this.allocate(filters * taps), this.allocate(filters)];
    const work = d.batch * filters * d.outHeight * d.outWidth * taps;
    this.withConvolutionDims(d, filters, (dims, padded) => {
      const shares = this.shares(filters, work);
      // a vector of partial sums for each tap and the bias, for each of a share's filters,
      // then each tap's offset in the image (an int32 each)
      const sums = shares.map(([, count]) => 4 * count * (taps + 1));
      this.withBlocks(
        sums.map((floats) => padded + floats + taps),
        (scratch) =>
          this.parallel(
            shares.map(([first, count], s) => [
              Job.ConvolutionGradients,
              [x.offset, dout.offset, dw.offset, db.offset, first, count, dims].concat([
                scratch[s] as number,
                (scratch[s] as number) + 4 * padded,
              ]),
            ]),
          ),
      );
    });
    return [dw, db];
  }

  /** Runs `run` with a block of `sizes[s]` floats for each thread's share s, released after. */
  private withBlocks(sizes: number[], run: (blocks: number[]) => void): void {
    const blocks = sizes.map((count) => this.heap.alloc(count));
    try {
      run(blocks);
    } finally {
      blocks.forEach((block, s) => {
        this.heap.release(block, sizes[s] as number);
      });
    }
  }

  /** Runs `run` with the ten int32 dims the convolution kernels read, and a padded image's floats. */
  private withConvolutionDims(
    d: WindowDims,
    filters: number,
    run: (dims: number, padded: number) => void,
  ): void {
    const dims = this.heap.alloc(10);
    this.heap.i32.set(
      [d.batch, d.channels, d.height, d.width, d.windowHeight, d.windowWidth, d.pad].concat([
        d.outHeight,
        d.outWidth,
        filters,
      ]),
      dims / 4,
    );
    // the image with its zeros around, and 4 floats a last row's vector may reach
    const padded = d.channels * (d.height + 2 * d.pad) * (d.width + 2 * d.pad) + 4;
    try {
      run(dims, padded);
    } finally {
      this.heap.release(dims, 10);
    }
  }

  maxPool(x: WasmBlock, d: WindowDims): [WasmBlock, WasmBlock] {
    const windows = d.batch * d.channels * d.outHeight * d.outWidth;
    const [out, argmax] = [this.allocate(windows), this.allocate(windows)];
    const [image, pooled] = [d.channels * d.height * d.width, windows / d.batch];
    const [, ...window] = windowArgs(d);
    this.parallel(
      this.shares(d.batch, d.batch * image).map(([first, images]) => [
        Job.MaxPool,
        [x.offset + 4 * first * image, out.offset + 4 * first * pooled].concat([
          argmax.offset + 4 * first * pooled,
          images,
          ...window,
        ]),
      ]),
    );
    return [out, argmax];
  }

  maxPoolBackward(dout: WasmBlock, argmax: WasmBlock, d: WindowDims): WasmBlock {
    const dx = this.allocate(d.batch * d.channels * d.height * d.width);
    const image = d.channels * d.height * d.width;
    const pooled = d.channels * d.outHeight * d.outWidth;
    const [, ...window] = windowArgs(d);
    this.parallel(
      this.shares(d.batch, d.batch * image).map(([first, images]) => [
        Job.MaxPoolBackward,
        [dout.offset + 4 * first * pooled, argmax.offset + 4 * first * pooled].concat([
          dx.offset + 4 * first * image,
          images,
          ...window,
        ]),
      ]),
    );
    return dx;
  }

  // ---- helpers ------------------------------------------------------------------------

  /** [first row, rows] of each thread's share of m rows; one share below `threadedFrom`. */
  private shares(m: number, work: number, multiple = 4): [number, number][] {
    const threads = work >= this.threadedFrom ? this.threads : 1;
    const size = Math.ceil(m / threads / multiple) * multiple;
    const shares: [number, number][] = [];
    for (let i = 0; i < m; i += size) shares.push([i, Math.min(size, m - i)]);
    return shares.length > 0 ? shares : [[0, 0]];
  }

  /** Runs the first share on this thread and the others on the helpers. */
  private parallel(shares: [Job, number[]][]): void {
    const [op, args] = shares[0] as [Job, number[]];
    const here = () => this.call(op, args);
    if (shares.length === 1 || !this.pool) here();
    else this.pool.run(shares, here);
  }

  private call(op: Job, args: number[]): void {
    const [a, b, c, m, k, n, x, y] = args;
    const kernels = this.kernels;
    if (op === Job.Matmul)
      kernels.matmul(a!, b!, c!, m!, k!, n!, x!, y!, args[8]!, args[9]!, args[10]!);
    else if (op === Job.Im2col) kernels.im2col(a!, b!, ...args.slice(2));
    else if (op === Job.MatmulSparseA) kernels.matmulSparseA(a!, b!, c!, m!, k!, n!, x!, y!);
    else if (op === Job.Relu) kernels.relu(a!, b!, c!);
    else if (op === Job.ReluBackward) kernels.reluBackward(a!, b!, c!, m!);
    else if (op === Job.AdamUpdate) {
      const [lr, r1, r2, epsilon] = args.slice(5).map(bitsFloat) as [
        number,
        number,
        number,
        number,
      ];
      kernels.adamUpdate(a!, b!, c!, m!, k!, lr, r1, r2, epsilon);
    } else if (op === Job.MaxPool) kernels.maxPool(a!, b!, c!, ...args.slice(3));
    else if (op === Job.MaxPoolBackward) kernels.maxPoolBackward(a!, b!, c!, ...args.slice(3));
    else if (op === Job.Convolution) kernels.convolution(a!, b!, c!, m!, k!, n!, x!, y!);
    else if (op === Job.ConvolutionGradients)
      kernels.convolutionGradients(a!, b!, c!, m!, k!, n!, x!, y!, args[8]!);
    else if (op === Job.MatmulSparseATInto) kernels.matmulSparseATInto(a!, b!, c!, m!, k!, n!, x!);
    else if (op === Job.GatherRows) kernels.gatherRows(a!, b!, c!, m!, k!);
    else if (op === Job.PeakMadd) kernels.peakMadd(a!, b! / 1e6, c! / 1e6);
    else kernels.matmulSparseAT(a!, b!, c!, m!, k!, n!, x!, y!, args[8]!);
  }

  private allocate(count: number): WasmBlock {
    return { offset: this.heap.alloc(count), count };
  }

  /**
   * How many of A's values are not 0, counted where the sparse kernels could pay: they
   * skip zeros but give up the 4-row register block, which measured faster only past about
   * half zeros (and only for products worth it). Estimated from a sample, once per block:
   * x feeds two products a step, and a block's values change only through write and the
   * updates.
   */
  private nonzeros(a: WasmBlock, count: number): number {
    if (count < 4096) return count;
    let found = this.nonzeroCounts.get(a);
    if (found === undefined) {
      // A sample decides as well as every value: the count only picks the path and the
      // threads' shares, by the data alone (never by the thread count). Counting all of a
      // batch's 78 400 pixels took 14 µs of a 0.3 ms step; ~2 048 evenly spread, ~1.
      const vectors = Math.floor(count / 4);
      const step = Math.max(1, Math.floor(vectors / SAMPLED_VECTORS));
      const zeros = this.kernels.countZeros(a.offset, vectors, step);
      found = Math.round(count * (1 - zeros / (4 * Math.ceil(vectors / step))));
      this.nonzeroCounts.set(a, found);
    }
    return found;
  }

  /** b [rows, cols] laid out as bᵀ [cols, rows] in a temporary block. */
  private transposed(b: WasmBlock, rows: number, cols: number): WasmBlock {
    const out = this.allocate(rows * cols);
    this.kernels.transpose(b.offset, out.offset, 1, rows, cols);
    return out;
  }
}

/**
 * Rows of A from which a sparse aᵀ·b is summed in two halves (see `sparseATInHalves`):
 * MNIST batches of 512 and more.
 */
const HALVED_FROM_ROWS = 512;

/** Vectors of A whose zeros stand for all of A's (see `nonzeros`). */
const SAMPLED_VECTORS = 512;

/**
 * Floats of C up to which a sparse aᵀ·b adds each nonzero's row of B into C (16 kB: it
 * stays in the first cache) rather than summing C's rows from lists of A's columns.
 */
const SMALL_C = 4096;

/**
 * (offset, value) pairs the sparse kernels list before they sum (each thread's own): 128 kB
 * of them, so that they stay in the core's cache, or what one listing step needs at least.
 */
function listCapacity(atLeast: number): number {
  return Math.max(16_384, atLeast);
}

/** Values in one window position's row of im2col: C·FH·FW. */
function patch(d: WindowDims): number {
  return d.channels * d.windowHeight * d.windowWidth;
}

/** A window's numbers in the order the kernels take them. */
function windowArgs(d: WindowDims): number[] {
  return [
    d.batch,
    d.channels,
    d.height,
    d.width,
    d.windowHeight,
    d.windowWidth,
    d.stride,
    d.pad,
    d.outHeight,
    d.outWidth,
  ];
}

/** The wasm backend: `await WasmBackend.create({ threads, build })`. */
export class WasmBackend extends Backend<WasmKernels> {
  /**
   * Compiles the module (once per process and build) and starts an instance; with more
   * than one thread, on a shared memory with helper threads (ended by `close()`).
   */
  static async create(options: WasmOptions = {}): Promise<WasmBackend> {
    refuseUnknownKeys('WasmBackend.create options', options, ['threads', 'build', 'threadedFrom']);
    if (!wasmSimdSupported()) {
      throw new BackendError(
        'wasm: this engine has no WebAssembly SIMD (f32x4); use the cpu backend (@backprop/backend-cpu) or tfjs-wasm instead',
      );
    }
    const relaxed = relaxedSimd();
    const build = options.build ?? (relaxed ? 'relaxed' : 'simd');
    if (build !== 'simd' && build !== 'relaxed') {
      throw new BackendError(`wasm: unknown build '${String(build)}'; builds: simd, relaxed`);
    }
    if (build === 'relaxed' && !relaxed) {
      throw new BackendError(
        'wasm: this engine has no relaxed SIMD (Node 22+ and Chromium have it; Node 20 only with --experimental-wasm-relaxed-simd); use build: simd',
      );
    }
    const canShare = ThreadPool.canBlock();
    const threads = options.threads ?? (canShare ? await defaultThreads() : 1);
    if (!Number.isInteger(threads) || threads < 1) {
      throw new BackendError(`wasm: threads must be a whole number >= 1, got ${threads}`);
    }
    if (threads > 1 && !canShare) {
      throw new BackendError(
        'wasm: threads > 1 need SharedArrayBuffer and a thread that may wait (Node, or a worker of a cross-origin isolated page); use threads: 1 here',
      );
    }
    const shared = threads > 1;
    const abort = () => {
      throw new BackendError('wasm: a kernel aborted (a bug: please report it)');
    };
    const module = await compile(build, shared);
    if (!shared) {
      const instance = await WebAssembly.instantiate(module, { env: { abort } });
      return new WasmBackend(new WasmKernels(instance.exports as unknown as Kernels, build, null));
    }
    const memory = new WebAssembly.Memory({ initial: 2, maximum: 65536, shared: true });
    const instance = await WebAssembly.instantiate(module, { env: { memory, abort } });
    const pool = await ThreadPool.start(threads - 1, module, memory);
    const kernels = instance.exports as unknown as Kernels;
    return new WasmBackend(new WasmKernels(kernels, build, pool, options.threadedFrom));
  }
}

function compile(build: WasmBuild, shared: boolean): Promise<WebAssembly.Module> {
  const key = `${build}-${shared}`;
  let module = compiled.get(key);
  if (!module) {
    module = WebAssembly.compile(decodeBase64(MODULES[build][shared ? 'shared' : 'own']));
    compiled.set(key, module);
  }
  return module;
}

/** Whether this engine validates the relaxed-SIMD module (asked each time: a flag may turn it on). */
function relaxedSimd(): boolean {
  return WebAssembly.validate(decodeBase64(KERNELS_RELAXED));
}

/** The cores this process may use. */
async function defaultThreads(): Promise<number> {
  if (typeof process === 'object' && typeof process.versions?.node === 'string') {
    const os = await import('node:os');
    return os.availableParallelism?.() ?? os.cpus().length;
  }
  return (
    (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator
      ?.hardwareConcurrency ?? 1
  );
}

function decodeBase64(text: string): Uint8Array<ArrayBuffer> {
  const binary = atob(text); // in Node too (since 16) and every browser
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}
