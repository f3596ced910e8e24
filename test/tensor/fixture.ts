// Reference fixtures written by scripts/make-fixtures.py with PyTorch (see that script for the
// format): loading them, and checking one case against a table entry. Shared by
// test/nn/functional.test.ts and test/tensor/ops.test.ts. Order of checks, per output: shape,
// then dtype, then values within explicit tolerances; then the gradients.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as dl from '../../src/index.js';
import type { Tensor } from '../../src/index.js';
import { assertClose, noLeaks } from '../helpers.js';

export interface FixtureTensor {
  shape: number[];
  dtype: 'float32' | 'float64' | 'int64' | 'bool';
  data: (number | boolean)[];
}

export interface FixtureCase {
  name: string;
  /** The dlkit function or method the table maps to a call. */
  fn: string;
  /** The PyTorch expression that produced the numbers. */
  torch: string;
  options: Record<string, any>;
  inputs: Record<string, FixtureTensor>;
  outputs: Record<string, FixtureTensor>;
  upstream: Record<string, FixtureTensor>;
  grads: Record<string, FixtureTensor>;
  notDifferentiable?: string[];
}

export interface FixtureFile {
  generator: string;
  torch: string;
  seed: number;
  description: string;
  cases: FixtureCase[];
}

export interface Tolerance {
  atol: number;
  rtol: number;
}

/**
 * Default tolerances. float32: dlkit and the fixtures run the same libtorch 1.13 kernels, but
 * with different thread counts (PyTorch wrote them single-threaded), so reductions may sum in
 * another order: a few float32 ulps of the largest term. Measured: every case agrees within
 * atol 1e-6 / rtol 1e-5 (conv weight gradients differ by up to ~6e-7), so the defaults leave
 * a 10x margin without hiding a wrong argument. float64 values are written exactly.
 */
export const TOLERANCE: Record<'float32' | 'float64', Tolerance> = {
  float32: { atol: 1e-5, rtol: 1e-4 },
  float64: { atol: 1e-12, rtol: 1e-10 },
};

/** What a table entry's call may return: one tensor, a list, or named tensors. */
export type Result = Tensor | Tensor[] | { [name: string]: Tensor };
export type Inputs = Record<string, Tensor>;

export interface Entry {
  call: (x: Inputs, options: any) => Result;
  /** Looser float32 tolerance for this op, with the reason in `why`. */
  tol?: Tolerance;
  why?: string;
}

function projectRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'package.json'))) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error('fixtures: no package.json above the test file');
    dir = up;
  }
  return dir;
}

export function loadFixtures(file: string): FixtureFile {
  const p = path.join(projectRoot(), 'fixtures', file);
  if (!existsSync(p)) throw new Error(`missing ${p}: run \`npm run fixtures\` (/usr/bin/python3 scripts/make-fixtures.py)`);
  return JSON.parse(readFileSync(p, 'utf8')) as FixtureFile;
}

export function fixtureTensor(f: FixtureTensor): Tensor {
  const shape = f.shape;
  switch (f.dtype) {
    case 'float32': return dl.tensor(Float32Array.from(f.data as number[]), { shape });
    case 'float64': return dl.tensor(Float64Array.from(f.data as number[]), { shape });
    case 'int64': return dl.tensor(BigInt64Array.from(f.data as number[], (v) => BigInt(v)), { shape });
    case 'bool': return dl.tensor(Uint8Array.from(f.data as boolean[], (v) => (v ? 1 : 0)), { shape, dtype: 'bool' });
  }
}

function named(r: Result): Record<string, Tensor> {
  if (r instanceof dl.Tensor) return { out: r };
  if (Array.isArray(r)) return Object.fromEntries(r.map((t, i) => [String(i), t]));
  return r;
}

/** Shape, then dtype, then values (exact for integers and booleans). */
export function compareTensor(what: string, actual: Tensor | null | undefined, expected: FixtureTensor, tol: Tolerance): void {
  assert.ok(actual, `${what}: missing`);
  assert.deepEqual([...actual.shape], expected.shape, `${what}: shape`);
  assert.equal(actual.dtype, expected.dtype, `${what}: dtype`);
  const want = expected.data.map(Number);
  const exact = expected.dtype === 'int64' || expected.dtype === 'bool';
  try {
    assertClose(actual, want, exact ? { atol: 0, rtol: 0 } : tol);
  } catch (e) {
    throw new assert.AssertionError({ message: `${what}: ${(e as Error).message}` });
  }
}

/**
 * Runs one fixture case through its table entry: builds the inputs (requiresGrad on those
 * PyTorch differentiated), calls, compares every output, then back-propagates
 * sum(output * upstream) and compares each input's .grad. Everything the case creates is
 * disposed, and the live-tensor count must return to its start.
 */
export async function checkCase(c: FixtureCase, entry: Entry | undefined): Promise<void> {
  assert.ok(entry, `no table entry for '${c.fn}' (case ${c.name})`);
  await noLeaks(() => {
    const inputs: Inputs = {};
    try {
      for (const [k, f] of Object.entries(c.inputs)) inputs[k] = fixtureTensor(f);
      for (const k of Object.keys(c.grads)) inputs[k]!.requiresGrad_();
      dl.tidy(() => {
        const got = named(entry.call(inputs, c.options));
        assert.deepEqual(Object.keys(got).sort(), Object.keys(c.outputs).sort(), `${c.name}: output names`);
        const tolFor = (dtype: string) => (dtype === 'float64' ? TOLERANCE.float64 : entry.tol ?? TOLERANCE.float32);
        for (const [k, want] of Object.entries(c.outputs)) compareTensor(`${c.name}: output '${k}'`, got[k], want, tolFor(want.dtype));
        if (Object.keys(c.grads).length === 0) return;
        // sum_k sum(output_k * upstream_k), as the script's torch.autograd.grad
        const terms = Object.entries(c.upstream).map(([k, u]) => got[k]!.mul(fixtureTensor(u)).sum());
        terms.reduce((a, b) => a.add(b)).backward();
        for (const [k, want] of Object.entries(c.grads)) compareTensor(`${c.name}: grad of '${k}'`, inputs[k]!.grad, want, tolFor(want.dtype));
      });
    } finally {
      dl.dispose(inputs);
    }
  });
}
