// Neural-network ops: convolution, pooling, normalization, dense layers, softmax, dropout and
// the losses. ONNX pads are [x1_begin, x2_begin, …, x1_end, x2_end, …] and may be asymmetric;
// libtorch's convolution and pooling take one symmetric pad per axis, so asymmetric pads are
// applied to the input first. Specs: https://onnx.ai/onnx/operators/ (onnx__<Op>.html).
import type { Tensor } from '../../../tensor/tensor.js';
import { dtypeCode } from '../../../tensor/dtype.js';
import { defineOp, attrInt, attrInts, attrFloat, attrString, type AttrValue } from './registry.js';
import { op, need, axis, cast, scalarOf, isFloat } from './util.js';

const CONV_ATTRS = ['auto_pad', 'dilations', 'group', 'kernel_shape', 'pads', 'strides'] as const;

interface Window {
  kernel: number[];
  strides: number[];
  dilations: number[];
  /** Per spatial axis: [begin, end]. */
  pads: [number, number][];
}

/** Kernel, strides, dilations and pads, with auto_pad resolved (SAME_UPPER puts the odd pad at the end). */
function windowOf(a: Record<string, AttrValue>, spatial: number[], kernel: number[], ceil = false): Window {
  const n = spatial.length;
  const strides = attrInts(a, 'strides') ?? Array(n).fill(1);
  const dilations = attrInts(a, 'dilations') ?? Array(n).fill(1);
  const autoPad = attrString(a, 'auto_pad', 'NOTSET');
  let pads: [number, number][];
  if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
    pads = spatial.map((size, i) => {
      const out = Math.ceil(size / strides[i]!);
      const total = Math.max(0, (out - 1) * strides[i]! + (kernel[i]! - 1) * dilations[i]! + 1 - size);
      const small = Math.floor(total / 2);
      return autoPad === 'SAME_UPPER' ? [small, total - small] : [total - small, small];
    });
  } else if (autoPad === 'VALID') {
    pads = spatial.map(() => [0, 0]);
  } else {
    const p = attrInts(a, 'pads') ?? Array(2 * n).fill(0);
    pads = spatial.map((_, i) => [p[i]!, p[i + n]!]);
  }
  void ceil;
  return { kernel, strides, dilations, pads };
}

/** Pads the spatial axes of an [N, C, …] tensor; returns the remaining symmetric pads for libtorch. */
function padAsymmetric(x: Tensor, pads: [number, number][], value: number, limit?: number[]): { x: Tensor; sym: number[] } {
  const symmetric = pads.every(([b, e], i) => b === e && (limit === undefined || b <= limit[i]!));
  if (symmetric || pads.every(([b, e]) => b === 0 && e === 0)) return { x, sym: pads.map(([b]) => b) };
  const torchPads: number[] = [];
  for (let i = pads.length - 1; i >= 0; i--) torchPads.push(pads[i]![0], pads[i]![1]);
  return { x: op('constant_pad_nd', '', x, torchPads, { float: value }), sym: pads.map(() => 0) };
}

defineOp('Conv', {
  attributes: CONV_ATTRS,
  run: ([x, w, b], a) => {
    const X = need([x], 0, 'X');
    const W = need([x, w], 1, 'W');
    const kernel = attrInts(a, 'kernel_shape') ?? W.shape.slice(2);
    const win = windowOf(a, X.shape.slice(2), kernel);
    const { x: xp, sym } = padAsymmetric(X, win.pads, 0);
    return op('convolution', '', xp, W, b ?? null, win.strides, sym, win.dilations, false, sym.map(() => 0), attrInt(a, 'group', 1));
  },
});

defineOp('ConvTranspose', {
  attributes: [...CONV_ATTRS, 'output_padding', 'output_shape'],
  run: ([x, w, b], a) => {
    const X = need([x], 0, 'X');
    const W = need([x, w], 1, 'W');
    const spatial = X.shape.slice(2);
    const n = spatial.length;
    const kernel = attrInts(a, 'kernel_shape') ?? W.shape.slice(2);
    const strides = attrInts(a, 'strides') ?? Array(n).fill(1);
    const dilations = attrInts(a, 'dilations') ?? Array(n).fill(1);
    const outPad = attrInts(a, 'output_padding') ?? Array(n).fill(0);
    const full = spatial.map((s, i) => strides[i]! * (s - 1) + outPad[i]! + (kernel[i]! - 1) * dilations[i]! + 1);
    const autoPad = attrString(a, 'auto_pad', 'NOTSET');
    let begin: number[];
    let size: number[];
    const outShape = attrInts(a, 'output_shape');
    if (outShape) {
      // The spec: total_padding = full - output_shape, its odd unit at the end for SAME_UPPER and
      // at the start otherwise. A negative total (an output larger than the full transposed
      // convolution) adds zeros at the end, as output_padding would.
      size = outShape.slice(-n);
      begin = size.map((s, i) => {
        const t = full[i]! - s;
        if (t <= 0) return 0;
        return autoPad === 'SAME_UPPER' ? Math.floor(t / 2) : t - Math.floor(t / 2);
      });
    } else if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
      size = spatial.map((s, i) => s * strides[i]!);
      const total = size.map((s, i) => full[i]! - s);
      begin = total.map((t) => (autoPad === 'SAME_UPPER' ? Math.floor(t / 2) : Math.ceil(t / 2)));
    } else {
      const p = attrInts(a, 'pads') ?? Array(2 * n).fill(0);
      begin = p.slice(0, n);
      size = full.map((f, i) => f - p[i]! - p[i + n]!);
    }
    // The full transposed convolution, the output padding as zeros at the end, then the crop; bias last.
    let y: Tensor = op('convolution', '', X, W, null, strides, Array(n).fill(0), dilations, true, Array(n).fill(0), attrInt(a, 'group', 1));
    const endPad = outPad.map((p, i) => p + Math.max(0, begin[i]! + size[i]! - full[i]!));
    if (endPad.some((p) => p > 0)) {
      const tp: number[] = [];
      for (let i = n - 1; i >= 0; i--) tp.push(0, endPad[i]!);
      y = op('constant_pad_nd', '', y, tp, { float: 0 });
    }
    for (let i = 0; i < n; i++) y = op('narrow', '', y, 2 + i, begin[i]!, size[i]!);
    if (b) y = op('add', 'Tensor', y, op('reshape', '', b, [1, -1, ...Array(n).fill(1)]), 1);
    return y.contiguous();
  },
});

const POOL_ATTRS = ['auto_pad', 'ceil_mode', 'dilations', 'kernel_shape', 'pads', 'strides', 'storage_order'] as const;

defineOp('MaxPool', {
  attributes: POOL_ATTRS,
  run: ([x], a, ctx) => {
    const X0 = need([x], 0, 'X');
    // libtorch pools floating types only: integer inputs pool in float64 (exact to 2^53) and cast back.
    const X = isFloat(X0) ? X0 : cast(X0, 'float64');
    const spatial = X.shape.slice(2);
    const n = spatial.length;
    const win = windowOf(a, spatial, attrInts(a, 'kernel_shape')!);
    const ceil = attrInt(a, 'ceil_mode', 0) === 1;
    const half = win.kernel.map((k) => Math.floor(k / 2));
    const { x: xp, sym } = padAsymmetric(X, win.pads, -Infinity, half);
    const name = n === 1 ? 'max_pool1d_with_indices' : n === 2 ? 'max_pool2d_with_indices' : 'max_pool3d_with_indices';
    const columnMajor = attrInt(a, 'storage_order', 0) === 1;
    let y: Tensor, i: Tensor;
    if (n === 1) {
      // No 1-D variant with indices: pool as 2-D over a unit height.
      const [y2, i2] = op<Tensor[]>('max_pool2d_with_indices', '', op('unsqueeze', '', xp, 2), [1, win.kernel[0]!], [1, win.strides[0]!], [0, sym[0]!], [1, win.dilations[0]!], ceil);
      [y, i] = [op('squeeze', 'dim', y2!, 2), op('squeeze', 'dim', i2!, 2)];
    } else {
      const [y2, i2] = op<Tensor[]>(name, '', xp, win.kernel, win.strides, sym, win.dilations, ceil);
      [y, i] = [y2!, i2!];
    }
    if (X !== X0) y = cast(y, X0.dtype);
    return finishMaxPool(y, i, X, xp, ctx.numOutputs, columnMajor);
  },
});

/**
 * ONNX's Indices count over the whole input tensor (N, C and the spatial axes); storage_order 1
 * numbers each plane's cells column-major (the first spatial axis fastest), N and C as before.
 */
function finishMaxPool(y: Tensor, idx: Tensor, x: Tensor, padded: Tensor, outputs: number, columnMajor: boolean): Tensor | Tensor[] {
  if (outputs < 2) return y;
  if (padded !== x) throw new RangeError('Indices with asymmetric pads are not supported');
  const dims = x.shape.slice(2);
  const plane = dims.reduce((p, d) => p * d, 1);
  const [nb, c] = x.shape as [number, number];
  let within = idx;
  if (columnMajor && dims.length > 1) {
    // Row-major plane index -> coordinates -> column-major index.
    let rest: Tensor = idx;
    let rowStride = plane;
    let colStride = 1;
    within = op('zeros_like', '', idx, null, null, null, null, null);
    const colStrides = dims.map((d) => { const s = colStride; colStride *= d; return s; });
    dims.forEach((d, k) => {
      rowStride /= d;
      const coord = op<Tensor>('div', 'Tensor_mode', rest, op('full', '', [], rowStride, dtypeCode('int64'), null, null, null), 'floor');
      rest = op('sub', 'Tensor', rest, op('mul', 'Scalar', coord, rowStride), 1);
      within = op('add', 'Tensor', within, op('mul', 'Scalar', coord, colStrides[k]!), 1);
    });
  }
  const base = op<Tensor>('mul', 'Scalar', op('reshape', '', op('arange', '', nb * c, 4, null, null, null), [nb, c, ...dims.map(() => 1)]), plane);
  return [y, op('add', 'Tensor', within, base, 1)];
}

defineOp('AveragePool', {
  attributes: [...POOL_ATTRS.filter((k) => k !== 'storage_order'), 'count_include_pad'],
  run: ([x], a) => {
    const X = need([x], 0, 'X');
    const spatial = X.shape.slice(2);
    const n = spatial.length;
    const win = windowOf(a, spatial, attrInts(a, 'kernel_shape')!);
    const ceil = attrInt(a, 'ceil_mode', 0) === 1;
    const includePad = attrInt(a, 'count_include_pad', 0) === 1;
    if (win.dilations.some((d) => d !== 1)) throw new RangeError('dilated average pooling is not supported');
    const pool = (t: Tensor, pads: number[], include: boolean): Tensor => {
      if (n === 1) return op('squeeze', 'dim', op('avg_pool2d', '', op('unsqueeze', '', t, 2), [1, win.kernel[0]!], [1, win.strides[0]!], [0, pads[0]!], ceil, include, null), 2);
      return op(n === 2 ? 'avg_pool2d' : 'avg_pool3d', '', t, win.kernel, win.strides, pads, ceil, include, null);
    };
    const half = win.kernel.map((k) => Math.floor(k / 2));
    const symmetric = win.pads.every(([b, e], i) => b === e && b <= half[i]!);
    if (symmetric) return pool(X, win.pads.map(([b]) => b), includePad);
    // Asymmetric pads: pool the zero-padded input and divide by the pooled mask of real (or padded) cells.
    const zero = Array(n).fill(0);
    const { x: xp } = padAsymmetric(X, win.pads, 0, zero);
    const sum = pool(xp, zero, true);
    if (includePad) return sum;
    const ones = op<Tensor>('ones', '', [1, 1, ...spatial], dtypeCode(X.dtype), null, null, null);
    const { x: mask } = padAsymmetric(ones, win.pads, 0, zero);
    return op('div', 'Tensor', sum, pool(mask, Array(n).fill(0), true));
  },
});

defineOp('GlobalAveragePool', { run: ([x]) => { const X = need([x], 0, 'X'); return op('mean', 'dim', X, X.shape.slice(2).map((_, i) => i + 2), true, null); } });
defineOp('GlobalMaxPool', { run: ([x]) => { const X = need([x], 0, 'X'); return op('amax', '', X, X.shape.slice(2).map((_, i) => i + 2), true); } });

defineOp('BatchNormalization', {
  attributes: ['epsilon', 'momentum', 'spatial', 'training_mode', 'is_test'],
  check: (a) => (a.spatial !== undefined && a.spatial !== 1 ? 'spatial 0 (per-activation statistics) is not supported' : null),
  run: ([x, scale, bias, mean, variance], a, ctx) => {
    const X = need([x], 0, 'X');
    const eps = attrFloat(a, 'epsilon', 1e-5);
    const training = attrInt(a, 'training_mode', 0) === 1;
    const S = need([x, scale], 1, 'scale'), B = need([x, scale, bias], 2, 'B');
    const M = need([x, scale, bias, mean], 3, 'input_mean'), V = need([x, scale, bias, mean, variance], 4, 'input_var');
    if (!training) return op('batch_norm', '', X, S, B, M, V, false, 0, eps, false);
    // Training mode: normalize by the batch's statistics; also return the updated running ones.
    const momentum = attrFloat(a, 'momentum', 0.9);
    const dims = X.shape.map((_, i) => i).filter((i) => i !== 1);
    const bm = op<Tensor>('mean', 'dim', X, dims, false, null);
    const bv = op<Tensor>('var', 'correction', X, dims, 0, false);
    const y = op<Tensor>('batch_norm', '', X, S, B, bm, bv, false, 0, eps, false);
    const rm = op<Tensor>('add', 'Tensor', op('mul', 'Scalar', M, { float: momentum }), op('mul', 'Scalar', bm, { float: 1 - momentum }), 1);
    const rv = op<Tensor>('add', 'Tensor', op('mul', 'Scalar', V, { float: momentum }), op('mul', 'Scalar', bv, { float: 1 - momentum }), 1);
    return ctx.numOutputs >= 3 ? [y, rm, rv] : y;
  },
});

defineOp('InstanceNormalization', {
  attributes: ['epsilon'],
  run: ([x, s, b], a) => op('instance_norm', '', need([x], 0, 'input'), need([x, s], 1, 'scale'), need([x, s, b], 2, 'B'), null, null, true, 0, attrFloat(a, 'epsilon', 1e-5), false),
});

defineOp('LayerNormalization', {
  attributes: ['axis', 'epsilon', 'stash_type'],
  run: ([x, s, b], a, ctx) => {
    const X = need([x], 0, 'X');
    const ax = axis(attrInt(a, 'axis', -1), X.ndim);
    const eps = attrFloat(a, 'epsilon', 1e-5);
    const dims = X.shape.slice(ax).map((_, i) => ax + i);
    const xf = cast(X, 'float32');
    const mean = op<Tensor>('mean', 'dim', xf, dims, true, null);
    const centered = op<Tensor>('sub', 'Tensor', xf, mean, 1);
    const variance = op<Tensor>('mean', 'dim', op('mul', 'Tensor', centered, centered), dims, true, null);
    const invStd = op<Tensor>('rsqrt', '', op('add', 'Scalar', variance, { float: eps }, 1));
    let y: Tensor = op('mul', 'Tensor', op('mul', 'Tensor', centered, invStd), need([x, s], 1, 'Scale'));
    if (b) y = op('add', 'Tensor', y, b, 1);
    y = cast(y, X.dtype);
    return ctx.numOutputs === 1 ? y : [y, mean, invStd].slice(0, ctx.numOutputs);
  },
});

defineOp('MeanVarianceNormalization', {
  attributes: ['axes'],
  run: ([x], a) => {
    const X = need([x], 0, 'X');
    const dims = (attrInts(a, 'axes') ?? [0, 2, 3]).map((d) => axis(d, X.ndim));
    const mean = op<Tensor>('mean', 'dim', X, dims, true, null);
    const centered = op<Tensor>('sub', 'Tensor', X, mean, 1);
    const std = op<Tensor>('sqrt', '', op('mean', 'dim', op('mul', 'Tensor', centered, centered), dims, true, null));
    return op('div', 'Tensor', centered, op('add', 'Scalar', std, { float: 1e-9 }, 1));
  },
});

defineOp('LRN', {
  attributes: ['alpha', 'beta', 'bias', 'size'],
  // square_sum over channels [c - floor((size-1)/2), c + ceil((size-1)/2)]; y = x / (bias + alpha/size * square_sum)^beta.
  run: ([x], a) => {
    const X = need([x], 0, 'X');
    const size = attrInt(a, 'size')!;
    const alpha = attrFloat(a, 'alpha', 1e-4), beta = attrFloat(a, 'beta', 0.75), bias = attrFloat(a, 'bias', 1);
    const c = X.shape[1]!;
    const sq = op<Tensor>('mul', 'Tensor', X, X);
    const before = Math.floor((size - 1) / 2), after = Math.ceil((size - 1) / 2);
    const tp: number[] = [];
    for (let d = X.ndim - 1; d >= 2; d--) tp.push(0, 0);
    tp.push(before, after);
    const padded = op<Tensor>('constant_pad_nd', '', sq, tp, { float: 0 });
    let sum: Tensor = op('narrow', '', padded, 1, 0, c);
    for (let k = 1; k < size; k++) sum = op('add', 'Tensor', sum, op('narrow', '', padded, 1, k, c), 1);
    const denom = op<Tensor>('pow', 'Tensor_Scalar', op('add', 'Scalar', op('mul', 'Scalar', sum, { float: alpha / size }), { float: bias }, 1), { float: beta });
    return op('div', 'Tensor', X, denom);
  },
});

defineOp('Gemm', {
  attributes: ['alpha', 'beta', 'transA', 'transB', 'broadcast'],
  run: ([A, B, C], a) => {
    let x = need([A], 0, 'A');
    let w = need([A, B], 1, 'B');
    if (attrInt(a, 'transA', 0)) x = op('t', '', x);
    if (attrInt(a, 'transB', 0)) w = op('t', '', w);
    const alpha = attrFloat(a, 'alpha', 1), beta = attrFloat(a, 'beta', 1);
    if (!C || beta === 0) {
      const y = op<Tensor>('mm', '', x, w);
      return alpha === 1 ? y : op('mul', 'Scalar', y, { float: alpha });
    }
    return op('addmm', '', C, x, w, { float: beta }, { float: alpha });
  },
});

defineOp('MatMul', { run: ([a, b]) => op('matmul', '', need([a], 0, 'A'), need([a, b], 1, 'B')) });
defineOp('Einsum', { attributes: ['equation'], run: (xs, a) => op('einsum', '', attrString(a, 'equation', ''), xs.filter((t): t is Tensor => t !== undefined), null) });

// Opset < 13: Softmax and its kin flatten the input to 2-D at `axis` (default 1) and normalize each row.
function rowwise(name: 'softmax' | 'log_softmax' | 'hardmax') {
  const apply = (t: Tensor, d: number): Tensor => {
    if (name !== 'hardmax') return op(name, 'int', t, d, null);
    const idx = op<Tensor>('argmax', '', t, d, true);
    return op('scatter', 'value', op('zeros_like', '', t, null, null, null, null, null), d, idx, 1);
  };
  return ([x]: (Tensor | undefined)[], a: Record<string, AttrValue>, ctx: { opset: number }): Tensor => {
    const X = need([x], 0, 'input');
    if (ctx.opset >= 13) return apply(X, axis(attrInt(a, 'axis', -1), X.ndim));
    const ax = axis(attrInt(a, 'axis', 1), X.ndim);
    const rows = X.shape.slice(0, ax).reduce((p, d) => p * d, 1);
    const flat = op<Tensor>('reshape', '', X, [rows, -1]);
    return op('reshape', '', apply(flat, 1), X.shape);
  };
}
defineOp('Softmax', { attributes: ['axis'], run: rowwise('softmax') });
defineOp('LogSoftmax', { attributes: ['axis'], run: rowwise('log_softmax') });
defineOp('Hardmax', { attributes: ['axis'], run: rowwise('hardmax') });

defineOp('Dropout', {
  // Inference (and ratio 0) is the identity with an all-true mask; training draws a fresh mask.
  attributes: ['ratio', 'seed', 'is_test'],
  run: ([x, r, t], a, ctx) => {
    const X = need([x], 0, 'data');
    const ratio = r ? scalarOf(r) : attrFloat(a, 'ratio', 0.5);
    const training = t ? scalarOf(t) !== 0 : false;
    let y: Tensor = X;
    let mask: Tensor;
    if (training && ratio > 0) {
      mask = op('ge', 'Scalar', op('rand_like', '', X, null, null, null, null, null), { float: ratio });
      y = op('div', 'Scalar', op('mul', 'Tensor', X, mask), { float: 1 - ratio });
    } else {
      mask = op('ones_like', '', X, dtypeCode('bool'), null, null, null, null);
    }
    return ctx.numOutputs >= 2 ? [y, mask] : y;
  },
});

// ---- losses ----

const REDUCTION: Record<string, number> = { none: 0, mean: 1, sum: 2 };

function nll(logProb: Tensor, target: Tensor, weight: Tensor | undefined, reduction: string, ignoreIndex: number | undefined): Tensor {
  const r = REDUCTION[reduction];
  if (r === undefined) throw new RangeError(`reduction '${reduction}' must be none, mean or sum`);
  const t = cast(target, 'int64');
  // libtorch needs an ignore_index; one no class uses stands for "none".
  return op('nll_loss_nd', '', logProb, t, weight ?? null, r, ignoreIndex ?? -(2 ** 31));
}

defineOp('NegativeLogLikelihoodLoss', {
  attributes: ['reduction', 'ignore_index'],
  run: ([x, t, w], a) => nll(need([x], 0, 'input'), need([x, t], 1, 'target'), w, attrString(a, 'reduction', 'mean'), attrInt(a, 'ignore_index')),
});
defineOp('SoftmaxCrossEntropyLoss', {
  attributes: ['reduction', 'ignore_index'],
  run: ([x, t, w], a, ctx) => {
    const X = need([x], 0, 'scores');
    const logp = op<Tensor>('log_softmax', 'int', X, 1, null);
    const loss = nll(logp, need([x, t], 1, 'labels'), w, attrString(a, 'reduction', 'mean'), attrInt(a, 'ignore_index'));
    return ctx.numOutputs >= 2 ? [loss, logp] : loss;
  },
});
