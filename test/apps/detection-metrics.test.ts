// Average precision against published worked examples with known answers:
//   fixtures/detection/padilla-worked-example.json: the Object-Detection-Metrics README example
//     (7 images, 15 truths, 24 detections), its TP/FP table, and the all-point and 11-point APs
//     review_object_detection_metrics asserts at IoU 0.1/0.3/0.5/0.75;
//   fixtures/detection/coco-sample.json: 100 COCO images with pycocotools' AP, AP50 and AP75;
// (both converted by scripts/make-detection-fixtures.py; sources and licences in the files),
// plus hand-checkable cases: perfect detections, a false positive ranked first, difficult boxes,
// duplicates, classes without truth, the two matching rules, and option errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as dl from '../../src/index.js';
import type { Detection, GroundTruth } from '../../src/index.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const fixture = <T>(name: string) => JSON.parse(readFileSync(path.join(ROOT, 'fixtures', 'detection', name), 'utf8')) as T;

interface Padilla {
  images: { image: string; truths: number[][]; detections: { score: number; box: number[] }[] }[];
  'tpAtIoU0.3': { image: number; detection: string; score: number; tp: boolean }[];
  expected: Record<'voc-11-point' | 'voc-all-point', Record<string, number>>;
}
interface CocoSample {
  imageIds: number[]; categories: [number, string][]; truths: number[][]; detections: number[][];
  expected: { AP: number; AP50: number; AP75: number; tolerance: number };
}

const det = (rows: [number, number, number, number, number, number][]): Detection => ({
  boxes: Float32Array.from(rows.flatMap((r) => r.slice(0, 4))),
  scores: Float32Array.from(rows, (r) => r[4]),
  labels: Int32Array.from(rows, (r) => r[5]),
});
const gt = (rows: [number, number, number, number, number][], difficult?: number[]): GroundTruth => ({
  boxes: Float32Array.from(rows.flatMap((r) => r.slice(0, 4))),
  labels: Int32Array.from(rows, (r) => r[4]),
  ...(difficult ? { difficult: Uint8Array.from(difficult) } : {}),
});

function padillaSets(): { detections: Detection[]; truths: GroundTruth[] } {
  const p = fixture<Padilla>('padilla-worked-example.json');
  return {
    detections: p.images.map((im) => ({ boxes: Float32Array.from(im.detections.flatMap((d) => d.box)), scores: Float32Array.from(im.detections, (d) => d.score), labels: new Int32Array(im.detections.length) })),
    truths: p.images.map((im) => ({ boxes: Float32Array.from(im.truths.flat()), labels: new Int32Array(im.truths.length) })),
  };
}

test('the Object-Detection-Metrics worked example: APs at IoU 0.1, 0.3, 0.5, 0.75 (all-point and 11-point)', () => {
  const p = fixture<Padilla>('padilla-worked-example.json');
  const { detections, truths } = padillaSets();
  assert.equal(truths.reduce((s, t) => s + t.labels.length, 0), 15);
  assert.equal(detections.reduce((s, d) => s + d.labels.length, 0), 24);
  for (const interpolation of ['voc-all-point', 'voc-11-point'] as const) {
    for (const [thr, expected] of Object.entries(p.expected[interpolation])) {
      for (const matching of ['greedy', 'voc'] as const) {
        const e = dl.evaluateDetections(detections, truths, { classes: ['person'], iouThresholds: [Number(thr)], interpolation, matching, pixelInclusive: true });
        assert.ok(Math.abs(e.perClass[0]!.apAt[0]! - expected) < 1e-9, `${interpolation} at IoU ${thr} (${matching}): got ${e.perClass[0]!.apAt[0]}, published ${expected}`);
        assert.ok(Math.abs(e.mAP - expected) < 1e-9);
      }
    }
  }
});

test('the worked example: the TP/FP table at IoU 0.3 and the precision/recall columns', () => {
  const p = fixture<Padilla>('padilla-worked-example.json');
  const { detections, truths } = padillaSets();
  const e = dl.evaluateDetections(detections, truths, { classes: ['person'], iouThresholds: [0.3], interpolation: 'voc-all-point', pixelInclusive: true });
  // The README's table, ranked as its second table ranks it (score order, ties by image).
  const ranked = [...p['tpAtIoU0.3']].map((row, i) => ({ ...row, i })).sort((a, b) => b.score - a.score || a.image - b.image || a.i - b.i);
  const tp = ranked.map((r) => r.tp);
  // precision/recall in the result are at IoU 0.5; the 0.3 curve follows from apAt, so rebuild it here.
  let acc = 0;
  const precision = tp.map((t, i) => (acc += t ? 1 : 0) / (i + 1));
  acc = 0;
  const recall = tp.map((t) => (acc += t ? 1 : 0) / 15);
  assert.ok(Math.abs(dl.averagePrecision(precision, recall, 'voc-all-point') - p.expected['voc-all-point']['0.3']!) < 1e-9, 'the table gives the published AP');
  assert.ok(Math.abs(e.perClass[0]!.apAt[0]! - p.expected['voc-all-point']['0.3']!) < 1e-9, 'and so does the evaluation');
  // The README's printed columns (4 decimals): precision 0.3043 and recall 0.4666 after 23 detections.
  assert.equal(precision[22]!.toFixed(4), '0.3043');
  assert.equal(Math.floor(recall[22]! * 1e4) / 1e4, 0.4666);
  // The scores of the curve at 0.5 are the 24 detections in rank order.
  assert.deepEqual([...e.perClass[0]!.scores].map((s) => Math.round(s * 100)), ranked.map((r) => Math.round(r.score * 100)));
  // Without the inclusive-pixel convention two matches at IoU 0.3 change (24.57% → 22.54%).
  const continuous = dl.evaluateDetections(detections, truths, { classes: ['person'], iouThresholds: [0.3], interpolation: 'voc-all-point' });
  assert.ok(continuous.mAP < e.mAP - 0.01, `continuous ${continuous.mAP} vs inclusive ${e.mAP}`);
});

test('100 COCO images: mAP@[.5:.95], AP50 and AP75 as pycocotools gives them', () => {
  const c = fixture<CocoSample>('coco-sample.json');
  const index = new Map(c.categories.map(([id], i) => [id, i]));
  const byImage = new Map(c.imageIds.map((id) => [id, { t: [] as number[][], d: [] as number[][] }]));
  for (const t of c.truths) byImage.get(t[0]!)!.t.push(t);
  for (const d of c.detections) byImage.get(d[0]!)!.d.push(d);
  const truths: GroundTruth[] = [];
  const detections: Detection[] = [];
  for (const { t, d } of byImage.values()) {
    truths.push({ boxes: Float32Array.from(t.flatMap((r) => r.slice(2, 6))), labels: Int32Array.from(t, (r) => index.get(r[1]!)!) });
    detections.push({ boxes: Float32Array.from(d.flatMap((r) => r.slice(3, 7))), scores: Float32Array.from(d, (r) => r[2]!), labels: Int32Array.from(d, (r) => index.get(r[1]!)!) });
  }
  const e = dl.evaluateDetections(detections, truths, { classes: c.categories.map(([, name]) => name), maxDetections: 100 });
  const tol = c.expected.tolerance;
  assert.ok(Math.abs(e.mAP - c.expected.AP) < tol, `mAP ${e.mAP}, pycocotools ${c.expected.AP}`);
  assert.ok(Math.abs(e.mAPAt[0]! - c.expected.AP50) < tol, `AP50 ${e.mAPAt[0]}, pycocotools ${c.expected.AP50}`);
  assert.ok(Math.abs(e.mAP75 - c.expected.AP75) < tol, `AP75 ${e.mAP75}, pycocotools ${c.expected.AP75}`);
  assert.equal(e.interpolation.ap, 'coco-101');
  assert.equal(e.interpolation.ap50, 'voc-all-point');
  // Classes with no truth in these images are left out of the means, as pycocotools does.
  const present = new Set(c.truths.map((t) => t[1]));
  assert.deepEqual(e.evaluatedClasses, c.categories.filter(([id]) => present.has(id)).map(([, n]) => n));
  assert.ok(e.evaluatedClasses.length < c.categories.length);
  for (const p of e.perClass) assert.equal(Number.isNaN(p.ap), p.truths === 0, p.class);
  // The VOC all-point number at 0.5 differs from COCO's 101-point one, but only a little.
  assert.ok(Math.abs(e.mAP50 - e.mAPAt[0]!) < 0.02 && e.mAP50 !== e.mAPAt[0]);
});

test('hand-checkable: perfect detections give 1; a false positive ranked first; a duplicate; a missed truth', () => {
  const truths = [gt([[0, 0, 10, 10, 0], [20, 20, 30, 30, 1]]), gt([[5, 5, 15, 15, 0]])];
  const perfect = [det([[0, 0, 10, 10, 0.9, 0], [20, 20, 30, 30, 0.8, 1]]), det([[5, 5, 15, 15, 0.7, 0]])];
  const e = dl.evaluateDetections(perfect, truths, { classes: ['a', 'b'] });
  assert.deepEqual([e.mAP50, e.mAP75, e.mAP], [1, 1, 1]);
  assert.deepEqual([...e.perClass[0]!.precision], [1, 1]);
  assert.deepEqual([...e.perClass[0]!.recall], [0.5, 1]);

  // Class a: a far-off false positive ranked first, then the two truths: precision 0, 1/2, 2/3.
  // All-point AP = 1 × 2/3 (the envelope is 2/3 up to recall 1); 11-point likewise 2/3;
  // COCO 101-point: recall thresholds 0 .. 1 all reach the 2/3 point.
  const fpFirst = [det([[50, 50, 60, 60, 0.95, 0], [0, 0, 10, 10, 0.9, 0]]), det([[5, 5, 15, 15, 0.7, 0]])];
  for (const interpolation of ['voc-all-point', 'voc-11-point', 'coco-101'] as const) {
    const r = dl.evaluateDetections(fpFirst, truths, { classes: ['a', 'b'], interpolation });
    assert.ok(Math.abs(r.perClass[0]!.ap50 - 2 / 3) < 1e-12, `${interpolation}: ${r.perClass[0]!.ap50}`);
    assert.deepEqual([...r.perClass[0]!.precision], [0, 1 / 2, 2 / 3]);
  }
  // Class a found in image 0 only, ranked first: all-point AP = recall 1/2 × precision 1 = 0.5;
  // a duplicate of the same truth ranked second is a false positive and changes nothing.
  const half = [det([[0, 0, 10, 10, 0.9, 0], [0.5, 0, 10.5, 10, 0.8, 0]]), det([])];
  const h = dl.evaluateDetections(half, truths, { classes: ['a', 'b'] });
  assert.equal(h.perClass[0]!.ap50, 0.5);
  assert.deepEqual([...h.perClass[0]!.precision], [1, 0.5]);
  assert.equal(h.perClass[1]!.ap50, 0, 'class b: a truth and no detection');
  assert.equal(h.mAP50, 0.25);
  // COCO 101-point on the same: recall thresholds 0.00 .. 0.50 (51 of 101) reach precision 1.
  assert.ok(Math.abs(h.perClass[0]!.apAt[0]! - 51 / 101) < 1e-12);
});

test('IoU thresholds: a detection with IoU 0.625 counts at 0.5 but not at 0.75', () => {
  // [0,0,10,10] against [0,0,10,16]: IoU = 100 / 160 = 0.625.
  const truths = [gt([[0, 0, 10, 16, 0]])];
  const e = dl.evaluateDetections([det([[0, 0, 10, 10, 0.9, 0]])], truths, { classes: ['a'] });
  assert.equal(e.perClass[0]!.ap50, 1);
  assert.equal(e.perClass[0]!.ap75, 0);
  // 0.50, 0.55, 0.60 pass; 0.65 .. 0.95 fail: mean 3/10.
  assert.deepEqual([...e.perClass[0]!.apAt], [1, 1, 1, 0, 0, 0, 0, 0, 0, 0]);
  assert.ok(Math.abs(e.mAP - 0.3) < 1e-12);
  assert.equal(dl.COCO_IOU_THRESHOLDS.length, 10);
});

test('difficult truths are neither counted nor penalize a detection (VOC devkit rule)', () => {
  const truths = [gt([[0, 0, 10, 10, 0], [30, 30, 40, 40, 0]], [0, 1])];
  // A hit on the regular truth, two detections on the difficult one, one false positive.
  const d = [det([[30, 30, 40, 40, 0.95, 0], [0, 0, 10, 10, 0.9, 0], [31, 30, 41, 40, 0.85, 0], [60, 60, 70, 70, 0.5, 0]])];
  for (const matching of ['greedy', 'voc'] as const) {
    const e = dl.evaluateDetections(d, truths, { classes: ['a'], matching });
    assert.equal(e.perClass[0]!.truths, 1, 'the difficult truth is not counted');
    assert.equal(e.perClass[0]!.detections, 2, 'both detections on the difficult box are ignored');
    assert.deepEqual([...e.perClass[0]!.precision], [1, 0.5]);
    assert.equal(e.perClass[0]!.ap50, 1, 'recall 1 reached at precision 1');
  }
  // Without the flag the difficult box is an ordinary truth: the same detections score lower.
  const plain = dl.evaluateDetections(d, [gt([[0, 0, 10, 10, 0], [30, 30, 40, 40, 0]])], { classes: ['a'] });
  assert.equal(plain.perClass[0]!.truths, 2);
  assert.deepEqual([...plain.perClass[0]!.precision], [1, 1, 2 / 3, 1 / 2]);
});

test('matching: greedy takes the next-best free truth; the VOC devkit counts a false positive', () => {
  // Two overlapping truths; the first detection takes truth 0 (IoU 1), the second overlaps truth
  // 0 best (IoU 0.82) and truth 1 less (IoU 0.67): greedy gives it truth 1, VOC calls it a duplicate.
  const truths = [gt([[0, 0, 10, 10, 0], [3, 0, 13, 10, 0]])];
  const d = [det([[0, 0, 10, 10, 0.9, 0], [1, 0, 11, 10, 0.8, 0]])];
  const ious = dl.boxIoU(Float32Array.of(1, 0, 11, 10), Float32Array.of(0, 0, 10, 10, 3, 0, 13, 10));
  assert.ok(ious[0]! > ious[1]! && ious[1]! >= 0.5, `IoUs ${[...ious]}`);
  const greedy = dl.evaluateDetections(d, truths, { classes: ['a'] });
  const voc = dl.evaluateDetections(d, truths, { classes: ['a'], matching: 'voc' });
  assert.equal(greedy.perClass[0]!.ap50, 1);
  assert.equal(voc.perClass[0]!.ap50, 0.5);
});

test('classes without truth are left out of the means; maxDetections keeps the best per image and class', () => {
  const truths = [gt([[0, 0, 10, 10, 0]])];
  const d = [det([[0, 0, 10, 10, 0.9, 0], [50, 50, 60, 60, 0.8, 1]])];
  const e = dl.evaluateDetections(d, truths, { classes: ['a', 'b', 'c'] });
  assert.equal(e.mAP50, 1, 'b has only a false positive and c nothing, but neither has a truth');
  assert.deepEqual(e.evaluatedClasses, ['a']);
  assert.ok(Number.isNaN(e.perClass[1]!.ap50) && Number.isNaN(e.perClass[2]!.ap));
  assert.equal(e.perClass[1]!.detections, 1);
  assert.match(dl.formatDetectionEvaluation(e), /left out of the means: b, c/);
  const none = dl.evaluateDetections([det([])], [gt([])], { classes: ['a'] });
  assert.ok(Number.isNaN(none.mAP50) && Number.isNaN(none.mAP));

  const many = [det([[50, 50, 60, 60, 0.95, 0], [0, 0, 10, 10, 0.5, 0]])];
  assert.equal(dl.evaluateDetections(many, truths, { classes: ['a'], maxDetections: 1 }).perClass[0]!.ap50, 0, 'only the false positive is kept');
  assert.equal(dl.evaluateDetections(many, truths, { classes: ['a'], maxDetections: 2 }).perClass[0]!.ap50, 0.5);
});

test('evaluateDetections errors name the image, field or option', () => {
  const t = [gt([[0, 0, 10, 10, 0]])];
  const d = [det([[0, 0, 10, 10, 0.9, 0]])];
  assert.throws(() => dl.evaluateDetections(d, [...t, ...t], { classes: ['a'] }), /1 detection sets for 2 ground-truth sets/);
  assert.throws(() => dl.evaluateDetections([det([[0, 0, 1, 1, 0.5, 3]])], t, { classes: ['a', 'b'] }), /detections\[0\]\.labels\[0\] is 3, outside the 2 classes \(a, b\)/);
  assert.throws(() => dl.evaluateDetections(d, [{ boxes: new Float32Array(5), labels: new Int32Array(1) }], { classes: ['a'] }), /truths\[0\]\.boxes holds 5 numbers, not a multiple of 4/);
  assert.throws(() => dl.evaluateDetections([{ ...d[0]!, scores: new Float32Array(2) }], t, { classes: ['a'] }), /detections\[0\]\.scores has 2 values for 1 boxes/);
  assert.throws(() => dl.evaluateDetections([{ ...d[0]!, scores: Float32Array.of(Number.NaN) }], t, { classes: ['a'] }), /detections\[0\]\.scores\[0\] is NaN/);
  assert.throws(() => dl.evaluateDetections(d, [{ ...t[0]!, difficult: new Uint8Array(3) }], { classes: ['a'] }), /truths\[0\]\.difficult must be a Uint8Array with one value per box \(1\), got 3/);
  assert.throws(() => dl.evaluateDetections(d, t, { classes: ['a'], interpolation: 'voc' as never }), /interpolation must be one of voc-all-point, voc-11-point, coco-101, got 'voc'/);
  assert.throws(() => dl.evaluateDetections(d, t, { classes: ['a'], iouThresholds: [0.5, 1.5] }), /iouThresholds must be a non-empty list of numbers in \[0, 1\], got \[0.5, 1.5\]/);
  assert.throws(() => dl.evaluateDetections(d, t, { classes: ['a'], iou: 0.5 } as never), /unknown option 'iou'/);
  assert.throws(() => dl.evaluateDetections(d, t, { classes: [] }), /options\.classes must be a non-empty array/);
});
