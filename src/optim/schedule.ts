// Learn-rate schedules: pure functions of training progress that return a multiplier of the
// base learn rate. The trainer sets `optimizer.learnRate = base * schedule(state)` before every
// iteration, so a resumed run continues the same schedule from its iteration count alone.
import { checkNumber, show } from './validate.js';

export interface ScheduleState {
  /** Global iteration, 0-based, counted over the whole run. */
  iteration: number;
  /** Epoch, 0-based. */
  epoch: number;
  iterationsPerEpoch: number;
  maxEpochs: number;
}

/** A learn-rate schedule: the multiplier of the base learn rate at this point of training. */
export type Schedule = (state: ScheduleState) => number;

/** Iterations in the whole run, checking the state a schedule over the whole run needs. */
function totalIterations(where: string, s: ScheduleState): number {
  checkNumber(where, 'state.iterationsPerEpoch', s.iterationsPerEpoch, { min: 1, integer: true });
  checkNumber(where, 'state.maxEpochs', s.maxEpochs, { min: 1, integer: true });
  checkNumber(where, 'state.iteration', s.iteration, { min: 0, integer: true });
  return s.iterationsPerEpoch * s.maxEpochs;
}

/** The base learn rate throughout (factor 1). */
export function constant(): Schedule {
  return () => 1;
}

export interface PiecewiseOptions {
  /** Multiplies the learn rate at every drop, in [0, 1]. Default 0.1 (MATLAB's). */
  dropFactor?: number;
  /** Epochs between drops, a positive integer. Default 10 (MATLAB's). */
  dropPeriod?: number;
}

/**
 * MATLAB's 'piecewise' schedule: dropFactor ^ floor(epoch / dropPeriod), so with dropPeriod 10
 * epochs 0–9 use the base rate, 10–19 base × dropFactor, and so on.
 */
export function piecewise(options: PiecewiseOptions = {}): Schedule {
  const where = 'piecewise';
  const dropFactor = checkNumber(where, 'dropFactor', options.dropFactor ?? 0.1, { min: 0, max: 1 });
  const dropPeriod = checkNumber(where, 'dropPeriod', options.dropPeriod ?? 10, { min: 1, integer: true });
  return (s) => {
    checkNumber(where, 'state.epoch', s.epoch, { min: 0, integer: true });
    return dropFactor ** Math.floor(s.epoch / dropPeriod);
  };
}

export interface CosineOptions {
  /** The factor at the end of the run, in [0, 1]. Default 0. */
  minFactor?: number;
}

/**
 * Cosine annealing per iteration over the whole run (torch.optim.lr_scheduler.CosineAnnealingLR
 * with T_max = iterationsPerEpoch × maxEpochs and eta_min = minFactor × base):
 * minFactor + (1 - minFactor) × (1 + cos(π × iteration / total)) / 2.
 */
export function cosine(options: CosineOptions = {}): Schedule {
  const where = 'cosine';
  const minFactor = checkNumber(where, 'minFactor', options.minFactor ?? 0, { min: 0, max: 1 });
  return (s) => {
    const total = totalIterations(where, s);
    const t = Math.min(s.iteration, total);
    return minFactor + ((1 - minFactor) * (1 + Math.cos((Math.PI * t) / total))) / 2;
  };
}

export interface OneCycleOptions {
  /** The peak factor (PyTorch's max_lr relative to the base rate), > 0. Default 1. */
  maxFactor?: number;
  /** Fraction of the run spent rising to the peak, in [0, 1]. Default 0.3. */
  pctStart?: number;
  /** The start is maxFactor / divFactor; > 0. Default 25. */
  divFactor?: number;
  /** The end is the start / finalDivFactor; > 0. Default 1e4. */
  finalDivFactor?: number;
  /** 'cos' (default) or 'linear' interpolation within each phase. */
  anneal?: 'cos' | 'linear';
}

/**
 * The one-cycle policy per iteration over the whole run, as torch.optim.lr_scheduler.OneCycleLR
 * (two phases, same step arithmetic): from maxFactor / divFactor up to maxFactor over the first
 * pctStart of the iterations, then down to maxFactor / divFactor / finalDivFactor at the last.
 * (OneCycleLR also cycles momentum; this schedule sets the learn rate only.)
 */
export function oneCycle(options: OneCycleOptions = {}): Schedule {
  const where = 'oneCycle';
  const maxFactor = checkNumber(where, 'maxFactor', options.maxFactor ?? 1, { min: 0, minOpen: true });
  const pctStart = checkNumber(where, 'pctStart', options.pctStart ?? 0.3, { min: 0, max: 1 });
  const divFactor = checkNumber(where, 'divFactor', options.divFactor ?? 25, { min: 0, minOpen: true });
  const finalDivFactor = checkNumber(where, 'finalDivFactor', options.finalDivFactor ?? 1e4, { min: 0, minOpen: true });
  const anneal = options.anneal ?? 'cos';
  if (anneal !== 'cos' && anneal !== 'linear') throw new RangeError(`${where}: anneal must be 'cos' or 'linear', got ${show(anneal)}`);
  const interpolate = anneal === 'cos'
    ? (start: number, end: number, pct: number) => end + ((start - end) / 2) * (Math.cos(Math.PI * pct) + 1)
    : (start: number, end: number, pct: number) => (end - start) * pct + start;
  const initial = maxFactor / divFactor;
  const min = initial / finalDivFactor;
  return (s) => {
    const total = totalIterations(where, s);
    const step = Math.min(s.iteration, total - 1); // past the end: stay at the last value
    const phases = [
      { end: pctStart * total - 1, from: initial, to: maxFactor },
      { end: total - 1, from: maxFactor, to: min },
    ];
    let start = 0;
    for (let i = 0; i < phases.length; i++) {
      const phase = phases[i]!;
      if (step <= phase.end || i === phases.length - 1) {
        const span = phase.end - start;
        // A phase of zero length (PyTorch divides by zero there) is already complete.
        return interpolate(phase.from, phase.to, span > 0 ? (step - start) / span : 1);
      }
      start = phase.end;
    }
    return min; // unreachable: the last phase always returns
  };
}

export interface WarmupOptions {
  /** Length of the warm-up in epochs (>= 0; fractions allowed, rounded up to whole iterations; 0: none). */
  epochs?: number;
  /** Length of the warm-up in iterations (an integer >= 0; 0: none). */
  iterations?: number;
}

/**
 * Linear warm-up in front of `inner`: over the first W iterations the factor is
 * inner(state) × (iteration + 1) / W (so the first iteration uses 1/W of it and iteration W - 1
 * all of it); from iteration W on it is inner(state) unchanged. The inner schedule keeps its own
 * clock, so a piecewise drop at epoch 10 still happens at epoch 10. Give `epochs` or `iterations`.
 */
export function warmup(inner: Schedule, options: WarmupOptions): Schedule {
  const where = 'warmup';
  if (typeof inner !== 'function') throw new TypeError(`${where}: inner must be a schedule (a function of the training state), got ${show(inner)}`);
  const { epochs, iterations } = options ?? {};
  if ((epochs === undefined) === (iterations === undefined)) {
    throw new TypeError(`${where}: give exactly one of epochs or iterations, got ${epochs === undefined ? 'neither' : `epochs ${show(epochs)} and iterations ${show(iterations)}`}`);
  }
  if (epochs !== undefined) checkNumber(where, 'epochs', epochs, { min: 0 });
  if (iterations !== undefined) checkNumber(where, 'iterations', iterations, { min: 0, integer: true });
  return (s) => {
    const factor = inner(s);
    let length = iterations;
    if (length === undefined) {
      checkNumber(where, 'state.iterationsPerEpoch', s.iterationsPerEpoch, { min: 1, integer: true });
      length = Math.ceil(epochs! * s.iterationsPerEpoch);
    }
    return s.iteration < length ? (factor * (s.iteration + 1)) / length : factor;
  };
}

/** The factor at every iteration of a run, e.g. to plot a schedule or check it in a test. */
export function sampleSchedule(schedule: Schedule, run: { iterationsPerEpoch: number; maxEpochs: number }): number[] {
  const ipe = checkNumber('sampleSchedule', 'iterationsPerEpoch', run.iterationsPerEpoch, { min: 1, integer: true });
  const maxEpochs = checkNumber('sampleSchedule', 'maxEpochs', run.maxEpochs, { min: 1, integer: true });
  const out: number[] = [];
  for (let iteration = 0; iteration < ipe * maxEpochs; iteration++) {
    out.push(schedule({ iteration, epoch: Math.floor(iteration / ipe), iterationsPerEpoch: ipe, maxEpochs }));
  }
  return out;
}
