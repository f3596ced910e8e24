// The detector: targets and decoding agree (a perfect output decodes to the boxes it was made
// from), the loss against a plain-JS reference of the focal and GIoU terms, its gradient against
// finite differences, the networks from scratch and on a backbone (the backbone's weights kept),
// the model file round trip, and the errors that name what is wrong.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as dl from '../../src/index.js';
import { noLeaks, assertClose } from '../helpers.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'dlkit-detector-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const C = 2;
const STRIDE = 4;
const MAP: [number, number] = [12, 16];
const BOXES = [Float32Array.from([4, 6, 28, 30, 33, 10, 61, 26]), Float32Array.from([10, 12, 22, 44])];
const LABELS = [Int32Array.from([0, 1]), Int32Array.from([1])];

/** The output a perfect network would give for these targets: heatmap logits of the target heatmap, the exact distances where boxes are regressed. */
function perfectOutput(targets: dl.Tensor): dl.Tensor {
  return dl.tidy(() => {
    const [n, , h, w] = targets.shape as [number, number, number, number];
    const t = targets.dataSync() as Float32Array;
    const out = new Float32Array(n * (C + 4) * h * w);
    const plane = h * w;
    for (let b = 0; b < n; b++) {
      const tb = b * (C + 5) * plane;
      const ob = b * (C + 4) * plane;
      for (let c = 0; c < C; c++) for (let k = 0; k < plane; k++) {
        const p = Math.min(Math.max(t[tb + c * plane + k]!, 1e-6), 1 - 1e-6);
        out[ob + c * plane + k] = Math.log(p / (1 - p));
      }
      for (let k = 0; k < plane; k++) {
        if (t[tb + (C + 4) * plane + k]! === 0) continue;
        const gx = ((k % w) + 0.5) * STRIDE;
        const gy = (Math.floor(k / w) + 0.5) * STRIDE;
        const [x1, y1, x2, y2] = [0, 1, 2, 3].map((i) => t[tb + (C + i) * plane + k]!);
        [gx - x1!, gy - y1!, x2! - gx, y2! - gy].forEach((d, i) => { out[ob + (C + i) * plane + k] = d / dl.DISTANCE_UNIT; });
      }
    }
    return dl.tensor(out, { shape: [n, C + 4, h, w] });
  });
}

test('targets: a Gaussian peak of exactly 1 at each centre cell, the box and a weight at its central cells; a perfect output decodes to the boxes', async () => {
  await noLeaks(() => {
    const targets = dl.encodeTargets(BOXES, LABELS, { classes: C, mapSize: MAP, stride: STRIDE });
    assert.deepEqual(targets.shape, [2, C + 5, ...MAP]);
    const t = targets.dataSync() as Float32Array;
    const plane = MAP[0] * MAP[1];
    // Box 0 of image 0: centre (16, 18) px → cell (4, 4); class 0.
    assert.equal(t[0 * plane + 4 * MAP[1] + 4], 1);
    assert.deepEqual([0, 1, 2, 3].map((i) => t[(C + i) * plane + 4 * MAP[1] + 4]), [4, 6, 28, 30]);
    assert.ok(t[(C + 4) * plane + 4 * MAP[1] + 4]! > 0);
    // The weights of one box sum to log(its area).
    let sum = 0;
    for (let k = 0; k < plane; k++) if (t[(C + 2) * plane + k] === 28) sum += t[(C + 4) * plane + k]!;
    assertClose([sum], [Math.log(24 * 24)], { atol: 1e-4 });
    const out = perfectOutput(targets);
    const dets = dl.decodeDetections(out, C, STRIDE, { scoreThreshold: 0.5 });
    assert.equal(dets.length, 2);
    for (let b = 0; b < 2; b++) {
      const order = [...dets[b]!.labels.keys()].sort((i, j) => dets[b]!.boxes[i * 4]! - dets[b]!.boxes[j * 4]!);
      assert.deepEqual(order.map((i) => dets[b]!.labels[i]), [...LABELS[b]!]);
      assertClose(order.flatMap((i) => [...dets[b]!.boxes.subarray(i * 4, i * 4 + 4)]), [...BOXES[b]!], { atol: 1e-3 });
    }
    // The box loss of a perfect output is 0 (GIoU 1 everywhere it is weighted).
    const parts = dl.detectorLossParts(out, targets, C, STRIDE);
    assertClose([parts.box.item()], [0], { atol: 1e-5 });
    dl.dispose([targets, out, parts]);
  });
});

/** The loss computed element by element in plain JS (CornerNet's focal loss + weighted GIoU), as the reference. */
function referenceLoss(out: Float32Array, t: Float32Array, n: number, h: number, w: number, boxWeight: number): number {
  const plane = h * w;
  let pos = 0, neg = 0, objects = 0, giouSum = 0, weights = 0;
  for (let b = 0; b < n; b++) {
    const ob = b * (C + 4) * plane, tb = b * (C + 5) * plane;
    for (let c = 0; c < C; c++) for (let k = 0; k < plane; k++) {
      const z = out[ob + c * plane + k]!;
      const p = 1 / (1 + Math.exp(-z));
      const y = t[tb + c * plane + k]!;
      if (y === 1) { pos += Math.log(p) * (1 - p) ** 2; objects++; } else neg += Math.log(1 - p) * p ** 2 * (1 - y) ** 4;
    }
    for (let k = 0; k < plane; k++) {
      const wt = t[tb + (C + 4) * plane + k]!;
      const gx = ((k % w) + 0.5) * STRIDE, gy = (Math.floor(k / w) + 0.5) * STRIDE;
      const d = [0, 1, 2, 3].map((i) => Math.max(out[ob + (C + i) * plane + k]!, 0) * dl.DISTANCE_UNIT);
      const p = [gx - d[0]!, gy - d[1]!, gx + d[2]!, gy + d[3]!];
      const q = [0, 1, 2, 3].map((i) => t[tb + (C + i) * plane + k]!);
      const iw = Math.max(Math.min(p[2]!, q[2]!) - Math.max(p[0]!, q[0]!), 0);
      const ih = Math.max(Math.min(p[3]!, q[3]!) - Math.max(p[1]!, q[1]!), 0);
      const inter = iw * ih;
      const union = Math.max((p[2]! - p[0]!) * (p[3]! - p[1]!) + (q[2]! - q[0]!) * (q[3]! - q[1]!) - inter, 1e-6);
      const enclose = Math.max((Math.max(p[2]!, q[2]!) - Math.min(p[0]!, q[0]!)) * (Math.max(p[3]!, q[3]!) - Math.min(p[1]!, q[1]!)), 1e-6);
      giouSum += wt * (1 - (inter / union - (enclose - union) / enclose));
      weights += wt;
    }
  }
  return -(pos + neg) / Math.max(objects, 1) + boxWeight * (giouSum / (weights + 1e-4));
}

test('loss: equals a plain-JS reference of the focal and GIoU terms, and its gradient equals finite differences', async () => {
  await noLeaks(() => {
    dl.manualSeed(3);
    const targets = dl.encodeTargets(BOXES, LABELS, { classes: C, mapSize: MAP, stride: STRIDE });
    const out = dl.tidy(() => dl.randn([2, C + 4, ...MAP]).mul(1.5).add(0.5));
    const loss = dl.detectorLoss(C, STRIDE, { boxWeight: 3 });
    const got = dl.tidy(() => loss(out, targets).item());
    const want = referenceLoss(out.dataSync() as Float32Array, targets.dataSync() as Float32Array, 2, MAP[0], MAP[1], 3);
    assertClose([got], [want], { rtol: 1e-4 });
    // Gradients in float64 through the library's gradcheck (central differences).
    const x = dl.tidy(() => out.double().requiresGrad_(true));
    const t64 = dl.tidy(() => targets.double());
    const r = dl.gradcheck((o: dl.Tensor) => loss(o, t64), [x], { atol: 1e-5, rtol: 1e-3 });
    assert.equal(r.elements, 2 * (C + 4) * MAP[0] * MAP[1]);
    dl.dispose([targets, out, x, t64]);
  });
});

test('a detector from scratch: output [classes + 4, H/4, W/4], summary, the heatmap bias at the prior; options checked', async () => {
  await noLeaks(() => {
    const det = dl.Detector.create({ classes: ['cat', 'dog', 'bird'], inputSize: [64, 96], width: 8 });
    assert.deepEqual(det.network.outputShape, [7, 16, 24]);
    assert.equal(det.config.stride, 4);
    assert.match(det.network.summary(), /head\.out/);
    const bias = det.network.stateDict()['head.out.bias']!.dataSync() as Float32Array;
    assertClose([...bias.subarray(0, 3)], [Math.log(0.1 / 0.9), Math.log(0.1 / 0.9), Math.log(0.1 / 0.9)], { atol: 1e-6 });
    det.dispose();
    assert.throws(() => dl.Detector.create({ classes: ['a'], inputSize: [60, 64] }), /option 'inputSize' must be \[height, width\], whole multiples of 32, got \[60, 64\]/);
    assert.throws(() => dl.Detector.create({ classes: ['a', 'a'] }), /option 'classes' must be distinct class names/);
    // A failed create leaves the backbone to its owner.
    const backbone = dl.cifarResNet({ depth: 20 });
    assert.throws(() => dl.Detector.create({ classes: ['a'], backbone }), /option 'featureLayer' is needed with 'backbone'/);
    backbone.dispose();
  });
});

test('a detector on a backbone: cut after the feature layer, input resized, its weights kept; saved and loaded it detects the same', async () => {
  await noLeaks(async () => {
    dl.manualSeed(1);
    const backbone = dl.cifarResNet({ depth: 20 });
    const before = backbone.stateDict()['layer2.0.conv1.weight']!.dataSync().slice();
    const other = dl.cifarResNet({ depth: 20 });
    assert.throws(() => dl.Detector.create({ classes: ['a'], backbone: other, featureLayer: 'nope' }), /nope/);
    other.dispose();
    const det = dl.Detector.create({ classes: ['ant', 'bee'], backbone, featureLayer: 'layer3.2.relu2', inputSize: [64, 64] });
    // layer3 of a CIFAR ResNet is at stride 4: no upsampling needed, the head goes straight on.
    assert.deepEqual(det.network.outputShape, [6, 16, 16]);
    assert.ok(!det.network.layers.some((l) => l.name === 'linear' || l.name === 'avgpool'), 'the classifier is gone');
    assert.deepEqual([...det.network.stateDict()['layer2.0.conv1.weight']!.dataSync()], [...before]);
    const x = dl.tidy(() => dl.rand([2, 3, 64, 64]).mul(255));
    const a = det.detectBatch(x, { threshold: 0 });
    const file = path.join(tmp, 'det.safetensors');
    await det.save(file);
    const loaded = await dl.Detector.load(file);
    assert.deepEqual(loaded.config, det.config);
    const b = loaded.detectBatch(x, { threshold: 0 });
    for (let i = 0; i < 2; i++) {
      assert.deepEqual([...b[i]!.labels], [...a[i]!.labels]);
      assertClose(b[i]!.boxes, a[i]!.boxes, { atol: 1e-3 });
    }
    const small = dl.zeros([1, 3, 32, 32]);
    assert.throws(() => det.detectBatch(small), /images must be \[N, 3, 64, 64\] at the detector's input size, got \[1, 3, 32, 32\]/);
    small.dispose();
    // A classifier's file is not a detector.
    const classifier = path.join(tmp, 'classifier.safetensors');
    const net = dl.cifarResNet({ depth: 20 });
    await dl.saveModel(net, classifier);
    net.dispose();
    await assert.rejects(dl.Detector.load(classifier), new RegExp(`${classifier.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: not a detector`));
    dl.dispose([x]);
    det.dispose();
    loaded.dispose();
  });
});

test('suggestDetectorInputSize: the images\' median aspect ratio, the longer side 320 at most, multiples of 32', () => {
  const of = (w: number, h: number, n = 3) => ({ images: Array.from({ length: n }, () => ({ width: w, height: h })) });
  assert.deepEqual(dl.suggestDetectorInputSize(of(640, 480)), [256, 320]);
  assert.deepEqual(dl.suggestDetectorInputSize(of(480, 640)), [320, 256]);
  assert.deepEqual(dl.suggestDetectorInputSize(of(128, 96)), [96, 128]);
  assert.deepEqual(dl.suggestDetectorInputSize(of(1920, 1080)), [192, 320]);
});
