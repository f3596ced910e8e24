// Box-labeled datastores: the three readers on annotations the test writes (the same boxes
// through VOC XML, COCO JSON and YOLO text), invalid boxes and bad annotations, BCCD when it is
// present, and the geometry of box-aware augmentation checked on pixels (flips, crops, mosaics).
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync, existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import * as dl from '../../src/index.js';
import { placeBoxes, type Placement } from '../../src/data/box-augment.js';
import { noLeaks } from '../helpers.js';
import { SHARED_DATA } from '../support/shared-data.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'dlkit-boxes-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const CLASSES = ['red', 'green', 'blue'];
const RGB: [number, number, number][] = [[255, 0, 0], [0, 255, 0], [0, 0, 255]];
const W = 40, H = 30;

/** Images on black, each box a filled rectangle of its class's color; boxes are [x1, y1, x2, y2) in whole pixels. */
const SCENES: { name: string; boxes: [number, number, number, number][]; labels: number[] }[] = [
  { name: 'a', boxes: [[5, 7, 17, 20]], labels: [0] },
  { name: 'b', boxes: [[2, 2, 10, 9], [22, 12, 38, 28]], labels: [1, 2] },
  { name: 'c', boxes: [[0, 0, 12, 30], [30, 3, 40, 13]], labels: [2, 0] },
  { name: 'd', boxes: [], labels: [] }, // a negative: no boxes
];

function scenePixels(s: (typeof SCENES)[number]): Buffer {
  const px = Buffer.alloc(W * H * 3);
  s.boxes.forEach(([x1, y1, x2, y2], k) => {
    for (let y = y1; y < y2; y++) for (let x = x1; x < x2; x++) px.set(RGB[s.labels[k]!]!, (y * W + x) * 3);
  });
  return px;
}

const writePng = (file: string, px: Buffer, w = W, h = H) => sharp(px, { raw: { width: w, height: h, channels: 3 } }).png().toFile(file);

function vocXml(file: string, objects: { name: string; box: (number | string)[]; difficult?: number }[], w = W, h = H): string {
  const obj = objects.map((o) => `<object><name>${o.name}</name><difficult>${o.difficult ?? 0}</difficult><bndbox><xmin>${o.box[0]}</xmin><ymin>${o.box[1]}</ymin><xmax>${o.box[2]}</xmax><ymax>${o.box[3]}</ymax></bndbox></object>`).join('\n');
  return `<annotation><filename>${file}</filename><size><width>${w}</width><height>${h}</height><depth>3</depth></size>\n${obj}\n</annotation>\n`;
}

const voc = path.join(tmp, 'voc');
const coco = path.join(tmp, 'coco');
const yolo = path.join(tmp, 'yolo');

before(async () => {
  for (const d of ['JPEGImages', 'Annotations', 'ImageSets/Main']) mkdirSync(path.join(voc, d), { recursive: true });
  mkdirSync(path.join(coco, 'img'), { recursive: true });
  mkdirSync(path.join(yolo, 'images'), { recursive: true });
  mkdirSync(path.join(yolo, 'labels'), { recursive: true });
  const cocoDoc = { images: [] as object[], annotations: [] as object[], categories: CLASSES.map((name, i) => ({ id: i + 1, name })) };
  for (const [n, s] of SCENES.entries()) {
    const px = scenePixels(s);
    await writePng(path.join(voc, 'JPEGImages', `${s.name}.png`), px);
    await writePng(path.join(coco, 'img', `${s.name}.png`), px);
    await writePng(path.join(yolo, 'images', `${s.name}.png`), px);
    // VOC: 1-based inclusive corners; the continuous box [x1, x2) is xmin = x1 + 1, xmax = x2.
    writeFileSync(path.join(voc, 'Annotations', `${s.name}.xml`), vocXml(`${s.name}.png`, s.boxes.map((b, k) => ({ name: CLASSES[s.labels[k]!]!, box: [b[0] + 1, b[1] + 1, b[2], b[3]] }))));
    cocoDoc.images.push({ id: 100 + n, file_name: `${s.name}.png`, width: W, height: H });
    s.boxes.forEach((b, k) => cocoDoc.annotations.push({ id: cocoDoc.annotations.length, image_id: 100 + n, category_id: s.labels[k]! + 1, bbox: [b[0], b[1], b[2] - b[0], b[3] - b[1]], iscrowd: 0 }));
    if (s.boxes.length) {
      writeFileSync(path.join(yolo, 'labels', `${s.name}.txt`), s.boxes.map((b, k) => `${s.labels[k]} ${(b[0] + b[2]) / 2 / W} ${(b[1] + b[3]) / 2 / H} ${(b[2] - b[0]) / W} ${(b[3] - b[1]) / H}`).join('\n') + '\n');
    }
  }
  writeFileSync(path.join(voc, 'ImageSets', 'Main', 'trainval.txt'), 'a\nb\nc\nd\n');
  writeFileSync(path.join(voc, 'ImageSets', 'Main', 'test.txt'), 'b\nd\n');
  writeFileSync(path.join(coco, 'instances.json'), JSON.stringify(cocoDoc));
});

/** The boxes of a table, rounded to 1e-3 px, per image file name. */
function summary(t: dl.BoxTable): Record<string, { boxes: number[]; labels: string[] }> {
  const out: Record<string, { boxes: number[]; labels: string[] }> = {};
  for (const img of t.images) out[path.basename(img.file)] = { boxes: Array.from(img.boxes, (v) => Math.round(v * 1000) / 1000), labels: Array.from(img.labels, (l) => t.classes[l]!) };
  return out;
}

const expected = Object.fromEntries(SCENES.map((s) => [`${s.name}.png`, { boxes: s.boxes.flat(), labels: s.labels.map((l) => CLASSES[l]!) }]));

test('the same boxes through VOC, COCO and YOLO', async () => {
  const a = await dl.readVOC(voc, { split: 'trainval', classes: CLASSES });
  const b = await dl.readCOCO(path.join(coco, 'instances.json'), { images: path.join(coco, 'img') });
  const c = await dl.readYOLO(yolo, { classes: CLASSES });
  for (const [name, t] of [['VOC', a], ['COCO', b], ['YOLO', c]] as const) {
    assert.deepEqual(summary(t), expected, `${name}: boxes and labels`);
    assert.deepEqual(t.classes, CLASSES, `${name}: classes`);
    assert.deepEqual(t.problems, [], `${name}: no problems`);
    assert.ok(t.images.every((i) => path.isAbsolute(i.file) && existsSync(i.file) && i.width === W && i.height === H), `${name}: files and sizes`);
  }
  const test = await dl.readVOC(voc, { split: 'test' });
  assert.deepEqual(test.images.map((i) => path.basename(i.file)), ['b.png', 'd.png'], 'the split file picks the images');
  assert.deepEqual(test.classes, ['blue', 'green'], 'found classes, sorted');
  const ds = new dl.BoxDatastore(a);
  assert.equal(ds.emptyImages, 1, 'the image without boxes is kept and counted');
  assert.deepEqual(ds.countEachLabel(), [{ label: 'red', boxes: 2, images: 2 }, { label: 'green', boxes: 1, images: 1 }, { label: 'blue', boxes: 2, images: 2 }]);
  const stats = ds.boxStatistics();
  assert.deepEqual(stats[2], { label: 'blue', boxes: 2, width: { min: 12, median: 14, max: 16 }, height: { min: 16, median: 23, max: 30 } });
  const [p, q] = ds.split(0.5, { seed: 3 });
  assert.equal(p.size + q.size, 4);
  assert.deepEqual(p.split(1)[0].images.map((i) => i.file), p.images.map((i) => i.file));
  assert.deepEqual(ds.split(0.5, { seed: 3 })[0].images.map((i) => i.file), p.images.map((i) => i.file), 'the same seed gives the same split');
  assert.equal(new Set([...p.images, ...q.images].map((i) => i.file)).size, 4, 'disjoint parts');
});

test('invalid boxes are skipped and reported by file and box; boxes within half a pixel are clipped', async () => {
  const dir = path.join(tmp, 'badboxes');
  mkdirSync(path.join(dir, 'Annotations'), { recursive: true });
  mkdirSync(path.join(dir, 'JPEGImages'), { recursive: true });
  await writePng(path.join(dir, 'JPEGImages', 'x.png'), Buffer.alloc(W * H * 3));
  writeFileSync(path.join(dir, 'Annotations', 'x.xml'), vocXml('x.png', [
    { name: 'red', box: [5, 5, 5, 9] },          // zero width
    { name: 'red', box: [10, 10, 8, 12] },       // negative width
    { name: 'red', box: [1, 1, W + 2, 10] },     // beyond the right edge
    { name: 'red', box: [0.6, 1, W + 0.4, 10] }, // within half a pixel: clipped to [0, W]
  ]));
  const t = await dl.readVOC(dir);
  const file = path.join(dir, 'Annotations', 'x.xml');
  assert.deepEqual(t.problems.map((p) => [p.file, p.field]), [[file, 'object[0].bndbox'], [file, 'object[1].bndbox'], [file, 'object[2].bndbox']]);
  assert.match(t.problems[2]!.message, /outside the 40x30 image/);
  assert.deepEqual(Array.from(t.images[0]!.boxes), [0, 0, W, 10]);

  const cj = path.join(dir, 'c.json');
  writeFileSync(cj, JSON.stringify({ images: [{ id: 1, file_name: 'x.png', width: W, height: H }], categories: [{ id: 1, name: 'red' }], annotations: [
    { image_id: 1, category_id: 1, bbox: [3, 3, 0, 4] }, { image_id: 1, category_id: 1, bbox: [30, 3, 20, 4] }, { image_id: 1, category_id: 1, bbox: [3, 3, 5, 5] },
  ] }));
  const c = await dl.readCOCO(cj, { images: path.join(dir, 'JPEGImages') });
  assert.deepEqual(c.problems.map((p) => p.field), ['annotations[0].bbox', 'annotations[1].bbox']);
  assert.deepEqual(Array.from(c.images[0]!.boxes), [3, 3, 8, 8]);

  const y = path.join(dir, 'yolo');
  mkdirSync(y);
  await writePng(path.join(y, 'x.png'), Buffer.alloc(W * H * 3));
  writeFileSync(path.join(y, 'x.txt'), '0 0.5 0.5 0 0.2\n0 0.5 0.5 NaN 0.2\n0 0.95 0.5 0.3 0.2\n0 0.5 0.5 0.5 0.5\n');
  const yt = await dl.readYOLO(y, { classes: ['red'] });
  assert.deepEqual(yt.problems.map((p) => [path.basename(p.file), p.field]), [['x.txt', 'line 1'], ['x.txt', 'line 2'], ['x.txt', 'line 3']], 'images side by side with their .txt');
  assert.deepEqual(Array.from(yt.images[0]!.boxes), [10, 7.5, 30, 22.5]);
});

test('bad annotations: malformed XML and JSON name the file and field; unknown classes; strict: false skips', async () => {
  const dir = path.join(tmp, 'badxml');
  mkdirSync(path.join(dir, 'Annotations'), { recursive: true });
  mkdirSync(path.join(dir, 'JPEGImages'), { recursive: true });
  for (const n of ['ok', 'broken', 'nofield']) await writePng(path.join(dir, 'JPEGImages', `${n}.png`), Buffer.alloc(W * H * 3));
  writeFileSync(path.join(dir, 'Annotations', 'ok.xml'), vocXml('ok.png', [{ name: 'red', box: [2, 2, 9, 9] }]));
  writeFileSync(path.join(dir, 'Annotations', 'broken.xml'), '<annotation><size><width>40</width></size><object><name>red</name></annotation>');
  writeFileSync(path.join(dir, 'Annotations', 'nofield.xml'), vocXml('nofield.png', [{ name: 'red', box: ['', 2, 9, 9] }]));
  const broken = path.join(dir, 'Annotations', 'broken.xml');
  await assert.rejects(dl.readVOC(dir), (e: Error) => e.message.includes(broken) && /malformed XML/.test(e.message));
  writeFileSync(broken, vocXml('broken.png', []).replace(/<size>.*<\/size>/, '<size><width>40</width></size>'));
  await assert.rejects(dl.readVOC(dir), (e: Error) => e.message.includes(`${broken}: size.height`));
  const t = await dl.readVOC(dir, { strict: false });
  assert.deepEqual(t.images.map((i) => path.basename(i.file)), ['ok.png']);
  assert.deepEqual(t.problems.map((p) => [path.basename(p.file), p.field]), [['broken.xml', 'size.height'], ['nofield.xml', 'object[0].bndbox.xmin']]);
  await assert.rejects(dl.readVOC(dir, { strict: false, classes: ['green'] }), (e: Error) => e.message.includes(path.join(dir, 'Annotations', 'ok.xml')) && e.message.includes("class 'red' is not among the given classes (green)"));
  await assert.rejects(dl.readVOC(dir, { split: 'nosuch' }), /split 'nosuch': cannot read .*nosuch\.txt/);

  const bad = path.join(dir, 'bad.json');
  writeFileSync(bad, '{"images": [');
  await assert.rejects(dl.readCOCO(bad, { images: dir }), (e: Error) => e.message.startsWith(`${bad}: malformed JSON`));
  writeFileSync(bad, JSON.stringify({ images: [{ id: 1, file_name: 'ok.png', width: W }], annotations: [], categories: [] }));
  await assert.rejects(dl.readCOCO(bad, { images: dir }), (e: Error) => e.message.startsWith(`${bad}: images[0].height:`));
  writeFileSync(bad, JSON.stringify({ images: [{ id: 1, file_name: 'ok.png', width: W, height: H }], annotations: [{ image_id: 1, category_id: 7, bbox: [1, 1, 2, 2] }], categories: [{ id: 7, name: 'cat' }] }));
  await assert.rejects(dl.readCOCO(bad, { images: dir, classes: ['dog'] }), (e: Error) => e.message.includes(bad) && e.message.includes("class 'cat'"));
  const y = path.join(dir, 'y');
  mkdirSync(y);
  await writePng(path.join(y, 'q.png'), Buffer.alloc(W * H * 3));
  writeFileSync(path.join(y, 'q.txt'), '3 0.5 0.5 0.1 0.1\n');
  await assert.rejects(dl.readYOLO(y, { classes: ['a', 'b'] }), (e: Error) => e.message.includes(path.join(y, 'q.txt')) && e.message.includes('line 1: class 3'));
});

test('an image whose size disagrees with its annotation is reported by file when decoded (skipped, or strict stops)', () => noLeaks(async () => {
  const dir = path.join(tmp, 'sizes');
  mkdirSync(path.join(dir, 'Annotations'), { recursive: true });
  mkdirSync(path.join(dir, 'JPEGImages'), { recursive: true });
  await writePng(path.join(dir, 'JPEGImages', 'good.png'), Buffer.alloc(W * H * 3));
  await writePng(path.join(dir, 'JPEGImages', 'wrong.png'), Buffer.alloc(20 * 10 * 3), 20, 10);
  writeFileSync(path.join(dir, 'Annotations', 'good.xml'), vocXml('good.png', [{ name: 'red', box: [2, 2, 9, 9] }]));
  writeFileSync(path.join(dir, 'Annotations', 'wrong.xml'), vocXml('wrong.png', [{ name: 'red', box: [2, 2, 9, 9] }]));
  const table = await dl.readVOC(dir);
  const ds = new dl.BoxDatastore(table);
  const files: string[] = [];
  for await (const b of ds.batches({ batchSize: 2, size: [H, W] })) { files.push(...b.files); b.x.dispose(); }
  const wrong = path.join(dir, 'JPEGImages', 'wrong.png');
  assert.deepEqual(files.map((f) => path.basename(f)), ['good.png']);
  assert.deepEqual(ds.problems.map((p) => p.file), [wrong]);
  assert.match(ds.problems[0]!.message, /the image is 20x10 \(width x height\), the annotation says 40x30/);
  const strict = new dl.BoxDatastore(table, { strict: true });
  await assert.rejects(async () => { for await (const b of strict.batches({ batchSize: 1, size: [H, W] })) b.x.dispose(); }, (e: Error) => e.message.startsWith(`${wrong}: the image is 20x10`));
}));

/** [N, 3, H, W] values of image n as HWC-indexed reader. */
function reader(x: dl.Tensor, n: number) {
  const [, , h, w] = x.shape as [number, number, number, number];
  const v = x.dataSync() as Float32Array;
  return (c: number, y: number, xx: number) => v[((n * 3 + c) * h + y) * w + xx]!;
}

test('a flipped image keeps its boxes on its rectangles, pixel for pixel', () => noLeaks(async () => {
  const ds = new dl.BoxDatastore(await dl.readVOC(voc, { split: 'trainval', classes: CLASSES }));
  const seen = { flipped: 0, plain: 0 };
  for (let epoch = 0; epoch < 8; epoch++) {
    for await (const b of ds.batches({ batchSize: 4, size: [H, W], seed: 5, epoch, augment: { flipHorizontal: true } })) {
      for (let n = 0; n < b.files.length; n++) {
        const scene = SCENES.find((s) => path.basename(b.files[n]!) === `${s.name}.png`)!;
        if (!scene.boxes.length) continue;
        const at = reader(b.x, n);
        const got = Array.from(b.boxes[n]!);
        const plain = scene.boxes.flat();
        const flipped = scene.boxes.flatMap(([x1, y1, x2, y2]) => [W - x2, y1, W - x1, y2]);
        const isFlipped = got.every((v, i) => v === flipped[i]);
        assert.ok(isFlipped || got.every((v, i) => v === plain[i]), `boxes ${got} are neither the boxes nor the flipped boxes`);
        seen[isFlipped ? 'flipped' : 'plain']++;
        // Every pixel inside a box has its class's color, every other pixel is black.
        const inside = (x: number, y: number) => { for (let k = 0; k < got.length / 4; k++) if (x >= got[4 * k]! && x < got[4 * k + 2]! && y >= got[4 * k + 1]! && y < got[4 * k + 3]!) return k; return -1; };
        for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) {
          const k = inside(x, y);
          const want = k < 0 ? [0, 0, 0] : RGB[b.labels[n]![k]!]!;
          for (let c = 0; c < 3; c++) if (at(c, y, x) !== want[c]) assert.fail(`${scene.name} ${isFlipped ? 'flipped' : 'plain'}: pixel (${x}, ${y}) channel ${c} is ${at(c, y, x)}, expected ${want[c]}`);
        }
      }
      b.x.dispose();
    }
  }
  assert.ok(seen.flipped > 0 && seen.plain > 0, `both flipped and plain outputs over 8 epochs: ${JSON.stringify(seen)}`);
}));

test('boxes leaving the output are dropped, those cut are clipped (minBoxArea)', () => {
  const boxes = { boxes: Float32Array.from([5, 7, 17, 20, 2, 2, 6, 9, 12, 0, 14, 5]), labels: Int32Array.from([0, 1, 2]), difficult: Uint8Array.from([0, 1, 0]) };
  // Shifted 10 px to the left: the first box keeps 7 of its 12 columns, the second leaves, the third stays whole.
  const pl: Placement = { source: 0, color: null, pieces: [{ source: 0, ax: 1, bx: -10, ay: 1, by: 0, clip: [0, 0, W, H] }] };
  const r = placeBoxes(pl, () => boxes, 0.25);
  assert.deepEqual(Array.from(r.boxes), [0, 7, 7, 20, 2, 0, 4, 5]);
  assert.deepEqual(Array.from(r.labels), [0, 2]);
  assert.deepEqual(Array.from(r.difficult), [0, 0]);
  assert.deepEqual(Array.from(placeBoxes(pl, () => boxes, 0.6).labels), [2], 'the cut box keeps 7/12 < 0.6 of its area: dropped');
});

test('random crops: boxes stay inside the output, cut ones cover their rectangle; same seed, same batch; another epoch, another', () => noLeaks(async () => {
  const ds = new dl.BoxDatastore(await dl.readVOC(voc, { split: 'trainval', classes: CLASSES }));
  const augment = { crop: 0.5, translate: 0.1, flipVertical: true, colorJitter: { brightness: 0.3 } };
  const once = async (epoch: number) => {
    const out: { px: number[]; boxes: number[][] }[] = [];
    for await (const b of ds.batches({ batchSize: 4, size: [H, W], seed: 9, epoch, shuffle: true, augment, dropLast: true })) {
      out.push({ px: Array.from(b.x.dataSync() as Float32Array), boxes: b.boxes.map((x) => Array.from(x)) });
      for (let n = 0; n < b.files.length; n++) {
        const at = reader(b.x, n);
        const bx = b.boxes[n]!;
        for (let k = 0; k < bx.length / 4; k++) {
          const [x1, y1, x2, y2] = bx.subarray(4 * k, 4 * k + 4) as unknown as number[];
          assert.ok(x1! >= 0 && y1! >= 0 && x2! <= W && y2! <= H && x2! > x1! && y2! > y1!, `box ${[x1, y1, x2, y2]} inside the ${W}x${H} output`);
          // Resampled edges blur by a pixel: the box's inner part has its color (brightness-scaled), in the dominant channel.
          const c = b.labels[n]![k]!;
          for (let y = Math.ceil(y1!) + 1; y < Math.floor(y2!) - 1; y++) for (let x = Math.ceil(x1!) + 1; x < Math.floor(x2!) - 1; x++) {
            const v = [0, 1, 2].map((ch) => at(ch, y, x));
            assert.ok(v[c]! > 100 && v.every((u, ch) => ch === c || u < v[c]! / 4), `pixel (${x}, ${y}) of a ${CLASSES[c]} box is [${v}]`);
          }
        }
      }
      b.x.dispose();
    }
    return out;
  };
  const e0 = await once(0);
  assert.deepEqual(await once(0), e0, 'same seed and epoch: the same pixels and boxes');
  const e1 = await once(1);
  assert.notDeepEqual(e1.map((b) => b.boxes), e0.map((b) => b.boxes), 'another epoch draws other crops');
  let dropped = 0, clipped = 0;
  for (let epoch = 0; epoch < 6; epoch++) {
    for await (const b of ds.batches({ batchSize: 4, size: [H, W], seed: 9, epoch, augment: { crop: 0.4 } })) {
      b.files.forEach((f, n) => {
        const s = SCENES.find((q) => path.basename(f) === `${q.name}.png`)!;
        if (b.labels[n]!.length < s.labels.length) dropped++;
        const sides = b.boxes[n]!;
        for (let k = 0; k < sides.length; k += 4) if (sides[k] === 0 || sides[k + 1] === 0 || sides[k + 2] === W || sides[k + 3] === H) clipped++;
      });
      b.x.dispose();
    }
  }
  assert.ok(dropped > 0 && clipped > 0, `crops dropped (${dropped}) and clipped (${clipped}) boxes`);
}));

test('mosaics: four images around a center, each box on its own colored pixels', () => noLeaks(async () => {
  const ds = new dl.BoxDatastore(await dl.readVOC(voc, { split: 'trainval', classes: CLASSES }));
  let many = 0;
  for (let epoch = 0; epoch < 3; epoch++) {
    for await (const b of ds.batches({ batchSize: 4, size: [60, 80], seed: 2, epoch, augment: { mosaic: 1, minBoxArea: 0.5 } })) {
      assert.deepEqual(b.x.shape, [4, 3, 60, 80]);
      for (let n = 0; n < b.files.length; n++) {
        const at = reader(b.x, n);
        const bx = b.boxes[n]!;
        if (bx.length / 4 >= 3) many++;
        for (let k = 0; k < bx.length / 4; k++) {
          const c = b.labels[n]![k]!;
          const cx = Math.floor((bx[4 * k]! + bx[4 * k + 2]!) / 2), cy = Math.floor((bx[4 * k + 1]! + bx[4 * k + 3]!) / 2);
          const v = [0, 1, 2].map((ch) => at(ch, cy, cx));
          assert.ok(v[c]! > 200 && v.every((u, ch) => ch === c || u < 50), `mosaic ${n}: the center (${cx}, ${cy}) of a ${CLASSES[c]} box is [${v}]`);
        }
      }
      b.x.dispose();
    }
  }
  assert.ok(many > 0, 'some mosaics hold boxes from several images');
}));

const BCCD = path.join(SHARED_DATA, 'bccd');
const hasBccd = existsSync(path.join(BCCD, 'Annotations'));

test('BCCD (../shared/data/bccd): splits, classes, the two zero-size boxes', { skip: hasBccd ? false : `BCCD not found at ${BCCD}: skipped` }, () => noLeaks(async () => {
  const count = (split: string) => readFileSync(path.join(BCCD, 'ImageSets', 'Main', `${split}.txt`), 'utf8').split('\n').filter((l) => l.trim()).length;
  const trainval = await dl.readVOC(BCCD, { split: 'trainval' });
  const testSet = await dl.readVOC(BCCD, { split: 'test', classes: trainval.classes });
  assert.equal(trainval.images.length, count('trainval'));
  assert.equal(testSet.images.length, count('test'));
  assert.deepEqual([trainval.images.length, testSet.images.length], [292, 72]);
  assert.deepEqual([...trainval.classes].sort(), ['Platelets', 'RBC', 'WBC']);
  const all = await dl.readVOC(BCCD);
  assert.deepEqual(all.problems.map((p) => path.basename(p.file)), ['BloodImage_00338.xml', 'BloodImage_00343.xml']);
  assert.ok(all.problems.every((p) => /zero or negative size/.test(p.message) && p.field?.endsWith('.bndbox')));
  const ds = new dl.BoxDatastore(trainval);
  const c = ds.countEachLabel();
  assert.ok(c.every((e) => e.boxes > 0 && e.images > 0 && e.images <= ds.size), JSON.stringify(c));
  const wbc = ds.boxStatistics().find((s) => s.label === 'WBC')!;
  const plt = ds.boxStatistics().find((s) => s.label === 'Platelets')!;
  assert.ok(wbc.width.median > 2 * plt.width.median, 'white cells are larger than platelets');
  // One batch of real images: boxes scaled by the same factors as the pixels.
  const first = ds.subset([0, 1]);
  for await (const b of first.batches({ batchSize: 2, size: [240, 320] })) {
    assert.deepEqual(b.x.shape, [2, 3, 240, 320]);
    assert.deepEqual(b.originalSizes, [[480, 640], [480, 640]]);
    const want = Array.from(first.images[0]!.boxes, (v) => v / 2);
    assert.deepEqual(Array.from(b.boxes[0]!), want);
    b.x.dispose();
  }
}));
