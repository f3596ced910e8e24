export { Tensor, callOp, opSchema, type Scalar, type TensorLike, type IndexSpec } from './tensor.js';
export * from './create.js';
export { TensorSequence } from './sequence.js';
export { tidy, keep, dispose, memory, emptyCache, setCacheLimit, type MemoryInfo } from './memory.js';
export { noGrad, isGradEnabled, setGradEnabled } from './autograd.js';
export { autocast, cpuHasBfloat16, type AutocastDType } from './autocast.js';
export { setNumThreads, getNumThreads, manualSeed, cudaAvailable, defaultDevice, buildInfo } from './engine.js';
export type { DType, TypedArray } from './dtype.js';
export { gradcheck, GradcheckError, type GradcheckOptions, type GradcheckResult, type GradcheckOutput } from './gradcheck.js';
