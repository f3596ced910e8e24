// Decoding one image file with sharp (libvips): EXIF orientation applied, alpha flattened onto
// white (or dropped), converted to 1 (grayscale) or 3 (sRGB) channels of 8 bits, optionally
// resized. Shared by the image workers and the main thread. Plain JPEGs (no EXIF rotation, no
// color profile but sRGB) take the fast path of jpeg.ts when the job is a region or needs no
// resampling; everything else goes through sharp.
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import sharp from 'sharp';
import type { Pixels } from './image-ops.js';
import { FAIL_ON_LEVEL, fastJpegInfo, jpeg, type JpegInfo } from './jpeg.js';

export type FailOn = 'none' | 'truncated' | 'error' | 'warning';

/** How a file becomes the pixels the pipeline starts from: a function of the file alone. */
export interface DecodeSpec {
  /** 1: grayscale; 3: RGB. */
  channels: 1 | 3;
  /** 'flatten': composite transparent pixels onto white; 'drop': discard the alpha channel. */
  alpha: 'flatten' | 'drop';
  /**
   * null: the image's own size. exact: to width×height ('fill' stretches, 'cover' scales to
   * cover and keeps the center). shorter: shrink (never enlarge) so the shorter side is `size`.
   */
  resize: null | { kind: 'exact'; width: number; height: number; fit: 'fill' | 'cover' } | { kind: 'shorter'; size: number };
  /** Refuse images with more pixels than this (decompression bombs). */
  limitInputPixels: number;
  /** sharp's sensitivity to invalid pixel data: 'error' stops on truncated and corrupt data. */
  failOn: FailOn;
}

/** A key that identifies the spec (cached pixels are only reused for the same key). */
export function decodeKey(s: DecodeSpec): string {
  const r = s.resize === null ? 'native' : s.resize.kind === 'exact' ? `${s.resize.fit}${s.resize.width}x${s.resize.height}` : `shorter${s.resize.size}`;
  return `${s.channels}/${s.alpha}/${r}/${s.limitInputPixels}/${s.failOn}`;
}

/** Why a file could not be used; `message` does not repeat the path. */
export class ImageReadError extends Error {}

function describeSharpError(err: unknown): string {
  const m = err instanceof Error ? err.message : String(err);
  if (/unsupported image format/i.test(m)) return 'not an image in a supported format (JPEG, PNG, WebP, GIF, TIFF, AVIF)';
  if (/pixel limit/i.test(m)) return `image too large: ${m}`;
  if (/empty/i.test(m)) return 'empty file';
  return `cannot decode: ${m.trim().replace(/\s+/g, ' ')}`;
}

let syncReads = false;

/**
 * Read files synchronously. For worker threads, whose event loop only serves decoding: a
 * synchronous read of a small file costs less CPU than the thread-pool round trips of an
 * asynchronous one (about 0.1 ms an image). Never on the main thread.
 */
export function useSynchronousReads(on: boolean): void {
  syncReads = on;
}

async function readBytes(input: string | Buffer): Promise<Buffer> {
  let bytes: Buffer;
  if (typeof input === 'string') {
    try {
      bytes = syncReads ? readFileSync(input) : await readFile(input);
    } catch (err) {
      throw new ImageReadError(`cannot read the file: ${(err as Error).message}`);
    }
  } else bytes = input;
  if (bytes.length === 0) throw new ImageReadError('empty file (0 bytes)');
  return bytes;
}

/** Alpha, channels, 8-bit raw output: the end of every decoding pipeline. */
async function finish(img: sharp.Sharp, spec: DecodeSpec): Promise<Pixels> {
  img = spec.alpha === 'flatten' ? img.flatten({ background: { r: 255, g: 255, b: 255 } }) : img.removeAlpha();
  img = spec.channels === 1 ? img.grayscale() : img.toColourspace('srgb');
  const { data, info } = await img.raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
  if (info.channels !== spec.channels) {
    throw new ImageReadError(`decoded to ${info.channels} channels, expected ${spec.channels}`);
  }
  return { data: new Uint8Array(data.buffer, data.byteOffset, data.length), width: info.width, height: info.height, channels: info.channels };
}

/** Decodes `input` (a file path or its bytes); errors are ImageReadError without the path. */
export async function decodeImage(input: string | Buffer, spec: DecodeSpec): Promise<Pixels> {
  const bytes = await readBytes(input);
  const r = spec.resize;
  // The fast path when no resampling is asked (native size, or already the exact size, as
  // CIFAR-10's 32x32 files at input size 32x32): sharp resizes with lanczos3, which the fast
  // path's triangle filter does not reproduce (mean difference ~9 levels at 7.5x shrink).
  const fast = r?.kind === 'shorter' ? null : fastJpegInfo(bytes, spec.channels);
  if (fast && (r === null || (r.kind === 'exact' && r.width === fast.width && r.height === fast.height))) {
    checkPixelLimit(fast, spec);
    const { width: w, height: h } = fast;
    const out = new Uint8Array(w * h * spec.channels);
    if (decodeFast(bytes, [0, 0, w, h], w, h, spec, false, false, false, out)) return { data: out, width: w, height: h, channels: spec.channels };
  }
  try {
    let img = sharp(bytes, { limitInputPixels: spec.limitInputPixels, failOn: spec.failOn, sequentialRead: true, autoOrient: true });
    if (r?.kind === 'exact') img = img.resize(r.width, r.height, { fit: r.fit, position: 'centre' });
    else if (r?.kind === 'shorter') img = img.resize(r.size, r.size, { fit: 'outside', withoutEnlargement: true });
    return await finish(img, spec);
  } catch (err) {
    if (err instanceof ImageReadError) throw err;
    throw new ImageReadError(describeSharpError(err));
  }
}

/** The same refusal sharp gives (limitInputPixels), before the fast path decodes anything. */
function checkPixelLimit(info: JpegInfo, spec: DecodeSpec): void {
  if (info.width * info.height > spec.limitInputPixels) {
    throw new ImageReadError(`image too large: Input image exceeds pixel limit (${info.width}x${info.height} > ${spec.limitInputPixels} pixels)`);
  }
}

function decodeFast(bytes: Buffer, [left, top, w, h]: readonly number[], outW: number, outH: number, spec: DecodeSpec, flipX: boolean, flipY: boolean, planar: boolean, out: Uint8Array): boolean {
  try {
    return jpeg!.decodeJpegRegion(bytes, left!, top!, w!, h!, outW, outH, spec.channels, flipX, flipY, planar, FAIL_ON_LEVEL[spec.failOn], out);
  } catch (err) {
    throw new ImageReadError(`cannot decode: ${(err as Error).message}`);
  }
}

/** Where decodeRegion may write its result directly: uint8 CHW, mirrored as `flips` draws. */
export interface RegionTarget {
  out: Uint8Array;
  /** Draws [flipX, flipY]; called once, after `pick`. */
  flips: () => readonly [boolean, boolean];
}

/**
 * Decodes a region of the image and resizes it to width×height (bilinear, antialiased when
 * shrinking): for plain JPEGs with jpeg.ts (only the region's blocks, at a reduced DCT scale),
 * else in one libvips pipeline (which stops decoding below the region). `pick` gets the size
 * of the image as shown (EXIF orientation applied) and returns the region [x, y, w, h] in it;
 * it is called once. The spec's resize is not used. With `target`, the fast path writes the
 * result there (CHW, flipped as drawn) and returns null; otherwise the result is HWC pixels.
 */
export async function decodeRegion(input: string | Buffer, spec: DecodeSpec, pick: (width: number, height: number) => readonly [number, number, number, number], width: number, height: number, target?: RegionTarget): Promise<Pixels | null> {
  const bytes = await readBytes(input);
  let picked: readonly [number, number, number, number] | null = null;
  const choose = (w: number, h: number) => (picked ??= pick(w, h));
  const fast = fastJpegInfo(bytes, spec.channels);
  if (fast) {
    checkPixelLimit(fast, spec);
    const region = choose(fast.width, fast.height);
    if (target) {
      const [flipX, flipY] = target.flips();
      if (decodeFast(bytes, region, width, height, spec, flipX, flipY, true, target.out)) return null;
      throw new ImageReadError('the JPEG decoder refused an image its header check accepted'); // flips are drawn: no fallback
    }
    const out = new Uint8Array(width * height * spec.channels);
    if (decodeFast(bytes, region, width, height, spec, false, false, false, out)) return { data: out, width, height, channels: spec.channels };
  }
  try {
    const meta = await sharp(bytes, { limitInputPixels: spec.limitInputPixels }).metadata();
    const w0 = meta.width, h0 = meta.pageHeight ?? meta.height;
    if (!w0 || !h0) throw new ImageReadError('cannot tell the image size');
    const [w, h] = (meta.orientation ?? 1) >= 5 ? [h0, w0] : [w0, h0];
    const [left, top, rw, rh] = choose(w, h);
    const img = sharp(bytes, { limitInputPixels: spec.limitInputPixels, failOn: spec.failOn, sequentialRead: true, autoOrient: true })
      .extract({ left, top, width: rw, height: rh })
      .resize(width, height, { fit: 'fill', kernel: 'linear' }); // libvips resizes faster than JavaScript
    return await finish(img, spec);
  } catch (err) {
    if (err instanceof ImageReadError) throw err;
    throw new ImageReadError(describeSharpError(err));
  }
}
