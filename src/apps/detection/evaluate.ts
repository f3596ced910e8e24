// A detector measured on box-labeled data: its detections on every image against the image's
// boxes, through the metrics of metrics.ts (VOC all-point AP at IoU 0.5, COCO's 101-point AP over
// IoU 0.5:0.95). Boxes are compared at the detector's input size: IoU is unchanged by scaling each
// axis, so this equals comparing in the files' own pixels, and images skipped as unreadable are
// left out of both sides alike.
import type { BoxDatastore } from '../../data/box-datastore.js';
import type { Detector } from './detector.js';
import { evaluateDetections, type DetectionEvaluation, type Detection, type GroundTruth } from './metrics.js';

export interface EvaluateDetectorOptions {
  /** Lowest score kept (default 0.01: low, so the precision-recall curve reaches high recall). */
  threshold?: number;
  /** Images per forward pass (default 8). */
  batchSize?: number;
  /** Called after each batch with the images done and the total. */
  onProgress?: (done: number, total: number) => void;
}

export interface DetectorEvaluation extends DetectionEvaluation {
  /** Images evaluated. */
  images: number;
  /** Images per second of detection (forward pass and decoding; decoding the files excluded). */
  imagesPerSecond: number;
}

export async function evaluateDetector(detector: Detector, data: BoxDatastore, options: EvaluateDetectorOptions = {}): Promise<DetectorEvaluation> {
  const { threshold = 0.01, batchSize = 8, onProgress } = options;
  const want = detector.classes.join('\u0000');
  if (data.classes.join('\u0000') !== want) {
    throw new RangeError(`evaluateDetector: the data's classes (${data.classes.join(', ')}) differ from the detector's (${detector.classes.join(', ')})`);
  }
  const detections: Detection[] = [];
  const truths: GroundTruth[] = [];
  let seconds = 0;
  for await (const b of data.batches({ batchSize, size: detector.inputSize })) {
    const t0 = performance.now();
    try {
      detections.push(...detector.detectBatch(b.x, { threshold }));
    } finally {
      b.x.dispose();
    }
    seconds += (performance.now() - t0) / 1000;
    b.boxes.forEach((boxes, i) => truths.push({ boxes, labels: b.labels[i]!, difficult: b.difficult[i]! }));
    onProgress?.(truths.length, data.size);
  }
  const e = evaluateDetections(detections, truths, { classes: [...detector.classes] });
  return { ...e, images: truths.length, imagesPerSecond: truths.length / Math.max(seconds, 1e-9) };
}
