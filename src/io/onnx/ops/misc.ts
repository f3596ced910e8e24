// Ops of their own kind: Unique, Det, MaxUnpool.
// Specs: https://onnx.ai/onnx/operators/ (onnx__<Op>.html).
import type { Tensor } from '../../../tensor/tensor.js';
import { dtypeCode } from '../../../tensor/dtype.js';
import { defineOp, attrInt, attrInts } from './registry.js';
import { op, need, ints, axis, cast, isFloat } from './util.js';

const prod = (xs: readonly number[]) => xs.reduce((a, b) => a * b, 1);

defineOp('Unique', {
  // Outputs Y, indices (each unique value's first occurrence), inverse_indices, counts. Without
  // axis the input is flattened; with it, slices along the axis are compared whole. sorted=1 (the
  // default) orders Y ascending (slices lexicographically); sorted=0 keeps first-occurrence order.
  attributes: ['axis', 'sorted'],
  run: ([x], a, ctx) => {
    const X = need([x], 0, 'X');
    const hasAxis = a.axis !== undefined;
    const src: Tensor = hasAxis ? X : op('reshape', '', X, [-1]);
    const d = hasAxis ? axis(attrInt(a, 'axis')!, X.ndim) : 0;
    const [y, inverse, counts] = op<Tensor[]>('unique_dim', '', src, d, true, true, true) as [Tensor, Tensor, Tensor];
    const n = src.shape[d]!;
    const k = y.shape[d]!;
    const i64 = dtypeCode('int64');
    // First occurrence of each unique value: the least position mapping to it.
    const positions = op<Tensor>('arange', '', n, i64, null, null, null);
    const first = op<Tensor>('scatter_reduce', 'two', op('full', '', [k], n, i64, null, null, null), 0, inverse, positions, 'amin', true);
    let outs: Tensor[];
    if (attrInt(a, 'sorted', 1) === 1) outs = [y, first, inverse, counts];
    else {
      const order = op<Tensor>('argsort', '', first, 0, false);
      const firstInOrder = op<Tensor>('index_select', '', first, 0, order);
      // rank[old unique position] = its place in first-occurrence order.
      const rank = op<Tensor>('argsort', '', order, 0, false);
      outs = [op('index_select', '', src, d, firstInOrder), firstInOrder, op('index_select', '', rank, 0, inverse), op('index_select', '', counts, 0, order)];
    }
    return outs.slice(0, Math.max(1, ctx.numOutputs));
  },
});

defineOp('Det', {
  // The determinant of each of the trailing [M, M] matrices.
  run: ([x]) => {
    const X = need([x], 0, 'X');
    if (X.ndim < 2 || X.shape[X.ndim - 1] !== X.shape[X.ndim - 2]) throw new RangeError(`X must be [..., M, M], got shape [${X.shape.join(', ')}]`);
    const wide = X.dtype === 'float32' || X.dtype === 'float64';
    const r = op<Tensor>('linalg_det', '', wide ? X : cast(X, 'float32'));
    return wide ? r : cast(r, X.dtype);
  },
});

defineOp('MaxUnpool', {
  notes: 'indices count in the shape the pooling came from; a larger output_shape pads at the end',
  // Each X value goes to its Indices position (flat over the whole [N, C, ...] output, as MaxPool's
  // Indices) of the shape the pooling came from: (in - 1) * stride - pad_begin - pad_end + kernel.
  // An output_shape input larger than that pads with zeros at the end; the indices still count in
  // the inferred shape (the reference's reading, which the conformance data follows).
  attributes: ['kernel_shape', 'pads', 'strides'],
  run: ([x, i, s], a) => {
    const X = need([x], 0, 'X');
    const I = need([x, i], 1, 'I');
    if (I.shape.join(',') !== X.shape.join(',')) throw new RangeError(`I has shape [${I.shape.join(', ')}], expected X's [${X.shape.join(', ')}]`);
    const kernel = attrInts(a, 'kernel_shape')!;
    const n = kernel.length;
    const strides = attrInts(a, 'strides') ?? Array(n).fill(1);
    const pads = attrInts(a, 'pads') ?? Array(2 * n).fill(0);
    const inferred = [X.shape[0]!, X.shape[1]!, ...kernel.map((k, j) => (X.shape[2 + j]! - 1) * strides[j]! - pads[j]! - pads[j + n]! + k)];
    const flat = op<Tensor>('zeros', '', [prod(inferred)], dtypeCode(X.dtype), null, null, null);
    const filled = op<Tensor>('scatter', 'src', flat, 0, op('reshape', '', cast(I, 'int64'), [-1]), op('reshape', '', X, [-1]));
    let y: Tensor = op('reshape', '', filled, inferred);
    if (s) {
      const shape = ints(s, 'output_shape');
      const grow = shape.map((d, j) => d - inferred[j]!);
      if (shape.length !== inferred.length || grow.some((g, j) => g < 0 || (j < 2 && g !== 0))) {
        throw new RangeError(`output_shape [${shape.join(', ')}] must keep N and C and be at least the inferred [${inferred.join(', ')}]`);
      }
      const torchPads: number[] = [];
      for (let j = shape.length - 1; j >= 2; j--) torchPads.push(0, grow[j]!);
      y = op('constant_pad_nd', '', y, torchPads, isFloat(X) ? { float: 0 } : 0);
    }
    return y;
  },
});
