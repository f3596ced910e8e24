// Creating tensors: from JS data, filled, ranges and random draws.
import { native } from '../native/binding.js';
import { dtypeCode, dtypeOfArray, type DType } from './dtype.js';
import { Tensor, callOp } from './tensor.js';

export interface CreateOptions {
  dtype?: DType;
  device?: string;
  requiresGrad?: boolean;
}

type Nested = number | boolean | Nested[];

function inferShape(data: Nested, what: string): number[] {
  const shape: number[] = [];
  let cur: Nested = data;
  while (Array.isArray(cur)) {
    shape.push(cur.length);
    if (cur.length === 0) break;
    cur = cur[0]!;
  }
  // Check every row has the same length: ragged input is an error, not a silent reshape.
  const check = (x: Nested, d: number, path: string) => {
    if (d === shape.length) {
      if (Array.isArray(x)) throw new TypeError(`${what}: ragged nested array at ${path}: expected a number, got an array`);
      return;
    }
    if (!Array.isArray(x) || x.length !== shape[d]) {
      throw new TypeError(`${what}: ragged nested array at ${path}: expected length ${shape[d]}, got ${Array.isArray(x) ? x.length : 'a number'}`);
    }
    x.forEach((y, i) => check(y, d + 1, `${path}[${i}]`));
  };
  check(data, 0, 'data');
  return shape;
}

function finish(t: Tensor, options: CreateOptions): Tensor {
  let out = t;
  if (options.device && options.device !== 'cpu') {
    out = t.to({ device: options.device });
    t.dispose();
  }
  if (options.requiresGrad) out.requiresGrad_(true);
  return out;
}

/**
 * A tensor from nested arrays, a typed array or a number. Numbers default to float32, booleans
 * to bool; typed arrays keep their type unless `dtype` says otherwise.
 */
export function tensor(data: Nested | ArrayBufferView, options: CreateOptions & { shape?: readonly number[] } = {}): Tensor {
  if (ArrayBuffer.isView(data)) {
    const own = dtypeOfArray(data);
    const shape = options.shape ?? [(data as unknown as ArrayLike<unknown>).length];
    const count = shape.reduce((a, b) => a * b, 1);
    if (count !== (data as unknown as ArrayLike<unknown>).length) {
      throw new RangeError(`tensor: shape [${shape.join(', ')}] holds ${count} values, the array has ${(data as unknown as ArrayLike<unknown>).length}`);
    }
    let t = new Tensor(native.fromBuffer(data, shape, dtypeCode(own)));
    if (options.dtype && options.dtype !== own) {
      const c = t.to(options.dtype);
      t.dispose();
      t = c;
    }
    return finish(t, options);
  }
  const shape = inferShape(data, 'tensor');
  const flat = (Array.isArray(data) ? (data as unknown[]).flat(Infinity) : [data]) as (number | boolean)[];
  const isBool = flat.length > 0 && typeof flat[0] === 'boolean';
  const dtype: DType = options.dtype ?? (isBool ? 'bool' : 'float32');
  let t: Tensor;
  switch (dtype) {
    case 'float64': t = new Tensor(native.fromBuffer(Float64Array.from(flat, Number), shape, dtypeCode('float64'))); break;
    case 'int32': t = new Tensor(native.fromBuffer(Int32Array.from(flat, Number), shape, dtypeCode('int32'))); break;
    case 'int64': t = new Tensor(native.fromBuffer(BigInt64Array.from(flat, (v) => BigInt(Math.trunc(Number(v)))), shape, dtypeCode('int64'))); break;
    case 'uint8': t = new Tensor(native.fromBuffer(Uint8Array.from(flat, Number), shape, dtypeCode('uint8'))); break;
    case 'bool': t = new Tensor(native.fromBuffer(Uint8Array.from(flat, (v) => (v ? 1 : 0)), shape, dtypeCode('bool'))); break;
    default: {
      const f = new Tensor(native.fromBuffer(Float32Array.from(flat, Number), shape, dtypeCode('float32')));
      if (dtype === 'float32') t = f;
      else { t = f.to(dtype); f.dispose(); }
    }
  }
  return finish(t, options);
}

const dt = (o: CreateOptions, fallback: DType = 'float32') => dtypeCode(o.dtype ?? fallback);

export function zeros(shape: readonly number[], options: CreateOptions = {}): Tensor {
  return finish(callOp('zeros', '', [...shape], dt(options)), options);
}
export function ones(shape: readonly number[], options: CreateOptions = {}): Tensor {
  return finish(callOp('ones', '', [...shape], dt(options)), options);
}
export function full(shape: readonly number[], value: number, options: CreateOptions = {}): Tensor {
  return finish(callOp('full', '', [...shape], { float: value }, dt(options)), options);
}
export function empty(shape: readonly number[], options: CreateOptions = {}): Tensor {
  return finish(callOp('empty', 'memory_format', [...shape], dt(options)), options);
}
export function zerosLike(t: Tensor, options: CreateOptions = {}): Tensor {
  return finish(callOp('zeros_like', '', t, options.dtype ? dtypeCode(options.dtype) : null), options);
}
export function onesLike(t: Tensor, options: CreateOptions = {}): Tensor {
  return finish(callOp('ones_like', '', t, options.dtype ? dtypeCode(options.dtype) : null), options);
}
/** start, start+step, … below end. Whole-number arguments give int64, as PyTorch. */
export function arange(start: number, end?: number, step = 1, options: CreateOptions = {}): Tensor {
  if (end === undefined) { end = start; start = 0; }
  const ints = [start, end, step].every(Number.isInteger);
  return finish(callOp('arange', 'start_step', start, end, step, dt(options, ints ? 'int64' : 'float32')), options);
}
export function linspace(start: number, end: number, steps: number, options: CreateOptions = {}): Tensor {
  return finish(callOp('linspace', '', { float: start }, { float: end }, steps, dt(options)), options);
}
export function eye(n: number, m = n, options: CreateOptions = {}): Tensor {
  return finish(callOp('eye', 'm', n, m, dt(options)), options);
}
/** Uniform on [0, 1). */
export function rand(shape: readonly number[], options: CreateOptions = {}): Tensor {
  return finish(callOp('rand', '', [...shape], dt(options)), options);
}
/** Standard normal. */
export function randn(shape: readonly number[], options: CreateOptions = {}): Tensor {
  return finish(callOp('randn', '', [...shape], dt(options)), options);
}
/** Integers in [low, high). */
export function randint(low: number, high: number, shape: readonly number[], options: CreateOptions = {}): Tensor {
  return finish(callOp('randint', 'low', low, high, [...shape], dt(options, 'int64')), options);
}
/** A random permutation of 0..n-1. */
export function randperm(n: number, options: CreateOptions = {}): Tensor {
  return finish(callOp('randperm', '', n, dt(options, 'int64')), options);
}

// ---- combining ----
export function cat(tensors: readonly Tensor[], dim = 0): Tensor {
  return callOp('cat', '', [...tensors], dim);
}
export function stack(tensors: readonly Tensor[], dim = 0): Tensor {
  return callOp('stack', '', [...tensors], dim);
}
/** Elementwise choice: x where cond is true, y elsewhere. */
export function where(cond: Tensor, x: Tensor, y: Tensor): Tensor {
  return callOp('where', 'self', cond, x, y);
}
