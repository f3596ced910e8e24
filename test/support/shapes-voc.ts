// A small Pascal VOC folder of generated pictures: filled squares, discs and triangles of random
// colours and sizes on noisy backgrounds, 1-4 per image, with their boxes in VOC's XML (1-based,
// inclusive pixel coordinates) and the train/test split files. Seeded: the same seed writes the
// same bytes. For the detection tests that must run without ../shared/data.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';

export const SHAPE_CLASSES = ['square', 'disc', 'triangle'] as const;

export interface ShapeBox { name: (typeof SHAPE_CLASSES)[number]; x1: number; y1: number; x2: number; y2: number }

export interface ShapesVocOptions {
  images: number;
  /** Images in the test split (the last ones); the rest are trainval. */
  testImages: number;
  width?: number;
  height?: number;
  seed?: number;
  /** Side of the shapes in pixels [min, max]. */
  sizes?: [number, number];
}

function random(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13; s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5; s >>>= 0;
    return s / 2 ** 32;
  };
}

/** Writes the folder; returns each image's boxes (continuous 0-based pixel coordinates) by image id. */
export async function writeShapesVoc(root: string, o: ShapesVocOptions): Promise<Map<string, ShapeBox[]>> {
  const { width: W = 128, height: H = 96, seed = 1, sizes = [16, 40] } = o;
  const rand = random(seed);
  for (const d of ['JPEGImages', 'Annotations', path.join('ImageSets', 'Main')]) mkdirSync(path.join(root, d), { recursive: true });
  const all = new Map<string, ShapeBox[]>();
  for (let i = 0; i < o.images; i++) {
    const id = `shapes_${String(i).padStart(4, '0')}`;
    const px = new Uint8Array(W * H * 3);
    const base = [rand() * 120, rand() * 120, rand() * 120];
    for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) for (let c = 0; c < 3; c++) px[(y * W + x) * 3 + c] = base[c]! + (x + y) * 0.2 + rand() * 40;
    const boxes: ShapeBox[] = [];
    const count = 1 + Math.floor(rand() * 4);
    for (let tries = 0; boxes.length < count && tries < 40; tries++) {
      const s = Math.round(sizes[0] + rand() * (sizes[1] - sizes[0]));
      const x1 = Math.floor(rand() * (W - s));
      const y1 = Math.floor(rand() * (H - s));
      // Objects do not overlap much: a detector test, not an occlusion test.
      if (boxes.some((b) => x1 < b.x2 + 2 && x1 + s > b.x1 - 2 && y1 < b.y2 + 2 && y1 + s > b.y1 - 2)) continue;
      const name = SHAPE_CLASSES[Math.floor(rand() * SHAPE_CLASSES.length)]!;
      const colour = [140 + rand() * 115, 140 + rand() * 115, 140 + rand() * 115];
      for (let y = y1; y < y1 + s; y++) for (let x = x1; x < x1 + s; x++) {
        const u = (x + 0.5 - x1) / s;
        const v = (y + 0.5 - y1) / s;
        const inside = name === 'square' ? true : name === 'disc' ? (u - 0.5) ** 2 + (v - 0.5) ** 2 <= 0.25 : Math.abs(u - 0.5) <= v / 2;
        if (inside) for (let c = 0; c < 3; c++) px[(y * W + x) * 3 + c] = colour[c]!;
      }
      boxes.push({ name, x1, y1, x2: x1 + s, y2: y1 + s });
    }
    await sharp(Buffer.from(px), { raw: { width: W, height: H, channels: 3 } }).jpeg({ quality: 92 }).toFile(path.join(root, 'JPEGImages', `${id}.jpg`));
    const objects = boxes.map((b) => `  <object>
    <name>${b.name}</name>
    <difficult>0</difficult>
    <bndbox><xmin>${b.x1 + 1}</xmin><ymin>${b.y1 + 1}</ymin><xmax>${b.x2}</xmax><ymax>${b.y2}</ymax></bndbox>
  </object>`).join('\n');
    writeFileSync(path.join(root, 'Annotations', `${id}.xml`), `<annotation>
  <filename>${id}.jpg</filename>
  <size><width>${W}</width><height>${H}</height><depth>3</depth></size>
${objects}
</annotation>
`);
    all.set(id, boxes);
  }
  const ids = [...all.keys()];
  const test = ids.slice(ids.length - o.testImages);
  const trainval = ids.slice(0, ids.length - o.testImages);
  writeFileSync(path.join(root, 'ImageSets', 'Main', 'trainval.txt'), `${trainval.join('\n')}\n`);
  writeFileSync(path.join(root, 'ImageSets', 'Main', 'test.txt'), `${test.join('\n')}\n`);
  return all;
}
