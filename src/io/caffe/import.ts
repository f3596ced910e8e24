// Caffe import: a .prototxt (text NetParameter: the architecture) and a .caffemodel (binary
// NetParameter: the trained blobs, matched to the prototxt's layers by name) into a dlkit graph
// network that keeps Caffe's layer names. One handler per Caffe layer type (CAFFE_LAYER_TYPES),
// following the layer's definition in BVLC Caffe (src/caffe/layers/<type>_layer.cpp and the
// parameter messages of caffe.proto). Unsupported types and parameters are all reported in one
// error. Preprocessing that Caffe keeps outside the deploy file (mean, scale, BGR order) and
// class names are given as options and stored in the network's input layer and classes.
import { readFileSync } from 'node:fs';
import { Network, type Connection } from '../../nn/network.js';
import { Layer, shapeStr, type Shape } from '../../nn/layer.js';
import * as L from '../../nn/layers/index.js';
import { tensor } from '../../tensor/create.js';
import { tidy } from '../../tensor/memory.js';
import { noGrad } from '../../tensor/autograd.js';
import { blobShape, blobValues, CaffeError, caffeType, has, readBlobProto, readCaffemodel, readNetParameter, type Msg } from './schema.js';

export interface CaffeImportOptions {
  /**
   * The first input's per-observation shape [C, H, W] (or a Caffe shape [N, C, H, W]); needed
   * when the prototxt declares no input shape, and overrides the one it declares.
   */
  inputSize?: readonly number[];
  /** Multiplies the mean-subtracted input: `(x - mean) * scale`, x raw 0–255 (e.g. 0.00390625). */
  scale?: number;
  /** Per-channel mean in the network's channel order (BGR for most Caffe models), e.g. [104, 117, 123]. */
  mean?: readonly number[];
  /** A .binaryproto mean image (BlobProto [1, C, H, W]); its per-channel averages are used. */
  meanFile?: string;
  /** The network takes BGR: RGB input images have their channels reversed first (Caffe models trained through OpenCV). */
  bgr?: boolean;
  /** Class names in output order. */
  classes?: readonly string[];
  /** A text file with one class name per line (synset_words.txt: the leading WordNet ids are dropped). */
  labelsFile?: string;
}

const OPTION_NAMES = ['inputSize', 'scale', 'mean', 'meanFile', 'bgr', 'classes', 'labelsFile'];

/** What a handler sees of one Caffe layer. */
export interface CaffeLayerContext {
  name: string;
  type: string;
  /** Per-observation shapes (no batch dimension) of the bottoms. */
  inputs: Shape[];
  /** The layer's *_param message (schema defaults where unset). */
  param: Msg;
  /** Number of tops. */
  tops: number;
  /** Records a parameter value dlkit cannot honour; all are reported together. */
  unsupported(what: string): void;
  /** Records a parameter that does not fit the input shapes (not reported below an unsupported layer, where shapes are guesses). */
  unfit(what: string): void;
}

/** A blob the layer's weights need: its Caffe shape and where it goes in the dlkit layer. */
interface BlobSpec {
  /** 'weight', 'bias', 'running_mean', … (params or buffers of the dlkit layer). */
  suffix: string;
  what: string;
  shape: number[];
}

/** What a handler makes of a Caffe layer. */
type Made =
  /** One dlkit layer fed by the bottoms in order, giving the one top. */
  | { layer: Layer; blobs?: BlobSpec[]; convert?: (values: Float32Array[]) => Float32Array[]; learnable?: boolean }
  /** Every top is the (first) bottom: Split, a one-input Concat. */
  | { alias: true }
  /** One layer per top, each fed by the first bottom: Slice. */
  | { perTop: Layer[] };

export interface CaffeLayerHandler {
  /** The *_param field of LayerParameter the layer reads, or null. */
  param: string | null;
  /** The fields of that message the handler honours (or ignores knowingly: fillers, engine); others are reported. */
  fields: readonly string[];
  make(ctx: CaffeLayerContext): Made;
}

const count = (s: Shape) => s.reduce((a, b) => a * b, 1);

/** Caffe's kernel/pad/stride: `kernel_size` (repeated: one for both or [h, w]) or `kernel_h`/`kernel_w`. */
function spatial(ctx: CaffeLayerContext, which: 'kernel' | 'pad' | 'stride', fallback: number | null): [number, number] {
  const p = ctx.param;
  const base = which === 'kernel' ? 'kernel_size' : which;
  const hw = [`${which}_h`, `${which}_w`];
  if (has(p, hw[0]!) || has(p, hw[1]!)) {
    if (has(p, base) && (Array.isArray(p[base]) ? p[base].length : 1)) ctx.unsupported(`both ${base} and ${hw.join('/')} are set`);
    return [Number(p[hw[0]!]), Number(p[hw[1]!])];
  }
  const v = Array.isArray(p[base]) ? (p[base] as number[]) : has(p, base) ? [p[base] as number] : [];
  if (v.length === 0) {
    if (fallback === null) { ctx.unsupported(`${base} is not set`); return [1, 1]; }
    return [fallback, fallback];
  }
  if (v.length > 2) ctx.unsupported(`${base} has ${v.length} values (only 2-D is supported)`);
  return v.length === 1 ? [v[0]!, v[0]!] : [v[0]!, v[1]!];
}

/** Checks a 'axis' field: only the channel axis (1, or its negative form) is supported. */
function channelAxis(ctx: CaffeLayerContext, field = 'axis', rank = ctx.inputs[0]!.length + 1): number {
  const raw = Number(ctx.param[field]);
  const axis = raw < 0 ? raw + rank : raw;
  if (axis !== 1) ctx.unsupported(`${field} ${raw} (only the channel axis, 1, is supported)`);
  return axis;
}

function expectImage(ctx: CaffeLayerContext): boolean {
  const s = ctx.inputs[0]!;
  if (s.length !== 3) { ctx.unfit(`input ${shapeStr(s)}: only (C, H, W) inputs are supported`); return false; }
  return true;
}

const CONV_FIELDS = ['num_output', 'bias_term', 'pad', 'kernel_size', 'stride', 'dilation', 'pad_h', 'pad_w', 'kernel_h', 'kernel_w', 'stride_h', 'stride_w', 'group', 'weight_filler', 'bias_filler', 'engine', 'axis', 'force_nd_im2col'];

function convParams(ctx: CaffeLayerContext) {
  const p = ctx.param;
  channelAxis(ctx);
  const kernel = spatial(ctx, 'kernel', null);
  const pad = spatial(ctx, 'pad', 0);
  const stride = spatial(ctx, 'stride', 1);
  const dilation = ((v: number[]) => (v.length === 0 ? [1, 1] : v.length === 1 ? [v[0]!, v[0]!] : [v[0]!, v[1]!]))(p.dilation as number[]);
  if ((p.dilation as number[]).length > 2) ctx.unsupported(`dilation has ${(p.dilation as number[]).length} values (only 2-D is supported)`);
  return { filters: Number(p.num_output), kernel, pad, stride, dilation, groups: Number(p.group), bias: Boolean(p.bias_term) };
}

/**
 * Caffe's pooled size: ceil((n + 2p - k) / s) + 1, less one when the last window would start
 * in the padding (pooling_layer.cpp). PyTorch's ceil mode drops that window whenever it starts
 * past the input and left padding, with or without padding.
 */
function caffePooledSize(n: number, k: number, p: number, s: number, ceil: boolean): number {
  let o = (ceil ? Math.ceil((n + 2 * p - k) / s) : Math.floor((n + 2 * p - k) / s)) + 1;
  if (p > 0 && (o - 1) * s >= n + p) o--;
  return o;
}

const ENGINE = ['engine'];

/** The Caffe layer types dlkit imports, each with its handler. README's list comes from this table. */
export const CAFFE_LAYER_TYPES: Readonly<Record<string, CaffeLayerHandler>> = {
  // convolution_layer.cpp; weights [num_output, C/group, kH, kW], bias [num_output].
  Convolution: {
    param: 'convolution_param', fields: CONV_FIELDS,
    make(ctx) {
      const c = convParams(ctx);
      if (!expectImage(ctx)) return { alias: true };
      const inC = ctx.inputs[0]![0]!;
      if (inC % c.groups !== 0 || c.filters % c.groups !== 0) ctx.unfit(`group ${c.groups} does not divide the ${inC} input channels and ${c.filters} outputs`);
      const layer = new L.Conv2d({ name: ctx.name, filters: c.filters, kernelSize: c.kernel, stride: c.stride, padding: c.pad, dilation: c.dilation, groups: c.groups, bias: c.bias });
      const blobs = [{ suffix: 'weight', what: 'weights', shape: [c.filters, inC / c.groups, ...c.kernel] }];
      if (c.bias) blobs.push({ suffix: 'bias', what: 'bias', shape: [c.filters] });
      return { layer, blobs };
    },
  },
  // deconv_layer.cpp: the transposed convolution; weights [C, num_output/group, kH, kW].
  Deconvolution: {
    param: 'convolution_param', fields: CONV_FIELDS,
    make(ctx) {
      const c = convParams(ctx);
      if (!expectImage(ctx)) return { alias: true };
      const inC = ctx.inputs[0]![0]!;
      if (inC % c.groups !== 0 || c.filters % c.groups !== 0) ctx.unfit(`group ${c.groups} does not divide the ${inC} input channels and ${c.filters} outputs`);
      const layer = new L.ConvTranspose2d({ name: ctx.name, filters: c.filters, kernelSize: c.kernel, stride: c.stride, padding: c.pad, dilation: c.dilation, groups: c.groups, bias: c.bias });
      const blobs = [{ suffix: 'weight', what: 'weights', shape: [inC, c.filters / c.groups, ...c.kernel] }];
      if (c.bias) blobs.push({ suffix: 'bias', what: 'bias', shape: [c.filters] });
      return { layer, blobs };
    },
  },
  // pooling_layer.cpp: MAX and AVE with Caffe's ceil rounding; AVE divides by the window
  // clipped to the padded input (PyTorch's count_include_pad), global_pooling covers H x W.
  Pooling: {
    param: 'pooling_param', fields: ['pool', 'pad', 'pad_h', 'pad_w', 'kernel_size', 'kernel_h', 'kernel_w', 'stride', 'stride_h', 'stride_w', 'engine', 'global_pooling', 'round_mode'],
    make(ctx) {
      const p = ctx.param;
      const pool = caffeType('PoolingParameter').lookupEnum('PoolMethod').valuesById[p.pool]!;
      if (pool !== 'MAX' && pool !== 'AVE') ctx.unsupported(`pool ${pool} (MAX and AVE are supported)`);
      if (!expectImage(ctx)) return { alias: true };
      if (ctx.tops > 1) ctx.unsupported('a second top (the max-pooling mask)');
      const [c, h, w] = ctx.inputs[0]! as [number, number, number];
      if (p.global_pooling) {
        if (has(p, 'kernel_size') || has(p, 'kernel_h') || has(p, 'kernel_w')) ctx.unsupported('global_pooling with a kernel size');
        if (pool === 'AVE') return { layer: new L.GlobalAvgPool2d({ name: ctx.name }) };
        return { layer: new L.MaxPool2d({ name: ctx.name, poolSize: [h, w], stride: 1 }) };
      }
      const kernel = spatial(ctx, 'kernel', null);
      const pad = spatial(ctx, 'pad', 0);
      const stride = spatial(ctx, 'stride', 1);
      const ceil = caffeType('PoolingParameter').lookupEnum('RoundMode').valuesById[p.round_mode] !== 'FLOOR';
      const sizes = [h, w];
      const caffe = sizes.map((n, i) => caffePooledSize(n, kernel[i]!, pad[i]!, stride[i]!, ceil));
      for (let i = 0; i < 2; i++) {
        if (pad[i]! > kernel[i]! / 2) ctx.unsupported(`pad ${pad[i]} larger than half the kernel ${kernel[i]}`);
      }
      const layer = (pool === 'AVE' ? L.AvgPool2d : L.MaxPool2d);
      const made = new layer({ name: ctx.name, poolSize: kernel, stride, padding: pad, ceilMode: ceil });
      const ours = made.outputShape([[c, h, w]]).slice(1);
      if (ours.some((d, i) => d !== caffe[i])) {
        // Only when the last window starts past the input with no padding (kernel < stride).
        ctx.unfit(`kernel ${shapeStr(kernel)} stride ${shapeStr(stride)} pad ${shapeStr(pad)} on input ${shapeStr([h, w])}: Caffe's last window lies outside the input (output ${shapeStr(caffe)})`);
      }
      return { layer: made };
    },
  },
  // inner_product_layer.cpp: flattens from `axis` on; weights [num_output, K] ([K, num_output] with transpose).
  InnerProduct: {
    param: 'inner_product_param', fields: ['num_output', 'bias_term', 'weight_filler', 'bias_filler', 'axis', 'transpose'],
    make(ctx) {
      const p = ctx.param;
      channelAxis(ctx);
      const n = Number(p.num_output);
      const k = count(ctx.inputs[0]!);
      const layer = new L.FullyConnected({ name: ctx.name, outputSize: n, bias: Boolean(p.bias_term) });
      const blobs = [{ suffix: 'weight', what: 'weights', shape: p.transpose ? [k, n] : [n, k] }];
      if (p.bias_term) blobs.push({ suffix: 'bias', what: 'bias', shape: [n] });
      const convert = p.transpose
        ? ([wt, ...rest]: Float32Array[]) => {
            const out = new Float32Array(n * k);
            for (let i = 0; i < k; i++) for (let j = 0; j < n; j++) out[j * k + i] = wt![i * n + j]!;
            return [out, ...rest];
          }
        : undefined;
      return { layer, blobs, convert };
    },
  },
  // relu_layer.cpp: max(x, 0) + negative_slope * min(x, 0).
  ReLU: {
    param: 'relu_param', fields: ['negative_slope', ...ENGINE],
    make(ctx) {
      const slope = Number(ctx.param.negative_slope);
      return { layer: slope === 0 ? new L.ReLU({ name: ctx.name }) : new L.LeakyReLU({ name: ctx.name, scale: slope }) };
    },
  },
  Sigmoid: { param: 'sigmoid_param', fields: ENGINE, make: (ctx) => ({ layer: new L.Sigmoid({ name: ctx.name }) }) },
  TanH: { param: 'tanh_param', fields: ENGINE, make: (ctx) => ({ layer: new L.Tanh({ name: ctx.name }) }) },
  // lrn_layer.cpp: ACROSS_CHANNELS: x / (k + alpha/n sum x^2)^beta over n channels;
  // WITHIN_CHANNEL: x / (1 + alpha/n^2 sum x^2)^beta over an n x n window (k unused).
  LRN: {
    param: 'lrn_param', fields: ['local_size', 'alpha', 'beta', 'norm_region', 'k', ...ENGINE],
    make(ctx) {
      const p = ctx.param;
      const size = Number(p.local_size);
      if (size % 2 !== 1) ctx.unsupported(`local_size ${size} (Caffe requires an odd size)`);
      const within = caffeType('LRNParameter').lookupEnum('NormRegion').valuesById[p.norm_region] === 'WITHIN_CHANNEL';
      if (within && !expectImage(ctx)) return { alias: true };
      return { layer: new L.LocalResponseNorm({ name: ctx.name, size, alpha: Number(p.alpha), beta: Number(p.beta), k: within ? 1 : Number(p.k), region: within ? 'within' : 'across' }) };
    },
  },
  // dropout_layer.cpp: inverted dropout (scaled at training time), identity at test time.
  Dropout: {
    param: 'dropout_param', fields: ['dropout_ratio'],
    make: (ctx) => ({ layer: new L.Dropout({ name: ctx.name, probability: Number(ctx.param.dropout_ratio) }) }),
  },
  Softmax: {
    param: 'softmax_param', fields: ['axis', ...ENGINE],
    make(ctx) {
      channelAxis(ctx);
      return { layer: new L.Softmax({ name: ctx.name }) };
    },
  },
  // concat_layer.cpp: joins along `axis` (legacy concat_dim).
  Concat: {
    param: 'concat_param', fields: ['axis', 'concat_dim'],
    make(ctx) {
      const rank = ctx.inputs[0]!.length + 1;
      const raw = has(ctx.param, 'concat_dim') ? Number(ctx.param.concat_dim) : Number(ctx.param.axis);
      const dim = raw < 0 ? raw + rank : raw;
      if (dim < 1 || dim >= rank) ctx.unfit(`axis ${raw} (the batch axis 0 and axes past the input's rank ${rank} are not supported)`);
      if (ctx.inputs.length === 1) return { alias: true };
      return { layer: new L.Concatenation({ name: ctx.name, numInputs: ctx.inputs.length, dim }) };
    },
  },
  // eltwise_layer.cpp: SUM (with one coefficient per bottom), PROD, MAX.
  Eltwise: {
    param: 'eltwise_param', fields: ['operation', 'coeff', 'stable_prod_grad'],
    make(ctx) {
      const p = ctx.param;
      const op = caffeType('EltwiseParameter').lookupEnum('EltwiseOp').valuesById[p.operation]!;
      const coeff = (p.coeff as number[]).map(Number);
      if (coeff.length && op !== 'SUM') ctx.unsupported(`coeff with operation ${op} (coefficients apply to SUM)`);
      if (coeff.length && coeff.length !== ctx.inputs.length) ctx.unsupported(`${coeff.length} coefficients for ${ctx.inputs.length} bottoms`);
      if (ctx.inputs.length < 2) ctx.unsupported('fewer than 2 bottoms');
      const n = Math.max(ctx.inputs.length, 2);
      if (op === 'SUM' && coeff.every((c) => c === 1)) return { layer: new L.Addition({ name: ctx.name, numInputs: n }) };
      return { layer: new L.Elementwise({ name: ctx.name, numInputs: n, operation: op === 'SUM' ? 'sum' : op === 'PROD' ? 'prod' : 'max', coefficients: coeff.length === n ? coeff : undefined }) };
    },
  },
  // batch_norm_layer.cpp: blobs mean, variance (both times the scale factor in blob 2) and
  // that factor; no scale and shift of its own (a Scale layer follows).
  BatchNorm: {
    param: 'batch_norm_param', fields: ['use_global_stats', 'moving_average_fraction', 'eps'],
    make(ctx) {
      const p = ctx.param;
      const c = ctx.inputs[0]![0]!;
      // Caffe's running average keeps moving_average_fraction of the old value; PyTorch's momentum weighs the new one.
      const layer = new L.BatchNorm({ name: ctx.name, epsilon: Number(p.eps), momentum: 1 - Number(p.moving_average_fraction), affine: false });
      return {
        layer,
        learnable: false,
        blobs: [
          { suffix: 'running_mean', what: 'mean', shape: [c] },
          { suffix: 'running_var', what: 'variance', shape: [c] },
          { suffix: '', what: 'scale factor', shape: [1] },
        ],
        convert([mean, variance, factor]: Float32Array[]) {
          const f = factor![0]! === 0 ? 0 : 1 / factor![0]!;
          return [mean!.map((v) => v * f), variance!.map((v) => v * f)];
        },
      };
    },
  },
  // scale_layer.cpp with one bottom: a learned factor per channel, optionally a bias (bias_term).
  Scale: {
    param: 'scale_param', fields: ['axis', 'num_axes', 'filler', 'bias_term', 'bias_filler'],
    make(ctx) {
      const p = ctx.param;
      channelAxis(ctx);
      if (Number(p.num_axes) !== 1) ctx.unsupported(`num_axes ${p.num_axes} (a factor per channel, num_axes 1, is supported)`);
      if (ctx.inputs.length !== 1) ctx.unsupported(`${ctx.inputs.length} bottoms (the factor from a second bottom is not supported)`);
      const c = ctx.inputs[0]![0]!;
      const blobs = [{ suffix: 'weight', what: 'scale', shape: [c] }];
      if (p.bias_term) blobs.push({ suffix: 'bias', what: 'bias', shape: [c] });
      return { layer: new L.Scale({ name: ctx.name, bias: Boolean(p.bias_term) }), blobs };
    },
  },
  Bias: {
    param: 'bias_param', fields: ['axis', 'num_axes', 'filler'],
    make(ctx) {
      channelAxis(ctx);
      if (Number(ctx.param.num_axes) !== 1) ctx.unsupported(`num_axes ${ctx.param.num_axes} (a bias per channel, num_axes 1, is supported)`);
      if (ctx.inputs.length !== 1) ctx.unsupported(`${ctx.inputs.length} bottoms (the bias from a second bottom is not supported)`);
      return { layer: new L.Bias({ name: ctx.name }), blobs: [{ suffix: 'bias', what: 'bias', shape: [ctx.inputs[0]![0]!] }] };
    },
  },
  // flatten_layer.cpp: axes axis..end_axis into one.
  Flatten: {
    param: 'flatten_param', fields: ['axis', 'end_axis'],
    make(ctx) {
      const s = ctx.inputs[0]!;
      const rank = s.length + 1;
      const norm = (v: number) => (v < 0 ? v + rank : v);
      const [a, e] = [norm(Number(ctx.param.axis)), norm(Number(ctx.param.end_axis))];
      if (a < 1 || e >= rank || e < a) { ctx.unfit(`axis ${ctx.param.axis} end_axis ${ctx.param.end_axis} for input ${shapeStr(s)}`); return { alias: true }; }
      if (a === 1 && e === rank - 1) return { layer: new L.Flatten({ name: ctx.name }) };
      const shape = [...s.slice(0, a - 1), count(s.slice(a - 1, e)), ...s.slice(e)];
      return { layer: new L.Reshape({ name: ctx.name, shape }) };
    },
  },
  // reshape_layer.cpp: `shape` replaces axes [axis, axis + num_axes); 0 copies an input axis, -1 is inferred.
  Reshape: {
    param: 'reshape_param', fields: ['shape', 'axis', 'num_axes'],
    make(ctx) {
      const p = ctx.param;
      const input = [1, ...ctx.inputs[0]!];
      const rank = input.length;
      const axis = Number(p.axis) < 0 ? Number(p.axis) + rank + 1 : Number(p.axis);
      const end = Number(p.num_axes) === -1 ? rank : axis + Number(p.num_axes);
      const dims = ((p.shape?.dim ?? []) as unknown[]).map(Number);
      if (axis < 0 || axis > rank || end > rank || end < axis) { ctx.unfit(`axis ${p.axis} num_axes ${p.num_axes} for input ${shapeStr(ctx.inputs[0]!)}`); return { alias: true }; }
      const middle = dims.map((d, i) => (d === 0 ? input[axis + i] ?? NaN : d));
      const out = [...input.slice(0, axis), ...middle, ...input.slice(end)];
      if (out.some((d) => Number.isNaN(d) || (d < 1 && d !== -1)) || out.filter((d) => d === -1).length > 1) {
        ctx.unfit(`shape ${shapeStr(dims)} for input ${shapeStr(ctx.inputs[0]!)}`);
        return { alias: true };
      }
      // Resolved with a batch of 1: the batch axis must stay the batch axis.
      const known = out.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
      const resolved = out.map((d) => (d === -1 ? count(input) / known : d));
      if (resolved[0] !== 1 || out[0] === -1) { ctx.unfit(`shape ${shapeStr(dims)} changes the batch axis`); return { alias: true }; }
      return { layer: new L.Reshape({ name: ctx.name, shape: resolved.slice(1) }) };
    },
  },
  // split_layer.cpp: every top is the bottom.
  Split: { param: null, fields: [], make: () => ({ alias: true }) },
  // slice_layer.cpp: the bottom cut along `axis` (legacy slice_dim) at slice_point, or in equal parts.
  Slice: {
    param: 'slice_param', fields: ['axis', 'slice_point', 'slice_dim'],
    make(ctx) {
      const p = ctx.param;
      const s = ctx.inputs[0]!;
      const rank = s.length + 1;
      const raw = has(p, 'slice_dim') ? Number(p.slice_dim) : Number(p.axis);
      const dim = raw < 0 ? raw + rank : raw;
      if (dim < 1 || dim >= rank) { ctx.unfit(`axis ${raw} for input ${shapeStr(s)}`); return { alias: true }; }
      const n = s[dim - 1]!;
      const points = (p.slice_point as number[]).map(Number);
      let bounds: number[];
      if (points.length) {
        if (points.length !== ctx.tops - 1) { ctx.unfit(`${points.length} slice points for ${ctx.tops} tops`); return { alias: true }; }
        bounds = [0, ...points, n];
      } else {
        if (n % ctx.tops !== 0) { ctx.unfit(`${n} positions along axis ${dim} do not split into ${ctx.tops} equal parts`); return { alias: true }; }
        bounds = Array.from({ length: ctx.tops + 1 }, (_, i) => (i * n) / ctx.tops);
      }
      if (bounds.some((b, i) => i > 0 && b <= bounds[i - 1]!)) { ctx.unfit(`slice points ${shapeStr(points)} are not increasing within (0, ${n})`); return { alias: true }; }
      return { perTop: bounds.slice(1).map((e, i) => new L.Slice({ dim, start: bounds[i]!, end: e })) };
    },
  },
  // power_layer.cpp: (shift + scale * x)^power.
  Power: {
    param: 'power_param', fields: ['power', 'scale', 'shift'],
    make: (ctx) => ({ layer: new L.Power({ name: ctx.name, power: Number(ctx.param.power), scale: Number(ctx.param.scale), shift: Number(ctx.param.shift) }) }),
  },
};

/** Input layers (Input, or the net's input: fields) are not in the table: they make the network's inputs. */
const INPUT_TYPES = new Set(['Input']);

/** V1LayerParameter's enum types by their current names (upgrade_proto.cpp's UpgradeV1LayerType). */
const V1_TYPES: Record<string, string> = {
  ABSVAL: 'AbsVal', ACCURACY: 'Accuracy', ARGMAX: 'ArgMax', BNLL: 'BNLL', CONCAT: 'Concat', CONTRASTIVE_LOSS: 'ContrastiveLoss',
  CONVOLUTION: 'Convolution', DATA: 'Data', DECONVOLUTION: 'Deconvolution', DROPOUT: 'Dropout', DUMMY_DATA: 'DummyData',
  EUCLIDEAN_LOSS: 'EuclideanLoss', ELTWISE: 'Eltwise', EXP: 'Exp', FLATTEN: 'Flatten', HDF5_DATA: 'HDF5Data', HDF5_OUTPUT: 'HDF5Output',
  HINGE_LOSS: 'HingeLoss', IM2COL: 'Im2col', IMAGE_DATA: 'ImageData', INFOGAIN_LOSS: 'InfogainLoss', INNER_PRODUCT: 'InnerProduct',
  LRN: 'LRN', MEMORY_DATA: 'MemoryData', MULTINOMIAL_LOGISTIC_LOSS: 'MultinomialLogisticLoss', MVN: 'MVN', POOLING: 'Pooling',
  POWER: 'Power', RELU: 'ReLU', SIGMOID: 'Sigmoid', SIGMOID_CROSS_ENTROPY_LOSS: 'SigmoidCrossEntropyLoss', SILENCE: 'Silence',
  SOFTMAX: 'Softmax', SOFTMAX_LOSS: 'SoftmaxWithLoss', SPLIT: 'Split', SLICE: 'Slice', TANH: 'TanH', WINDOW_DATA: 'WindowData',
  THRESHOLD: 'Threshold', NONE: 'NONE',
};

/** One layer of either format, in the new format's terms. */
interface CaffeLayer {
  name: string;
  type: string;
  bottoms: string[];
  tops: string[];
  msg: Msg;
  /** A legacy V1LayerParameter (its *_param fields are a subset). */
  v1: boolean;
  /** lr_mult of the first blob (ParamSpec or legacy blobs_lr), when given. */
  lrMult: number | undefined;
}

function layersOf(net: Msg, file: string): CaffeLayer[] {
  const modern = net.layer as Msg[];
  const legacy = net.layers as Msg[];
  if (modern.length && legacy.length) throw new CaffeError(file, `the file mixes 'layer' (${modern.length}) and legacy V1 'layers' (${legacy.length}) fields`);
  const v1Enum = caffeType('V1LayerParameter').lookupEnum('LayerType');
  return [
    ...modern.map((m) => ({
      name: m.name as string, type: m.type as string, bottoms: [...m.bottom], tops: [...m.top], msg: m, v1: false,
      lrMult: (m.param as Msg[]).length && has(m.param[0], 'lr_mult') ? Number(m.param[0].lr_mult) : undefined,
    })),
    ...legacy.map((m) => {
      if (m.layer && has(m, 'layer')) throw new CaffeError(file, `layer '${m.name}' is in the V0 format (a 'layer' inside 'layers'), which predates V1: upgrade it with Caffe's upgrade_net_proto_text`);
      const enumName = v1Enum.valuesById[m.type] ?? String(m.type);
      return {
        name: m.name as string, type: V1_TYPES[enumName] ?? enumName, bottoms: [...m.bottom], tops: [...m.top], msg: m, v1: true,
        lrMult: (m.blobs_lr as number[]).length ? Number(m.blobs_lr[0]) : undefined,
      };
    }),
  ];
}

/** Caffe's NetState filtering (net.cpp StateMeetsRule) for a deploy net: phase TEST, level 0, no stages. */
function included(layer: Msg, state: Msg): boolean {
  const phase = Number(state.phase ?? 1);
  const level = Number(state.level ?? 0);
  const stages = new Set((state.stage ?? []) as string[]);
  const meets = (rule: Msg) => {
    if (has(rule, 'phase') && Number(rule.phase) !== phase) return false;
    if (has(rule, 'min_level') && level < Number(rule.min_level)) return false;
    if (has(rule, 'max_level') && level > Number(rule.max_level)) return false;
    if ((rule.stage as string[]).some((s) => !stages.has(s))) return false;
    if ((rule.not_stage as string[]).some((s) => stages.has(s))) return false;
    return true;
  };
  const inc = layer.include as Msg[];
  const exc = layer.exclude as Msg[];
  if (inc.length) return inc.some(meets);
  return !exc.some(meets);
}

/** Per-observation shape from a Caffe shape (with the batch axis), or from the option. */
function perObservation(dims: number[], option: readonly number[] | undefined, what: string, file: string): number[] {
  const given = option ? [...option] : dims;
  if (given.length === 0) {
    throw new CaffeError(file, `${what} has no shape: give the option inputSize, e.g. [3, 224, 224]`);
  }
  if (given.some((d) => !Number.isInteger(d) || d < 1)) throw new CaffeError(file, `${what}: the shape ${shapeStr(given)} must be positive integers`);
  // Caffe shapes start with the batch axis; the option may be given either way.
  if (option && option.length === 3) return given;
  if (given.length < 2) throw new CaffeError(file, `${what}: the shape ${shapeStr(given)} has no axis beyond the batch`);
  return given.slice(1);
}

function readLabels(file: string): string[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new CaffeError(file, `cannot read the labels file: ${(err as Error).message}`, { cause: err });
  }
  const lines = text.split(/\r?\n/).map((l) => l.trim());
  while (lines.length && lines[lines.length - 1] === '') lines.pop();
  if (lines.length === 0) throw new CaffeError(file, 'the labels file has no class names');
  const empty = lines.findIndex((l) => l === '');
  if (empty >= 0) throw new CaffeError(file, `line ${empty + 1} of the labels file is empty (one class name per line)`);
  // synset_words.txt: 'n01440764 tench, Tinca tinca'.
  return lines.every((l) => /^n\d{8}\s/.test(l)) ? lines.map((l) => l.replace(/^n\d{8}\s+/, '')) : lines;
}

function meanFromFile(file: string, channels: number): number[] {
  const blob = readBlobProto(file);
  const shape = blobShape(blob);
  const values = blobValues(blob);
  const dims = shape.length === 4 ? shape.slice(1) : shape;
  if (dims.length !== 3 || dims[0] !== channels || count(dims) !== values.length) {
    throw new CaffeError(file, `expected a mean image [1, ${channels}, H, W] with its values, got shape ${shapeStr(shape)} and ${values.length} values`);
  }
  const area = dims[1]! * dims[2]!;
  return Array.from({ length: channels }, (_, c) => {
    let s = 0;
    for (let i = 0; i < area; i++) s += values[c * area + i]!;
    return s / area;
  });
}

function checkOptions(o: CaffeImportOptions): void {
  const unknown = Object.keys(o).filter((k) => !OPTION_NAMES.includes(k));
  if (unknown.length) throw new RangeError(`importCaffe: unknown option${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `'${k}'`).join(', ')}; known: ${OPTION_NAMES.join(', ')}`);
  if (o.mean !== undefined && o.meanFile !== undefined) throw new RangeError(`importCaffe: give option 'mean' or 'meanFile', not both`);
  if (o.classes !== undefined && o.labelsFile !== undefined) throw new RangeError(`importCaffe: give option 'classes' or 'labelsFile', not both`);
  if (o.mean !== undefined && (!Array.isArray(o.mean) || o.mean.length === 0 || o.mean.some((v) => !Number.isFinite(v)))) {
    throw new RangeError(`importCaffe: option 'mean' must be finite numbers (one, or one per channel), got ${JSON.stringify(o.mean)}`);
  }
  if (o.scale !== undefined && (!Number.isFinite(o.scale) || o.scale === 0)) throw new RangeError(`importCaffe: option 'scale' must be a finite non-zero number, got ${JSON.stringify(o.scale)}`);
  if (o.bgr !== undefined && typeof o.bgr !== 'boolean') throw new RangeError(`importCaffe: option 'bgr' must be true or false, got ${JSON.stringify(o.bgr)}`);
  if (o.inputSize !== undefined && (!Array.isArray(o.inputSize) || o.inputSize.length < 1)) throw new RangeError(`importCaffe: option 'inputSize' must be [C, H, W] (or [N, C, H, W]), got ${JSON.stringify(o.inputSize)}`);
  if (o.classes !== undefined && (!Array.isArray(o.classes) || o.classes.some((c) => typeof c !== 'string'))) throw new RangeError(`importCaffe: option 'classes' must be an array of strings`);
}

interface Pending {
  caffe: CaffeLayer;
  layer: Layer;
  blobs: BlobSpec[];
  convert?: (values: Float32Array[]) => Float32Array[];
}

/**
 * Imports a Caffe network: `prototxt` (text, or binary NetParameter) gives the architecture,
 * `caffemodel` the weights (null: freshly initialized weights, for the architecture alone).
 *
 *   const net = await importCaffe('deploy.prototxt', 'bvlc_alexnet.caffemodel',
 *     { mean: [104, 117, 123], bgr: true, labelsFile: 'synset_words.txt' });
 */
export async function importCaffe(prototxt: string, caffemodel: string | null, options: CaffeImportOptions = {}): Promise<Network> {
  checkOptions(options);
  const net = readNetParameter(prototxt);
  const state = net.state ?? {};
  const all = layersOf(net, prototxt);
  const layers = all.filter((l) => included(l.msg, state));

  const producer = new Map<string, string>(); // blob -> the dlkit layer giving it now (in-place layers move it)
  const shapes = new Map<string, Shape>(); // blob -> per-observation shape
  const tainted = new Set<string>(); // blobs below an unsupported layer: their shapes are unknown
  const dlLayers: Layer[] = [];
  const connections: Connection[] = [];
  const pending: Pending[] = [];
  const names = new Set<string>();
  const unsupportedTypes = new Map<string, string[]>();
  const unsupportedParams: string[] = [];
  const wiring: string[] = [];

  const addLayer = (layer: Layer, from: string[], caffeName: string) => {
    if (names.has(layer.name)) throw new CaffeError(prototxt, `two layers are named '${layer.name}' (the second is Caffe layer '${caffeName}'): dlkit layer names must be unique`);
    names.add(layer.name);
    dlLayers.push(layer);
    for (const f of from) connections.push([f, layer.name]);
  };

  // Inputs: the net's input: fields (with input_shape or input_dim), or Input layers.
  const inputs: { blob: string; shape: number[]; what: string }[] = [];
  const netInputs = net.input as string[];
  netInputs.forEach((blob, i) => {
    let dims: number[] = [];
    if ((net.input_shape as Msg[]).length) dims = ((net.input_shape[i]?.dim ?? []) as unknown[]).map(Number);
    else if ((net.input_dim as number[]).length) dims = (net.input_dim as number[]).slice(4 * i, 4 * i + 4).map(Number);
    inputs.push({ blob, shape: dims, what: `input '${blob}'` });
  });
  for (const l of layers.filter((x) => INPUT_TYPES.has(x.type))) {
    const shapesOf = (l.msg.input_param?.shape ?? []) as Msg[];
    l.tops.forEach((top, i) => {
      const s = shapesOf[Math.min(i, shapesOf.length - 1)];
      inputs.push({ blob: top, shape: s ? (s.dim as unknown[]).map(Number) : [], what: `Input layer '${l.name}' top '${top}'` });
    });
  }
  if (inputs.length === 0) throw new CaffeError(prototxt, `the network declares no input: it needs an Input layer or 'input:' fields (data layers such as Data or ImageData are for training; import the deploy prototxt)`);
  const wantsPreprocessing = ['scale', 'mean', 'meanFile', 'bgr'].filter((k) => (options as Record<string, unknown>)[k] !== undefined);
  inputs.forEach((inp, i) => {
    const shape = perObservation(inp.shape, i === 0 ? options.inputSize : undefined, inp.what, prototxt);
    let layer: Layer;
    if (shape.length === 3) {
      let mean = options.mean ? [...options.mean] : undefined;
      if (i === 0 && options.meanFile) mean = meanFromFile(options.meanFile, shape[0]!);
      if (i === 0 && mean && mean.length !== 1 && mean.length !== shape[0]) {
        throw new RangeError(`importCaffe: option 'mean' has ${mean.length} values, the input '${inp.blob}' has ${shape[0]} channels`);
      }
      if (i === 0 && options.bgr && shape[0] !== 3) throw new RangeError(`importCaffe: option 'bgr' needs a 3-channel input, '${inp.blob}' is ${shapeStr(shape)}`);
      const pre = i === 0 ? { mean, scale: options.scale, bgr: options.bgr } : {};
      layer = new L.ImageInput({ name: inp.blob, inputSize: shape, normalization: pre.mean ? 'zerocenter' : 'none', ...pre });
    } else {
      if (i === 0 && wantsPreprocessing.length) throw new RangeError(`importCaffe: option${wantsPreprocessing.length > 1 ? 's' : ''} ${wantsPreprocessing.map((k) => `'${k}'`).join(', ')} apply to images (C, H, W); the input '${inp.blob}' is ${shapeStr(shape)}`);
      layer = shape.length === 1 ? new L.FeatureInput({ name: inp.blob, inputSize: shape[0]! }) : shape.length === 2 ? new L.SequenceInput({ name: inp.blob, inputSize: shape }) : (() => { throw new CaffeError(prototxt, `${inp.what}: inputs of shape ${shapeStr(shape)} are not supported ((C, H, W), (C, L) or (features))`); })();
    }
    addLayer(layer, [], inp.blob);
    producer.set(inp.blob, layer.name);
    shapes.set(inp.blob, shape);
  });

  const layerType = caffeType('LayerParameter');
  const v1Type = caffeType('V1LayerParameter');
  for (const cl of layers) {
    if (INPUT_TYPES.has(cl.type)) continue;
    const where = `layer '${cl.name}' (${cl.type})`;
    const handler = Object.prototype.hasOwnProperty.call(CAFFE_LAYER_TYPES, cl.type) ? CAFFE_LAYER_TYPES[cl.type]! : undefined;
    for (const b of cl.bottoms) if (!producer.has(b)) wiring.push(`${where}: bottom '${b}' is not the top of any earlier layer or input`);
    // Below an unsupported layer shapes are guesses (its first bottom's), so that the
    // parameters of later layers are still checked; shape problems there are not reported.
    const taint = () => cl.tops.forEach((t) => {
      producer.set(t, cl.name);
      tainted.add(t);
      const guess = shapes.get(cl.bottoms[0] ?? '');
      if (guess) shapes.set(t, guess); else shapes.delete(t);
    });
    if (!handler) {
      unsupportedTypes.set(cl.type, [...(unsupportedTypes.get(cl.type) ?? []), cl.name]);
      taint();
      continue;
    }
    const problems: string[] = [];
    // The *_param message (defaults when absent), and the fields of it this handler does not honour.
    const owner = cl.v1 ? v1Type : layerType;
    let param: Msg = {};
    if (handler.param) {
      const field = owner.fields[handler.param];
      if (!field) problems.push(`${handler.param} is not in the V1 format: the layer cannot be read`);
      else {
        const given = cl.msg[handler.param] as Msg | null;
        param = given ?? (field.resolvedType as unknown as { create(): Msg }).create();
        for (const k of Object.keys(given ?? {})) if (has(given, k) && !handler.fields.includes(k)) problems.push(`${handler.param}.${k}`);
      }
    }
    if (cl.bottoms.length === 0) problems.push('no bottom');
    if (cl.tops.length === 0) problems.push('no top');
    const guessed = cl.bottoms.some((b) => tainted.has(b));
    if (cl.bottoms.some((b) => !shapes.has(b))) {
      unsupportedParams.push(...problems.map((p) => `${where}: ${p}`));
      taint();
      continue;
    }
    const ctx: CaffeLayerContext = {
      name: cl.name, type: cl.type, inputs: cl.bottoms.map((b) => shapes.get(b)!), param, tops: cl.tops.length,
      unsupported: (what) => problems.push(what),
      unfit: (what) => { if (!guessed) problems.push(what); },
    };
    let made: Made;
    try {
      made = handler.make(ctx);
    } catch (err) {
      // A dlkit layer's own validation (e.g. a kernel that does not fit).
      if (!guessed) problems.push((err as Error).message);
      made = { alias: true };
    }
    if (guessed) {
      unsupportedParams.push(...problems.map((p) => `${where}: ${p}`));
      taint();
      continue;
    }
    let outShapes: Shape[] = [];
    if (problems.length === 0) {
      try {
        if ('layer' in made) outShapes = [made.layer.outputShape(ctx.inputs)];
        else if ('perTop' in made) outShapes = made.perTop.map((l) => l.outputShape([ctx.inputs[0]!]));
        else outShapes = cl.tops.map(() => ctx.inputs[0]!);
      } catch (err) {
        problems.push((err as Error).message);
      }
    }
    if ('layer' in made && cl.tops.length !== 1 && problems.length === 0) problems.push(`${cl.tops.length} tops (the layer gives one)`);
    if (problems.length) {
      unsupportedParams.push(...problems.map((p) => `${where}: ${p}`));
      cl.tops.forEach((t) => { producer.set(t, cl.name); tainted.add(t); });
      continue;
    }
    const from = cl.bottoms.map((b) => producer.get(b)!);
    if ('alias' in made) {
      cl.tops.forEach((t) => { producer.set(t, from[0]!); shapes.set(t, ctx.inputs[0]!); });
    } else if ('perTop' in made) {
      made.perTop.forEach((layer, i) => {
        layer.name = cl.tops.length === 1 ? cl.name : `${cl.name}/${cl.tops[i]}`;
        addLayer(layer, [from[0]!], cl.name);
        producer.set(cl.tops[i]!, layer.name);
        shapes.set(cl.tops[i]!, outShapes[i]!);
      });
    } else {
      addLayer(made.layer, from, cl.name);
      // Caffe's lr_mult of the first blob (the weights; biases often take 2x, which one factor per layer cannot say).
      if (cl.lrMult !== undefined && cl.lrMult >= 0 && made.learnable !== false && made.blobs?.length) made.layer.learnRateFactor = cl.lrMult;
      producer.set(cl.tops[0]!, made.layer.name);
      shapes.set(cl.tops[0]!, outShapes[0]!);
      if (made.blobs?.length) pending.push({ caffe: cl, layer: made.layer, blobs: made.blobs, convert: made.convert });
    }
  }

  const report: string[] = [];
  if (unsupportedTypes.size) {
    report.push(`unsupported layer types: ${[...unsupportedTypes].map(([t, ls]) => `${t} (${ls.map((n) => `'${n}'`).join(', ')})`).join(', ')}; supported: ${Object.keys(CAFFE_LAYER_TYPES).join(', ')}, Input`);
  }
  if (unsupportedParams.length) report.push(`unsupported parameters: ${unsupportedParams.join('; ')}`);
  if (wiring.length) report.push(wiring.join('; '));
  if (report.length) throw new CaffeError(prototxt, report.join('. '));

  // Outputs: the final producers of blobs no later layer reads.
  const used = new Set(connections.map(([from]) => from));
  const outputs = dlLayers.filter((l) => !used.has(l.name) && !l.isInput).map((l) => l.name);

  const classes = options.classes ? [...options.classes] : options.labelsFile ? readLabels(options.labelsFile) : undefined;
  const network = Network.graph({ layers: dlLayers, connections, outputs: outputs.length ? outputs : undefined, classes });
  try {
    if (classes) {
      const out = network.outputShape;
      if (count(out) !== classes.length) {
        throw new RangeError(`importCaffe: ${classes.length} class names${options.labelsFile ? ` in ${options.labelsFile}` : ''} for a network output of shape ${shapeStr(out)} (${count(out)} values)`);
      }
    }
    if (caffemodel !== null) loadWeights(caffemodel, pending);
    return network;
  } catch (err) {
    network.dispose();
    throw err;
  }
}

const legacyEqual = (a: number[], b: number[]) => {
  // Blobs written before BlobShape are 4-D with leading 1s ([1, 1, 1, C] for a bias).
  const strip = (s: number[]) => { const i = s.findIndex((d) => d !== 1); return i < 0 ? [] : s.slice(i); };
  return shapeStr(strip(a)) === shapeStr(strip(b));
};

function loadWeights(file: string, pending: Pending[]): void {
  const model = readCaffemodel(file);
  const byName = new Map<string, Msg[]>();
  for (const l of [...(model.layer as Msg[]), ...(model.layers as Msg[])]) {
    if ((l.blobs as Msg[]).length) byName.set(l.name as string, l.blobs as Msg[]);
  }
  const missing: string[] = [];
  const problems: string[] = [];
  const ready: { p: Pending; values: Float32Array[] }[] = [];
  for (const p of pending) {
    const blobs = byName.get(p.caffe.name);
    const where = `layer '${p.caffe.name}' (${p.caffe.type})`;
    if (!blobs) { missing.push(`'${p.caffe.name}' (${p.caffe.type})`); continue; }
    const expected = p.blobs.map((b) => `${b.what} ${shapeStr(b.shape)}`).join(', ');
    if (blobs.length !== p.blobs.length) {
      problems.push(`${where}: the prototxt gives ${p.blobs.length} blob${p.blobs.length > 1 ? 's' : ''} (${expected}), the caffemodel has ${blobs.length} (${blobs.map((b) => shapeStr(blobShape(b))).join(', ')})`);
      continue;
    }
    const values: Float32Array[] = [];
    let ok = true;
    p.blobs.forEach((spec, i) => {
      const shape = blobShape(blobs[i]!);
      const v = blobValues(blobs[i]!);
      if (!legacyEqual(shape, spec.shape)) {
        problems.push(`${where}: ${spec.what} (blob ${i}): the prototxt gives shape ${shapeStr(spec.shape)}, the caffemodel has ${shapeStr(shape)}`);
        ok = false;
      } else if (v.length !== count(spec.shape)) {
        problems.push(`${where}: ${spec.what} (blob ${i}) of shape ${shapeStr(shape)} holds ${v.length} values, expected ${count(spec.shape)}`);
        ok = false;
      }
      values.push(v);
    });
    if (ok) ready.push({ p, values });
  }
  const report: string[] = [];
  if (missing.length) report.push(`layers of the prototxt missing from the caffemodel (no blobs): ${missing.join(', ')}`);
  if (problems.length) report.push(`the caffemodel does not fit the prototxt: ${problems.join('; ')}`);
  if (report.length) throw new CaffeError(file, report.join('. '));
  noGrad(() => tidy(() => {
    for (const { p, values } of ready) {
      const converted = p.convert ? p.convert(values) : values;
      const targets = p.blobs.filter((b) => b.suffix !== '');
      targets.forEach((spec, i) => {
        const t = p.layer.params.get(spec.suffix) ?? p.layer.buffers.get(spec.suffix);
        if (!t) throw new Error(`internal: layer '${p.layer.name}' has no '${spec.suffix}'`);
        t.copy_(tensor(converted[i]!, { shape: t.shape }));
      });
    }
  }));
}
