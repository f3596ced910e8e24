// Generated stand-ins for photos, for the camera tests when the team's shared data is absent:
// each image is a noisy two-tone gradient background with one large disc whose colour is the
// class (red, green, blue, yellow). A tiny CNN learns them in seconds; as photos on a fake camera
// they go through the same resize, YUV and JPEG steps as real ones.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import * as dl from '../../src/index.js';
import { prng } from './random.js';

export const COLOR_CLASSES = ['red', 'green', 'blue', 'yellow'] as const;
const DISC: Record<(typeof COLOR_CLASSES)[number], [number, number, number]> = {
  red: [215, 45, 40], green: [45, 190, 60], blue: [45, 70, 215], yellow: [225, 205, 45],
};

/** One image, RGB bytes [height, width, 3], of class `label` (index into COLOR_CLASSES). */
export function colorImage(label: number, width: number, height: number, seed: number): Uint8Array {
  const random = prng(seed);
  const bg0 = [0, 1, 2].map(() => 50 + random() * 90);
  const bg1 = [0, 1, 2].map(() => 50 + random() * 90);
  const disc = DISC[COLOR_CLASSES[label]!].map((v) => v + (random() - 0.5) * 40);
  const r = (0.25 + random() * 0.12) * Math.min(width, height);
  const cx = r + random() * (width - 2 * r), cy = r + random() * (height - 2 * r);
  const out = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const inside = (x + 0.5 - cx) ** 2 + (y + 0.5 - cy) ** 2 <= r * r;
      const t = (x + y) / (width + height);
      for (let c = 0; c < 3; c++) {
        const base = inside ? disc[c]! : bg0[c]! * (1 - t) + bg1[c]! * t;
        out[3 * (y * width + x) + c] = Math.max(0, Math.min(255, Math.round(base + (random() - 0.5) * 30)));
      }
    }
  }
  return out;
}

/** `n` images as PNG files in `dir` (classes in turn), 320×240 by default; returns their paths. */
export async function writeColorPhotos(dir: string, n: number, seed: number, width = 320, height = 240): Promise<string[]> {
  mkdirSync(dir, { recursive: true });
  const files: string[] = [];
  for (let i = 0; i < n; i++) {
    const label = i % COLOR_CLASSES.length;
    const file = path.join(dir, `${String(i).padStart(2, '0')}-${COLOR_CLASSES[label]}.png`);
    await sharp(Buffer.from(colorImage(label, width, height, seed * 1000 + i)), { raw: { width, height, channels: 3 } }).png().toFile(file);
    files.push(file);
  }
  return files;
}

/** A labeled datastore of `n` images drawn at the network's input size [3, size, size]; dispose() frees it. */
export function colorData(n: number, seed: number, size: number): dl.TensorDatastore {
  const pixels = new Uint8Array(n * 3 * size * size);
  const labels = new Uint8Array(n);
  const plane = size * size;
  for (let i = 0; i < n; i++) {
    labels[i] = i % COLOR_CLASSES.length;
    const hwc = colorImage(labels[i]!, size, size, seed * 100_000 + i);
    for (let p = 0; p < plane; p++) for (let c = 0; c < 3; c++) pixels[(i * 3 + c) * plane + p] = hwc[3 * p + c]!;
  }
  const x = dl.tensor(pixels, { shape: [n, 3, size, size] });
  const y = dl.tensor(labels);
  return dl.tensorDatastore(x, y, { classes: [...COLOR_CLASSES], own: true, source: `color discs(${n}, seed ${seed})` });
}

/** A tiny CNN for [3, size, size] colour images: conv 8 → relu → max pool → fc 4 (logits). */
export function tinyColorNet(size: number): dl.Network {
  return dl.Network.series([
    dl.nn.imageInput({ inputSize: [3, size, size], normalization: 'rescale-zero-one', name: 'input' }),
    dl.nn.conv2d({ filters: 8, kernelSize: 3, padding: 'same', name: 'conv' }),
    dl.nn.relu({ name: 'relu' }),
    dl.nn.maxPool2d({ poolSize: 2, name: 'pool' }),
    dl.nn.fullyConnected({ outputSize: COLOR_CLASSES.length, name: 'fc' }),
  ]);
}
