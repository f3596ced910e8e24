// Training options, validated by a schema (zod): an unknown or out-of-range option is an error
// that names it, with the expected range and the value given.
import { z } from 'zod';
import type { Datastore } from '../data/datastore.js';
import type { Tensor } from '../tensor/tensor.js';

const isDatastore = (v: unknown): v is Datastore =>
  typeof v === 'object' && v !== null && typeof (v as Datastore).batches === 'function' && typeof (v as Datastore).size === 'number';

export const SOLVERS = ['sgdm', 'adam', 'adamw', 'rmsprop'] as const;
export const SCHEDULES = ['none', 'piecewise', 'cosine', 'one-cycle'] as const;

export const trainingOptionsSchema = z.strictObject({
  solver: z.enum(SOLVERS).default('sgdm'),
  /** Default: 0.01 for sgdm, 0.001 for adam/adamw/rmsprop. */
  initialLearnRate: z.number().positive().finite().optional(),
  maxEpochs: z.number().int().min(1).default(30),
  miniBatchSize: z.number().int().min(1).default(128),
  momentum: z.number().min(0).max(1).default(0.9),
  /** L2 weight decay (coupled; AdamW decouples it). */
  l2Regularization: z.number().min(0).default(1e-4),
  learnRateSchedule: z.enum(SCHEDULES).default('none'),
  /** piecewise: multiply the rate by this every learnRateDropPeriod epochs. */
  learnRateDropFactor: z.number().min(0).max(1).default(0.1),
  learnRateDropPeriod: z.number().int().min(1).default(10),
  /** one-cycle: peak rate as a multiple of initialLearnRate... the peak IS initialLearnRate. */
  warmupEpochs: z.number().min(0).default(0),
  /** Clip the global L2 norm of the gradients to this (Infinity: no clipping). */
  gradientThreshold: z.number().positive().or(z.literal(Infinity)).default(Infinity),
  shuffle: z.enum(['every-epoch', 'once', 'never']).default('every-epoch'),
  validationData: z.custom<Datastore>(isDatastore, { message: 'must be a datastore' }).optional(),
  /** Validate every this many iterations (and at the end of every epoch). */
  validationFrequency: z.number().int().min(1).default(50),
  /** Stop when validation loss has not improved this many validations in a row. */
  validationPatience: z.number().int().min(1).or(z.literal(Infinity)).default(Infinity),
  /** Which network to return: the last one, or the one with the lowest validation loss. */
  outputNetwork: z.enum(['last-iteration', 'best-validation-loss']).default('last-iteration'),
  /** Folder for checkpoints (written atomically at the end of every epoch and on Ctrl-C). */
  checkpointPath: z.string().min(1).optional(),
  checkpointFrequency: z.number().int().min(1).default(1),
  /** A checkpoint file to continue from (the same schedule continues). */
  resume: z.string().min(1).optional(),
  seed: z.number().int().min(0).optional(),
  executionEnvironment: z.enum(['auto', 'cpu', 'gpu']).default('auto'),
  /**
   * Arithmetic of the forward pass. 'float32' (default): everything in float32.
   * 'bfloat16-mixed': convolutions and matrix products in bfloat16 (weights, gradients and the
   * optimizer stay float32), several times faster on CPUs with bfloat16 instructions.
   * 'auto': 'bfloat16-mixed' when the CPU has those instructions, else 'float32'.
   * Validation during training runs in the same precision; classify, predict and evaluate run
   * in float32.
   */
  precision: z.enum(['auto', 'float32', 'bfloat16-mixed']).default('float32'),
  /** Progress table (and bar in a terminal). Default: on when stdout is a terminal. */
  verbose: z.boolean().optional(),
  verboseFrequency: z.number().int().min(1).default(50),
  plots: z.enum(['none', 'training-progress']).default('none'),
  /** Port of the live training-progress page (0 picks a free one). */
  plotsPort: z.number().int().min(0).max(65535).default(0),
  /** Folder for the saved training-progress chart (PNG and HTML). Default: checkpointPath or the working directory. */
  reportPath: z.string().min(1).optional(),
  labelSmoothing: z.number().min(0).max(1).default(0),
  /**
   * The task's loss in place of cross-entropy on class indices: `(output, targets) => scalar`,
   * where `output` is the network's output in training mode and `targets` the batch's `y` (any
   * dtype and shape: a detector's encoded boxes, a sequence's masked labels). With it no accuracy is
   * computed (reported as '—') and the output need not have one value per class.
   */
  lossFunction: z.custom<TrainingLossFunction>((v) => typeof v === 'function', { message: 'must be a function (output, targets) => scalar loss tensor' }).optional(),
  /** Called with each warning about the run (also in the result's `warnings`, and printed when verbose). */
  onWarning: z.custom<(warning: TrainingWarning) => void>((v) => typeof v === 'function', { message: 'must be a function' }).optional(),
  /** Called after every iteration with its record; return false to stop training. */
  onIteration: z.custom<(info: IterationInfo) => boolean | void>((v) => typeof v === 'function', { message: 'must be a function' }).optional(),
});

/** A task's loss: the network's output and the batch's targets to a scalar tensor. */
export type TrainingLossFunction = (output: Tensor, targets: Tensor) => Tensor;

export type TrainingOptionsInput = z.input<typeof trainingOptionsSchema>;
export type TrainingOptions = z.output<typeof trainingOptionsSchema>;

/** Something about a run the user should know: 'not-learning' when an epoch's loss stayed at or above a uniform guess's. */
export interface TrainingWarning {
  kind: 'not-learning';
  /** 1-based epoch the warning was raised at (the last of the epochs it judged). */
  epoch: number;
  /** Global iterations done when it was raised. */
  iteration: number;
  message: string;
}

export interface IterationInfo {
  epoch: number; // 1-based
  iteration: number; // 1-based, global
  loss: number;
  accuracy: number;
  learnRate: number;
  elapsed: number; // seconds
  validationLoss?: number;
  validationAccuracy?: number;
}

const show = (v: unknown) => (typeof v === 'string' ? `'${v}'` : typeof v === 'function' ? 'a function' : typeof v === 'object' && v !== null ? 'an object' : String(v));

function closest(name: string, known: string[]): string | undefined {
  const dist = (a: string, b: string) => {
    const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array(b.length).fill(0)]);
    for (let j = 1; j <= b.length; j++) d[0]![j] = j;
    for (let i = 1; i <= a.length; i++) for (let j = 1; j <= b.length; j++) {
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + (a[i - 1]!.toLowerCase() === b[j - 1]!.toLowerCase() ? 0 : 1));
    }
    return d[a.length]![b.length]!;
  };
  let best: string | undefined;
  let bestD = Infinity;
  for (const k of known) { const dd = dist(name, k); if (dd < bestD) { bestD = dd; best = k; } }
  return bestD <= Math.max(2, name.length / 3) ? best : undefined;
}

const ALIASES: Record<string, string> = {
  learningRate: 'initialLearnRate', learnRate: 'initialLearnRate', lr: 'initialLearnRate', epochs: 'maxEpochs',
  batchSize: 'miniBatchSize', weightDecay: 'l2Regularization', optimizer: 'solver', patience: 'validationPatience',
};

/** What the options that are a union of schemas accept (zod reports only 'invalid_union'). */
const UNION_EXPECTED: Record<string, string> = {
  validationPatience: 'a whole number >= 1 or Infinity',
  gradientThreshold: 'a number > 0 or Infinity',
};

/** Validates options; the error lists every problem, each naming its option. */
export function parseTrainingOptions(input: unknown, where = 'trainNetwork'): TrainingOptions {
  if (input !== undefined && input !== null && (typeof input !== 'object' || Array.isArray(input))) {
    throw new TypeError(`${where}: options must be an object ({ solver, initialLearnRate, maxEpochs, … }), got ${Array.isArray(input) ? 'an array' : show(input)}`);
  }
  const r = trainingOptionsSchema.safeParse(input ?? {});
  if (r.success) return r.data;
  const known = Object.keys(trainingOptionsSchema.shape);
  const raw = (input ?? {}) as Record<string, unknown>;
  const problems = r.error.issues.map((issue) => {
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((k) => {
        const hint = ALIASES[k] ?? closest(k, known);
        return `unknown option '${k}'${hint ? ` (did you mean '${hint}'?)` : ''}`;
      }).join('; ');
    }
    const name = issue.path.join('.');
    const got = show(raw[String(issue.path[0])]);
    let expected = issue.message;
    if (issue.code === 'too_small' && issue.origin === 'string') expected = 'must be a non-empty string';
    else if (issue.code === 'too_small') expected = `must be ${issue.inclusive ? '>=' : '>'} ${issue.minimum}`;
    else if (issue.code === 'too_big') expected = `must be ${issue.inclusive ? '<=' : '<'} ${issue.maximum}`;
    else if (issue.code === 'invalid_value') expected = `must be one of ${issue.values.map((v) => show(v)).join(', ')}`;
    else if (issue.code === 'invalid_type' && issue.expected === 'number' && typeof raw[String(issue.path[0])] === 'number') expected = 'must be a finite number';
    else if (issue.code === 'invalid_type') expected = `must be ${issue.expected === 'int' ? 'a whole number' : issue.expected === 'object' ? 'an object' : `a ${issue.expected}`}`;
    else if (issue.code === 'invalid_union') expected = `must be ${UNION_EXPECTED[name] ?? 'valid'}`;
    return `option '${name}' ${expected.replace(/^Invalid input: /, '')}, got ${got}`;
  });
  throw new RangeError(`${where}: ${problems.join('; ')}`);
}
