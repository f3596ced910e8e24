// Drawn detections and precision–recall charts: boxes drawn on a plain image have the class
// colour on their outline and leave pixels away from them unchanged; tags carry class and
// score; minScore, EXIF orientation and errors; the chart is a valid PNG and an HTML page
// naming every class with its AP.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import * as dl from '../../src/index.js';
import type { Detection, GroundTruth } from '../../src/index.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'dlkit-detdraw-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const W = 320, H = 240;
const GREY = [120, 130, 140];

async function plainImage(): Promise<Buffer> {
  return sharp({ create: { width: W, height: H, channels: 3, background: { r: GREY[0]!, g: GREY[1]!, b: GREY[2]! } } }).png().toBuffer();
}

async function pixels(png: Buffer): Promise<{ data: Buffer; width: number; height: number; channels: number }> {
  const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: info.channels };
}

const hex = (c: string) => [1, 3, 5].map((i) => parseInt(c.slice(i, i + 2), 16));

test('drawDetections: the outline has the class colour, pixels away from the boxes are unchanged', async () => {
  const image = await plainImage();
  const detection: Detection = {
    boxes: Float32Array.of(40, 60, 140, 200, 180, 30, 300, 120),
    scores: Float32Array.of(0.91, 0.47),
    labels: Int32Array.of(0, 2),
  };
  const classes = ['cat', 'dog', 'bird'];
  const png = await dl.drawDetections(image, detection, { classes, lineWidth: 2 });
  assert.deepEqual(png.subarray(0, 8), PNG_SIGNATURE);
  const { data, width, height, channels } = await pixels(png);
  assert.deepEqual([width, height], [W, H]);
  const at = (x: number, y: number) => [...data.subarray((y * width + x) * channels, (y * width + x) * channels + 3)];
  const colors = [dl.DETECTION_COLORS[0]!, dl.DETECTION_COLORS[2]!];
  // Left, right and bottom edges, away from the tag (which sits above the top edge).
  const boxes = [[40, 60, 140, 200], [180, 30, 300, 120]] as const;
  boxes.forEach(([x1, y1, x2, y2], i) => {
    const c = hex(colors[i]!);
    const ym = Math.round((y1 + y2) / 2), xm = Math.round((x1 + x2) / 2);
    assert.deepEqual(at(x1, ym), c, `box ${i} left edge`);
    assert.deepEqual(at(x2 - 1, ym), c, `box ${i} right edge`);
    assert.deepEqual(at(xm, y2 - 1), c, `box ${i} bottom edge`);
    assert.deepEqual(at(xm, ym), GREY, `box ${i} inside is untouched`);
    // The tag above the box is filled with the class colour next to its text.
    assert.deepEqual(at(x1 + 1, y1 - 2), c, `box ${i} tag`);
  });
  // Everything more than a few pixels from a box or its tag is exactly the input.
  const near = (x: number, y: number) => boxes.some(([x1, y1, x2, y2]) => x >= x1 - 3 && x <= x2 + 100 && y >= y1 - 30 && y <= y2 + 3);
  let checked = 0;
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) {
    if (near(x, y)) continue;
    checked++;
    const p = at(x, y);
    if (p[0] !== GREY[0] || p[1] !== GREY[1] || p[2] !== GREY[2]) assert.fail(`pixel (${x}, ${y}) changed to ${p}`);
  }
  assert.ok(checked > width * height * 0.3, `${checked} pixels checked`);
  // The tag holds the text: some pixels in it are neither the tag colour nor the image.
  const tag = [] as number[][];
  for (let x = 42; x < 100; x++) for (let y = 44; y < 58; y++) tag.push(at(x, y));
  assert.ok(tag.some((p) => p.join() !== hex(colors[0]!).join() && p.join() !== GREY.join()), 'text drawn in the tag');
});

test('drawDetections: minScore leaves low scores out; file paths, custom colours and ground truth without scores', async () => {
  const file = path.join(tmp, 'plain.png');
  writeFileSync(file, await plainImage());
  const detection = { boxes: Float32Array.of(20, 20, 100, 100, 150, 50, 250, 150), scores: Float32Array.of(0.9, 0.2), labels: Int32Array.of(1, 1) };
  const png = await dl.drawDetections(file, detection, { classes: ['a', 'b'], colors: ['#00ff00', '#0000ff'], minScore: 0.5 });
  const { data, width, channels } = await pixels(png);
  const at = (x: number, y: number) => [...data.subarray((y * width + x) * channels, (y * width + x) * channels + 3)];
  assert.deepEqual(at(20, 60), [0, 0, 255], 'the kept box has its class colour');
  assert.deepEqual(at(150, 100), GREY, 'the box below minScore is not drawn');
  const truth: GroundTruth = { boxes: Float32Array.of(150, 50, 250, 150), labels: Int32Array.of(0) };
  const drawnTruth = await pixels(await dl.drawDetections(file, truth, { classes: ['a', 'b'], colors: ['#00ff00', '#0000ff'] }));
  assert.deepEqual([...drawnTruth.data.subarray((100 * width + 150) * channels, (100 * width + 150) * channels + 3)], [0, 255, 0]);
});

test('drawDetections applies EXIF orientation, so boxes are in upright coordinates', async () => {
  // Stored 240×320 with orientation 6 (rotate 90° clockwise): upright it is 320×240.
  const stored = await sharp({ create: { width: H, height: W, channels: 3, background: { r: GREY[0]!, g: GREY[1]!, b: GREY[2]! } } }).withMetadata({ orientation: 6 }).jpeg({ quality: 95 }).toBuffer();
  const png = await dl.drawDetections(stored, { boxes: Float32Array.of(200, 50, 300, 200), labels: Int32Array.of(0) }, { classes: ['a'] });
  const meta = await sharp(png).metadata();
  assert.deepEqual([meta.width, meta.height], [W, H]);
});

test('drawDetections errors name the option or field', async () => {
  const image = await plainImage();
  const d = { boxes: Float32Array.of(0, 0, 10, 10), scores: Float32Array.of(1), labels: Int32Array.of(0) };
  await assert.rejects(dl.drawDetections(image, { ...d, labels: Int32Array.of(4) }, { classes: ['a'] }), /detection\.labels\[0\] is 4, outside the 1 classes/);
  await assert.rejects(dl.drawDetections(image, { ...d, boxes: new Float32Array(3) }, { classes: ['a'] }), /detection\.boxes must be a Float32Array of x1,y1,x2,y2 rows \(got 3 numbers\)/);
  await assert.rejects(dl.drawDetections(image, d, { classes: ['a'], colors: ['red'] }), /colors\[0\] must be a hex colour like '#e6194b', got 'red'/);
  await assert.rejects(dl.drawDetections(image, d, { classes: ['a'], colour: '#fff' } as never), /unknown option 'colour'/);
  await assert.rejects(dl.drawDetections(path.join(tmp, 'missing.png'), d, { classes: ['a'] }), /drawDetections: cannot read .*missing\.png/);
});

test('precisionRecallChart writes a valid PNG and an HTML page with every class and its AP', async () => {
  const truths: GroundTruth[] = [
    { boxes: Float32Array.of(0, 0, 10, 10, 20, 20, 30, 30, 40, 40, 50, 50), labels: Int32Array.of(0, 1, 0) },
    { boxes: Float32Array.of(5, 5, 15, 15), labels: Int32Array.of(1) },
  ];
  const detections: Detection[] = [
    { boxes: Float32Array.of(0, 0, 10, 10, 20, 20, 30, 30, 60, 60, 70, 70), scores: Float32Array.of(0.9, 0.8, 0.7), labels: Int32Array.of(0, 1, 0) },
    { boxes: Float32Array.of(5, 5, 15, 15, 80, 80, 90, 90), scores: Float32Array.of(0.6, 0.95), labels: Int32Array.of(1, 1) },
  ];
  const classes = ['red blood cell', 'platelet & co', 'unseen'];
  const e = dl.evaluateDetections(detections, truths, { classes });
  const base = path.join(tmp, 'charts', 'pr'); // the folder does not exist yet
  const files = await dl.precisionRecallChart(e, base);
  assert.deepEqual(files, [`${base}.png`, `${base}.html`]);
  const png = readFileSync(`${base}.png`);
  assert.deepEqual(png.subarray(0, 8), PNG_SIGNATURE);
  const meta = await sharp(png).metadata();
  assert.deepEqual([meta.format, meta.width, meta.height], ['png', 900, 640]);
  const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
  // The curves are drawn in the class colours.
  const has = (c: number[]) => { for (let i = 0; i < data.length; i += info.channels) if (data[i] === c[0] && data[i + 1] === c[1] && data[i + 2] === c[2]) return true; return false; };
  assert.ok(has(hex(dl.DETECTION_COLORS[0]!)) && has(hex(dl.DETECTION_COLORS[1]!)), 'both curves in their class colours');
  const html = readFileSync(`${base}.html`, 'utf8');
  for (const p of e.perClass.slice(0, 2)) assert.ok(html.includes(JSON.stringify(`${p.class} (AP ${p.ap50.toFixed(3)})`).slice(1, -1)), `legend entry for ${p.class}`);
  assert.ok(!html.includes('unseen (AP'), 'a class without truth has no curve');
  // The SVG behind the PNG has the same legend text (escaped for XML).
  const svg = dl.renderSvg(dl.precisionRecallOption(e), 900, 640);
  assert.ok(svg.includes(`red blood cell (AP ${e.perClass[0]!.ap50.toFixed(3)})`));
  assert.ok(svg.includes('platelet &amp; co (AP'));
  // A single file by extension.
  assert.deepEqual(await dl.precisionRecallChart(e, path.join(tmp, 'only.html')), [path.join(tmp, 'only.html')]);
  assert.match(readFileSync(path.join(tmp, 'only.html'), 'utf8'), /^<!doctype html>/);
});
