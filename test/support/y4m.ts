// A camera recording for Chromium's fake capture device (--use-file-for-fake-video-capture):
// photos as YUV4MPEG2 frames. Each photo is resized to width×height with 'fill' (stretched, as
// dlkit classify resizes: the same geometry, so the page sees the photo the CLI sees), converted
// to I420 with BT.601 limited-range coefficients — what Chromium converts back to RGB — with
// chroma averaged over each 2×2 block.
import { writeFileSync } from 'node:fs';
import sharp from 'sharp';

export interface Y4mOptions {
  width?: number;
  height?: number;
  /** Frames per photo (default 10). */
  framesEach?: number;
  fps?: number;
}

const clamp = (v: number) => (v < 0 ? 0 : v > 255 ? 255 : Math.round(v));

/** I420 planes of RGB pixels (width and height even). */
export function rgbToI420(rgb: Uint8Array, w: number, h: number): Buffer {
  const out = Buffer.alloc(w * h * 3 / 2);
  const u0 = w * h, v0 = u0 + (w / 2) * (h / 2);
  for (let i = 0; i < w * h; i++) {
    const r = rgb[3 * i]!, g = rgb[3 * i + 1]!, b = rgb[3 * i + 2]!;
    out[i] = clamp(16 + (65.481 * r + 128.553 * g + 24.966 * b) / 255);
  }
  for (let y = 0; y < h; y += 2) {
    for (let x = 0; x < w; x += 2) {
      let r = 0, g = 0, b = 0;
      for (const [dx, dy] of [[0, 0], [1, 0], [0, 1], [1, 1]] as const) {
        const p = 3 * ((y + dy) * w + x + dx);
        r += rgb[p]!; g += rgb[p + 1]!; b += rgb[p + 2]!;
      }
      r /= 4 * 255; g /= 4 * 255; b /= 4 * 255;
      const j = (y / 2) * (w / 2) + x / 2;
      out[u0 + j] = clamp(128 - 37.797 * r - 74.203 * g + 112.0 * b);
      out[v0 + j] = clamp(128 + 112.0 * r - 93.786 * g - 18.214 * b);
    }
  }
  return out;
}

/** Writes `photos` (files or encoded bytes) to `file` as a .y4m video. */
export async function writeY4m(photos: readonly (string | Buffer)[], file: string, { width = 320, height = 240, framesEach = 10, fps = 10 }: Y4mOptions = {}): Promise<void> {
  if (width % 2 || height % 2) throw new RangeError(`writeY4m: width and height must be even, got ${width}×${height}`);
  const parts: Buffer[] = [Buffer.from(`YUV4MPEG2 W${width} H${height} F${fps}:1 Ip A1:1 C420jpeg\n`)];
  for (const photo of photos) {
    const { data } = await sharp(photo).rotate().resize(width, height, { fit: 'fill' }).removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
    const frame = rgbToI420(new Uint8Array(data.buffer, data.byteOffset, data.length), width, height);
    for (let f = 0; f < framesEach; f++) parts.push(Buffer.from('FRAME\n'), frame);
  }
  writeFileSync(file, Buffer.concat(parts));
}
