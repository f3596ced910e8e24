// Evaluation: scores against a confusion matrix worked out by hand, evaluate() on a network,
// the confusion chart (PNG + HTML) and the misclassified grid (PNG of the right size, most
// confident mistakes first).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import * as dl from '../../src/index.js';
import { measureChartText } from '../../src/train/charts.js';
import { noLeaks } from '../helpers.js';
import { syntheticArrays, syntheticData, tinyCnn } from './synthetic.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'dlkit-metrics-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const maxDiff = (a: dl.Tensor, b: dl.Tensor) => dl.tidy(() => a.sub(b).abs().max().item() as number);
const close = (a: number, b: number, what: string) => assert.ok(Math.abs(a - b) < 1e-12, `${what}: got ${a}, expected ${b}`);

// 9 observations of classes a, b, c; class d never occurs and is never predicted.
const classes = ['a', 'b', 'c', 'd'];
const actual = Int32Array.from([0, 0, 0, 0, 1, 1, 2, 2, 2]);
const predicted = Int32Array.from([0, 0, 1, 2, 1, 1, 2, 0, 1]);

test('scorePredictions: confusion matrix, accuracy and per-class precision/recall/f1 against a hand computation', () => {
  const e = dl.scorePredictions(predicted, actual, classes);
  // Rows: true class, columns: predicted class.
  assert.deepEqual(e.confusion, [
    [2, 1, 1, 0], // a: 2 right, 1 taken for b, 1 for c
    [0, 2, 0, 0], // b: both right
    [1, 1, 1, 0], // c: 1 right, 1 taken for a, 1 for b
    [0, 0, 0, 0], // d: none
  ]);
  close(e.accuracy, 5 / 9, 'accuracy');
  const want = [
    // precision = tp / column sum, recall = tp / row sum, f1 = 2pr / (p + r)
    { class: 'a', precision: 2 / 3, recall: 2 / 4, f1: 4 / 7, support: 4 },
    { class: 'b', precision: 2 / 4, recall: 2 / 2, f1: 2 / 3, support: 2 },
    { class: 'c', precision: 1 / 2, recall: 1 / 3, f1: 2 / 5, support: 3 },
    { class: 'd', precision: 0, recall: 0, f1: 0, support: 0 }, // no predictions, no support: 0, not NaN
  ];
  assert.equal(e.perClass.length, 4);
  e.perClass.forEach((m, i) => {
    const w = want[i]!;
    assert.equal(m.class, w.class);
    close(m.precision, w.precision, `precision of ${w.class}`);
    close(m.recall, w.recall, `recall of ${w.class}`);
    close(m.f1, w.f1, `f1 of ${w.class}`);
    assert.equal(m.support, w.support, `support of ${w.class}`);
  });
  assert.deepEqual(e.classes, classes);

  const text = dl.formatEvaluation(e);
  assert.match(text, /^accuracy: 0\.5556\n/);
  assert.match(text, /^a\s+0\.6667\s+0\.5000\s+0\.5714\s+4$/m);
  assert.match(text, /^d\s+0\.0000\s+0\.0000\s+0\.0000\s+0$/m);
});

test('scorePredictions rejects mismatched lengths and indices outside the classes, naming the observation', () => {
  assert.throws(() => dl.scorePredictions(Int32Array.from([0, 1]), Int32Array.from([0]), classes), /^RangeError: scorePredictions: 2 predictions for 1 labels$/);
  assert.throws(() => dl.scorePredictions(Int32Array.from([0, 1]), Int32Array.from([0, 7]), classes), /label 7 of observation 1 is outside the 4 classes/);
  assert.throws(() => dl.scorePredictions(Int32Array.from([0, 9]), Int32Array.from([0, 1]), classes), /prediction 9 of observation 1 is outside the 4 classes/);
  const empty = dl.scorePredictions(new Int32Array(0), new Int32Array(0), classes);
  assert.equal(empty.accuracy, 0);
});

test('evaluate on a network agrees with classify + the labels', async () => {
  const data = syntheticData(40, 5);
  dl.manualSeed(5);
  const network = tinyCnn();
  network.classes = [...data.classes!];
  try {
    await noLeaks(async () => {
      const e = await dl.evaluate(network, data, { miniBatchSize: 16 });
      const c = await dl.classify(network, data);
      const labels = data.labels()!;
      c.scores.dispose();
      assert.deepEqual(e.predicted, c.indices);
      assert.deepEqual(e.actual, labels);
      const correct = labels.filter((l, i) => l === c.indices[i]).length;
      close(e.accuracy, correct / 40, 'accuracy');
      assert.equal(e.confusion.flat().reduce((a, b) => a + b, 0), 40);
      assert.ok(e.confidence.every((p) => p >= 0.25 - 1e-6 && p <= 1), 'confidence is the top softmax probability (>= 1/4 for 4 classes)');
    });
    // Classes that differ from the network's are an error naming both.
    network.classes = ['w', 'x', 'y', 'z'];
    await assert.rejects(dl.evaluate(network, data), /the data's classes \(top-left, top-right, bottom-left, bottom-right\) differ from the network's \(w, x, y, z\)/);
  } finally {
    network.dispose();
    data.dispose();
  }
});

test("a network with testTimeAugmentation 'reflectX': predict, classify, evaluate and validation use the mean over the mirror image; activations do not", async () => {
  const data = syntheticData(24, 6);
  dl.manualSeed(6);
  const network = tinyCnn();
  network.classes = [...data.classes!];
  try {
    await noLeaks(async () => {
      // The mirror images, made in JS rather than with the flip op under test.
      const { pixels, size } = syntheticArrays(24, 6);
      const flipped = pixels.map((_, i) => pixels[i - (i % size) + (size - 1 - (i % size))]!);
      const plain = await dl.predict(network, data);
      const mirrorImages = dl.tensor(flipped, { shape: [24, 1, size, size] });
      const mirrored = await dl.predict(network, mirrorImages);
      network.testTimeAugmentation = 'reflectX';
      const want = dl.tidy(() => plain.add(mirrored).mul(0.5));
      const got = await dl.predict(network, data, { miniBatchSize: 7 });
      assert.ok(maxDiff(got, want) < 1e-6, 'predict: the mean of the outputs for the images and their mirror images');
      const c = await dl.classify(network, data);
      const wantScores = dl.tidy(() => want.softmax(1));
      assert.ok(maxDiff(c.scores, wantScores) < 1e-6, 'classify: softmax of that mean');
      const e = await dl.evaluate(network, data);
      assert.deepEqual(e.predicted, c.indices);
      const v = await dl.validationMetrics(network, data, 10);
      close(v.accuracy, e.accuracy, 'validation accuracy (trainNetwork) vs evaluate');
      const { features: feats } = await dl.activations(network, data, network.outputNames[0]!);
      assert.ok(maxDiff(feats, plain) < 1e-6, "activations are the images' own");
      dl.dispose([mirrorImages, plain, mirrored, want, got, c.scores, wantScores, feats]);
      network.testTimeAugmentation = 'none';
    });
  } finally {
    network.dispose();
    data.dispose();
  }
});

test('saveConfusionChart writes a PNG and a self-contained HTML page with the matrix', async () => {
  const e = dl.scorePredictions(predicted, actual, classes);
  const base = path.join(tmp, 'charts', 'confusion'); // the folder does not exist yet
  const files = await dl.saveConfusionChart(e, base);
  assert.deepEqual(files, [`${base}.png`, `${base}.html`]);
  const png = readFileSync(`${base}.png`);
  assert.deepEqual(png.subarray(0, 8), PNG_SIGNATURE);
  const meta = await sharp(png).metadata();
  assert.equal(meta.format, 'png');
  assert.deepEqual([meta.width, meta.height], [740, 600], 'size: max(600, 90 + 55 per class) high, 140 wider for the legend');
  const html = readFileSync(`${base}.html`, 'utf8');
  assert.match(html, /<title>Confusion matrix \(accuracy 55\.56%\)<\/title>/);
  // Heat-map cells are [predicted, true, count].
  for (const cell of ['[0,0,2]', '[1,0,1]', '[2,0,1]', '[1,1,2]', '[0,2,1]', '[2,2,1]']) assert.ok(html.includes(cell), `the page holds cell ${cell}`);
  assert.ok(html.includes('["a","b","c","d"]'), 'and the class names');
  // The colour scale is labelled with its ends: 0 and the largest count (2).
  const svg = dl.renderSvg(dl.confusionOption(classes, e.confusion));
  const texts = [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]);
  const count = (t: string) => texts.filter((x) => x === t).length;
  const cells = e.confusion.flat();
  assert.equal(count('2'), cells.filter((v) => v === 2).length + 1, `the cells' labels and the scale's top in ${JSON.stringify(texts)}`);
  assert.equal(count('0'), cells.filter((v) => v === 0).length + 1, "the cells' labels and the scale's bottom");
  assert.deepEqual(readdirSync(path.dirname(base)).filter((f) => f.endsWith('.tmp')), [], 'no temporary files left');
});

test('chart text is laid out with the widths the PNG renderer draws (legend items must not run into each other)', async () => {
  for (const [text, font] of [['training loss (smoothed)', '20px DejaVu Sans'], ['Confusion matrix (accuracy 94.53%)', '20px DejaVu Sans'], ['T-shirt/top', '20px DejaVu Sans'], ['Training progress', 'bold 20px DejaVu Sans']] as const) {
    const weight = font.startsWith('bold') ? ' font-weight="bold"' : '';
    const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="800" height="60"><rect width="800" height="60" fill="#fff"/><text x="10" y="40" font-family="DejaVu Sans" font-size="20"${weight}>${text}</text></svg>`;
    const { info } = await sharp(Buffer.from(svg)).trim().toBuffer({ resolveWithObject: true });
    const measured = measureChartText(text, font);
    // Ink is a little narrower than the advance width (side bearings of the first and last glyph).
    assert.ok(Math.abs(measured - info.width) / info.width < 0.04, `'${text}' (${font}): laid out ${measured.toFixed(1)} px, drawn ${info.width} px`);
  }
});

/** A [1, 8, 8] image of one gray level. */
const flat = (level: number) => dl.full([1, 8, 8], level);

test('saveMisclassifiedGrid: a PNG whose size matches the grid, most confident mistakes first', async () => {
  // 8 mistakes (every observation wrong), with confidences that put observation 5 first.
  const n = 8;
  const act = Int32Array.from({ length: n }, (_, i) => i % 4);
  const pred = Int32Array.from(act, (a) => (a + 1) % 4);
  const confidence = Float32Array.from([0.3, 0.4, 0.5, 0.6, 0.7, 0.99, 0.35, 0.45]);
  const e = dl.scorePredictions(pred, act, classes, confidence);
  const levels = Array.from({ length: n }, (_, i) => 20 + i * 30); // observation i is gray level 20 + 30i
  const cell = 64;
  const gap = 8;
  const caption = 30;

  await noLeaks(async () => {
    const file = path.join(tmp, 'grid', 'misclassified.png');
    const shown = await dl.saveMisclassifiedGrid(e, (i) => flat(levels[i]!), file, { cell });
    assert.equal(shown, 8);
    const png = readFileSync(file);
    assert.deepEqual(png.subarray(0, 8), PNG_SIGNATURE);
    // 8 tiles: 6 columns, 2 rows; each tile is the image (cell x cell) over a caption.
    const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
    assert.deepEqual([info.width, info.height], [6 * (cell + gap) - gap, 2 * (cell + caption + gap) - gap]);
    const pixel = (x: number, y: number) => data[(y * info.width + x) * info.channels]!;
    // Tile order: confidence 0.99 (obs 5), 0.7 (obs 4), 0.6 (obs 3), 0.5, 0.45, 0.4 | 0.35, 0.3.
    const order = [5, 4, 3, 2, 7, 1, 6, 0];
    order.forEach((obs, k) => {
      const x = (k % 6) * (cell + gap) + cell / 2;
      const y = Math.floor(k / 6) * (cell + caption + gap) + cell / 2;
      assert.equal(pixel(x, y), levels[obs], `tile ${k} shows observation ${obs}`);
    });

    // `max` limits the grid: 5 tiles in one row.
    const five = path.join(tmp, 'grid', 'five.png');
    assert.equal(await dl.saveMisclassifiedGrid(e, (i) => flat(levels[i]!), five, { cell, max: 5 }), 5);
    const m5 = await sharp(readFileSync(five)).metadata();
    assert.deepEqual([m5.width, m5.height], [5 * (cell + gap) - gap, cell + caption]);

    // No mistakes: a blank single cell, and 0 shown.
    const none = dl.scorePredictions(act, act, classes);
    const blank = path.join(tmp, 'grid', 'none.png');
    assert.equal(await dl.saveMisclassifiedGrid(none, () => assert.fail('no image is needed'), blank, { cell }), 0);
    const m0 = await sharp(readFileSync(blank)).metadata();
    assert.deepEqual([m0.width, m0.height], [cell, cell + caption]);
  });
});
