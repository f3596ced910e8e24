// The main-thread side of the image pipeline: a pool of worker threads that decode and augment,
// batches dispatched a few ahead of the consumer, a cache of decoded pixels, bad files recorded
// and skipped (or, strict, reported by throwing), and the pipeline's rate.
//
// Only this side makes tensors: workers send raw uint8 pixels, the main thread turns them into
// float32 [N, C, H, W] (raw 0–255 values) and int64 labels when the consumer asks for a batch.
import { Worker } from 'node:worker_threads';
import os from 'node:os';
import { tensor } from '../tensor/create.js';
import type { Tensor } from '../tensor/tensor.js';
import { checkBatchOptions, epochOrder, randomSeed, type Batch, type BatchOptions, type CheckedBatchOptions } from './datastore.js';
import { decodeKey } from './image-decode.js';
import { runJob, packImages, type Job, type JobResult, type PipelineSpec } from './image-job.js';
import type { Pixels } from './image-ops.js';

/** A file the pipeline could not use, and why. */
export interface BadFile {
  file: string;
  message: string;
}

/** Worker threads used by default: every core but one (the trainer's). */
export function defaultWorkers(): number {
  return Math.max(1, os.availableParallelism() - 1);
}

// ---- the cache ----------------------------------------------------------------

/**
 * Decoded pixels kept in memory up to a byte budget, so later epochs (and the pass that
 * computes normalization statistics) do not decode again. Entries are never evicted: the
 * first images decoded stay. Keyed by how they were decoded and the file's table index.
 */
export class PixelCache {
  #budget: number;
  #bytes = 0;
  #stores = new Map<string, Map<number, Pixels>>();
  #chunk: Uint8Array = new Uint8Array(0);
  #used = 0;

  constructor(budget: number) {
    this.#budget = budget;
  }

  get bytes(): number { return this.#bytes; }
  get budget(): number { return this.#budget; }
  hasRoom(): boolean { return this.#bytes < this.#budget; }

  get(key: string, index: number): Pixels | undefined {
    return this.#stores.get(key)?.get(index);
  }

  /** Copies `img` in if it fits the budget. */
  put(key: string, index: number, img: Pixels): void {
    const n = img.width * img.height * img.channels;
    if (this.#bytes + n > this.#budget) return;
    let store = this.#stores.get(key);
    if (!store) this.#stores.set(key, (store = new Map()));
    if (store.has(index)) return;
    if (this.#used + n > this.#chunk.length) {
      this.#chunk = new Uint8Array(Math.max(n, Math.min(16 << 20, this.#budget - this.#bytes)));
      this.#used = 0;
    }
    const data = this.#chunk.subarray(this.#used, this.#used + n);
    data.set(img.data.subarray(0, n));
    this.#used += n;
    this.#bytes += n;
    store.set(index, { data, width: img.width, height: img.height, channels: img.channels });
  }
}

/** The files behind an image datastore and every view made from it (subsets, splits, shuffles). */
export class ImageTable {
  /** Table index → why the file could not be used. */
  readonly bad = new Map<number, string>();
  readonly cache: PixelCache;
  constructor(
    readonly root: string,
    readonly files: readonly string[],
    readonly labels: Int32Array | null,
    readonly classes: readonly string[] | null,
    readonly warnings: readonly string[],
    cacheBytes: number,
  ) {
    this.cache = new PixelCache(cacheBytes);
  }
}

// ---- the worker pool --------------------------------------------------------

interface Pending {
  resolve: (r: JobResult) => void;
  reject: (e: Error) => void;
}

interface PoolWorker {
  worker: Worker;
  pending: Map<number, Pending>;
  exited: Promise<void>;
}

/** How long close() waits for a worker to finish its job and exit before terminating it. */
const CLOSE_GRACE_MS = 10_000;

/** Worker threads running image-worker.js; each job goes to the least busy one. */
export class WorkerPool {
  #workers: PoolWorker[] = [];
  #closed = false;
  static live = 0;

  constructor(size: number, spec: PipelineSpec) {
    for (let i = 0; i < size; i++) {
      const worker = new Worker(new URL('./image-worker.js', import.meta.url), { workerData: spec, name: `dlkit-image-${i}` });
      const w: PoolWorker = { worker, pending: new Map(), exited: new Promise((resolve) => worker.once('exit', () => resolve())) };
      WorkerPool.live++;
      worker.unref();
      const failAll = (err: Error) => {
        for (const p of w.pending.values()) p.reject(err);
        w.pending.clear();
      };
      worker.on('message', (m: JobResult | { id: number; fatal: string }) => {
        const p = w.pending.get(m.id);
        if (!p) return;
        w.pending.delete(m.id);
        if (w.pending.size === 0) worker.unref();
        if ('fatal' in m) p.reject(new Error(`image worker: ${m.fatal}`));
        else p.resolve(m);
      });
      worker.on('error', (err) => failAll(new Error(`image worker ${i} failed: ${err.message}`)));
      worker.on('exit', (code) => {
        WorkerPool.live--;
        if (!this.#closed) failAll(new Error(`image worker ${i} exited (code ${code})`));
      });
      this.#workers.push(w);
    }
  }

  get size(): number { return this.#workers.length; }

  run(job: Job): Promise<JobResult> {
    if (this.#closed) return Promise.reject(new Error('image worker pool is closed'));
    let w = this.#workers[0]!;
    for (const c of this.#workers) if (c.pending.size < w.pending.size) w = c;
    return new Promise((resolve, reject) => {
      w.pending.set(job.id, { resolve, reject });
      w.worker.ref();
      w.worker.postMessage(job, job.cached ? [job.cached.data.buffer as ArrayBuffer] : []);
    });
  }

  /**
   * Ends every worker; jobs not yet delivered are rejected. Each worker is asked to close and
   * exits once its current job is done (terminating one inside a native decode can abort the
   * process); one that does not exit within CLOSE_GRACE_MS is terminated.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const closing = new Error('image worker pool closed');
    for (const w of this.#workers) {
      for (const p of w.pending.values()) p.reject(closing);
      w.pending.clear();
    }
    await Promise.all(this.#workers.map(async (w) => {
      w.worker.postMessage({ close: true });
      const timer = setTimeout(() => void w.worker.terminate(), CLOSE_GRACE_MS);
      await w.exited;
      clearTimeout(timer);
    }));
  }
}

// ---- batches ----------------------------------------------------------------

/** How the pipeline did over the current or last iteration. */
export interface PipelineStats {
  /** Observations delivered so far. */
  images: number;
  /** Decoded from files (the rest came from the cache). */
  decoded: number;
  /** Files skipped because they could not be used. */
  skipped: number;
  /** Seconds since the iteration started. */
  seconds: number;
  /** Seconds the consumer waited for a batch that was not ready. */
  waitSeconds: number;
  /** images / seconds: the rate at which the consumer got observations. */
  imagesPerSecond: number;
  /** Worker threads used (0: decoded on the main thread). */
  workers: number;
}

export function emptyStats(): PipelineStats {
  return { images: 0, decoded: 0, skipped: 0, seconds: 0, waitSeconds: 0, imagesPerSecond: 0, workers: 0 };
}

export interface PipelineInput {
  table: ImageTable;
  /** Table indices of the datastore's observations, in its order. */
  rows: Int32Array;
  spec: PipelineSpec;
  source: string;
  strict: boolean;
  workers: number;
  /** Batches in flight ahead of the consumer. */
  prefetch: number;
  /** Seed of the augmentation draws (default: the batch options' seed, else random). */
  augmentSeed: number | undefined;
  /** Updated as batches are delivered. */
  stats: PipelineStats;
  /** Use and fill the table's pixel cache (default true). */
  cache?: boolean;
}

/** Jobs this small run on the main thread: starting workers would cost more. */
const MAIN_THREAD_WORK = 32;

interface Plan {
  /** Table indices of the batch's usable (not known bad) observations. */
  indices: number[];
  /** Cached output pixels (CHW) for positions of `indices`, when not augmenting. */
  ready: (Uint8Array | null)[];
  result: Promise<JobResult> | null;
  /** Job item → position in `indices`. */
  jobPos: number[];
  /** Job items whose decoded image came from the cache. */
  fromCache: number;
}

/** Batches of images: options are checked at once (not on the first next()). */
export function imageBatches(p: PipelineInput, options: BatchOptions): AsyncGenerator<Batch, void, undefined> {
  return generate(p, checkBatchOptions(options, p.source));
}

async function* generate(p: PipelineInput, o: CheckedBatchOptions): AsyncGenerator<Batch, void, undefined> {
  const { table, spec } = p;
  const useCache = (p.cache ?? true) && spec.cacheable;
  const plane = spec.channels * spec.height * spec.width;
  const order = epochOrder(p.rows.length, o);
  for (let i = 0; i < order.length; i++) order[i] = p.rows[order[i]!]!;
  const ranges: [number, number][] = [];
  for (let start = 0; start < order.length; start += o.batchSize) {
    const end = Math.min(start + o.batchSize, order.length);
    if (o.dropLast && end - start < o.batchSize) break;
    ranges.push([start, end]);
  }
  const augmenting = spec.augment !== null;
  // Cached entries: the decoded image when augmenting, else the output itself (CHW).
  const key = decodeKey(spec.decode) + (augmenting ? '' : '/chw');
  const seed = p.augmentSeed ?? o.seed ?? randomSeed();
  const stats = p.stats;
  Object.assign(stats, emptyStats());
  const started = performance.now();

  const known = (i: number) => table.bad.has(i);
  let work = 0;
  for (const [s, e] of ranges) for (let k = s; k < e; k++) if (!known(order[k]!) && (augmenting || !useCache || !table.cache.get(key, order[k]!))) work++;
  const useWorkers = p.workers > 0 && work > MAIN_THREAD_WORK;
  let pool: WorkerPool | null = null;
  let nextId = 0;
  const run = (job: Job): Promise<JobResult> => {
    if (!useWorkers) return runJob(job, spec);
    pool ??= new WorkerPool(p.workers, spec);
    return pool.run(job);
  };
  stats.workers = useWorkers ? p.workers : 0;

  const strictError = (index: number, message: string) =>
    new Error(`${table.files[index]}: ${message} (strict: the first bad file stops the iteration; without strict, bad files are skipped and listed in badFiles)`);

  const plan = (b: number): Plan => {
    const [s, e] = ranges[b]!;
    const indices: number[] = [];
    for (let k = s; k < e; k++) {
      const i = order[k]!;
      if (known(i)) {
        if (p.strict) throw strictError(i, table.bad.get(i)!);
        stats.skipped++;
        continue;
      }
      indices.push(i);
    }
    const ready: (Uint8Array | null)[] = indices.map(() => null);
    const items: Job['items'] = [];
    const jobPos: number[] = [];
    const cachedImgs: { pos: number; img: Pixels }[] = [];
    indices.forEach((i, pos) => {
      const hit = useCache ? table.cache.get(key, i) : undefined;
      if (hit && !augmenting) { ready[pos] = hit.data; return; }
      if (hit) cachedImgs.push({ pos: items.length, img: hit });
      jobPos.push(pos);
      items.push({ index: i, file: table.files[i]! });
    });
    let result: Promise<JobResult> | null = null;
    if (items.length) {
      const job: Job = {
        id: nextId++, epoch: o.epoch, seed, items,
        cached: cachedImgs.length ? packImages(cachedImgs, spec.channels) : null,
        wantDecoded: augmenting && useCache && table.cache.hasRoom(),
      };
      result = run(job);
      result.catch(() => {}); // handled where it is awaited; no unhandled rejection if abandoned
    }
    return { indices, ready, result, jobPos, fromCache: cachedImgs.length };
  };

  const inflight = new Map<number, Plan>();
  let dispatched = 0;
  try {
    for (let b = 0; b < ranges.length; b++) {
      while (dispatched < ranges.length && dispatched < b + Math.max(1, p.prefetch)) {
        inflight.set(dispatched, plan(dispatched));
        dispatched++;
      }
      const pl = inflight.get(b)!;
      inflight.delete(b);
      let r: JobResult | null = null;
      if (pl.result) {
        const t0 = performance.now();
        r = await pl.result;
        stats.waitSeconds += (performance.now() - t0) / 1000;
      }
      const out: Uint8Array[] = [];
      const labels: number[] = [];
      const byPos = new Map<number, Uint8Array>();
      if (r) {
        for (let k = 0; k < r.ok.length; k++) byPos.set(pl.jobPos[r.ok[k]!]!, r.pixels.subarray(k * plane, (k + 1) * plane));
        for (const e of r.errors) {
          const i = pl.indices[pl.jobPos[e.pos]!]!;
          table.bad.set(i, e.message);
          stats.skipped++;
        }
        if (p.strict && r.errors.length) {
          const e = r.errors[0]!;
          throw strictError(pl.indices[pl.jobPos[e.pos]!]!, e.message);
        }
        if (r.decoded && useCache) {
          const d = r.decoded;
          let off = 0;
          for (let k = 0; k < d.pos.length; k++) {
            const width = d.dims[2 * k]!, height = d.dims[2 * k + 1]!;
            const n = width * height * spec.channels;
            table.cache.put(key, pl.indices[pl.jobPos[d.pos[k]!]!]!, { data: d.data.subarray(off, off + n), width, height, channels: spec.channels });
            off += n;
          }
        }
        stats.decoded += r.ok.length - pl.fromCache;
      }
      for (let pos = 0; pos < pl.indices.length; pos++) {
        const i = pl.indices[pos]!;
        const px = pl.ready[pos] ?? byPos.get(pos);
        if (!px) continue;
        if (!augmenting && !pl.ready[pos] && useCache) table.cache.put(key, i, { data: px, width: spec.width, height: spec.height, channels: spec.channels });
        out.push(px);
        labels.push(table.labels ? table.labels[i]! : 0);
      }
      if (out.length === 0) continue;
      const n = out.length;
      let pixels: Uint8Array;
      if (r && r.count === n && byPos.size === n) pixels = r.pixels;
      else {
        pixels = new Uint8Array(n * plane);
        out.forEach((px, k) => pixels.set(px, k * plane));
      }
      stats.images += n;
      stats.seconds = (performance.now() - started) / 1000;
      stats.imagesPerSecond = stats.images / Math.max(stats.seconds, 1e-9);
      const x: Tensor = tensor(pixels, { shape: [n, spec.channels, spec.height, spec.width], dtype: 'float32' });
      let y: Tensor | null = null;
      if (table.labels) {
        try { y = tensor(BigInt64Array.from(labels, (l) => BigInt(l))); } catch (err) { x.dispose(); throw err; }
      }
      yield { x, y };
    }
  } finally {
    stats.seconds = (performance.now() - started) / 1000;
    stats.imagesPerSecond = stats.images / Math.max(stats.seconds, 1e-9);
    await (pool as WorkerPool | null)?.close();
  }
}
