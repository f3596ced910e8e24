// Shape, indexing and tensor-making ops. Shapes, axes and indices that ONNX passes as tensors
// (Reshape's shape, Slice's starts) are read back to JS numbers: they are small.
// Specs: https://onnx.ai/onnx/operators/ (onnx__<Op>.html).
import type { Tensor } from '../../../tensor/tensor.js';
import { dtypeCode } from '../../../tensor/dtype.js';
import { tensor } from '../../../tensor/create.js';
import { dtypeOfOnnx, onnxTypeName } from '../proto.js';
import { defineOp, opHandler, attrInt, attrInts, attrFloat, type AttrValue } from './registry.js';
import { op, need, ints, axis, cast, int64, scalarOf, isFloat } from './util.js';

const prod = (xs: readonly number[]) => xs.reduce((a, b) => a * b, 1);

// Tensors, sequences and optionals alike (the node layer returns a copy).
defineOp('Identity', { values: true, run: ([x]) => need([x], 0, 'input') });

defineOp('Constant', {
  // A tensor attribute 'value' is held by the layer as '@value' (or 'value' for a shared initializer).
  attributes: ['value', 'value_float', 'value_floats', 'value_int', 'value_ints'],
  check: (a) => ('value_string' in a || 'value_strings' in a ? 'string constants are not supported' : null),
  run: (inputs, a, ctx) => {
    const held = ctx.tensorAttr('value') ?? inputs.find((t) => t !== undefined);
    if (held) return held;
    if (a.value_float !== undefined) return tensor([attrFloat(a, 'value_float')!]).reshape([]);
    if (a.value_floats !== undefined) return tensor(attrInts(a, 'value_floats')!, { dtype: 'float32' });
    if (a.value_int !== undefined) return int64([attrInt(a, 'value_int')!], []);
    if (a.value_ints !== undefined) return int64(attrInts(a, 'value_ints')!);
    throw new TypeError('has no value');
  },
});

defineOp('Reshape', {
  attributes: ['allowzero', 'shape'],
  run: ([x, s], a) => {
    const X = need([x], 0, 'data');
    const shape = s ? ints(s, 'shape') : attrInts(a, 'shape') ?? []; // an attribute before opset 5
    const allowZero = attrInt(a, 'allowzero', 0) === 1;
    const target = shape.map((d, i) => (d === 0 && !allowZero ? X.shape[i]! : d));
    return op('reshape', '', X, target);
  },
});

defineOp('Shape', {
  attributes: ['start', 'end'],
  run: ([x], a) => {
    const dims = need([x], 0, 'data').shape;
    const clampAxis = (v: number) => Math.min(Math.max(v < 0 ? v + dims.length : v, 0), dims.length);
    return int64(dims.slice(clampAxis(attrInt(a, 'start', 0)), clampAxis(attrInt(a, 'end', dims.length))));
  },
});
defineOp('Size', { run: ([x]) => int64([prod(need([x], 0, 'data').shape)], []) });

defineOp('Cast', {
  attributes: ['to', 'saturate'],
  check: (a) => (dtypeOfOnnx(Number(a.to)) ? null : `cast to ${onnxTypeName(Number(a.to))}, which libtorch has no dtype for`),
  run: ([x], a) => cast(need([x], 0, 'input'), dtypeOfOnnx(Number(a.to))!),
});
defineOp('CastLike', { run: ([x, like]) => cast(need([x], 0, 'input'), need([x, like], 1, 'target_type').dtype) });

defineOp('Transpose', {
  attributes: ['perm'],
  run: ([x], a) => {
    const X = need([x], 0, 'data');
    const perm = attrInts(a, 'perm') ?? X.shape.map((_, i) => X.ndim - 1 - i);
    return op('permute', '', X, perm);
  },
});

/** Axes from an attribute (older opsets) or an input (opset 13 on for Squeeze, Unsqueeze, ReduceSum; 18 for the others). */
export function axesOf(a: Record<string, AttrValue>, t: Tensor | undefined): number[] | undefined {
  if (t) return ints(t, 'axes');
  return attrInts(a, 'axes');
}

defineOp('Squeeze', {
  attributes: ['axes'],
  run: ([x, ax], a) => {
    const X = need([x], 0, 'data');
    const axes = axesOf(a, ax);
    if (!axes || axes.length === 0) return op('reshape', '', X, X.shape.filter((d) => d !== 1));
    const drop = new Set(axes.map((v) => axis(v, X.ndim)));
    for (const d of drop) if (X.shape[d] !== 1) throw new RangeError(`cannot squeeze axis ${d} of size ${X.shape[d]} (input shape [${X.shape.join(', ')}])`);
    return op('reshape', '', X, X.shape.filter((_, i) => !drop.has(i)));
  },
});
defineOp('Unsqueeze', {
  attributes: ['axes'],
  run: ([x, ax], a) => {
    const X = need([x], 0, 'data');
    const axes = axesOf(a, ax) ?? [];
    const rank = X.ndim + axes.length;
    const add = new Set(axes.map((v) => axis(v, rank)));
    const shape: number[] = [];
    let k = 0;
    for (let i = 0; i < rank; i++) shape.push(add.has(i) ? 1 : X.shape[k++]!);
    return op('reshape', '', X, shape);
  },
});
defineOp('Flatten', {
  attributes: ['axis'],
  run: ([x], a) => {
    const X = need([x], 0, 'input');
    const ax = attrInt(a, 'axis', 1);
    const k = ax < 0 ? ax + X.ndim : ax;
    return op('reshape', '', X, [prod(X.shape.slice(0, k)), prod(X.shape.slice(k))]);
  },
});

defineOp('Concat', {
  attributes: ['axis'],
  run: (xs, a, ctx) => {
    const ts = xs.filter((t): t is Tensor => t !== undefined);
    return op('cat', '', ts, axis(attrInt(a, 'axis', ctx.opset < 4 ? 1 : 0), ts[0]!.ndim));
  },
});

defineOp('Split', {
  attributes: ['axis', 'split', 'num_outputs'],
  run: ([x, sp], a, ctx) => {
    const X = need([x], 0, 'input');
    const ax = axis(attrInt(a, 'axis', 0), X.ndim);
    let sizes = sp ? ints(sp, 'split') : attrInts(a, 'split');
    if (!sizes || sizes.length === 0) {
      const n = ctx.numOutputs;
      const each = Math.ceil(X.shape[ax]! / n);
      sizes = Array.from({ length: n }, (_, i) => Math.max(0, Math.min(each, X.shape[ax]! - i * each)));
    }
    return op<Tensor[]>('split_with_sizes', '', X, sizes, ax);
  },
});

defineOp('Slice', {
  // Opset < 10: starts/ends/axes are attributes; from 10 they (and steps) are inputs.
  attributes: ['starts', 'ends', 'axes'],
  run: ([x, st, en, ax, sp], a, ctx) => {
    const X = need([x], 0, 'data');
    const starts = ctx.opset < 10 ? attrInts(a, 'starts')! : ints(st, 'starts');
    const ends = ctx.opset < 10 ? attrInts(a, 'ends')! : ints(en, 'ends');
    const axes = (ctx.opset < 10 ? attrInts(a, 'axes') : ax ? ints(ax, 'axes') : undefined) ?? starts.map((_, i) => i);
    const steps = sp ? ints(sp, 'steps') : starts.map(() => 1);
    let cur: Tensor = X;
    axes.forEach((axRaw, i) => {
      const d = axis(axRaw, X.ndim);
      const n = X.shape[d]!;
      const step = steps[i]!;
      if (step === 0) throw new RangeError('a step of 0');
      let s = starts[i]!;
      let e = ends[i]!;
      s = s < 0 ? s + n : s;
      e = e < 0 ? e + n : e;
      if (step > 0) {
        s = Math.min(Math.max(s, 0), n);
        e = Math.min(Math.max(e, 0), n);
        cur = op('slice', 'Tensor', cur, d, s, Math.max(s, e), step);
      } else {
        s = Math.min(Math.max(s, -1), n - 1);
        e = Math.min(Math.max(e, -1), n - 1);
        const idx: number[] = [];
        for (let k = s; k > e; k += step) idx.push(k);
        cur = op('index_select', '', cur, d, int64(idx));
      }
    });
    return cur === X ? op('alias', '', X) : cur;
  },
});

/** Indices with negative values counted from the end of an axis of size n. */
function wrapIndices(idx: Tensor, n: number): Tensor {
  const i64 = idx.dtype === 'int64' ? idx : cast(idx, 'int64');
  return op('where', 'self', op('lt', 'Scalar', i64, 0), op('add', 'Scalar', i64, n, 1), i64);
}

defineOp('Gather', {
  attributes: ['axis'],
  run: ([x, i], a) => {
    const X = need([x], 0, 'data');
    const I = need([x, i], 1, 'indices');
    const d = axis(attrInt(a, 'axis', 0), X.ndim);
    const idx = wrapIndices(I, X.shape[d]!);
    const picked = op<Tensor>('index_select', '', X, d, op('reshape', '', idx, [-1]));
    return op('reshape', '', picked, [...X.shape.slice(0, d), ...I.shape, ...X.shape.slice(d + 1)]);
  },
});
defineOp('GatherElements', {
  attributes: ['axis'],
  run: ([x, i], a) => {
    const X = need([x], 0, 'data');
    const d = axis(attrInt(a, 'axis', 0), X.ndim);
    return op('gather', '', X, d, wrapIndices(need([x, i], 1, 'indices'), X.shape[d]!));
  },
});
defineOp('GatherND', {
  attributes: ['batch_dims'],
  run: ([x, i], a) => {
    const X = need([x], 0, 'data');
    const I = need([x, i], 1, 'indices');
    const b = attrInt(a, 'batch_dims', 0);
    const k = I.shape[I.ndim - 1]!;
    const batch = X.shape.slice(0, b);
    const B = prod(batch);
    const rest = X.shape.slice(b + k);
    // Flatten the batch dims and the k indexed dims into one: data [B * prod(indexed), ...rest].
    const indexed = X.shape.slice(b, b + k);
    const flatData = op<Tensor>('reshape', '', X, [B * prod(indexed), ...rest]);
    const idxShape = I.shape.slice(b, -1);
    const idx = op<Tensor>('reshape', '', cast(I, 'int64'), [B, prod(idxShape), k]);
    let lin: Tensor = op('mul', 'Scalar', op('arange', '', B, 4, null, null, null), prod(indexed));
    lin = op('reshape', '', lin, [B, 1]);
    let stride = 1;
    for (let j = k - 1; j >= 0; j--) {
      const col = wrapIndices(op('select', 'int', idx, 2, j), indexed[j]!);
      lin = op('add', 'Tensor', lin, op('mul', 'Scalar', col, stride), 1);
      stride *= indexed[j]!;
    }
    const picked = op<Tensor>('index_select', '', flatData, 0, op('reshape', '', lin, [-1]));
    return op('reshape', '', picked, [...batch, ...idxShape, ...rest]);
  },
});

defineOp('ScatterElements', {
  attributes: ['axis', 'reduction'],
  run: ([x, i, u], a) => {
    const X = need([x], 0, 'data');
    const d = axis(attrInt(a, 'axis', 0), X.ndim);
    const idx = wrapIndices(need([x, i], 1, 'indices'), X.shape[d]!);
    const U = need([x, i, u], 2, 'updates');
    const red = a.reduction ?? 'none';
    if (red === 'none') return op('scatter', 'src', X, d, idx, U);
    const map: Record<string, string> = { add: 'sum', mul: 'prod', max: 'amax', min: 'amin' };
    if (!map[red as string]) throw new RangeError(`reduction '${red}' is not supported`);
    return op('scatter_reduce', 'two', X, d, idx, U, map[red as string]!, true);
  },
});
defineOp('Scatter', { attributes: ['axis'], run: ([x, i, u], a) => {
  const X = need([x], 0, 'data');
  const d = axis(attrInt(a, 'axis', 0), X.ndim);
  return op('scatter', 'src', X, d, wrapIndices(need([x, i], 1, 'indices'), X.shape[d]!), need([x, i, u], 2, 'updates'));
} });
defineOp('ScatterND', {
  attributes: ['reduction'],
  run: ([x, i, u], a) => {
    const X = need([x], 0, 'data');
    const I = cast(need([x, i], 1, 'indices'), 'int64');
    const U = need([x, i, u], 2, 'updates');
    const k = I.shape[I.ndim - 1]!;
    const cols = Array.from({ length: k }, (_, j) => wrapIndices(op('select', 'int', I, -1, j), X.shape[j]!));
    const red = a.reduction ?? 'none';
    if (red === 'none' || red === 'add') return op('index_put', '', X, cols, U, red === 'add');
    // mul, max, min: every update applies, duplicates included, so scatter_reduce over the
    // flattened indexed dims (an index_put of gathered values would keep only the last duplicate).
    const aten = ({ mul: 'prod', max: 'amax', min: 'amin' } as Record<string, string>)[red as string];
    if (!aten) throw new RangeError(`reduction '${red}' is not supported (none, add, mul, max, min)`);
    const indexed = X.shape.slice(0, k);
    const rest = X.shape.slice(k);
    let lin: Tensor = op('zeros_like', '', cols[0]!, null, null, null, null, null);
    for (let j = 0; j < k; j++) lin = op('add', 'Tensor', op('mul', 'Scalar', lin, indexed[j]!), cols[j]!, 1);
    const count = prod(I.shape.slice(0, -1));
    const src = op<Tensor>('reshape', '', U, [count, prod(rest)]);
    const index = op<Tensor>('expand', '', op('reshape', '', lin, [count, 1]), src.shape);
    const flat = op<Tensor>('reshape', '', X, [prod(indexed), prod(rest)]);
    return op('reshape', '', op('scatter_reduce', 'two', flat, 0, index, src, aten, true), X.shape);
  },
});

defineOp('Expand', {
  // Bidirectional broadcasting: the output shape is broadcast(input's shape, shape).
  run: ([x, s]) => {
    const X = need([x], 0, 'input');
    const shape = ints(s, 'shape');
    const rank = Math.max(X.ndim, shape.length);
    const a = [...Array(rank - X.ndim).fill(1), ...X.shape];
    const b = [...Array(rank - shape.length).fill(1), ...shape];
    const out = a.map((d, i) => {
      if (d === b[i] || b[i] === 1) return d;
      if (d === 1) return b[i]!;
      throw new RangeError(`cannot broadcast input shape [${X.shape.join(', ')}] to [${shape.join(', ')}]`);
    });
    return op('expand', '', op('reshape', '', X, a), out);
  },
});
defineOp('Tile', { run: ([x, r]) => op('repeat', '', need([x], 0, 'input'), ints(r, 'repeats')) });

defineOp('Pad', {
  // Opset < 11: pads and value are attributes. pads = [x1_begin, x2_begin, …, x1_end, x2_end, …].
  attributes: ['mode', 'pads', 'paddings', 'value'],
  run: ([x, p, v, ax], a, ctx) => {
    const X = need([x], 0, 'data');
    const mode = (a.mode as string | undefined) ?? 'constant';
    let pads = ctx.opset < 11 ? (attrInts(a, 'pads') ?? attrInts(a, 'paddings'))! : ints(p, 'pads');
    const value = ctx.opset < 11 ? attrFloat(a, 'value', 0) : v ? scalarOf(v) : 0;
    if (ax) {
      const axes = ints(ax, 'axes').map((d) => axis(d, X.ndim));
      const full = Array(2 * X.ndim).fill(0);
      axes.forEach((d, i) => { full[d] = pads[i]!; full[d + X.ndim] = pads[i + axes.length]!; });
      pads = full;
    }
    const n = X.ndim;
    // libtorch wants (last_begin, last_end, …, first_begin, first_end).
    const torchPads: number[] = [];
    for (let d = n - 1; d >= 0; d--) torchPads.push(pads[d]!, pads[d + n]!);
    if (mode === 'constant') return op('constant_pad_nd', '', X, torchPads, isFloat(X) ? { float: value } : value);
    const torchMode = mode === 'edge' ? 'replicate' : mode === 'reflect' ? 'reflect' : null;
    if (!torchMode) throw new RangeError(`mode '${mode}' is not supported (constant, reflect, edge)`);
    // libtorch's reflect and replicate pads take floating types only: integers pad in float64 (exact to 2^53).
    if (!isFloat(X)) return cast(opHandler('Pad').run([cast(X, 'float64'), p, v, ax], a, ctx) as Tensor, X.dtype);
    // libtorch pads only the trailing (rank - 2) dims in these modes: move padded dims there.
    while (torchPads.length > 0 && torchPads[torchPads.length - 1] === 0 && torchPads[torchPads.length - 2] === 0) torchPads.splice(-2, 2);
    const k = torchPads.length / 2;
    if (k > n - 2 || k > 3) {
      const lead = 2 + k - n > 0 ? 2 + k - n : 0;
      const padded = op<Tensor>('reshape', '', X, [...Array(lead).fill(1), ...X.shape]);
      const r = op<Tensor>('pad', '', padded, torchPads, torchMode, null);
      return op('reshape', '', r, r.shape.slice(lead));
    }
    return op('pad', '', X, torchPads, torchMode, null);
  },
});

defineOp('ConstantOfShape', {
  attributes: ['value'],
  run: ([s], _a, ctx) => {
    const shape = ints(s, 'input');
    const held = ctx.tensorAttr('value');
    if (!held) return op('zeros', '', shape, dtypeCode('float32'), null, null, null);
    return op('expand', '', op('reshape', '', held, []), shape).contiguous();
  },
});

defineOp('Range', {
  run: ([s, l, d]) => {
    const S = need([s], 0, 'start');
    const start = scalarOf(S), limit = scalarOf(need([s, l], 1, 'limit')), delta = scalarOf(need([s, l, d], 2, 'delta'));
    const n = Math.max(Math.ceil((limit - start) / delta), 0);
    // arange from the count: libtorch's own rounding of (limit - start) / delta can differ by one.
    const idx = op<Tensor>('arange', '', n, dtypeCode('float64'), null, null, null);
    return cast(op('add', 'Scalar', op('mul', 'Scalar', idx, { float: delta }), { float: start }, 1), S.dtype);
  },
});

defineOp('Trilu', {
  attributes: ['upper'],
  run: ([x, k], a) => op(attrInt(a, 'upper', 1) ? 'triu' : 'tril', '', need([x], 0, 'input'), k ? scalarOf(k) : 0),
});

defineOp('CumSum', {
  attributes: ['exclusive', 'reverse'],
  run: ([x, ax], a) => {
    const X = need([x], 0, 'x');
    const d = axis(scalarOf(need([x, ax], 1, 'axis')), X.ndim);
    let t: Tensor = attrInt(a, 'reverse', 0) ? op('flip', '', X, [d]) : X;
    let c: Tensor = op('cumsum', '', t, d, dtypeCode(X.dtype));
    if (attrInt(a, 'exclusive', 0)) c = op('sub', 'Tensor', c, t, 1);
    if (attrInt(a, 'reverse', 0)) c = op('flip', '', c, [d]);
    t = c;
    return t;
  },
});

defineOp('EyeLike', {
  attributes: ['dtype', 'k'],
  run: ([x], a) => {
    const X = need([x], 0, 'input');
    const dtype = a.dtype !== undefined ? dtypeOfOnnx(Number(a.dtype)) : X.dtype;
    if (!dtype) throw new RangeError(`dtype ${onnxTypeName(Number(a.dtype))} has no libtorch dtype`);
    const [n, m] = X.shape as [number, number];
    const k = attrInt(a, 'k', 0);
    const ones = op<Tensor>('ones', '', [n, m], dtypeCode('float32'), null, null, null);
    const band = k >= 0 ? op<Tensor>('sub', 'Tensor', op('triu', '', ones, k), op('triu', '', ones, k + 1), 1) : op<Tensor>('sub', 'Tensor', op('tril', '', ones, k), op('tril', '', ones, k - 1), 1);
    return cast(band, dtype);
  },
});

defineOp('OneHot', {
  attributes: ['axis'],
  run: ([i, dp, v], a) => {
    const I = need([i], 0, 'indices');
    const depth = scalarOf(need([i, dp], 1, 'depth'));
    const V = need([i, dp, v], 2, 'values');
    const idx = op<Tensor>('remainder', 'Scalar', op('add', 'Scalar', cast(I, 'int64'), depth, 1), depth); // negative from the end
    let hot: Tensor = op('one_hot', '', idx, depth);
    const rank = I.ndim + 1;
    const ax = axis(attrInt(a, 'axis', -1), rank);
    if (ax !== rank - 1) hot = op('movedim', 'int', hot, rank - 1, ax);
    const off = op<Tensor>('select', 'int', V, 0, 0);
    const on = op<Tensor>('select', 'int', V, 0, 1);
    return op('where', 'self', op('eq', 'Scalar', hot, 1), on, off);
  },
});

defineOp('NonZero', { run: ([x]) => op('t', '', op('nonzero', '', need([x], 0, 'X'))).contiguous() });

defineOp('TopK', {
  attributes: ['axis', 'largest', 'sorted', 'k'],
  run: ([x, k], a, ctx) => {
    const X = need([x], 0, 'X');
    const K = ctx.opset < 10 ? attrInt(a, 'k', 1) : scalarOf(need([x, k], 1, 'K'));
    const d = axis(attrInt(a, 'axis', -1), X.ndim);
    const largest = attrInt(a, 'largest', 1) === 1;
    // Ties go to the lower index (the spec); a stable sort gives that, topk need not.
    const [values, indices] = op<Tensor[]>('sort', 'stable', X, true, d, largest);
    return [op('narrow', '', values!, d, 0, K).contiguous(), op('narrow', '', indices!, d, 0, K).contiguous()];
  },
});

for (const [name, aten] of [['ArgMax', 'argmax'], ['ArgMin', 'argmin']] as const) {
  defineOp(name, {
    attributes: ['axis', 'keepdims', 'select_last_index'],
    run: ([x], a) => {
      const X = need([x], 0, 'data');
      const d = axis(attrInt(a, 'axis', 0), X.ndim);
      const keep = attrInt(a, 'keepdims', 1) === 1;
      if (attrInt(a, 'select_last_index', 0) === 1) {
        const r = op<Tensor>(aten, '', op('flip', '', X, [d]), d, keep);
        return op('sub', 'Scalar', op('neg', '', r), -(X.shape[d]! - 1), 1);
      }
      return op(aten, '', X, d, keep);
    },
  });
}

defineOp('Compress', {
  attributes: ['axis'],
  run: ([x, c], a) => {
    const X = need([x], 0, 'input');
    const cond = ints(need([x, c], 1, 'condition'), 'condition');
    const ax = a.axis === undefined ? undefined : axis(attrInt(a, 'axis')!, X.ndim);
    const src: Tensor = ax === undefined ? op('reshape', '', X, [-1]) : X;
    const d = ax ?? 0;
    const keep = cond.slice(0, src.shape[d]).flatMap((v, i) => (v ? [i] : []));
    return op('index_select', '', src, d, int64(keep));
  },
});

defineOp('DepthToSpace', {
  attributes: ['blocksize', 'mode'],
  run: ([x], a) => {
    const X = need([x], 0, 'input');
    const b = attrInt(a, 'blocksize')!;
    const [n, c, h, w] = X.shape as [number, number, number, number];
    if (((a.mode as string | undefined) ?? 'DCR') === 'DCR') {
      const t = op<Tensor>('permute', '', op('reshape', '', X, [n, b, b, c / (b * b), h, w]), [0, 3, 4, 1, 5, 2]);
      return op('reshape', '', t, [n, c / (b * b), h * b, w * b]);
    }
    const t = op<Tensor>('permute', '', op('reshape', '', X, [n, c / (b * b), b, b, h, w]), [0, 1, 4, 2, 5, 3]);
    return op('reshape', '', t, [n, c / (b * b), h * b, w * b]);
  },
});
defineOp('SpaceToDepth', {
  attributes: ['blocksize'],
  run: ([x], a) => {
    const X = need([x], 0, 'input');
    const b = attrInt(a, 'blocksize')!;
    const [n, c, h, w] = X.shape as [number, number, number, number];
    const t = op<Tensor>('permute', '', op('reshape', '', X, [n, c, h / b, b, w / b, b]), [0, 3, 5, 1, 2, 4]);
    return op('reshape', '', t, [n, c * b * b, h / b, w / b]);
  },
});

defineOp('ReverseSequence', {
  attributes: ['batch_axis', 'time_axis'],
  run: ([x, l], a) => {
    const X = need([x], 0, 'input');
    const lens = ints(need([x, l], 1, 'sequence_lens'), 'sequence_lens');
    const bAx = attrInt(a, 'batch_axis', 1);
    const tAx = attrInt(a, 'time_axis', 0);
    const parts = lens.map((len, b) => {
      const row = op<Tensor>('narrow', '', X, bAx, b, 1);
      const head = op<Tensor>('flip', '', op('narrow', '', row, tAx, 0, len), [tAx]);
      const tail = op<Tensor>('narrow', '', row, tAx, len, X.shape[tAx]! - len);
      return op<Tensor>('cat', '', [head, tail], tAx);
    });
    return op('cat', '', parts, bAx);
  },
});
