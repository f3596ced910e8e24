// Image datastores over files the test writes in every supported format (and the real ant/bee
// photos in ../shared/data/hymenoptera when present): decoding (formats, EXIF orientation, alpha,
// grayscale), labels and classes, splits and their proportions, batches (shapes, raw values,
// labels traveling with their images, workers vs main thread, the cache), and openDatastore.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import * as dl from '../../src/index.js';
import { noLeaks } from '../helpers.js';
import { FORMATS, HYMENOPTERA, hasHymenoptera, writeClassFolder, writeImage, writeSolid } from './image-fixtures.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'dlkit-image-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

// A folder with one solid color per class, one image per format per class: every decoded pixel
// says which class the image came from.
const COLORS: Record<string, [number, number, number]> = { blue: [20, 40, 230], green: [30, 220, 40], red: [235, 25, 30] };
const solidRoot = path.join(tmp, 'solid');
before(async () => {
  const jobs: Promise<void>[] = [];
  for (const [name, rgb] of Object.entries(COLORS)) {
    FORMATS.forEach((ext, i) => jobs.push(writeSolid(path.join(solidRoot, name, `img${i}${ext}`), rgb, 10 + i, 8 + i)));
  }
  await Promise.all(jobs);
  writeFileSync(path.join(solidRoot, 'red', 'notes.txt'), 'not listed: not an image extension');
  writeFileSync(path.join(solidRoot, 'red', '._img0.jpg'), 'AppleDouble junk: hidden names are skipped');
});

/** Mean of each channel of a [N, C, H, W] (or [C, H, W]) tensor, per observation. */
function channelMeans(x: dl.Tensor): number[][] {
  const t = x.ndim === 3 ? x.unsqueeze(0) : x;
  const [n, c] = t.shape as [number, number];
  const m = t.mean([2, 3]);
  const v = m.dataSync() as Float32Array;
  if (t !== x) t.dispose();
  m.dispose();
  return Array.from({ length: n }, (_, i) => Array.from(v.subarray(i * c, (i + 1) * c)));
}

function closeTo(actual: number[], expected: number[], tol: number, what: string) {
  assert.ok(actual.every((a, i) => Math.abs(a - expected[i]!) <= tol), `${what}: got [${actual.map((a) => a.toFixed(1))}], expected [${expected}] ±${tol}`);
}

test('every format decodes (JPEG, PNG, WebP, GIF, TIFF, AVIF; any case of extension) with labels from folder names', () => noLeaks(async () => {
  const ds = await dl.imageDatastore(solidRoot, { size: [6, 6], workers: 0 });
  assert.equal(ds.size, 3 * FORMATS.length, 'the .txt file and the hidden ._ file are not listed');
  assert.deepEqual([...ds.classes!], ['blue', 'green', 'red'], 'classes sorted');
  assert.deepEqual(ds.countEachLabel(), [{ label: 'blue', count: 10 }, { label: 'green', count: 10 }, { label: 'red', count: 10 }]);
  assert.deepEqual([...ds.inputShape], [3, 6, 6]);
  assert.equal(ds.files.length, ds.size);
  assert.ok(ds.files.every((f) => path.isAbsolute(f)));
  let seen = 0;
  for await (const { x, y } of ds.batches({ batchSize: 7 })) {
    assert.equal(x.dtype, 'float32');
    assert.equal(y!.dtype, 'int64');
    const labels = Array.from(y!.dataSync() as BigInt64Array, Number);
    channelMeans(x).forEach((m, i) => {
      const cls = ds.classes![labels[i]!]!;
      closeTo(m, COLORS[cls]!, 12, `${ds.files[seen + i]} (${cls})`);
    });
    seen += x.shape[0]!;
    dl.dispose([x, y]);
  }
  assert.equal(seen, ds.size);
  assert.deepEqual(ds.badFiles, []);
}));

test('EXIF orientation is applied; native size without a size; readImage', () => noLeaks(async () => {
  const dir = path.join(tmp, 'exif', 'a');
  mkdirSync(dir, { recursive: true });
  const px = Buffer.alloc(20 * 10 * 3);
  px.set([255, 255, 255], 0); // top-left pixel white on black
  // Orientation 6: the stored image is shown turned 90° clockwise, so the stored top-left corner is shown top-right.
  await sharp(px, { raw: { width: 20, height: 10, channels: 3 } }).jpeg({ quality: 100 }).withMetadata({ orientation: 6 }).toFile(path.join(dir, 'o6.jpg'));
  const ds = await dl.imageDatastore(path.dirname(dir), { workers: 0 });
  const img = await ds.readImage(0);
  assert.deepEqual([...img.shape], [3, 20, 10], 'shown as 10 wide, 20 tall');
  const red = img.select(0, 0);
  const flat = red.dataSync() as Float32Array;
  const at = flat.indexOf(Math.max(...flat));
  assert.deepEqual([at % 10, Math.floor(at / 10)], [9, 0], 'the marker is at the top-right');
  dl.dispose([img, red]);
  assert.throws(() => ds.inputShape, /no common size.*size: \[height, width\].*--input-size H,W/s);
  assert.throws(() => ds.batches({ batchSize: 1 }), /no common size/);
}));

test('RGBA is flattened onto white (or the alpha dropped); channels 1 gives grayscale', () => noLeaks(async () => {
  const dir = path.join(tmp, 'alpha', 'x');
  mkdirSync(dir, { recursive: true });
  const px = Buffer.alloc(4 * 2 * 4);
  for (let i = 0; i < 8; i++) px.set([200, 10, 10, i < 4 ? 0 : 255], i * 4); // top row transparent, bottom row opaque red
  await writeImage(path.join(dir, 'a.png'), px, 4, 2, 4);
  const flat = await dl.imageDatastore(path.dirname(dir), { workers: 0 });
  const a = await flat.readImage(0);
  const v = Array.from(a.dataSync() as Float32Array); // [3, 2, 4]
  assert.deepEqual([v[0], v[8], v[16]], [255, 255, 255], 'transparent → white');
  assert.deepEqual([v[4], v[12], v[20]], [200, 10, 10], 'opaque kept');
  const drop = await dl.imageDatastore(path.dirname(dir), { workers: 0, alpha: 'drop' });
  const b = await drop.readImage(0);
  assert.deepEqual(Array.from((b.dataSync() as Float32Array).filter((_, i) => i % 4 === 0)), [200, 200, 10, 10, 10, 10], 'alpha dropped: the color under it');
  const gray = await dl.imageDatastore(solidRoot, { workers: 0, channels: 1, size: [4, 4] });
  assert.deepEqual([...gray.inputShape], [1, 4, 4]);
  const g = await gray.readImage(gray.files.findIndex((f) => f.endsWith(`red${path.sep}img1.png`)));
  const gv = Array.from(g.dataSync() as Float32Array);
  assert.ok(gv.every((x) => x === gv[0]) && gv[0]! > 25 && gv[0]! < 235, `one gray level between red's channels, got ${gv[0]}`);
  dl.dispose([a, b, g]);
}));

test('listing options: includeSubfolders, labelSource none, extensions, classes', async () => {
  const root = path.join(tmp, 'listing');
  await writeSolid(path.join(root, 'top.png'), [1, 2, 3]);
  await writeSolid(path.join(root, 'cats', 'c1.png'), [1, 2, 3]);
  await writeSolid(path.join(root, 'cats', 'deep', 'c2.JPG'), [1, 2, 3]);
  await writeSolid(path.join(root, 'dogs', 'd1.webp'), [1, 2, 3]);
  const all = await dl.imageDatastore(root, { workers: 0 });
  assert.equal(all.size, 4);
  assert.deepEqual([...all.classes!], ['cats', 'deep', 'dogs', 'listing'], 'the immediate parent folder names the label');
  assert.ok(all.warnings.some((w) => w.includes('directly in the folder') && w.includes(root)));
  const top = await dl.imageDatastore(root, { includeSubfolders: false, workers: 0 });
  assert.equal(top.size, 1);
  const none = await dl.imageDatastore(root, { labelSource: 'none', workers: 0 });
  assert.equal(none.classes, null);
  assert.equal(none.labels(), null);
  assert.equal(none.countEachLabel(), null);
  const jpgs = await dl.imageDatastore(root, { extensions: ['JPG'], workers: 0 });
  assert.deepEqual(jpgs.files.map((f) => path.basename(f)), ['c2.JPG']);
  const fixed = await dl.imageDatastore(path.join(root, 'cats'), { classes: ['zebra', 'cats', 'deep'], includeSubfolders: true, workers: 0 });
  assert.deepEqual(Array.from(fixed.labels()!), [1, 2], 'labels index the given classes');
  await assert.rejects(dl.imageDatastore(root, { classes: ['cats'], workers: 0 }), /'deep', 'dogs', 'listing' are not among the given classes \(cats\)/);
  await assert.rejects(dl.imageDatastore(root, { sizes: [1, 2] } as never), /unknown option 'sizes'/);
  await assert.rejects(dl.imageDatastore(root, { channels: 4 } as never), /channels must be 1 or 3, got 4/);
  await assert.rejects(dl.imageDatastore(root, { size: [0, 3] }), /size must be \[height, width\].*got \[0, 3\]/);
  await assert.rejects(dl.imageDatastore(path.join(tmp, 'nope')), /no such folder/);
  await assert.rejects(dl.imageDatastore(path.join(root, 'top.png')), /is a file/);
  mkdirSync(path.join(tmp, 'empty-root'));
  await assert.rejects(dl.imageDatastore(path.join(tmp, 'empty-root')), /no image files \(\.jpg, \.jpeg, .*\) in/);
});

test('splitEachLabel (fraction and count, stratified), split, shuffle and subset', async () => {
  const root = path.join(tmp, 'split');
  await writeClassFolder(root, { classes: ['a', 'b', 'c'], perClass: 10, formats: ['.png'], seed: 3 });
  const ds = await dl.imageDatastore(root, { size: [8, 8], workers: 0 });
  assert.equal(ds.size, 30);
  const [tr, te] = ds.splitEachLabel(0.7);
  assert.deepEqual(tr.countEachLabel()!.map((c) => c.count), [7, 7, 7]);
  assert.deepEqual(te.countEachLabel()!.map((c) => c.count), [3, 3, 3]);
  assert.deepEqual(tr.files.filter((f) => f.includes(`${path.sep}a${path.sep}`)).map((f) => path.basename(f)), ['000.png', '001.png', '002.png', '003.png', '004.png', '005.png', '006.png'], 'not randomized: the first files of each label');
  assert.equal(new Set([...tr.files, ...te.files]).size, 30, 'disjoint and complete');
  const [r1] = ds.splitEachLabel(0.7, { randomize: true, seed: 5 });
  const [r2] = ds.splitEachLabel(0.7, { randomize: true, seed: 5 });
  const [r3] = ds.splitEachLabel(0.7, { randomize: true, seed: 6 });
  assert.deepEqual(r1.files, r2.files, 'same seed, same split');
  assert.notDeepEqual(r1.files, r3.files);
  assert.deepEqual(r1.countEachLabel()!.map((c) => c.count), [7, 7, 7], 'stratified');
  const [two] = ds.splitEachLabel(2);
  assert.deepEqual(two.countEachLabel()!.map((c) => c.count), [2, 2, 2]);
  assert.throws(() => ds.splitEachLabel(11), /label 'a' has 10 files, fewer than the 11 asked for/);
  assert.throws(() => ds.splitEachLabel(1.5), /p must be a fraction between 0 and 1 \(exclusive\) or a whole number >= 1/);
  const [v, t] = ds.split(0.2, { seed: 1 });
  assert.equal(v.size + t.size, 30);
  assert.deepEqual(v.countEachLabel()!.map((c) => c.count), [2, 2, 2]);
  const s1 = ds.shuffle(9);
  assert.deepEqual(s1.files, ds.shuffle(9).files);
  assert.notDeepEqual(s1.files, ds.files);
  assert.deepEqual([...s1.files].sort(), [...ds.files].sort());
  const sub = ds.subset([29, 0]);
  assert.deepEqual(sub.files, [ds.files[29], ds.files[0]]);
  assert.deepEqual(Array.from(sub.labels()!), [2, 0]);
  assert.throws(() => ds.subset([30]), /index 0 is 30; expected a whole number from 0 to 29/);
});

test('batches: shuffles per (seed, epoch), workers and main thread give the same pixels, the cache serves later epochs', () => noLeaks(async () => {
  const root = path.join(tmp, 'batches');
  await writeClassFolder(root, { classes: ['a', 'b', 'c'], perClass: 20, seed: 7 });
  const collect = async (ds: dl.ImageDatastore, o: dl.BatchOptions) => {
    const xs: number[] = [];
    const ys: number[] = [];
    const sizes: number[] = [];
    for await (const { x, y } of ds.batches(o)) {
      xs.push(...(x.dataSync() as Float32Array));
      ys.push(...Array.from(y!.dataSync() as BigInt64Array, Number));
      sizes.push(x.shape[0]!);
      dl.dispose([x, y]);
    }
    return { xs, ys, sizes };
  };
  const onMain = await dl.imageDatastore(root, { size: [12, 10], workers: 0 });
  const inWorkers = await dl.imageDatastore(root, { size: [12, 10], workers: 2, prefetch: 2 });
  const a = await collect(onMain, { batchSize: 16, shuffle: true, seed: 4, epoch: 1 });
  const b = await collect(inWorkers, { batchSize: 16, shuffle: true, seed: 4, epoch: 1 });
  assert.equal(inWorkers.pipelineStats.workers, 2);
  assert.equal(inWorkers.pipelineStats.decoded, 60);
  assert.deepEqual(a.sizes, [16, 16, 16, 12]);
  assert.deepEqual(a.ys, b.ys);
  assert.ok(a.xs.every((v, i) => v === b.xs[i]), 'same pixels from workers and the main thread');
  assert.ok(a.xs.every((v) => Number.isInteger(v) && v >= 0 && v <= 255), 'raw 0–255 values');
  assert.ok(Math.max(...a.xs) > 100, 'not normalized');
  assert.deepEqual([...a.ys].sort(), [...onMain.labels()!].sort(), 'every observation once');
  // Labels travel with their images: the ordered pass matches labels().
  const ordered = await collect(inWorkers, { batchSize: 64 });
  assert.deepEqual(ordered.ys, Array.from(inWorkers.labels()!));
  assert.equal(inWorkers.pipelineStats.decoded, 0, 'second pass from the cache');
  assert.equal(inWorkers.pipelineStats.workers, 0, 'no workers needed');
  const again = await collect(inWorkers, { batchSize: 16, shuffle: true, seed: 4, epoch: 1 });
  assert.deepEqual(again.xs, b.xs, 'cached pixels equal decoded ones');
  const e2 = await collect(inWorkers, { batchSize: 16, shuffle: true, seed: 4, epoch: 2 });
  assert.notDeepEqual(e2.ys, b.ys, 'another epoch, another order');
  const dropped = await collect(inWorkers, { batchSize: 16, dropLast: true });
  assert.deepEqual(dropped.sizes, [16, 16, 16]);
  assert.throws(() => inWorkers.batches({ batchSize: 0 }), /batchSize must be a whole number >= 1, got 0/);
  const fit = await dl.imageDatastore(root, { size: [12, 10], fit: 'cover', workers: 0, cacheBytes: 0 });
  const c = await collect(fit, { batchSize: 64 });
  assert.notDeepEqual(c.xs, ordered.xs, "'cover' crops where 'fill' stretches");
}));

test('openDatastore: class folders, train/test folders, errors that say what to give', async () => {
  const root = path.join(tmp, 'open');
  await writeClassFolder(path.join(root, 'train'), { classes: ['x', 'y', 'z'], perClass: 3, formats: ['.png'] });
  await writeClassFolder(path.join(root, 'test'), { classes: ['x', 'z'], perClass: 2, formats: ['.png'] });
  const train = await dl.openDatastore(root, 'train', { inputSize: [8, 8] }) as dl.ImageDatastore;
  const test = await dl.openDatastore(root, 'test', { inputSize: [8, 8] }) as dl.ImageDatastore;
  assert.ok(train instanceof dl.ImageDatastore);
  assert.equal(train.source, path.join(root, 'train'));
  assert.equal(test.source, path.join(root, 'test'));
  assert.deepEqual([...test.classes!], ['x', 'y', 'z'], "the test split takes the training split's classes");
  assert.deepEqual(Array.from(test.labels()!), [0, 0, 2, 2]);
  const whole = await dl.openDatastore(path.join(root, 'train'), 'test', { inputSize: [1, 8, 8] });
  assert.deepEqual([...whole.inputShape], [1, 8, 8]);
  assert.equal(whole.source, path.join(root, 'train'), 'a folder of class folders is its own test split');
  await assert.rejects(dl.openDatastore(root, 'train'), /is a folder of images: give the size.*--input-size H,W/);
  mkdirSync(path.join(tmp, 'flat'));
  await writeSolid(path.join(tmp, 'flat', 'a.png'), [1, 2, 3]);
  await assert.rejects(dl.openDatastore(path.join(tmp, 'flat'), 'train', { inputSize: [8, 8] }), /holds images but no class subfolders/);
  await writeClassFolder(path.join(tmp, 'one'), { classes: ['only'], perClass: 2, formats: ['.png'] });
  await assert.rejects(dl.openDatastore(path.join(tmp, 'one'), 'train', { inputSize: [8, 8] }), /only one class \('only'\).*at least two class folders/);
});

test('the real ant and bee photos (../shared/data/hymenoptera)', { skip: hasHymenoptera ? false : `real photos not found at ${HYMENOPTERA}: skipped` }, () => noLeaks(async () => {
  const ds = await dl.imageDatastore(path.join(HYMENOPTERA, 'train'), { size: [64, 64] });
  assert.deepEqual([...ds.classes!], ['ants', 'bees']);
  assert.deepEqual(ds.countEachLabel(), [{ label: 'ants', count: 124 }, { label: 'bees', count: 121 }]);
  assert.ok(ds.files.some((f) => f.toLowerCase().endsWith('.jpeg')) || ds.files.some((f) => f.toLowerCase().endsWith('.gif')), 'the odd formats are listed');
  const [tr, te] = ds.splitEachLabel(0.8, { randomize: true, seed: 1 });
  assert.deepEqual(tr.countEachLabel()!.map((c) => c.count), [99, 97]);
  assert.deepEqual(te.countEachLabel()!.map((c) => c.count), [25, 24]);
  // Decode the unusual ones (GIF, .jpeg) and a handful of JPEGs of varied sizes.
  const all = await dl.imageDatastore(HYMENOPTERA, { size: [64, 64] });
  const odd = all.files.map((f, i) => [f, i] as const).filter(([f]) => /\.(gif|jpeg)$/i.test(f)).map(([, i]) => i);
  assert.ok(odd.length >= 2, `expected a GIF and a .jpeg among the photos, found ${odd.length}`);
  const some = all.subset([...odd, 0, 1, 2, 3, 200, 300]);
  let n = 0;
  for await (const { x, y } of some.batches({ batchSize: 4 })) {
    assert.deepEqual(x.shape.slice(1), [3, 64, 64]);
    const v = x.dataSync() as Float32Array;
    assert.ok(Math.max(...v) > 100 && Math.min(...v) < 100, 'a real photo, not a flat image');
    n += x.shape[0]!;
    dl.dispose([x, y]);
  }
  assert.equal(n, some.size);
  assert.deepEqual(some.badFiles, []);
}));
