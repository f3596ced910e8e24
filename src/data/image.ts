// Reading one image file as a [C, H, W] tensor of raw 0–255 values, decoded by sharp (libvips)
// exactly as the image datastores decode for training: EXIF orientation applied, transparent
// pixels flattened onto white, converted to the channel count asked for, resized to the size
// asked for. So a model classifies a file the way it saw its training images.
import sharp from 'sharp';
import type { Tensor } from '../tensor/tensor.js';
import { tensor } from '../tensor/create.js';
import { tidy } from '../tensor/memory.js';
import { decodeImage, ImageReadError, type FailOn } from './image-decode.js';
import { hwcToChw } from './image-ops.js';

export interface ReadImageOptions {
  /** [channels, height, width]: 1 gives grayscale, 3 RGB, 4 RGBA. */
  size: readonly number[];
  /** 'fill' stretches to the size; 'cover' scales and center-crops. Default 'fill'. */
  fit?: 'fill' | 'cover';
  /** Transparent pixels (1 or 3 channels): 'flatten' onto white (default, as the datastores) or 'drop' the alpha. */
  alpha?: 'flatten' | 'drop';
  /** Refuse images with more pixels than this (decompression bombs). Default 100 megapixels. */
  limitInputPixels?: number;
  /** sharp's sensitivity to invalid data (default 'error'). */
  failOn?: FailOn;
}

export async function readImage(file: string, { size, fit = 'fill', alpha = 'flatten', limitInputPixels = 100_000_000, failOn = 'error' }: ReadImageOptions): Promise<Tensor> {
  const [c, h, w] = size as [number, number, number];
  if (![1, 3, 4].includes(c)) throw new RangeError(`readImage: ${c} channels asked for; images have 1 (grayscale), 3 (RGB) or 4 (RGBA)`);
  if (c === 4) {
    const img = sharp(file, { limitInputPixels, failOn }).rotate().resize(w, h, { fit }).ensureAlpha().toColourspace('srgb');
    let data: Buffer;
    try {
      ({ data } = await img.raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true }));
    } catch (err) {
      throw new Error(`${file}: cannot read as an image: ${(err as Error).message}`);
    }
    const hwc = new Uint8Array(data.buffer, data.byteOffset, data.length);
    return tidy(() => tensor(hwc, { shape: [h, w, c] }).permute(2, 0, 1).float().contiguous()); // (C, H, W)
  }
  try {
    const img = await decodeImage(file, { channels: c as 1 | 3, alpha, limitInputPixels, failOn, resize: { kind: 'exact', width: w, height: h, fit } });
    const chw = new Uint8Array(img.data.length);
    hwcToChw(img.data, w, h, c, chw);
    return tensor(chw, { shape: [c, h, w], dtype: 'float32' });
  } catch (err) {
    if (err instanceof ImageReadError) throw new Error(`${file}: cannot read as an image: ${err.message}`, { cause: err });
    throw err;
  }
}
