// A datastore over a folder of image files, labeled by the name of each file's folder:
// root/<class>/<image>. Files are listed once; images are decoded by sharp (in worker threads)
// when batches are asked for, resized to the datastore's size, and cached in memory up to a
// budget so later epochs do not decode again. Files that cannot be used are skipped and listed
// (badFiles), or with `strict` stop the iteration naming the file.
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Tensor } from '../tensor/tensor.js';
import { tensor } from '../tensor/create.js';
import {
  checkSplit, randomSeed, seededRandom, shuffleInPlace, splitPositions, Stream,
  type Batch, type BatchOptions, type Datastore, type SplitOptions, countEachLabel } from './datastore.js';
import { decodeImage, ImageReadError, type DecodeSpec, type FailOn } from './image-decode.js';
import { hwcToChw, type Pixels } from './image-ops.js';
import type { PipelineSpec } from './image-job.js';
import {
  defaultWorkers, emptyStats, imageBatches, ImageTable,
  type BadFile, type PipelineStats,
} from './image-pipeline.js';

/** Extensions listed by default (matched case-insensitively). */
export const IMAGE_EXTENSIONS: readonly string[] = Object.freeze(['.jpg', '.jpeg', '.png', '.webp', '.gif', '.tif', '.tiff', '.avif']);

export interface ImageDatastoreOptions {
  /** List the files of subfolders too (default true). */
  includeSubfolders?: boolean;
  /** 'foldernames' (default): each file's label is the name of the folder it is in; 'none': unlabeled. */
  labelSource?: 'foldernames' | 'none';
  /** File extensions to list (default IMAGE_EXTENSIONS), with or without the dot, any case. */
  extensions?: readonly string[];
  /**
   * The class names, in label order (default: the folder names found, sorted). Give the training
   * data's classes when opening test data, so the labels mean the same.
   */
  classes?: readonly string[];
  /** 1: grayscale, 3 (default): RGB. */
  channels?: 1 | 3;
  /** [height, width] every image is resized to. Needed for batches (not for readImage). */
  size?: readonly number[];
  /** How an image meets `size`: 'fill' (default) stretches it; 'cover' scales it to cover and crops the center. */
  fit?: 'fill' | 'cover';
  /** Transparent pixels: 'flatten' (default) composites them onto white; 'drop' discards the alpha channel. */
  alpha?: 'flatten' | 'drop';
  /** Stop the iteration at the first file that cannot be used (default false: skip it, list it in badFiles). */
  strict?: boolean;
  /** Refuse images with more pixels than this (decompression bombs); default 100 megapixels. */
  limitInputPixels?: number;
  /** sharp's sensitivity to invalid data (default 'error': truncated or corrupt data is an error). */
  failOn?: FailOn;
  /** Worker threads that decode and augment (default: cores - 1, at least 1; 0: the main thread). */
  workers?: number;
  /** Batches prepared ahead of the consumer (default: 2 per worker, at least 3). */
  prefetch?: number;
  /** Images each worker decodes at once (default 4). */
  concurrency?: number;
  /** Bytes of decoded pixels kept in memory for later epochs (default 1 GiB; 0: no cache). */
  cacheBytes?: number;
}

/** @internal The settings a datastore and its views share. */
export interface ImageConfig {
  channels: 1 | 3;
  size: readonly [number, number] | null;
  fit: 'fill' | 'cover';
  alpha: 'flatten' | 'drop';
  strict: boolean;
  limitInputPixels: number;
  failOn: FailOn;
  workers: number;
  prefetch: number;
  concurrency: number;
}

const OPTION_NAMES = ['includeSubfolders', 'labelSource', 'extensions', 'classes', 'channels', 'size', 'fit', 'alpha', 'strict', 'limitInputPixels', 'failOn', 'workers', 'prefetch', 'concurrency', 'cacheBytes'];

const show = (v: unknown): string => (typeof v === 'string' ? `'${v}'` : Array.isArray(v) ? `[${v.map(show).join(', ')}]` : v === null ? 'null' : typeof v === 'object' ? 'an object' : String(v));

function checkOptions(o: ImageDatastoreOptions, where: string): void {
  if (o === null || typeof o !== 'object' || Array.isArray(o)) throw new TypeError(`${where}: options must be an object, got ${show(o)}`);
  for (const k of Object.keys(o)) {
    if (!OPTION_NAMES.includes(k)) throw new TypeError(`${where}: unknown option '${k}'; expected one of ${OPTION_NAMES.join(', ')}`);
  }
  const bool = (k: keyof ImageDatastoreOptions) => { if (o[k] !== undefined && typeof o[k] !== 'boolean') throw new TypeError(`${where}: ${k} must be true or false, got ${show(o[k])}`); };
  const oneOf = (k: keyof ImageDatastoreOptions, values: readonly unknown[]) => {
    if (o[k] !== undefined && !values.includes(o[k])) throw new RangeError(`${where}: ${k} must be ${values.map(show).join(' or ')}, got ${show(o[k])}`);
  };
  const whole = (k: keyof ImageDatastoreOptions, min: number) => {
    const v = o[k];
    if (v !== undefined && (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min)) throw new RangeError(`${where}: ${k} must be a whole number >= ${min}, got ${show(v)}`);
  };
  bool('includeSubfolders');
  bool('strict');
  oneOf('labelSource', ['foldernames', 'none']);
  oneOf('channels', [1, 3]);
  oneOf('fit', ['fill', 'cover']);
  oneOf('alpha', ['flatten', 'drop']);
  oneOf('failOn', ['none', 'truncated', 'error', 'warning']);
  whole('limitInputPixels', 1);
  whole('workers', 0);
  whole('prefetch', 1);
  whole('concurrency', 1);
  whole('cacheBytes', 0);
  if (o.size !== undefined) checkSize(o.size, `${where}: size`);
  if (o.extensions !== undefined && (!Array.isArray(o.extensions) || o.extensions.length === 0 || !o.extensions.every((e) => typeof e === 'string' && e.length > 0))) {
    throw new TypeError(`${where}: extensions must be a non-empty array of strings like '.jpg', got ${show(o.extensions)}`);
  }
  if (o.classes !== undefined) {
    if (!Array.isArray(o.classes) || o.classes.length === 0 || !o.classes.every((c) => typeof c === 'string')) throw new TypeError(`${where}: classes must be a non-empty array of strings, got ${show(o.classes)}`);
    const dup = o.classes.find((c, i) => o.classes!.indexOf(c) !== i);
    if (dup !== undefined) throw new RangeError(`${where}: class '${dup}' appears twice in classes`);
  }
}

/** Checks an output size [height, width]; returns it as a tuple. */
export function checkSize(size: unknown, what: string): [number, number] {
  if (!Array.isArray(size) || size.length !== 2 || !size.every((d) => Number.isSafeInteger(d) && d >= 1 && d <= 65535)) {
    throw new RangeError(`${what} must be [height, width] in pixels (whole numbers from 1 to 65535), got ${show(size)}`);
  }
  return [size[0], size[1]];
}

function normalizeExtension(e: string): string {
  const x = e.toLowerCase();
  return x.startsWith('.') ? x : `.${x}`;
}

/** Files under `root` with one of `exts`, sorted; hidden names (starting with '.') are skipped. */
async function listImages(root: string, includeSubfolders: boolean, exts: Set<string>): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string, depth: number): Promise<void> => {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (err) {
      throw new Error(`imageDatastore: cannot read the folder ${dir}: ${(err as Error).message}`, { cause: err });
    }
    const subdirs: string[] = [];
    for (const e of entries) {
      if (e.name.startsWith('.')) continue; // .DS_Store, ._name.jpg (AppleDouble), .git
      const p = path.join(dir, e.name);
      let isDir = e.isDirectory();
      let isFile = e.isFile();
      if (e.isSymbolicLink()) {
        const s = await stat(p).catch(() => null);
        isDir = s?.isDirectory() ?? false;
        isFile = s ? s.isFile() : true; // a dangling link is listed, and reported as unreadable when read
      }
      if (isDir) { if (includeSubfolders && depth < 64) subdirs.push(p); }
      else if (isFile && exts.has(path.extname(e.name).toLowerCase())) out.push(p);
    }
    for (const d of subdirs) await walk(d, depth + 1);
  };
  await walk(root, 0);
  return out.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/**
 * A datastore of the image files in a folder (and its subfolders), labeled by folder name.
 *
 *     const data = await imageDatastore('photos', { size: [64, 64] });   // photos/<class>/*.jpg
 *     data.countEachLabel();          // [{ label: 'ants', count: 124 }, …]
 *     const [train, test] = data.splitEachLabel(0.8, { randomize: true, seed: 1 });
 */
export async function imageDatastore(folder: string, options: ImageDatastoreOptions = {}): Promise<ImageDatastore> {
  const where = `imageDatastore(${typeof folder === 'string' ? folder : show(folder)})`;
  if (typeof folder !== 'string' || folder.length === 0) throw new TypeError(`imageDatastore: the first argument must be a folder path, got ${show(folder)}`);
  checkOptions(options, where);
  const root = path.resolve(folder);
  const info = await stat(root).catch(() => null);
  if (!info) throw new Error(`${where}: no such folder: ${root}`);
  if (!info.isDirectory()) throw new Error(`${where}: ${root} is a file; give the folder that holds the images (one subfolder per class)`);
  const includeSubfolders = options.includeSubfolders ?? true;
  const exts = new Set((options.extensions ?? IMAGE_EXTENSIONS).map(normalizeExtension));
  const files = await listImages(root, includeSubfolders, exts);
  if (files.length === 0) {
    throw new Error(`${where}: no image files (${[...exts].join(', ')}) in ${root}${includeSubfolders ? ' or its subfolders' : ''}`);
  }
  const warnings: string[] = [];
  let labels: Int32Array | null = null;
  let classes: readonly string[] | null = null;
  if ((options.labelSource ?? 'foldernames') === 'foldernames') {
    const names = files.map((f) => path.basename(path.dirname(f)));
    const found = [...new Set(names)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    if (options.classes) {
      const known = new Set(options.classes);
      const unknown = found.filter((c) => !known.has(c));
      if (unknown.length) {
        throw new RangeError(`${where}: folder${unknown.length > 1 ? 's' : ''} ${unknown.map((c) => `'${c}'`).join(', ')} ${unknown.length > 1 ? 'are' : 'is'} not among the given classes (${options.classes.join(', ')})`);
      }
      classes = Object.freeze([...options.classes]);
    } else classes = Object.freeze(found);
    const index = new Map(classes.map((c, i) => [c, i]));
    labels = Int32Array.from(names, (n) => index.get(n)!);
    // Class folders with no images, and images that sit in the root itself.
    if (includeSubfolders) {
      const used = new Set(files.map((f) => path.relative(root, f).split(path.sep)[0]));
      const entries = await readdir(root, { withFileTypes: true });
      for (const e of entries) {
        if (e.name.startsWith('.')) continue;
        const p = path.join(root, e.name);
        const isDir = e.isDirectory() || (e.isSymbolicLink() && (await stat(p).catch(() => null))?.isDirectory());
        if (!isDir) continue;
        if (!used.has(e.name)) warnings.push(`${p}: empty class folder (no ${[...exts].join('/')} files): ignored`);
      }
    }
    const inRoot = files.filter((f) => path.dirname(f) === root).length;
    if (inRoot && found.length > 1) warnings.push(`${root}: ${inRoot} image${inRoot > 1 ? 's' : ''} directly in the folder are labeled '${path.basename(root)}' (labels come from each file's folder name)`);
    if (found.length === 1) {
      warnings.push(found[0] === path.basename(root) && inRoot
        ? `${root}: only one class: the images are directly in the folder, so they are all labeled '${found[0]}'; put each class's images in its own subfolder`
        : `${root}: only one class ('${found[0]}'); a classifier needs at least two class folders`);
    }
  }
  const table = new ImageTable(root, Object.freeze(files), labels, classes, Object.freeze(warnings), options.cacheBytes ?? 1 << 30);
  const workers = options.workers ?? defaultWorkers();
  const config: ImageConfig = {
    channels: options.channels ?? 3,
    size: options.size ? checkSize(options.size, `${where}: size`) : null,
    fit: options.fit ?? 'fill',
    alpha: options.alpha ?? 'flatten',
    strict: options.strict ?? false,
    limitInputPixels: options.limitInputPixels ?? 100_000_000,
    failOn: options.failOn ?? 'error',
    workers,
    prefetch: options.prefetch ?? Math.max(3, 2 * workers),
    concurrency: options.concurrency ?? 4,
  };
  return new ImageDatastore(table, Int32Array.from(files, (_, i) => i), config);
}

export interface SplitEachLabelOptions {
  /** Pick the files of each label at random (default false: the first ones, in order). */
  randomize?: boolean;
  /** Seed of the random pick (default 0). */
  seed?: number;
}

/** A datastore of image files; see imageDatastore(). */
export class ImageDatastore implements Datastore {
  readonly size: number;
  readonly classes: readonly string[] | null;
  readonly source: string;
  /** How the last (or current) iteration over batches went: images/s, time waited, workers. */
  readonly pipelineStats: PipelineStats = emptyStats();
  #table: ImageTable;
  #rows: Int32Array;
  #config: ImageConfig;
  #files: readonly string[] | null = null;

  /** @internal Use imageDatastore(). */
  constructor(table: ImageTable, rows: Int32Array, config: ImageConfig) {
    this.#table = table;
    this.#rows = rows;
    this.#config = config;
    this.size = rows.length;
    this.classes = table.classes;
    this.source = table.root;
  }

  /** @internal */
  get table(): ImageTable { return this.#table; }
  /** @internal Table indices of this view's files. */
  get rows(): Int32Array { return this.#rows; }
  /** @internal */
  get config(): ImageConfig { return this.#config; }

  /** 1 (grayscale) or 3 (RGB). */
  get channels(): 1 | 3 { return this.#config.channels; }
  /** [height, width] the images are resized to, or null when not set. */
  get outputSize(): readonly [number, number] | null { return this.#config.size; }

  /** [channels, height, width]. Needs a size (imageDatastore(path, { size: [H, W] })). */
  get inputShape(): readonly number[] {
    return [this.#config.channels, ...this.#needSize('inputShape')];
  }

  #needSize(what: string): readonly [number, number] {
    const s = this.#config.size;
    if (!s) {
      throw new Error(
        `${what} (${this.source}): the images have no common size: give imageDatastore(path, { size: [height, width] }) ` +
        `(dlkit train: --input-size H,W), or wrap the datastore in augmentedImageDatastore([height, width], ds)`,
      );
    }
    return s;
  }

  /** The image files, in this datastore's order. */
  get files(): readonly string[] {
    this.#files ??= Object.freeze(Array.from(this.#rows, (i) => this.#table.files[i]!));
    return this.#files;
  }

  /** Files of this datastore found unusable so far (each iteration adds what it meets). */
  get badFiles(): BadFile[] {
    const out: BadFile[] = [];
    for (const i of this.#rows) {
      const m = this.#table.bad.get(i);
      if (m !== undefined) out.push({ file: this.#table.files[i]!, message: m });
    }
    return out;
  }

  /** Problems found when listing the folder: empty class folders, a single class, … each naming its path. */
  get warnings(): readonly string[] { return this.#table.warnings; }

  labels(): Int32Array | null {
    const all = this.#table.labels;
    return all ? Int32Array.from(this.#rows, (i) => all[i]!) : null;
  }

  /** Files per class (null when unlabeled). */
  countEachLabel(): { label: string; count: number }[] | null {
    return countEachLabel(this);
  }

  /** A datastore of this one's files at `indices` (positions 0..size-1), sharing its cache. */
  subset(indices: readonly number[] | Int32Array): ImageDatastore {
    const rows = new Int32Array(indices.length);
    for (let k = 0; k < indices.length; k++) {
      const p = indices[k]!;
      if (!Number.isInteger(p) || p < 0 || p >= this.size) {
        throw new RangeError(`subset (${this.source}): index ${k} is ${p}; expected a whole number from 0 to ${this.size - 1}`);
      }
      rows[k] = this.#rows[p]!;
    }
    return new ImageDatastore(this.#table, rows, this.#config);
  }

  /** The same files in a random order (seeded: the same order for the same seed). */
  shuffle(seed: number = randomSeed()): ImageDatastore {
    if (!Number.isSafeInteger(seed)) throw new RangeError(`shuffle (${this.source}): seed must be a whole number, got ${show(seed)}`);
    const order = Array.from({ length: this.size }, (_, i) => i);
    shuffleInPlace(order, seededRandom(seed, Stream.shuffle));
    return this.subset(order);
  }

  split(fraction: number, options: SplitOptions = {}): [ImageDatastore, ImageDatastore] {
    const labels = this.labels();
    const { seed, stratified } = checkSplit(fraction, options, labels !== null, this.source);
    const [a, b] = splitPositions(this.size, fraction, stratified ? labels : null, seed);
    return [this.subset(a), this.subset(b)];
  }

  /**
   * Two datastores: the first with `p` of each label's files (a fraction in (0, 1), rounded per
   * label, or a count >= 1 of files per label), the second with the rest. Each keeps this
   * datastore's order.
   */
  splitEachLabel(p: number, options: SplitEachLabelOptions = {}): [ImageDatastore, ImageDatastore] {
    const where = `splitEachLabel (${this.source})`;
    const labels = this.labels();
    if (!labels || !this.classes) throw new TypeError(`${where}: this datastore is unlabeled (labelSource 'none')`);
    const isCount = Number.isSafeInteger(p) && p >= 1;
    if (typeof p !== 'number' || !(isCount || (p > 0 && p < 1))) {
      throw new RangeError(`${where}: p must be a fraction between 0 and 1 (exclusive) or a whole number >= 1 of files per label, got ${show(p)}`);
    }
    for (const k of Object.keys(options)) if (k !== 'randomize' && k !== 'seed') throw new TypeError(`${where}: unknown option '${k}'; expected randomize, seed`);
    const randomize = options.randomize ?? false;
    const seed = options.seed ?? 0;
    if (typeof randomize !== 'boolean') throw new TypeError(`${where}: randomize must be true or false, got ${show(randomize)}`);
    if (!Number.isSafeInteger(seed)) throw new RangeError(`${where}: seed must be a whole number, got ${show(seed)}`);
    const groups = this.classes.map(() => [] as number[]);
    labels.forEach((l, pos) => groups[l]!.push(pos));
    const random = seededRandom(seed, Stream.split);
    const first: number[] = [];
    const second: number[] = [];
    groups.forEach((g, c) => {
      if (g.length === 0) return;
      const k = isCount ? p : Math.round(p * g.length);
      if (isCount && k > g.length) throw new RangeError(`${where}: label '${this.classes![c]}' has ${g.length} files, fewer than the ${p} asked for`);
      const pick = g.slice();
      if (randomize) shuffleInPlace(pick, random);
      pick.forEach((pos, j) => (j < k ? first : second).push(pos));
    });
    first.sort((a, b) => a - b);
    second.sort((a, b) => a - b);
    return [this.subset(first), this.subset(second)];
  }

  /** @internal How files become observations. */
  pipelineSpec(size: readonly [number, number] = this.#needSize('batches')): PipelineSpec {
    const c = this.#config;
    const decode: DecodeSpec = {
      channels: c.channels, alpha: c.alpha, limitInputPixels: c.limitInputPixels, failOn: c.failOn,
      resize: { kind: 'exact', width: size[1], height: size[0], fit: c.fit },
    };
    return { decode, augment: null, channels: c.channels, height: size[0], width: size[1], concurrency: c.concurrency, cacheable: true };
  }

  /**
   * The images in batches: float32 [N, C, H, W] of raw 0–255 values and int64 labels. Files
   * that cannot be used are skipped (a batch can then be smaller) and listed in badFiles; with
   * `strict` the iteration throws an error naming the file.
   */
  batches(options: BatchOptions): AsyncGenerator<Batch, void, undefined> {
    const spec = this.pipelineSpec();
    return imageBatches({
      table: this.#table, rows: this.#rows, spec, source: this.source, strict: this.#config.strict,
      workers: this.#config.workers, prefetch: this.#config.prefetch, augmentSeed: undefined, stats: this.pipelineStats,
    }, options);
  }

  /** @internal Decodes the file at position i as the datastore's pipeline starts from it. */
  async readPixels(i: number, decode?: DecodeSpec): Promise<Pixels> {
    if (!Number.isInteger(i) || i < 0 || i >= this.size) throw new RangeError(`readImage (${this.source}): index ${i} is outside 0..${this.size - 1}`);
    const file = this.#table.files[this.#rows[i]!]!;
    const c = this.#config;
    const spec = decode ?? {
      channels: c.channels, alpha: c.alpha, limitInputPixels: c.limitInputPixels, failOn: c.failOn,
      resize: c.size ? { kind: 'exact', width: c.size[1], height: c.size[0], fit: c.fit } : null,
    };
    try {
      return await decodeImage(file, spec);
    } catch (err) {
      if (err instanceof ImageReadError) {
        this.#table.bad.set(this.#rows[i]!, err.message);
        throw new Error(`${file}: ${err.message}`, { cause: err });
      }
      throw err;
    }
  }

  /** The image at position i as float32 [C, H, W] of raw 0–255 values (at the datastore's size, if set). */
  async readImage(i: number): Promise<Tensor> {
    const img = await this.readPixels(i);
    const chw = new Uint8Array(img.data.length);
    hwcToChw(img.data, img.width, img.height, img.channels, chw);
    return tensor(chw, { shape: [img.channels, img.height, img.width], dtype: 'float32' });
  }

  /**
   * Decodes every file once (in the workers; this fills the cache) and returns the files that
   * cannot be used, and a datastore without them: what evaluation needs, since its labels must
   * match its predictions one to one.
   */
  async scan(): Promise<{ good: ImageDatastore; bad: BadFile[] }> {
    const size = this.#config.size ?? [8, 8];
    const spec = this.pipelineSpec(size);
    const stats = emptyStats();
    for await (const b of imageBatches({
      table: this.#table, rows: this.#rows, spec, source: this.source, strict: false, workers: this.#config.workers,
      prefetch: this.#config.prefetch, augmentSeed: undefined, stats, cache: this.#config.size !== null,
    }, { batchSize: 256 })) {
      b.x.dispose();
      b.y?.dispose();
    }
    const bad = this.badFiles;
    if (bad.length === 0) return { good: this, bad };
    const keep: number[] = [];
    this.#rows.forEach((i, pos) => { if (!this.#table.bad.has(i)) keep.push(pos); });
    return { good: this.subset(keep), bad };
  }

  toString(): string {
    const counts = this.countEachLabel();
    return `ImageDatastore(${this.source}: ${this.size} files${counts ? `, ${counts.length} classes` : ''}, ${this.#config.channels} channel${this.#config.channels > 1 ? 's' : ''}${this.#config.size ? `, ${this.#config.size.join('x')}` : ''})`;
  }
}
