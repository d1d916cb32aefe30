export * from './mnist.js';
export * from './idx.js';
