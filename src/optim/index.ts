// Optimizers, gradient clipping and learn-rate schedules (`dl.optim`).
export { Optimizer, stateSlot, type ParamGroupSpec, type ParamsSpec, type ParamGroup, type OptimizerStateDict, type UpdateContext } from './optimizer.js';
export { SGDM, sgdmUpdate, type SGDMOptions, type SGDMSettings, type SGDMHyper } from './sgdm.js';
export { Adam, AdamW, adamUpdate, type AdamOptions, type AdamWOptions, type AdamSettings, type AdamWSettings, type AdamHyper, type AdamState } from './adam.js';
export { RMSProp, rmspropUpdate, type RMSPropOptions, type RMSPropSettings, type RMSPropHyper, type RMSPropState } from './rmsprop.js';
export { clipGradNorm, clipGradValue, type ClipGradNormOptions } from './clip.js';
export {
  constant, piecewise, cosine, oneCycle, warmup, sampleSchedule,
  type Schedule, type ScheduleState, type PiecewiseOptions, type CosineOptions, type OneCycleOptions, type WarmupOptions,
} from './schedule.js';
