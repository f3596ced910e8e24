// ONNX export, one handler per dlkit layer type. Each cites the operators it emits
// (https://onnx.ai/onnx/operators/onnx__<Op>.html); the docs' table of exportable layers is
// generated from `ops` and `note`. Every handler reproduces the layer's `forward` in inference
// mode, read from the layer (src/nn/layers/) and its functional op (src/nn/functional/).
//
// Imported networks: an 'onnxNode' layer is written back as the node it was read from (its op,
// domain, attributes, its held tensors as initializers under the file's names), a
// 'tensorInput' as a graph input of its dtype. `registerOnnxExport` adds a handler from
// outside this file.
import type { Layer } from '../../nn/layer.js';
import type * as L from '../../nn/layers/index.js';
import type { OnnxNode } from './node-layer.js';
import type { AttrValue } from './ops/registry.js';
import { tensorToProto, ATTR_TYPE_CODES, type AttributeProto, type OnnxAttrType } from './proto.js';
import type { OnnxExportContext, OnnxLayerExport } from './export.js';

/** The operator's page in the ONNX operator docs. */
export const onnxOperatorUrl = (op: string): string => `https://onnx.ai/onnx/operators/onnx__${op}.html`;

/** An attribute's value with its ONNX type (the name is added by `node`). */
export type Attr = Omit<AttributeProto, 'name'>;
export const attr = {
  int: (v: number): Attr => ({ type: 2, i: v }),
  float: (v: number): Attr => ({ type: 1, f: v }),
  string: (v: string): Attr => ({ type: 3, s: new TextEncoder().encode(v) }),
  ints: (v: readonly number[]): Attr => ({ type: 7, ints: [...v] }),
  floats: (v: readonly number[]): Attr => ({ type: 6, floats: [...v] }),
};

const handler = <T extends Layer>(ops: readonly string[], exportFn: (layer: T, ctx: OnnxExportContext) => string | readonly string[], note?: string): OnnxLayerExport =>
  ({ ops, ...(note ? { note } : {}), export: exportFn as (layer: Layer, ctx: OnnxExportContext) => string | readonly string[] });

/** Per-observation input shape of slot `i` (the network has built the layer). */
const inShape = (layer: Layer, i = 0): readonly number[] => layer.inputShapes![i]!;

/** ONNX `pads`: all begins, then all ends. */
const onnxPads = (pairs: readonly (readonly [number, number])[]): number[] => [...pairs.map((p) => p[0]), ...pairs.map((p) => p[1])];

/** Conv pads per spatial dim as [begin, end], 'same' resolved for the built input size by the layer itself. */
const convPads = (layer: L.Conv1d | L.Conv2d): [number, number][] => layer.pads(inShape(layer).slice(1));

// Conv: https://onnx.ai/onnx/operators/onnx__Conv.html (weights [out, in/groups, k...], as dlkit's).
function conv(layer: L.Conv1d | L.Conv2d, ctx: OnnxExportContext): string {
  const inputs = [ctx.inputs[0]!, ctx.param('weight'), ...(layer.params.has('bias') ? [ctx.param('bias')] : [])];
  return ctx.node('Conv', inputs, {
    kernel_shape: attr.ints(layer.kernelSize), strides: attr.ints(layer.stride), dilations: attr.ints(layer.dilation),
    pads: attr.ints(onnxPads(convPads(layer))), group: attr.int(layer.groups),
  }, { output: ctx.output });
}

/**
 * Pooling with PyTorch's ceil mode made explicit. PyTorch (dlkit's functional ops) lets the
 * last window run past the end padding when ceilMode is on; ONNX runtimes have disagreed on
 * ceil_mode's details, so the export never uses it: per dim, `extra` = how far the last
 * window runs past the end padding (0 without ceil mode, or when the windows fit).
 */
function poolGeometry(layer: L.MaxPool1d | L.MaxPool2d | L.AvgPool1d | L.AvgPool2d) {
  const sizes = inShape(layer).slice(1);
  const outs = layer.builtOutputShape!.slice(1);
  const dims = sizes.map((n, i) => {
    const k = layer.poolSize[i]!, s = layer.stride[i]!, p = layer.padding[i]!, o = outs[i]!;
    return { n, k, s, p, o, extra: Math.max(0, (o - 1) * s + k - (n + 2 * p)) };
  });
  return { dims, overhang: dims.some((d) => d.extra > 0) };
}

// MaxPool: https://onnx.ai/onnx/operators/onnx__MaxPool.html. Padding counts as -inf, so the
// ceil-mode overhang is more end padding (ceil_mode stays 0: the same windows, spelled out).
// The end padding stays below the kernel size, as runtimes require: PyTorch's last window
// starts before n + p, so (o - 1) s < n + p and p + extra < k.
function maxPool(layer: L.MaxPool1d | L.MaxPool2d, ctx: OnnxExportContext): string {
  const { dims } = poolGeometry(layer);
  return ctx.node('MaxPool', [ctx.inputs[0]!], {
    kernel_shape: attr.ints(dims.map((d) => d.k)), strides: attr.ints(dims.map((d) => d.s)),
    pads: attr.ints(onnxPads(dims.map((d) => [d.p, d.p + d.extra]))),
  }, { output: ctx.output });
}

// AveragePool: https://onnx.ai/onnx/operators/onnx__AveragePool.html, count_include_pad=1 as
// dlkit's avgPool (PyTorch's default). With a ceil-mode overhang PyTorch divides by the window
// clipped to the padded input, which no AveragePool setting gives: the input is zero padded
// (Pad, https://onnx.ai/onnx/operators/onnx__Pad.html) to cover every window, averaged over the
// full window, and multiplied (Mul) by kernel area / PyTorch's divisor for each output position.
function avgPool(layer: L.AvgPool1d | L.AvgPool2d, ctx: OnnxExportContext): string {
  const { dims, overhang } = poolGeometry(layer);
  const kernel = { kernel_shape: attr.ints(dims.map((d) => d.k)), strides: attr.ints(dims.map((d) => d.s)) };
  if (!overhang) {
    return ctx.node('AveragePool', [ctx.inputs[0]!], { ...kernel, pads: attr.ints(onnxPads(dims.map((d) => [d.p, d.p]))), count_include_pad: attr.int(1) }, { output: ctx.output });
  }
  // (N, C, ...) padded by [p, p + extra] per spatial dim.
  const pads = ctx.constant('pads', [0, 0, ...dims.map((d) => d.p), 0, 0, ...dims.map((d) => d.p + d.extra)], [2 * (dims.length + 2)], 'int64');
  const padded = ctx.node('Pad', [ctx.inputs[0]!, pads], { mode: attr.string('constant') });
  const mean = ctx.node('AveragePool', [padded], kernel);
  // Per output position: PyTorch's divisor is the window clipped to [-p, n + p).
  const perDim = dims.map((d) => Array.from({ length: d.o }, (_, j) => Math.min(j * d.s - d.p + d.k, d.n + d.p) - (j * d.s - d.p)));
  let scale: number[] = [1];
  for (const [i, sizes] of perDim.entries()) scale = scale.flatMap((v) => sizes.map((sz) => (v * dims[i]!.k) / sz));
  const factor = ctx.constant('divisor', scale, dims.map((d) => d.o));
  return ctx.node('Mul', [mean, factor], {}, { output: ctx.output });
}

// Adaptive average pooling. Cells [floor(i n / o), ceil((i + 1) n / o)) per dim: where o divides
// n they are a plain AveragePool (kernel = stride = n / o:
// https://onnx.ai/onnx/operators/onnx__AveragePool.html), 1 x 1 is GlobalAveragePool. Otherwise
// the cells differ in size and may overlap; the mean over a rectangle is separable, so it is
// two MatMuls (https://onnx.ai/onnx/operators/onnx__MatMul.html) with constant averaging
// matrices: X [N, C, H, W] · Aw [W, ow], then Ah [oh, H] · that, broadcast over N and C.
function adaptiveAvgPool(layer: L.AdaptiveAvgPool2d, ctx: OnnxExportContext): string {
  const [, h, w] = inShape(layer) as [number, number, number];
  const [oh, ow] = layer.outputSize as [number, number];
  const x = ctx.inputs[0]!;
  if (oh === 1 && ow === 1) return ctx.node('GlobalAveragePool', [x], {}, { output: ctx.output });
  if (h % oh === 0 && w % ow === 0) {
    const kernel = [h / oh, w / ow];
    return ctx.node('AveragePool', [x], { kernel_shape: attr.ints(kernel), strides: attr.ints(kernel) }, { output: ctx.output });
  }
  /** [o, n] row-major: row i averages cell i. */
  const averaging = (n: number, o: number) => {
    const m = new Array<number>(o * n).fill(0);
    for (let i = 0; i < o; i++) {
      const start = Math.floor((i * n) / o), end = Math.ceil(((i + 1) * n) / o);
      for (let j = start; j < end; j++) m[i * n + j] = 1 / (end - start);
    }
    return m;
  };
  const aw = averaging(w, ow); // [ow, W], written transposed as [W, ow]
  const awT = Array.from({ length: w * ow }, (_, k) => aw[(k % ow) * w + Math.floor(k / ow)]!);
  const cols = ctx.node('MatMul', [x, ctx.constant('columns', awT, [w, ow])]);
  return ctx.node('MatMul', [ctx.constant('rows', averaging(h, oh), [oh, h]), cols], {}, { output: ctx.output });
}

// LayerNormalization (opset 17): https://onnx.ai/onnx/operators/onnx__LayerNormalization.html;
// before 17, decomposed: ReduceMean, Sub, Mul, ReduceMean, Add, Sqrt, Div, Mul, Add (biased variance, as PyTorch).
function layerNorm(layer: L.LayerNorm, ctx: OnnxExportContext): string {
  const k = layer.normalizedShape!.length;
  const weight = ctx.param('weight'), bias = ctx.param('bias');
  if (ctx.opset >= 17) {
    return ctx.node('LayerNormalization', [ctx.inputs[0]!, weight, bias], { axis: attr.int(-k), epsilon: attr.float(layer.epsilon) }, { output: ctx.output });
  }
  const axes = Array.from({ length: k }, (_, i) => i - k);
  const reduceMean = (x: string) => ctx.node('ReduceMean', [x], { axes: attr.ints(axes), keepdims: attr.int(1) });
  const x = ctx.inputs[0]!;
  const centered = ctx.node('Sub', [x, reduceMean(x)]);
  const variance = reduceMean(ctx.node('Mul', [centered, centered]));
  const std = ctx.node('Sqrt', [ctx.node('Add', [variance, ctx.constant('epsilon', [layer.epsilon], [])])]);
  const normalized = ctx.node('Div', [centered, std]);
  return ctx.node('Add', [ctx.node('Mul', [normalized, weight]), bias], {}, { output: ctx.output });
}

// LRN: https://onnx.ai/onnx/operators/onnx__LRN.html. Its window is [c - floor((size-1)/2),
// c + ceil((size-1)/2)], dlkit's (PyTorch's) [c - floor(size/2), c + floor((size-1)/2)]: the same
// for odd sizes. For even sizes (and inputs that are not 4-D, which onnxruntime's LRN refuses)
// it is decomposed as dlkit computes it: the squares, reshaped to (N, 1, C, S), averaged over
// `size` channels with the window's zero padding (AveragePool, count_include_pad=1), then
// x / (k + alpha * avg)^beta.
// Region 'within' (Caffe's WITHIN_CHANNEL) has no ONNX operator: the squares averaged over a
// size x size window, zero padding counted (AveragePool, count_include_pad=1, stride 1, pads
// (size - 1) / 2: https://onnx.ai/onnx/operators/onnx__AveragePool.html), then as above.
function localResponseNorm(layer: L.LocalResponseNorm, ctx: OnnxExportContext): string {
  const x = ctx.inputs[0]!;
  const shape = inShape(layer); // (C, ...)
  const normalize = (avg: string) => {
    const scaled = ctx.node('Add', [ctx.node('Mul', [avg, ctx.constant('alpha', [layer.alpha], [])]), ctx.constant('k', [layer.k], [])]);
    const divisor = ctx.node('Pow', [scaled, ctx.constant('beta', [layer.beta], [])]);
    return ctx.node('Div', [x, divisor], {}, { output: ctx.output });
  };
  if (layer.region === 'within') {
    const p = (layer.size - 1) / 2;
    return normalize(ctx.node('AveragePool', [ctx.node('Mul', [x, x])], {
      kernel_shape: attr.ints([layer.size, layer.size]), strides: attr.ints([1, 1]), pads: attr.ints([p, p, p, p]), count_include_pad: attr.int(1),
    }));
  }
  if (layer.size % 2 === 1 && shape.length === 3) {
    return ctx.node('LRN', [x], { size: attr.int(layer.size), alpha: attr.float(layer.alpha), beta: attr.float(layer.beta), bias: attr.float(layer.k) }, { output: ctx.output });
  }
  const c = shape[0]!;
  const spatial = shape.slice(1).reduce((a, b) => a * b, 1);
  const squares = ctx.node('Reshape', [ctx.node('Mul', [x, x]), ctx.constant('window_shape', [0, 1, c, spatial], [4], 'int64')]);
  const before = Math.floor(layer.size / 2), after = Math.floor((layer.size - 1) / 2);
  const pooled = ctx.node('AveragePool', [squares], {
    kernel_shape: attr.ints([layer.size, 1]), strides: attr.ints([1, 1]), pads: attr.ints([before, 0, after, 0]), count_include_pad: attr.int(1),
  });
  return normalize(ctx.node('Reshape', [pooled, ctx.constant('shape', [0, ...shape], [shape.length + 1], 'int64')]));
}

// Gelu (opset 20): https://onnx.ai/onnx/operators/onnx__Gelu.html; before 20, decomposed:
// 'none' 0.5 x (1 + erf(x / sqrt 2)) with Erf (https://onnx.ai/onnx/operators/onnx__Erf.html);
// 'tanh' 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))).
function gelu(layer: L.GELU, ctx: OnnxExportContext): string {
  const x = ctx.inputs[0]!;
  if (ctx.opset >= 20) return ctx.node('Gelu', [x], { approximate: attr.string(layer.approximate) }, { output: ctx.output });
  let inner: string;
  if (layer.approximate === 'none') {
    inner = ctx.node('Erf', [ctx.node('Div', [x, ctx.constant('sqrt2', [Math.SQRT2], [])])]);
  } else {
    const cube = ctx.node('Mul', [x, ctx.node('Mul', [x, x])]);
    const sum = ctx.node('Add', [x, ctx.node('Mul', [cube, ctx.constant('c', [0.044715], [])])]);
    inner = ctx.node('Tanh', [ctx.node('Mul', [sum, ctx.constant('sqrt_2_over_pi', [Math.sqrt(2 / Math.PI)], [])])]);
  }
  const onePlus = ctx.node('Add', [inner, ctx.constant('one', [1], [])]);
  return ctx.node('Mul', [ctx.node('Mul', [x, onePlus]), ctx.constant('half', [0.5], [])], {}, { output: ctx.output });
}

// Gather, Div, Sub, Mul at the input, in forward's order: the channels reversed (Gather of
// [C-1, ..., 0] along axis 1: https://onnx.ai/onnx/operators/onnx__Gather.html), / 255, - mean,
// / std, * scale. Constants are `<input>/channel_order`, `<input>/pixel_range`, `<input>/scale`.
function imageInput(l: L.ImageInput, ctx: OnnxExportContext): string {
  const steps: [string, () => string][] = [];
  const c = l.inputSize[0]!;
  if (l.bgr) steps.push(['Gather', () => ctx.constant('channel_order', Array.from({ length: c }, (_, i) => c - 1 - i), [c], 'int64')]);
  if (l.normalization === 'rescale-zero-one') steps.push(['Div', () => ctx.constant('pixel_range', [255], [])]);
  if (l.buffers.has('mean')) steps.push(['Sub', () => ctx.param('mean')]);
  if (l.buffers.has('std')) steps.push(['Div', () => ctx.param('std')]);
  if (l.scale !== 1) steps.push(['Mul', () => ctx.constant('scale', [l.scale], [])]);
  let x = ctx.inputs[0]!;
  steps.forEach(([op, operand], i) => {
    x = ctx.node(op, [x, operand()], op === 'Gather' ? { axis: attr.int(1) } : {}, i === steps.length - 1 ? { output: ctx.output } : {});
  });
  return x;
}

/**
 * A per-channel [C] parameter (kept under its state-dict name) shaped to broadcast over the
 * observation (C, ...) from the right, as the layer's view does: Reshape to [C, 1, ...]
 * (https://onnx.ai/onnx/operators/onnx__Reshape.html); on (C) it broadcasts as it is.
 */
function perChannel(l: Layer, ctx: OnnxExportContext, suffix: string): string {
  const shape = inShape(l);
  const p = ctx.param(suffix);
  if (shape.length === 1) return p;
  return ctx.node('Reshape', [p, ctx.constant(`${suffix}_shape`, [shape[0]!, ...Array(shape.length - 1).fill(1)], [shape.length], 'int64')]);
}

// Elementwise joins, as forward folds them from the left: 'sum' is Add (two inputs) or Sum
// (more: https://onnx.ai/onnx/operators/onnx__Sum.html), each input with a coefficient other
// than 1 multiplied by it first (Mul); 'prod' a chain of Mul; 'max' one Max
// (https://onnx.ai/onnx/operators/onnx__Max.html, variadic).
function elementwise(l: L.Elementwise, ctx: OnnxExportContext): string {
  const out = { output: ctx.output };
  if (l.operation === 'max') return ctx.node('Max', ctx.inputs, {}, out);
  if (l.operation === 'prod') {
    let acc = ctx.inputs[0]!;
    for (let i = 1; i < ctx.inputs.length; i++) acc = ctx.node('Mul', [acc, ctx.inputs[i]!], {}, i === ctx.inputs.length - 1 ? out : {});
    return acc;
  }
  const c = l.coefficients;
  const terms = ctx.inputs.map((x, i) => (c && c[i] !== 1 ? ctx.node('Mul', [x, ctx.constant(`coefficient${i + 1}`, [c[i]!], [])]) : x));
  return ctx.node(terms.length === 2 ? 'Add' : 'Sum', terms, {}, out);
}

// Power: (shift + scale * x)^power as forward computes it: Mul, Add, Pow
// (https://onnx.ai/onnx/operators/onnx__Pow.html), each left out when it is the identity; all
// three left out is an Identity.
function power(l: L.Power, ctx: OnnxExportContext): string {
  const steps: [string, string, number][] = [];
  if (l.scale !== 1) steps.push(['Mul', 'scale', l.scale]);
  if (l.shift !== 0) steps.push(['Add', 'shift', l.shift]);
  if (l.power !== 1) steps.push(['Pow', 'power', l.power]);
  if (!steps.length) return ctx.node('Identity', [ctx.inputs[0]!], {}, { output: ctx.output });
  let x = ctx.inputs[0]!;
  steps.forEach(([op, what, v], i) => { x = ctx.node(op, [x, ctx.constant(what, [v], [])], {}, i === steps.length - 1 ? { output: ctx.output } : {}); });
  return x;
}

// ResNet's option-A shortcut: every stride-th row and column from the first (Slice with steps
// along axes 2 and 3, ends the built sizes: https://onnx.ai/onnx/operators/onnx__Slice.html),
// then zero channels before and after (Pad, constant mode: https://onnx.ai/onnx/operators/onnx__Pad.html).
function subsamplePad2d(l: L.SubsamplePad2d, ctx: OnnxExportContext): string {
  const [, h, w] = inShape(l) as [number, number, number];
  const [sh, sw] = l.stride as [number, number];
  const [before, after] = l.padChannels as [number, number];
  const pad = before > 0 || after > 0;
  let x = ctx.inputs[0]!;
  if (sh !== 1 || sw !== 1) {
    x = ctx.node('Slice', [
      x, ctx.constant('starts', [0, 0], [2], 'int64'), ctx.constant('ends', [h, w], [2], 'int64'),
      ctx.constant('axes', [2, 3], [2], 'int64'), ctx.constant('steps', [sh, sw], [2], 'int64'),
    ], {}, pad ? {} : { output: ctx.output });
  }
  if (pad) {
    // pads: all begins (N, C, H, W), then all ends.
    x = ctx.node('Pad', [x, ctx.constant('pads', [0, before, 0, 0, 0, after, 0, 0], [8], 'int64')], { mode: attr.string('constant') }, { output: ctx.output });
  }
  return x === ctx.inputs[0] ? ctx.node('Identity', [x], {}, { output: ctx.output }) : x;
}

// A trained SVM (src/nn/layers/svm.ts): GlobalAveragePool/GlobalMaxPool and Flatten of the
// feature map, (x - mean) / scale (Sub, Div), the decision values by Gemm
// (https://onnx.ai/onnx/operators/onnx__Gemm.html) on the features (linear) or on the RBF kernel
// exp(-gamma (|z|^2 - 2 z s + |s|^2)) (MatMul, Exp); then the vote scores (Greater, Cast, MatMul)
// or, for two classes, Platt's sigmoid (Sigmoid, Clip, Concat). Coupling three or more classes'
// pairwise probabilities needs a linear solve, which ONNX has no operator for.
function svmClassifier(l: L.SvmClassifier, ctx: OnnxExportContext): string {
  const shape = inShape(l);
  const k = l.numClasses;
  if (l.output === 'probabilities' && k > 2) {
    throw new RangeError(`exportONNX: layer '${l.name}' (svmClassifier) couples the probabilities of ${k} classes by a linear solve, which ONNX has no operator for; export an SVM with output 'scores' (SVMModel.toLayer({ output: 'scores' }), featureClassifier(..., { output: 'scores' }))`);
  }
  let x = ctx.inputs[0]!;
  if (l.pooling !== 'none' && shape.length > 1) x = ctx.node(l.pooling === 'avg' ? 'GlobalAveragePool' : 'GlobalMaxPool', [x]);
  if (shape.length > 1) x = ctx.node('Flatten', [x], { axis: attr.int(1) });
  const z = ctx.node('Div', [ctx.node('Sub', [x, ctx.param('mean')]), ctx.param('scale')]);
  const d = l.buffers.get('mean')!.shape[0]!;
  const last = (op: string, ins: string[], attributes: Record<string, Attr> = {}) => ctx.node(op, ins, attributes, { output: ctx.output });
  let dec: string;
  if (l.kernel === 'linear') {
    dec = ctx.node('Gemm', [z, ctx.param('coef'), ctx.param('intercept')], { transB: attr.int(1) });
  } else {
    const sv = l.buffers.get('support_vectors')!;
    const svNorms = Array.from(sv.square().sum(1).dataSync() as Float32Array);
    const zz = ctx.node('MatMul', [ctx.node('Mul', [z, z]), ctx.constant('ones', new Array(d).fill(1), [d, 1])]); // (N, 1)
    const cross = ctx.node('MatMul', [z, ctx.tensor('support_vectors_t', sv.t().contiguous())]); // (N, S)
    const d2 = ctx.node('Relu', [ctx.node('Add', [ctx.node('Sub', [zz, ctx.node('Mul', [cross, ctx.constant('two', [2], [])])]), ctx.constant('sv_norms', svNorms, [1, svNorms.length])])]);
    const kernel = ctx.node('Exp', [ctx.node('Mul', [d2, ctx.constant('neg_gamma', [-l.gamma!], [])])]);
    dec = ctx.node('Gemm', [kernel, ctx.param('dual_coef'), ctx.param('intercept')], { transB: attr.int(1) });
  }
  if (l.output === 'probabilities') {
    const r = ctx.node('Clip', [
      ctx.node('Sigmoid', [ctx.node('Neg', [ctx.node('Add', [ctx.node('Mul', [dec, ctx.param('prob_a')]), ctx.param('prob_b')])])]),
      ctx.constant('min_prob', [1e-7], []), ctx.constant('max_prob', [1 - 1e-7], []),
    ]);
    return last('Concat', [r, ctx.node('Sub', [ctx.constant('one', [1], []), r])], { axis: attr.int(1) });
  }
  // Votes and confidences through the (pairs, classes) incidence matrix, as svmVoteScores.
  const pairs: [number, number][] = [];
  for (let i = 0; i < k; i++) for (let j = i + 1; j < k; j++) pairs.push([i, j]);
  const plus = new Array(pairs.length * k).fill(0), minus = new Array(pairs.length * k).fill(0);
  pairs.forEach(([i, j], n) => { plus[n * k + i] = 1; minus[n * k + j] = 1; });
  const inc = plus.map((v, i) => v - minus[i]);
  const win = ctx.node('Cast', [ctx.node('Greater', [dec, ctx.constant('zero', [0], [])])], { to: attr.int(1) });
  const votes = ctx.node('Add', [
    ctx.node('MatMul', [win, ctx.constant('first', plus, [pairs.length, k])]),
    ctx.node('MatMul', [ctx.node('Sub', [ctx.constant('one', [1], []), win]), ctx.constant('second', minus, [pairs.length, k])]),
  ]);
  const conf = ctx.node('MatMul', [dec, ctx.constant('incidence', inc, [pairs.length, k])]);
  const denom = ctx.node('Mul', [ctx.node('Add', [ctx.node('Abs', [conf]), ctx.constant('one_c', [1], [])]), ctx.constant('three', [3], [])]);
  return last('Add', [votes, ctx.node('Div', [conf, denom])]);
}

/** An imported node's attribute in its recorded ONNX type; without one, integers are ints (lists: ints when every element is). */
function nodeAttr(name: string, v: AttrValue, type: OnnxAttrType | undefined, where: string): Attr {
  const kind = type ?? (typeof v === 'string' ? 'string' : typeof v === 'number' ? (Number.isInteger(v) ? 'int' : 'float')
    : v.some((x) => typeof x === 'string') ? 'strings' : (v as number[]).every(Number.isInteger) ? 'ints' : 'floats');
  const bad = () => new TypeError(`exportONNX: ${where}: attribute '${name}' is recorded as ${kind}, its value is ${JSON.stringify(v)}`);
  const utf8 = (x: string) => new TextEncoder().encode(x);
  switch (kind) {
    case 'float': case 'int': if (typeof v !== 'number') throw bad(); return kind === 'int' ? attr.int(v) : attr.float(v);
    case 'string': if (typeof v !== 'string') throw bad(); return attr.string(v);
    case 'floats': case 'ints': if (!Array.isArray(v) || v.some((x) => typeof x !== 'number')) throw bad(); return { type: ATTR_TYPE_CODES[kind], [kind]: [...v] };
    case 'strings': if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw bad(); return { type: ATTR_TYPE_CODES.strings, strings: (v as string[]).map(utf8) };
  }
}

// Opset 7 (ONNX 1.2) removed the legacy attributes: the elementwise ops' 'broadcast' and 'axis'
// (numpy broadcasting from 7: https://github.com/onnx/onnx/blob/main/docs/Changelog.md#Add-7),
// Gemm's 'broadcast' (C broadcasts to the result), BatchNormalization's and Dropout's 'is_test'
// (inference is the one-output form); PRelu's slope broadcasts from the right. Legacy broadcasting aligned B to A from 'axis'; numpy
// aligns from the right, the same when axis = rank(A) - rank(B).
const LEGACY_BROADCAST = new Set(['Add', 'Sub', 'Mul', 'Div', 'Pow', 'And', 'Or', 'Xor', 'Equal', 'Greater', 'Less']);
function toOpset7(l: OnnxNode, inputs: string[], attributes: Record<string, Attr>, ctx: OnnxExportContext): void {
  if (LEGACY_BROADCAST.has(l.op)) {
    const axis = attributes.axis?.i;
    if (axis !== undefined && attributes.broadcast?.i === 1) {
      const batched = ctx.network.inputLayers.every((x) => x.batched);
      // Full ranks: wired tensors carry the batch in a batched network, held initializers do not.
      let wired = 0;
      const ranks = l.slots.slice(0, 2).map((s) => {
        if (s === null) return undefined;
        if ('held' in s) return l.held[s.held]!.shape.length;
        const shape = l.inputShapes?.[wired++];
        return shape ? shape.length + (batched ? 1 : 0) : undefined;
      });
      const [ra, rb] = ranks;
      const a = ra !== undefined && axis < 0 ? axis + ra : axis;
      if (ra === undefined || rb === undefined || a !== ra - rb) {
        throw new RangeError(`exportONNX: layer '${l.name}' (onnxNode ${l.op}, opset ${l.opset}): legacy broadcasting from axis ${axis} (inputs of rank ${ra ?? '?'} and ${rb ?? '?'}) has no opset-7 form without reshaping; export with option opset: ${l.opset}`);
      }
    }
    delete attributes.broadcast;
    delete attributes.axis;
  }
  if (l.op === 'Gemm') delete attributes.broadcast;
  if (l.op === 'PRelu') {
    // PRelu-6's slope of shape (C) is per channel (axis 1); from 7 it broadcasts from the right:
    // Unsqueeze it to (C, 1, ...).
    const rank = (l.inputShapes?.[0]?.length ?? 0) + (ctx.network.inputLayers.every((x) => x.batched) ? 1 : 0);
    const s = l.slots[1];
    const slopeShape = s && 'held' in s ? l.held[s.held]!.shape : l.inputShapes?.[1];
    if (slopeShape && slopeShape.length === 1 && slopeShape[0]! > 1 && rank > 2) {
      inputs[1] = ctx.node('Unsqueeze', [inputs[1]!], { axes: attr.ints(Array.from({ length: rank - 2 }, (_, i) => i + 1)) });
    }
  }
  if (l.op === 'BatchNormalization' || l.op === 'Dropout') delete attributes.is_test;
}

/**
 * An imported ONNX node, re-emitted as read: op, domain, attributes (tensor attributes are
 * held as '@<name>' and go back as tensor attributes), wired inputs in slot order, held
 * initializers under the file's names (the held keys), '' for omitted optional inputs and
 * outputs. A shared initializer the importer made a Constant layer of is an initializer again.
 */
function onnxNode(l: OnnxNode, ctx: OnnxExportContext): readonly string[] {
  if (Object.keys(l.graphs).length) throw new RangeError(`exportONNX: layer '${l.name}' (onnxNode ${l.op}) holds subgraphs (${Object.keys(l.graphs).join(', ')}); exporting control flow is not supported (saveModel keeps it)`);
  if (l.op === 'Constant' && !l.domain && l.slots.length === 1 && l.slots[0] && 'held' in l.slots[0] && l.slots[0].held === 'value') {
    return [ctx.initializer('value', ctx.output)];
  }
  let wired = 0;
  const inputs = l.slots.map((s) => (s === null ? '' : 'wire' in s ? ctx.inputs[wired++]! : ctx.initializer(s.held, s.held)));
  const where = `layer '${l.name}' (onnxNode ${l.op})`;
  const attributes: Record<string, Attr> = {};
  for (const [name, v] of Object.entries(l.attributes)) attributes[name] = nodeAttr(name, v, l.attributeTypes[name], where);
  for (const key of Object.keys(l.held)) {
    if (!key.startsWith('@')) continue;
    const t = l.buffers.get(key) ?? l.params.get(key)!;
    attributes[key.slice(1)] = { type: 4, t: tensorToProto(t, '') };
  }
  // Outputs the file left out ('') stay out: nothing reads them.
  if (l.opset < 7 && ctx.opset >= 7) toOpset7(l, inputs, attributes, ctx);
  const outputs = ctx.outputs.map((v, k) => (l.outputNames.length > k && !l.outputNames[k] ? '' : v));
  ctx.node(l.op, inputs, attributes, { outputs, ...(l.domain ? { domain: l.domain } : {}) });
  return ctx.outputs;
}

/** The input layers: data enters unchanged (featureInput, sequenceInput), so the value is the graph input. */
const passThrough = (_l: Layer, ctx: OnnxExportContext) => ctx.inputs[0]!;

const notExported = (kind: string) => (l: Layer): never => {
  throw new RangeError(`exportONNX: input layer '${l.name}' (${l.type}) takes ${kind} values; exporting ${kind} inputs is not supported (saveModel keeps them)`);
};

const unary = (op: string, attributes: (l: Layer) => Record<string, Attr> = () => ({})) =>
  (l: Layer, ctx: OnnxExportContext) => ctx.node(op, [ctx.inputs[0]!], attributes(l), { output: ctx.output });

/** Handlers by dlkit layer type (the types registered in src/nn/registry.ts). */
export const ONNX_EXPORT_LAYERS: Record<string, OnnxLayerExport> = {
  // Gather (bgr), Div, Sub, Mul: https://onnx.ai/onnx/operators/onnx__Gather.html, onnx__Div.html,
  // onnx__Sub.html, onnx__Mul.html, in forward's order; the statistics are the layer's buffers
  // (`<input>.mean`, `<input>.std`, shape [C, 1, 1], in the network's channel order).
  imageInput: handler<L.ImageInput>(['Gather', 'Div', 'Sub', 'Mul'], imageInput,
    "the normalization as nodes at the input: bgr a Gather reversing the channels, 'rescale-zero-one' Div by 255, 'zerocenter' Sub of the mean, 'zscore' Sub and Div by the std, scale a Mul"),
  featureInput: handler(['(graph input)'], passThrough),
  // A graph input of the layer's dtype: batched, its first dimension is dynamic ('N'); unbatched, every dimension is fixed.
  tensorInput: { ...handler(['(graph input)'], passThrough, 'the dtype kept; unbatched inputs with fixed dims'), anyOpset: true },
  // Any op the importer reads (src/io/onnx/ops), written back at the opset it was read at.
  onnxNode: {
    ...handler<OnnxNode>(['(the imported op)'], onnxNode, "imported ONNX nodes as read: the file's op, attributes, tensor and initializer names, and opset"),
    anyOpset: true,
    opsetOf: (l) => (l as OnnxNode).opset,
    valueNames: (l) => (l as OnnxNode).outputNames,
    valueTypes: (l) => (l as OnnxNode).outputTypes,
  },
  sequenceInput: handler(['(graph input)'], passThrough),
  // Graph inputs of sequence and optional type are not written (export declares tensor inputs).
  tensorSequenceInput: { ...handler(['(not exported)'], notExported('sequence')), anyOpset: true },
  onnxOptionalInput: { ...handler(['(not exported)'], notExported('optional')), anyOpset: true },
  conv1d: handler<L.Conv1d>(['Conv'], conv, "padding 'same' as explicit pads"),
  conv2d: handler<L.Conv2d>(['Conv'], conv, "groups, dilation; padding 'same' as explicit pads"),
  // ConvTranspose: https://onnx.ai/onnx/operators/onnx__ConvTranspose.html (weights [in, out/groups, kH, kW], as dlkit's).
  convTranspose2d: handler<L.ConvTranspose2d>(['ConvTranspose'], (l, ctx) => {
    const inputs = [ctx.inputs[0]!, ctx.param('weight'), ...(l.params.has('bias') ? [ctx.param('bias')] : [])];
    return ctx.node('ConvTranspose', inputs, {
      kernel_shape: attr.ints(l.kernelSize), strides: attr.ints(l.stride), dilations: attr.ints(l.dilation),
      pads: attr.ints([...l.padding, ...l.padding]), output_padding: attr.ints(l.outputPadding), group: attr.int(l.groups),
    }, { output: ctx.output });
  }),
  // Flatten + Gemm: https://onnx.ai/onnx/operators/onnx__Flatten.html, onnx__Gemm.html (B = weight^T).
  // Flatten is in NCHW order, the order of dlkit's weight columns whatever the memory format.
  fullyConnected: handler<L.FullyConnected>(['Flatten', 'Gemm'], (l, ctx) => {
    const x = inShape(l).length > 1 ? ctx.node('Flatten', [ctx.inputs[0]!], { axis: attr.int(1) }) : ctx.inputs[0]!;
    const inputs = [x, ctx.param('weight'), ...(l.params.has('bias') ? [ctx.param('bias')] : [])];
    return ctx.node('Gemm', inputs, { transB: attr.int(1) }, { output: ctx.output });
  }, 'Flatten first when the input has several dimensions per observation'),
  // BatchNormalization: https://onnx.ai/onnx/operators/onnx__BatchNormalization.html, inference
  // mode with the running statistics; ONNX's momentum weighs the running value (1 - PyTorch's).
  // Without affine parameters (Caffe's BatchNorm) scale and B are constant ones and zeros.
  batchNorm: handler<L.BatchNorm>(['BatchNormalization'], (l, ctx) => {
    const c = inShape(l)[0]!;
    const [scale, bias] = l.affine
      ? [ctx.param('weight'), ctx.param('bias')]
      : [ctx.constant('scale', Array(c).fill(1), [c]), ctx.constant('B', Array(c).fill(0), [c])];
    return ctx.node('BatchNormalization', [ctx.inputs[0]!, scale, bias, ctx.param('running_mean'), ctx.param('running_var')],
      { epsilon: attr.float(l.epsilon), momentum: attr.float(1 - l.momentum) }, { output: ctx.output });
  }, 'affine: false with constant scale 1 and bias 0'),
  layerNorm: handler<L.LayerNorm>(['LayerNormalization', 'ReduceMean', 'Sub', 'Mul', 'Add', 'Sqrt', 'Div'], layerNorm, 'one LayerNormalization from opset 17, decomposed before'),
  localResponseNorm: handler<L.LocalResponseNorm>(['LRN', 'Mul', 'Reshape', 'AveragePool', 'Add', 'Pow', 'Div'], localResponseNorm,
    "LRN for odd sizes on (C, H, W); decomposed otherwise; region 'within' as a size x size AveragePool of the squares"),
  // Relu, LeakyRelu, Elu, Tanh, Sigmoid: https://onnx.ai/onnx/operators/onnx__Relu.html, …
  relu: handler(['Relu'], unary('Relu')),
  leakyRelu: handler(['LeakyRelu'], unary('LeakyRelu', (l) => ({ alpha: attr.float((l as L.LeakyReLU).scale) }))),
  elu: handler(['Elu'], unary('Elu', (l) => ({ alpha: attr.float((l as L.ELU).alpha) }))),
  gelu: handler<L.GELU>(['Gelu', 'Erf', 'Tanh', 'Mul', 'Div', 'Add'], gelu, 'one Gelu from opset 20, decomposed (Erf, or Tanh for approximate) before'),
  // Clip with min and max as inputs (opset 11 on): https://onnx.ai/onnx/operators/onnx__Clip.html.
  clippedRelu: handler<L.ClippedReLU>(['Clip'], (l, ctx) => ctx.node('Clip', [ctx.inputs[0]!, ctx.constant('min', [0], []), ctx.constant('max', [l.ceiling], [])], {}, { output: ctx.output })),
  tanh: handler(['Tanh'], unary('Tanh')),
  sigmoid: handler(['Sigmoid'], unary('Sigmoid')),
  // Softmax: https://onnx.ai/onnx/operators/onnx__Softmax.html; from opset 13 `axis` is the one
  // axis normalized over, dlkit's dim 1 (the classes).
  softmax: handler(['Softmax'], unary('Softmax', () => ({ axis: attr.int(1) }))),
  // Identity: https://onnx.ai/onnx/operators/onnx__Identity.html (dropout does nothing at inference).
  dropout: handler(['Identity'], unary('Identity')),
  maxPool1d: handler<L.MaxPool1d>(['MaxPool'], maxPool, 'ceil mode as explicit end padding'),
  maxPool2d: handler<L.MaxPool2d>(['MaxPool'], maxPool, 'ceil mode as explicit end padding'),
  avgPool1d: handler<L.AvgPool1d>(['AveragePool', 'Pad', 'Mul'], avgPool, "count_include_pad=1; ceil mode's partial windows as Pad, AveragePool and a per-position Mul"),
  avgPool2d: handler<L.AvgPool2d>(['AveragePool', 'Pad', 'Mul'], avgPool, "count_include_pad=1; ceil mode's partial windows as Pad, AveragePool and a per-position Mul"),
  // GlobalAveragePool: https://onnx.ai/onnx/operators/onnx__GlobalAveragePool.html.
  globalAvgPool2d: handler(['GlobalAveragePool'], unary('GlobalAveragePool')),
  adaptiveAvgPool2d: handler<L.AdaptiveAvgPool2d>(['AveragePool', 'GlobalAveragePool', 'MatMul'], adaptiveAvgPool,
    'AveragePool where the output size divides the input size, else two MatMuls by constant averaging matrices'),
  flatten: handler(['Flatten'], unary('Flatten', () => ({ axis: attr.int(1) }))),
  // Concat: https://onnx.ai/onnx/operators/onnx__Concat.html (dlkit's dim counts the batch, as ONNX's axis).
  concatenation: handler<L.Concatenation>(['Concat'], (l, ctx) => ctx.node('Concat', ctx.inputs, { axis: attr.int(l.dim) }, { output: ctx.output })),
  // Add (two inputs), Sum (more): https://onnx.ai/onnx/operators/onnx__Add.html, onnx__Sum.html.
  addition: handler(['Add', 'Sum'], (_l, ctx) => ctx.node(ctx.inputs.length === 2 ? 'Add' : 'Sum', ctx.inputs, {}, { output: ctx.output })),
  // Reshape: https://onnx.ai/onnx/operators/onnx__Reshape.html; the batch dimension is copied (0),
  // the rest is the built per-observation shape (its -1 resolved). Both sides are row-major NCHW.
  reshape: handler<L.Reshape>(['Reshape'], (l, ctx) => {
    const shape = l.builtOutputShape!;
    return ctx.node('Reshape', [ctx.inputs[0]!, ctx.constant('shape', [0, ...shape], [shape.length + 1], 'int64')], {}, { output: ctx.output });
  }),
  // Slice: https://onnx.ai/onnx/operators/onnx__Slice.html (starts, ends, axes as inputs; dlkit's dim counts the batch, as ONNX's axes).
  slice: handler<L.Slice>(['Slice'], (l, ctx) => ctx.node('Slice', [
    ctx.inputs[0]!, ctx.constant('starts', [l.start], [1], 'int64'), ctx.constant('ends', [l.end], [1], 'int64'), ctx.constant('axes', [l.dim], [1], 'int64'),
  ], {}, { output: ctx.output })),
  // Mul, Add: https://onnx.ai/onnx/operators/onnx__Mul.html, onnx__Add.html, by the parameters
  // under their state-dict names, reshaped to [C, 1, ...] (see perChannel).
  scale: handler<L.Scale>(['Mul', 'Add', 'Reshape'], (l, ctx) => {
    const x = ctx.inputs[0]!;
    if (!l.bias) return ctx.node('Mul', [x, perChannel(l, ctx, 'weight')], {}, { output: ctx.output });
    return ctx.node('Add', [ctx.node('Mul', [x, perChannel(l, ctx, 'weight')]), perChannel(l, ctx, 'bias')], {}, { output: ctx.output });
  }, 'Mul (then Add with bias) by the [C] parameters reshaped to broadcast over the channel axis'),
  bias: handler<L.Bias>(['Add', 'Reshape'], (l, ctx) => ctx.node('Add', [ctx.inputs[0]!, perChannel(l, ctx, 'bias')], {}, { output: ctx.output }),
    'Add of the [C] parameter reshaped to broadcast over the channel axis'),
  elementwise: handler<L.Elementwise>(['Add', 'Sum', 'Mul', 'Max'], elementwise, "'sum' Add or Sum (coefficients other than 1 a Mul first), 'prod' Mul, 'max' Max"),
  power: handler<L.Power>(['Mul', 'Add', 'Pow', 'Identity'], power, 'Mul by scale, Add of shift, Pow, each left out when it does nothing'),
  subsamplePad2d: handler<L.SubsamplePad2d>(['Slice', 'Pad', 'Identity'], subsamplePad2d, 'Slice with steps, then Pad of zero channels'),
  svmClassifier: handler<L.SvmClassifier>(['GlobalAveragePool', 'GlobalMaxPool', 'Flatten', 'Sub', 'Div', 'Gemm', 'MatMul', 'Mul', 'Add', 'Relu', 'Exp', 'Neg', 'Sigmoid', 'Clip', 'Concat', 'Greater', 'Cast', 'Abs'], svmClassifier, 'vote scores; probabilities for two classes only (coupling more needs a linear solve)'),
};

/** Adds (or replaces) the export of a layer type, e.g. one registered with `registerLayer`. */
export function registerOnnxExport(type: string, exporter: OnnxLayerExport): void {
  ONNX_EXPORT_LAYERS[type] = exporter;
}

/** The exportable layer types as a Markdown table (layer type, ONNX operators linked to their spec, notes), for the docs. */
export function onnxExportTable(): string {
  const rows = Object.entries(ONNX_EXPORT_LAYERS).map(([type, e]) => {
    const ops = e.ops.map((op) => (op.startsWith('(') ? op : `[${op}](${onnxOperatorUrl(op)})`)).join(', ');
    return `| \`${type}\` | ${ops} | ${e.note ?? ''} |`;
  });
  return ['| layer type | ONNX operators | notes |', '| --- | --- | --- |', ...rows].join('\n');
}
