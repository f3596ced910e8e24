// The fast JPEG path of the image pipeline (native/image/jpeg.cc, build/Release/dlkit_jpeg.node):
// libjpeg-turbo decodes only the region an output needs, at the smallest DCT scale that keeps
// it at least the output size, and resizes it (antialiased bilinear) in the same call. A
// separate addon from dlkit.node: no libtorch, so image worker threads load it cheaply.
// DLKIT_JPEG=0 turns it off (everything then goes through sharp), for comparisons.
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import type { FailOn } from './image-decode.js';

export interface JpegInfo {
  width: number;
  height: number;
  /** EXIF orientation 1–8 (1 when there is none), 0 when the EXIF block is unreadable. */
  orientation: number;
  components: number;
  /** Whether decodeJpegRegion handles it: 8-bit gray, YCbCr or RGB, no color profile but sRGB. */
  fast: boolean;
}

interface JpegBinding {
  /** Header only; null when the bytes are not a JPEG or its header is damaged. */
  jpegInfo(bytes: Uint8Array): JpegInfo | null;
  /**
   * The region (pixel edges of the stored image, fractions allowed) resized to outW×outH,
   * mirrored as asked, written HWC or (planar) CHW into `out`. False when the image is not one
   * it handles; throws libjpeg's message on corrupt data (warnings as `failOn` says).
   */
  decodeJpegRegion(bytes: Uint8Array, left: number, top: number, width: number, height: number, outW: number, outH: number,
    channels: 1 | 3, flipX: boolean, flipY: boolean, planar: boolean, failOn: number, out: Uint8Array): boolean;
  libjpegTurbo: string;
}

function load(): JpegBinding | null {
  if (process.env.DLKIT_JPEG === '0') return null;
  // dist/src/data/jpeg.js -> the project root is three levels up; src/data when run from source.
  const here = path.dirname(fileURLToPath(import.meta.url));
  for (const up of ['../../..', '../..']) {
    const candidate = path.resolve(here, up, 'build', 'Release', 'dlkit_jpeg.node');
    if (existsSync(candidate)) return createRequire(import.meta.url)(candidate) as JpegBinding;
  }
  throw new Error('dlkit JPEG addon not built: run `npm run setup` (it builds build/Release/dlkit_jpeg.node)');
}

/** The addon, or null when turned off with DLKIT_JPEG=0. */
export const jpeg: JpegBinding | null = load();

let enabled = true;

/** Turns the fast path off (true: back on when built); for tests that compare it with sharp. */
export function setFastJpeg(on: boolean): void {
  enabled = on;
}

export const FAIL_ON_LEVEL: Record<FailOn, number> = { none: 0, truncated: 1, error: 2, warning: 3 };

/** The header of `bytes` when the fast path can decode it for `channels`, else null (use sharp). */
export function fastJpegInfo(bytes: Uint8Array, channels: 1 | 3): JpegInfo | null {
  if (!jpeg || !enabled || bytes.length < 3 || bytes[0] !== 0xff || bytes[1] !== 0xd8) return null;
  const info = jpeg.jpegInfo(bytes);
  // EXIF-rotated images and color to gray (libvips computes luminance differently) go to sharp.
  if (!info || !info.fast || info.orientation !== 1 || (channels === 1 && info.components !== 1)) return null;
  return info;
}
