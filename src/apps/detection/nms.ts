// Box overlap and non-maximum suppression, with torchvision.ops' semantics (box_iou, nms,
// batched_nms): boxes are x1,y1,x2,y2 rows, a box is suppressed when its IoU with a kept,
// higher-scoring box is strictly above the threshold, and equal scores keep their input order.
// The arithmetic is float32 like torchvision's CPU kernel (Math.fround at each step), so a
// box whose IoU lies on the threshold goes the same way in both. Plain loops over typed arrays:
// the greedy pass is sequential, and a grid limits it to boxes that can overlap, so 3,000
// candidate boxes take a few milliseconds (test/apps/detection-nms.test.ts measures it).
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

/** Boxes in rank order: coordinates and areas in their own arrays, read in sequence. */
interface Ranked { x1: Float32Array; y1: Float32Array; x2: Float32Array; y2: Float32Array; area: Float32Array }

/** Whether kept box p suppresses box q: IoU above the threshold, in torchvision's float32 arithmetic. */
function suppresses(r: Ranked, p: number, q: number, iouThreshold: number): boolean {
  const w = Math.max(0, Math.fround(Math.min(r.x2[p]!, r.x2[q]!) - Math.max(r.x1[p]!, r.x1[q]!)));
  const h = Math.max(0, Math.fround(Math.min(r.y2[p]!, r.y2[q]!) - Math.max(r.y1[p]!, r.y1[q]!)));
  const inter = Math.fround(w * h);
  return Math.fround(inter / Math.fround(Math.fround(r.area[p]! + r.area[q]!) - inter)) > iouThreshold;
}

/** The greedy pass over boxes in `order` (score order); returns the kept indices. */
function greedy(b: Float32Array, order: Int32Array, iouThreshold: number): Int32Array {
  const n = order.length;
  const r: Ranked = { x1: new Float32Array(n), y1: new Float32Array(n), x2: new Float32Array(n), y2: new Float32Array(n), area: new Float32Array(n) };
  let finite = true;
  for (let p = 0; p < n; p++) {
    const i = 4 * order[p]!;
    r.x1[p] = b[i]!; r.y1[p] = b[i + 1]!; r.x2[p] = b[i + 2]!; r.y2[p] = b[i + 3]!;
    r.area[p] = Math.fround(Math.fround(r.x2[p]! - r.x1[p]!) * Math.fround(r.y2[p]! - r.y1[p]!));
    if (!Number.isFinite(r.area[p]! + r.x1[p]! + r.y1[p]!)) finite = false;
  }
  const suppressed = new Uint8Array(n);
  const keep = new Int32Array(n);
  let kept = 0;
  // Boxes that do not overlap have IoU 0 (or NaN for two empty boxes), which never exceeds a
  // threshold ≥ 0: then only boxes sharing a cell of a grid need comparing, which keeps a few
  // thousand boxes fast even when few suppress each other. Otherwise every pair is compared.
  if (n <= 64 || iouThreshold < 0 || !finite) {
    for (let p = 0; p < n; p++) {
      if (suppressed[p]) continue;
      keep[kept++] = order[p]!;
      for (let q = p + 1; q < n; q++) if (!suppressed[q] && suppresses(r, p, q, iouThreshold)) suppressed[q] = 1;
    }
    return keep.slice(0, kept);
  }
  const g = new Grid(r);
  const seen = new Int32Array(n).fill(-1);
  for (let p = 0; p < n; p++) {
    if (suppressed[p]) continue;
    keep[kept++] = order[p]!;
    const cx1 = g.column(r.x1[p]!), cx2 = g.column(r.x2[p]!), cy2 = g.row(r.y2[p]!);
    for (let cy = g.row(r.y1[p]!); cy <= cy2; cy++) {
      for (let cx = cx1; cx <= cx2; cx++) {
        const cell = cy * g.columns + cx;
        const end = g.start[cell + 1]!;
        // A cell lists its boxes in rank order: skip to the first one ranked after p.
        let lo = g.start[cell]!, hi = end;
        while (lo < hi) {
          const mid = (lo + hi) >>> 1;
          if (g.members[mid]! <= p) lo = mid + 1;
          else hi = mid;
        }
        for (let m = lo; m < end; m++) {
          const q = g.members[m]!;
          if (suppressed[q] || seen[q] === p) continue;
          seen[q] = p;
          if (suppresses(r, p, q, iouThreshold)) suppressed[q] = 1;
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
class Grid {
  readonly columns: number;
  readonly rows: number;
  /** Cell c's boxes are members[start[c] .. start[c + 1]). */
  readonly start: Int32Array;
  readonly members: Int32Array;
  private readonly minX: number;
  private readonly minY: number;
  private readonly size: number;

  constructor(r: Ranked) {
    const n = r.x1.length;
    let minX = Infinity, minY = Infinity, maxX = -Infinity, maxY = -Infinity, sumW = 0, sumH = 0;
    for (let p = 0; p < n; p++) {
      minX = Math.min(minX, r.x1[p]!); minY = Math.min(minY, r.y1[p]!);
      maxX = Math.max(maxX, r.x2[p]!); maxY = Math.max(maxY, r.y2[p]!);
      sumW += Math.max(0, r.x2[p]! - r.x1[p]!); sumH += Math.max(0, r.y2[p]! - r.y1[p]!);
    }
    const spanX = Math.max(maxX - minX, 1e-6), spanY = Math.max(maxY - minY, 1e-6);
    let size = Math.max(sumW / n, sumH / n, 1e-6);
    while ((spanX / size) * (spanY / size) > 2 * n) size *= 1.5; // at most ~2 cells per box
    this.minX = minX; this.minY = minY; this.size = size;
    this.columns = Math.min(Math.floor(spanX / size) + 1, 4096);
    this.rows = Math.min(Math.floor(spanY / size) + 1, 4096);
    const cells = this.columns * this.rows;
    const ranges = new Int32Array(4 * n);
    const start = new Int32Array(cells + 1);
    for (let p = 0; p < n; p++) {
      const inverted = r.x2[p]! < r.x1[p]! || r.y2[p]! < r.y1[p]!;
      const cx1 = inverted ? 0 : this.column(r.x1[p]!), cy1 = inverted ? 0 : this.row(r.y1[p]!);
      const cx2 = inverted ? -1 : this.column(r.x2[p]!), cy2 = inverted ? -1 : this.row(r.y2[p]!);
      ranges[4 * p] = cx1; ranges[4 * p + 1] = cy1; ranges[4 * p + 2] = cx2; ranges[4 * p + 3] = cy2;
      for (let cy = cy1; cy <= cy2; cy++) for (let cx = cx1; cx <= cx2; cx++) start[cy * this.columns + cx + 1]!++;
    }
    for (let c = 0; c < cells; c++) start[c + 1]! += start[c]!;
    const fill = start.slice(0, cells);
    const members = new Int32Array(start[cells]!);
    for (let p = 0; p < n; p++) {
      for (let cy = ranges[4 * p + 1]!; cy <= ranges[4 * p + 3]!; cy++) {
        for (let cx = ranges[4 * p]!; cx <= ranges[4 * p + 2]!; cx++) members[fill[cy * this.columns + cx]!++] = p;
      }
    }
    this.start = start;
    this.members = members;
  }

  column(x: number): number {
    return Math.min(this.columns - 1, Math.max(0, Math.floor((x - this.minX) / this.size)));
  }

  row(y: number): number {
    return Math.min(this.rows - 1, Math.max(0, Math.floor((y - this.minY) / this.size)));
  }
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
  // One pass per label over that label's boxes (each in global score order), each with its own
  // grid: one grid for all labels would list every label's boxes in every cell.
  const order = scoreOrder(s);
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
