// Detector training targets: each image's boxes drawn into one dense tensor the loss reads,
// in the manner of TTFNet ("Training-Time-Friendly Network", Liu et al. 2020), which trains a
// CenterNet-style detector several times faster than CenterNet's own targets: the centre peak as
// CenterNet, but boxes regressed from every cell near the centre, not only the centre cell.
//
// Channels per output cell, in this order:
//   [0, C)        heatmap: a Gaussian around each box centre, peak exactly 1 at the centre cell,
//                 overlapping Gaussians of one class merged by maximum. Its spread follows the
//                 box's own sides (sigma = alpha * side / 6, alpha 0.54), so long thin boxes get
//                 long thin peaks;
//   C … C+3       the box (x1, y1, x2, y2, input pixels) that the cell regresses;
//   C+4           the cell's regression weight: 0 outside every box's central region (the box
//                 shrunk to beta = 0.54 of its sides); inside, the Gaussian's value there, scaled
//                 so each box's weights sum to log(its area): large boxes count more than small
//                 ones, but not in proportion to their area. Where central regions overlap, the
//                 smaller box owns the cell.
import { tensor } from '../../tensor/create.js';
import type { Tensor } from '../../tensor/tensor.js';

/** Target channels beyond the classes: the box (4) and the regression weight. */
export const TARGET_EXTRA_CHANNELS = 5;

const GAUSSIAN_ALPHA = 0.54;
const REGRESSION_BETA = 0.54;

export interface TargetSpec {
  classes: number;
  /** Output map size [h, w] (input size / stride). */
  mapSize: readonly [number, number];
  stride: number;
}

/** The input-pixel position a cell regresses from: its centre. */
export const cellCentre = (index: number, stride: number): number => (index + 0.5) * stride;

/**
 * Encodes one batch's boxes (per image: k*4 x1,y1,x2,y2 in input pixels, and k labels) into
 * float32 [N, classes + 5, h, w]. Boxes smaller than a tenth of a cell are left out.
 */
export function encodeTargets(boxes: readonly Float32Array[], labels: readonly Int32Array[], spec: TargetSpec): Tensor {
  const { classes: C, mapSize: [h, w], stride } = spec;
  const channels = C + TARGET_EXTRA_CHANNELS;
  const plane = h * w;
  const out = new Float32Array(boxes.length * channels * plane);
  const gauss = new Float32Array(plane);
  for (let n = 0; n < boxes.length; n++) {
    const b = boxes[n]!;
    const l = labels[n]!;
    const base = n * channels * plane;
    // Largest first, so that smaller boxes overwrite the cells they share.
    const order = [...l.keys()].sort((i, j) => area(b, j) - area(b, i));
    for (const i of order) {
      const c = l[i]!;
      if (c < 0 || c >= C) throw new RangeError(`encodeTargets: image ${n} box ${i} has class index ${c}, expected 0…${C - 1}`);
      const [x1, y1, x2, y2] = [b[i * 4]!, b[i * 4 + 1]!, b[i * 4 + 2]!, b[i * 4 + 3]!];
      const bw = (x2 - x1) / stride;
      const bh = (y2 - y1) / stride;
      if (!(bw > 0.1 && bh > 0.1)) continue;
      const cx = (x1 + x2) / 2 / stride;
      const cy = (y1 + y2) / 2 / stride;
      const ix = Math.min(w - 1, Math.max(0, Math.floor(cx)));
      const iy = Math.min(h - 1, Math.max(0, Math.floor(cy)));
      const sx = Math.max((GAUSSIAN_ALPHA * bw) / 6, 0.3);
      const sy = Math.max((GAUSSIAN_ALPHA * bh) / 6, 0.3);
      gauss.fill(0);
      drawGaussian(gauss, 0, w, h, ix, iy, sx, sy);
      const heat = base + c * plane;
      for (let k = 0; k < plane; k++) if (gauss[k]! > out[heat + k]!) out[heat + k] = gauss[k]!;
      // The central region: cells whose centres lie within beta of the box around its centre (at least the centre cell).
      const rx = (REGRESSION_BETA * bw) / 2;
      const ry = (REGRESSION_BETA * bh) / 2;
      const cells: number[] = [];
      let sum = 0;
      for (let y = Math.max(0, Math.floor(cy - ry)); y <= Math.min(h - 1, Math.floor(cy + ry)); y++) {
        for (let x = Math.max(0, Math.floor(cx - rx)); x <= Math.min(w - 1, Math.floor(cx + rx)); x++) {
          if ((Math.abs(x + 0.5 - cx) <= rx && Math.abs(y + 0.5 - cy) <= ry) || (x === ix && y === iy)) {
            cells.push(y * w + x);
            sum += gauss[y * w + x]!;
          }
        }
      }
      const scale = Math.log(Math.max((x2 - x1) * (y2 - y1), 2)) / Math.max(sum, 1e-6);
      for (const k of cells) {
        out[base + C * plane + k] = x1;
        out[base + (C + 1) * plane + k] = y1;
        out[base + (C + 2) * plane + k] = x2;
        out[base + (C + 3) * plane + k] = y2;
        out[base + (C + 4) * plane + k] = gauss[k]! * scale;
      }
    }
  }
  return tensor(out, { shape: [boxes.length, channels, h, w] });
}

function area(b: Float32Array, i: number): number {
  return (b[i * 4 + 2]! - b[i * 4]!) * (b[i * 4 + 3]! - b[i * 4 + 1]!);
}

/** Max-merges exp(-(dx²/2sx² + dy²/2sy²)) around (ix, iy) into one heatmap plane; the centre is exactly 1. */
function drawGaussian(heat: Float32Array, offset: number, w: number, h: number, ix: number, iy: number, sx: number, sy: number): void {
  const rx = Math.ceil(3 * sx);
  const ry = Math.ceil(3 * sy);
  for (let y = Math.max(0, iy - ry); y <= Math.min(h - 1, iy + ry); y++) {
    const dy = y - iy;
    for (let x = Math.max(0, ix - rx); x <= Math.min(w - 1, ix + rx); x++) {
      const dx = x - ix;
      const v = dx === 0 && dy === 0 ? 1 : Math.exp(-(dx * dx) / (2 * sx * sx) - (dy * dy) / (2 * sy * sy));
      const k = offset + y * w + x;
      if (v > heat[k]!) heat[k] = v;
    }
  }
}
