// Augmentation of in-memory 8-bit images (Fashion-MNIST, CIFAR-10 binaries, tensors of your own):
// the same transforms and the same per-(seed, epoch, observation) draws as image folders
// (augment.ts, image-ops.ts), run on the main thread between training steps. Small images make
// that cheap: ~40 us for a 28x28 image, ~5 ms per batch of 128.
import { tensor } from '../tensor/create.js';
import type { Tensor } from '../tensor/tensor.js';
import { checkBatchOptions, countEachLabel, epochOrder, randomSeed, type Batch, type BatchOptions, type Datastore, type SplitOptions } from './datastore.js';
import { augmentImage, imageRandom, type AugmentSpec } from './image-ops.js';
import type { TensorDatastore } from './tensor-datastore.js';
import { resolveAugmenter, type ImageAugmenterOptions } from './augment.js';

/** Pixels of every observation, HWC per image (as augmentImage reads them). */
interface PixelTable {
  data: Uint8Array;
  channels: number;
  height: number;
  width: number;
}

/** Throws unless `data` holds 8-bit images [C, H, W] with 1 or 3 channels. */
function checkImages(data: TensorDatastore, where: string): void {
  const shape = data.inputShape;
  if (shape.length !== 3 || (shape[0] !== 1 && shape[0] !== 3)) {
    throw new RangeError(`${where}: in-memory observations must be images [C, H, W] with 1 or 3 channels, got [${shape.join(', ')}]`);
  }
  if (data.storedDType !== 'uint8') {
    throw new TypeError(`${where}: in-memory images must be stored as uint8 (raw 0–255 pixels), got ${data.storedDType}; augmentation works on 8-bit images`);
  }
}

/** Copies the pixels out of `data` (checked by checkImages). */
function pixelTable(data: TensorDatastore): PixelTable {
  const shape = data.inputShape;
  const [C, H, W] = shape as [number, number, number];
  const x = data.gatherStored();
  let chw: Uint8Array;
  try { chw = x.dataSync() as Uint8Array; } finally { x.dispose(); }
  if (C === 1) return { data: chw, channels: C, height: H, width: W };
  const hwc = new Uint8Array(chw.length);
  const plane = H * W;
  for (let n = 0; n < data.size; n++) {
    const base = n * C * plane;
    for (let c = 0; c < C; c++) for (let i = 0; i < plane; i++) hwc[base + i * C + c] = chw[base + c * plane + i]!;
  }
  return { data: hwc, channels: C, height: H, width: W };
}

/** In-memory 8-bit images seen through random transforms at a fixed output size. */
export class AugmentedTensorDatastore implements Datastore {
  readonly size: number;
  readonly inputShape: readonly number[];
  readonly classes: readonly string[] | null;
  readonly source: string;
  /** The in-memory datastore underneath. */
  readonly data: TensorDatastore;
  readonly outputSize: readonly [number, number];
  readonly augmenter: Readonly<ImageAugmenterOptions>;
  #spec: AugmentSpec;
  #seed: number | undefined;
  #pixels: PixelTable | null = null;
  #labels: Int32Array | null;

  /** @internal Use augmentedImageDatastore(). */
  constructor(data: TensorDatastore, outputSize: readonly [number, number], augmenter: ImageAugmenterOptions) {
    checkImages(data, `augmentedImageDatastore (${data.source})`);
    const shape = data.inputShape;
    const { spec, seed } = resolveAugmenter(augmenter, outputSize[0], outputSize[1], shape[0]!);
    this.data = data;
    this.outputSize = outputSize;
    this.augmenter = Object.freeze({ ...augmenter });
    this.#spec = spec;
    this.#seed = seed;
    this.size = data.size;
    this.inputShape = Object.freeze([shape[0]!, outputSize[0], outputSize[1]]);
    this.classes = data.classes;
    this.source = data.source;
    this.#labels = data.labels();
  }

  // Pixels are copied out of the tensor on first use (47 MB for Fashion-MNIST's training set).
  #pixelTable(): PixelTable { return (this.#pixels ??= pixelTable(this.data)); }

  labels(): Int32Array | null { return this.#labels ? this.#labels.slice() : null; }
  countEachLabel(): { label: string; count: number }[] | null { return countEachLabel(this); }

  #wrap(data: TensorDatastore): AugmentedTensorDatastore {
    return new AugmentedTensorDatastore(data, this.outputSize, this.augmenter);
  }
  subset(indices: readonly number[] | Int32Array): AugmentedTensorDatastore { return this.#wrap(this.data.subset(indices)); }
  split(fraction: number, options?: SplitOptions): [AugmentedTensorDatastore, AugmentedTensorDatastore] {
    const [a, b] = this.data.split(fraction, options);
    return [this.#wrap(a), this.#wrap(b)];
  }

  /**
   * Batches of augmented images: float32 [N, C, H, W] raw 0–255 and int64 labels. Draws depend on
   * (seed, epoch, observation): pass `epoch` for a fresh draw each epoch (trainNetwork does).
   */
  async *batches(options: BatchOptions): AsyncGenerator<Batch, void, undefined> {
    const o = checkBatchOptions(options, this.source);
    const px = this.#pixelTable();
    const seed = this.#seed ?? o.seed ?? randomSeed();
    const order = epochOrder(this.size, o);
    const [C, H, W] = this.inputShape as [number, number, number];
    const inPlane = px.channels * px.height * px.width;
    const outPlane = C * H * W;
    for (let start = 0; start < order.length; start += o.batchSize) {
      const end = Math.min(start + o.batchSize, order.length);
      if (o.dropLast && end - start < o.batchSize) break;
      const n = end - start;
      const pixels = new Uint8Array(n * outPlane);
      const labels = this.#labels ? new BigInt64Array(n) : null;
      for (let k = 0; k < n; k++) {
        const i = order[start + k]!;
        const src = { data: px.data.subarray(i * inPlane, (i + 1) * inPlane), width: px.width, height: px.height, channels: px.channels };
        augmentImage(src, this.#spec, imageRandom(seed, o.epoch, i), pixels.subarray(k * outPlane, (k + 1) * outPlane));
        if (labels) labels[k] = BigInt(this.#labels![i]!);
      }
      const x: Tensor = tensor(pixels, { shape: [n, C, H, W], dtype: 'float32' });
      yield { x, y: labels ? tensor(labels, { shape: [n] }) : null };
    }
  }

  /** Observation i as the batches give it for (seed, epoch): float32 [C, H, W]. */
  preview(i: number, { epoch = 0, seed = this.#seed ?? 0 }: { epoch?: number; seed?: number } = {}): Tensor {
    if (!Number.isInteger(i) || i < 0 || i >= this.size) throw new RangeError(`preview (${this.source}): index ${i} is outside 0..${this.size - 1}`);
    const px = this.#pixelTable();
    const inPlane = px.channels * px.height * px.width;
    const out = new Uint8Array(this.inputShape.reduce((a, b) => a * b, 1));
    augmentImage({ data: px.data.subarray(i * inPlane, (i + 1) * inPlane), width: px.width, height: px.height, channels: px.channels }, this.#spec, imageRandom(seed, epoch, i), out);
    return tensor(out, { shape: this.inputShape, dtype: 'float32' });
  }

  toString(): string {
    return `AugmentedTensorDatastore(${this.outputSize.join('x')} from ${this.size} in-memory images)`;
  }
}
