// Average precision for object detection, as the two reference evaluators compute it:
//   the PASCAL VOC devkit (VOC2010+): AP at IoU 0.5 by all-point interpolation (the area under the
//     precision envelope), or the VOC2007 11-point variant;
//   pycocotools (COCO): AP by 101-point interpolation, averaged over IoU 0.50:0.05:0.95.
// Per class, the detections of all images are ranked by score (ties keep image order, then
// input order, as both evaluators' stable sorts do) and each is matched within its image to a
// truth of its class with IoU ≥ the threshold. A class with no truth has no AP (NaN) and is left
// out of the means, as in both evaluators.

export interface Detection {
  /** k×4 flat x1,y1,x2,y2 rows. */
  boxes: Float32Array;
  scores: Float32Array;
  /** Class indices into `classes`. */
  labels: Int32Array;
}

export interface GroundTruth {
  boxes: Float32Array;
  labels: Int32Array;
  /** 1 for a VOC "difficult" object: neither counted as a truth nor a miss, and a detection it takes is ignored. */
  difficult?: Uint8Array;
}

export type ApInterpolation = 'voc-all-point' | 'voc-11-point' | 'coco-101';

export interface DetectionEvaluationOptions {
  classes: readonly string[];
  /** IoU thresholds averaged into `mAP` (default COCO's 0.50:0.05:0.95). */
  iouThresholds?: readonly number[];
  /**
   * The interpolation of every AP. Default: VOC all-point for `mAP50`/`ap50` (the "VOC" number),
   * COCO 101-point for `mAP`, `mAP75`, `mAPAt` and the per-class `ap`, `ap75`, `apAt` (the "COCO" numbers).
   */
  interpolation?: ApInterpolation;
  /**
   * 'greedy' (default, pycocotools): a detection takes the highest-IoU truth not yet taken.
   * 'voc' (VOC devkit): a detection looks only at its highest-IoU truth and is a false positive
   * when that truth is already taken.
   */
  matching?: 'greedy' | 'voc';
  /** Boxes are inclusive pixel indices: width = x2 - x1 + 1 (the VOC devkit's convention). Default false (continuous coordinates, as COCO and torchvision). */
  pixelInclusive?: boolean;
  /** Keep at most this many highest-scoring detections per image and class (COCO: 100). Default: all. */
  maxDetections?: number;
}

export interface ClassDetectionEvaluation {
  class: string;
  /** AP at IoU 0.5 (default VOC all-point). NaN when the class has no truth. */
  ap50: number;
  /** AP at IoU 0.75 (default COCO 101-point). */
  ap75: number;
  /** Mean AP over `iouThresholds` (default COCO 101-point). */
  ap: number;
  /** AP at each of `iouThresholds`. */
  apAt: Float64Array;
  /** Truths of this class (difficult ones not counted). */
  truths: number;
  /** Detections of this class that were scored (difficult matches, and those beyond maxDetections, left out). */
  detections: number;
  /** At IoU 0.5, after each detection in score order. */
  precision: Float64Array;
  recall: Float64Array;
  /** The scores, in that order. */
  scores: Float64Array;
}

export interface DetectionEvaluation {
  classes: string[];
  iouThresholds: number[];
  /** Interpolation used for the IoU-0.5 numbers and for the rest. */
  interpolation: { ap50: ApInterpolation; ap: ApInterpolation };
  /** Mean of `ap50` over classes with truths (default: the VOC mAP@0.5). */
  mAP50: number;
  /** Mean of `ap75` over classes with truths. */
  mAP75: number;
  /** Mean over classes with truths of their mean AP over `iouThresholds` (default: COCO mAP@[.5:.95]). */
  mAP: number;
  /** mAP at each of `iouThresholds` (with the default, mAPAt[0] is COCO's AP50). */
  mAPAt: Float64Array;
  /** Classes that had truths (those in the means). */
  evaluatedClasses: string[];
  perClass: ClassDetectionEvaluation[];
}

/** COCO's thresholds, as pycocotools builds them (np.linspace(.5, .95, 10)). */
export const COCO_IOU_THRESHOLDS: readonly number[] = Object.freeze(Array.from({ length: 10 }, (_, i) => (i === 9 ? 0.95 : 0.5 + i * (0.45 / 9))));

const INTERPOLATIONS: readonly ApInterpolation[] = ['voc-all-point', 'voc-11-point', 'coco-101'];

/** AP from a precision/recall sequence (detections in score order). */
export function averagePrecision(precision: ArrayLike<number>, recall: ArrayLike<number>, interpolation: ApInterpolation): number {
  const n = precision.length;
  if (interpolation === 'voc-all-point') {
    // Area under the envelope: precision made non-increasing from the right, summed where recall steps.
    const env = new Float64Array(n + 2);
    for (let i = 0; i < n; i++) env[i + 1] = precision[i]!;
    for (let i = n; i >= 0; i--) env[i] = Math.max(env[i]!, env[i + 1]!);
    let ap = 0;
    let prev = 0;
    for (let i = 0; i < n; i++) {
      const r = recall[i]!;
      if (r !== prev) ap += (r - prev) * env[i + 1]!;
      prev = r;
    }
    return ap; // the final step to recall 1 has precision 0
  }
  if (interpolation === 'voc-11-point') {
    // Recall levels t × 0.1 as numpy makes them (py-faster-rcnn's voc_eval, the published worked
    // examples): 6 × 0.1 is 0.6000000000000001, so a recall of exactly 0.6 does not reach that level.
    let sum = 0;
    for (let t = 0; t <= 10; t++) {
      const r = t * 0.1;
      let best = 0;
      for (let i = 0; i < n; i++) if (recall[i]! >= r && precision[i]! > best) best = precision[i]!;
      sum += best;
    }
    return sum / 11;
  }
  if (interpolation === 'coco-101') {
    const env = Float64Array.from(precision as ArrayLike<number>);
    for (let i = n - 1; i > 0; i--) if (env[i]! > env[i - 1]!) env[i - 1] = env[i]!;
    let sum = 0;
    let i = 0;
    for (let t = 0; t <= 100; t++) {
      const r = t === 100 ? 1 : t * 0.01; // pycocotools' np.linspace(0, 1, 101)
      while (i < n && recall[i]! < r) i++;
      if (i < n) sum += env[i]!;
    }
    return sum / 101;
  }
  throw new RangeError(`averagePrecision: interpolation must be one of ${INTERPOLATIONS.join(', ')}, got ${String(interpolation)}`);
}

interface Checked {
  boxes: Float32Array;
  labels: Int32Array;
  count: number;
}

function checkSet(kind: string, i: number, set: { boxes: Float32Array; labels: Int32Array }, classCount: number, classes: readonly string[]): Checked {
  const where = `evaluateDetections: ${kind}[${i}]`;
  if (!set || !(set.boxes instanceof Float32Array)) throw new TypeError(`${where}.boxes must be a Float32Array of x1,y1,x2,y2 rows`);
  if (!(set.labels instanceof Int32Array)) throw new TypeError(`${where}.labels must be an Int32Array`);
  if (set.boxes.length % 4 !== 0) throw new RangeError(`${where}.boxes holds ${set.boxes.length} numbers, not a multiple of 4`);
  const count = set.boxes.length / 4;
  if (set.labels.length !== count) throw new RangeError(`${where}.labels has ${set.labels.length} values for ${count} boxes`);
  for (let j = 0; j < count; j++) {
    const l = set.labels[j]!;
    if (l < 0 || l >= classCount) throw new RangeError(`${where}.labels[${j}] is ${l}, outside the ${classCount} classes (${classes.join(', ')})`);
  }
  return { boxes: set.boxes, labels: set.labels, count };
}

function iou(a: Float32Array, i: number, b: Float32Array, j: number, one: number): number {
  const w = Math.min(a[4 * i + 2]!, b[4 * j + 2]!) - Math.max(a[4 * i]!, b[4 * j]!) + one;
  const h = Math.min(a[4 * i + 3]!, b[4 * j + 3]!) - Math.max(a[4 * i + 1]!, b[4 * j + 1]!) + one;
  if (w <= 0 || h <= 0) return 0;
  const inter = w * h;
  const areaA = (a[4 * i + 2]! - a[4 * i]! + one) * (a[4 * i + 3]! - a[4 * i + 1]! + one);
  const areaB = (b[4 * j + 2]! - b[4 * j]! + one) * (b[4 * j + 3]! - b[4 * j + 1]! + one);
  return inter / (areaA + areaB - inter);
}

const TP = 1;
const FP = 0;
const IGNORED = 2;

/**
 * Scores detections against ground truth: per-class AP at every IoU threshold, mAP@0.5 (VOC),
 * mAP@0.75 and mAP@[.5:.95] (COCO). `detections[i]` and `truths[i]` belong to the same image.
 */
export function evaluateDetections(detections: readonly Detection[], truths: readonly GroundTruth[], options: DetectionEvaluationOptions): DetectionEvaluation {
  const known = new Set(['classes', 'iouThresholds', 'interpolation', 'matching', 'pixelInclusive', 'maxDetections']);
  for (const k of Object.keys(options ?? {})) if (!known.has(k)) throw new RangeError(`evaluateDetections: unknown option '${k}' (known: ${[...known].join(', ')})`);
  const classes = options?.classes;
  if (!Array.isArray(classes) || classes.length === 0 || !classes.every((c) => typeof c === 'string')) throw new TypeError('evaluateDetections: options.classes must be a non-empty array of class names');
  if (!Array.isArray(detections) || !Array.isArray(truths)) throw new TypeError('evaluateDetections: detections and truths must be arrays (one entry per image)');
  if (detections.length !== truths.length) throw new RangeError(`evaluateDetections: ${detections.length} detection sets for ${truths.length} ground-truth sets (one each per image)`);
  const thresholds = [...(options.iouThresholds ?? COCO_IOU_THRESHOLDS)];
  if (thresholds.length === 0 || !thresholds.every((t) => typeof t === 'number' && t >= 0 && t <= 1)) {
    throw new RangeError(`evaluateDetections: iouThresholds must be a non-empty list of numbers in [0, 1], got [${thresholds.join(', ')}]`);
  }
  const { interpolation, matching = 'greedy', pixelInclusive = false, maxDetections = Infinity } = options;
  if (interpolation !== undefined && !INTERPOLATIONS.includes(interpolation)) throw new RangeError(`evaluateDetections: interpolation must be one of ${INTERPOLATIONS.join(', ')}, got '${String(interpolation)}'`);
  if (matching !== 'greedy' && matching !== 'voc') throw new RangeError(`evaluateDetections: matching must be 'greedy' or 'voc', got '${String(matching)}'`);
  if (!(maxDetections >= 1)) throw new RangeError(`evaluateDetections: maxDetections must be at least 1, got ${maxDetections}`);
  const interp50 = interpolation ?? 'voc-all-point';
  const interpRest = interpolation ?? 'coco-101';
  const one = pixelInclusive ? 1 : 0;

  // Every threshold to match at: the averaged ones plus 0.5 and 0.75 for the headline numbers.
  const allThresholds = [...new Set([...thresholds, 0.5, 0.75])];
  const at50 = allThresholds.indexOf(0.5);
  const at75 = allThresholds.indexOf(0.75);
  const T = allThresholds.length;
  const C = classes.length;

  const dets = detections.map((d, i) => {
    const c = checkSet('detections', i, d, C, classes);
    if (!(d.scores instanceof Float32Array)) throw new TypeError(`evaluateDetections: detections[${i}].scores must be a Float32Array`);
    if (d.scores.length !== c.count) throw new RangeError(`evaluateDetections: detections[${i}].scores has ${d.scores.length} values for ${c.count} boxes`);
    const bad = d.scores.findIndex((v: number) => Number.isNaN(v));
    if (bad >= 0) throw new RangeError(`evaluateDetections: detections[${i}].scores[${bad}] is NaN (scores rank the detections)`);
    return { ...c, scores: d.scores };
  });
  const gts = truths.map((g, i) => {
    const c = checkSet('truths', i, g, C, classes);
    if (g.difficult !== undefined && !(g.difficult instanceof Uint8Array && g.difficult.length === c.count)) {
      throw new RangeError(`evaluateDetections: truths[${i}].difficult must be a Uint8Array with one value per box (${c.count}), got ${g.difficult instanceof Uint8Array ? g.difficult.length : typeof g.difficult}`);
    }
    return { ...c, difficult: g.difficult };
  });

  // Per class: scores and outcomes (one per threshold) of every detection, images in order.
  const scores: number[][] = Array.from({ length: C }, () => []);
  const outcomes: number[][][] = Array.from({ length: C }, () => Array.from({ length: T }, () => []));
  const truthCount = new Array<number>(C).fill(0);
  for (let img = 0; img < dets.length; img++) {
    const d = dets[img]!;
    const g = gts[img]!;
    for (let j = 0; j < g.count; j++) if (!g.difficult?.[j]) truthCount[g.labels[j]!]!++;
    for (let c = 0; c < C; c++) {
      const dIdx: number[] = [];
      for (let j = 0; j < d.count; j++) if (d.labels[j] === c) dIdx.push(j);
      if (dIdx.length === 0) continue;
      dIdx.sort((a, b) => (d.scores[b]! - d.scores[a]!) || a - b);
      if (dIdx.length > maxDetections) dIdx.length = maxDetections;
      const gIdx: number[] = [];
      for (let j = 0; j < g.count; j++) if (g.labels[j] === c) gIdx.push(j);
      // IoU of each detection (rows) with each truth of the class (columns).
      const ious = new Float64Array(dIdx.length * gIdx.length);
      for (let a = 0; a < dIdx.length; a++) for (let b = 0; b < gIdx.length; b++) ious[a * gIdx.length + b] = iou(d.boxes, dIdx[a]!, g.boxes, gIdx[b]!, one);
      for (const j of dIdx) scores[c]!.push(d.scores[j]!);
      for (let t = 0; t < T; t++) {
        const thr = allThresholds[t]!;
        const taken = new Uint8Array(gIdx.length);
        const out = outcomes[c]![t]!;
        for (let a = 0; a < dIdx.length; a++) {
          const row = a * gIdx.length;
          let outcome = FP;
          if (matching === 'voc') {
            let best = -Infinity;
            let m = -1;
            for (let b = 0; b < gIdx.length; b++) if (ious[row + b]! > best) { best = ious[row + b]!; m = b; }
            if (m >= 0 && best >= thr) {
              if (g.difficult?.[gIdx[m]!]) outcome = IGNORED;
              else if (!taken[m]) { taken[m] = 1; outcome = TP; }
            }
          } else {
            // pycocotools' rule (thresholds capped below 1, later truths win IoU ties); a
            // difficult truth is tried only when no regular one qualifies, and may absorb
            // any number of detections (the VOC rule, as COCO treats crowd regions).
            let best = Math.min(thr, 1 - 1e-10);
            let m = -1;
            for (let b = 0; b < gIdx.length; b++) {
              if (taken[b] || g.difficult?.[gIdx[b]!]) continue;
              if (ious[row + b]! >= best) { best = ious[row + b]!; m = b; }
            }
            if (m >= 0) { taken[m] = 1; outcome = TP; }
            else if (g.difficult) {
              for (let b = 0; b < gIdx.length; b++) if (g.difficult[gIdx[b]!] && ious[row + b]! >= Math.min(thr, 1 - 1e-10)) { outcome = IGNORED; break; }
            }
          }
          out.push(outcome);
        }
      }
    }
  }

  const perClass: ClassDetectionEvaluation[] = [];
  const apAll: Float64Array[] = [];
  for (let c = 0; c < C; c++) {
    const s = scores[c]!;
    const order = Array.from(s.keys()).sort((a, b) => (s[b]! - s[a]!) || a - b);
    const npos = truthCount[c]!;
    const curves: { precision: Float64Array; recall: Float64Array; scores: Float64Array }[] = [];
    for (let t = 0; t < T; t++) {
      const out = outcomes[c]![t]!;
      const kept = order.filter((i) => out[i] !== IGNORED);
      const precision = new Float64Array(kept.length);
      const recall = new Float64Array(kept.length);
      let tp = 0;
      kept.forEach((i, r) => {
        if (out[i] === TP) tp++;
        precision[r] = tp / (r + 1);
        recall[r] = npos ? tp / npos : 0;
      });
      curves.push({ precision, recall, scores: Float64Array.from(kept, (i) => s[i]!) });
    }
    const ap = (t: number, how: ApInterpolation) => (npos ? averagePrecision(curves[t]!.precision, curves[t]!.recall, how) : NaN);
    const apAt = Float64Array.from(thresholds, (thr) => ap(allThresholds.indexOf(thr), interpRest));
    apAll.push(apAt);
    perClass.push({
      class: classes[c]!,
      ap50: ap(at50, interp50),
      ap75: ap(at75, interpRest),
      ap: npos ? apAt.reduce((a, b) => a + b, 0) / apAt.length : NaN,
      apAt,
      truths: npos,
      detections: curves[at50]!.precision.length,
      precision: curves[at50]!.precision,
      recall: curves[at50]!.recall,
      scores: curves[at50]!.scores,
    });
  }
  const evaluated = perClass.filter((p) => p.truths > 0);
  const mean = (f: (p: ClassDetectionEvaluation) => number) => (evaluated.length ? evaluated.reduce((a, p) => a + f(p), 0) / evaluated.length : NaN);
  return {
    classes: [...classes],
    iouThresholds: thresholds,
    interpolation: { ap50: interp50, ap: interpRest },
    mAP50: mean((p) => p.ap50),
    mAP75: mean((p) => p.ap75),
    mAP: mean((p) => p.ap),
    mAPAt: Float64Array.from(thresholds, (_, t) => mean((p) => p.apAt[t]!)),
    evaluatedClasses: evaluated.map((p) => p.class),
    perClass,
  };
}

/** A plain-text report: the headline numbers, then AP per class. */
export function formatDetectionEvaluation(e: DetectionEvaluation): string {
  const w = Math.max(5, ...e.classes.map((c) => c.length));
  const f = (v: number) => (Number.isNaN(v) ? '   -  ' : v.toFixed(4));
  const rows = e.perClass.map((p) => `${p.class.padEnd(w)}  ${f(p.ap50)}  ${f(p.ap75)}  ${f(p.ap)}  ${String(p.truths).padStart(6)}  ${String(p.detections).padStart(10)}`);
  const thr = e.iouThresholds.length > 1 ? `[${e.iouThresholds[0]!.toFixed(2)}:${e.iouThresholds.at(-1)!.toFixed(2)}]` : e.iouThresholds[0]!.toFixed(2);
  return [
    `mAP@0.5 ${f(e.mAP50)} (${e.interpolation.ap50})   mAP@0.75 ${f(e.mAP75)}   mAP@${thr} ${f(e.mAP)} (${e.interpolation.ap})`,
    e.evaluatedClasses.length < e.classes.length ? `(classes without truth, left out of the means: ${e.perClass.filter((p) => !p.truths).map((p) => p.class).join(', ')})` : '',
    `${'class'.padEnd(w)}  AP50    AP75    AP      truths  detections`,
    ...rows,
  ].filter((l) => l !== '').join('\n');
}
