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
  type Tensor,
  UsageError,
} from '@backprop/core';
import * as tf from '@tensorflow/tfjs-core';

/** TensorFlow.js's engines: `cpu` and `wasm` run in Node and browsers, `webgl`/`webgpu` in browsers, `tensorflow` is @tensorflow/tfjs-node. */
export type TfjsEngine = 'cpu' | 'wasm' | 'webgl' | 'webgpu' | 'tensorflow';
export const TFJS_ENGINES: readonly TfjsEngine[] = ['cpu', 'wasm', 'webgl', 'webgpu', 'tensorflow'];

/** Each engine's npm package, imported on demand so that unused ones cost nothing. */
const ENGINE_PACKAGES: Record<TfjsEngine, string> = {
  cpu: '@tensorflow/tfjs-backend-cpu',
  wasm: '@tensorflow/tfjs-backend-wasm',
  webgl: '@tensorflow/tfjs-backend-webgl',
  webgpu: '@tensorflow/tfjs-backend-webgpu',
  tensorflow: '@tensorflow/tfjs-node',
};
// Literal specifiers, so a bundler (a web page's) can find and split them; tfjs-node is
// never bundled: it is looked up at run time only where it was installed.
const TFJS_NODE = ENGINE_PACKAGES.tensorflow;
const ENGINE_IMPORTS: Record<TfjsEngine, () => Promise<unknown>> = {
  cpu: () => import('@tensorflow/tfjs-backend-cpu'),
  wasm: () => import('@tensorflow/tfjs-backend-wasm'),
  webgl: () => import('@tensorflow/tfjs-backend-webgl'),
  webgpu: () => import('@tensorflow/tfjs-backend-webgpu'),
  tensorflow: () => import(/* @vite-ignore */ TFJS_NODE),
};

class TfjsTensor implements Tensor {
  readonly dtype: DType = 'float32';
  disposed = false;
  /** Set once these values were checked as class indices below this count (labels). */
  checkedClasses = 0;
  constructor(
    /** Replaced, not mutated, by write and sgdUpdate: TensorFlow.js tensors are immutable. */
    public value: tf.Tensor,
    readonly shape: Shape,
    readonly owner: TfjsBackend,
  ) {}
}

export interface TfjsBackendOptions {
  /** Default `wasm` (the fastest engine that runs in Node without a native install). */
  engine?: TfjsEngine;
  /** Browsers only: the URL prefix where tfjs-backend-wasm's .wasm files are served. */
  wasmPaths?: string;
}

/**
 * The kernels as TensorFlow.js ops. Tensors stay inside TensorFlow.js between kernels;
 * every intermediate a kernel makes is freed inside it (tf.tidy), so the engine's tensor
 * count moves only with the handles the caller holds.
 *
 * TensorFlow.js has one global engine: creating a backend makes its engine the active
 * one, and each kernel switches back if another backend changed it.
 */
export class TfjsBackend implements Backend {
  readonly name: string;
  readonly dtype: DType = 'float32';
  readonly description: string;
  private live = 0;

  private constructor(readonly engine: TfjsEngine) {
    this.name = `tfjs-${engine}`;
    this.description = `tfjs-${engine}: TensorFlow.js ${tf.version_core} ${engine} engine, float32`;
  }

  /** Loads and starts the engine; rejects with what to install when it is not there. */
  static async create(options: TfjsBackendOptions = {}): Promise<TfjsBackend> {
    const engine = options.engine ?? 'wasm';
    if (!TFJS_ENGINES.includes(engine)) {
      throw new UsageError(
        `tfjs: unknown engine '${String(engine)}'; engines: ${TFJS_ENGINES.join(', ')}`,
      );
    }
    // TensorFlow.js prints tips (install tfjs-node) unless told this is production.
    if (!tf.env().getBool('PROD')) tf.env().set('PROD', true);
    if (!tf.findBackend(engine)) {
      try {
        const loaded = (await ENGINE_IMPORTS[engine]()) as {
          setWasmPaths?: (prefix: string) => void;
        };
        // In a browser the wasm engine fetches its .wasm files; say where they are served.
        if (engine === 'wasm' && options.wasmPaths) loaded.setWasmPaths?.(options.wasmPaths);
      } catch (error) {
        throw new BackendError(
          `tfjs: the ${engine === 'tensorflow' ? 'tfjs-node (tensorflow)' : engine} engine is not available: install ${ENGINE_PACKAGES[engine]}@${tf.version_core}` +
            ` (${(error as Error).message.split('\n')[0]})`,
        );
      }
    }
    const needsBrowser = engine === 'webgl' || engine === 'webgpu';
    if (!tf.findBackendFactory(engine)) {
      // webgl and webgpu register themselves only where their API exists.
      throw new BackendError(
        `tfjs: the ${engine} engine cannot run here${needsBrowser ? ` (it needs a browser with ${engine === 'webgl' ? 'WebGL' : 'WebGPU'})` : ''}; try tfjs-wasm or tfjs-cpu`,
      );
    }
    let started = false;
    try {
      started = await tf.setBackend(engine);
    } catch (error) {
      throw new BackendError(
        `tfjs: the ${engine} engine failed to start: ${(error as Error).message}`,
      );
    }
    if (!started) {
      throw new BackendError(
        `tfjs: the ${engine} engine cannot run here${needsBrowser ? ' (it needs a browser with that API)' : ''}; try tfjs-wasm or tfjs-cpu`,
      );
    }
    return new TfjsBackend(engine);
  }

  /** TensorFlow.js's own count of live tensors: must move only with our handles. */
  engineTensors(): number {
    return tf.memory().numTensors;
  }

  // ---- data ---------------------------------------------------------------------------

  tensor(values: ArrayLike<number>, shape: Shape): Tensor {
    checkTensorValues(values, shape);
    this.activate();
    return this.wrap(tf.tensor(Float32Array.from(values), [...shape], 'float32'), shape);
  }

  async read(t: Tensor): Promise<FloatArray> {
    const values = await this.own(t, 'read').value.data<'float32'>();
    return Float32Array.from(values); // a copy: the engine may hand out its own buffer
  }

  readSync(t: Tensor): FloatArray {
    return Float32Array.from(this.own(t, 'read').value.dataSync<'float32'>());
  }

  write(t: Tensor, values: ArrayLike<number>, offset = 0): void {
    const target = this.own(t, 'write');
    checkWrite(t, values, offset);
    const data = Float32Array.from(target.value.dataSync<'float32'>());
    data.set(values, offset);
    target.value.dispose();
    target.value = tf.tensor(data, [...t.shape], 'float32');
  }

  reshape(t: Tensor, shape: Shape): Tensor {
    const source = this.own(t, 'reshape');
    checkReshape(t, shape);
    const view = this.wrap(tf.reshape(source.value, [...shape]), shape);
    view.checkedClasses = source.checkedClasses;
    return view;
  }

  dispose(t: Tensor): void {
    const tensor = this.own(t, 'dispose', true);
    if (tensor.disposed) return;
    tensor.disposed = true;
    tensor.value.dispose();
    this.live--;
  }

  liveTensors(): number {
    return this.live;
  }

  // ---- kernels ------------------------------------------------------------------------

  matmul(a: Tensor, b: Tensor, options: MatmulOptions = {}): Tensor {
    const [x, y] = [this.own(a, 'matmul'), this.own(b, 'matmul')];
    const { m, n } = matmulShape(a, b, options);
    return this.wrap(tf.matMul(x.value, y.value, options.transposeA, options.transposeB), [m, n]);
  }

  addBias(x: Tensor, bias: Tensor): Tensor {
    const [input, b] = [this.own(x, 'addBias'), this.own(bias, 'addBias')];
    addBiasShape(x, bias);
    return this.wrap(tf.add(input.value, b.value), x.shape);
  }

  sumColumns(x: Tensor): Tensor {
    const input = this.own(x, 'sumColumns');
    const [, n] = matrixShape('sumColumns', x);
    return this.wrap(tf.sum(input.value, 0), [n]);
  }

  add(a: Tensor, b: Tensor): Tensor {
    const [x, y] = this.sameShape('add', a, b);
    return this.wrap(tf.add(x.value, y.value), a.shape);
  }

  mul(a: Tensor, b: Tensor): Tensor {
    const [x, y] = this.sameShape('mul', a, b);
    return this.wrap(tf.mul(x.value, y.value), a.shape);
  }

  relu(x: Tensor): Tensor {
    const input = this.own(x, 'relu');
    return this.wrap(tf.relu(input.value), x.shape);
  }

  reluBackward(dout: Tensor, out: Tensor): Tensor {
    const [d, y] = this.sameShape('reluBackward', dout, out, ['dout', 'out']);
    // x <= 0 passes no gradient; out > 0 exactly where x > 0.
    return this.wrap(
      tf.tidy(() => tf.where(tf.greater(y.value, 0), d.value, tf.zerosLike(d.value))),
      dout.shape,
    );
  }

  sigmoid(x: Tensor): Tensor {
    const input = this.own(x, 'sigmoid');
    return this.wrap(tf.sigmoid(input.value), x.shape);
  }

  sigmoidBackward(dout: Tensor, out: Tensor): Tensor {
    const [d, y] = this.sameShape('sigmoidBackward', dout, out, ['dout', 'out']);
    return this.wrap(
      tf.tidy(() => tf.mul(tf.mul(d.value, y.value), tf.sub(1, y.value))),
      dout.shape,
    );
  }

  softmaxCrossEntropy(
    logits: Tensor,
    labels: Labels,
    delta = CROSS_ENTROPY_DELTA,
  ): SoftmaxCrossEntropyResult {
    const x = this.own(logits, 'softmaxCrossEntropy');
    const { batch, classes } = labelsShape('softmaxCrossEntropy', logits, labels);
    const t = this.targets('softmaxCrossEntropy', labels, classes);
    const [probs, loss] = tf.tidy(() => {
      const y = tf.softmax(x.value); // subtracts each row's max before exp
      const crossEntropy = tf.neg(tf.sum(tf.mul(t(), tf.log(tf.add(y, delta)))));
      return [y, tf.div(crossEntropy, batch)];
    });
    return { probs: this.wrap(probs, [batch, classes]), loss: this.wrap(loss, []) };
  }

  softmaxCrossEntropyBackward(probs: Tensor, labels: Labels): Tensor {
    const y = this.own(probs, 'softmaxCrossEntropyBackward');
    const { batch, classes } = labelsShape('softmaxCrossEntropyBackward', probs, labels);
    const t = this.targets('softmaxCrossEntropyBackward', labels, classes);
    return this.wrap(
      tf.tidy(() => tf.div(tf.sub(y.value, t()), batch)),
      probs.shape,
    );
  }

  sgdUpdate(param: Tensor, grad: Tensor, learningRate: number): void {
    const [w, g] = this.sameShape('sgdUpdate', param, grad, ['param', 'grad']);
    checkLearningRate(learningRate);
    const updated = tf.tidy(() => tf.sub(w.value, tf.mul(g.value, learningRate)));
    w.value.dispose();
    w.value = updated;
  }

  countCorrect(scores: Tensor, labels: Labels): Tensor {
    const s = this.own(scores, 'countCorrect');
    const { classes, oneHot } = labelsShape('countCorrect', scores, labels);
    const t = this.own(labels, 'countCorrect');
    if (!oneHot) this.checkIndices('countCorrect', t, classes);
    const correct = tf.tidy(() => {
      const predicted = tf.argMax(s.value, 1); // the first of equal maxima, as numpy
      const truth = oneHot ? tf.argMax(t.value, 1) : tf.cast(t.value, 'int32');
      return tf.sum(tf.cast(tf.equal(predicted, truth), 'float32'));
    });
    return this.wrap(correct, []);
  }

  gatherRows(x: Tensor, indices: ArrayLike<number>): Tensor {
    const source = this.own(x, 'gatherRows');
    const shape = gatherShape(x, indices);
    const rows = tf.tidy(() =>
      tf.gather(source.value, tf.tensor1d(Int32Array.from(indices), 'int32')),
    );
    const gathered = this.wrap(rows, shape);
    gathered.checkedClasses = source.checkedClasses; // rows of checked labels stay checked
    return gathered;
  }

  // ---- helpers ------------------------------------------------------------------------

  /** Makes this backend's engine the active one (TensorFlow.js has one at a time). */
  private activate(): void {
    if (tf.getBackend() === this.engine) return;
    // Once an engine has started, setBackend switches before its first await.
    void tf.setBackend(this.engine);
    if (tf.getBackend() !== this.engine) {
      throw new BackendError(
        `tfjs: could not switch TensorFlow.js back to the ${this.engine} engine`,
      );
    }
  }

  /** One-hot targets as a tensor builder, from either label form. */
  private targets(kernel: string, labels: Labels, classes: number): () => tf.Tensor {
    const t = this.own(labels, kernel);
    if (t.shape.length === 2) return () => t.value;
    this.checkIndices(kernel, t, classes);
    return () => tf.cast(tf.oneHot(tf.cast(t.value, 'int32'), classes), 'float32');
  }

  /**
   * Class indices are read back once per labels tensor and remembered; rows gathered
   * from checked labels inherit the check, so training reads labels back only once.
   */
  private checkIndices(kernel: string, t: TfjsTensor, classes: number): void {
    if (t.checkedClasses > 0 && t.checkedClasses <= classes) return;
    checkClassIndices(kernel, t.value.dataSync(), classes);
    t.checkedClasses = classes;
  }

  private sameShape(
    kernel: string,
    a: Tensor,
    b: Tensor,
    names = ['a', 'b'],
  ): [TfjsTensor, TfjsTensor] {
    const pair: [TfjsTensor, TfjsTensor] = [this.own(a, kernel), this.own(b, kernel)];
    checkSameShape(kernel, a, b, names);
    return pair;
  }

  private wrap(value: tf.Tensor, shape: Shape): TfjsTensor {
    this.live++;
    return new TfjsTensor(value, [...shape], this);
  }

  private own(t: Tensor, kernel: string, allowDisposed = false): TfjsTensor {
    const own = ownTensor(
      t,
      kernel,
      this.name,
      (x): x is TfjsTensor => x instanceof TfjsTensor && x.owner === this,
      allowDisposed,
    );
    this.activate();
    return own;
  }
}
