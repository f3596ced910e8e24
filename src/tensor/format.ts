// Printing like PyTorch: `tensor([[1.0000, 2.5000], ...], shape=[2, 2], dtype=float32)`.
// Large tensors are summarized with '...' beyond 3 items at each edge.
import type { Tensor } from './tensor.js';
import { isFloating } from './dtype.js';

const THRESHOLD = 1000;
const EDGE = 3;

function formatNumbers(values: number[], floating: boolean): (v: number) => string {
  if (!floating) return (v) => String(v);
  const finite = values.filter((v) => Number.isFinite(v));
  const allInts = finite.every((v) => Number.isInteger(v));
  const absMax = finite.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  const absMin = finite.filter((v) => v !== 0).reduce((m, v) => Math.min(m, Math.abs(v)), Infinity);
  const special = (v: number) => (Number.isNaN(v) ? 'nan' : v > 0 ? 'inf' : '-inf');
  if (allInts && absMax < 1e8) return (v) => (Number.isFinite(v) ? `${v.toFixed(0)}.` : special(v));
  if (absMax >= 1e8 || absMax / absMin > 1000 || absMin < 1e-4) {
    return (v) => (Number.isFinite(v) ? v.toExponential(4).replace(/e([+-])(\d)$/, 'e$10$2') : special(v));
  }
  return (v) => (Number.isFinite(v) ? v.toFixed(4) : special(v));
}

export function formatTensor(t: Tensor): string {
  const shape = t.shape;
  const dtype = t.dtype;
  const flat = t.dataSync();
  const values: number[] =
    dtype === 'float16' || dtype === 'bfloat16' ? Array.from(t.float().dataSync() as Float32Array) : Array.from(flat as ArrayLike<number | bigint>, Number);
  const summarize = values.length > THRESHOLD;
  const fmt = dtype === 'bool' ? (v: number) => (v ? 'True' : 'False') : formatNumbers(values, isFloating(dtype));
  const strs = values.map(fmt);
  const width = strs.reduce((w, s) => Math.max(w, s.length), 0);
  const pad = (s: string) => s.padStart(width);
  const strides = shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1));
  const indent = 'tensor('.length;
  const render = (dim: number, offset: number): string => {
    if (dim === shape.length) return pad(strs[offset]!);
    const n = shape[dim]!;
    const idx = summarize && n > 2 * EDGE ? [...Array(EDGE).keys(), -1, ...Array.from({ length: EDGE }, (_, i) => n - EDGE + i)] : [...Array(n).keys()];
    const parts = idx.map((i) => (i === -1 ? '...' : render(dim + 1, offset + i * strides[dim]!)));
    if (dim === shape.length - 1) return `[${parts.join(', ')}]`;
    const sep = ',' + '\n'.repeat(shape.length - dim - 1) + ' '.repeat(indent + dim + 1);
    return `[${parts.join(sep)}]`;
  };
  const body = shape.length === 0 ? strs[0]! : render(0, 0);
  const grad = t.requiresGrad ? ', requiresGrad=true' : '';
  return `tensor(${body}, shape=[${shape.join(', ')}], dtype=${dtype}${grad})`;
}
