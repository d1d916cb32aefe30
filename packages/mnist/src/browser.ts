// What runs without Node: the IDX parser and building the splits from bytes you fetched.
export * from './parse.js';
export * from './split.js';
