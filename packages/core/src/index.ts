// What users of @backprop/core call, by name. Core's own helpers (the index maps of im2col
// and pooling, the gather tables, edit distances for "did you mean", the evaluation's
// first chunk) stay inside: a name here is a promise kept across releases.

// ---- the engine: the contract a backend implements, tensors, the checks, errors ----------
export {
  Backend,
  type ConvolutionGradients,
  type ConvolutionResult,
  type Labels,
  type MatmulOptions,
  type MaxPoolResult,
  type SoftmaxCrossEntropyResult,
} from './engine/backend.js';
// core's compositions, for a backend author comparing an override with them
export * as composedKernels from './engine/composed.js';
export {
  type AdamStep,
  BINARY_OPS,
  type BinaryOp,
  type Broadcast,
  COMPOSED_KERNELS,
  type ComposedKernel,
  CROSS_ENTROPY_DELTA,
  type DType,
  type FloatArray,
  type GatherDims,
  type GatherStorage,
  type KernelBackend,
  type LabelDims,
  type MatmulDims,
  REDUCE_OPS,
  type ReduceOp,
  type Shape,
  UNARY_OPS,
  type UnaryOp,
  type WindowDims,
} from './engine/contract.js';
export {
  BackendError,
  BackpropError,
  DataError,
  ShapeError,
  TensorStateError,
  UsageError,
  ValueError,
} from './engine/errors.js';
export { GatherMap } from './engine/gather-map.js';
export { formatValues, type NestedNumbers, nest } from './engine/print.js';
export { formatShape } from './engine/shapes.js';
export { Tensor, type TensorOwner, type ValueFacts } from './engine/tensor.js';
export { type FilterStep, type Window, windowDims } from './engine/window.js';
// ---- the network: the book's layers and nets, your own layers, training, saving ----------
export {
  type Architecture,
  describe,
  describeArchitecture,
  type LayerSpec,
  type LayerSpecs,
  layerDescriptor,
  layerTypes,
  layerWords,
  nearest,
  parseLayers,
  readsImages,
  refuseUnknownKeys,
  registerLayer,
} from './network/architecture.js';
export {
  centralDifferences,
  compareGradients,
  type GradientCheckOptions,
  type GradientCheckReport,
  type GradientComparison,
  type GradientTolerance,
  type GradientVerdict,
  gradientCheck,
  gradientTolerance,
  gradientVerdict,
  numericalGradient,
  type ParamCheck,
} from './network/gradient.js';
export {
  AddLayer,
  type AppleGraph,
  type AppleInputs,
  type AppleOrangeGraph,
  type AppleOrangeInputs,
  buyApple,
  buyAppleOrange,
  MulLayer,
} from './network/graph.js';
export {
  type BuildContext,
  type BuiltLayer,
  describeWindow,
  fraction,
  fromForward,
  images,
  initScale,
  type LayerDescriptor,
  type LayerSpecBase,
  type PoolingWindowSpec,
  pair,
  poolingWindow,
  releaseAll,
  sizeOfWords,
  type WeightInit,
  whole,
  windowFits,
} from './network/layer-descriptor.js';
// layers beyond the book's, each a file that registers itself as a user's layer would
export {
  AvgPooling,
  type AvgPoolingSpec,
  avgPoolingDescriptor,
} from './network/layers/avg-pooling.js';
export {
  BatchNorm2d,
  type BatchNorm2dSpec,
  batchNorm2dDescriptor,
} from './network/layers/batch-norm-2d.js';
export { Flatten, type FlattenSpec, flattenDescriptor } from './network/layers/flatten.js';
export { Tanh, type TanhSpec, tanhDescriptor } from './network/layers/tanh.js';
export {
  Affine,
  type AffineOptions,
  type AffineSpec,
  affineDescriptor,
  BatchNormalization,
  type BatchNormalizationOptions,
  type BatchNormalizationSpec,
  batchNormalizationDescriptor,
  batchNormParams,
  Convolution,
  type ConvolutionOptions,
  type ConvolutionSpec,
  convolutionDescriptor,
  Dropout,
  type DropoutSpec,
  dropoutDescriptor,
  type Layer,
  Pooling,
  type PoolingSpec,
  poolingDescriptor,
  Relu,
  type ReluSpec,
  reluDescriptor,
  Sigmoid,
  type SigmoidSpec,
  SoftmaxWithLoss,
  sigmoidDescriptor,
} from './network/layers.js';
export {
  isModelHeader,
  MODEL_FORMAT,
  MODEL_VERSION,
  type ModelFile,
  type ModelHeader,
  modelFileOf,
  modelFromBinary,
  modelFromJSON,
  modelToBinary,
  modelToJSON,
  READABLE_MODEL_VERSIONS,
  type SavedTensor,
} from './network/model-file.js';
export {
  buildModel,
  loadModel,
  readModel,
  type SavedModelInfo,
  type StoredModel,
  saveModel,
} from './network/model-store.js';
export {
  MultiLayerNet,
  MultiLayerNetExtend,
  type MultiLayerNetExtendOptions,
  type MultiLayerNetOptions,
} from './network/multi-layer-net.js';
export {
  type Gradients,
  Network,
  type NetworkOptions,
  type Params,
  Sequential,
} from './network/network.js';
export {
  AdaGrad,
  Adam,
  createOptimizer,
  DEFAULT_LEARNING_RATES,
  Momentum,
  OPTIMIZER_NAMES,
  type Optimizer,
  type OptimizerName,
  SGD,
} from './network/optimizer.js';
export { MAX_SEED, Random, type RandomState } from './network/random.js';
export { SimpleConvNet, type SimpleConvNetOptions } from './network/simple-conv-net.js';
export {
  type Accuracy,
  CHEAP_EVAL_MS,
  checkTrainConfig,
  type Dataset,
  datasetAccuracy,
  type EpochRecord,
  EVAL_CHUNK_MS,
  type StopSignal,
  type TrainConfig,
  type TrainHooks,
  TrainingDivergedError,
  type TrainResult,
  toDataset,
  trainingStep,
  trainNetwork,
  yieldToEventLoop,
} from './network/training.js';
export { TwoLayerNet, type TwoLayerNetOptions } from './network/two-layer-net.js';
