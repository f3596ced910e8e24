// Augmented image datastores: an image datastore's files resized to an output size through random
// transforms (crops, reflections, rotation, scale, shear, translation, color jitter, erasing).
// Every draw comes from a generator seeded by (seed, epoch, file index): a run is reproducible,
// each epoch draws afresh, and the result does not depend on the batch order or on which
// thread (worker or main) did the work. Pixel values stay raw 0–255: normalization is the
// network input layer's job.
import type { Tensor } from '../tensor/tensor.js';
import { tensor } from '../tensor/create.js';
import type { Batch, BatchOptions, Datastore, SplitOptions } from './datastore.js';
import type { DecodeSpec } from './image-decode.js';
import type { AugmentSpec, Range } from './image-ops.js';
import { runJob, type PipelineSpec } from './image-job.js';
import { emptyStats, imageBatches, type BadFile, type PipelineStats } from './image-pipeline.js';
import { checkSize, ImageDatastore, type SplitEachLabelOptions } from './image-datastore.js';
import { TensorDatastore } from './tensor-datastore.js';
import { AugmentedTensorDatastore } from './tensor-augment.js';

export type ResizeMode = AugmentSpec['mode'];

/** What an augmented datastore does to each image (MATLAB's imageDataAugmenter, torchvision's transforms). */
export interface ImageAugmenterOptions {
  /**
   * How the image becomes the output size: 'stretch' (default) resizes the whole image;
   * 'center-crop' scales it to cover the output and keeps the center; 'random-crop' takes a
   * window of the output size at a random place (no scaling; see cropPadding);
   * 'random-resized-crop' takes a random region (cropScale of the area, cropRatio aspect) and
   * resizes it to the output.
   */
  resize?: ResizeMode;
  /** random-crop: pixels of fill added around the image before the window is drawn (default 0). */
  cropPadding?: number;
  /** random-resized-crop: range of the region's share of the image area (default [0.08, 1]). */
  cropScale?: readonly [number, number];
  /** random-resized-crop: range of the region's width/height (default [3/4, 4/3]). */
  cropRatio?: readonly [number, number];
  /** Mirror left-right with probability 0.5. */
  reflectX?: boolean;
  /** Mirror top-bottom with probability 0.5. */
  reflectY?: boolean;
  /** Rotation in degrees, counterclockwise: a range [min, max], or r for [-r, r]. */
  rotation?: number | readonly [number, number];
  /** Isotropic scale factor range [min, max] (1: unchanged). */
  scale?: readonly [number, number];
  /** Horizontal / vertical shear angle in degrees: a range, or s for [-s, s]. */
  shearX?: number | readonly [number, number];
  shearY?: number | readonly [number, number];
  /** Translation in output pixels: a range, or t for [-t, t]. */
  translateX?: number | readonly [number, number];
  translateY?: number | readonly [number, number];
  /** Value (0–255) of pixels that come from outside the image: one number or one per channel (default 0). */
  fill?: number | readonly number[];
  /** Brightness factor: b for [max(0, 1 - b), 1 + b], or a range of factors. */
  brightness?: number | readonly [number, number];
  /** Contrast factor (blend with the mean gray level), as brightness. */
  contrast?: number | readonly [number, number];
  /** Saturation factor (blend with each pixel's gray level), as brightness. RGB only. */
  saturation?: number | readonly [number, number];
  /** Hue shift in turns of the color wheel: h (0 to 0.5) for [-h, h], or a range. RGB only. */
  hue?: number | readonly [number, number];
  /**
   * Random erasing: true for torchvision's defaults (probability 0.5, area [0.02, 0.33], ratio
   * [0.3, 3.3], value 0), or those fields; value 'random' fills with random pixels.
   */
  erasing?: boolean | { probability?: number; area?: readonly [number, number]; ratio?: readonly [number, number]; value?: number | readonly number[] | 'random' };
  /** Seed of every draw. Default: the batches' seed (trainNetwork's `seed`), else random. */
  seed?: number;
}

const AUGMENTER_OPTIONS = ['resize', 'cropPadding', 'cropScale', 'cropRatio', 'reflectX', 'reflectY', 'rotation', 'scale', 'shearX', 'shearY', 'translateX', 'translateY', 'fill', 'brightness', 'contrast', 'saturation', 'hue', 'erasing', 'seed'];
const MODES: readonly ResizeMode[] = ['stretch', 'center-crop', 'random-crop', 'random-resized-crop'];

const show = (v: unknown): string => (typeof v === 'string' ? `'${v}'` : Array.isArray(v) ? `[${v.map(show).join(', ')}]` : v === null ? 'null' : typeof v === 'object' ? 'an object' : String(v));
const finite = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** A range from r (→ [-r, r]) or [lo, hi], within [min, max]. */
function symmetric(v: unknown, name: string, max: number): Range | null {
  if (v === undefined) return null;
  if (finite(v)) {
    if (v < 0 || v > max) throw new RangeError(`augmenter: ${name} must be from 0 to ${max} (a range [-${name}, ${name}]) or [min, max], got ${v}`);
    return v === 0 ? null : [-v, v];
  }
  return range(v, name, -max, max);
}

function range(v: unknown, name: string, min: number, max: number): Range {
  if (!Array.isArray(v) || v.length !== 2 || !v.every(finite) || v[0] > v[1] || v[0] < min || v[1] > max) {
    throw new RangeError(`augmenter: ${name} must be [min, max] with ${min} <= min <= max <= ${max}, got ${show(v)}`);
  }
  return [v[0], v[1]];
}

/** A factor range: b (→ [max(0, 1 - b), 1 + b]) or [lo, hi] of factors >= 0. */
function factor(v: unknown, name: string): Range | null {
  if (v === undefined) return null;
  if (finite(v)) {
    if (v < 0) throw new RangeError(`augmenter: ${name} must be >= 0 (factors [max(0, 1 - ${name}), 1 + ${name}]) or a range of factors [min, max], got ${v}`);
    return v === 0 ? null : [Math.max(0, 1 - v), 1 + v];
  }
  return range(v, name, 0, Infinity);
}

function channelValues(v: unknown, name: string, channels: number): number[] {
  const arr = finite(v) ? new Array<number>(channels).fill(v) : v;
  if (!Array.isArray(arr) || !arr.every((x) => finite(x) && x >= 0 && x <= 255) || (arr.length !== 1 && arr.length !== channels)) {
    throw new RangeError(`augmenter: ${name} must be a value from 0 to 255 or one per channel (${channels}), got ${show(v)}`);
  }
  return arr.length === 1 ? new Array<number>(channels).fill(arr[0]) : [...arr];
}

/** Validates augmenter options for an output of outH×outW with `channels` channels. */
export function resolveAugmenter(options: ImageAugmenterOptions, outH: number, outW: number, channels: number): { spec: AugmentSpec; seed: number | undefined } {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) throw new TypeError(`augmenter: options must be an object, got ${show(options)}`);
  for (const k of Object.keys(options)) {
    if (!AUGMENTER_OPTIONS.includes(k)) throw new TypeError(`augmenter: unknown option '${k}'; expected one of ${AUGMENTER_OPTIONS.join(', ')}`);
  }
  const o = options;
  const mode = o.resize ?? 'stretch';
  if (!MODES.includes(mode)) throw new RangeError(`augmenter: resize must be ${MODES.map(show).join(', ')}, got ${show(mode)}`);
  const cropPadding = o.cropPadding ?? 0;
  if (!Number.isSafeInteger(cropPadding) || cropPadding < 0) throw new RangeError(`augmenter: cropPadding must be a whole number of pixels >= 0, got ${show(cropPadding)}`);
  if (o.cropPadding !== undefined && mode !== 'random-crop') throw new RangeError(`augmenter: cropPadding applies to resize 'random-crop', not ${show(mode)}`);
  const cropScale = o.cropScale === undefined ? [0.08, 1] as Range : range(o.cropScale, 'cropScale', 1e-6, 1);
  const cropRatio = o.cropRatio === undefined ? [3 / 4, 4 / 3] as Range : range(o.cropRatio, 'cropRatio', 1e-6, 1e6);
  for (const k of ['reflectX', 'reflectY'] as const) {
    if (o[k] !== undefined && typeof o[k] !== 'boolean') throw new TypeError(`augmenter: ${k} must be true or false, got ${show(o[k])}`);
  }
  const scale = o.scale === undefined ? null : range(o.scale, 'scale', 1e-3, 1e3);
  let erasing: AugmentSpec['erasing'] = null;
  if (o.erasing !== undefined && o.erasing !== false) {
    const e = o.erasing === true ? {} : o.erasing;
    if (typeof e !== 'object' || e === null) throw new TypeError(`augmenter: erasing must be true, false or { probability, area, ratio, value }, got ${show(e)}`);
    for (const k of Object.keys(e)) if (!['probability', 'area', 'ratio', 'value'].includes(k)) throw new TypeError(`augmenter: unknown erasing option '${k}'; expected probability, area, ratio, value`);
    const probability = e.probability ?? 0.5;
    if (!finite(probability) || probability < 0 || probability > 1) throw new RangeError(`augmenter: erasing.probability must be from 0 to 1, got ${show(probability)}`);
    erasing = {
      probability,
      area: e.area === undefined ? [0.02, 0.33] : range(e.area, 'erasing.area', 1e-6, 1),
      ratio: e.ratio === undefined ? [0.3, 3.3] : range(e.ratio, 'erasing.ratio', 1e-6, 1e6),
      value: e.value === 'random' ? 'random' : channelValues(e.value ?? 0, 'erasing.value', channels),
    };
  }
  const seed = o.seed;
  if (seed !== undefined && !Number.isSafeInteger(seed)) throw new RangeError(`augmenter: seed must be a whole number, got ${show(seed)}`);
  const hue = o.hue === undefined ? null : finite(o.hue) ? (() => {
    if (o.hue < 0 || o.hue > 0.5) throw new RangeError(`augmenter: hue must be from 0 to 0.5 (a shift in [-hue, hue] turns) or a range, got ${o.hue}`);
    return o.hue === 0 ? null : [-o.hue, o.hue] as Range;
  })() : range(o.hue, 'hue', -0.5, 0.5);
  const spec: AugmentSpec = {
    outH, outW, mode, cropPadding, cropScale, cropRatio,
    reflectX: o.reflectX ?? false,
    reflectY: o.reflectY ?? false,
    rotation: symmetric(o.rotation, 'rotation', 360),
    scale,
    shearX: symmetric(o.shearX, 'shearX', 89),
    shearY: symmetric(o.shearY, 'shearY', 89),
    translateX: symmetric(o.translateX, 'translateX', 1e6),
    translateY: symmetric(o.translateY, 'translateY', 1e6),
    fill: channelValues(o.fill ?? 0, 'fill', channels),
    brightness: factor(o.brightness, 'brightness'),
    contrast: factor(o.contrast, 'contrast'),
    saturation: factor(o.saturation, 'saturation'),
    hue,
    erasing,
  };
  return { spec, seed };
}

/**
 * Augmenter options from the CLI's --augment list, e.g. 'flip,rotate:15,crop,jitter':
 * flip (left-right), flipv (top-bottom), rotate[:deg] (±10), crop[:pad] (random crop with
 * padding, default 1/8 of the size), resized-crop[:minScale] (0.08), scale[:s] (±0.1),
 * shear[:deg] (±10), translate[:px] (1/8 of the size), jitter[:x] (brightness, contrast,
 * saturation ±0.2, hue ±x/4), erase[:p] (0.5).
 */
export function parseAugmentList(list: string, outputSize: readonly [number, number]): ImageAugmenterOptions {
  const o: ImageAugmenterOptions = {};
  const eighth = Math.max(1, Math.round(Math.min(...outputSize) / 8));
  const known = ['flip', 'flipv', 'rotate[:deg]', 'crop[:pad]', 'resized-crop[:minScale]', 'scale[:s]', 'shear[:deg]', 'translate[:px]', 'jitter[:x]', 'erase[:p]'];
  for (const raw of list.split(',').map((s) => s.trim()).filter(Boolean)) {
    const [name, arg, extra] = raw.split(':');
    const num = (d: number) => {
      if (arg === undefined || arg === '') return d;
      const v = Number(arg);
      if (!Number.isFinite(v) || v < 0 || extra !== undefined) throw new RangeError(`--augment: '${raw}': expected ${name}:<number >= 0>`);
      return v;
    };
    switch (name) {
      case 'flip': o.reflectX = true; break;
      case 'flipv': o.reflectY = true; break;
      case 'rotate': o.rotation = num(10); break;
      case 'crop': o.resize = 'random-crop'; o.cropPadding = Math.round(num(eighth)); break;
      case 'resized-crop': o.resize = 'random-resized-crop'; o.cropScale = [num(0.08), 1]; break;
      case 'scale': { const s = num(0.1); o.scale = [Math.max(1e-3, 1 - s), 1 + s]; break; }
      case 'shear': o.shearX = num(10); break;
      case 'translate': { const t = num(eighth); o.translateX = t; o.translateY = t; break; }
      case 'jitter': { const x = num(0.2); o.brightness = x; o.contrast = x; o.saturation = x; o.hue = Math.min(0.5, x / 4); break; }
      case 'erase': o.erasing = { probability: num(0.5) }; break;
      default: throw new RangeError(`--augment: unknown augmentation '${name}'; known: ${known.join(', ')}`);
    }
  }
  return o;
}

/** The augmenter options in a line, for logs: "reflectX, random-crop (padding 2)". */
export function describeAugmenter(o: ImageAugmenterOptions): string {
  const parts: string[] = [];
  if (o.resize && o.resize !== 'stretch') parts.push(o.resize === 'random-crop' && o.cropPadding ? `random-crop (padding ${o.cropPadding})` : o.resize);
  for (const [k, v] of Object.entries(o)) {
    if (k === 'resize' || k === 'cropPadding' || v === undefined || v === false) continue;
    parts.push(v === true ? k : `${k} ${JSON.stringify(v)}`);
  }
  return parts.join(', ') || 'none';
}

/** How files are decoded before the random transforms, for a resize mode. */
function decodeFor(spec: AugmentSpec, base: DecodeSpec): DecodeSpec {
  switch (spec.mode) {
    case 'stretch': return { ...base, resize: { kind: 'exact', width: spec.outW, height: spec.outH, fit: 'fill' } };
    case 'center-crop': return { ...base, resize: { kind: 'exact', width: spec.outW, height: spec.outH, fit: 'cover' } };
    case 'random-crop': return { ...base, resize: null };
    case 'random-resized-crop': return { ...base, resize: null }; // each draw decodes its own region (decodeRegion)
  }
}

/** An image datastore seen through random transforms at a fixed output size. */
export class AugmentedImageDatastore implements Datastore {
  readonly size: number;
  readonly inputShape: readonly number[];
  readonly classes: readonly string[] | null;
  readonly source: string;
  /** The image datastore underneath. */
  readonly images: ImageDatastore;
  readonly outputSize: readonly [number, number];
  readonly augmenter: Readonly<ImageAugmenterOptions>;
  /** How the last (or current) iteration over batches went: images/s, time waited, workers. */
  readonly pipelineStats: PipelineStats = emptyStats();
  #spec: AugmentSpec;
  #seed: number | undefined;

  /** @internal Use augmentedImageDatastore(). */
  constructor(images: ImageDatastore, outputSize: readonly [number, number], augmenter: ImageAugmenterOptions) {
    const { spec, seed } = resolveAugmenter(augmenter, outputSize[0], outputSize[1], images.channels);
    this.images = images;
    this.outputSize = outputSize;
    this.augmenter = Object.freeze({ ...augmenter });
    this.#spec = spec;
    this.#seed = seed;
    this.size = images.size;
    this.inputShape = Object.freeze([images.channels, outputSize[0], outputSize[1]]);
    this.classes = images.classes;
    this.source = images.source;
  }

  /** The image files, in this datastore's order. */
  get files(): readonly string[] { return this.images.files; }
  get badFiles(): BadFile[] { return this.images.badFiles; }
  get warnings(): readonly string[] { return this.images.warnings; }
  labels(): Int32Array | null { return this.images.labels(); }
  countEachLabel(): { label: string; count: number }[] | null { return this.images.countEachLabel(); }

  #wrap(images: ImageDatastore): AugmentedImageDatastore {
    return new AugmentedImageDatastore(images, this.outputSize, this.augmenter);
  }

  subset(indices: readonly number[] | Int32Array): AugmentedImageDatastore { return this.#wrap(this.images.subset(indices)); }
  shuffle(seed?: number): AugmentedImageDatastore { return this.#wrap(this.images.shuffle(seed)); }
  split(fraction: number, options?: SplitOptions): [AugmentedImageDatastore, AugmentedImageDatastore] {
    const [a, b] = this.images.split(fraction, options);
    return [this.#wrap(a), this.#wrap(b)];
  }
  splitEachLabel(p: number, options?: SplitEachLabelOptions): [AugmentedImageDatastore, AugmentedImageDatastore] {
    const [a, b] = this.images.splitEachLabel(p, options);
    return [this.#wrap(a), this.#wrap(b)];
  }

  #pipelineSpec(): PipelineSpec {
    const base = this.images.pipelineSpec(this.outputSize);
    return { ...base, decode: decodeFor(this.#spec, base.decode), augment: this.#spec, cacheable: this.#spec.mode !== 'random-resized-crop' };
  }

  /**
   * Batches of augmented images: float32 [N, C, H, W] raw 0–255 and int64 labels. The draws
   * depend on (seed, epoch, file): pass `epoch` for a fresh draw each epoch (trainNetwork does).
   */
  batches(options: BatchOptions): AsyncGenerator<Batch, void, undefined> {
    const c = this.images.config;
    return imageBatches({
      table: this.images.table, rows: this.images.rows, spec: this.#pipelineSpec(), source: this.source, strict: c.strict,
      workers: c.workers, prefetch: c.prefetch, augmentSeed: this.#seed, stats: this.pipelineStats,
    }, options);
  }

  /**
   * Observation i as the batches give it for (seed, epoch): float32 [C, H, W]. Runs on the main
   * thread; the result equals what a worker makes.
   */
  async preview(i: number, { epoch = 0, seed = this.#seed ?? 0 }: { epoch?: number; seed?: number } = {}): Promise<Tensor> {
    if (!Number.isInteger(i) || i < 0 || i >= this.size) throw new RangeError(`preview (${this.source}): index ${i} is outside 0..${this.size - 1}`);
    const spec = this.#pipelineSpec();
    const index = this.images.rows[i]!;
    const r = await runJob({ id: 0, epoch, seed, items: [{ index, file: this.images.table.files[index]! }], cached: null, wantDecoded: false }, spec);
    if (r.errors.length) throw new Error(`${this.images.table.files[index]}: ${r.errors[0]!.message}`);
    return tensor(r.pixels, { shape: [spec.channels, spec.height, spec.width], dtype: 'float32' });
  }

  toString(): string {
    return `AugmentedImageDatastore(${this.outputSize.join('x')} from ${this.images.toString()})`;
  }
}

/**
 * An image datastore resized to `outputSize` [height, width] through random transforms.
 *
 *     const train = augmentedImageDatastore([32, 32], images, {
 *       resize: 'random-crop', cropPadding: 4, reflectX: true, rotation: 15, brightness: 0.2,
 *     });
 */
export function augmentedImageDatastore(outputSize: readonly number[], datastore: TensorDatastore, augmenter?: ImageAugmenterOptions): AugmentedTensorDatastore;
export function augmentedImageDatastore(outputSize: readonly number[], datastore: ImageDatastore, augmenter?: ImageAugmenterOptions): AugmentedImageDatastore;
export function augmentedImageDatastore(outputSize: readonly number[], datastore: ImageDatastore | TensorDatastore, augmenter: ImageAugmenterOptions = {}): AugmentedImageDatastore | AugmentedTensorDatastore {
  const size = checkSize(outputSize, 'augmentedImageDatastore: outputSize');
  // In-memory 8-bit images (Fashion-MNIST, CIFAR-10 binaries) take the same transforms.
  if (datastore instanceof TensorDatastore) return new AugmentedTensorDatastore(datastore, size, augmenter);
  if (!(datastore instanceof ImageDatastore)) {
    throw new TypeError(`augmentedImageDatastore: the datastore must be an image datastore (imageDatastore(folder)) or in-memory images (tensorDatastore, fashionMnist), got ${datastore === null ? 'null' : typeof datastore === 'object' ? (datastore as object).constructor?.name ?? 'an object' : typeof datastore}`);
  }
  return new AugmentedImageDatastore(datastore, size, augmenter);
}
