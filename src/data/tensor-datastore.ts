// In-memory datastore over tensors: x [N, ...] and optional labels y [N].
//
// Storage stays in its own dtype (uint8 for 8-bit images: 60,000 Fashion-MNIST images are
// 47 MB instead of 188 MB as float32); each batch is gathered with index_select and converted
// to float32 on the way out.
import { Tensor } from '../tensor/tensor.js';
import { tensor } from '../tensor/create.js';
import { keep } from '../tensor/memory.js';
import type { DType } from '../tensor/dtype.js';
import {
  checkBatchOptions, checkSplit, epochOrder, splitPositions,
  type Batch, type BatchOptions, type Datastore, type SplitOptions, countEachLabel } from './datastore.js';

export interface TensorDatastoreOptions {
  /** Class names indexed by label. Default: '0', '1', … up to the largest label. */
  classes?: readonly string[];
  /** Shown in messages and reports (default 'in-memory'). */
  source?: string;
  /**
   * Who frees x and y. false (default): the caller owns them and must keep them alive (not
   * dispose them, nor let a `tidy` scope free them) while this datastore or any subset of it
   * is used. true: the datastore takes them over (out of any `tidy` scope) and frees them when
   * it and every subset/split made from it have been disposed.
   */
  own?: boolean;
}

const INTEGER: ReadonlySet<DType> = new Set(['uint8', 'int8', 'int16', 'int32', 'int64']);

/** @internal The tensors behind a datastore and its subsets, with a count of the views still open. */
export class Storage {
  refs = 1;
  constructor(
    readonly x: Tensor,
    readonly y: Tensor | null,
    readonly labels: Int32Array | null,
    readonly owned: Tensor[],
    readonly device: string,
  ) {}
  release(): void {
    if (--this.refs > 0) return;
    for (const t of this.owned) t.dispose();
  }
}

/** An in-memory datastore; also what the IDX and other file datastores load into. */
export class TensorDatastore implements Datastore {
  readonly size: number;
  readonly inputShape: readonly number[];
  readonly classes: readonly string[] | null;
  readonly source: string;
  #storage: Storage;
  /** Storage rows of this view, or null for all rows in order. */
  #rows: Int32Array | null;
  #disposed = false;

  /** @internal Use tensorDatastore(). */
  constructor(storage: Storage, rows: Int32Array | null, inputShape: readonly number[], classes: readonly string[] | null, source: string) {
    this.#storage = storage;
    this.#rows = rows;
    this.size = rows ? rows.length : storage.x.shape[0]!;
    this.inputShape = Object.freeze([...inputShape]);
    this.classes = classes;
    this.source = source;
  }

  get isDisposed(): boolean {
    return this.#disposed;
  }

  /**
   * Gives up this view. Tensors the datastore owns are freed once every view made from the
   * same storage (subsets, splits) has been disposed. Safe to call twice.
   */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    this.#storage.release();
  }

  [Symbol.dispose](): void {
    this.dispose();
  }

  #live(what: string): Storage {
    if (this.#disposed) throw new Error(`${what} (${this.source}): this datastore was disposed`);
    return this.#storage;
  }

  async *batches(options: BatchOptions): AsyncGenerator<Batch, void, undefined> {
    // No await in here: each batch is made when the consumer asks for it, in the consumer's
    // async context, so a `tidy` around the consumer's step owns it.
    const o = checkBatchOptions(options, this.source);
    this.#live('batches');
    const order = epochOrder(this.size, o);
    const rows = this.#rows;
    if (rows) for (let i = 0; i < order.length; i++) order[i] = rows[order[i]!]!;
    for (let start = 0; start < order.length; start += o.batchSize) {
      const end = Math.min(start + o.batchSize, order.length);
      if (o.dropLast && end - start < o.batchSize) break;
      yield this.#gather(order.subarray(start, end));
    }
  }

  #gather(rows: Int32Array): Batch {
    const s = this.#live('batches');
    let index = tensor(rows); // int32 indices: index_select takes them as they are
    if (s.device !== 'cpu') {
      const moved = index.to({ device: s.device });
      index.dispose();
      index = moved;
    }
    let x: Tensor | undefined;
    try {
      const picked = s.x.indexSelect(0, index);
      if (picked.dtype === 'float32') x = picked;
      else {
        try { x = picked.to('float32'); } finally { picked.dispose(); }
      }
      const y = s.y ? s.y.indexSelect(0, index) : null;
      return { x, y };
    } catch (err) {
      x?.dispose();
      throw err;
    } finally {
      index.dispose();
    }
  }

  subset(indices: readonly number[] | Int32Array): TensorDatastore {
    const s = this.#live('subset');
    const rows = new Int32Array(indices.length);
    for (let i = 0; i < indices.length; i++) {
      const p = indices[i]!;
      if (!Number.isInteger(p) || p < 0 || p >= this.size) {
        throw new RangeError(`subset (${this.source}): index ${i} is ${p}; expected a whole number from 0 to ${this.size - 1}`);
      }
      rows[i] = this.#rows ? this.#rows[p]! : p;
    }
    s.refs++;
    return new TensorDatastore(s, rows, this.inputShape, this.classes, this.source);
  }

  /** The dtype the observations are stored in (batches come out as float32 either way). */
  get storedDType(): DType {
    return this.#live('storedDType').x.dtype;
  }

  /** @internal x of this view's observations in order, in the stored dtype: a new tensor the caller owns. */
  gatherStored(): Tensor {
    const s = this.#live('gatherStored');
    if (!this.#rows) return s.x.contiguous();
    const index = tensor(this.#rows);
    try { return s.x.indexSelect(0, index); } finally { index.dispose(); }
  }

  labels(): Int32Array | null {
    const all = this.#live('labels').labels;
    if (!all) return null;
    const rows = this.#rows;
    if (!rows) return all.slice();
    const out = new Int32Array(rows.length);
    for (let i = 0; i < rows.length; i++) out[i] = all[rows[i]!]!;
    return out;
  }

  split(fraction: number, options: SplitOptions = {}): [TensorDatastore, TensorDatastore] {
    this.#live('split');
    const labels = this.labels();
    const { seed, stratified } = checkSplit(fraction, options, labels !== null, this.source);
    const [a, b] = splitPositions(this.size, fraction, stratified ? labels : null, seed);
    return [this.subset(a), this.subset(b)];
  }

  /** Observations per class (null when unlabeled). */
  countEachLabel(): { label: string; count: number }[] | null {
    return countEachLabel(this);
  }
}

/**
 * A datastore over in-memory tensors: `x` [N, ...inputShape] (any numeric dtype; batches come
 * out as float32 with the same values) and `y` [N] integer class indices, or null.
 * See TensorDatastoreOptions.own for who frees x and y; a y that is not int64 is converted
 * once, and that copy belongs to the datastore.
 */
export function tensorDatastore(x: Tensor, y: Tensor | null, options: TensorDatastoreOptions = {}): TensorDatastore {
  const source = options.source ?? 'in-memory';
  const where = `tensorDatastore (${source})`;
  if (!(x instanceof Tensor)) throw new TypeError(`${where}: x must be a Tensor, got ${x === null ? 'null' : typeof x}`);
  if (x.isDisposed) throw new Error(`${where}: x was disposed`);
  if (x.ndim < 1) throw new RangeError(`${where}: x must have a first (observation) dimension, got a 0-d tensor`);
  if (x.dtype === 'bool') throw new TypeError(`${where}: x must be numeric, got dtype bool`);
  const n = x.shape[0]!;
  let labels: Int32Array | null = null;
  let classes: readonly string[] | null = null;
  if (options.classes !== undefined) {
    if (!Array.isArray(options.classes) || options.classes.length === 0 || !options.classes.every((c) => typeof c === 'string')) {
      throw new TypeError(`${where}: classes must be a non-empty array of strings`);
    }
    const seen = new Set<string>();
    for (const c of options.classes) {
      if (seen.has(c)) throw new Error(`${where}: class name '${c}' appears twice in classes`);
      seen.add(c);
    }
  }
  if (y !== null) {
    if (!(y instanceof Tensor)) throw new TypeError(`${where}: y must be a Tensor or null, got ${typeof y}`);
    if (y.isDisposed) throw new Error(`${where}: y was disposed`);
    if (!INTEGER.has(y.dtype)) throw new TypeError(`${where}: y must hold integer class indices (int64, int32, int16, int8 or uint8), got dtype ${y.dtype}`);
    if (y.ndim !== 1) throw new RangeError(`${where}: y must be 1-D [N], got shape [${y.shape.join(', ')}]`);
    if (y.shape[0] !== n) throw new RangeError(`${where}: x has ${n} observations (shape [${x.shape.join(', ')}]) but y has ${y.shape[0]} labels`);
    labels = Int32Array.from(y.dataSync() as ArrayLike<number | bigint>, Number);
    let max = -1;
    for (let i = 0; i < labels.length; i++) {
      const l = labels[i]!;
      if (l < 0) throw new RangeError(`${where}: label ${i} is ${l}; class indices must be >= 0`);
      if (l > max) max = l;
    }
    if (options.classes) {
      if (max >= options.classes.length) {
        const at = labels.indexOf(max);
        throw new RangeError(`${where}: label ${at} is ${max}, but there are only ${options.classes.length} classes (${options.classes.slice(0, 10).join(', ')}${options.classes.length > 10 ? ', …' : ''})`);
      }
      classes = Object.freeze([...options.classes]);
    } else {
      classes = Object.freeze(Array.from({ length: max + 1 }, (_, i) => String(i)));
    }
  } else if (options.classes !== undefined) {
    classes = Object.freeze([...options.classes]);
  }

  const owned: Tensor[] = [];
  if (options.own) owned.push(keep(x));
  let ys = y;
  if (y !== null && y.dtype !== 'int64') {
    ys = keep(y.to('int64'));
    owned.push(ys);
    if (options.own) y.dispose();
  } else if (y !== null && options.own) owned.push(keep(y));
  const storage = new Storage(x, ys, labels, owned, x.device);
  return new TensorDatastore(storage, null, x.shape.slice(1), classes, source);
}
