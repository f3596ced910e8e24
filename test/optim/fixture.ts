// fixtures/optim.json (written by scripts/make-optim-fixtures.py with PyTorch): its format and loader.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export type Solver = 'sgdm' | 'adam' | 'adamw' | 'rmsprop';

export interface OptimizerCase {
  name: string;
  solver: Solver;
  /** dlkit options, as passed to the constructor. */
  options: Record<string, unknown>;
  /** Parameter groups by parameter index, or null for one plain group. */
  groups: { params: number[]; lrFactor?: number; l2Factor?: number }[] | null;
  /** [step, parameter] pairs whose gradient is None at that step. */
  skip: [number, number][];
  /** Parameter values after each step: after[step][param] (flat, row-major). */
  after: number[][][];
}

export interface ScheduleCase {
  name: string;
  schedule: 'oneCycle' | 'cosine';
  options: Record<string, unknown>;
  baseLearnRate: number;
  iterationsPerEpoch: number;
  maxEpochs: number;
  /** PyTorch's learn rate before each iteration. */
  learnRates: number[];
}

export interface OptimFixture {
  generator: string;
  optimizers: {
    shapes: number[][];
    initial: number[][];
    /** grads[step][param], flat. */
    grads: number[][][];
    cases: OptimizerCase[];
  };
  schedules: ScheduleCase[];
}

/** Reads fixtures/optim.json, looking upwards from this file (it runs from dist/test/optim). */
export function loadOptimFixture(): OptimFixture {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const file = path.join(dir, 'fixtures', 'optim.json');
    if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8')) as OptimFixture;
    const up = path.dirname(dir);
    if (up === dir) throw new Error('fixtures/optim.json not found: run /usr/bin/python3 scripts/make-optim-fixtures.py');
    dir = up;
  }
}
