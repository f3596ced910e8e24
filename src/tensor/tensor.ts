// The Tensor class: a handle to a libtorch tensor plus the methods users call on it.
// Every method is one generic op call by name (native/ops.cc); the TypeScript side chooses the
// overload (add.Tensor vs add.Scalar), converts Python conveniences (reduction names, memory
// formats) and adds shapes to libtorch's error messages.
import { native, type Handle } from '../native/binding.js';
import { dtypeCode, dtypeName, typedArrayFor, MemoryFormat, type DType, type TypedArray } from './dtype.js';
import { keep, track, untrack, type Scope, type Tracked } from './memory.js';
import { formatTensor } from './format.js';

export type Scalar = number | boolean;
export type TensorLike = Tensor | Scalar;
/** One entry of an index: a position, a 'start:stop:step' slice, a slice object, an index tensor, or null (new axis). */
export type IndexSpec = number | string | { start?: number; stop?: number; step?: number } | Tensor | null;

// ---- generic op calls -------------------------------------------------------

// name -> overload -> id. Two levels so that the keys are the callers' literal strings, whose
// hashes V8 keeps (a concatenated key was hashed anew on every call).
const opIds = new Map<string, Map<string, number>>();

function lookup(name: string, overload: string): number {
  let byOverload = opIds.get(name);
  if (byOverload === undefined) opIds.set(name, (byOverload = new Map()));
  let id = byOverload.get(overload);
  if (id === undefined) {
    id = native.opLookup(name, overload);
    byOverload.set(overload, id);
  }
  return id;
}

function toNativeArg(a: unknown): unknown {
  if (a instanceof Tensor) return a.handle;
  if (Array.isArray(a) && a.length > 0 && (a[0] instanceof Tensor || a.some((x) => x instanceof Tensor))) {
    return a.map((x) => (x instanceof Tensor ? x.handle : x));
  }
  return a;
}

function describeArg(a: unknown): string {
  if (a instanceof Tensor) return a.isDisposed ? 'disposed tensor' : `[${a.shape.join(', ')}] ${a.dtype}`;
  if (Array.isArray(a) && a.some((x) => x instanceof Tensor)) return `[${a.map(describeArg).join(', ')}]`;
  return JSON.stringify(a) ?? String(a);
}

function enrich(err: unknown, id: number, op: string, args: unknown[]): Error {
  const e = err instanceof Error ? err : new Error(String(err));
  // Native errors already start with the op; those raised in JS (a disposed argument) do not.
  if (!e.message.startsWith(`${op}:`)) e.message = `${op}: ${e.message}`;
  if (!args.some((a) => a instanceof Tensor || Array.isArray(a))) return e;
  let names: string[] = [];
  try { names = native.opArgNames(id); } catch { /* keep positional */ }
  const parts = args
    .map((a, i) => (a instanceof Tensor || (Array.isArray(a) && a.some((x) => x instanceof Tensor)) ? `${names[i] ?? `#${i}`}: ${describeArg(a)}` : null))
    .filter((p) => p !== null);
  e.message = `${e.message} (tensor arguments: ${parts.join('; ')})`;
  return e;
}

function wrapResult(r: unknown, args: unknown[]): unknown {
  if (r === null || r === undefined) return r;
  if (typeof r === 'bigint') {
    // An in-place op hands back the argument's own handle: return the argument's own Tensor.
    for (let i = 0; i < args.length; i++) {
      const a = args[i];
      if (a instanceof Tensor && a.handle === r) { a.invalidateMeta(); return a; }
    }
    return new Tensor(r as Handle);
  }
  if (Array.isArray(r)) return r.map((x) => wrapResult(x, args));
  return r;
}

/** Calls an ATen operator by name ('add', overload 'Tensor'); tensors in and out are wrapped. */
export function callOp<T = Tensor>(name: string, overload: string, ...args: unknown[]): T {
  const id = lookup(name, overload);
  let r: unknown;
  try {
    // By arity: no array of converted arguments and no spread call for the common cases.
    switch (args.length) {
      case 0: r = native.call(id); break;
      case 1: r = native.call(id, toNativeArg(args[0])); break;
      case 2: r = native.call(id, toNativeArg(args[0]), toNativeArg(args[1])); break;
      case 3: r = native.call(id, toNativeArg(args[0]), toNativeArg(args[1]), toNativeArg(args[2])); break;
      case 4: r = native.call(id, toNativeArg(args[0]), toNativeArg(args[1]), toNativeArg(args[2]), toNativeArg(args[3])); break;
      default: r = native.call(id, ...args.map(toNativeArg));
    }
  } catch (err) {
    throw enrich(err, id, `${name.includes('::') ? name : `aten::${name}`}${overload ? `.${overload}` : ''}`, args);
  }
  return wrapResult(r, args) as T;
}

/** The schema libtorch gives for an operator, e.g. opSchema('conv2d'). */
export function opSchema(name: string, overload = ''): string {
  return native.opSchema(lookup(name, overload));
}

/**
 * For the checks TypeScript ops make before calling libtorch: `value` must be a live Tensor.
 * Names the op and the argument (a JS caller may pass anything).
 */
export function checkTensor(op: string, arg: string, value: unknown): asserts value is Tensor {
  if (!(value instanceof Tensor)) {
    const got = value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value;
    throw new TypeError(`${op}: argument '${arg}' expects a tensor, got ${got}`);
  }
  if (value.isDisposed) throw new Error(`${op}: argument '${arg}' is a tensor that was disposed`);
}

const isTensor = (x: unknown): x is Tensor => x instanceof Tensor;
const dimsOf = (dim: number | readonly number[]): number[] => (typeof dim === 'number' ? [dim] : [...dim]);

function parseSlice(spec: string, what: string): { start?: number; stop?: number; step?: number } {
  const parts = spec.split(':').map((p) => p.trim());
  if (parts.length < 2 || parts.length > 3) throw new TypeError(`${what}: '${spec}' is not a slice; expected 'start:stop' or 'start:stop:step'`);
  const num = (p: string | undefined) => {
    if (p === undefined || p === '') return undefined;
    const n = Number(p);
    if (!Number.isInteger(n)) throw new TypeError(`${what}: '${spec}' is not a slice; '${p}' is not an integer`);
    return n;
  };
  return { start: num(parts[0]), stop: num(parts[1]), step: num(parts[2]) };
}

// ---- Tensor -------------------------------------------------------------------

export class Tensor implements Tracked {
  #handle: Handle | null;
  #shape: number[] | undefined;
  #dtype: DType | undefined;
  #grad: Tensor | null = null;
  scope: Scope | undefined;
  backstop = false;

  /** Wraps a native handle; most code creates tensors with `tensor()`, `zeros()` and ops instead. */
  constructor(handle: Handle) {
    this.#handle = handle;
    track(this);
  }

  get handle(): Handle {
    if (this.#handle === null) throw new Error('this tensor was disposed');
    return this.#handle;
  }

  get isDisposed(): boolean {
    return this.#handle === null;
  }

  /** Frees the native memory now. Safe to call twice. */
  dispose(): void {
    if (this.#handle === null) return;
    untrack(this);
    if (this.#grad) this.#grad.dispose();
    native.dispose(this.#handle);
    this.#handle = null;
  }

  [Symbol.dispose](): void {
    this.dispose();
  }

  /** @internal In-place ops may change the shape (squeeze_, resize_): forget the cached one. */
  invalidateMeta(): void {
    this.#shape = undefined;
  }

  #loadMeta(): void {
    const [shape, code] = native.meta(this.handle);
    this.#shape = shape;
    this.#dtype = dtypeName(code);
  }

  get shape(): readonly number[] {
    if (this.#shape === undefined) this.#loadMeta();
    return this.#shape!;
  }
  get dtype(): DType {
    if (this.#dtype === undefined) this.#loadMeta();
    return this.#dtype!;
  }
  get device(): string {
    return native.meta(this.handle)[2];
  }
  get ndim(): number {
    return this.shape.length;
  }
  /** Number of elements. */
  get size(): number {
    return this.shape.reduce((a, b) => a * b, 1);
  }
  get strides(): number[] {
    return native.strides(this.handle);
  }
  /** Size of one dimension (negative counts from the end). */
  dim(d: number): number {
    const n = this.ndim;
    const i = d < 0 ? d + n : d;
    if (i < 0 || i >= n) throw new RangeError(`dim ${d} is out of range for a tensor of shape [${this.shape.join(', ')}]`);
    return this.shape[i]!;
  }

  // ---- data out ----
  /** The values as a typed array (a copy; int64 comes back as BigInt64Array). */
  dataSync(): TypedArray {
    return typedArrayFor(this.dtype, native.toBuffer(this.handle));
  }
  /** Like dataSync, but copies on a worker thread. */
  async data(): Promise<TypedArray> {
    return typedArrayFor(this.dtype, await native.toBufferAsync(this.handle));
  }
  /** The value of a one-element tensor. */
  item(): number {
    if (this.size !== 1) throw new RangeError(`item(): expected a tensor with one element, got shape [${this.shape.join(', ')}]`);
    const v = callOp<number | boolean>('_local_scalar_dense', '', this);
    return typeof v === 'boolean' ? Number(v) : v;
  }
  /** The values as nested JS arrays (numbers; booleans for bool tensors). */
  toArray(): unknown {
    const flat = this.dataSync();
    const values: (number | boolean)[] =
      this.dtype === 'bool' ? Array.from(flat as Uint8Array, (v) => v !== 0) : Array.from(flat as ArrayLike<number | bigint>, Number);
    const build = (dim: number, offset: number): unknown => {
      if (dim === this.ndim) return values[offset];
      const stride = this.shape.slice(dim + 1).reduce((a, b) => a * b, 1);
      return Array.from({ length: this.shape[dim]! }, (_, i) => build(dim + 1, offset + i * stride));
    };
    return build(0, 0);
  }
  toString(): string {
    return formatTensor(this);
  }
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return this.isDisposed ? 'tensor(<disposed>)' : this.toString();
  }

  // ---- autograd ----
  get requiresGrad(): boolean {
    return native.meta(this.handle)[3];
  }
  set requiresGrad(on: boolean) {
    native.setRequiresGrad(this.handle, on);
  }
  /** Sets requiresGrad and returns this tensor. */
  requiresGrad_(on = true): this {
    native.setRequiresGrad(this.handle, on);
    return this;
  }
  /** The accumulated gradient, owned by this tensor (do not dispose it; zeroGrad clears it). */
  get grad(): Tensor | null {
    const cached = this.#grad && !this.#grad.isDisposed ? this.#grad.handle : null;
    const h = native.grad(this.handle, cached);
    if (h === null) {
      this.#grad?.dispose();
      this.#grad = null;
    } else if (h !== cached) {
      this.#grad?.dispose();
      // Owned by this tensor and freed with it: no scope may free it (the GC backstop still
      // frees it with a tensor nobody disposed).
      this.#grad = keep(new Tensor(h));
    }
    return this.#grad;
  }
  /** Drops the gradient (the next backward starts from none, as PyTorch's set_to_none). */
  zeroGrad(): void {
    native.clearGrad(this.handle);
    this.#grad?.dispose();
    this.#grad = null;
  }
  /** Back-propagates from this tensor (a scalar, or pass `grad` of the same shape). */
  backward(grad?: Tensor, options: { retainGraph?: boolean; createGraph?: boolean } = {}): void {
    if (!grad && this.size !== 1) {
      throw new RangeError(`backward(): grad can be implicit only for a one-element tensor; this one has shape [${this.shape.join(', ')}]`);
    }
    native.backward(this.handle, grad ? grad.handle : null, options.retainGraph, options.createGraph ?? false);
  }
  /** A tensor sharing these values, outside the autograd graph. */
  detach(): Tensor { return callOp('detach', '', this); }

  // ---- conversion ----
  /** Converts dtype and/or device: `t.to('float64')`, `t.to('cuda')`, `t.to({ dtype, device })`. */
  to(target: DType | string | { dtype?: DType; device?: string }): Tensor {
    const spec = typeof target === 'string'
      ? (isDType(target) ? { dtype: target } : { device: target })
      : target;
    const dtype = spec.dtype ? dtypeCode(spec.dtype) : dtypeCode(this.dtype);
    if (spec.device) return callOp('to', 'device', this, spec.device, dtype);
    return callOp('to', 'dtype', this, dtype);
  }
  float(): Tensor { return this.to('float32'); }
  double(): Tensor { return this.to('float64'); }
  int(): Tensor { return this.to('int32'); }
  long(): Tensor { return this.to('int64'); }
  bool(): Tensor { return this.to('bool'); }
  cpu(): Tensor { return this.to({ device: 'cpu' }); }
  clone(): Tensor { return callOp('clone', '', this); }
  /** Contiguous in the given memory format ('contiguous' or 'channelsLast'). */
  contiguous(format: 'contiguous' | 'channelsLast' = 'contiguous'): Tensor {
    return callOp('contiguous', '', this, MemoryFormat[format]);
  }
  /**
   * NCHW values laid out as NHWC in memory (faster convolutions on CPU). Unlike
   * contiguous('channelsLast'), this also restrides tensors whose layout is ambiguous (one
   * channel, 1x1 kernels), so that convolutions see them as channels-last and keep their
   * outputs channels-last (measured: the reference CNN step is ~1.5x faster with it).
   */
  toChannelsLast(): Tensor { return callOp('to', 'dtype', this, dtypeCode(this.dtype), false, false, MemoryFormat.channelsLast); }
  isContiguous(format: 'contiguous' | 'channelsLast' = 'contiguous'): boolean {
    return native.isContiguous(this.handle, MemoryFormat[format]);
  }

  // ---- elementwise math (broadcasting) ----
  add(other: TensorLike, alpha = 1): Tensor {
    return isTensor(other) ? callOp('add', 'Tensor', this, other, alpha) : callOp('add', 'Scalar', this, other, alpha);
  }
  sub(other: TensorLike, alpha = 1): Tensor {
    return isTensor(other) ? callOp('sub', 'Tensor', this, other, alpha) : callOp('sub', 'Scalar', this, other, alpha);
  }
  mul(other: TensorLike): Tensor {
    return isTensor(other) ? callOp('mul', 'Tensor', this, other) : callOp('mul', 'Scalar', this, other);
  }
  div(other: TensorLike): Tensor {
    return isTensor(other) ? callOp('div', 'Tensor', this, other) : callOp('div', 'Scalar', this, other);
  }
  pow(exponent: TensorLike): Tensor {
    return isTensor(exponent) ? callOp('pow', 'Tensor_Tensor', this, exponent) : callOp('pow', 'Tensor_Scalar', this, exponent);
  }
  remainder(other: TensorLike): Tensor {
    return isTensor(other) ? callOp('remainder', 'Tensor', this, other) : callOp('remainder', 'Scalar', this, other);
  }
  maximum(other: Tensor): Tensor { return callOp('maximum', '', this, other); }
  minimum(other: Tensor): Tensor { return callOp('minimum', '', this, other); }
  clamp(min?: number | null, max?: number | null): Tensor { return callOp('clamp', '', this, min ?? null, max ?? null); }
  neg(): Tensor { return callOp('neg', '', this); }
  abs(): Tensor { return callOp('abs', '', this); }
  sign(): Tensor { return callOp('sign', '', this); }
  exp(): Tensor { return callOp('exp', '', this); }
  log(): Tensor { return callOp('log', '', this); }
  log1p(): Tensor { return callOp('log1p', '', this); }
  sqrt(): Tensor { return callOp('sqrt', '', this); }
  rsqrt(): Tensor { return callOp('rsqrt', '', this); }
  square(): Tensor { return callOp('square', '', this); }
  reciprocal(): Tensor { return callOp('reciprocal', '', this); }
  sin(): Tensor { return callOp('sin', '', this); }
  cos(): Tensor { return callOp('cos', '', this); }
  tanh(): Tensor { return callOp('tanh', '', this); }
  sigmoid(): Tensor { return callOp('sigmoid', '', this); }
  relu(): Tensor { return callOp('relu', '', this); }
  floor(): Tensor { return callOp('floor', '', this); }
  ceil(): Tensor { return callOp('ceil', '', this); }
  round(): Tensor { return callOp('round', '', this); }
  isnan(): Tensor { return callOp('isnan', '', this); }
  logicalNot(): Tensor { return callOp('logical_not', '', this); }
  logicalAnd(other: Tensor): Tensor { return callOp('logical_and', '', this, other); }
  logicalOr(other: Tensor): Tensor { return callOp('logical_or', '', this, other); }

  // ---- comparisons (bool tensors) ----
  eq(other: TensorLike): Tensor { return isTensor(other) ? callOp('eq', 'Tensor', this, other) : callOp('eq', 'Scalar', this, other); }
  ne(other: TensorLike): Tensor { return isTensor(other) ? callOp('ne', 'Tensor', this, other) : callOp('ne', 'Scalar', this, other); }
  lt(other: TensorLike): Tensor { return isTensor(other) ? callOp('lt', 'Tensor', this, other) : callOp('lt', 'Scalar', this, other); }
  le(other: TensorLike): Tensor { return isTensor(other) ? callOp('le', 'Tensor', this, other) : callOp('le', 'Scalar', this, other); }
  gt(other: TensorLike): Tensor { return isTensor(other) ? callOp('gt', 'Tensor', this, other) : callOp('gt', 'Scalar', this, other); }
  ge(other: TensorLike): Tensor { return isTensor(other) ? callOp('ge', 'Tensor', this, other) : callOp('ge', 'Scalar', this, other); }
  /** True when every element is within atol + rtol * |other| (NaNs never equal). */
  allclose(other: Tensor, rtol = 1e-5, atol = 1e-8): boolean { return callOp<boolean>('allclose', '', this, other, rtol, atol); }

  // ---- linear algebra ----
  matmul(other: Tensor): Tensor { return callOp('matmul', '', this, other); }
  /** Transpose of a 2-D tensor. */
  t(): Tensor { return callOp('t', '', this); }

  // ---- reductions ----
  sum(dim?: number | readonly number[], keepdim = false): Tensor {
    return dim === undefined ? callOp('sum', '', this) : callOp('sum', 'dim_IntList', this, dimsOf(dim), keepdim);
  }
  mean(dim?: number | readonly number[], keepdim = false): Tensor {
    return dim === undefined ? callOp('mean', '', this) : callOp('mean', 'dim', this, dimsOf(dim), keepdim);
  }
  prod(dim?: number, keepdim = false): Tensor {
    return dim === undefined ? callOp('prod', '', this) : callOp('prod', 'dim_int', this, dim, keepdim);
  }
  /** Maximum of all elements, or `{ values, indices }` along `dim`. */
  max(): Tensor;
  max(dim: number, keepdim?: boolean): { values: Tensor; indices: Tensor };
  max(dim?: number, keepdim = false): Tensor | { values: Tensor; indices: Tensor } {
    if (dim === undefined) return callOp('max', '', this);
    const [values, indices] = callOp<[Tensor, Tensor]>('max', 'dim', this, dim, keepdim);
    return { values, indices };
  }
  min(): Tensor;
  min(dim: number, keepdim?: boolean): { values: Tensor; indices: Tensor };
  min(dim?: number, keepdim = false): Tensor | { values: Tensor; indices: Tensor } {
    if (dim === undefined) return callOp('min', '', this);
    const [values, indices] = callOp<[Tensor, Tensor]>('min', 'dim', this, dim, keepdim);
    return { values, indices };
  }
  argmax(dim?: number, keepdim = false): Tensor { return callOp('argmax', '', this, dim ?? null, keepdim); }
  argmin(dim?: number, keepdim = false): Tensor { return callOp('argmin', '', this, dim ?? null, keepdim); }
  /** Standard deviation (unbiased by default, as PyTorch). */
  std(dim?: number | readonly number[], { unbiased = true, keepdim = false } = {}): Tensor {
    return callOp('std', 'dim', this, dim === undefined ? null : dimsOf(dim), unbiased, keepdim);
  }
  var(dim?: number | readonly number[], { unbiased = true, keepdim = false } = {}): Tensor {
    return callOp('var', 'dim', this, dim === undefined ? null : dimsOf(dim), unbiased, keepdim);
  }
  all(): Tensor { return callOp('all', '', this); }
  any(): Tensor { return callOp('any', '', this); }
  topk(k: number, { dim = -1, largest = true, sorted = true } = {}): { values: Tensor; indices: Tensor } {
    const [values, indices] = callOp<[Tensor, Tensor]>('topk', '', this, k, dim, largest, sorted);
    return { values, indices };
  }
  sort(dim = -1, descending = false): { values: Tensor; indices: Tensor } {
    const [values, indices] = callOp<[Tensor, Tensor]>('sort', '', this, dim, descending);
    return { values, indices };
  }
  softmax(dim: number): Tensor { return callOp('softmax', 'int', this, dim); }
  logSoftmax(dim: number): Tensor { return callOp('log_softmax', 'int', this, dim); }

  // ---- shape ----
  reshape(...shape: number[] | [readonly number[]]): Tensor { return callOp('reshape', '', this, flatShape(shape)); }
  /** Like reshape, but never copies: fails when the memory layout does not allow it. */
  view(...shape: number[] | [readonly number[]]): Tensor { return callOp('view', '', this, flatShape(shape)); }
  permute(...dims: number[] | [readonly number[]]): Tensor { return callOp('permute', '', this, flatShape(dims)); }
  /** Reverses the order of elements along `dims` (a copy). */
  flip(...dims: number[] | [readonly number[]]): Tensor { return callOp('flip', '', this, flatShape(dims)); }
  transpose(dim0: number, dim1: number): Tensor { return callOp('transpose', 'int', this, dim0, dim1); }
  squeeze(dim?: number): Tensor { return dim === undefined ? callOp('squeeze', '', this) : callOp('squeeze', 'dim', this, dim); }
  unsqueeze(dim: number): Tensor { return callOp('unsqueeze', '', this, dim); }
  flatten(startDim = 0, endDim = -1): Tensor { return callOp('flatten', 'using_ints', this, startDim, endDim); }
  expand(...shape: number[] | [readonly number[]]): Tensor { return callOp('expand', '', this, flatShape(shape), false); }
  /** Splits into pieces of `size` along `dim` (or into the given sizes). */
  split(size: number | readonly number[], dim = 0): Tensor[] {
    return typeof size === 'number' ? callOp('split', 'Tensor', this, size, dim) : callOp('split_with_sizes', '', this, [...size], dim);
  }
  chunk(chunks: number, dim = 0): Tensor[] { return callOp('chunk', '', this, chunks, dim); }
  /** Elements `start` to `stop` (exclusive) with `step`, along `dim`; a view. */
  slice(dim: number, start?: number, stop?: number, step = 1): Tensor {
    return callOp('slice', 'Tensor', this, dim, start ?? null, stop ?? null, step);
  }
  /** The sub-tensor at `index` along `dim` (that dimension is removed); a view. */
  select(dim: number, index: number): Tensor { return callOp('select', 'int', this, dim, index); }
  /**
   * NumPy/PyTorch-style indexing: `t.index(0, '1:3', idx)`. A number picks (and drops) a
   * dimension, a slice keeps it, an int64 or bool tensor picks elements, null adds an axis.
   */
  index(...specs: IndexSpec[]): Tensor {
    let cur: Tensor = this;
    let dim = 0;
    const advanced: (Tensor | null)[] = [];
    const created: Tensor[] = [];
    const step = (t: Tensor) => { created.push(t); cur = t; };
    for (const spec of specs) {
      if (spec === null) { step(cur.unsqueeze(dim)); advanced.push(null); dim++; continue; }
      if (typeof spec === 'number') {
        if (dim >= cur.ndim) throw new RangeError(`index: too many indices for a tensor of shape [${this.shape.join(', ')}]`);
        step(cur.select(dim, spec));
        continue;
      }
      if (spec instanceof Tensor) {
        advanced.push(spec);
        if (spec.dtype === 'bool') dim += spec.ndim;
        else dim++;
        continue;
      }
      const s = typeof spec === 'string' ? parseSlice(spec, 'index') : spec;
      if (dim >= cur.ndim) throw new RangeError(`index: too many indices for a tensor of shape [${this.shape.join(', ')}]`);
      step(cur.slice(dim, s.start, s.stop, s.step ?? 1));
      advanced.push(null);
      dim++;
    }
    let result: Tensor = cur;
    if (advanced.some((a) => a !== null)) {
      while (advanced.length && advanced[advanced.length - 1] === null) advanced.pop();
      result = callOp('index', 'Tensor', cur, advanced);
    } else if (cur === this) {
      result = callOp('alias', '', this);
    }
    for (const t of created) if (t !== result) t.dispose();
    return result;
  }
  /** Picks along `dim` by an int64 index tensor of the same rank. */
  gather(dim: number, index: Tensor): Tensor { return callOp('gather', '', this, dim, index, false); }
  /** A copy with values from `src` (tensor or number) written at `index` along `dim`. */
  scatter(dim: number, index: Tensor, src: TensorLike): Tensor {
    return isTensor(src) ? callOp('scatter', 'src', this, dim, index, src) : callOp('scatter', 'value', this, dim, index, src);
  }
  scatterAdd(dim: number, index: Tensor, src: Tensor): Tensor { return callOp('scatter_add', '', this, dim, index, src); }
  indexSelect(dim: number, index: Tensor): Tensor { return callOp('index_select', '', this, dim, index); }
  /** Elements where `mask` is true, as a 1-D tensor. */
  maskedSelect(mask: Tensor): Tensor { return callOp('masked_select', '', this, mask); }
  maskedFill(mask: Tensor, value: number): Tensor { return callOp('masked_fill', 'Scalar', this, mask, value); }

  // ---- in place (trailing underscore, as PyTorch) ----
  add_(other: TensorLike, alpha = 1): this {
    if (isTensor(other)) callOp('add_', 'Tensor', this, other, alpha);
    else callOp('add_', 'Scalar', this, other, alpha);
    return this;
  }
  sub_(other: TensorLike, alpha = 1): this {
    if (isTensor(other)) callOp('sub_', 'Tensor', this, other, alpha);
    else callOp('sub_', 'Scalar', this, other, alpha);
    return this;
  }
  mul_(other: TensorLike): this {
    if (isTensor(other)) callOp('mul_', 'Tensor', this, other);
    else callOp('mul_', 'Scalar', this, other);
    return this;
  }
  div_(other: TensorLike): this {
    if (isTensor(other)) callOp('div_', 'Tensor', this, other);
    else callOp('div_', 'Scalar', this, other);
    return this;
  }
  /** this += value * (t1 * t2) */
  addcmul_(t1: Tensor, t2: Tensor, value = 1): this { callOp('addcmul_', '', this, t1, t2, value); return this; }
  /** this += value * (t1 / t2) */
  addcdiv_(t1: Tensor, t2: Tensor, value = 1): this { callOp('addcdiv_', '', this, t1, t2, value); return this; }
  /** this += weight * (end - this) */
  lerp_(end: Tensor, weight: number): this { callOp('lerp_', 'Scalar', this, end, weight); return this; }
  clamp_(min?: number | null, max?: number | null): this { callOp('clamp_', '', this, min ?? null, max ?? null); return this; }
  zero_(): this { callOp('zero_', '', this); return this; }
  fill_(value: number): this { callOp('fill_', 'Scalar', this, value); return this; }
  copy_(src: Tensor): this { callOp('copy_', '', this, src, false); return this; }
  uniform_(from = 0, to = 1): this { callOp('uniform_', '', this, from, to, null); return this; }
  normal_(mean = 0, std = 1): this { callOp('normal_', '', this, mean, std, null); return this; }
}

function flatShape(shape: number[] | [readonly number[]]): number[] {
  return shape.length === 1 && Array.isArray(shape[0]) ? [...(shape[0] as readonly number[])] : (shape as number[]);
}

const DTYPES = new Set(['float32', 'float64', 'float16', 'bfloat16', 'int8', 'int16', 'int32', 'int64', 'uint8', 'bool']);
function isDType(s: string): s is DType {
  return DTYPES.has(s);
}
