// Object-detection ops: NonMaxSuppression, RoiAlign and GridSample.
// Specs: https://onnx.ai/onnx/operators/onnx__NonMaxSuppression.html, onnx__RoiAlign.html,
// onnx__GridSample.html; the exact arithmetic follows the ONNX reference implementations
// (onnx/reference/ops/op_non_max_suppression.py, op_roi_align.py), which follow onnxruntime's.
import type { Tensor } from '../../../tensor/tensor.js';
import { tensor } from '../../../tensor/create.js';
import { dtypeCode } from '../../../tensor/dtype.js';
import { defineOp, attrInt, attrFloat, attrString } from './registry.js';
import { op, need, int64 } from './util.js';

const f32 = Math.fround;

/**
 * Whether two boxes overlap by more than `threshold` (IoU), in float32 as the reference computes it.
 * Corner boxes are [y1, x1, y2, x2] with the corners in either order; center boxes [xc, yc, w, h].
 */
function suppresses(b: ArrayLike<number>, i: number, j: number, centerBox: boolean, threshold: number): boolean {
  const p = i * 4, q = j * 4;
  let ax0: number, ax1: number, ay0: number, ay1: number, bx0: number, bx1: number, by0: number, by1: number;
  if (!centerBox) {
    ax0 = Math.min(b[p + 1]!, b[p + 3]!); ax1 = Math.max(b[p + 1]!, b[p + 3]!);
    ay0 = Math.min(b[p]!, b[p + 2]!); ay1 = Math.max(b[p]!, b[p + 2]!);
    bx0 = Math.min(b[q + 1]!, b[q + 3]!); bx1 = Math.max(b[q + 1]!, b[q + 3]!);
    by0 = Math.min(b[q]!, b[q + 2]!); by1 = Math.max(b[q]!, b[q + 2]!);
  } else {
    const aw = f32(b[p + 2]! / 2), ah = f32(b[p + 3]! / 2), bw = f32(b[q + 2]! / 2), bh = f32(b[q + 3]! / 2);
    ax0 = f32(b[p]! - aw); ax1 = f32(b[p]! + aw); ay0 = f32(b[p + 1]! - ah); ay1 = f32(b[p + 1]! + ah);
    bx0 = f32(b[q]! - bw); bx1 = f32(b[q]! + bw); by0 = f32(b[q + 1]! - bh); by1 = f32(b[q + 1]! + bh);
  }
  const ix0 = Math.max(ax0, bx0), ix1 = Math.min(ax1, bx1);
  if (ix1 <= ix0) return false;
  const iy0 = Math.max(ay0, by0), iy1 = Math.min(ay1, by1);
  if (iy1 <= iy0) return false;
  const inter = f32(f32(ix1 - ix0) * f32(iy1 - iy0));
  const areaA = f32(f32(ax1 - ax0) * f32(ay1 - ay0));
  const areaB = f32(f32(bx1 - bx0) * f32(by1 - by0));
  const union = f32(f32(areaA + areaB) - inter);
  if (inter <= 0 || areaA <= 0 || areaB <= 0 || union <= 0) return false;
  return f32(inter / union) > threshold;
}

/** The first value of an optional scalar input, or undefined when omitted or empty. */
function optionalScalar(t: Tensor | undefined): number | undefined {
  return t && t.size > 0 ? Number((t.dataSync() as ArrayLike<number | bigint>)[0]) : undefined;
}

defineOp('NonMaxSuppression', {
  // Greedy per batch and class: candidates above score_threshold (when given) in descending score
  // (ties: the lower box index first); a candidate is kept unless its IoU with a kept box exceeds
  // iou_threshold; at most max_output_boxes_per_class (default 0: nothing) per class. Rows are
  // [batch, class, box], by batch, then class, then selection order.
  attributes: ['center_point_box'],
  check: (a) => (![0, 1].includes(attrInt(a, 'center_point_box', 0)) ? `center_point_box must be 0 or 1, got ${a.center_point_box}` : null),
  run: (inputs, a) => {
    const boxes = need(inputs, 0, 'boxes');
    const scores = need(inputs, 1, 'scores');
    if (boxes.ndim !== 3 || boxes.shape[2] !== 4) throw new RangeError(`'boxes' must be [batches, boxes, 4], got [${boxes.shape.join(', ')}]`);
    const [nb, nboxes] = boxes.shape as [number, number];
    if (scores.ndim !== 3 || scores.shape[0] !== nb || scores.shape[2] !== nboxes) {
      throw new RangeError(`'scores' must be [${nb}, classes, ${nboxes}] for boxes [${boxes.shape.join(', ')}], got [${scores.shape.join(', ')}]`);
    }
    const nc = scores.shape[1]!;
    const maxOut = Math.max(optionalScalar(inputs[2]) ?? 0, 0);
    const iouThreshold = f32(optionalScalar(inputs[3]) ?? 0);
    const scoreThreshold = optionalScalar(inputs[4]);
    const centerBox = attrInt(a, 'center_point_box', 0) === 1;
    const B = boxes.to({ dtype: 'float32', device: 'cpu' }).dataSync() as Float32Array;
    const S = scores.to({ dtype: 'float32', device: 'cpu' }).dataSync() as Float32Array;
    const rows: number[] = [];
    for (let b = 0; b < nb; b++) {
      const batchBoxes = B.subarray(b * nboxes * 4, (b + 1) * nboxes * 4);
      for (let c = 0; c < nc; c++) {
        const s = S.subarray((b * nc + c) * nboxes, (b * nc + c + 1) * nboxes);
        const candidates: number[] = [];
        for (let i = 0; i < nboxes; i++) if (scoreThreshold === undefined || s[i]! > f32(scoreThreshold)) candidates.push(i);
        candidates.sort((i, j) => s[j]! - s[i]! || i - j);
        const kept: number[] = [];
        for (const i of candidates) {
          if (kept.length >= maxOut) break;
          if (kept.some((j) => suppresses(batchBoxes, i, j, centerBox, iouThreshold))) continue;
          kept.push(i);
          rows.push(b, c, i);
        }
      }
    }
    const out = int64(rows, [rows.length / 3, 3]);
    return boxes.device === 'cpu' ? out : out.to({ device: boxes.device });
  },
});

/** Bilinear taps of one sampling point: four flat indices into an H×W plane and their weights. */
function bilinearTaps(y: number, x: number, h: number, w: number, pos: number[], wts: number[]): void {
  // Points more than a pixel outside the map contribute nothing; nearer ones clamp to the edge.
  if (y < -1 || y > h || x < -1 || x > w) { pos.push(0, 0, 0, 0); wts.push(0, 0, 0, 0); return; }
  y = Math.max(y, 0); x = Math.max(x, 0);
  let yl = Math.trunc(y), xl = Math.trunc(x), yh: number, xh: number;
  if (yl >= h - 1) { yh = yl = h - 1; y = yl; } else yh = yl + 1;
  if (xl >= w - 1) { xh = xl = w - 1; x = xl; } else xh = xl + 1;
  const ly = y - yl, lx = x - xl, hy = 1 - ly, hx = 1 - lx;
  pos.push(yl * w + xl, yl * w + xh, yh * w + xl, yh * w + xh);
  wts.push(hy * hx, hy * lx, ly * hx, ly * lx);
}

/** At most this many gathered values per chunk of ROIs (the gather is [taps, C]). */
const ROI_CHUNK_VALUES = 1 << 24;

defineOp('RoiAlign', {
  // Each ROI's bins are sampled on a grid (sampling_ratio per side, or ceil(roi size / bins) when
  // 0) with bilinear interpolation; avg averages the samples, max takes the largest single weighted
  // corner value (w * v) over the samples, as onnxruntime and the reference do. The taps and weights
  // are computed here once per ROI; the channels go through one gather and a reduction.
  // Opset 10 has no coordinate_transformation_mode: it is output_half_pixel (no half-pixel shift).
  attributes: ['coordinate_transformation_mode', 'mode', 'output_height', 'output_width', 'sampling_ratio', 'spatial_scale'],
  check: (a, opset) => {
    const mode = attrString(a, 'mode', 'avg');
    if (mode !== 'avg' && mode !== 'max') return `mode '${mode}' is not avg or max`;
    const t = attrString(a, 'coordinate_transformation_mode', opset >= 16 ? 'half_pixel' : 'output_half_pixel');
    if (t !== 'half_pixel' && t !== 'output_half_pixel') return `coordinate_transformation_mode '${t}' is not half_pixel or output_half_pixel`;
    return null;
  },
  run: (inputs, a, ctx) => {
    const X = need(inputs, 0, 'X');
    const rois = need(inputs, 1, 'rois');
    const batchIdx = need(inputs, 2, 'batch_indices');
    if (X.ndim !== 4) throw new RangeError(`'X' must be [N, C, H, W], got [${X.shape.join(', ')}]`);
    const [n, c, h, w] = X.shape as [number, number, number, number];
    const nr = rois.shape[0]!;
    if (rois.ndim !== 2 || rois.shape[1] !== 4) throw new RangeError(`'rois' must be [num_rois, 4], got [${rois.shape.join(', ')}]`);
    if (batchIdx.size !== nr) throw new RangeError(`'batch_indices' has ${batchIdx.size} values for ${nr} rois`);
    const ph = attrInt(a, 'output_height', 1), pw = attrInt(a, 'output_width', 1);
    const ratio = attrInt(a, 'sampling_ratio', 0);
    const scale = attrFloat(a, 'spatial_scale', 1);
    const halfPixel = attrString(a, 'coordinate_transformation_mode', ctx.opset >= 16 ? 'half_pixel' : 'output_half_pixel') === 'half_pixel';
    const max = attrString(a, 'mode', 'avg') === 'max';
    const R = rois.to({ dtype: 'float64', device: 'cpu' }).dataSync() as Float64Array;
    const bi = Array.from(batchIdx.to({ device: 'cpu' }).dataSync() as ArrayLike<number | bigint>, Number);
    for (const b of bi) if (!(b >= 0 && b < n)) throw new RangeError(`batch index ${b} is out of range for a batch of ${n}`);
    // X as [N * H * W, C]: each tap's gather is one row, all channels at once.
    const rowsOf = op<Tensor>('reshape', '', op('permute', '', X, [0, 2, 3, 1]), [n * h * w, c]);
    const bins = ph * pw;
    const outs: Tensor[] = [];
    let start = 0;
    while (start < nr) {
      // Per ROI of this chunk: `grid` samples per bin (padded to the chunk's largest with zero weights).
      const grids: [number, number][] = [];
      const geo: number[][] = [];
      let end = start;
      let taps = 0;
      for (; end < nr; end++) {
        const off = halfPixel ? 0.5 : 0;
        const x0 = R[end * 4]! * scale - off, y0 = R[end * 4 + 1]! * scale - off;
        let rw = R[end * 4 + 2]! * scale - off - x0, rh = R[end * 4 + 3]! * scale - off - y0;
        if (!halfPixel) { rw = Math.max(rw, 1); rh = Math.max(rh, 1); }
        const gh = ratio > 0 ? ratio : Math.ceil(rh / ph), gw = ratio > 0 ? ratio : Math.ceil(rw / pw);
        const t = bins * Math.max(gh * gw, 1) * 4;
        if (end > start && (taps + t) * c > ROI_CHUNK_VALUES) break;
        taps += t;
        grids.push([gh, gw]);
        geo.push([x0, y0, rw / pw, rh / ph]);
      }
      const perBin = Math.max(...grids.map(([gh, gw]) => Math.max(gh * gw, 1))) * 4;
      const pos: number[] = [], wts: number[] = [];
      grids.forEach(([gh, gw], k) => {
        const [x0, y0, bw, bh] = geo[k]!;
        const base = bi[start + k]! * h * w;
        const count = Math.max(gh * gw, 1);
        for (let py = 0; py < ph; py++) {
          for (let px = 0; px < pw; px++) {
            const p0 = pos.length;
            for (let iy = 0; iy < gh; iy++) {
              const yy = y0 + py * bh + ((iy + 0.5) * bh) / gh;
              for (let ix = 0; ix < gw; ix++) bilinearTaps(yy, x0 + px * bw + ((ix + 0.5) * bw) / gw, h, w, pos, wts);
            }
            for (let i = p0; i < pos.length; i++) { pos[i]! += base; if (!max) wts[i]! /= count; }
            // Pads to the chunk's widest grid: for avg a tap of weight 0, for max a copy of the
            // bin's first tap (a bin with no samples is 0 in the reference, as a weight-0 tap gives).
            while (pos.length < p0 + perBin) {
              const copy = max && pos.length > p0;
              pos.push(copy ? pos[p0]! : base);
              wts.push(copy ? wts[p0]! : 0);
            }
          }
        }
      });
      const k = grids.length;
      const idx = int64(pos);
      const wt = tensor(Float64Array.from(wts), { shape: [k * bins * perBin, 1], dtype: X.dtype });
      const dev = (t: Tensor) => (X.device === 'cpu' ? t : t.to({ device: X.device }));
      const vals = op<Tensor>('mul', 'Tensor', op('index_select', '', rowsOf, 0, dev(idx)), dev(wt));
      const grouped = op<Tensor>('reshape', '', vals, [k, bins, perBin, c]);
      const pooled = max ? op<Tensor>('amax', '', grouped, [2], false) : op<Tensor>('sum', 'dim_IntList', grouped, [2], false, null);
      outs.push(op('reshape', '', op('permute', '', pooled, [0, 2, 1]), [k, c, ph, pw]));
      start = end;
    }
    if (outs.length === 0) return op('zeros', '', [0, c, ph, pw], dtypeCode(X.dtype), null, X.device, null);
    return outs.length === 1 ? outs[0]!.contiguous() : op('cat', '', outs, 0);
  },
});

const GRID_MODES: Record<string, number> = { bilinear: 0, nearest: 1, bicubic: 2 };
const GRID_PADDING: Record<string, number> = { zeros: 0, border: 1, reflection: 2 };

defineOp('GridSample', {
  // Opset 16's GridSample is PyTorch's grid_sample (same modes, padding modes, align_corners,
  // grid in [-1, 1] as (x, y)); libtorch's grid_sampler computes it.
  attributes: ['align_corners', 'mode', 'padding_mode'],
  check: (a) => {
    const mode = attrString(a, 'mode', 'bilinear');
    if (!(mode in GRID_MODES)) return `mode '${mode}' is not one of ${Object.keys(GRID_MODES).join(', ')} (opset 20's linear and cubic are not supported)`;
    const pad = attrString(a, 'padding_mode', 'zeros');
    if (!(pad in GRID_PADDING)) return `padding_mode '${pad}' is not one of ${Object.keys(GRID_PADDING).join(', ')}`;
    return null;
  },
  run: (inputs, a) => {
    const X = need(inputs, 0, 'X');
    const grid = need(inputs, 1, 'grid');
    if (X.ndim !== 4 || grid.ndim !== 4 || grid.shape[3] !== 2 || grid.shape[0] !== X.shape[0]) {
      throw new RangeError(`expects X [N, C, H, W] and grid [N, H_out, W_out, 2], got X [${X.shape.join(', ')}] and grid [${grid.shape.join(', ')}]`);
    }
    const g = grid.dtype === X.dtype ? grid : grid.to(X.dtype);
    return op('grid_sampler', '', X, g, GRID_MODES[attrString(a, 'mode', 'bilinear')]!, GRID_PADDING[attrString(a, 'padding_mode', 'zeros')]!, attrInt(a, 'align_corners', 0) === 1);
  },
  notes: 'opset 16 (2-D): bilinear, nearest, bicubic; zeros, border, reflection',
});
