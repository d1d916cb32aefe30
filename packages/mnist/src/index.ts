export * from './idx.js';
export * from './mnist.js';
export * from './parse.js';
export * from './split.js';
