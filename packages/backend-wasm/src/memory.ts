/**
 * The backend's allocator over the module's linear memory. Training asks for the same
 * sizes every iteration, so freed blocks go to a free list per size and are handed out
 * again: after the first iteration the memory stops growing. Blocks are 16-byte aligned
 * for v128 loads.
 */
const FIRST_BLOCK = 65_536; // page 0 holds the module's own constants
const PAGE = 65_536;
const SLACK = 16;

export class LinearMemory {
  private top = FIRST_BLOCK;
  private readonly free = new Map<number, number[]>();
  private inUse = 0;
  private view: Float32Array;
  private ints: Int32Array;

  constructor(private readonly memory: WebAssembly.Memory) {
    this.view = new Float32Array(memory.buffer);
    this.ints = new Int32Array(memory.buffer);
  }

  /** A block of `count` float32s; returns its byte offset. */
  alloc(count: number): number {
    const bytes = Math.max(16, Math.ceil((count * 4) / 16) * 16);
    this.inUse += bytes;
    const reused = this.free.get(bytes)?.pop();
    if (reused !== undefined) return reused;
    const offset = this.top;
    this.top += bytes;
    // Keep SLACK bytes past the last block: vector kernels may read (never write) a few
    // lanes past the end of a row.
    if (this.top + SLACK > this.memory.buffer.byteLength) {
      this.memory.grow(Math.ceil((this.top + SLACK - this.memory.buffer.byteLength) / PAGE));
    }
    return offset;
  }

  release(offset: number, count: number): void {
    const bytes = Math.max(16, Math.ceil((count * 4) / 16) * 16);
    this.inUse -= bytes;
    const list = this.free.get(bytes);
    if (list) list.push(offset);
    else this.free.set(bytes, [offset]);
  }

  /** The memory as float32s; a new view after the memory grew (growing detaches the old). */
  get f32(): Float32Array {
    if (this.view.buffer !== this.memory.buffer) {
      this.view = new Float32Array(this.memory.buffer);
      this.ints = new Int32Array(this.memory.buffer);
    }
    return this.view;
  }

  /** The same memory as int32s (row indices for gatherRows). */
  get i32(): Int32Array {
    this.f32;
    return this.ints;
  }

  /** Bytes of linear memory the module holds: what must not grow over training. */
  get totalBytes(): number {
    return this.memory.buffer.byteLength;
  }

  /** Bytes in blocks that are allocated now. */
  get bytesInUse(): number {
    return this.inUse;
  }
}
