// Resize and Upsample. https://onnx.ai/onnx/operators/onnx__Resize.html, onnx__Upsample.html
//
// Resizing is separable: each axis maps every output index y to a source coordinate x (the
// coordinate_transformation_mode), then to a few source taps with weights (the mode). The plan
// per axis is computed here in float64, the way the ONNX reference does it; the data then goes
// through one of three paths:
//  - libtorch's upsample kernels on the trailing spatial axes where they compute the same values
//    (what detection networks spend their resizing time in): linear and cubic in half_pixel,
//    pytorch_half_pixel and align_corners (when the output length is exactly the scale times the
//    input's; cubic only with a = -0.75 and exclude_outside 0): upsample_linear1d / bilinear2d /
//    trilinear3d / bicubic2d; nearest where upsample_nearest's indices are the plan's (checked
//    once per axis size and scale by running it on the indices themselves);
//  - other nearest resizes by an integer factor whose indices are floor(y / k): a broadcast copy;
//  - anything else (the nearest rounding modes, cubic with another a or exclude_outside,
//    asymmetric linear, tf_crop_and_resize with its extrapolation_value): per axis, an index_select
//    of the taps and a weighted sum, with the weights from the plan.
// Opset 10 Resize and Upsample have no coordinate mode: asymmetric, and for nearest onnxruntime's
// 'simple' rounding (floor when enlarging an axis, ceil when shrinking it).
import type { Tensor } from '../../../tensor/tensor.js';
import { tensor } from '../../../tensor/create.js';
import { tidy } from '../../../tensor/memory.js';
import { defineOp, attrInt, attrFloat, attrInts, attrString, type AttrValue } from './registry.js';
import { op, need, ints, isFloat, cast, int64 } from './util.js';

type Mode = 'nearest' | 'linear' | 'cubic';
type Transform = 'half_pixel' | 'pytorch_half_pixel' | 'align_corners' | 'asymmetric' | 'tf_crop_and_resize' | 'tf_half_pixel_for_nn';
type NearestMode = 'round_prefer_floor' | 'round_prefer_ceil' | 'floor' | 'ceil' | 'simple';

export interface ResizeSpec {
  mode: Mode;
  transform: Transform;
  nearest: NearestMode;
  cubicA: number;
  excludeOutside: boolean;
  extrapolation: number;
}

const MODES = ['nearest', 'linear', 'cubic'];
const TRANSFORMS = ['half_pixel', 'pytorch_half_pixel', 'align_corners', 'asymmetric', 'tf_crop_and_resize', 'tf_half_pixel_for_nn'];
const NEAREST_MODES = ['round_prefer_floor', 'round_prefer_ceil', 'floor', 'ceil'];

/** One axis's resampling: for each output index, `k` source taps (already clamped) and their weights. */
interface AxisPlan {
  axis: number;
  inSize: number;
  outSize: number;
  k: number;
  taps: number[];
  weights: number[];
  /** tf_crop_and_resize: output indices whose source lies outside the input (they get extrapolation_value). */
  outside: boolean[] | null;
  identity: boolean;
  /** An integer factor whose nearest indices are floor(y / factor), else 0. */
  repeat: number;
  /** The source coordinate of each output index (the libtorch path's checks). */
  coords: number[];
}

/** The source coordinate of output index y, as the ONNX reference computes it. */
function sourceCoord(t: Transform, y: number, scale: number, inSize: number, outSize: number, roi: [number, number]): number {
  // The reference's "output width" is scale * input width, not the integer output size.
  const outWidth = scale * inSize;
  switch (t) {
    case 'align_corners': return outWidth === 1 ? 0 : (y * (inSize - 1)) / (outWidth - 1);
    case 'asymmetric': return y / scale;
    case 'pytorch_half_pixel': return outWidth === 1 ? -0.5 : (y + 0.5) / scale - 0.5;
    case 'half_pixel': return (y + 0.5) / scale - 0.5;
    case 'tf_half_pixel_for_nn': return (y + 0.5) / scale;
    case 'tf_crop_and_resize': {
      const [start, end] = roi;
      const x = outWidth === 1 ? ((end - start) * (inSize - 1)) / 2 : (y * (end - start) * (inSize - 1)) / (outWidth - 1);
      void outSize;
      return x + start * (inSize - 1);
    }
  }
}

/** Keys's cubic convolution weights of the taps floor(x)-1 … floor(x)+2 for the fraction r. */
function cubicWeights(r: number, A: number): number[] {
  const s = 1 - r;
  return [
    ((A * (r + 1) - 5 * A) * (r + 1) + 8 * A) * (r + 1) - 4 * A,
    ((A + 2) * r - (A + 3)) * r * r + 1,
    ((A + 2) * s - (A + 3)) * s * s + 1,
    ((A * (s + 1) - 5 * A) * (s + 1) + 8 * A) * (s + 1) - 4 * A,
  ];
}

function nearestIndex(x: number, mode: NearestMode, scale: number): number {
  const f = Math.floor(x);
  const r = x - f;
  if (r === 0) return x;
  switch (mode) {
    case 'round_prefer_floor': return r > 0.5 ? f + 1 : f;
    case 'round_prefer_ceil': return r >= 0.5 ? f + 1 : f;
    case 'floor': return f;
    case 'ceil': return f + 1;
    case 'simple': return scale < 1 ? f + 1 : f;
  }
}

function planAxis(axis: number, inSize: number, outSize: number, scale: number, roi: [number, number], s: ResizeSpec): AxisPlan {
  const k = s.mode === 'nearest' ? 1 : s.mode === 'linear' ? 2 : 4;
  const taps: number[] = [];
  const weights: number[] = [];
  const coords: number[] = [];
  const outside: boolean[] = [];
  let anyOutside = false;
  const clamp = (i: number) => Math.min(Math.max(i, 0), inSize - 1);
  for (let y = 0; y < outSize; y++) {
    const x = sourceCoord(s.transform, y, scale, inSize, outSize, roi);
    coords.push(x);
    const out = s.transform === 'tf_crop_and_resize' && (x < 0 || x > inSize - 1);
    outside.push(out);
    anyOutside ||= out;
    if (s.mode === 'nearest') {
      taps.push(clamp(nearestIndex(x, s.nearest, scale)));
      weights.push(1);
      continue;
    }
    const f = Math.floor(x);
    const r = x - f;
    const first = s.mode === 'linear' ? f : f - 1;
    const w = s.mode === 'linear' ? [1 - r, r] : cubicWeights(r, s.cubicA);
    if (s.excludeOutside) {
      // Taps beyond the input get no weight; the rest are renormalized to sum to one.
      let sum = 0;
      for (let j = 0; j < k; j++) { if (first + j < 0 || first + j >= inSize) w[j] = 0; sum += w[j]!; }
      for (let j = 0; j < k; j++) w[j]! /= sum;
    }
    for (let j = 0; j < k; j++) { taps.push(clamp(first + j)); weights.push(w[j]!); }
  }
  // The identity when every output index takes all its weight from the same input index
  // (pytorch_half_pixel maps a length-1 axis to -0.5, which still reads index 0).
  let identity = outSize === inSize && !anyOutside;
  for (let y = 0; identity && y < outSize; y++) {
    let onSelf = 0;
    for (let j = 0; j < k; j++) {
      const w = weights[y * k + j]!;
      if (taps[y * k + j] === y) onSelf += w;
      else if (w !== 0) identity = false;
    }
    if (Math.abs(onSelf - 1) > 1e-12) identity = false;
  }
  let repeat = 0;
  if (s.mode === 'nearest' && !anyOutside && outSize % inSize === 0 && outSize > inSize) {
    const factor = outSize / inSize;
    if (taps.every((t, y) => t === Math.floor(y / factor))) repeat = factor;
  }
  return { axis, inSize, outSize, k, taps, weights, outside: anyOutside ? outside : null, identity, repeat, coords };
}

function onDeviceOf(t: Tensor, like: Tensor): Tensor {
  return like.device === 'cpu' ? t : t.to({ device: like.device });
}

/** Nearest with integer factors on several axes at once: view with unit axes, broadcast, one copy. */
function repeatAxes(x: Tensor, plans: AxisPlan[]): Tensor {
  const factor = new Map(plans.map((p) => [p.axis, p.repeat]));
  const view: number[] = [];
  const expanded: number[] = [];
  const out: number[] = [];
  x.shape.forEach((d, i) => {
    view.push(d); expanded.push(d);
    const f = factor.get(i);
    if (f !== undefined) { view.push(1); expanded.push(f); out.push(d * f); } else out.push(d);
  });
  return op<Tensor>('reshape', '', op('expand', '', op('reshape', '', x, view), expanded, false), out);
}

/** One axis by gathering its taps and summing them with the plan's weights. */
function gatherAxis(x: Tensor, p: AxisPlan, extrapolation: number): Tensor {
  const idx = onDeviceOf(int64(p.taps), x);
  let y: Tensor = op('index_select', '', x, p.axis, idx);
  const trailing = x.shape.slice(p.axis + 1).map(() => 1);
  if (p.k > 1) {
    const shape = [...x.shape.slice(0, p.axis), p.outSize, p.k, ...x.shape.slice(p.axis + 1)];
    const w = onDeviceOf(tensor(Float64Array.from(p.weights), { shape: [p.outSize, p.k, ...trailing], dtype: x.dtype }), x);
    y = op('sum', 'dim_IntList', op('mul', 'Tensor', op('reshape', '', y, shape), w), [p.axis + 1], false, null);
  }
  if (p.outside) {
    const mask = onDeviceOf(tensor(Uint8Array.from(p.outside, (b) => (b ? 1 : 0)), { shape: [p.outSize, ...trailing], dtype: 'bool' }), x);
    y = op('masked_fill', 'Scalar', y, mask, { float: extrapolation });
  }
  return y;
}

/**
 * The libtorch upsample kernel that computes these plans the spec's way, or null: only the
 * trailing spatial axes of an [N, C, …] input resized; nearest where the kernel picks the same
 * indices, linear (1-3 spatial axes) or cubic (2) with a = -0.75 and exclude_outside 0 in a
 * coordinate mode libtorch computes the same way.
 */
function torchKernel(x: { ndim: number; dtype: string; device: string }, plans: AxisPlan[], s: ResizeSpec, scales: number[] | null): { name: string; alignCorners?: boolean } | null {
  const rank = x.ndim;
  if (rank < 3 || rank > 5 || !(x.dtype === 'float32' || x.dtype === 'float64')) return null;
  if (plans.some((p) => p.axis < 2 && !p.identity)) return null;
  const spatial = plans.filter((p) => p.axis >= 2);
  if (s.mode === 'nearest') {
    if (!spatial.every((p) => nearestKernelAgrees(p, scales ? scales[p.axis]! : null, x.device))) return null;
    return { name: ['upsample_nearest1d', 'upsample_nearest2d', 'upsample_nearest3d'][rank - 3]! };
  }
  if (s.mode === 'cubic' && (s.excludeOutside || rank !== 4 || s.cubicA !== -0.75)) return null;
  let alignCorners: boolean;
  if (s.transform === 'half_pixel') alignCorners = false;
  else if (s.transform === 'pytorch_half_pixel' && spatial.every((p) => p.outSize > 1)) alignCorners = false;
  // The spec divides by scale * in - 1, libtorch by out - 1: the same only when those agree.
  else if (s.transform === 'align_corners' && spatial.every((p) => p.outSize === 1 || p.coords[p.outSize - 1] === p.inSize - 1)) alignCorners = true;
  else return null;
  const name = s.mode === 'cubic' ? 'upsample_bicubic2d' : ['upsample_linear1d', 'upsample_bilinear2d', 'upsample_trilinear3d'][rank - 3]!;
  return { name, alignCorners };
}

const nearestProbes = new Map<string, boolean>();

/**
 * Whether libtorch's nearest kernel picks the plan's source indices on this axis. Its index is
 * floor(y * scale) in float32 (with special cases for factors 1 and 2), which matches the spec's
 * asymmetric/floor exactly only where the rounding happens to agree; rather than emulate it, the
 * kernel is run once on the indices 0 … in-1 for this (in, out, scale, device) and compared.
 */
function nearestKernelAgrees(p: AxisPlan, scale: number | null, device: string): boolean {
  if (p.identity) return true;
  const key = `${p.inSize},${p.outSize},${scale},${device}`;
  let ok = nearestProbes.get(key);
  if (ok === undefined) {
    ok = tidy(() => {
      const probe = tensor(Float32Array.from({ length: p.inSize }, (_, i) => i), { shape: [1, 1, p.inSize] });
      const got = op<Tensor>('upsample_nearest1d', '', device === 'cpu' ? probe : probe.to({ device }), [p.outSize], scale);
      const idx = got.to({ device: 'cpu' }).dataSync() as Float32Array;
      return p.taps.every((t, y) => idx[y] === t);
    });
    nearestProbes.set(key, ok);
  }
  return ok;
}

/**
 * Runs the kernel. `scales` are the file's scale factors (libtorch then uses 1/scale for the
 * coordinates, as the spec does), or null when the file gave sizes (libtorch uses in/out, which
 * is the spec's scale then).
 */
function torchUpsample(x: Tensor, kernel: { name: string; alignCorners?: boolean }, plans: AxisPlan[], scales: number[] | null): Tensor {
  const spatial = plans.filter((p) => p.axis >= 2);
  const sc = spatial.map((p) => (scales ? scales[p.axis]! : null));
  const size = spatial.map((p) => p.outSize);
  return kernel.alignCorners === undefined ? op(kernel.name, '', x, size, ...sc) : op(kernel.name, '', x, size, kernel.alignCorners, ...sc);
}

interface ResizeOptions { scales?: number[]; sizes?: number[]; roi?: number[]; fast?: boolean }

function plansFor(shape: readonly number[], spec: ResizeSpec, opts: ResizeOptions): AxisPlan[] {
  const rank = shape.length;
  const { scales, sizes } = opts;
  if (sizes && sizes.length !== rank) throw new RangeError(`'sizes' has ${sizes.length} values for a ${rank}-D input (shape [${shape.join(', ')}])`);
  if (!sizes && (!scales || scales.length !== rank)) throw new RangeError(`'scales' has ${scales?.length ?? 0} values for a ${rank}-D input (shape [${shape.join(', ')}])`);
  if (scales && scales.some((v) => !(v > 0))) throw new RangeError(`'scales' must be positive, got [${scales.join(', ')}]`);
  const roi = opts.roi && opts.roi.length === 2 * rank ? opts.roi : null;
  if (spec.transform === 'tf_crop_and_resize' && !roi) throw new RangeError(`tf_crop_and_resize needs 'roi' with ${2 * rank} values (starts then ends), got ${opts.roi?.length ?? 0}`);
  const outSizes = sizes ?? shape.map((d, i) => Math.floor(scales![i]! * d));
  const axisScales = sizes ? shape.map((d, i) => sizes[i]! / d) : scales!;
  return shape.map((d, i) => planAxis(i, d, outSizes[i]!, axisScales[i]!, roi ? [roi[i]!, roi[i + rank]!] : [0, 1], spec));
}

/** Which path resizeTensor takes for an input of this shape and dtype (for tests and benchmarks). */
export function resizeRoute(shape: readonly number[], dtype: string, spec: ResizeSpec, opts: ResizeOptions): string {
  const plans = plansFor(shape, spec, opts);
  const todo = plans.filter((p) => !p.identity);
  if (todo.length === 0) return 'copy';
  const kernel = torchKernel({ ndim: shape.length, dtype, device: 'cpu' }, plans, spec, opts.sizes ? null : opts.scales ?? null);
  if (kernel) return kernel.name;
  const parts = todo.map((p) => (p.repeat > 0 ? 'broadcast' : 'gather'));
  return [...new Set(parts)].join('+');
}

/**
 * Resizes `x` to `sizes` (or floor(scale * size) per axis) with the spec's semantics.
 * `fast: false` skips the libtorch and broadcast paths (the tests compare the two).
 */
export function resizeTensor(x: Tensor, spec: ResizeSpec, opts: ResizeOptions): Tensor {
  const plans = plansFor(x.shape, spec, opts);
  const todo = plans.filter((p) => !p.identity);
  if (todo.length === 0) return x.clone();
  const fast = opts.fast ?? true;
  if (fast) {
    const scales = opts.sizes ? null : opts.scales!;
    const kernel = torchKernel(x, plans, spec, scales);
    if (kernel) return torchUpsample(x, kernel, plans, scales);
  }
  const float = isFloat(x);
  let y = x;
  const repeats = fast ? todo.filter((p) => p.repeat > 0) : [];
  if (repeats.length) y = repeatAxes(y, repeats);
  // Interpolating an integer tensor happens in float64 (the reference's arithmetic), then casts back.
  const rest = todo.filter((p) => !repeats.includes(p));
  if (!float && rest.some((p) => p.k > 1)) y = cast(y, 'float64');
  // Shrinking axes first keeps the intermediate tensors small.
  for (const p of [...rest].sort((a, b) => a.outSize / a.inSize - b.outSize / b.inSize)) y = gatherAxis(y, p, spec.extrapolation);
  if (y.dtype !== x.dtype) y = cast(y, x.dtype);
  return y === x ? x.clone() : y;
}

function specOf(a: Record<string, AttrValue>, opset: number): ResizeSpec {
  const mode = attrString(a, 'mode', 'nearest');
  const legacy = opset < 11;
  return {
    mode: (mode === 'bilinear' || mode === 'trilinear' ? 'linear' : mode) as Mode,
    transform: legacy ? 'asymmetric' : (attrString(a, 'coordinate_transformation_mode', 'half_pixel') as Transform),
    nearest: legacy ? 'simple' : (attrString(a, 'nearest_mode', 'round_prefer_floor') as NearestMode),
    cubicA: attrFloat(a, 'cubic_coeff_a', -0.75),
    excludeOutside: attrInt(a, 'exclude_outside', 0) === 1,
    extrapolation: attrFloat(a, 'extrapolation_value', 0),
  };
}

function checkSpec(a: Record<string, AttrValue>, opset: number, modes: readonly string[]): string | null {
  const mode = attrString(a, 'mode', 'nearest');
  if (!modes.includes(mode)) return `mode '${mode}' is not one of ${modes.join(', ')}`;
  if (opset < 11) return null;
  const t = attrString(a, 'coordinate_transformation_mode', 'half_pixel');
  if (!TRANSFORMS.includes(t)) return `coordinate_transformation_mode '${t}' is not one of ${TRANSFORMS.join(', ')}`;
  const n = attrString(a, 'nearest_mode', 'round_prefer_floor');
  if (!NEAREST_MODES.includes(n)) return `nearest_mode '${n}' is not one of ${NEAREST_MODES.join(', ')}`;
  if (attrInt(a, 'antialias', 0) !== 0) return 'antialias 1 (opset 18) is not supported';
  if (a.axes !== undefined) return "'axes' (opset 18) is not supported";
  const policy = attrString(a, 'keep_aspect_ratio_policy', 'stretch');
  if (policy !== 'stretch') return `keep_aspect_ratio_policy '${policy}' (opset 18) is not supported`;
  return null;
}

/** A float tensor's values, or undefined for an omitted or empty one (opset 11's placeholders). */
const valuesOf = (t: Tensor | undefined, what: string): number[] | undefined => (t && t.size > 0 ? ints(t, what) : undefined);

defineOp('Resize', {
  attributes: ['mode', 'coordinate_transformation_mode', 'nearest_mode', 'cubic_coeff_a', 'exclude_outside', 'extrapolation_value', 'antialias', 'axes', 'keep_aspect_ratio_policy'],
  check: (a, opset) => checkSpec(a, opset, opset < 11 ? ['nearest', 'linear'] : MODES),
  run: (inputs, a, ctx) => {
    const X = need(inputs, 0, 'X');
    const spec = specOf(a, ctx.opset);
    if (ctx.opset < 11) return resizeTensor(X, spec, { scales: valuesOf(need(inputs, 1, 'scales'), 'scales') });
    const [, roi, scales, sizes] = inputs;
    const sz = valuesOf(sizes, 'sizes');
    const sc = valuesOf(scales, 'scales');
    if (!sz && !sc) throw new TypeError("needs one of 'scales' and 'sizes'");
    if (sz && sc) throw new TypeError("takes only one of 'scales' and 'sizes', got both");
    return resizeTensor(X, spec, { scales: sc, sizes: sz, roi: valuesOf(roi, 'roi') });
  },
  notes: 'opsets 10-13 (opset 18 antialias, axes and keep_aspect_ratio_policy not supported); nearest, linear and cubic in every coordinate mode',
});

defineOp('Upsample', {
  attributes: ['mode', 'scales'],
  check: (a) => checkSpec(a, 7, ['nearest', 'linear', 'bilinear']),
  run: ([x, s], a, ctx) => {
    const X = need([x], 0, 'X');
    // Scales are an attribute until opset 9, an input from then on.
    const scales = s ? ints(s, 'scales') : attrInts(a, 'scales');
    if (!scales) throw new TypeError("needs 'scales'");
    return resizeTensor(X, specOf(a, Math.min(ctx.opset, 10)), { scales });
  },
  notes: 'nearest and linear (asymmetric coordinates, as onnxruntime)',
});
