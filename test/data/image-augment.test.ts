// Augmented image datastores: determinism under a seed (and a fresh draw each epoch), the same
// pixels from workers and the main thread, and the geometry and colors of each transform on a
// lossless PNG whose every pixel is distinct.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as dl from '../../src/index.js';
import { noLeaks } from '../helpers.js';
import { writeImage, writeSolid } from './image-fixtures.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'dlkit-augment-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const W = 16;
/** A W×W RGB pattern with distinct pixels: R = 15x, G = 15y, B = 7(x + y) + 10. */
const pattern = Buffer.alloc(W * W * 3);
for (let y = 0; y < W; y++) for (let x = 0; x < W; x++) pattern.set([15 * x, 15 * y, 7 * (x + y) + 10], (y * W + x) * 3);
/** The pattern as [3, W, W] (CHW), what an identity transform gives. */
const chw = (get: (x: number, y: number) => number[]) => {
  const out = new Array<number>(3 * W * W);
  for (let y = 0; y < W; y++) for (let x = 0; x < W; x++) get(x, y).forEach((v, c) => { out[c * W * W + y * W + x] = v; });
  return out;
};
const original = chw((x, y) => [15 * x, 15 * y, 7 * (x + y) + 10]);
const mirrored = chw((x, y) => [15 * (W - 1 - x), 15 * y, 7 * (W - 1 - x + y) + 10]);

const root = path.join(tmp, 'pattern');
let images: dl.ImageDatastore;
before(async () => {
  // 40 copies of the pattern (enough for the worker pool to start), in two classes.
  await Promise.all(Array.from({ length: 40 }, (_, i) => writeImage(path.join(root, i % 2 ? 'odd' : 'even', `p${i}.png`), pattern, W, W)));
  images = await dl.imageDatastore(root, { workers: 1 });
});

async function pixels(t: Promise<dl.Tensor> | dl.Tensor): Promise<number[]> {
  const x = await t;
  const v = Array.from(x.dataSync() as Float32Array);
  x.dispose();
  return v;
}

test('identity: stretch to the same size gives the image back', () => noLeaks(async () => {
  const aug = dl.augmentedImageDatastore([W, W], images, {});
  assert.deepEqual([...aug.inputShape], [3, W, W]);
  assert.deepEqual(await pixels(aug.preview(0)), original);
}));

test('horizontal reflection: each draw is the image or its exact mirror, both occur, fresh each epoch', () => noLeaks(async () => {
  const aug = dl.augmentedImageDatastore([W, W], images, { reflectX: true, seed: 11 });
  const kinds: string[] = [];
  for (let epoch = 0; epoch < 16; epoch++) {
    const v = await pixels(aug.preview(0, { epoch }));
    const kind = v.every((p, i) => p === original[i]) ? 'same' : v.every((p, i) => p === mirrored[i]) ? 'mirror' : 'other';
    kinds.push(kind);
  }
  assert.ok(!kinds.includes('other'), `every draw is the image or its mirror: ${kinds.join(' ')}`);
  assert.ok(kinds.includes('same') && kinds.includes('mirror'), `both occur over 16 epochs: ${kinds.join(' ')}`);
  const vflip = dl.augmentedImageDatastore([W, W], images, { reflectY: true, seed: 1 });
  const upsideDown = chw((x, y) => [15 * x, 15 * (W - 1 - y), 7 * (x + W - 1 - y) + 10]);
  let sawFlip = false;
  for (let epoch = 0; epoch < 8; epoch++) {
    const v = await pixels(vflip.preview(0, { epoch }));
    assert.ok(v.every((p, i) => p === original[i]) || v.every((p, i) => p === upsideDown[i]));
    sawFlip ||= v.every((p, i) => p === upsideDown[i]);
  }
  assert.ok(sawFlip);
}));

test('rotation by 90° turns the image counterclockwise: the top-left corner goes to the bottom-left', () => noLeaks(async () => {
  const ccw = await pixels(dl.augmentedImageDatastore([W, W], images, { rotation: [90, 90] }).preview(0));
  // out(u, v) = in(W - 1 - v, u)
  const expected = chw((u, v) => { const x = W - 1 - v, y = u; return [15 * x, 15 * y, 7 * (x + y) + 10]; });
  assert.deepEqual(ccw, expected);
  const R = (v: number[], x: number, y: number) => v[y * W + x]!;
  assert.equal(R(ccw, 0, W - 1), 0, 'the top-left pixel (R = 0, G = 0) is now at the bottom-left');
  assert.equal(ccw[W * W + (W - 1) * W], 0);
  const cw = await pixels(dl.augmentedImageDatastore([W, W], images, { rotation: [-90, -90] }).preview(0));
  assert.equal(R(cw, W - 1, 0), 0, 'clockwise: the top-left pixel goes to the top-right');
  assert.equal(cw[W * W + W - 1], 0);
}));

test('translation, scale and shear move pixels as the affine says; outside is the fill', () => noLeaks(async () => {
  const moved = await pixels(dl.augmentedImageDatastore([W, W], images, { translateX: [3, 3], translateY: [-2, -2], fill: 7 }).preview(0));
  for (let y = 0; y < W; y++) {
    for (let x = 0; x < W; x++) {
      const sx = x - 3, sy = y + 2;
      const inside = sx >= 0 && sy >= 0 && sx < W && sy < W;
      assert.equal(moved[y * W + x], inside ? 15 * sx : 7, `R at (${x}, ${y})`);
    }
  }
  const half = await pixels(dl.augmentedImageDatastore([W, W], images, { scale: [0.5, 0.5] }).preview(0));
  assert.equal(half[0], 0, 'shrunk to the center: the corners are fill');
  assert.ok(Math.abs(half[8 * W + 8]! - original[8 * W + 8]!) <= 8, 'the center stays');
  const sheared = await pixels(dl.augmentedImageDatastore([W, W], images, { shearX: [45, 45] }).preview(0));
  // x' = x + tan(45°)(y - c): the middle row barely moves, the top row moves left by (c) pixels.
  assert.ok(Math.abs(sheared[Math.round((W - 1) / 2) * W + 5]! - 15 * 5) <= 8);
  assert.equal(sheared[0 * W + (W - 1)], 0, 'the top row shifted left: its right end is fill');
}));

test('crops: random-crop with padding is a shifted window; center-crop keeps the middle; random-resized-crop has the output size', () => noLeaks(async () => {
  const crop = dl.augmentedImageDatastore([W, W], images, { resize: 'random-crop', cropPadding: 4, seed: 3 });
  let shifted = 0;
  for (let epoch = 0; epoch < 6; epoch++) {
    const v = await pixels(crop.preview(0, { epoch }));
    // find the shift (dx, dy) in [-4, 4]² that explains the window
    let found: [number, number] | null = null;
    for (let dy = -4; dy <= 4 && !found; dy++) {
      for (let dx = -4; dx <= 4 && !found; dx++) {
        const ok = v.every((p, i) => {
          const c = Math.floor(i / (W * W)), y = Math.floor((i % (W * W)) / W), x = i % W;
          const sx = x + dx, sy = y + dy;
          return p === (sx < 0 || sy < 0 || sx >= W || sy >= W ? 0 : original[c * W * W + sy * W + sx]);
        });
        if (ok) found = [dx, dy];
      }
    }
    assert.ok(found, `epoch ${epoch}: the output is a window of the padded image`);
    if (found[0] !== 0 || found[1] !== 0) shifted++;
  }
  assert.ok(shifted >= 3, 'the window moves');
  // center-crop of a 32x16 image to 16x16: the middle 16 columns
  const wide = Buffer.alloc(32 * 16 * 3);
  for (let y = 0; y < 16; y++) for (let x = 0; x < 32; x++) wide.set([x * 7, y * 15, 0], (y * 32 + x) * 3);
  await writeImage(path.join(tmp, 'wide', 'w', 'a.png'), wide, 32, 16);
  const wideDs = await dl.imageDatastore(path.join(tmp, 'wide'), { workers: 0 });
  const center = await pixels(dl.augmentedImageDatastore([16, 16], wideDs, { resize: 'center-crop' }).preview(0));
  assert.deepEqual(center.slice(0, 16), Array.from({ length: 16 }, (_, x) => (x + 8) * 7), 'columns 8..23');
  const stretch = await pixels(dl.augmentedImageDatastore([16, 16], wideDs, {}).preview(0));
  assert.ok(stretch[15]! > 200, 'stretch keeps the right edge');
  const rrc = dl.augmentedImageDatastore([8, 8], images, { resize: 'random-resized-crop', seed: 2 });
  const a = await pixels(rrc.preview(0, { epoch: 0 }));
  const b = await pixels(rrc.preview(0, { epoch: 1 }));
  assert.equal(a.length, 3 * 8 * 8);
  assert.notDeepEqual(a, b);
}));

test('color: brightness, contrast, saturation, hue; random erasing', () => noLeaks(async () => {
  await writeSolid(path.join(tmp, 'red', 'r', 'red.png'), [200, 20, 10], 4, 4);
  const red = await dl.imageDatastore(path.join(tmp, 'red'), { workers: 0 });
  const first = async (o: dl.ImageAugmenterOptions) => (await pixels(dl.augmentedImageDatastore([4, 4], red, o).preview(0))).filter((_, i) => i % 16 === 0);
  assert.deepEqual(await first({ brightness: [0.5, 0.5] }), [100, 10, 5]);
  assert.deepEqual(await first({ brightness: [2, 2] }), [255, 40, 20], 'clamped at 255');
  const gray = await first({ saturation: [0, 0] });
  assert.ok(gray.every((v) => v === gray[0]), `saturation 0 is gray: ${gray}`);
  assert.deepEqual(await first({ contrast: [0, 0] }), gray, 'contrast 0 of a flat image: its mean gray');
  const cyan = await first({ hue: [0.5, 0.5] });
  assert.ok(cyan[0]! < 30 && cyan[1]! > 150 && cyan[2]! > 150, `half a turn of hue takes red to cyan: ${cyan}`);
  const erased = await pixels(dl.augmentedImageDatastore([W, W], images, { erasing: { probability: 1, value: [1, 2, 3] } }).preview(0));
  const hits = Array.from({ length: W * W }, (_, i) => erased[i] === 1 && erased[W * W + i] === 2 && erased[2 * W * W + i] === 3).filter(Boolean).length;
  assert.ok(hits >= 0.02 * W * W * 0.5 && hits <= 0.33 * W * W * 1.5, `a rectangle of the fill value: ${hits} pixels`);
}));

test('determinism: same (seed, epoch) same batches, in workers or not; another epoch or seed draws afresh', () => noLeaks(async () => {
  const options: dl.ImageAugmenterOptions = {
    resize: 'random-crop', cropPadding: 2, reflectX: true, rotation: 20, scale: [0.9, 1.1], shearX: 5, translateX: 2, translateY: 2,
    brightness: 0.3, contrast: 0.3, saturation: 0.3, hue: 0.05, erasing: true,
  };
  let aug = dl.augmentedImageDatastore([12, 12], images, options);
  const run = async (o: dl.BatchOptions) => {
    const out: number[] = [];
    for await (const { x, y } of aug.batches(o)) {
      out.push(...(x.dataSync() as Float32Array));
      dl.dispose([x, y]);
    }
    return out;
  };
  const a = await run({ batchSize: 8, shuffle: true, seed: 5, epoch: 0 });
  assert.equal(aug.pipelineStats.workers, 1, 'decoded and augmented in a worker');
  const b = await run({ batchSize: 8, shuffle: true, seed: 5, epoch: 0 });
  assert.equal(aug.pipelineStats.decoded, 0, 'the second pass augments the cached decoded images');
  assert.deepEqual(a, b, 'reproducible');
  assert.notDeepEqual(await run({ batchSize: 8, shuffle: true, seed: 5, epoch: 1 }), a, 'a fresh draw each epoch');
  assert.notDeepEqual(await run({ batchSize: 8, shuffle: true, seed: 6, epoch: 0 }), a, 'another seed');
  // The worker's result for observation i equals the main thread's preview with the same (seed, epoch).
  for (const resize of ['random-crop', 'random-resized-crop'] as const) {
    aug = dl.augmentedImageDatastore([12, 12], images, { ...options, resize, cropPadding: resize === 'random-crop' ? 2 : undefined });
    const ordered = await run({ batchSize: 40, seed: 5, epoch: 3 });
    assert.deepEqual(await run({ batchSize: 40, seed: 5, epoch: 3 }), ordered, `${resize}: reproducible`);
    for (const i of [0, 17, 39]) {
      const p = await pixels(aug.preview(i, { seed: 5, epoch: 3 }));
      assert.deepEqual(ordered.slice(i * p.length, (i + 1) * p.length), p, `${resize}: observation ${i}`);
    }
  }
  // The augmenter's own seed wins over the batches' seed.
  const seeded = dl.augmentedImageDatastore([12, 12], images, { ...options, seed: 99 });
  const s1 = await pixels(seeded.preview(3, { epoch: 2 }));
  const s2 = await pixels(dl.augmentedImageDatastore([12, 12], images, { ...options, seed: 99 }).preview(3, { epoch: 2 }));
  assert.deepEqual(s1, s2);
  // Subsets and splits keep augmenting.
  const [part] = aug.splitEachLabel(0.5);
  assert.ok(part instanceof dl.AugmentedImageDatastore);
  assert.equal(part.size, 20);
}));

test('augmenter options are checked by name; the --augment list', () => {
  const mk = (o: unknown) => () => dl.augmentedImageDatastore([8, 8], images, o as dl.ImageAugmenterOptions);
  assert.throws(mk({ rotate: 10 }), /unknown option 'rotate'/);
  assert.throws(mk({ resize: 'crop' }), /resize must be 'stretch', 'center-crop', 'random-crop', 'random-resized-crop', got 'crop'/);
  assert.throws(mk({ rotation: [10, -10] }), /rotation must be \[min, max\]/);
  assert.throws(mk({ brightness: -1 }), /brightness must be >= 0/);
  assert.throws(mk({ hue: 0.7 }), /hue must be from 0 to 0.5/);
  assert.throws(mk({ cropPadding: 4 }), /cropPadding applies to resize 'random-crop'/);
  assert.throws(mk({ fill: [1, 2] }), /fill must be a value from 0 to 255 or one per channel \(3\)/);
  assert.throws(mk({ erasing: { p: 1 } }), /unknown erasing option 'p'/);
  assert.throws(() => dl.augmentedImageDatastore([0, 8], images), /outputSize must be \[height, width\]/);
  assert.throws(() => dl.augmentedImageDatastore([8, 8], {} as dl.ImageDatastore), /must be an image datastore/);
  assert.deepEqual(dl.parseAugmentList('flip,rotate:15,crop,jitter', [32, 32]), {
    reflectX: true, rotation: 15, resize: 'random-crop', cropPadding: 4, brightness: 0.2, contrast: 0.2, saturation: 0.2, hue: 0.05,
  });
  assert.deepEqual(dl.parseAugmentList('resized-crop:0.25,flipv,erase', [64, 64]), { resize: 'random-resized-crop', cropScale: [0.25, 1], reflectY: true, erasing: { probability: 0.5 } });
  assert.throws(() => dl.parseAugmentList('flip,spin', [8, 8]), /unknown augmentation 'spin'; known: flip, flipv, rotate/);
  assert.throws(() => dl.parseAugmentList('rotate:x', [8, 8]), /'rotate:x': expected rotate:<number >= 0>/);
});
