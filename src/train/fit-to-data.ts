// Fitting a recipe to the data it meets: a batch size an epoch can hold several times, a learn
// rate scaled with that batch, and enough epochs for a small data set to be seen often enough.
// A preset is tuned for one batch size (256 on Fashion-MNIST's 60,000 images); on 245 photos
// that batch does not fit, and the preset's rate at a smaller batch destroys the run.
import type { TrainingOptionsInput } from './options.js';
import type { Preset } from './presets.js';

export type LearnRateScaling = 'linear' | 'square-root';

/** How the learn rate follows the batch size: linearly for SGD, by the square root for adaptive solvers. */
export function learnRateScaling(solver: string): LearnRateScaling {
  return solver === 'sgdm' ? 'linear' : 'square-root';
}

/** `rate`, tuned at batch `fromBatch`, for batch `toBatch`. */
export function scaleLearnRate(rate: number, fromBatch: number, toBatch: number, scaling: LearnRateScaling): number {
  const ratio = toBatch / fromBatch;
  return rate * (scaling === 'linear' ? ratio : Math.sqrt(ratio));
}

export interface BatchChoiceInput {
  /** Training observations. */
  observations: number;
  /** The batch size and learn rate the recipe was tuned at. */
  presetBatch: number;
  presetLearnRate: number;
  solver: string;
  /** The user's own batch size / learn rate, which win over the fitted ones. */
  userBatch?: number;
  userLearnRate?: number;
  /** The preset's batch is halved until an epoch has at least this many iterations (default 8). */
  minIterationsPerEpoch?: number;
  /** ... but not below this batch (default 16: batch norm's statistics get noisy under it). */
  minBatch?: number;
  /** What an observation is called in `line` (default 'training observations'). */
  noun?: string;
  /** Whether the rate is a one-cycle peak (words it as 'peak learn rate'). */
  peak?: boolean;
  /** Whose rate presetLearnRate is, for `line` (default "the preset's"). */
  rateSource?: string;
}

export interface BatchChoice {
  miniBatchSize: number;
  initialLearnRate: number;
  /** Where the batch size came from. */
  batchFrom: 'preset' | 'fitted' | 'user';
  /** How the rate was found: the preset's as is, scaled, or the user's. */
  learnRateFrom: 'preset' | LearnRateScaling | 'user';
  /** One line for the run's output: "batch 32 (245 training images), peak learn rate 0.05 = 0.4 × 32/256". */
  line: string;
}

const round = (x: number): string => String(Number(x.toPrecision(3)));

/**
 * The batch size and learn rate for a run. Without the user's batch: the preset's, halved while
 * an epoch would have fewer than `minIterationsPerEpoch` iterations (down to `minBatch`, or the
 * data's size when that is smaller). Whenever the batch differs from the preset's and the user
 * gave no learn rate, the preset's rate is scaled to it.
 */
export function chooseBatchAndLearnRate(input: BatchChoiceInput): BatchChoice {
  const { observations: n, presetBatch, presetLearnRate, solver, userBatch, userLearnRate, minIterationsPerEpoch = 8, minBatch = 16, noun = 'training observations', peak = false, rateSource = "the preset's" } = input;
  for (const [name, v] of [['observations', n], ['presetBatch', presetBatch], ['minIterationsPerEpoch', minIterationsPerEpoch], ['minBatch', minBatch]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new RangeError(`chooseBatchAndLearnRate: '${name}' must be a whole number >= 1, got ${v}`);
  }
  if (userBatch !== undefined && (!Number.isInteger(userBatch) || userBatch < 1)) throw new RangeError(`chooseBatchAndLearnRate: 'userBatch' must be a whole number >= 1, got ${userBatch}`);
  for (const [name, v] of [['presetLearnRate', presetLearnRate], ['userLearnRate', userLearnRate]] as const) {
    if (v !== undefined && !(Number.isFinite(v) && v > 0)) throw new RangeError(`chooseBatchAndLearnRate: '${name}' must be a number > 0, got ${v}`);
  }
  let batch = presetBatch;
  let batchFrom: BatchChoice['batchFrom'] = 'preset';
  if (userBatch !== undefined) {
    batch = userBatch;
    batchFrom = 'user';
  } else {
    const floor = Math.min(minBatch, n);
    while (batch > floor && Math.floor(n / batch) < minIterationsPerEpoch) batch = Math.max(floor, Math.floor(batch / 2));
    if (batch !== presetBatch) batchFrom = 'fitted';
  }
  const what = peak ? 'peak learn rate' : 'learn rate';
  const head = `batch ${batch} (${n} ${noun})`;
  if (userLearnRate !== undefined) {
    return { miniBatchSize: batch, initialLearnRate: userLearnRate, batchFrom, learnRateFrom: 'user', line: `${head}, ${what} ${round(userLearnRate)} (given)` };
  }
  if (batch === presetBatch) {
    return { miniBatchSize: batch, initialLearnRate: presetLearnRate, batchFrom, learnRateFrom: 'preset', line: `${head}, ${what} ${round(presetLearnRate)} (${rateSource})` };
  }
  const scaling = learnRateScaling(solver);
  const rate = scaleLearnRate(presetLearnRate, presetBatch, batch, scaling);
  const formula = scaling === 'linear' ? `${round(presetLearnRate)} × ${batch}/${presetBatch}` : `${round(presetLearnRate)} × √(${batch}/${presetBatch})`;
  return { miniBatchSize: batch, initialLearnRate: rate, batchFrom, learnRateFrom: scaling, line: `${head}, ${what} ${round(rate)} = ${formula}` };
}

/**
 * Epochs for a run: the preset's, raised on a small data set until training has seen
 * `minObservationsSeen` observations (at most `maxEpochs`). The user's count wins.
 */
export function chooseEpochs({ observations, miniBatchSize, presetEpochs, userEpochs, minObservationsSeen = 7500, maxEpochs = 200 }: {
  observations: number; miniBatchSize: number; presetEpochs: number; userEpochs?: number; minObservationsSeen?: number; maxEpochs?: number;
}): number {
  if (userEpochs !== undefined) return userEpochs;
  // An epoch drops the last partial batch, so it sees this many observations.
  const perEpoch = Math.max(1, Math.floor(observations / miniBatchSize)) * miniBatchSize;
  return Math.max(presetEpochs, Math.min(maxEpochs, Math.ceil(minObservationsSeen / perEpoch)));
}

export interface FittedOptions {
  /** The preset's options with the batch size, learn rate and epochs fitted to the data (and the user's overrides on top). */
  options: TrainingOptionsInput;
  batch: BatchChoice;
  /** Lines for the run's output. */
  lines: string[];
}

/**
 * A preset's training options fitted to `observations` training observations, under the user's
 * `overrides` (which win: an explicit miniBatchSize gets the scaled rate unless initialLearnRate
 * is given too). What `dlkit train` runs.
 */
export function fitPresetToData(recipe: Preset, observations: number, overrides: TrainingOptionsInput = {}, { noun }: { noun?: string } = {}): FittedOptions {
  const base = { ...recipe.options, ...overrides };
  const solver = base.solver ?? 'sgdm';
  const presetBatch = recipe.options.miniBatchSize ?? 128;
  const presetRate = recipe.options.initialLearnRate ?? (solver === 'sgdm' ? 0.01 : 0.001);
  // A preset's rate was tuned for its own solver: another solver starts from that solver's default.
  const solverChanged = overrides.solver !== undefined && overrides.solver !== (recipe.options.solver ?? 'sgdm');
  const batch = chooseBatchAndLearnRate({
    observations, presetBatch, solver, noun,
    presetLearnRate: solverChanged ? (solver === 'sgdm' ? 0.01 : 0.001) : presetRate,
    userBatch: overrides.miniBatchSize, userLearnRate: overrides.initialLearnRate,
    peak: (base.learnRateSchedule ?? 'none') === 'one-cycle', ...(solverChanged && { rateSource: `${solver}'s default` }),
  });
  const presetEpochs = recipe.options.maxEpochs ?? 30;
  const maxEpochs = recipe.minObservationsSeen === undefined ? overrides.maxEpochs ?? presetEpochs
    : chooseEpochs({ observations, miniBatchSize: batch.miniBatchSize, presetEpochs, userEpochs: overrides.maxEpochs, minObservationsSeen: recipe.minObservationsSeen });
  const lines = [batch.line];
  if (overrides.maxEpochs === undefined && maxEpochs !== presetEpochs) lines.push(`${maxEpochs} epochs (the preset's ${presetEpochs} are too few passes over ${observations} ${noun ?? 'training observations'})`);
  return { options: { ...base, miniBatchSize: batch.miniBatchSize, initialLearnRate: batch.initialLearnRate, maxEpochs }, batch, lines };
}
