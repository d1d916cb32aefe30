/// <reference types="@webgpu/types" />
/**
 * The kernels as WGSL compute shaders (shaders.ts). A tensor's values live in a storage
 * buffer on the device from upload to free; kernels are recorded into one command
 * encoder and submitted together when something must leave the device (a read) or enter
 * it (an upload), so a training step is a few submits, not one a kernel. Buffers come
 * from a pool keyed by size: after a warm-up, training allocates nothing.
 */
import {
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
  type ReduceOp,
  refuseUnknownKeys,
  type UnaryOp,
} from '@backprop/core';
import { acquireDevice, type DeviceOptions, type WebgpuDevice } from './device.js';
import {
  binaryShader,
  correctRowsShader,
  gatherByMapShader,
  gatherShader,
  matmulByRowsShader,
  matmulShader,
  reduceShader,
  reluBackwardShader,
  reluShader,
  scatterAddShader,
  sgdShader,
  sigmoidBackwardShader,
  sigmoidShader,
  softmaxBackwardShader,
  softmaxShader,
  sumShader,
  unaryShader,
  WIDTH,
} from './shaders.js';

/** A tensor's values: a storage buffer of at least `count` float32s. */
export interface WebgpuStorage {
  /** @internal (a GPUBuffer: kept out of the published types, see WebgpuDevice) */
  readonly buffer: GPUBuffer;
  readonly count: number;
}

const STORAGE_USAGE = 0x80 | 0x4 | 0x8; // STORAGE | COPY_SRC | COPY_DST
const UNIFORM_SLOT = 256; // minUniformBufferOffsetAlignment
const UNIFORM_SLOTS = 256;
const MAX_PENDING = 128;

export interface WebgpuBackendOptions extends DeviceOptions {}

export class WebgpuKernels implements KernelBackend<WebgpuStorage> {
  readonly name = 'webgpu';
  readonly dtype: DType = 'float32';
  readonly description: string;
  /** A lost device (a driver reset, a closed backend): every call after says so. */
  private lost: string | null = null;
  /** The first error the device reported (a shader that does not compile, …). */
  private failure: string | undefined;
  private readonly pipelines = new Map<string, GPUComputePipeline>();
  /** Free buffers by size in bytes, ready to be handed out again. */
  private readonly pool = new Map<number, GPUBuffer[]>();
  private readonly readPool = new Map<number, GPUBuffer[]>();
  private buffers = 0;
  private bytes = 0;
  private encoder: GPUCommandEncoder | null = null;
  private pending = 0;
  private readonly uniforms: GPUBuffer;
  private uniformSlot = 0;

  /** The matrix product's tile: 16 on a GPU, 8 on a software adapter (see matmulShader). */
  private readonly tile: 8 | 16;
  /** A software adapter's product reads by rows, without workgroup memory (matmulByRowsShader). */
  private readonly software: boolean;

  private readonly device: GPUDevice;

  constructor(
    device: WebgpuDevice,
    /** The adapter, for a person: vendor, architecture, and whether it is software. */
    readonly adapter: string,
    software = false,
    /** Dawn's instance in Node: referenced here so the garbage collector leaves it (see AcquiredDevice). */
    private readonly keepAlive: unknown = null,
  ) {
    this.device = device as unknown as GPUDevice; // the published types name no GPU type
    this.description = `webgpu: WGSL compute shaders on ${adapter}, float32`;
    this.tile = software ? 8 : 16;
    this.software = software;
    this.uniforms = this.device.createBuffer({
      size: UNIFORM_SLOT * UNIFORM_SLOTS,
      usage: 0x40 | 0x8, // UNIFORM | COPY_DST
    });
    void this.device.lost.then((info) => {
      this.lost = info.message || info.reason || 'unknown';
    });
    // A GPU reports a bad shader or command when it gets to it, not when it is called:
    // the first such error is kept and thrown from the next read, never passed over.
    this.device.onuncapturederror = (event) => {
      this.failure ??= event.error.message.split('\n')[0];
    };
  }

  /** Buffers the backend holds (in use and pooled) and their bytes: flat over training. */
  resources(): Record<string, number> {
    return { buffers: this.buffers, bytes: this.bytes };
  }

  // ---- storage -------------------------------------------------------------------------

  upload(values: ArrayLike<number>): WebgpuStorage {
    const data = this.allocate(values.length);
    this.write(data, values, 0);
    return data;
  }

  async download(data: WebgpuStorage, size: number): Promise<FloatArray> {
    this.alive('read');
    const bytes = Math.max(4, size * 4);
    const roundedBytes = sizeClass(bytes);
    const staging =
      this.readPool.get(roundedBytes)?.pop() ??
      this.track(this.device.createBuffer({ size: roundedBytes, usage: 0x1 | 0x8 })); // MAP_READ | COPY_DST
    this.commands().copyBufferToBuffer(data.buffer, 0, staging, 0, roundedBytes);
    this.flush();
    try {
      await staging.mapAsync(0x1); // READ
    } catch (error) {
      this.alive('read');
      throw new BackendError(`webgpu: reading a tensor back failed: ${(error as Error).message}`);
    }
    const values = new Float32Array(staging.getMappedRange(0, roundedBytes).slice(0, bytes));
    staging.unmap();
    this.give(this.readPool, staging);
    if (this.failure) {
      throw new BackendError(
        `webgpu: the device refused a command, so this value is not to be trusted: ${this.failure}`,
      );
    }
    return values.subarray(0, size);
  }

  write(data: WebgpuStorage, values: ArrayLike<number>, offset: number): void {
    this.alive('write');
    // A queue write runs before commands still in the encoder, which may read this buffer's
    // old values (it may have been freed and handed out again): send those first.
    this.flush();
    const floats = values instanceof Float32Array ? values : Float32Array.from(values);
    this.device.queue.writeBuffer(
      data.buffer,
      offset * 4,
      floats.buffer,
      floats.byteOffset,
      floats.byteLength,
    );
  }

  free(data: WebgpuStorage): void {
    this.give(this.pool, data.buffer);
  }

  close(): void {
    this.flush();
    this.lost = 'the backend was closed';
    this.device.destroy();
  }

  // ---- primitives ----------------------------------------------------------------------

  matmul(a: WebgpuStorage, b: WebgpuStorage, { m, k, n, transposeA, transposeB }: MatmulDims) {
    const c = this.allocate(m * n);
    const tile = this.tile;
    const uniform = [m, k, n, transposeA ? 1 : 0, transposeB ? 1 : 0];
    if (this.software) {
      const groups: [number, number] = [Math.ceil(n / 4 / tile), Math.ceil(m / tile)];
      this.run('matmulByRows', matmulByRowsShader(tile), [a, b, c], uniform, groups);
      return c;
    }
    const groups: [number, number] = [Math.ceil(n / tile), Math.ceil(m / tile)];
    this.run('matmul', matmulShader(tile), [a, b, c], uniform, groups);
    return c;
  }

  unary(op: UnaryOp, x: WebgpuStorage, size: number): WebgpuStorage {
    return this.map(`unary-${op}`, unaryShader(op), [x], size);
  }

  binary(op: BinaryOp, a: WebgpuStorage, b: WebgpuStorage, layout: Broadcast): WebgpuStorage {
    const { rows, cols, aRows, aCols, bRows, bCols } = layout;
    const out = this.allocate(rows * cols);
    // A stride of 0 repeats an operand along that axis (numpy's broadcast).
    const uniform = [
      rows * cols,
      cols,
      aRows === 1 ? 0 : aCols,
      aCols === 1 ? 0 : 1,
      bRows === 1 ? 0 : bCols,
      bCols === 1 ? 0 : 1,
    ];
    this.run(
      `binary-${BINARY_OPS.indexOf(op)}`,
      binaryShader(op),
      [a, b, out],
      uniform,
      grid(rows * cols, WIDTH),
    );
    return out;
  }

  reduce(op: ReduceOp, x: WebgpuStorage, rows: number, cols: number, axis: 0 | 1): WebgpuStorage {
    const [outputs, inner, outerStride, innerStride] =
      axis === 0 ? [cols, rows, 1, cols] : [rows, cols, cols, 1];
    const out = this.allocate(outputs);
    this.run(
      `reduce-${op}`,
      reduceShader(op),
      [x, out],
      [outputs, inner, outerStride, innerStride],
      grid(outputs, WIDTH),
    );
    return out;
  }

  gatherRows(x: WebgpuStorage, indices: Int32Array, width: number): WebgpuStorage {
    const out = this.allocate(indices.length * width);
    const rows = this.allocate(indices.length);
    this.flush(); // see write
    this.device.queue.writeBuffer(rows.buffer, 0, Uint32Array.from(indices));
    this.run(
      'gather',
      gatherShader,
      [x, rows, out],
      [indices.length * width, width],
      grid(indices.length * width, WIDTH),
    );
    this.free(rows);
    return out;
  }

  gather(x: WebgpuStorage, { index }: GatherStorage<WebgpuStorage>, dims: GatherDims) {
    const size = dims.batch * dims.outSize;
    const out = this.allocate(size);
    const uniform = [size, dims.inSize, dims.outSize];
    this.run('gatherByMap', gatherByMapShader, [x, index, out], uniform, grid(size, WIDTH));
    return out;
  }

  scatterAdd(values: WebgpuStorage, map: GatherStorage<WebgpuStorage>, dims: GatherDims) {
    const size = dims.batch * dims.inSize;
    const out = this.allocate(size);
    const uniform = [size, dims.inSize, dims.outSize];
    const buffers = [values, map.offsets, map.sources, out];
    this.run('scatterAdd', scatterAddShader, buffers, uniform, grid(size, WIDTH));
    return out;
  }

  // ---- overrides: one pass where core's composition takes several ------------------------

  relu(x: WebgpuStorage, size: number): WebgpuStorage {
    return this.map('relu', reluShader, [x], size);
  }

  reluBackward(dout: WebgpuStorage, y: WebgpuStorage, size: number): WebgpuStorage {
    return this.map('reluBackward', reluBackwardShader, [dout, y], size);
  }

  sigmoid(x: WebgpuStorage, size: number): WebgpuStorage {
    return this.map('sigmoid', sigmoidShader, [x], size);
  }

  sigmoidBackward(dout: WebgpuStorage, y: WebgpuStorage, size: number): WebgpuStorage {
    return this.map('sigmoidBackward', sigmoidBackwardShader, [dout, y], size);
  }

  softmax(x: WebgpuStorage, rows: number, cols: number): WebgpuStorage {
    const probs = this.allocate(rows * cols);
    this.run('softmax', softmaxShader(false), [x, probs], [rows, cols, 0, 0], grid(rows, WIDTH));
    return probs;
  }

  softmaxCrossEntropy(
    x: WebgpuStorage,
    t: WebgpuStorage,
    { batch, classes, oneHot }: LabelDims,
    delta: number,
  ): [WebgpuStorage, WebgpuStorage] {
    const probs = this.allocate(batch * classes);
    const rowLoss = this.allocate(batch);
    const uniform = [batch, classes, oneHot ? 1 : 0, f32(delta)];
    this.run(
      'softmaxLoss',
      softmaxShader(true),
      [x, probs, t, rowLoss],
      uniform,
      grid(batch, WIDTH),
      [0, 1, 3, 4, 2],
    );
    const loss = this.sum(rowLoss, batch, 1 / batch);
    this.free(rowLoss);
    return [probs, loss];
  }

  softmaxCrossEntropyBackward(y: WebgpuStorage, t: WebgpuStorage, dims: LabelDims): WebgpuStorage {
    const size = dims.batch * dims.classes;
    const out = this.allocate(size);
    const uniform = [size, dims.classes, dims.oneHot ? 1 : 0, f32(dims.batch)];
    this.run('softmaxBackward', softmaxBackwardShader, [y, t, out], uniform, grid(size, WIDTH));
    return out;
  }

  sgdUpdate(w: WebgpuStorage, g: WebgpuStorage, size: number, learningRate: number): void {
    this.run('sgd', sgdShader, [w, g], [size, f32(learningRate)], grid(size, WIDTH));
  }

  countCorrect(scores: WebgpuStorage, t: WebgpuStorage, { batch, classes, oneHot }: LabelDims) {
    const rows = this.allocate(batch);
    this.run(
      'correctRows',
      correctRowsShader,
      [scores, t, rows],
      [batch, classes, oneHot ? 1 : 0],
      grid(batch, WIDTH),
    );
    const count = this.sum(rows, batch, 1);
    this.free(rows);
    return count;
  }

  // ---- helpers ------------------------------------------------------------------------

  /** An element-wise kernel over `size` values into a new buffer. */
  private map(key: string, code: string, inputs: WebgpuStorage[], size: number): WebgpuStorage {
    const out = this.allocate(size);
    this.run(key, code, [...inputs, out], [size, 0], grid(size, WIDTH));
    return out;
  }

  private sum(x: WebgpuStorage, count: number, scale: number): WebgpuStorage {
    const out = this.allocate(1);
    this.run('sum', sumShader, [x, out], [count, f32(scale)], [1, 1]);
    return out;
  }

  /**
   * Records one dispatch: the buffers bound in order (`order` rearranges them when the
   * uniform is not last in the shader), then the uniform's values (u32, or f32 through
   * `f32()`) at the next binding.
   */
  private run(
    key: string,
    code: string,
    buffers: WebgpuStorage[],
    uniform: number[],
    groups: [number, number],
    order?: number[],
  ): void {
    this.alive(key);
    if (this.uniformSlot === UNIFORM_SLOTS || this.pending >= MAX_PENDING) this.flush();
    const pipeline = this.pipeline(key, code);
    const slot = this.uniformSlot++ * UNIFORM_SLOT;
    const words = new Uint32Array(uniform.length);
    for (const [i, value] of uniform.entries()) words[i] = value;
    // floats were packed as their bits by f32(): see below
    this.device.queue.writeBuffer(this.uniforms, slot, words);
    const resources: GPUBindingResource[] = buffers.map((b) => ({ buffer: b.buffer }));
    resources.push({ buffer: this.uniforms, offset: slot, size: UNIFORM_SLOT });
    const bindings = order ?? resources.map((_, i) => i);
    const bindGroup = this.device.createBindGroup({
      layout: pipeline.getBindGroupLayout(0),
      entries: bindings.map((binding, i) => ({ binding, resource: resources[i] })),
    });
    const pass = this.commands().beginComputePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bindGroup);
    pass.dispatchWorkgroups(groups[0], groups[1]);
    pass.end();
    this.pending++;
  }

  private pipeline(key: string, code: string): GPUComputePipeline {
    let pipeline = this.pipelines.get(key);
    if (!pipeline) {
      pipeline = this.device.createComputePipeline({
        layout: 'auto',
        compute: { module: this.device.createShaderModule({ code }), entryPoint: 'main' },
      });
      this.pipelines.set(key, pipeline);
    }
    return pipeline;
  }

  private commands(): GPUCommandEncoder {
    this.encoder ??= this.device.createCommandEncoder();
    return this.encoder;
  }

  /** Sends what was recorded; uniform slots can be reused after it. */
  private flush(): void {
    if (this.encoder) {
      this.device.queue.submit([this.encoder.finish()]);
      this.encoder = null;
    }
    this.pending = 0;
    this.uniformSlot = 0;
  }

  private allocate(count: number): WebgpuStorage {
    const bytes = sizeClass(count * 4);
    const buffer =
      this.pool.get(bytes)?.pop() ??
      this.track(this.device.createBuffer({ size: bytes, usage: STORAGE_USAGE }));
    return { buffer, count };
  }

  private track(buffer: GPUBuffer): GPUBuffer {
    this.buffers++;
    this.bytes += buffer.size;
    return buffer;
  }

  private give(pool: Map<number, GPUBuffer[]>, buffer: GPUBuffer): void {
    const list = pool.get(buffer.size);
    if (list) list.push(buffer);
    else pool.set(buffer.size, [buffer]);
  }

  private alive(where: string): void {
    if (this.lost !== null) {
      throw new BackendError(
        `webgpu: ${where}: the GPU device is gone (${this.lost}); create a new backend`,
      );
    }
  }
}

/** The WebGPU backend: `await WebgpuBackend.create()`. */
export class WebgpuBackend extends Backend<WebgpuKernels> {
  /**
   * A device on the best adapter: the browser's `navigator.gpu`, or in Node the npm
   * package `webgpu` (Dawn): a real GPU first, else SwiftShader where it is installed.
   */
  static async create(options: WebgpuBackendOptions = {}): Promise<WebgpuBackend> {
    refuseUnknownKeys('WebgpuBackend.create options', options, [
      'device',
      'powerPreference',
      'swiftshader',
    ]);
    const { device, adapter, software, keepAlive } = await acquireDevice(options);
    return new WebgpuBackend(new WebgpuKernels(device, adapter, software, keepAlive));
  }
}

/** Workgroups for `count` invocations, `size` a workgroup, on a 2-D grid (65 535 a dimension at most). */
function grid(count: number, size: number): [number, number] {
  const groups = Math.max(1, Math.ceil(count / size));
  const x = Math.min(groups, 65_535);
  return [x, Math.ceil(groups / x)];
}

/** A float for a uniform slot that the shader reads as f32: its bits as a u32. */
function f32(value: number): number {
  return new Uint32Array(Float32Array.of(value).buffer)[0];
}

/**
 * The pool's size for a buffer of at least `bytes`: multiples of 256 up to 4 KiB, then
 * four steps a power of two (so at most a quarter is wasted). A few classes instead of
 * every size there is: a pool that keeps every size it was asked for grows without end
 * when the sizes vary (batches, evaluation chunks).
 */
function sizeClass(bytes: number): number {
  if (bytes <= 4096) return Math.max(256, Math.ceil(bytes / 256) * 256);
  const step = 2 ** Math.floor(Math.log2(bytes)) / 4;
  return Math.ceil(bytes / step) * step;
}
