// A fake camera for Chromium: photos as a YUV4MPEG2 (.y4m) video, which Chromium plays as its
// camera with --use-file-for-fake-video-capture (looping at the header's frame rate). Each
// photo is decoded by sharp, resized to width×height with fit 'fill' (stretched, as
// dl.readImage's default: so photo → camera → the model's input size is photo → input size),
// converted to I420 with BT.601 limited range (Y 16–235, Cb/Cr 16–240: what Chromium assumes for
// a camera's frames when it turns them back into RGB) and written `framesEach` times.
import { closeSync, openSync, writeSync } from 'node:fs';
import sharp from 'sharp';

export interface Y4mOptions {
  width?: number;
  height?: number;
  /** Frames per photo (each photo is on camera for framesEach / fps seconds). */
  framesEach: number;
  /** Frames per second in the header: Chromium plays the file at this rate. */
  fps: number;
}

export interface Y4mVideo {
  width: number;
  height: number;
  /** Each photo as it went in, RGB bytes [height, width, 3] after the resize. */
  rgb: Uint8Array[];
  /** Total frames in the file. */
  frames: number;
}

const clamp = (v: number) => (v < 0 ? 0 : v > 255 ? 255 : Math.round(v));

/** I420 planes (Y full size, then U and V at half width and height) of an RGB image, BT.601 limited range. */
export function rgbToI420(rgb: Uint8Array, width: number, height: number): Uint8Array {
  if (width % 2 || height % 2) throw new RangeError(`rgbToI420: width and height must be even for 4:2:0, got ${width}×${height}`);
  const ySize = width * height;
  const cw = width / 2;
  const out = new Uint8Array(ySize + ySize / 2);
  const u = out.subarray(ySize, ySize + ySize / 4);
  const v = out.subarray(ySize + ySize / 4);
  for (let i = 0; i < ySize; i++) {
    const r = rgb[3 * i]! / 255, g = rgb[3 * i + 1]! / 255, b = rgb[3 * i + 2]! / 255;
    out[i] = clamp(16 + 65.481 * r + 128.553 * g + 24.966 * b);
  }
  for (let y = 0; y < height; y += 2) {
    for (let x = 0; x < width; x += 2) {
      let cb = 0, cr = 0;
      for (const [dy, dx] of [[0, 0], [0, 1], [1, 0], [1, 1]] as const) {
        const p = 3 * ((y + dy) * width + x + dx);
        const r = rgb[p]! / 255, g = rgb[p + 1]! / 255, b = rgb[p + 2]! / 255;
        cb += -37.797 * r - 74.203 * g + 112.0 * b;
        cr += 112.0 * r - 93.786 * g - 18.214 * b;
      }
      const c = (y / 2) * cw + x / 2;
      u[c] = clamp(128 + cb / 4);
      v[c] = clamp(128 + cr / 4);
    }
  }
  return out;
}

/** A photo as the fake camera shows it: decoded, stretched to width×height ('fill'), RGB bytes [height, width, 3]. */
export async function cameraFrame(photo: string, width = 320, height = 240): Promise<Uint8Array> {
  const { data, info } = await sharp(photo).rotate().flatten({ background: '#ffffff' }).removeAlpha().toColourspace('srgb')
    .resize(width, height, { fit: 'fill' }).raw().toBuffer({ resolveWithObject: true });
  if (info.channels !== 3) throw new Error(`${photo}: decoded to ${info.channels} channels, expected 3`);
  return new Uint8Array(data.buffer, data.byteOffset, data.length);
}

/** Writes `photos` (image files) to `file` as a 4:2:0 y4m video, each photo for `framesEach` frames. */
export async function writeY4m(photos: readonly string[], file: string, { width = 320, height = 240, framesEach, fps }: Y4mOptions): Promise<Y4mVideo> {
  if (!Number.isInteger(framesEach) || framesEach < 1) throw new RangeError(`writeY4m: framesEach must be a positive integer, got ${framesEach}`);
  if (!Number.isInteger(fps) || fps < 1) throw new RangeError(`writeY4m: fps must be a positive integer, got ${fps}`);
  const rgb: Uint8Array[] = [];
  for (const photo of photos) rgb.push(await cameraFrame(photo, width, height));
  const fd = openSync(file, 'w');
  try {
    writeSync(fd, `YUV4MPEG2 W${width} H${height} F${fps}:1 Ip A1:1 C420jpeg\n`);
    for (const image of rgb) {
      const planes = rgbToI420(image, width, height);
      for (let f = 0; f < framesEach; f++) {
        writeSync(fd, 'FRAME\n');
        writeSync(fd, planes);
      }
    }
  } finally {
    closeSync(fd);
  }
  return { width, height, rgb, frames: photos.length * framesEach };
}
