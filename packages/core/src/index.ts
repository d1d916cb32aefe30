export * from './architecture.js';
export * from './backend.js';
export * as composedKernels from './composed.js';
export * from './contract.js';
export * from './errors.js';
export * from './gather-map.js';
export * from './gradient.js';
export * from './graph.js';
export * from './layer-descriptor.js';
// layers beyond the book's, each a file that registers itself as a user's layer would
export * from './layers/avg-pooling.js';
export * from './layers/batch-norm-2d.js';
export * from './layers/flatten.js';
export * from './layers/tanh.js';
export * from './layers.js';
export * from './model-file.js';
export * from './multi-layer-net.js';
export * from './network.js';
export * from './optimizer.js';
export { MAX_SEED, Random, type RandomState } from './random.js';
// shapes.ts holds core's own checks; users meet them as errors, and format shapes as core does
export { formatShape, type MatmulOptions } from './shapes.js';
export * from './simple-conv-net.js';
export { Tensor, type ValueFacts } from './tensor.js';
export * from './training.js';
export * from './two-layer-net.js';
export * from './window.js';
