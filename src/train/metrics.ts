// Evaluation: accuracy, per-class precision/recall, the confusion matrix (drawn), and a grid of
// misclassified examples (drawn).
import sharp from 'sharp';
import type { Tensor } from '../tensor/tensor.js';
import { tidy } from '../tensor/memory.js';
import type { Network } from '../nn/network.js';
import type { Datastore } from '../data/datastore.js';
import { classify } from './inference.js';
import { confusionOption, savePng, saveHtml } from './charts.js';
import { writeFileAtomic } from './files.js';

export interface ClassMetrics {
  class: string;
  precision: number;
  recall: number;
  f1: number;
  support: number;
}

export interface Evaluation {
  accuracy: number;
  classes: string[];
  /** confusion[true][predicted] */
  confusion: number[][];
  perClass: ClassMetrics[];
  /** Predicted and true class index per observation. */
  predicted: Int32Array;
  actual: Int32Array;
  /** Probability of the predicted class per observation. */
  confidence: Float32Array;
}

/** Scores predictions against true labels. */
export function scorePredictions(predicted: Int32Array, actual: Int32Array, classes: readonly string[], confidence = new Float32Array(predicted.length)): Evaluation {
  if (predicted.length !== actual.length) throw new RangeError(`scorePredictions: ${predicted.length} predictions for ${actual.length} labels`);
  const k = classes.length;
  const confusion = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  let correct = 0;
  for (let i = 0; i < predicted.length; i++) {
    const a = actual[i]!;
    const p = predicted[i]!;
    if (a < 0 || a >= k) throw new RangeError(`label ${a} of observation ${i} is outside the ${k} classes`);
    if (p < 0 || p >= k) throw new RangeError(`prediction ${p} of observation ${i} is outside the ${k} classes`);
    confusion[a]![p]!++;
    if (a === p) correct++;
  }
  const perClass = classes.map((name, c) => {
    const tp = confusion[c]![c]!;
    const support = confusion[c]!.reduce((s, v) => s + v, 0);
    const predictedC = confusion.reduce((s, row) => s + row[c]!, 0);
    const precision = predictedC ? tp / predictedC : 0;
    const recall = support ? tp / support : 0;
    const f1 = precision + recall ? (2 * precision * recall) / (precision + recall) : 0;
    return { class: name, precision, recall, f1, support };
  });
  return { accuracy: predicted.length ? correct / predicted.length : 0, classes: [...classes], confusion, perClass, predicted, actual, confidence };
}

/** Classifies a labeled datastore and scores the result. */
export async function evaluate(network: Network, data: Datastore, options: { miniBatchSize?: number } = {}): Promise<Evaluation> {
  const actual = data.labels();
  if (!actual) throw new TypeError(`evaluate: ${data.source} has no labels`);
  const classes = network.classes ?? data.classes;
  if (!classes) throw new TypeError('evaluate: neither the network nor the data names its classes');
  if (data.classes && network.classes && data.classes.join('\u0000') !== network.classes.join('\u0000')) {
    throw new RangeError(`evaluate: the data's classes (${data.classes.join(', ')}) differ from the network's (${network.classes.join(', ')})`);
  }
  const { indices, scores } = await classify(network, data, options);
  const confidence = Float32Array.from(tidy(() => scores.max(1).values.dataSync() as Float32Array));
  scores.dispose();
  return scorePredictions(indices, actual, classes, confidence);
}

/** A plain-text report: accuracy and the per-class table. */
export function formatEvaluation(e: Evaluation): string {
  const w = Math.max(5, ...e.classes.map((c) => c.length));
  const rows = e.perClass.map((m) => `${m.class.padEnd(w)}  ${m.precision.toFixed(4)}     ${m.recall.toFixed(4)}  ${m.f1.toFixed(4)}  ${String(m.support).padStart(7)}`);
  return [`accuracy: ${e.accuracy.toFixed(4)}`, '', `${'class'.padEnd(w)}  precision  recall  f1      support`, ...rows].join('\n');
}

/** Saves the confusion matrix as `<base>.png` and `<base>.html`. */
export async function saveConfusionChart(e: Evaluation, base: string, title = `Confusion matrix (accuracy ${(e.accuracy * 100).toFixed(2)}%)`): Promise<string[]> {
  const option = confusionOption(e.classes, e.confusion, title);
  const size = Math.max(600, 90 + e.classes.length * 55);
  await savePng(option, `${base}.png`, size + 140, size);
  await saveHtml(option, title, `${base}.html`);
  return [`${base}.png`, `${base}.html`];
}

/**
 * A grid of misclassified examples (most confident mistakes first), each captioned
 * "true → predicted (confidence)". `images` yields [C, H, W] raw 0–255 pixels per observation.
 */
export async function saveMisclassifiedGrid(e: Evaluation, images: (index: number) => Promise<Tensor> | Tensor, file: string, { max = 36, cell = 128 } = {}): Promise<number> {
  const wrong = Array.from(e.predicted.keys()).filter((i) => e.predicted[i] !== e.actual[i]);
  wrong.sort((a, b) => e.confidence[b]! - e.confidence[a]!);
  const shown = wrong.slice(0, max);
  const cols = Math.max(1, Math.min(6, shown.length));
  const rows = Math.max(1, Math.ceil(shown.length / cols));
  const caption = 30;
  const gap = 8;
  const tiles: sharp.OverlayOptions[] = [];
  for (let k = 0; k < shown.length; k++) {
    const i = shown[k]!;
    const img = await images(i);
    const [c, h, w] = img.shape as [number, number, number];
    const pixels = tidy(() => img.clamp(0, 255).permute(1, 2, 0).contiguous().to('uint8').dataSync() as Uint8Array);
    img.dispose();
    const tile = await sharp(Buffer.from(pixels), { raw: { width: w, height: h, channels: c as 1 | 3 | 4 } })
      .resize(cell, cell, { fit: 'contain', kernel: 'nearest', background: '#ffffff' }).png().toBuffer();
    const x = (k % cols) * (cell + gap);
    const y = Math.floor(k / cols) * (cell + caption + gap);
    tiles.push({ input: tile, left: x, top: y });
    const esc = (s: string) => s.replace(/[&<>]/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;' })[ch]!);
    const truth = `true: ${esc(e.classes[e.actual[i]!]!)}`;
    const guess = `predicted: ${esc(e.classes[e.predicted[i]!]!)} (${(e.confidence[i]! * 100).toFixed(0)}%)`;
    const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${cell}" height="${caption}"><rect width="100%" height="100%" fill="#fff"/>`
      + `<text x="${cell / 2}" y="12" font-size="10" font-family="sans-serif" text-anchor="middle" fill="#222">${truth}</text>`
      + `<text x="${cell / 2}" y="25" font-size="9" font-family="sans-serif" text-anchor="middle" fill="#b00">${guess}</text></svg>`;
    tiles.push({ input: Buffer.from(svg), left: x, top: y + cell });
  }
  const png = await sharp({ create: { width: cols * (cell + gap) - gap, height: rows * (cell + caption + gap) - gap, channels: 3, background: '#ffffff' } })
    .composite(tiles).png().toBuffer();
  await writeFileAtomic(file, png);
  return shown.length;
}
