// Box overlap and non-maximum suppression, with torchvision.ops' semantics (box_iou, nms,
// batched_nms): boxes are x1,y1,x2,y2 rows, a box is suppressed when its IoU with a kept,
// higher-scoring box is strictly above the threshold, and equal scores keep their input order.
// The arithmetic is float32 like torchvision's CPU kernel (Math.fround at each step), so a
// box whose IoU lies on the threshold goes the same way in both. Plain loops over typed arrays:
// the greedy pass is inherently sequential, and a few thousand boxes take well under a
// millisecond to a few milliseconds here (measured in test/apps/detection-nms.test.ts), far
// less than copying an IoU matrix out of a tensor would.
import { Tensor } from '../../tensor/tensor.js';

/** Boxes as a flat Float32Array of x1,y1,x2,y2 rows, or a [k, 4] tensor. */
export type BoxesInput = Float32Array | Tensor;


function boxRows(where: string, name: string, boxes: BoxesInput): Float32Array {
  if (boxes instanceof Tensor) {
    const shape = boxes.shape;
    if (shape.length !== 2 || shape[1] !== 4) throw new RangeError(`${where}: ${name} must have shape [k, 4] (x1, y1, x2, y2 rows), got [${shape.join(', ')}]`);
    return toFloat32(boxes);
  }
  if (!(boxes instanceof Float32Array)) throw new TypeError(`${where}: ${name} must be a Float32Array of x1,y1,x2,y2 rows or a [k, 4] tensor`);
  if (boxes.length % 4 !== 0) throw new RangeError(`${where}: ${name} holds ${boxes.length} numbers, not a multiple of 4 (x1, y1, x2, y2 rows)`);
  return boxes;
}

function vector(where: string, name: string, v: Float32Array | Tensor, k: number): Float32Array {
  const values = v instanceof Tensor ? toFloat32(v) : v;
  if (!(values instanceof Float32Array)) throw new TypeError(`${where}: ${name} must be a Float32Array or a tensor`);
  if (values.length !== k) throw new RangeError(`${where}: ${name} has ${values.length} values for ${k} boxes`);
  return values;
}

function toFloat32(t: Tensor): Float32Array {
  if (t.dtype === 'float32' && t.device === 'cpu') return Float32Array.from(t.dataSync() as Float32Array);
  const c = t.to({ dtype: 'float32', device: 'cpu' });
  try {
    return Float32Array.from(c.dataSync() as Float32Array);
  } finally {
    c.dispose();
  }
}

function checkThreshold(where: string, iouThreshold: number): void {
  if (typeof iouThreshold !== 'number' || !Number.isFinite(iouThreshold)) throw new RangeError(`${where}: iouThreshold must be a finite number, got ${String(iouThreshold)}`);
}

function areas(b: Float32Array): Float32Array {
  const n = b.length / 4;
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = Math.fround(Math.fround(b[4 * i + 2]! - b[4 * i]!) * Math.fround(b[4 * i + 3]! - b[4 * i + 1]!));
  return a;
}

/** IoU of every box in `a` with every box in `b`: a k×m row-major matrix (torchvision's box_iou; 0/0 gives NaN as there). */
export function boxIoU(a: BoxesInput, b: BoxesInput): Float32Array {
  const A = boxRows('boxIoU', 'a', a);
  const B = boxRows('boxIoU', 'b', b);
  const k = A.length / 4;
  const m = B.length / 4;
  const areaA = areas(A);
  const areaB = areas(B);
  const out = new Float32Array(k * m);
  for (let i = 0; i < k; i++) {
    const ax1 = A[4 * i]!, ay1 = A[4 * i + 1]!, ax2 = A[4 * i + 2]!, ay2 = A[4 * i + 3]!;
    for (let j = 0; j < m; j++) {
      const w = Math.max(0, Math.fround(Math.min(ax2, B[4 * j + 2]!) - Math.max(ax1, B[4 * j]!)));
      const h = Math.max(0, Math.fround(Math.min(ay2, B[4 * j + 3]!) - Math.max(ay1, B[4 * j + 1]!)));
      const inter = Math.fround(w * h);
      out[i * m + j] = inter / Math.fround(Math.fround(areaA[i]! + areaB[j]!) - inter);
    }
  }
  return out;
}

/** Indices by decreasing score; equal scores keep their input order (torchvision sorts stably). */
function scoreOrder(scores: Float32Array): Int32Array {
  const n = scores.length;
  const order = new Int32Array(n);
  if (n >= 1 << 21) return order.map((_, i) => i).sort((i, j) => (scores[j]! - scores[i]!) || i - j);
  // Sorting plain numbers is several times faster than sorting with a comparator. The key puts
  // the float32's bits, made to sort in decreasing score order, above the index: 32 + 21 bits,
  // exact in a float64. NaN scores go last, in input order.
  const bits = new Uint32Array(scores.buffer, scores.byteOffset, n);
  const keys = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const u = bits[i]!;
    // Increasing order of the float: flip the sign bit of positives, all bits of negatives.
    const up = u & 0x80000000 ? ~u >>> 0 : (u | 0x80000000) >>> 0;
    const down = Number.isNaN(scores[i]!) ? 0xffffffff : 0xffffffff - up;
    keys[i] = down * 2097152 + i;
  }
  keys.sort();
  for (let i = 0; i < n; i++) order[i] = keys[i]! % 2097152;
  return order;
}

/** The greedy pass over boxes in `order` (score order); returns the kept indices. */
function greedy(b: Float32Array, order: Int32Array, iouThreshold: number): Int32Array {
  const n = order.length;
  // Coordinates and areas copied in rank order, so the inner loop reads memory in sequence.
  const x1 = new Float32Array(n), y1 = new Float32Array(n), x2 = new Float32Array(n), y2 = new Float32Array(n), area = new Float32Array(n);
  let finite = true;
  for (let p = 0; p < n; p++) {
    const i = 4 * order[p]!;
    x1[p] = b[i]!; y1[p] = b[i + 1]!; x2[p] = b[i + 2]!; y2[p] = b[i + 3]!;
    area[p] = Math.fround(Math.fround(x2[p]! - x1[p]!) * Math.fround(y2[p]! - y1[p]!));
    if (!Number.isFinite(area[p]! + x1[p]! + y1[p]!)) finite = false;
  }
  const suppressed = new Uint8Array(n);
  const keep = new Int32Array(n);
  let kept = 0;
  /** Suppresses q if its IoU with kept p is above the threshold (torchvision's float32 arithmetic). */
  const test = (p: number, q: number) => {
    const w = Math.max(0, Math.fround(Math.min(x2[p]!, x2[q]!) - Math.max(x1[p]!, x1[q]!)));
    const h = Math.max(0, Math.fround(Math.min(y2[p]!, y2[q]!) - Math.max(y1[p]!, y1[q]!)));
    const inter = Math.fround(w * h);
    if (Math.fround(inter / Math.fround(Math.fround(area[p]! + area[q]!) - inter)) > iouThreshold) suppressed[q] = 1;
  };
  // Boxes that do not overlap have IoU 0 (or NaN for two empty boxes), which never exceeds a
  // threshold ≥ 0: then only boxes sharing a cell of a grid need comparing, which keeps a few
  // thousand boxes fast even when few suppress each other. Otherwise every pair is compared.
  const grid = n > 64 && iouThreshold >= 0 && finite ? buildGrid(x1, y1, x2, y2) : null;
  if (!grid) {
    for (let p = 0; p < n; p++) {
      if (suppressed[p]) continue;
      keep[kept++] = order[p]!;
      for (let q = p + 1; q < n; q++) if (!suppressed[q]) test(p, q);
    }
    return keep.slice(0, kept);
  }
  const { start, members } = grid;
  const seen = new Int32Array(n).fill(-1);
  for (let p = 0; p < n; p++) {
    if (suppressed[p]) continue;
    keep[kept++] = order[p]!;
    const cx1 = grid.col(x1[p]!), cx2 = grid.col(x2[p]!), cy2 = grid.row(y2[p]!);
    for (let cy = grid.row(y1[p]!); cy <= cy2; cy++) {
      for (let cx = cx1; cx <= cx2; cx++) {
        const cell = cy * grid.columns + cx;
        for (let m = start[cell]!; m < start[cell + 1]!; m++) {
          const q = members[m]!;
          if (q <= p || suppressed[q] || seen[q] === p) continue;
          seen[q] = p;
          test(p, q);
        }
      }
    }
  }
  return keep.slice(0, kept);
}

/**
 * A uniform grid over the boxes' extent, cells about the size of an average box, each listing
 * (in rank order) the boxes that overlap it. Inverted boxes (x2 < x1) are in no cell: they
 * overlap nothing.
 */
function buildGrid(x1: Float32Array, y1: Float32Array, x2: Float32Array, y2: Float32Array) {
  const n = x1.length;
  let minX = Infinity, minY = Infinity, maxX = -Infinity, maxY = -Infinity, sumW = 0, sumH = 0;
  for (let p = 0; p < n; p++) {
    minX = Math.min(minX, x1[p]!); minY = Math.min(minY, y1[p]!);
    maxX = Math.max(maxX, x2[p]!); maxY = Math.max(maxY, y2[p]!);
    sumW += Math.max(0, x2[p]! - x1[p]!); sumH += Math.max(0, y2[p]! - y1[p]!);
  }
  const spanX = Math.max(maxX - minX, 1e-6), spanY = Math.max(maxY - minY, 1e-6);
  // At most ~2 cells per box in all, at least one cell.
  let size = Math.max(sumW / n, sumH / n, 1e-6);
  while ((spanX / size) * (spanY / size) > 2 * n) size *= 1.5;
  const columns = Math.min(Math.floor(spanX / size) + 1, 4096), rows = Math.min(Math.floor(spanY / size) + 1, 4096);
  const col = (x: number) => Math.min(columns - 1, Math.max(0, Math.floor((x - minX) / size)));
  const row = (y: number) => Math.min(rows - 1, Math.max(0, Math.floor((y - minY) / size)));
  const counts = new Int32Array(columns * rows + 1);
  const ranges = new Int32Array(4 * n);
  for (let p = 0; p < n; p++) {
    const inverted = x2[p]! < x1[p]! || y2[p]! < y1[p]!;
    const cx1 = inverted ? 0 : col(x1[p]!), cy1 = inverted ? 0 : row(y1[p]!), cx2 = inverted ? -1 : col(x2[p]!), cy2 = inverted ? -1 : row(y2[p]!);
    ranges[4 * p] = cx1; ranges[4 * p + 1] = cy1; ranges[4 * p + 2] = cx2; ranges[4 * p + 3] = cy2;
    for (let cy = cy1; cy <= cy2; cy++) for (let cx = cx1; cx <= cx2; cx++) counts[cy * columns + cx + 1]!++;
  }
  const start = new Int32Array(columns * rows + 1);
  for (let c = 0; c < columns * rows; c++) start[c + 1] = start[c]! + counts[c + 1]!;
  const fill = start.slice(0, columns * rows);
  const members = new Int32Array(start[columns * rows]!);
  for (let p = 0; p < n; p++) {
    for (let cy = ranges[4 * p + 1]!; cy <= ranges[4 * p + 3]!; cy++) for (let cx = ranges[4 * p]!; cx <= ranges[4 * p + 2]!; cx++) members[fill[cy * columns + cx]!++] = p;
  }
  return { columns, start, members, col, row };
}

/**
 * Non-maximum suppression (torchvision.ops.nms): the indices of the boxes kept, by decreasing
 * score. A box is dropped when its IoU with a higher-scoring kept box is greater than
 * `iouThreshold`.
 */
export function nms(boxes: BoxesInput, scores: Float32Array | Tensor, iouThreshold: number): Int32Array {
  checkThreshold('nms', iouThreshold);
  const b = boxRows('nms', 'boxes', boxes);
  const s = vector('nms', 'scores', scores, b.length / 4);
  return greedy(b, scoreOrder(s), iouThreshold);
}

/**
 * Class-wise non-maximum suppression (torchvision.ops.batched_nms): boxes of different labels
 * never suppress each other. Returns the kept indices by decreasing score (ties by index).
 */
export function batchedNms(boxes: BoxesInput, scores: Float32Array | Tensor, labels: Int32Array | Tensor, iouThreshold: number): Int32Array {
  checkThreshold('batchedNms', iouThreshold);
  const b = boxRows('batchedNms', 'boxes', boxes);
  const n = b.length / 4;
  const s = vector('batchedNms', 'scores', scores, n);
  const l = labels instanceof Tensor ? Int32Array.from(labels.dataSync() as ArrayLike<number | bigint>, Number) : labels;
  if (!(l instanceof Int32Array)) throw new TypeError('batchedNms: labels must be an Int32Array or a tensor');
  if (l.length !== n) throw new RangeError(`batchedNms: labels has ${l.length} values for ${n} boxes`);
  const order = scoreOrder(s);
  // One pass per label over that label's boxes, each already in global score order.
  const byLabel = new Map<number, number[]>();
  for (const i of order) {
    const list = byLabel.get(l[i]!);
    if (list) list.push(i);
    else byLabel.set(l[i]!, [i]);
  }
  const kept = new Uint8Array(n);
  for (const list of byLabel.values()) for (const i of greedy(b, Int32Array.from(list), iouThreshold)) kept[i] = 1;
  return order.filter((i) => kept[i] === 1);
}
