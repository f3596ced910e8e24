// The datastore contract: what the trainer, evaluation and the CLI read data through, plus the
// pieces every datastore shares (option checks, reproducible shuffles, stratified splits).
import type { Tensor } from '../tensor/tensor.js';

/**
 * One mini-batch. The consumer owns both tensors and disposes them (or lets a `tidy` scope do it).
 */
export interface Batch {
  /**
   * float32 [N, ...inputShape] holding RAW values: 0–255 for 8-bit images. No normalization here:
   * that belongs to the network's input layer (and is saved with the model). Text datastores
   * give int64 token ids [N, L] instead (see TextBatch), for an embedding to look up.
   */
  x: Tensor;
  /** int64 [N] class indices (with trainNetwork's lossFunction: the task's targets, any dtype and shape), or null when unlabeled. */
  y: Tensor | null;
}

export interface BatchOptions {
  /** Observations per batch (a whole number >= 1); the last batch may be smaller unless dropLast. */
  batchSize: number;
  /** Visit the observations in a random order (default false: in order). */
  shuffle?: boolean;
  /**
   * Seed of the shuffle. The order is a function of (seed, epoch) only, so a run can be
   * reproduced, and resumed mid-training. Without a seed each call draws a fresh random order.
   */
  seed?: number;
  /** Leave out the last batch when it is smaller than batchSize (default false). */
  dropLast?: boolean;
  /** Epoch number (default 0): shuffles differ per epoch but are reproducible from (seed, epoch). */
  epoch?: number;
}

export interface SplitOptions {
  /** Seed of the random assignment (default 0: the same split every time). */
  seed?: number;
  /**
   * Split each class in the same proportion (default: true when the datastore is labeled).
   * Counts are rounded per class, so the first part's size can differ from
   * round(fraction * size) by up to half the number of classes.
   */
  stratified?: boolean;
}

export interface Datastore {
  /** Number of observations. */
  readonly size: number;
  /** Shape of one observation, e.g. [1, 28, 28] (C, H, W). */
  readonly inputShape: readonly number[];
  /** Class names, indexed by label; null when unlabeled. */
  readonly classes: readonly string[] | null;
  /** Human-readable origin: a path, or 'in-memory'. */
  readonly source: string;
  /** The observations in batches; the consumer owns (disposes) each batch's tensors. */
  batches(options: BatchOptions): AsyncIterable<Batch>;
  /** The observations at `indices` (positions in this datastore), sharing its storage. */
  subset(indices: readonly number[]): Datastore;
  /** Class index per observation (a fresh copy), or null when unlabeled. */
  labels(): Int32Array | null;
  /**
   * Two disjoint datastores: the first with `fraction` of the observations, the second with
   * the rest. Each part keeps the original order of its observations.
   */
  split(fraction: number, options?: SplitOptions): [Datastore, Datastore];
}

// ---- option checks ----------------------------------------------------------

function describe(v: unknown): string {
  return typeof v === 'string' ? `'${v}'` : typeof v === 'number' || typeof v === 'boolean' ? String(v) : v === null ? 'null' : typeof v;
}

export interface CheckedBatchOptions {
  batchSize: number;
  shuffle: boolean;
  seed: number | undefined;
  dropLast: boolean;
  epoch: number;
}

/** Validates batch options; errors name the option, the datastore and the value given. */
export function checkBatchOptions(options: BatchOptions, source: string): CheckedBatchOptions {
  const where = `batches (${source})`;
  if (options === null || typeof options !== 'object') throw new TypeError(`${where}: expected an options object { batchSize, ... }, got ${describe(options)}`);
  const known = new Set(['batchSize', 'shuffle', 'seed', 'dropLast', 'epoch']);
  for (const k of Object.keys(options)) {
    if (!known.has(k)) throw new TypeError(`${where}: unknown option '${k}'; expected one of ${[...known].join(', ')}`);
  }
  const { batchSize, shuffle = false, seed, dropLast = false, epoch = 0 } = options;
  if (!Number.isSafeInteger(batchSize) || batchSize < 1) throw new RangeError(`${where}: batchSize must be a whole number >= 1, got ${describe(batchSize)}`);
  if (typeof shuffle !== 'boolean') throw new TypeError(`${where}: shuffle must be true or false, got ${describe(shuffle)}`);
  if (typeof dropLast !== 'boolean') throw new TypeError(`${where}: dropLast must be true or false, got ${describe(dropLast)}`);
  if (seed !== undefined && !Number.isSafeInteger(seed)) throw new RangeError(`${where}: seed must be a whole number, got ${describe(seed)}`);
  if (!Number.isSafeInteger(epoch) || epoch < 0) throw new RangeError(`${where}: epoch must be a whole number >= 0, got ${describe(epoch)}`);
  return { batchSize, shuffle, seed, dropLast, epoch };
}

// ---- reproducible randomness ------------------------------------------------
// A small seeded generator in JavaScript: orders depend on (seed, epoch) alone, not on
// libtorch's global generator (which weight init and dropout also draw from).

function mix32(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d);
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b);
  return (h ^ (h >>> 16)) >>> 0;
}

/** Streams keep the split's and the shuffle's draws apart for the same seed. */
export const Stream = { shuffle: 0x5348, split: 0x5350 } as const;

/** A uniform [0, 1) generator determined by (seed, stream, epoch). */
export function seededRandom(seed: number, stream: number, epoch = 0): () => number {
  const lo = seed >>> 0;
  const hi = Math.floor(seed / 0x100000000) >>> 0;
  let state = mix32(lo ^ mix32(hi ^ mix32(stream ^ mix32(epoch + 0x9e3779b9))));
  // mulberry32
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A seed for callers that did not give one. */
export function randomSeed(): number {
  return Math.floor(Math.random() * 0x100000000);
}

/** Fisher–Yates shuffle in place. */
export function shuffleInPlace(a: Int32Array | number[], random: () => number): void {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const t = a[i]!;
    a[i] = a[j]!;
    a[j] = t;
  }
}

/** Positions 0..n-1 in the order one epoch visits them. */
export function epochOrder(n: number, options: CheckedBatchOptions): Int32Array {
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  if (options.shuffle) shuffleInPlace(order, seededRandom(options.seed ?? randomSeed(), Stream.shuffle, options.epoch));
  return order;
}

/**
 * Positions 0..n-1 divided into two sorted, disjoint lists: the first holds `fraction` of them
 * (of each class when `labels` is given).
 */
export function splitPositions(n: number, fraction: number, labels: Int32Array | null, seed: number): [number[], number[]] {
  const groups = new Map<number, number[]>();
  for (let i = 0; i < n; i++) {
    const key = labels ? labels[i]! : 0;
    let g = groups.get(key);
    if (!g) groups.set(key, (g = []));
    g.push(i);
  }
  const random = seededRandom(seed, Stream.split);
  const first: number[] = [];
  const second: number[] = [];
  for (const key of [...groups.keys()].sort((a, b) => a - b)) {
    const g = groups.get(key)!;
    shuffleInPlace(g, random);
    const k = Math.round(fraction * g.length);
    for (let i = 0; i < g.length; i++) (i < k ? first : second).push(g[i]!);
  }
  first.sort((a, b) => a - b);
  second.sort((a, b) => a - b);
  return [first, second];
}

/** Validates split arguments; returns the seed and whether to stratify. */
export function checkSplit(fraction: number, options: SplitOptions, labeled: boolean, source: string): { seed: number; stratified: boolean } {
  const where = `split (${source})`;
  if (typeof fraction !== 'number' || !(fraction >= 0 && fraction <= 1)) {
    throw new RangeError(`${where}: fraction must be a number from 0 to 1 (the share of the first part), got ${describe(fraction)}`);
  }
  const known = new Set(['seed', 'stratified']);
  for (const k of Object.keys(options)) {
    if (!known.has(k)) throw new TypeError(`${where}: unknown option '${k}'; expected one of ${[...known].join(', ')}`);
  }
  const seed = options.seed ?? 0;
  if (!Number.isSafeInteger(seed)) throw new RangeError(`${where}: seed must be a whole number, got ${describe(seed)}`);
  const stratified = options.stratified ?? labeled;
  if (typeof stratified !== 'boolean') throw new TypeError(`${where}: stratified must be true or false, got ${describe(stratified)}`);
  if (stratified && !labeled) throw new Error(`${where}: stratified split needs labels, and this datastore is unlabeled`);
  return { seed, stratified };
}

/** Observations per class of a labeled datastore (null when unlabeled). */
export function countEachLabel(data: Pick<Datastore, 'labels' | 'classes'>): { label: string; count: number }[] | null {
  const labels = data.labels();
  if (!labels || !data.classes) return null;
  const counts = new Array<number>(data.classes.length).fill(0);
  for (const l of labels) counts[l]!++;
  return data.classes.map((label, i) => ({ label, count: counts[i]! }));
}
