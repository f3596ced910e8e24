// One unit of work of the image pipeline: decode (or take from the cache) and augment the images
// of one batch, packed as uint8 [N, C, H, W]. Runs in an image worker, or on the main thread for
// small jobs; the same code either way, so the results are the same.
import { decodeImage, decodeRegion, ImageReadError, type DecodeSpec } from './image-decode.js';
import { augmentImage, hwcToChw, imageRandom, onlyFlips, randomResizedRegion, type AugmentSpec, type Pixels } from './image-ops.js';

export interface PipelineSpec {
  decode: DecodeSpec;
  /** null: the decoded image is the observation (decode.resize is then exact to the output size). */
  augment: AugmentSpec | null;
  channels: number;
  height: number;
  width: number;
  /** Images decoded at once (sharp runs them on libuv's thread pool). */
  concurrency: number;
  /** Whether decoded images may be cached (false when each draw decodes a different region). */
  cacheable: boolean;
}

/** Several HWC images in one buffer (one transfer between threads). */
export interface PackedImages {
  /** Position in the job's items of each image. */
  pos: Int32Array;
  /** width, height of each image. */
  dims: Int32Array;
  data: Uint8Array;
}

export interface JobItem {
  /** Index of the file in the datastore's file table: the key of its random draws and its cache entry. */
  index: number;
  file: string;
}

export interface Job {
  id: number;
  epoch: number;
  seed: number;
  items: JobItem[];
  /** Decoded images the main thread has cached, for some of the items. */
  cached: PackedImages | null;
  /** Send the decoded images back (for the cache). */
  wantDecoded: boolean;
}

export interface JobResult {
  id: number;
  /** Images that made it, in item order: [count, C, H, W]. */
  count: number;
  pixels: Uint8Array;
  /** Item position of each image in `pixels`. */
  ok: Int32Array;
  errors: { pos: number; message: string }[];
  decoded: PackedImages | null;
  /** Seconds of decoding and augmenting, summed over images. */
  busySeconds: number;
}

export function packImages(images: { pos: number; img: Pixels }[], channels: number): PackedImages {
  let bytes = 0;
  for (const { img } of images) bytes += img.width * img.height * channels;
  const data = new Uint8Array(bytes);
  const pos = new Int32Array(images.length);
  const dims = new Int32Array(images.length * 2);
  let off = 0;
  images.forEach(({ pos: p, img }, i) => {
    pos[i] = p;
    dims[2 * i] = img.width;
    dims[2 * i + 1] = img.height;
    data.set(img.data.subarray(0, img.width * img.height * channels), off);
    off += img.width * img.height * channels;
  });
  return { pos, dims, data };
}

export function unpackImages(p: PackedImages, channels: number): Map<number, Pixels> {
  const out = new Map<number, Pixels>();
  let off = 0;
  for (let i = 0; i < p.pos.length; i++) {
    const width = p.dims[2 * i]!, height = p.dims[2 * i + 1]!;
    const n = width * height * channels;
    out.set(p.pos[i]!, { data: p.data.subarray(off, off + n), width, height, channels });
    off += n;
  }
  return out;
}

export async function runJob(job: Job, spec: PipelineSpec): Promise<JobResult> {
  const { channels: C, height: H, width: W } = spec;
  const plane = C * H * W;
  const n = job.items.length;
  const pixels = new Uint8Array(n * plane);
  const good = new Uint8Array(n);
  const errors: { pos: number; message: string }[] = [];
  const cached = job.cached ? unpackImages(job.cached, C) : new Map<number, Pixels>();
  const decoded: { pos: number; img: Pixels }[] = [];
  let busy = 0;
  let next = 0;
  const one = async (pos: number) => {
    const item = job.items[pos]!;
    const t0 = performance.now();
    try {
      const slot = pixels.subarray(pos * plane, (pos + 1) * plane);
      const aug = spec.augment;
      if (aug?.mode === 'random-resized-crop') {
        // The region is drawn first, then only it is decoded and resized; the other transforms
        // continue from the same generator on the output-sized image. When flips are all there
        // is, the JPEG fast path draws them and writes the observation itself (CHW, mirrored).
        const random = imageRandom(job.seed, job.epoch, item.index);
        const pick = (w: number, h: number) => randomResizedRegion(w, h, aug.cropScale, aug.cropRatio, random);
        const target = onlyFlips(aug)
          ? { out: slot, flips: () => [aug.reflectX && random() < 0.5, aug.reflectY && random() < 0.5] as const }
          : undefined;
        const region = await decodeRegion(item.file, spec.decode, pick, W, H, target);
        if (region) augmentImage(region, { ...aug, mode: 'stretch' }, random, slot);
        good[pos] = 1;
        busy += performance.now() - t0;
        return;
      }
      let img = cached.get(pos);
      if (!img) {
        img = await decodeImage(item.file, spec.decode);
        if (job.wantDecoded) decoded.push({ pos, img });
      }
      if (aug) augmentImage(img, aug, imageRandom(job.seed, job.epoch, item.index), slot);
      else {
        if (img.width !== W || img.height !== H) throw new ImageReadError(`decoded to ${img.width}x${img.height}, expected ${W}x${H}`);
        hwcToChw(img.data, W, H, C, slot);
      }
      good[pos] = 1;
    } catch (err) {
      errors.push({ pos, message: err instanceof ImageReadError ? err.message : `cannot process: ${(err as Error).message ?? String(err)}` });
    }
    busy += performance.now() - t0;
  };
  const runner = async () => { while (next < n) await one(next++); };
  await Promise.all(Array.from({ length: Math.min(spec.concurrency, n) }, runner));
  // Move the good images together, in item order.
  const ok: number[] = [];
  for (let pos = 0; pos < n; pos++) {
    if (!good[pos]) continue;
    if (ok.length !== pos) pixels.copyWithin(ok.length * plane, pos * plane, (pos + 1) * plane);
    ok.push(pos);
  }
  errors.sort((a, b) => a.pos - b.pos);
  decoded.sort((a, b) => a.pos - b.pos);
  return {
    id: job.id,
    count: ok.length,
    pixels: ok.length === n ? pixels : pixels.slice(0, ok.length * plane),
    ok: Int32Array.from(ok),
    errors,
    decoded: job.wantDecoded && decoded.length ? packImages(decoded, C) : null,
    busySeconds: busy / 1000,
  };
}
