// From the detector's output map to boxes: heatmap peaks (a cell at least as high as its 3x3
// neighbourhood: CenterNet's stand-in for NMS), the top K over all classes, and the box each
// peak's cell regresses (its distances to the four sides). Boxes come back in input pixels; the
// caller scales them to the image.
import type { Tensor } from '../../tensor/tensor.js';
import { tidy } from '../../tensor/memory.js';
import { noGrad } from '../../tensor/autograd.js';
import * as F from '../../nn/functional/index.js';
import { REGRESSION_CHANNELS } from './centernet.js';
import { predictedBoxes } from './loss.js';
import type { Detection } from './metrics.js';

export interface DecodeDetectionsOptions {
  /** Peaks kept per image before the score threshold (default 100). */
  maxDetections?: number;
  /** Lowest score kept (default 0.05: what mAP needs; raise it for pictures). */
  scoreThreshold?: number;
}

/** Decodes [N, C+4, h, w] into N detections, boxes in input pixels. */
export function decodeDetections(output: Tensor, classes: number, stride: number, { maxDetections = 100, scoreThreshold = 0.05 }: DecodeDetectionsOptions = {}): Detection[] {
  const [n, channels, h, w] = output.shape as [number, number, number, number];
  if (output.ndim !== 4 || channels !== classes + REGRESSION_CHANNELS) {
    throw new RangeError(`decodeDetections: expected an output [N, ${classes + REGRESSION_CHANNELS}, h, w] for ${classes} classes, got [${output.shape.join(', ')}]`);
  }
  const k = Math.min(maxDetections, classes * h * w);
  const [scores, index, reg] = tidy(() => noGrad(() => {
    const heat = output.slice(1, 0, classes).float().sigmoid();
    const peaks = heat.mul(F.maxPool2d(heat, 3, { stride: 1, padding: 1 }).eq(heat).float());
    const top = peaks.reshape([n, classes * h * w]).topk(k, { dim: 1 });
    const cell = top.indices.remainder(h * w);
    // The box regressed at each peak's cell: [N, 4, k].
    const r = predictedBoxes(output.slice(1, classes, classes + REGRESSION_CHANNELS).float(), stride).reshape([n, REGRESSION_CHANNELS, h * w])
      .gather(2, cell.unsqueeze(1).expand([n, REGRESSION_CHANNELS, k]));
    return [top.values.dataSync() as Float32Array, top.indices.int().dataSync() as Int32Array, r.dataSync() as Float32Array];
  }));
  const out: Detection[] = [];
  for (let b = 0; b < n; b++) {
    const keep: number[] = [];
    for (let j = 0; j < k; j++) if (scores[b * k + j]! >= scoreThreshold) keep.push(j);
    const boxes = new Float32Array(keep.length * 4);
    const s = new Float32Array(keep.length);
    const labels = new Int32Array(keep.length);
    keep.forEach((j, i) => {
      const idx = index[b * k + j]!;
      for (let c = 0; c < 4; c++) boxes[i * 4 + c] = reg[(b * REGRESSION_CHANNELS + c) * k + j]!;
      s[i] = scores[b * k + j]!;
      labels[i] = Math.floor(idx / (h * w));
    });
    out.push({ boxes, scores: s, labels });
  }
  return out;
}
