// dlkit: deep learning for TypeScript on libtorch.
export * from './tensor/index.js';
export * as functional from './nn/functional/index.js';
export * as nn from './nn/index.js';
export { Network, TEST_TIME_AUGMENTATIONS, type TestTimeAugmentation } from './nn/network.js';
export { NetworkEditor, type InsertPosition } from './nn/network-editor.js';
export * from './data/index.js';
export * from './io/index.js';
export * as optim from './optim/index.js';
export * from './train/index.js';
export * from './zoo/index.js';
export * from './apps/index.js';
// apps' activations (rows, pooling, labels) is the public one; train's plain-tensor version stays internal to the boxes below.
export { activations } from './apps/index.js';
export * from './serve/index.js';
