// A datastore of images with boxes (what a detector trains on): the table a reader of
// box-labels.ts returns, viewed in any order or subset, served as batches of images stretched
// to [H, W] with their boxes scaled by the same factors, optionally through box-aware
// augmentation (box-augment.ts).
//
// Images are decoded once per size and kept in a pixel cache (uint8, at the output size), so
// later epochs only copy or resample from memory: decoding is done on the main thread, by the
// JPEG fast path (libjpeg-turbo at a reduced DCT scale) or by sharp on libuv's thread pool,
// a batch ahead of the consumer. Images that cannot be used (unreadable, or a size other than
// the annotation's) are reported by file and skipped, or with `strict` stop the iteration.
import type { Tensor } from '../tensor/tensor.js';
import { checkBatchOptions, checkSplit, epochOrder, randomSeed, splitPositions, type BatchOptions, type SplitOptions } from './datastore.js';
import { decodeRegion, ImageReadError, type DecodeSpec } from './image-decode.js';
import { imageRandom, type Pixels } from './image-ops.js';
import { PixelCache } from './image-pipeline.js';
import { checkSize } from './image-datastore.js';
import type { BoxedImage, BoxProblem, BoxTable } from './box-labels.js';
import {
  drawPlacement, identityPlacement, placeBoxes, renderBatch, resolveBoxAugmentation,
  type BoxAugmentation, type Placement, type SourceBoxes,
} from './box-augment.js';

export interface BoxBatch {
  /** float32 [N, 3, H, W], RAW 0–255 (normalization belongs to the network). The consumer disposes it. */
  x: Tensor;
  /** Per image, k*4 x1, y1, x2, y2 in pixels of x (after resize and augmentation). */
  boxes: Float32Array[];
  labels: Int32Array[];
  difficult: Uint8Array[];
  /** Per image (for mosaics: the first image's file). */
  files: string[];
  /** Per image [height, width] of the file. */
  originalSizes: [number, number][];
}

export interface BoxBatchOptions extends BatchOptions {
  /** [height, width] of the batch: every image is stretched to it ('fill'). */
  size: readonly number[];
  /** Random geometry and color, drawn from (seed, epoch, image). */
  augment?: BoxAugmentation;
}

export interface BoxDatastoreOptions {
  /** Stop the iteration at the first image that cannot be used (default false: skip it, report it in problems). */
  strict?: boolean;
  /** Bytes of decoded pixels kept for later epochs (default 1 GiB; 0: no cache). */
  cacheBytes?: number;
  /** Images decoded at once (default 4). */
  concurrency?: number;
  /** Refuse images with more pixels than this (default 100 megapixels). */
  limitInputPixels?: number;
}

/** Boxes of one class: how many, on how many images. */
export interface LabelCount { label: string; boxes: number; images: number }

export interface Spread { min: number; median: number; max: number }

/** Box sizes of one class, in pixels of the original images. */
export interface BoxSizeStatistics { label: string; boxes: number; width: Spread; height: Spread }

/** How the last (or current) iteration went. */
export interface BoxPipelineStats {
  /** Images delivered. */
  images: number;
  /** Images decoded from files (the rest came from the cache). */
  decoded: number;
  /** Seconds the consumer waited for decoding. */
  decodeSeconds: number;
  /** Seconds spent making the batches' tensors (copy or resample, color). */
  renderSeconds: number;
  /** Seconds since the iteration started. */
  seconds: number;
}

const OPTION_NAMES = ['strict', 'cacheBytes', 'concurrency', 'limitInputPixels'];

const show = (v: unknown): string => (Array.isArray(v) ? `[${v.map(show).join(', ')}]` : typeof v === 'string' ? `'${v}'` : v === null ? 'null' : typeof v === 'object' ? 'an object' : String(v));

/** @internal What a datastore and its views share: the table, what was found at decode time, the cache. */
export class BoxStore {
  /** Table index → why the image cannot be used (found when decoding). */
  readonly bad = new Map<number, string>();
  /** Table index → [width, height] of the file, once decoded. */
  readonly fileSize = new Map<number, [number, number]>();
  readonly cache: PixelCache;
  constructor(
    readonly images: readonly BoxedImage[],
    readonly classes: readonly string[],
    readonly readProblems: readonly BoxProblem[],
    readonly source: string,
    readonly options: Required<BoxDatastoreOptions>,
  ) {
    this.cache = new PixelCache(options.cacheBytes);
  }
}

function median(sorted: Float64Array): number {
  const n = sorted.length;
  return n % 2 ? sorted[(n - 1) / 2]! : (sorted[n / 2 - 1]! + sorted[n / 2]!) / 2;
}

/**
 * Images with boxes.
 *
 *     const data = new BoxDatastore(await readVOC('../shared/data/bccd', { split: 'trainval' }));
 *     data.countEachLabel();   // [{ label: 'Platelets', boxes: 361, images: 280 }, …]
 *     for await (const b of data.batches({ batchSize: 8, size: [416, 416], shuffle: true, seed: 1,
 *                                          augment: { flipHorizontal: true, scale: [0.8, 1.2] } })) { … b.x.dispose(); }
 */
export class BoxDatastore {
  readonly size: number;
  readonly classes: readonly string[];
  readonly source: string;
  /** How the last (or current) iteration over batches went. */
  readonly stats: BoxPipelineStats = { images: 0, decoded: 0, decodeSeconds: 0, renderSeconds: 0, seconds: 0 };
  #store: BoxStore;
  #rows: Int32Array;
  #images: readonly BoxedImage[] | null = null;

  constructor(table: BoxTable, options?: BoxDatastoreOptions);
  /** @internal A view: rows are table indices. */
  constructor(table: BoxStore, rows: Int32Array);
  constructor(table: BoxTable | BoxStore, arg: BoxDatastoreOptions | Int32Array = {}) {
    if (table instanceof BoxStore) {
      this.#store = table;
      this.#rows = arg as Int32Array;
    } else {
      const where = 'BoxDatastore';
      if (!table || typeof table !== 'object' || !Array.isArray(table.images) || !Array.isArray(table.classes)) {
        throw new TypeError(`${where}: expected a box table { images, classes, problems, source } (from readVOC, readCOCO or readYOLO), got ${show(table)}`);
      }
      const o = arg as BoxDatastoreOptions;
      if (o === null || typeof o !== 'object') throw new TypeError(`${where}: options must be an object, got ${show(o)}`);
      for (const k of Object.keys(o)) if (!OPTION_NAMES.includes(k)) throw new TypeError(`${where}: unknown option '${k}'; expected one of ${OPTION_NAMES.join(', ')}`);
      if (o.strict !== undefined && typeof o.strict !== 'boolean') throw new TypeError(`${where}: strict must be true or false, got ${show(o.strict)}`);
      for (const [k, min] of [['cacheBytes', 0], ['concurrency', 1], ['limitInputPixels', 1]] as const) {
        const v = o[k];
        if (v !== undefined && (!Number.isSafeInteger(v) || v < min)) throw new RangeError(`${where}: ${k} must be a whole number >= ${min}, got ${show(v)}`);
      }
      const source = typeof table.source === 'string' ? table.source : 'in-memory';
      table.images.forEach((img, i) => {
        const k = img.labels.length;
        if (img.boxes.length !== 4 * k || img.difficult.length !== k) {
          throw new RangeError(`${where}: images[${i}] (${img.file}): boxes has ${img.boxes.length} values, labels ${k}, difficult ${img.difficult.length}; expected 4 * k, k, k`);
        }
        for (const l of img.labels) if (!(l >= 0 && l < table.classes.length)) throw new RangeError(`${where}: images[${i}] (${img.file}): label ${l} is not a class index (0 to ${table.classes.length - 1})`);
      });
      this.#store = new BoxStore(Object.freeze([...table.images]), Object.freeze([...table.classes]), Object.freeze([...(table.problems ?? [])]), source, {
        strict: o.strict ?? false, cacheBytes: o.cacheBytes ?? 1 << 30, concurrency: o.concurrency ?? 4, limitInputPixels: o.limitInputPixels ?? 100_000_000,
      });
      this.#rows = Int32Array.from(table.images, (_, i) => i);
    }
    this.size = this.#rows.length;
    this.classes = this.#store.classes;
    this.source = this.#store.source;
  }

  /** The images of this datastore, in its order. */
  get images(): readonly BoxedImage[] {
    this.#images ??= Object.freeze(Array.from(this.#rows, (i) => this.#store.images[i]!));
    return this.#images;
  }

  /** What was skipped: boxes and images while reading, and images of this datastore found unusable when decoded. */
  get problems(): BoxProblem[] {
    const out = [...this.#store.readProblems];
    for (const i of this.#rows) {
      const m = this.#store.bad.get(i);
      if (m !== undefined) out.push({ file: this.#store.images[i]!.file, message: m });
    }
    return out;
  }

  /** Images with no boxes (negatives: kept, they teach the detector what is background). */
  get emptyImages(): number {
    let n = 0;
    for (const i of this.#rows) if (this.#store.images[i]!.labels.length === 0) n++;
    return n;
  }

  /** The images at `indices` (positions in this datastore), sharing its cache. */
  subset(indices: readonly number[]): BoxDatastore {
    const rows = new Int32Array(indices.length);
    indices.forEach((p, k) => {
      if (!Number.isSafeInteger(p) || p < 0 || p >= this.size) throw new RangeError(`subset (${this.source}): indices[${k}] = ${show(p)} is not a position from 0 to ${this.size - 1}`);
      rows[k] = this.#rows[p]!;
    });
    return new BoxDatastore(this.#store, rows);
  }

  /** Two disjoint datastores, the first with `fraction` of the images (seeded, reproducible), each in the original order. */
  split(fraction: number, options: Omit<SplitOptions, 'stratified'> = {}): [BoxDatastore, BoxDatastore] {
    const { seed } = checkSplit(fraction, { ...options, stratified: false }, false, this.source);
    const [a, b] = splitPositions(this.size, fraction, null, seed);
    return [this.subset(a), this.subset(b)];
  }

  /** Boxes per class, and the images holding at least one. */
  countEachLabel(): LabelCount[] {
    const boxes = new Array<number>(this.classes.length).fill(0);
    const images = new Array<number>(this.classes.length).fill(0);
    for (const i of this.#rows) {
      const seen = new Set<number>();
      for (const l of this.#store.images[i]!.labels) { boxes[l]!++; seen.add(l); }
      for (const l of seen) images[l]!++;
    }
    return this.classes.map((label, c) => ({ label, boxes: boxes[c]!, images: images[c]! }));
  }

  /** Per class, box width and height (min, median, max) in pixels of the original images. */
  boxStatistics(): BoxSizeStatistics[] {
    const ws: number[][] = this.classes.map(() => []);
    const hs: number[][] = this.classes.map(() => []);
    for (const i of this.#rows) {
      const img = this.#store.images[i]!;
      for (let k = 0; k < img.labels.length; k++) {
        ws[img.labels[k]!]!.push(img.boxes[4 * k + 2]! - img.boxes[4 * k]!);
        hs[img.labels[k]!]!.push(img.boxes[4 * k + 3]! - img.boxes[4 * k + 1]!);
      }
    }
    const spread = (v: number[]): Spread => {
      if (v.length === 0) return { min: NaN, median: NaN, max: NaN };
      const s = Float64Array.from(v).sort();
      return { min: s[0]!, median: median(s), max: s[s.length - 1]! };
    };
    return this.classes.map((label, c) => ({ label, boxes: ws[c]!.length, width: spread(ws[c]!), height: spread(hs[c]!) }));
  }

  /**
   * Batches of images stretched to `size` with their boxes. The order is a function of
   * (seed, epoch); with `augment`, each image's draws are a function of (seed, epoch, image).
   * Options are checked at once (not on the first next()).
   */
  batches(options: BoxBatchOptions): AsyncGenerator<BoxBatch, void, undefined> {
    const where = `batches (${this.source})`;
    if (options === null || typeof options !== 'object') throw new TypeError(`${where}: expected an options object { batchSize, size, ... }, got ${show(options)}`);
    const { size, augment, ...rest } = options;
    if (size === undefined) throw new TypeError(`${where}: size is required: [height, width] of the batch's images`);
    const [H, W] = checkSize(size, `${where}: size`);
    const o = checkBatchOptions(rest, this.source);
    const aug = augment === undefined ? null : resolveBoxAugmentation(augment, where);
    return this.#generate(H, W, o, aug);
  }

  async *#generate(H: number, W: number, o: ReturnType<typeof checkBatchOptions>, aug: ReturnType<typeof resolveBoxAugmentation> | null): AsyncGenerator<BoxBatch, void, undefined> {
    const store = this.#store;
    const stats = this.stats;
    Object.assign(stats, { images: 0, decoded: 0, decodeSeconds: 0, renderSeconds: 0, seconds: 0 });
    const started = performance.now();
    const order = epochOrder(this.#rows.length, o);
    for (let k = 0; k < order.length; k++) order[k] = this.#rows[order[k]!]!;
    const seed = aug?.seed ?? o.seed ?? randomSeed();
    const key = `${H}x${W}`;
    const ranges: [number, number][] = [];
    for (let s = 0; s < order.length; s += o.batchSize) {
      const e = Math.min(s + o.batchSize, order.length);
      if (o.dropLast && e - s < o.batchSize) break;
      ranges.push([s, e]);
    }
    const strictError = (i: number) => new Error(`${store.images[i]!.file}: ${store.bad.get(i)} (strict: the first bad image stops the iteration; without strict, bad images are skipped and listed in problems)`);
    // Pixels of the batches in flight when they are not in the cache (no room, or no cache).
    const local = new Map<number, Pixels>();
    const pending = new Map<number, Promise<void>>();
    const decode = (i: number): Promise<void> => {
      if (store.bad.has(i) || store.cache.get(key, i) || local.has(i)) return Promise.resolve();
      let p = pending.get(i);
      if (!p) {
        p = this.#decodeOne(i, H, W).then((px) => {
          stats.decoded++;
          if (store.cache.hasRoom()) store.cache.put(key, i, px);
          if (!store.cache.get(key, i)) local.set(i, px);
        }, (err: Error) => { store.bad.set(i, err instanceof ImageReadError ? err.message : `cannot process: ${err.message}`); })
          .finally(() => pending.delete(i));
        pending.set(i, p);
      }
      return p;
    };
    const decodeAll = async (ids: Iterable<number>) => {
      const list = [...new Set(ids)];
      let next = 0;
      await Promise.all(Array.from({ length: Math.min(store.options.concurrency, list.length) }, async () => { while (next < list.length) await decode(list[next++]!); }));
    };
    const plan = (b: number) => {
      const [s, e] = ranges[b]!;
      const out: Placement[] = [];
      for (let k = s; k < e; k++) {
        const i = order[k]!;
        out.push(aug ? drawPlacement(aug, imageRandom(seed, o.epoch, i), i, this.#rows, W, H) : identityPlacement(i, W, H));
      }
      const ready = decodeAll(out.flatMap((pl) => pl.pieces.map((p) => p.source)));
      ready.catch(() => {});
      return { placements: out, ready };
    };
    const scaled = new Map<number, SourceBoxes>();
    const boxesOf = (i: number): SourceBoxes => {
      let s = scaled.get(i);
      if (!s) {
        const img = store.images[i]!;
        const [fw, fh] = store.fileSize.get(i) ?? [img.width, img.height];
        const boxes = new Float32Array(img.boxes.length);
        for (let k = 0; k < boxes.length; k += 2) { boxes[k] = img.boxes[k]! * (W / fw); boxes[k + 1] = img.boxes[k + 1]! * (H / fh); }
        scaled.set(i, (s = { boxes, labels: img.labels, difficult: img.difficult }));
      }
      return s;
    };
    const pixels = (i: number): Pixels => store.cache.get(key, i) ?? local.get(i)!;
    let next = ranges.length ? plan(0) : null;
    try {
      for (let b = 0; b < ranges.length; b++) {
        const cur = next!;
        const t0 = performance.now();
        await cur.ready;
        stats.decodeSeconds += (performance.now() - t0) / 1000;
        next = b + 1 < ranges.length ? plan(b + 1) : null; // decoding the next batch overlaps the consumer's step
        const kept: Placement[] = [];
        for (const pl of cur.placements) {
          const i = pl.source;
          if (store.bad.has(i)) {
            if (store.options.strict) throw strictError(i);
            continue;
          }
          // A mosaic partner that cannot be used leaves its quarter to the fill.
          kept.push({ ...pl, pieces: pl.pieces.filter((p) => !store.bad.has(p.source)) });
        }
        if (kept.length === 0) continue;
        const t1 = performance.now();
        const batch: BoxBatch = { x: undefined as unknown as Tensor, boxes: [], labels: [], difficult: [], files: [], originalSizes: [] };
        for (const pl of kept) {
          const i = pl.source;
          const placed = placeBoxes(pl, boxesOf, aug?.minBoxArea ?? 0.25);
          batch.boxes.push(placed.boxes);
          batch.labels.push(placed.labels);
          batch.difficult.push(placed.difficult);
          batch.files.push(store.images[i]!.file);
          const [fw, fh] = store.fileSize.get(i)!;
          batch.originalSizes.push([fh, fw]);
        }
        batch.x = renderBatch(kept, pixels, H, W, aug?.fill ?? 114);
        // Uncached pixels are dropped once used, unless the next batch (already planned) uses them too.
        const again = new Set(next?.placements.flatMap((pl) => pl.pieces.map((p) => p.source)));
        for (const pl of kept) for (const p of pl.pieces) if (!again.has(p.source)) local.delete(p.source);
        stats.renderSeconds += (performance.now() - t1) / 1000;
        stats.images += kept.length;
        stats.seconds = (performance.now() - started) / 1000;
        yield batch;
      }
    } finally {
      stats.seconds = (performance.now() - started) / 1000;
      await Promise.allSettled(pending.values());
    }
  }

  /** Decodes image i stretched to W x H (HWC); checks the file's size against the annotation. */
  async #decodeOne(i: number, H: number, W: number): Promise<Pixels> {
    const store = this.#store;
    const img = store.images[i]!;
    const spec: DecodeSpec = { channels: 3, alpha: 'flatten', resize: null, limitInputPixels: store.options.limitInputPixels, failOn: 'error' };
    let size: [number, number] | null = null;
    const px = await decodeRegion(img.file, spec, (w, h) => {
      size = [w, h];
      if (w !== img.width || h !== img.height) throw new ImageReadError(`the image is ${w}x${h} (width x height), the annotation says ${img.width}x${img.height}: its boxes cannot be trusted`);
      return [0, 0, w, h];
    }, W, H);
    store.fileSize.set(i, size!);
    return px!;
  }
}
