// Image files the image tests write with sharp: every supported format, varied colors and sizes,
// classes that a small CNN can tell apart (each class has its own hue family and pattern).
import { mkdirSync, existsSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { prng } from '../support/random.js';
import { SHARED_DATA } from '../support/shared-data.js';

/** Formats the datastores read, by extension (mixed case on purpose: extensions match case-insensitively). */
export const FORMATS = ['.jpg', '.png', '.webp', '.gif', '.tiff', '.avif', '.JPEG', '.tif', '.PNG', '.jpeg'] as const;

/** Where the real photos are (ants and bees), when this machine has them. */
export const HYMENOPTERA = path.join(SHARED_DATA, 'hymenoptera');
export const hasHymenoptera = existsSync(path.join(HYMENOPTERA, 'train', 'ants'));


function hsv(h: number, s: number, v: number): [number, number, number] {
  const k = (n: number) => (n + h / 60) % 6;
  const f = (n: number) => v * (1 - s * Math.max(0, Math.min(k(n), 4 - k(n), 1)));
  return [f(5) * 255, f(3) * 255, f(1) * 255];
}

/**
 * RGB pixels (HWC) of an image of class `cls` (0, 1, 2, …): the class's hue ±20°, random
 * saturation and brightness, a class pattern (stripes of a class-dependent direction) at a
 * random phase, and noise.
 */
export function classImage(cls: number, width: number, height: number, random: () => number): Buffer {
  const hue = (cls * 137.5 + (random() - 0.5) * 40 + 360) % 360;
  const s = 0.55 + 0.45 * random();
  const v = 0.6 + 0.4 * random();
  const [r, g, b] = hsv(hue, s, v);
  const phase = random() * 8;
  const px = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const t = cls % 3 === 0 ? x : cls % 3 === 1 ? y : x + y;
      const stripe = Math.floor((t + phase) / 4) % 2 ? 1 : 0.7;
      const o = (y * width + x) * 3;
      px[o] = Math.max(0, Math.min(255, r * stripe + (random() - 0.5) * 30));
      px[o + 1] = Math.max(0, Math.min(255, g * stripe + (random() - 0.5) * 30));
      px[o + 2] = Math.max(0, Math.min(255, b * stripe + (random() - 0.5) * 30));
    }
  }
  return px;
}

/** Writes raw pixels in the format the file's extension names. */
export async function writeImage(file: string, pixels: Buffer, width: number, height: number, channels = 3): Promise<void> {
  mkdirSync(path.dirname(file), { recursive: true });
  const img = sharp(pixels, { raw: { width, height, channels: channels as 1 | 3 | 4 } });
  const ext = path.extname(file).toLowerCase();
  switch (ext) {
    case '.jpg': case '.jpeg': await img.jpeg({ quality: 92 }).toFile(file); break;
    case '.png': await img.png().toFile(file); break;
    case '.webp': await img.webp({ quality: 95 }).toFile(file); break;
    case '.gif': await img.gif().toFile(file); break;
    case '.tif': case '.tiff': await img.tiff().toFile(file); break;
    case '.avif': await img.avif({ quality: 80, effort: 0 }).toFile(file); break;
    default: throw new Error(`writeImage: no writer for ${ext}`);
  }
}

export interface WrittenImage {
  file: string;
  cls: number;
}

/**
 * A folder of class folders: `classes[c]/<i><ext>` for `perClass` images per class, cycling
 * through `formats`, sizes from minSize to maxSize (each side). Returns the files written.
 */
export async function writeClassFolder(root: string, { classes, perClass, formats = FORMATS, minSize = 12, maxSize = 28, seed = 1 }: {
  classes: readonly string[]; perClass: number; formats?: readonly string[]; minSize?: number; maxSize?: number; seed?: number;
}): Promise<WrittenImage[]> {
  const random = prng(seed);
  const jobs: Promise<void>[] = [];
  const written: WrittenImage[] = [];
  classes.forEach((name, cls) => {
    for (let i = 0; i < perClass; i++) {
      const ext = formats[(i + cls) % formats.length]!;
      const w = minSize + Math.floor(random() * (maxSize - minSize + 1));
      const h = minSize + Math.floor(random() * (maxSize - minSize + 1));
      const file = path.join(root, name, `${String(i).padStart(3, '0')}${ext}`);
      written.push({ file, cls });
      jobs.push(writeImage(file, classImage(cls, w, h, random), w, h));
    }
  });
  await Promise.all(jobs);
  return written;
}

/** A solid-color image file. */
export async function writeSolid(file: string, rgb: [number, number, number], width = 8, height = 8): Promise<void> {
  const px = Buffer.alloc(width * height * 3);
  for (let i = 0; i < width * height; i++) px.set(rgb, i * 3);
  await writeImage(file, px, width, height);
}
