// Elementwise math, comparison and logic ops. ONNX broadcasting is numpy's, as libtorch's.
// Specs: https://onnx.ai/onnx/operators/ (onnx__<Op>.html).
import type { Tensor } from '../../../tensor/tensor.js';
import { defineOp, attrInt, attrFloat, type AttrValue } from './registry.js';
import { op, need, isFloat, cast, scalarLike } from './util.js';

// ---- unary: one aten op each ----
const UNARY: Record<string, string> = {
  Abs: 'abs', Neg: 'neg', Exp: 'exp', Log: 'log', Sqrt: 'sqrt', Reciprocal: 'reciprocal', Floor: 'floor', Ceil: 'ceil',
  Sign: 'sign', Sin: 'sin', Cos: 'cos', Tan: 'tan', Asin: 'asin', Acos: 'acos', Atan: 'atan', Sinh: 'sinh', Cosh: 'cosh',
  Asinh: 'asinh', Acosh: 'acosh', Atanh: 'atanh', Erf: 'erf', IsNaN: 'isnan', Not: 'logical_not',
  // Round: ONNX rounds half to even, as torch.round does.
  Round: 'round', Tanh: 'tanh', Sigmoid: 'sigmoid', Relu: 'relu',
};
for (const [name, aten] of Object.entries(UNARY)) {
  defineOp(name, { run: ([x]) => op(aten, '', need([x], 0, 'X')) });
}

defineOp('IsInf', {
  attributes: ['detect_negative', 'detect_positive'],
  run: ([x], a) => {
    const neg = attrInt(a, 'detect_negative', 1);
    const pos = attrInt(a, 'detect_positive', 1);
    const X = need([x], 0, 'X');
    if (neg && pos) return op('isinf', '', X);
    if (pos) return op('isposinf', '', X);
    if (neg) return op('isneginf', '', X);
    return op('zeros_like', '', X, 11, null, null, null, null);
  },
});

// ---- binary arithmetic ----
// Before opset 7, B broadcast only with broadcast=1, its dims aligned with A's from `axis`
// (default: the trailing dims, as numpy); numpy broadcasting covers the rest.
const LEGACY_BROADCAST = ['broadcast', 'axis'] as const;
function aligned(A: Tensor, B: Tensor, attrs: Record<string, AttrValue>): Tensor {
  if (attrs.axis === undefined || attrInt(attrs, 'broadcast', 0) !== 1) return B;
  const ax = Number(attrs.axis) < 0 ? Number(attrs.axis) + A.ndim : Number(attrs.axis);
  const trailing = A.ndim - ax - B.ndim;
  return trailing > 0 ? op('reshape', '', B, [...B.shape, ...Array(trailing).fill(1)]) : B;
}
function binary(name: string, fn: (a: Tensor, b: Tensor) => Tensor): void {
  defineOp(name, {
    attributes: LEGACY_BROADCAST,
    run: ([a, b], attrs) => { const A = need([a], 0, 'A'); return fn(A, aligned(A, need([a, b], 1, 'B'), attrs)); },
  });
}
binary('Add', (a, b) => op('add', 'Tensor', a, b, 1));
binary('Sub', (a, b) => op('sub', 'Tensor', a, b, 1));
binary('Mul', (a, b) => op('mul', 'Tensor', a, b));
// Integer division truncates toward zero (the reference computes in C semantics).
binary('Div', (a, b) => op('div', 'Tensor_mode', a, b, isFloat(a) ? null : 'trunc'));
// The result has the base's type, whatever the exponent's.
binary('Pow', (x, y) => { const r = op<Tensor>('pow', 'Tensor_Tensor', x, y); return r.dtype === x.dtype ? r : cast(r, x.dtype); });
defineOp('Mod', {
  attributes: ['fmod'],
  // fmod=0: the sign of the divisor (Python's %, torch.remainder); fmod=1: the dividend's (C fmod).
  run: ([a, b], attrs) => op('fmod' in attrs && attrInt(attrs, 'fmod', 0) === 1 ? 'fmod' : 'remainder', 'Tensor', need([a], 0, 'A'), need([a, b], 1, 'B')),
});
defineOp('BitShift', {
  attributes: ['direction'],
  run: ([x, y], attrs) => {
    const dir = attrs.direction;
    if (dir !== 'LEFT' && dir !== 'RIGHT') throw new RangeError(`attribute 'direction' must be 'LEFT' or 'RIGHT', got ${JSON.stringify(dir)}`);
    return op(dir === 'LEFT' ? '__lshift__' : '__rshift__', 'Tensor', need([x], 0, 'X'), need([x, y], 1, 'Y'));
  },
});
defineOp('PRelu', {
  run: ([x, slope]) => {
    const X = need([x], 0, 'X');
    let S = need([x, slope], 1, 'slope');
    // A per-channel slope of shape [C] (older exporters) applies along axis 1.
    if (S.ndim === 1 && X.ndim > 2 && S.shape[0] === X.shape[1] && S.shape[0] !== X.shape[X.ndim - 1]) S = op('reshape', '', S, [S.shape[0]!, ...Array(X.ndim - 2).fill(1)]);
    return op('where', 'self', op('lt', 'Scalar', X, 0), op('mul', 'Tensor', X, S), X);
  },
});

// ---- comparison and logic ----
const COMPARE: Record<string, string> = { Equal: 'eq', Less: 'lt', Greater: 'gt', LessOrEqual: 'le', GreaterOrEqual: 'ge' };
for (const [name, aten] of Object.entries(COMPARE)) binary(name, (a, b) => op(aten, 'Tensor', a, b));
const LOGIC: Record<string, string> = { And: 'logical_and', Or: 'logical_or', Xor: 'logical_xor' };
for (const [name, aten] of Object.entries(LOGIC)) binary(name, (a, b) => op(aten, '', a, b));
defineOp('Where', { run: ([c, x, y]) => op('where', 'self', need([c], 0, 'condition'), need([c, x], 1, 'X'), need([c, x, y], 2, 'Y')) });

// ---- variadic ----
const fold = (inputs: (Tensor | undefined)[], aten: string, overload: string) => {
  const xs = inputs.filter((t): t is Tensor => t !== undefined);
  if (xs.length === 0) throw new TypeError('needs at least one input');
  let acc: Tensor = op('clone', '', xs[0]!, null);
  for (const x of xs.slice(1)) { const next: Tensor = overload === 'Tensor' && aten === 'add' ? op(aten, overload, acc, x, 1) : op(aten, overload, acc, x); acc.dispose(); acc = next; }
  return acc;
};
defineOp('Sum', { run: (xs) => fold(xs, 'add', 'Tensor') });
defineOp('Max', { run: (xs) => fold(xs, 'maximum', '') });
defineOp('Min', { run: (xs) => fold(xs, 'minimum', '') });
defineOp('Mean', {
  run: (xs) => {
    const s = fold(xs, 'add', 'Tensor');
    const r = op<Tensor>('div', 'Scalar', s, xs.filter(Boolean).length);
    s.dispose();
    return r;
  },
});

defineOp('Clip', {
  // Opset < 11: min and max are attributes; from 11 they are optional inputs.
  attributes: ['min', 'max'],
  run: ([x, lo, hi], attrs, ctx) => {
    const X = need([x], 0, 'input');
    if (ctx.opset < 11) {
      const min = attrFloat(attrs, 'min');
      const max = attrFloat(attrs, 'max');
      return op('clamp', '', X, min === undefined ? null : isFloat(X) ? { float: min } : min, max === undefined ? null : isFloat(X) ? { float: max } : max);
    }
    if (!lo && !hi) return op('clone', '', X);
    return op('clamp', 'Tensor', X, lo ?? null, hi ?? null);
  },
});

// ---- activations with parameters ----
const floatArg = (v: number) => ({ float: v });
defineOp('LeakyRelu', { attributes: ['alpha'], run: ([x], a) => op('leaky_relu', '', need([x], 0, 'X'), floatArg(attrFloat(a, 'alpha', 0.01))) });
defineOp('Elu', { attributes: ['alpha'], run: ([x], a) => op('elu', '', need([x], 0, 'X'), floatArg(attrFloat(a, 'alpha', 1)), 1, 1) });
defineOp('Celu', { attributes: ['alpha'], run: ([x], a) => op('celu', '', need([x], 0, 'X'), floatArg(attrFloat(a, 'alpha', 1))) });
defineOp('Selu', {
  attributes: ['alpha', 'gamma'],
  run: ([x], a) => {
    const X = need([x], 0, 'X');
    const alpha = attrFloat(a, 'alpha', 1.67326319217681884765625);
    const gamma = attrFloat(a, 'gamma', 1.05070102214813232421875);
    // gamma * (alpha * (exp(x) - 1) for x <= 0, x for x > 0): elu's input_scale 1, scale gamma.
    return op('elu', '', X, floatArg(alpha), floatArg(gamma), 1);
  },
});
defineOp('HardSigmoid', {
  attributes: ['alpha', 'beta'],
  run: ([x], a) => {
    const X = need([x], 0, 'X');
    const t = op<Tensor>('add', 'Scalar', op<Tensor>('mul', 'Scalar', X, floatArg(attrFloat(a, 'alpha', 0.2))), floatArg(attrFloat(a, 'beta', 0.5)), 1);
    return op('clamp', '', t, floatArg(0), floatArg(1));
  },
});
defineOp('HardSwish', { run: ([x]) => op('hardswish', '', need([x], 0, 'X')) });
defineOp('Softplus', { run: ([x]) => op('softplus', '', need([x], 0, 'X'), 1, 20) });
defineOp('Softsign', { run: ([x]) => { const X = need([x], 0, 'X'); return op('div', 'Tensor', X, op<Tensor>('add', 'Scalar', op<Tensor>('abs', '', X), 1, 1)); } });
defineOp('ThresholdedRelu', {
  attributes: ['alpha'],
  run: ([x], a) => { const X = need([x], 0, 'X'); return op('where', 'self', op('gt', 'Scalar', X, floatArg(attrFloat(a, 'alpha', 1))), X, scalarLike(0, X)); },
});
defineOp('Shrink', {
  attributes: ['bias', 'lambd'],
  run: ([x], a) => {
    const X = need([x], 0, 'input');
    const bias = attrFloat(a, 'bias', 0);
    const lambd = attrFloat(a, 'lambd', 0.5);
    const xd = cast(X, 'float64');
    const r = op('where', 'self', op('lt', 'Scalar', xd, floatArg(-lambd)), op('add', 'Scalar', xd, floatArg(bias), 1),
      op('where', 'self', op('gt', 'Scalar', xd, floatArg(lambd)), op('sub', 'Scalar', xd, floatArg(bias), 1), op('zeros_like', '', xd, null, null, null, null, null)));
    return cast(r as Tensor, X.dtype);
  },
});
