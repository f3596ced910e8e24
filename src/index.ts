// dlkit: deep learning for TypeScript on libtorch.
export * from './tensor/index.js';
export * as functional from './nn/functional/index.js';
