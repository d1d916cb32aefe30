import {
  addBiasShape,
  type Backend,
  BackendError,
  CROSS_ENTROPY_DELTA,
  checkClassIndices,
  checkLearningRate,
  checkReshape,
  checkSameShape,
  checkTensorValues,
  checkWrite,
  type DType,
  type FloatArray,
  gatherShape,
  type Labels,
  labelsShape,
  type MatmulOptions,
  matmulShape,
  matrixShape,
  ownTensor,
  type Shape,
  type SoftmaxCrossEntropyResult,
  sizeOf,
  type Tensor,
} from '@backprop/core';
import { KERNELS_WASM_BASE64 } from './generated/kernels-wasm.js';
import { LinearMemory } from './memory.js';

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
    rowStride: number,
    colStride: number,
  ): void;
  countZeros(x: number, count: number): number;
  matmulSparseA(
    a: number,
    b: number,
    c: number,
    m: number,
    k: number,
    n: number,
    list: number,
  ): void;
  matmulSparseAT(a: number, b: number, c: number, m: number, k: number, n: number): void;
  transpose(src: number, dst: number, rows: number, cols: number): void;
  gatherRows(src: number, dst: number, indices: number, count: number, width: number): void;
  addBias(x: number, bias: number, out: number, m: number, n: number): void;
  sumColumns(x: number, out: number, m: number, n: number): void;
  add(a: number, b: number, out: number, count: number): void;
  mul(a: number, b: number, out: number, count: number): void;
  relu(x: number, out: number, count: number): void;
  reluBackward(dout: number, out: number, dx: number, count: number): void;
  sigmoid(x: number, out: number, count: number): void;
  sigmoidBackward(dout: number, out: number, dx: number, count: number): void;
  sgdUpdate(w: number, g: number, count: number, learningRate: number): void;
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

/** A block of linear memory, shared by a tensor and its reshapes; freed with the last. */
class Storage {
  refs = 1;
  constructor(
    readonly offset: number,
    readonly count: number,
  ) {}
}

class WasmTensor implements Tensor {
  readonly dtype: DType = 'float32';
  disposed = false;
  constructor(
    readonly shape: Shape,
    readonly storage: Storage,
    readonly owner: WasmBackend,
  ) {}
  get ptr(): number {
    return this.storage.offset;
  }
}

// The smallest module that uses a v128 instruction: validates only where SIMD exists.
const SIMD_PROBE = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 10, 1, 8, 0, 65, 0, 253, 15,
  253, 98, 11,
]);

let compiled: Promise<WebAssembly.Module> | null = null;

/**
 * The kernels in hand-written WebAssembly SIMD (assembly/index.ts). Data lives in the
 * module's linear memory; a tensor is an offset there, owned by this backend's
 * allocator. float32 only.
 */
export class WasmBackend implements Backend {
  readonly name = 'wasm';
  readonly dtype: DType = 'float32';
  readonly description = 'wasm: hand-written WebAssembly SIMD (f32x4), float32, 1 thread';
  private live = 0;
  private readonly heap: LinearMemory;

  private constructor(private readonly kernels: Kernels) {
    this.heap = new LinearMemory(kernels.memory);
  }

  /** Compiles the module (once per process) and starts an instance with its own memory. */
  static async create(): Promise<WasmBackend> {
    if (typeof WebAssembly !== 'object' || !WebAssembly.validate(SIMD_PROBE)) {
      throw new BackendError(
        'wasm: this engine has no WebAssembly SIMD (f32x4); use the cpu backend (@backprop/backend-cpu) or tfjs-wasm instead',
      );
    }
    compiled ??= WebAssembly.compile(decodeBase64(KERNELS_WASM_BASE64));
    const instance = await WebAssembly.instantiate(await compiled, {
      env: {
        abort: () => {
          throw new BackendError('wasm: a kernel aborted (a bug: please report it)');
        },
      },
    });
    return new WasmBackend(instance.exports as unknown as Kernels);
  }

  /** Bytes of linear memory: constant once training has run an iteration. */
  memoryBytes(): number {
    return this.heap.totalBytes;
  }

  /** Bytes in allocated blocks now. */
  bytesInUse(): number {
    return this.heap.bytesInUse;
  }

  // ---- data ---------------------------------------------------------------------------

  tensor(values: ArrayLike<number>, shape: Shape): Tensor {
    checkTensorValues(values, shape);
    const t = this.allocate(shape);
    this.heap.f32.set(values, t.ptr / 4);
    return t;
  }

  async read(t: Tensor): Promise<FloatArray> {
    return this.readSync(t);
  }

  readSync(t: Tensor): FloatArray {
    const source = this.own(t, 'read');
    const start = source.ptr / 4;
    return this.heap.f32.slice(start, start + source.storage.count);
  }

  write(t: Tensor, values: ArrayLike<number>, offset = 0): void {
    const target = this.own(t, 'write');
    checkWrite(t, values, offset);
    this.heap.f32.set(values, target.ptr / 4 + offset);
  }

  reshape(t: Tensor, shape: Shape): Tensor {
    const source = this.own(t, 'reshape');
    checkReshape(t, shape);
    source.storage.refs++;
    this.live++;
    return new WasmTensor([...shape], source.storage, this);
  }

  dispose(t: Tensor): void {
    const tensor = this.own(t, 'dispose', true);
    if (tensor.disposed) return;
    tensor.disposed = true;
    this.live--;
    if (--tensor.storage.refs === 0) this.heap.release(tensor.storage.offset, tensor.storage.count);
  }

  liveTensors(): number {
    return this.live;
  }

  // ---- kernels ------------------------------------------------------------------------

  matmul(a: Tensor, b: Tensor, options: MatmulOptions = {}): Tensor {
    const [x, y] = [this.own(a, 'matmul'), this.own(b, 'matmul')];
    const { m, k, n } = matmulShape(a, b, options);
    const out = this.allocate([m, n]);
    // The kernels want B as [k, n]; a transposed B is laid out so first.
    const bRows = options.transposeB ? this.transposed(y) : null;
    const bPtr = bRows?.ptr ?? y.ptr;
    if (this.mostlyZeros(x, m * k)) {
      // x in both big products: MNIST pixels are ~80% zeros, so visit only the rest.
      if (options.transposeA) {
        this.kernels.matmulSparseAT(x.ptr, bPtr, out.ptr, m, k, n);
      } else {
        const list = this.heap.alloc(2 * k); // (offset, value) of one row's nonzeros
        this.kernels.matmulSparseA(x.ptr, bPtr, out.ptr, m, k, n, list);
        this.heap.release(list, 2 * k);
      }
    } else {
      // A is read through strides: [m, k] row-major, or stored as [k, m] for aᵀ.
      const [rowStride, colStride] = options.transposeA ? [1, m] : [k, 1];
      this.kernels.matmul(x.ptr, bPtr, out.ptr, m, k, n, rowStride, colStride);
    }
    if (bRows) this.dispose(bRows);
    return out;
  }

  addBias(x: Tensor, bias: Tensor): Tensor {
    const [input, b] = [this.own(x, 'addBias'), this.own(bias, 'addBias')];
    const { m, n } = addBiasShape(x, bias);
    const out = this.allocate([m, n]);
    this.kernels.addBias(input.ptr, b.ptr, out.ptr, m, n);
    return out;
  }

  sumColumns(x: Tensor): Tensor {
    const input = this.own(x, 'sumColumns');
    const [m, n] = matrixShape('sumColumns', x);
    const out = this.allocate([n]);
    this.kernels.sumColumns(input.ptr, out.ptr, m, n);
    return out;
  }

  add(a: Tensor, b: Tensor): Tensor {
    return this.elementwise('add', a, b, (p, q, out, count) => this.kernels.add(p, q, out, count));
  }

  mul(a: Tensor, b: Tensor): Tensor {
    return this.elementwise('mul', a, b, (p, q, out, count) => this.kernels.mul(p, q, out, count));
  }

  relu(x: Tensor): Tensor {
    const input = this.own(x, 'relu');
    const out = this.allocate(x.shape);
    this.kernels.relu(input.ptr, out.ptr, sizeOf(x.shape));
    return out;
  }

  reluBackward(dout: Tensor, out: Tensor): Tensor {
    return this.elementwise(
      'reluBackward',
      dout,
      out,
      (d, y, dx, count) => this.kernels.reluBackward(d, y, dx, count),
      ['dout', 'out'],
    );
  }

  sigmoid(x: Tensor): Tensor {
    const input = this.own(x, 'sigmoid');
    const out = this.allocate(x.shape);
    this.kernels.sigmoid(input.ptr, out.ptr, sizeOf(x.shape));
    return out;
  }

  sigmoidBackward(dout: Tensor, out: Tensor): Tensor {
    return this.elementwise(
      'sigmoidBackward',
      dout,
      out,
      (d, y, dx, count) => this.kernels.sigmoidBackward(d, y, dx, count),
      ['dout', 'out'],
    );
  }

  softmaxCrossEntropy(
    logits: Tensor,
    labels: Labels,
    delta = CROSS_ENTROPY_DELTA,
  ): SoftmaxCrossEntropyResult {
    const x = this.own(logits, 'softmaxCrossEntropy');
    const t = this.labels('softmaxCrossEntropy', logits, labels);
    const probs = this.allocate([t.batch, t.classes]);
    const loss = this.kernels.softmaxCrossEntropy(
      x.ptr,
      t.ptr,
      t.oneHot,
      probs.ptr,
      t.batch,
      t.classes,
      delta,
    );
    return { probs, loss: this.scalar(loss) };
  }

  softmaxCrossEntropyBackward(probs: Tensor, labels: Labels): Tensor {
    const y = this.own(probs, 'softmaxCrossEntropyBackward');
    const t = this.labels('softmaxCrossEntropyBackward', probs, labels);
    const dx = this.allocate([t.batch, t.classes]);
    this.kernels.softmaxCrossEntropyBackward(y.ptr, t.ptr, t.oneHot, dx.ptr, t.batch, t.classes);
    return dx;
  }

  sgdUpdate(param: Tensor, grad: Tensor, learningRate: number): void {
    const [w, g] = [this.own(param, 'sgdUpdate'), this.own(grad, 'sgdUpdate')];
    checkSameShape('sgdUpdate', param, grad, ['param', 'grad']);
    checkLearningRate(learningRate);
    this.kernels.sgdUpdate(w.ptr, g.ptr, sizeOf(param.shape), learningRate);
  }

  countCorrect(scores: Tensor, labels: Labels): Tensor {
    const s = this.own(scores, 'countCorrect');
    const t = this.labels('countCorrect', scores, labels);
    return this.scalar(this.kernels.countCorrect(s.ptr, t.ptr, t.oneHot, t.batch, t.classes));
  }

  gatherRows(x: Tensor, indices: ArrayLike<number>): Tensor {
    const source = this.own(x, 'gatherRows');
    const shape = gatherShape(x, indices);
    const width = shape.length === 2 ? shape[1] : 1;
    const out = this.allocate(shape);
    const list = this.heap.alloc(indices.length);
    this.heap.i32.set(indices, list / 4);
    this.kernels.gatherRows(source.ptr, out.ptr, list, indices.length, width);
    this.heap.release(list, indices.length);
    return out;
  }

  // ---- helpers ------------------------------------------------------------------------

  private allocate(shape: Shape): WasmTensor {
    const count = sizeOf(shape);
    this.live++;
    return new WasmTensor([...shape], new Storage(this.heap.alloc(count), count), this);
  }

  private scalar(value: number): WasmTensor {
    const t = this.allocate([]);
    this.heap.f32[t.ptr / 4] = value;
    return t;
  }

  /**
   * Whether the sparse kernels pay: they skip zeros but give up the 4-row register block,
   * which measured faster only past about half zeros (and only for products worth it).
   */
  private mostlyZeros(a: WasmTensor, count: number): boolean {
    return count >= 4096 && this.kernels.countZeros(a.ptr, count) * 2 > count;
  }

  /** b [n,k] laid out as bᵀ [k,n] in a temporary block. */
  private transposed(b: WasmTensor): WasmTensor {
    const [rows, cols] = b.shape;
    const out = this.allocate([cols, rows]);
    this.kernels.transpose(b.ptr, out.ptr, rows, cols);
    return out;
  }

  /** Checks labels against scores; class indices are checked in place, no copy needed. */
  private labels(kernel: string, scores: Tensor, labels: Labels) {
    const t = this.own(labels, kernel);
    const { batch, classes, oneHot } = labelsShape(kernel, scores, labels);
    if (!oneHot)
      checkClassIndices(kernel, this.heap.f32.subarray(t.ptr / 4, t.ptr / 4 + batch), classes);
    return { ptr: t.ptr, batch, classes, oneHot: oneHot ? 1 : 0 };
  }

  private elementwise(
    kernel: string,
    a: Tensor,
    b: Tensor,
    run: (a: number, b: number, out: number, count: number) => void,
    names = ['a', 'b'],
  ): Tensor {
    const [x, y] = [this.own(a, kernel), this.own(b, kernel)];
    checkSameShape(kernel, a, b, names);
    const out = this.allocate(a.shape);
    run(x.ptr, y.ptr, out.ptr, sizeOf(a.shape));
    return out;
  }

  private own(t: Tensor, kernel: string, allowDisposed = false): WasmTensor {
    const own = ownTensor(
      t,
      kernel,
      'wasm',
      (x): x is WasmTensor => x instanceof WasmTensor && x.owner === this,
      allowDisposed,
    );
    return own;
  }
}

function decodeBase64(text: string): Uint8Array<ArrayBuffer> {
  const binary = atob(text); // in Node too (since 16) and every browser
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}
