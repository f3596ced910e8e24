// Reading one image file as a [C, H, W] tensor of raw 0–255 values, decoded by sharp (libvips):
// EXIF orientation applied, converted to the channel count asked for, resized to the size asked for.
import sharp from 'sharp';
import type { Tensor } from '../tensor/tensor.js';
import { tensor } from '../tensor/create.js';
import { tidy } from '../tensor/memory.js';

export interface ReadImageOptions {
  /** [channels, height, width]: 1 gives grayscale, 3 RGB, 4 RGBA. */
  size: readonly number[];
  /** 'fill' stretches to the size; 'cover' scales and center-crops. Default 'fill'. */
  fit?: 'fill' | 'cover';
  /** Refuse images with more pixels than this (decompression bombs). Default 100 megapixels. */
  limitInputPixels?: number;
}

export async function readImage(file: string, { size, fit = 'fill', limitInputPixels = 100_000_000 }: ReadImageOptions): Promise<Tensor> {
  const [c, h, w] = size as [number, number, number];
  if (![1, 3, 4].includes(c)) throw new RangeError(`readImage: ${c} channels asked for; images have 1 (grayscale), 3 (RGB) or 4 (RGBA)`);
  let img = sharp(file, { limitInputPixels, failOn: 'error' }).rotate().resize(w, h, { fit, kernel: 'lanczos3' });
  img = c === 1 ? img.grayscale() : c === 3 ? img.removeAlpha().toColourspace('srgb') : img.ensureAlpha().toColourspace('srgb');
  let data: Buffer;
  let info: sharp.OutputInfo;
  try {
    ({ data, info } = await img.raw().toBuffer({ resolveWithObject: true }));
  } catch (err) {
    throw new Error(`${file}: cannot read as an image: ${(err as Error).message}`);
  }
  if (info.channels !== c) throw new Error(`${file}: decoded to ${info.channels} channels, expected ${c}`);
  const hwc = new Uint8Array(data.buffer, data.byteOffset, data.length);
  return tidy(() => tensor(hwc, { shape: [h, w, c] }).permute(2, 0, 1).float().contiguous()); // (C, H, W)
}
