/**
 * The wasm backend's helper threads: workers that instantiate the same kernels on the same
 * shared memory and each take a share of a matrix product's rows. Core calls kernels
 * synchronously, so the calling thread hands out the shares, computes the first itself,
 * and waits (Atomics.wait) for the rest — which Node allows on any thread and a browser
 * only in a worker. Each share is whole rows of C, computed by the same code as on one
 * thread, so the result is bit-identical for any thread count.
 */
import { BackendError } from '@backprop/core';

/** The kernels a helper runs — the three matrix products, the gather of rows, im2col, the peak's loop — by id; their arguments are int32s (twelve at most). */
export const Job = {
  Quit: -1,
  Matmul: 0,
  MatmulSparseA: 1,
  MatmulSparseAT: 2,
  GatherRows: 3,
  PeakMadd: 4,
  Im2col: 5,
  MatmulSparseATInto: 6,
  Convolution: 7,
  ConvolutionGradients: 8,
  Relu: 9,
  ReluBackward: 10,
  AdamUpdate: 11,
  MaxPool: 12,
  MaxPoolBackward: 13,
} as const;
export type Job = (typeof Job)[keyof typeof Job];

const bitsOf = new Int32Array(1);
const floatOf = new Float32Array(bitsOf.buffer);
/** A float as the int32 of its bits, to post among a job's int32 arguments. */
export function floatBits(value: number): number {
  floatOf[0] = value;
  return bitsOf[0] as number;
}
/** The float whose bits `bits` are (floatBits' inverse, for the caller's own share). */
export function bitsFloat(bits: number): number {
  bitsOf[0] = bits;
  return floatOf[0] as number;
}

/** One helper's slot in the control block: 32 int32s (128 bytes, cache lines of its own). */
const SLOT = 32;
const SEQ = 0; // the caller bumps it to post a job
const DONE = 1; // the helper sets it to the job's SEQ when finished
const FAILED = 2; // 1 when the kernel threw
const OP = 3;
const ARGS = 4;
/** How many times a helper polls for the next job before it sleeps: ~tens of µs. */
const SPIN = 20_000;

// The helper's code, as text, so that it needs no file beside the bundle: Node runs it
// with `eval: true`, a browser from a Blob URL. Between jobs it polls briefly (training
// posts one every few dozen µs), then sleeps in Atomics.wait.
const HELPER_SOURCE = `
const start = ({ module, memory, control, index }, post) => {
  const c = new Int32Array(control);
  const cf = new Float32Array(control);
  const base = index * ${SLOT};
  WebAssembly.instantiate(module, {
    env: { memory, abort() { throw new Error('a kernel aborted'); } },
  }).then((instance) => {
    const k = instance.exports;
    let seen = 0;
    post('ready');
    for (;;) {
      for (let i = 0; i < ${SPIN} && Atomics.load(c, base + ${SEQ}) === seen; i++);
      Atomics.wait(c, base + ${SEQ}, seen);
      seen = Atomics.load(c, base + ${SEQ});
      const op = c[base + ${OP}];
      if (op === ${Job.Quit}) return;
      const a = (i) => c[base + ${ARGS} + i];
      const f = (i) => cf[base + ${ARGS} + i]; // a float argument, posted as its bits
      try {
        if (op === ${Job.Matmul}) k.matmul(a(0), a(1), a(2), a(3), a(4), a(5), a(6), a(7), a(8), a(9), a(10));
        else if (op === ${Job.MatmulSparseA}) k.matmulSparseA(a(0), a(1), a(2), a(3), a(4), a(5), a(6), a(7));
        else if (op === ${Job.MatmulSparseAT}) k.matmulSparseAT(a(0), a(1), a(2), a(3), a(4), a(5), a(6), a(7), a(8));
        else if (op === ${Job.Relu}) k.relu(a(0), a(1), a(2));
        else if (op === ${Job.ReluBackward}) k.reluBackward(a(0), a(1), a(2), a(3));
        else if (op === ${Job.AdamUpdate}) k.adamUpdate(a(0), a(1), a(2), a(3), a(4), f(5), f(6), f(7), f(8));
        else if (op === ${Job.MaxPool}) k.maxPool(a(0), a(1), a(2), a(3), a(4), a(5), a(6), a(7), a(8), a(9), a(10), a(11), a(12));
        else if (op === ${Job.MaxPoolBackward}) k.maxPoolBackward(a(0), a(1), a(2), a(3), a(4), a(5), a(6), a(7), a(8), a(9), a(10), a(11), a(12));
        else if (op === ${Job.Convolution}) k.convolution(a(0), a(1), a(2), a(3), a(4), a(5), a(6), a(7));
        else if (op === ${Job.ConvolutionGradients}) k.convolutionGradients(a(0), a(1), a(2), a(3), a(4), a(5), a(6), a(7), a(8));
        else if (op === ${Job.MatmulSparseATInto}) k.matmulSparseATInto(a(0), a(1), a(2), a(3), a(4), a(5), a(6));
        else if (op === ${Job.GatherRows}) k.gatherRows(a(0), a(1), a(2), a(3), a(4));
        else if (op === ${Job.Im2col}) k.im2col(a(0), a(1), a(2), a(3), a(4), a(5), a(6), a(7), a(8), a(9), a(10), a(11));
        else k.peakMadd(a(0), a(1) / 1e6, a(2) / 1e6);
      } catch {
        c[base + ${FAILED}] = 1;
      }
      Atomics.store(c, base + ${DONE}, seen);
      Atomics.notify(c, base + ${DONE});
    }
  }, (error) => post('failed: ' + error.message));
};
if (typeof process === 'object' && process.versions && process.versions.node) {
  import('node:worker_threads').then(({ parentPort, workerData }) =>
    start(workerData, (message) => parentPort.postMessage(message)));
} else {
  self.onmessage = (event) => start(event.data, (message) => self.postMessage(message));
}
`;

interface Helper {
  terminate(): unknown;
}

export class ThreadPool {
  private constructor(
    private readonly helpers: Helper[],
    private readonly control: Int32Array,
  ) {}

  /** Threads in all: the helpers and the caller. */
  get threads(): number {
    return this.helpers.length + 1;
  }

  /** Whether this thread may wait on a shared memory (not a browser page's main thread). */
  static canBlock(): boolean {
    if (typeof SharedArrayBuffer !== 'function') return false;
    try {
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 1, 0);
      return true;
    } catch {
      return false;
    }
  }

  /** Starts `count` helpers on `module` over `memory`; resolves once every one is ready. */
  static async start(
    count: number,
    module: WebAssembly.Module,
    memory: WebAssembly.Memory,
  ): Promise<ThreadPool> {
    const control = new Int32Array(new SharedArrayBuffer(count * SLOT * 4));
    const helpers: Helper[] = [];
    const ready: Promise<void>[] = [];
    const isNode = typeof process === 'object' && typeof process.versions?.node === 'string';
    const { Worker: NodeWorker } = isNode
      ? await import('node:worker_threads')
      : { Worker: undefined };
    for (let index = 0; index < count; index++) {
      const data = { module, memory, control: control.buffer, index };
      ready.push(
        new Promise<void>((resolve, reject) => {
          const answer = (message: unknown) =>
            message === 'ready'
              ? resolve()
              : reject(new BackendError(`wasm: a helper thread did not start (${message})`));
          if (NodeWorker) {
            const worker = new NodeWorker(HELPER_SOURCE, { eval: true, workerData: data });
            worker.unref(); // a process never waits on its helpers
            worker.once('message', answer);
            worker.once('error', (error) => answer(error.message));
            helpers.push(worker);
          } else {
            const url = URL.createObjectURL(new Blob([HELPER_SOURCE], { type: 'text/javascript' }));
            const worker = new Worker(url);
            URL.revokeObjectURL(url);
            worker.onmessage = (event) => answer(event.data);
            worker.onerror = (event) => answer(event.message);
            worker.postMessage(data);
            helpers.push(worker);
          }
        }),
      );
    }
    const pool = new ThreadPool(helpers, control);
    try {
      await Promise.all(ready);
    } catch (error) {
      pool.close();
      throw error;
    }
    return pool;
  }

  /**
   * Runs `shares[0]` here and each other share on a helper, and returns when all are done.
   * A share is a job and its int32 arguments.
   */
  run(shares: [Job, number[]][], here: () => void): void {
    const c = this.control;
    const posted: [number, number][] = [];
    for (let i = 1; i < shares.length; i++) {
      const base = (i - 1) * SLOT;
      const [op, args] = shares[i] as [Job, number[]];
      c[base + OP] = op;
      c.set(args, base + ARGS);
      const seq = Atomics.add(c, base + SEQ, 1) + 1;
      Atomics.notify(c, base + SEQ);
      posted.push([base, seq]);
    }
    here();
    let failed = false;
    for (const [base, seq] of posted) {
      for (;;) {
        const done = Atomics.load(c, base + DONE);
        if (done === seq) break;
        Atomics.wait(c, base + DONE, done);
      }
      if (c[base + FAILED]) failed = true;
    }
    if (failed) {
      throw new BackendError('wasm: a kernel aborted on a helper thread (a bug: please report it)');
    }
  }

  /** Ends the helpers. */
  close(): void {
    for (let i = 0; i < this.helpers.length; i++) {
      const base = i * SLOT;
      this.control[base + OP] = Job.Quit;
      Atomics.add(this.control, base + SEQ, 1);
      Atomics.notify(this.control, base + SEQ);
    }
    for (const helper of this.helpers) helper.terminate();
    this.helpers.length = 0;
  }
}
