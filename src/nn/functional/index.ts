// The functional namespace: what networks are built from (as torch.nn.functional).
export * from './conv.js';
export * from './pooling.js';
export * from './normalization.js';
export * from './activation.js';
export * from './linear.js';
export * from './loss.js';
