// Reductions. Until opset 18 the axes are an attribute, except ReduceSum's (an input from 13).
// keepdims defaults to 1; no axes means every axis, unless noop_with_empty_axes says otherwise.
// Specs: https://onnx.ai/onnx/operators/onnx__ReduceSum.html and its siblings.
import type { Tensor } from '../../../tensor/tensor.js';
import { dtypeCode } from '../../../tensor/dtype.js';
import { defineOp, attrInt } from './registry.js';
import { op, need, axis, cast, isFloat } from './util.js';
import { axesOf } from './shape.js';

type Reducer = (x: Tensor, dims: number[], keep: boolean) => Tensor;

const sumDims: Reducer = (x, dims, keep) => op('sum', 'dim_IntList', x, dims, keep, dtypeCode(x.dtype));
const REDUCERS: Record<string, Reducer> = {
  ReduceSum: sumDims,
  ReduceMean: (x, dims, keep) => op('mean', 'dim', x, dims, keep, null),
  ReduceMax: (x, dims, keep) => op('amax', '', x, dims, keep),
  ReduceMin: (x, dims, keep) => op('amin', '', x, dims, keep),
  ReduceProd: (x, dims, keep) => {
    let t = x;
    for (const d of [...dims].sort((a, b) => b - a)) t = op('prod', 'dim_int', t, d, keep, dtypeCode(x.dtype));
    return t === x ? op('clone', '', x) : t;
  },
  ReduceL1: (x, dims, keep) => sumDims(op('abs', '', x), dims, keep),
  ReduceL2: (x, dims, keep) => {
    const s = sumDims(op('mul', 'Tensor', x, x), dims, keep);
    return isFloat(x) ? op('sqrt', '', s) : cast(op('sqrt', '', s), x.dtype);
  },
  ReduceSumSquare: (x, dims, keep) => sumDims(op('mul', 'Tensor', x, x), dims, keep),
  ReduceLogSum: (x, dims, keep) => op('log', '', sumDims(x, dims, keep)),
  ReduceLogSumExp: (x, dims, keep) => {
    const t = isFloat(x) ? x : cast(x, 'float64');
    const r = op<Tensor>('logsumexp', '', t, dims, keep);
    return r.dtype === x.dtype ? r : cast(r, x.dtype);
  },
};

for (const [name, reduce] of Object.entries(REDUCERS)) {
  defineOp(name, {
    attributes: ['axes', 'keepdims', 'noop_with_empty_axes'],
    run: ([x, ax], a) => {
      const X = need([x], 0, 'data');
      const keep = attrInt(a, 'keepdims', 1) === 1;
      let axes = axesOf(a, ax);
      if (!axes || axes.length === 0) {
        if (attrInt(a, 'noop_with_empty_axes', 0) === 1) return op('alias', '', X);
        axes = X.shape.map((_, i) => i);
      }
      const dims = [...new Set(axes.map((d) => axis(d, X.ndim)))];
      // An empty axis list means all axes to libtorch too; a 0-d input has none to name.
      if (X.ndim === 0) return op('clone', '', X);
      return reduce(X, dims, keep);
    },
  });
}
