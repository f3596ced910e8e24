// Small helpers the op handlers share: reading shape-like tensors as numbers, axes, dtypes.
import { callOp, Tensor } from '../../../tensor/tensor.js';
import { dtypeCode, isFloating, type DType } from '../../../tensor/dtype.js';
import { tensor } from '../../../tensor/create.js';

export const op = callOp;

/** The values of a (small) tensor as JS numbers: shapes, axes, starts and ends. */
export function ints(t: Tensor | undefined, what: string): number[] {
  if (!t) throw new TypeError(`input '${what}' is required`);
  const data = t.dataSync();
  return Array.from(data as ArrayLike<number | bigint>, (v) => Number(v));
}

export function scalarOf(t: Tensor): number {
  const data = t.dataSync() as ArrayLike<number | bigint>;
  if (data.length !== 1) throw new RangeError(`expected a single value, got shape [${t.shape.join(', ')}]`);
  return Number(data[0]);
}

/** An axis in [0, rank), from ONNX's negative-allowed form. */
export function axis(a: number, rank: number, what = 'axis'): number {
  const r = a < 0 ? a + rank : a;
  if (!(r >= 0 && r < Math.max(rank, 1))) throw new RangeError(`${what} ${a} is out of range for a ${rank}-D input`);
  return r;
}

export function need(inputs: (Tensor | undefined)[], i: number, name: string): Tensor {
  const t = inputs[i];
  if (!t) throw new TypeError(`input ${i + 1} ('${name}') is required`);
  return t;
}

export const isFloat = (t: Tensor): boolean => isFloating(t.dtype);

/** A copy in `dtype` (a new tensor even when it already has it). */
export function cast(t: Tensor, dtype: DType): Tensor {
  return op('to', 'dtype', t, dtypeCode(dtype), false, true, null);
}

/** A 0-d tensor of the same dtype as `like`. */
export function scalarLike(v: number, like: Tensor): Tensor {
  return tensor([v], { dtype: like.dtype }).reshape([]);
}

/** The int64 tensor of `values`. */
export function int64(values: readonly number[], shape?: readonly number[]): Tensor {
  return tensor(BigInt64Array.from(values, (v) => BigInt(v)), { shape: shape ?? [values.length] });
}
