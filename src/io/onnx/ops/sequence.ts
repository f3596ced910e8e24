// Sequence and optional ops: values that are lists of tensors (TensorSequence) or may be
// absent (EmptyOptional, values.ts). Sequences never share tensors: every sequence made here
// holds new tensors (aliases of its inputs' elements where they are unchanged).
// Specs: https://onnx.ai/onnx/operators/onnx__<Op>.html
import { callOp, Tensor } from '../../../tensor/tensor.js';
import { TensorSequence } from '../../../tensor/sequence.js';
import { dtypeOfOnnx, onnxTypeName } from '../proto.js';
import { EmptyOptional, describeValue, cloneValue, type OnnxValue } from '../values.js';
import { defineValueOp, attrInt } from './registry.js';
import { op, axis, scalarOf, int64 } from './util.js';

const alias = (t: Tensor): Tensor => callOp<Tensor>('alias', '', t);

function sequenceIn(v: OnnxValue | undefined, what: string): TensorSequence {
  if (!(v instanceof TensorSequence)) throw new TypeError(`input '${what}' must be a sequence, got ${describeValue(v)}`);
  return v;
}
function tensorIn(v: OnnxValue | undefined, what: string): Tensor {
  if (!(v instanceof Tensor)) throw new TypeError(`input '${what}' must be a tensor, got ${describeValue(v)}`);
  return v;
}

/** A position in a sequence of `n`: negative counts from the end; `end` allows n itself (insertion). */
function position(p: Tensor, n: number, end: boolean): number {
  const raw = scalarOf(p);
  const k = raw < 0 ? raw + n : raw;
  if (!(k >= 0 && (end ? k <= n : k < n))) throw new RangeError(`position ${raw} is out of range for a sequence of ${n} (valid: ${-n}..${end ? n : n - 1})`);
  return k;
}

// SequenceEmpty: 'dtype' (default float) is the element type.
defineValueOp('SequenceEmpty', {
  attributes: ['dtype'],
  check: (a) => {
    const code = attrInt(a, 'dtype', 1);
    return dtypeOfOnnx(code) ? null : `dtype ${onnxTypeName(code)} has no libtorch dtype`;
  },
  run: (_, a) => new TensorSequence([], dtypeOfOnnx(attrInt(a, 'dtype', 1))!),
});

defineValueOp('SequenceConstruct', {
  run: (xs) => {
    const ts = xs.map((x, i) => tensorIn(x, `inputs[${i}]`));
    if (ts.length === 0) throw new RangeError('needs at least one input');
    return new TensorSequence(ts.map(alias));
  },
});

defineValueOp('SequenceAt', {
  run: ([s, p]) => {
    const seq = sequenceIn(s, 'input_sequence');
    return alias(seq.at(position(tensorIn(p, 'position'), seq.length, false)));
  },
});

// SequenceInsert: at 'position' (default: the end); the tensor must have the sequence's dtype.
defineValueOp('SequenceInsert', {
  run: ([s, x, p]) => {
    const seq = sequenceIn(s, 'input_sequence');
    const t = tensorIn(x, 'tensor');
    if (t.dtype !== seq.dtype) throw new TypeError(`the tensor is ${t.dtype}, the sequence holds ${seq.dtype}`);
    const k = p ? position(tensorIn(p, 'position'), seq.length, true) : seq.length;
    const ts = seq.tensors.map(alias);
    ts.splice(k, 0, alias(t));
    return new TensorSequence(ts, seq.dtype);
  },
});

// SequenceErase: at 'position' (default: the last element).
defineValueOp('SequenceErase', {
  run: ([s, p]) => {
    const seq = sequenceIn(s, 'input_sequence');
    const k = p ? position(tensorIn(p, 'position'), seq.length, false) : seq.length - 1;
    if (k < 0) throw new RangeError('cannot erase from an empty sequence');
    return new TensorSequence(seq.tensors.filter((_, i) => i !== k).map(alias), seq.dtype);
  },
});

defineValueOp('SequenceLength', {
  run: ([s]) => int64([sequenceIn(s, 'input_sequence').length], []),
});

// SplitToSequence: 'split' absent: pieces of 1 along 'axis', squeezed unless keepdims; a
// scalar: pieces of that size (the last may be smaller); 1-D: the pieces' sizes (keepdims ignored).
defineValueOp('SplitToSequence', {
  attributes: ['axis', 'keepdims'],
  run: ([x, sp], a) => {
    const X = tensorIn(x, 'input');
    const ax = axis(attrInt(a, 'axis', 0), X.ndim);
    const len = X.shape[ax]!;
    if (!sp) {
      const parts = op<Tensor[]>('split', 'Tensor', X, 1, ax);
      return new TensorSequence(attrInt(a, 'keepdims', 1) ? parts : parts.map((t) => op<Tensor>('squeeze', 'dim', t, ax)), X.dtype);
    }
    const split = tensorIn(sp, 'split');
    let sizes: number[];
    if (split.ndim === 0) {
      const each = scalarOf(split);
      if (!(each > 0)) throw new RangeError(`split ${each} must be positive`);
      sizes = Array.from({ length: Math.ceil(len / each) }, (_, i) => Math.min(each, len - i * each));
    } else {
      sizes = Array.from(split.dataSync() as ArrayLike<number | bigint>, Number);
      const total = sizes.reduce((s, v) => s + v, 0);
      if (total !== len) throw new RangeError(`split sizes [${sizes.join(', ')}] add up to ${total}, the input has ${len} along axis ${ax}`);
    }
    return new TensorSequence(op<Tensor[]>('split_with_sizes', '', X, sizes, ax), X.dtype);
  },
});

// ConcatFromSequence: concatenates along 'axis', or with new_axis=1 stacks along a new one
// (then axis may be -r-1..r).
defineValueOp('ConcatFromSequence', {
  attributes: ['axis', 'new_axis'],
  check: (a) => (a.axis === undefined ? "attribute 'axis' is required" : null),
  run: ([s], a) => {
    const seq = sequenceIn(s, 'input_sequence');
    if (seq.length === 0) throw new RangeError('cannot concatenate an empty sequence');
    const stack = attrInt(a, 'new_axis', 0) === 1;
    const rank = seq.at(0).ndim;
    const ax = axis(attrInt(a, 'axis')!, stack ? rank + 1 : rank);
    return op(stack ? 'stack' : 'cat', '', seq.tensors, ax);
  },
});

// Optional: the input (copied), or without one an empty optional of the 'type' attribute.
defineValueOp('Optional', {
  attributes: ['type'],
  run: ([x]) => (x === undefined ? new EmptyOptional() : cloneValue(x)),
});

// OptionalHasElement: opset 18 also takes a tensor or sequence (true) and no input (false).
defineValueOp('OptionalHasElement', {
  run: ([x]) => int64([x !== undefined && !(x instanceof EmptyOptional) ? 1 : 0], []).to({ dtype: 'bool' }),
});

// OptionalGetElement: the optional's value; an error when it is empty (opset 18: a tensor or sequence is returned as is).
defineValueOp('OptionalGetElement', {
  run: ([x]) => {
    if (x === undefined || x instanceof EmptyOptional) throw new RangeError('the optional is empty');
    return cloneValue(x);
  },
});
