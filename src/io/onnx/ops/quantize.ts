// Linear quantization and integer arithmetic: QuantizeLinear, DequantizeLinear,
// DynamicQuantizeLinear, ConvInteger, MatMulInteger, QLinearConv, QLinearMatMul.
// q = saturate(round_half_even(x / scale) + zero_point); x = (q - zero_point) * scale.
// libtorch has no integer convolution on CPU, so the integer ops compute in float64 (exact for
// every int32 accumulator a uint8/int8 product sum can reach) and cast the result.
// Specs: https://onnx.ai/onnx/operators/ (onnx__<Op>.html).
import type { Tensor } from '../../../tensor/tensor.js';
import { dtypeCode, type DType } from '../../../tensor/dtype.js';
import { dtypeOfOnnx, onnxTypeName } from '../proto.js';
import { defineOp, opHandler, attrInt, type AttrValue, type OpContext } from './registry.js';
import { op, need, axis, cast, scalarOf } from './util.js';

const numel = (t: Tensor): number => t.shape.reduce((p, d) => p * d, 1);

/** The saturation range of each quantized type libtorch can hold. */
const RANGE: Partial<Record<DType, [number, number]>> = { uint8: [0, 255], int8: [-128, 127], int16: [-32768, 32767] };

function rangeOf(dtype: DType, what: string): [number, number] {
  const r = RANGE[dtype];
  if (!r) throw new TypeError(`${what} has dtype ${dtype}; quantized types are uint8, int8 and int16`);
  return r;
}

/**
 * A scale or zero point shaped to broadcast against x: a single value as a scalar, a 1-D tensor
 * (per-axis quantization) along `axis`.
 */
function alongAxis(t: Tensor, x: Tensor, ax: number, what: string): Tensor {
  const n = numel(t);
  if (n === 1) return op('reshape', '', t, []);
  if (t.ndim !== 1) throw new RangeError(`${what} must be a scalar or 1-D (per-axis), got shape [${t.shape.join(', ')}]`);
  const d = axis(ax, x.ndim);
  if (x.shape[d] !== n) throw new RangeError(`${what} has ${n} values for axis ${d} of size ${x.shape[d]} (input shape [${x.shape.join(', ')}])`);
  return op('reshape', '', t, x.shape.map((s, i) => (i === d ? s : 1)));
}

/** A per-tensor parameter (one value, any rank) as a scalar. */
function single(t: Tensor, what: string): Tensor {
  if (numel(t) !== 1) throw new RangeError(`${what} must be a single value (per-tensor), got shape [${t.shape.join(', ')}]`);
  return op('reshape', '', t, []);
}

/** round half to even, add the zero point, saturate and cast: the quantizing step every op shares. */
function saturate(scaled: Tensor, zero: Tensor | undefined, dtype: DType): Tensor {
  const [lo, hi] = rangeOf(dtype, 'the quantized output');
  let q: Tensor = cast(op('round', '', scaled), 'float64');
  if (zero) q = op('add', 'Tensor', q, cast(zero, 'float64'), 1);
  return cast(op('clamp', '', q, { float: lo }, { float: hi }), dtype);
}

const noBlocks = (a: Record<string, AttrValue>) => (attrInt(a, 'block_size', 0) !== 0 ? 'blocked quantization (block_size) is not supported' : null);

defineOp('QuantizeLinear', {
  notes: 'uint8, int8 and int16 outputs, per-tensor or per-axis; no float8 or blocked quantization',
  // saturate (opset 19) applies to float8 outputs only, which libtorch has no dtype for.
  attributes: ['axis', 'saturate', 'block_size', 'output_dtype'],
  check: noBlocks,
  run: ([x, s, z], a) => {
    const X = need([x], 0, 'x');
    const S = need([x, s], 1, 'y_scale');
    const ax = attrInt(a, 'axis', 1);
    const outCode = attrInt(a, 'output_dtype', 0);
    let dtype: DType = z ? z.dtype : 'uint8';
    if (!z && outCode !== 0) {
      const d = dtypeOfOnnx(outCode);
      if (!d) throw new TypeError(`output_dtype ${onnxTypeName(outCode)} has no libtorch dtype`);
      dtype = d;
    }
    // x / scale in the inputs' own float type, as the reference does (an int32 x divides in float32).
    const xf = X.dtype === 'int32' ? cast(X, 'float32') : X;
    const scaled = op<Tensor>('div', 'Tensor', xf, alongAxis(S, X, ax, 'y_scale'));
    return saturate(scaled, z && alongAxis(z, X, ax, 'y_zero_point'), dtype);
  },
});

defineOp('DequantizeLinear', {
  notes: 'uint8, int8, int16 and int32 inputs, per-tensor or per-axis; no float8 or blocked quantization',
  attributes: ['axis', 'block_size', 'output_dtype'],
  check: noBlocks,
  run: ([x, s, z], a) => {
    const X = need([x], 0, 'x');
    const S = need([x, s], 1, 'x_scale');
    const ax = attrInt(a, 'axis', 1);
    let dx: Tensor = cast(X, 'float32');
    if (z) dx = op('sub', 'Tensor', dx, cast(alongAxis(z, X, ax, 'x_zero_point'), 'float32'), 1);
    const y = op<Tensor>('mul', 'Tensor', dx, cast(alongAxis(S, X, ax, 'x_scale'), 'float32'));
    const outCode = attrInt(a, 'output_dtype', 0);
    const outType = outCode !== 0 ? dtypeOfOnnx(outCode) : S.dtype;
    if (!outType) throw new TypeError(`output_dtype ${onnxTypeName(outCode)} has no libtorch dtype`);
    return cast(y, outType);
  },
});

/** Rounds half to even, as numpy's rint (Math.round rounds half up). */
function rint(v: number): number {
  const r = Math.round(v);
  return Math.abs(v - Math.trunc(v)) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

defineOp('DynamicQuantizeLinear', {
  // uint8 only: scale = (max(0, max x) - min(0, min x)) / 255 (1 / 255 when the range is empty),
  // zero point = saturate(round(0 - min / scale)); scalars in float32 arithmetic, as the reference.
  run: ([x]) => {
    const X = need([x], 0, 'x');
    const f = Math.fround;
    const maxx = f(Math.max(0, scalarOf(op('max', '', X))));
    const minx = f(Math.min(0, scalarOf(op('min', '', X))));
    const scale = f(f(maxx === minx ? 1 : f(maxx - minx)) / 255);
    const zp = rint(Math.max(0, Math.min(255, f(0 - f(minx / scale)))));
    const scaleT = op<Tensor>('full', '', [], { float: scale }, dtypeCode('float32'), null, null, null);
    const y = saturate(op('div', 'Tensor', cast(X, 'float32'), scaleT), op('full', '', [], zp, dtypeCode('float64'), null, null, null), 'uint8');
    return [y, cast(scaleT, X.dtype), op('full', '', [], zp, dtypeCode('uint8'), null, null, null)];
  },
});

/** x - zero_point in float64 (exact for the 8- and 16-bit types). */
function centered(t: Tensor, zero: Tensor | undefined): Tensor {
  const f = cast(t, 'float64');
  return zero ? op('sub', 'Tensor', f, cast(zero, 'float64'), 1) : f;
}

/** A per-output-channel (axis 0) weight zero point or scale of a convolution, as [M, 1, …]. */
function perOutputChannel(t: Tensor, w: Tensor, what: string): Tensor {
  return alongAxis(t, w, 0, what);
}

/** A matmul operand's per-row (A: shape [M], or [..., M, 1]) parameter; B's per-column ones broadcast as they are. */
function perRow(t: Tensor): Tensor {
  const n = numel(t);
  if (n === 1) return op('reshape', '', t, []);
  return t.ndim === 1 ? op('reshape', '', t, [n, 1]) : t;
}
const perCol = (t: Tensor): Tensor => (numel(t) === 1 ? op('reshape', '', t, []) : t);

const CONV_ATTRS = ['auto_pad', 'dilations', 'group', 'kernel_shape', 'pads', 'strides'] as const;

/** The integer convolution, exact in float64, through the Conv handler (its padding and auto_pad). */
function convExact(x: Tensor, w: Tensor, b: Tensor | undefined, a: Record<string, AttrValue>, ctx: OpContext): Tensor {
  return opHandler('Conv').run([x, w, b && cast(b, 'float64')], a, ctx) as Tensor;
}

defineOp('ConvInteger', {
  attributes: CONV_ATTRS,
  // Padding is zero after the zero point is subtracted (the spec's reference).
  run: ([x, w, xz, wz], a, ctx) => {
    const W = need([x, w], 1, 'w');
    const xc = centered(need([x], 0, 'x'), xz && single(xz, 'x_zero_point'));
    const wc = centered(W, wz && perOutputChannel(wz, W, 'w_zero_point'));
    return cast(op('round', '', convExact(xc, wc, undefined, a, ctx)), 'int32');
  },
});

defineOp('MatMulInteger', {
  run: ([A, B, az, bz]) => {
    const ac = centered(need([A], 0, 'A'), az && perRow(az));
    const bc = centered(need([A, B], 1, 'B'), bz && perCol(bz));
    return cast(op('round', '', op('matmul', '', ac, bc)), 'int32');
  },
});

/** Requantizes an exact integer accumulator: acc * (a_scale * b_scale / y_scale) + y_zero_point, saturated. */
function requantize(acc: Tensor, aScale: Tensor, bScale: Tensor, yScale: Tensor, yZero: Tensor | undefined, dtype: DType): Tensor {
  // The multiplier in float32, as the reference; the product with the accumulator in float64.
  const f32 = (t: Tensor) => cast(t, 'float32');
  const mult = op<Tensor>('div', 'Tensor', op('mul', 'Tensor', f32(aScale), f32(bScale)), f32(single(yScale, 'y_scale')));
  return saturate(op('mul', 'Tensor', acc, cast(mult, 'float64')), yZero && single(yZero, 'y_zero_point'), dtype);
}

defineOp('QLinearConv', {
  attributes: CONV_ATTRS,
  run: (inputs, a, ctx) => {
    const X = need(inputs, 0, 'x');
    const W = need(inputs, 3, 'w');
    const [, , xz, , , wz, , yz, b] = inputs;
    const acc = convExact(centered(X, xz && single(xz, 'x_zero_point')), centered(W, wz && perOutputChannel(wz, W, 'w_zero_point')), b, a, ctx);
    // A per-channel w_scale applies along the output's channel axis.
    const wScale = alongAxis(need(inputs, 4, 'w_scale'), acc, 1, 'w_scale');
    return requantize(acc, single(need(inputs, 1, 'x_scale'), 'x_scale'), wScale, need(inputs, 6, 'y_scale'), yz, yz ? yz.dtype : X.dtype);
  },
});

defineOp('QLinearMatMul', {
  run: (inputs) => {
    const A = need(inputs, 0, 'a');
    const B = need(inputs, 3, 'b');
    const [, , az, , , bz, , yz] = inputs;
    const acc = op<Tensor>('matmul', '', centered(A, az && perRow(az)), centered(B, bz && perCol(bz)));
    return requantize(acc, perRow(need(inputs, 1, 'a_scale')), perCol(need(inputs, 4, 'b_scale')), need(inputs, 6, 'y_scale'), yz, yz ? yz.dtype : A.dtype);
  },
});
