// Shared test helpers: leak checks and numeric comparison with explicit tolerances.
import assert from 'node:assert/strict';
import { memory, type Tensor } from '../src/index.js';

/**
 * Runs `fn` and asserts the live-tensor count returns to where it started, and that the
 * garbage-collection backstop freed nothing meanwhile: a tensor left for the collector is a
 * leak whether or not the collector happened to run before the count was read.
 */
export async function noLeaks<T>(fn: () => T | Promise<T>): Promise<T> {
  const before = memory();
  const r = await fn();
  const after = memory();
  assert.equal(after.liveTensors, before.liveTensors, `live tensors went from ${before.liveTensors} to ${after.liveTensors}`);
  assert.equal(after.freedByGc, before.freedByGc, `${after.freedByGc - before.freedByGc} tensors were not disposed (the garbage-collection backstop freed them)`);
  return r;
}

/** Asserts shape, then values within atol + rtol * |expected| (tinygrad's order: shape, dtype, values). */
export function assertClose(actual: Tensor | ArrayLike<number>, expected: ArrayLike<number>, { atol = 1e-5, rtol = 1e-4, shape }: { atol?: number; rtol?: number; shape?: readonly number[] } = {}): void {
  let values: ArrayLike<number>;
  if (ArrayBuffer.isView(actual) || Array.isArray(actual)) values = actual as ArrayLike<number>;
  else {
    const t = actual as Tensor;
    if (shape) assert.deepEqual([...t.shape], [...shape], 'shape');
    values = Array.from(t.dataSync() as ArrayLike<number | bigint>, Number);
  }
  assert.equal(values.length, expected.length, `length: got ${values.length}, expected ${expected.length}`);
  let worst = 0;
  let worstAt = -1;
  for (let i = 0; i < expected.length; i++) {
    const a = values[i]!;
    const e = expected[i]!;
    const err = Math.abs(a - e) - (atol + rtol * Math.abs(e));
    if (Number.isNaN(a) !== Number.isNaN(e) || err > worst) { worst = Number.isNaN(a) ? Infinity : err; worstAt = i; }
  }
  if (worstAt >= 0) {
    assert.fail(`values differ at index ${worstAt}: got ${values[worstAt]}, expected ${expected[worstAt]} (atol ${atol}, rtol ${rtol})`);
  }
}
