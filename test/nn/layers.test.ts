// The generic layer tests (STYLE.md 8). ONE table, one entry per layer type, drives for every
// layer:
//   (a) shape inference: the layer built in a network reports the forward output's shape;
//   (b) forward against PyTorch (fixtures/layers.json, from scripts/make-layer-fixtures.py),
//       including buffers a call updates (batch norm's running statistics);
//   (c) gradients of the inputs and of every parameter against PyTorch;
//   (d) a float64 finite-difference gradient check on a tiny instance (layers with parameters);
//   (e) save/load round trip: fromConfig(JSON of config()) + loadStateDict(stateDict()) gives
//       identical outputs;
//   (f) leak check: the live-tensor count returns to its start after building, running and
//       disposing;
// plus construction-time validation (bad options name the option and the value) and build-time
// input checks. Fixture cases with 3-D observations run twice, with channels-last activations
// (what a network with conv2d layers does by default) and without: results must match either way.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as dl from '../../src/index.js';
import { Network, nn, type Tensor } from '../../src/index.js';
import { assertClose, noLeaks } from '../helpers.js';

type Shape = readonly number[];
interface Tol { atol: number; rtol: number }
type Options = Record<string, unknown>;

interface LayerEntry {
  /** Bad constructor options and the error each must raise (a string: why there are none). */
  invalid: [Options, RegExp][] | string;
  /** Building on an input of the wrong shape: the error names the layer and the shape. */
  badInput?: { options: Options; input: Shape; error: RegExp };
  /** A tiny instance for the float64 finite-difference check (every layer with parameters). */
  gradcheck?: { options: Options; input: Shape; batch?: number; training?: boolean };
}

/**
 * float32 tolerance against the fixtures, for every layer (all pass at it). PyTorch wrote them
 * single-threaded with contiguous tensors; dlkit runs the same libtorch kernels multi-threaded,
 * and channels-last convolutions go through other kernels (oneDNN), so sums may be ordered
 * differently: a few ulps of the largest term. Inputs and parameters are exact in the fixture;
 * expected values carry 8 significant digits (relative error 5e-9).
 */
const TOL: Tol = { atol: 1e-5, rtol: 1e-4 };
/** dl.gradcheck in float64 with step 1e-6: truncation error ~1e-12, rounding ~1e-10. */
const GRADCHECK = { step: 1e-6, atol: 1e-6, rtol: 1e-5 };

const conv = (extra: Options) => ({ filters: 4, kernelSize: 3, ...extra });
const convInvalid = (type: string, dims: number): [Options, RegExp][] => [
  [{ kernelSize: 3 }, new RegExp(`${type} 'bad': option 'filters' must be a positive integer, got undefined`)],
  [conv({ filters: 0 }), new RegExp(`${type} 'bad': option 'filters' must be a positive integer, got 0`)],
  [{ filters: 4 }, new RegExp(`${type} 'bad': option 'kernelSize': expected a number or ${dims} numbers, got undefined`)],
  [conv({ kernelSize: dims === 1 ? [3, 3] : [3, 3, 3] }), new RegExp(`option 'kernelSize': expected ${dims} numbers, got ${dims + 1}: \\[3, 3${dims === 1 ? '' : ', 3'}\\]`)],
  [conv({ kernelSize: 0 }), /option 'kernelSize' must be positive integers, got 0/],
  [conv({ stride: 1.5 }), /option 'stride' must be positive integers, got 1.5/],
  [conv({ dilation: 0 }), /option 'dilation' must be positive integers, got 0/],
  [conv({ groups: 0 }), /option 'groups' must be a positive integer, got 0/],
  [conv({ filters: 3, groups: 2 }), /filters \(3\) must be divisible by groups \(2\)/],
  [conv({ weightsInitializer: 'xavier' }), /option 'weightsInitializer' must be one of he, glorot, pytorch, narrow-normal, zeros, got "xavier"/],
];
const poolInvalid = (type: string, dims: number): [Options, RegExp][] => [
  [{}, new RegExp(`${type}: option 'poolSize': expected a number or ${dims} numbers, got undefined`)],
  [{ poolSize: 0 }, new RegExp(`${type}: option 'poolSize' must be positive integers, got 0`)],
  [{ poolSize: 2, stride: 0 }, /option 'stride' must be positive integers, got 0/],
  [{ poolSize: 3, padding: 2 }, /option 'padding' must be integers in \[0, poolSize\/2\], got 2/],
  [{ poolSize: dims === 1 ? [2, 2] : [2, 2, 2] }, new RegExp(`option 'poolSize': expected ${dims} numbers, got ${dims + 1}`)],
];
const rank3 = (type: string, options: Options = {}) => ({
  options, input: [5],
  error: new RegExp(`layer 'bad' \\(${type}\\): expected 3-D input \\(C, H, W\\) per observation, found 1-D. Full shape received: \\[5\\]`),
});

const TABLE: Record<string, LayerEntry> = {
  imageInput: {
    invalid: [
      [{ inputSize: [28, 28] }, /imageInput: option 'inputSize' must be \[channels, height, width\] of positive integers, got \[28,28\]/],
      [{ inputSize: [1, 28, 0] }, /option 'inputSize' must be \[channels, height, width\] of positive integers, got \[1,28,0\]/],
      [{ inputSize: [1, 28, 28], normalization: 'minmax' }, /option 'normalization' must be one of none, zerocenter, zscore, rescale-zero-one, got "minmax"/],
      [{ inputSize: [3, 8, 8], normalization: 'zscore', mean: [1, 2] }, /option 'mean' must have 1 or 3 values \(one per channel\), got 2/],
      [{ inputSize: [3, 8, 8], scale: 0 }, /imageInput: option 'scale' must be a finite non-zero number, got 0/],
      [{ inputSize: [1, 8, 8], bgr: true }, /imageInput: option 'bgr' needs 3 channels, inputSize is \[1,8,8\]/],
    ],
  },
  sequenceInput: {
    invalid: [
      [{ inputSize: [8] }, /sequenceInput: option 'inputSize' must be \[channels, length\] of positive integers, got \[8\]/],
      [{ inputSize: [1, 0] }, /option 'inputSize' must be \[channels, length\] of positive integers, got \[1,0\]/],
    ],
  },
  tensorInput: {
    invalid: [
      [{ inputSize: [2, -1] }, /tensorInput: option 'inputSize' must be an array of non-negative integers, got \[2,-1\]/],
      [{ inputSize: [2], dtype: 'complex64' }, /tensorInput: option 'dtype' must be one of float32, .*, got "complex64"/],
    ],
  },
  featureInput: {
    invalid: [
      [{ inputSize: 0 }, /featureInput: option 'inputSize' must be a positive integer, got 0/],
      [{ inputSize: 2.5 }, /featureInput: option 'inputSize' must be a positive integer, got 2.5/],
    ],
  },
  conv1d: {
    invalid: [...convInvalid('conv1d', 1), [conv({ padding: -1 }), /option 'padding' must be integers >= 0 or 'same', got -1/]],
    badInput: { options: { filters: 2, kernelSize: 3 }, input: [4, 4, 9], error: /layer 'bad' \(conv1d\): expected 2-D input \(C, L\) per observation, found 3-D. Full shape received: \[4, 4, 9\]/ },
    gradcheck: { options: { filters: 2, kernelSize: 3, stride: 2, padding: 'same' }, input: [2, 6] },
  },
  conv2d: {
    invalid: [...convInvalid('conv2d', 2), [conv({ padding: 'valid' }), /option 'padding': expected a number or 2 numbers, got "valid"/]],
    badInput: rank3('conv2d', { filters: 2, kernelSize: 3 }),
    gradcheck: { options: { filters: 4, kernelSize: 3, stride: 2, padding: 'same', groups: 2 }, input: [2, 4, 5] },
  },
  convTranspose2d: {
    invalid: [
      ...convInvalid('convTranspose2d', 2),
      [conv({ stride: 2, outputPadding: 2 }), /convTranspose2d 'bad': outputPadding \(2\) must be smaller than stride or dilation \(2, 1\)/],
      [conv({ padding: -1 }), /option 'padding' must be integers >= 0, got -1/],
    ],
    badInput: rank3('convTranspose2d', { filters: 2, kernelSize: 3 }),
    gradcheck: { options: { filters: 2, kernelSize: 2, stride: 2, padding: [1, 0], outputPadding: 1 }, input: [2, 2, 3] },
  },
  fullyConnected: {
    invalid: [
      [{ outputSize: 0 }, /fullyConnected 'bad': option 'outputSize' must be a positive integer, got 0/],
      [{}, /option 'outputSize' must be a positive integer, got undefined/],
      [{ outputSize: 3, weightsInitializer: 'uniform' }, /option 'weightsInitializer' must be one of he, glorot, pytorch, narrow-normal, zeros, got "uniform"/],
    ],
    badInput: { options: { outputSize: 3 }, input: [], error: /layer 'bad' \(fullyConnected\): expected at least one feature per observation, got a scalar/ },
    gradcheck: { options: { outputSize: 3 }, input: [2, 2, 2] },
  },
  batchNorm: {
    invalid: [
      [{ epsilon: 0 }, /batchNorm: option 'epsilon' must be > 0, got 0/],
      [{ momentum: 1.5 }, /batchNorm: option 'momentum' must be in \[0, 1\], got 1.5/],
      [{ affine: 'no' }, /batchNorm: option 'affine' must be true or false, got "no"/],
    ],
    gradcheck: { options: { momentum: 0.3 }, input: [2, 2, 2], batch: 3, training: true },
  },
  layerNorm: {
    invalid: [[{ epsilon: -1 }, /layerNorm: option 'epsilon' must be > 0, got -1/]],
    badInput: { options: { normalizedShape: [3] }, input: [2, 4], error: /layer 'bad' \(layerNorm\): input \[2, 4\] does not end with normalizedShape \[3\]/ },
    gradcheck: { options: {}, input: [2, 3] },
  },
  localResponseNorm: {
    invalid: [
      [{ size: 0 }, /localResponseNorm: option 'size' must be a positive integer, got 0/],
      [{ alpha: '0.1' }, /localResponseNorm: option 'alpha' must be a finite number, got "0.1"/],
      [{ beta: Number.NaN }, /localResponseNorm: option 'beta' must be a finite number, got NaN/],
      [{ k: Infinity }, /localResponseNorm: option 'k' must be a finite number, got Infinity/],
      [{ region: 'spatial' }, /localResponseNorm: option 'region' must be 'across' or 'within', got "spatial"/],
    ],
    badInput: { options: {}, input: [5], error: /layer 'bad' \(localResponseNorm\): expected 2 or 3-D input \(C, L\) or \(C, H, W\) per observation, found 1-D/ },
  },
  relu: { invalid: 'takes no options' },
  leakyRelu: { invalid: [[{ scale: Number.NaN }, /leakyRelu: option 'scale' must be a finite number, got NaN/]] },
  elu: { invalid: [[{ alpha: 0 }, /elu: option 'alpha' must be > 0, got 0/]] },
  gelu: { invalid: [[{ approximate: 'fast' }, /gelu: option 'approximate' must be 'none' or 'tanh', got "fast"/]] },
  clippedRelu: {
    invalid: [
      [{}, /clippedRelu 'bad': option 'ceiling' must be a finite number > 0, got undefined/],
      [{ ceiling: 0 }, /clippedRelu 'bad': option 'ceiling' must be a finite number > 0, got 0/],
      [{ ceiling: Infinity }, /clippedRelu 'bad': option 'ceiling' must be a finite number > 0, got Infinity/],
    ],
  },
  tanh: { invalid: 'takes no options' },
  sigmoid: { invalid: 'takes no options' },
  softmax: { invalid: 'takes no options' },
  dropout: {
    invalid: [
      [{ probability: 1 }, /dropout: option 'probability' must be in \[0, 1\), got 1/],
      [{ probability: -0.1 }, /dropout: option 'probability' must be in \[0, 1\), got -0.1/],
    ],
  },
  maxPool1d: { invalid: poolInvalid('maxPool1d', 1) },
  maxPool2d: {
    invalid: poolInvalid('maxPool2d', 2),
    badInput: { options: { poolSize: 4 }, input: [1, 3, 3], error: /layer 'bad' \(maxPool2d\): pool \[4, 4\] does not fit input \[1, 3, 3\]: output would be \[0, 0\]/ },
  },
  avgPool1d: { invalid: poolInvalid('avgPool1d', 1) },
  avgPool2d: { invalid: poolInvalid('avgPool2d', 2), badInput: rank3('avgPool2d', { poolSize: 2 }) },
  globalAvgPool2d: { invalid: 'takes no options', badInput: rank3('globalAvgPool2d') },
  adaptiveAvgPool2d: {
    invalid: [
      [{}, /adaptiveAvgPool2d 'bad': option 'outputSize': expected a number or 2 numbers, got undefined/],
      [{ outputSize: [2, 0] }, /adaptiveAvgPool2d 'bad': option 'outputSize' must be positive integers, got 0/],
      [{ outputSize: [1, 2, 3] }, /adaptiveAvgPool2d 'bad': option 'outputSize': expected 2 numbers, got 3: \[1, 2, 3\]/],
    ],
    badInput: rank3('adaptiveAvgPool2d', { outputSize: 2 }),
  },
  flatten: { invalid: 'takes no options' },
  concatenation: {
    invalid: [
      [{ numInputs: 1 }, /concatenation: option 'numInputs' must be an integer >= 2, got 1/],
      [{ dim: 0 }, /concatenation: option 'dim' must be an integer >= 1 \(dim 0 is the batch\), got 0/],
    ],
  },
  addition: { invalid: [[{ numInputs: 1.5 }, /addition: option 'numInputs' must be an integer >= 2, got 1.5/]] },
  scale: {
    invalid: [[{ bias: 'yes' }, /scale: option 'bias' must be true or false, got "yes"/]],
    badInput: { options: {}, input: [], error: /layer 'bad' \(scale\): expected \(C\) or \(C, \.\.\.\) per observation, got a scalar/ },
    gradcheck: { options: { bias: true }, input: [2, 2, 3] },
  },
  bias: { invalid: 'takes no options', gradcheck: { options: {}, input: [3, 2] } },
  elementwise: {
    invalid: [
      [{ operation: 'min' }, /elementwise: option 'operation' must be one of sum, prod, max, got "min"/],
      [{ numInputs: 1 }, /elementwise: option 'numInputs' must be an integer >= 2, got 1/],
      [{ operation: 'prod', coefficients: [1, 2] }, /elementwise: option 'coefficients' applies only to operation 'sum', got operation 'prod'/],
      [{ coefficients: [1, 2, 3] }, /elementwise: option 'coefficients' must have one value per input \(2\), got 3/],
    ],
  },
  power: { invalid: [[{ power: Number.NaN }, /power: option 'power' must be a finite number, got NaN/], [{ shift: '1' }, /power: option 'shift' must be a finite number, got "1"/]] },
  reshape: {
    invalid: [
      [{ shape: [2, -1, -1] }, /reshape: option 'shape' must be positive integers with at most one -1, got \[2,-1,-1\]/],
      [{ shape: [0, 3] }, /reshape: option 'shape' must be positive integers with at most one -1, got \[0,3\]/],
    ],
    badInput: { options: { shape: [5, -1] }, input: [3, 4], error: /layer 'bad' \(reshape\): cannot reshape \[3, 4\] \(12 values\) to \[5, -1\]/ },
  },
  slice: {
    invalid: [
      [{ dim: 0, start: 0, end: 1 }, /slice: option 'dim' must be an integer >= 1 \(dim 0 is the batch\), got 0/],
      [{ start: 2, end: 2 }, /slice: option 'end' must be an integer > start \(2\), got 2/],
      [{ start: -1, end: 2 }, /slice: option 'start' must be an integer >= 0, got -1/],
    ],
    badInput: { options: { dim: 2, start: 1, end: 5 }, input: [3, 4, 4], error: /layer 'bad' \(slice\): \[1, 5\) is out of range along dim 2 of input \[3, 4, 4\]/ },
  },
  subsamplePad2d: {
    invalid: [
      [{ stride: 0 }, /subsamplePad2d 'bad': option 'stride' must be positive integers, got 0/],
      [{ padChannels: [1] }, /subsamplePad2d 'bad': option 'padChannels': expected 2 numbers, got 1: \[1\]/],
      [{ padChannels: 1.5 }, /subsamplePad2d 'bad': option 'padChannels' must be whole numbers \[before, after\], got 1.5/],
    ],
    badInput: rank3('subsamplePad2d'),
  },
  // A trained SVM's evaluation, its buffers given by the fixture (training: test/apps/svm.test.ts).
  svmClassifier: {
    invalid: [
      [{ kernel: 'poly', numClasses: 3 }, /svmClassifier 'bad': option 'kernel' must be one of linear, rbf, got "poly"/],
      [{ kernel: 'linear', numClasses: 1 }, /svmClassifier 'bad': option 'numClasses' must be an integer >= 2, got 1/],
      [{ kernel: 'rbf', numClasses: 3, numSupportVectors: 4 }, /option 'gamma' must be a number > 0 for the rbf kernel, got undefined/],
      [{ kernel: 'rbf', numClasses: 3, gamma: 0.5 }, /option 'numSupportVectors' must be a positive integer for the rbf kernel, got undefined/],
      [{ kernel: 'linear', numClasses: 3, gamma: 0.5 }, /options 'gamma' and 'numSupportVectors' are for the rbf kernel only \(kernel is 'linear'\)/],
      [{ kernel: 'linear', numClasses: 3, pooling: 'sum' }, /option 'pooling' must be one of none, avg, max, got "sum"/],
      [{ kernel: 'linear', numClasses: 3, output: 'labels' }, /option 'output' must be one of probabilities, scores, got "labels"/],
    ],
    badInput: { options: { kernel: 'linear', numClasses: 3 }, input: [], error: /layer 'bad' \(svmClassifier\): expected at least one feature per observation, got a scalar/ },
  },
};

// ---- fixtures ---------------------------------------------------------------------------

interface FixtureTensor { shape: number[]; dtype?: 'int64'; data: number[] }
interface LayerCase {
  name: string;
  layer: nn.LayerConfig;
  torch: string;
  training: boolean;
  inputs: FixtureTensor[];
  params: Record<string, FixtureTensor>;
  output: FixtureTensor;
  after?: Record<string, FixtureTensor>;
  upstream: FixtureTensor;
  grads: { inputs: FixtureTensor[]; params: Record<string, FixtureTensor> };
}

function projectRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'package.json'))) dir = path.dirname(dir);
  return dir;
}
const fixturePath = path.join(projectRoot(), 'fixtures', 'layers.json');
const CASES = (JSON.parse(readFileSync(fixturePath, 'utf8')) as { cases: LayerCase[] }).cases;

function fromFixture(f: FixtureTensor): Tensor {
  return f.dtype === 'int64'
    ? dl.tensor(BigInt64Array.from(f.data, (v) => BigInt(v)), { shape: f.shape })
    : dl.tensor(Float32Array.from(f.data), { shape: f.shape });
}

/** Shape, then dtype, then values. */
function expectTensor(what: string, actual: Tensor | null | undefined, want: FixtureTensor, tol: Tol): void {
  assert.ok(actual, `${what}: missing`);
  assert.deepEqual([...actual.shape], want.shape, `${what}: shape`);
  assert.equal(actual.dtype, want.dtype ?? 'float32', `${what}: dtype`);
  try {
    assertClose(actual, want.data, want.dtype === 'int64' ? { atol: 0, rtol: 0 } : tol);
  } catch (e) {
    throw new assert.AssertionError({ message: `${what}: ${(e as Error).message}` });
  }
}

// ---- rigs: a layer in a network, fed by an input layer of the right shape ------------------

const INPUT_TYPES = new Set(['imageInput', 'featureInput', 'sequenceInput', 'tensorInput']);

/** How a case's layer is fed: by itself (input layers), imageInput, sequenceInput, featureInput, or directly. */
function feedOf(c: LayerCase): 'self' | 'image' | 'sequence' | 'feature' | 'direct' {
  if (INPUT_TYPES.has(c.layer.type)) return 'self';
  const rank = c.inputs[0]!.shape.length - 1;
  return rank === 3 ? 'image' : rank === 2 ? 'sequence' : rank === 1 ? 'feature' : 'direct';
}

interface Rig {
  layer: nn.Layer;
  run(xs: Tensor[], training: boolean): Tensor;
  load(values: Record<string, Tensor>): void;
  /** Suffix -> tensor of the layer's parameters and buffers. */
  state(): Record<string, Tensor>;
  /** The same layer rebuilt from its JSON config, with this rig's state loaded. */
  roundTrip(): Rig;
  config(): unknown;
  dispose(): void;
}

function networkRig(net: Network): Rig {
  const layer = net.layer('layer');
  const suffixes = (sd: Record<string, Tensor>) => Object.fromEntries(Object.entries(sd).filter(([k]) => k.startsWith('layer.')).map(([k, t]) => [k.slice(6), t]));
  return {
    layer,
    run: (xs, training) => net.forward(xs.length === 1 ? xs[0]! : xs, { training }) as Tensor,
    load: (values) => net.loadStateDict(Object.fromEntries(Object.entries(values).map(([k, t]) => [`layer.${k}`, t]))),
    state: () => suffixes(net.stateDict()),
    roundTrip: () => {
      const copy = Network.fromConfig(JSON.parse(JSON.stringify(net.config())));
      copy.loadStateDict(net.stateDict());
      return networkRig(copy);
    },
    config: () => net.config(),
    dispose: () => net.dispose(),
  };
}

function directRig(config: nn.LayerConfig, input: Shape): Rig {
  const layer = nn.layerFromConfig(config);
  layer.build([input]);
  const state = () => Object.fromEntries([...layer.params, ...layer.buffers]);
  const rig: Rig = {
    layer,
    run: (xs, training) => layer.forward(xs, { training }) as dl.Tensor,
    load: (values) => {
      assert.deepEqual(Object.keys(values).sort(), Object.keys(state()).sort(), 'state-dict suffixes');
      dl.noGrad(() => { for (const [k, t] of Object.entries(state())) t.copy_(values[k]!); });
    },
    state,
    roundTrip: () => {
      const copy = directRig(JSON.parse(JSON.stringify(layer.config())), input);
      copy.load(state());
      return copy;
    },
    config: () => layer.config(),
    dispose: () => layer.dispose(),
  };
  return rig;
}

function makeRig(c: LayerCase, channelsLast?: boolean): Rig {
  const layer = nn.layerFromConfig(c.layer);
  const shapes = c.inputs.map((t) => t.shape.slice(1));
  const feed = feedOf(c);
  if (feed === 'direct') { layer.dispose(); return directRig(c.layer, shapes[0]!); }
  if (feed === 'self') return networkRig(Network.series([layer], { channelsLast }));
  const inputs = shapes.map((s, i) => (feed === 'image'
    ? nn.imageInput({ name: `in${i + 1}`, inputSize: s, normalization: 'none' })
    : feed === 'sequence' ? nn.sequenceInput({ name: `in${i + 1}`, inputSize: s })
      : nn.featureInput({ name: `in${i + 1}`, inputSize: s[0]! })));
  return networkRig(Network.graph({
    layers: [...inputs, layer],
    connections: inputs.map((l, i) => [l.name, inputs.length > 1 ? `layer/in${i + 1}` : 'layer'] as const),
    channelsLast: feed === 'image' ? channelsLast : undefined,
  }));
}

const loadParams = (rig: Rig, c: LayerCase) => dl.tidy(() => rig.load(Object.fromEntries(Object.entries(c.params).map(([k, f]) => [k, fromFixture(f)]))));

// ---- coverage ---------------------------------------------------------------------------

function registeredTypes(): string[] {
  try {
    nn.layerFromConfig({ type: '(none)', name: 'x' });
  } catch (e) {
    const m = /known types: (.*)$/.exec((e as Error).message);
    // onnxNode (registered by the ONNX importer) runs any ONNX op: the conformance suites test it.
    // tensorSequenceInput and onnxOptionalInput feed ONNX sequence and optional values, not
    // tensors: test/io/onnx-ops-sequence.test.ts.
    if (m) return m[1]!.split(', ').filter((t) => !['onnxNode', 'tensorSequenceInput', 'onnxOptionalInput'].includes(t));
  }
  throw new Error('layerFromConfig did not list the known types');
}

test('the table, the registry and the fixtures cover the same layer types', () => {
  const registered = registeredTypes().sort();
  assert.deepEqual(Object.keys(TABLE).sort(), registered, 'table entries vs registered layer types');
  assert.deepEqual([...new Set(CASES.map((c) => c.layer.type))].sort(), registered, 'fixture layer types vs registered layer types');
  for (const [type, e] of Object.entries(TABLE)) {
    // every layer type with parameters has a gradient check
    const withParams = CASES.some((c) => c.layer.type === type && Object.keys(c.grads.params).length > 0);
    assert.equal(Boolean(e.gradcheck), withParams, `${type}: a gradcheck entry exactly when the layer has parameters`);
  }
});

// ---- (a, b, c, f): shape inference, forward and gradients against PyTorch, leaks ------------

for (const c of CASES) {
  const entry = TABLE[c.layer.type];
  const layouts: (boolean | undefined)[] = feedOf(c) === 'image' || c.layer.type === 'imageInput' ? [false, true] : [undefined];
  for (const channelsLast of layouts) {
    const label = channelsLast === undefined ? '' : channelsLast ? ' [channels-last]' : ' [contiguous]';
    test(`${c.name}${label}: shape inference, forward and gradients match PyTorch (${c.torch}), no leaks`, async () => {
      assert.ok(entry, `no table entry for layer type '${c.layer.type}'`);
      const tol = TOL;
      await noLeaks(() => {
        const rig = makeRig(c, channelsLast);
        try {
          dl.tidy(() => {
            loadParams(rig, c);
            const xs = c.inputs.map((f) => fromFixture(f).requiresGrad_());
            const out = rig.run(xs, c.training);
            // (a) the shape the build inferred is the forward output's, without the batch dim
            assert.deepEqual([...out.shape], [c.inputs[0]!.shape[0], ...rig.layer.builtOutputShape!], 'builtOutputShape vs forward output');
            if (channelsLast && c.layer.type === 'conv2d') assert.ok(out.isContiguous('channelsLast'), 'a channels-last network keeps conv2d outputs channels-last');
            // (b)
            expectTensor('output', out, c.output, tol);
            const state = rig.state();
            for (const [k, want] of Object.entries(c.after ?? {})) expectTensor(`buffer '${k}' after the call`, state[k], want, tol);
            // (c) d/d of sum(output * upstream)
            out.mul(fromFixture(c.upstream)).sum().backward();
            c.grads.inputs.forEach((want, i) => expectTensor(`grad of input ${i + 1}`, xs[i]!.grad, want, tol));
            assert.deepEqual(Object.keys(c.grads.params).sort(), [...rig.layer.params.keys()].sort(), 'learnable parameters');
            for (const [k, want] of Object.entries(c.grads.params)) expectTensor(`grad of '${k}'`, rig.layer.params.get(k)!.grad, want, tol);
          });
        } finally {
          rig.dispose();
        }
      });
    });
  }

  // (e) with the network's default layout (channels-last when it has conv2d layers)
  test(`${c.name}: save/load round trip gives identical outputs`, async () => {
    await noLeaks(() => {
      const rig = makeRig(c);
      const copy = rig.roundTrip();
      try {
        assert.deepEqual(JSON.parse(JSON.stringify(copy.config())), JSON.parse(JSON.stringify(rig.config())), 'config');
        dl.tidy(() => {
          loadParams(rig, c);
          const copy2 = rig.roundTrip(); // now with the fixture's values, not the initial ones
          try {
            const xs = c.inputs.map(fromFixture);
            const a = rig.run(xs, c.training).dataSync();
            const b = copy2.run(xs, c.training).dataSync();
            assert.deepEqual(b, a, 'outputs of the rebuilt layer');
            const sa = rig.state();
            const sb = copy2.state();
            assert.deepEqual(Object.keys(sb).sort(), Object.keys(sa).sort(), 'state-dict names');
            for (const k of Object.keys(sa)) assert.deepEqual(sb[k]!.dataSync(), sa[k]!.dataSync(), `state '${k}' after the call`);
          } finally {
            copy2.dispose();
          }
        });
      } finally {
        rig.dispose();
        copy.dispose();
      }
    });
  });
}

// ---- (d): float64 finite-difference gradient check ------------------------------------------

/**
 * dl.gradcheck (central differences against autograd, float64) of the layer's forward, as a
 * function of its input and of every parameter: the parameters are swapped into the layer for
 * each evaluation.
 */
function gradcheckLayer(type: string, spec: NonNullable<LayerEntry['gradcheck']>): void {
  const layer = nn.layerFromConfig({ type, name: 'tiny', ...spec.options });
  try {
    layer.build([spec.input]);
    dl.manualSeed(7);
    // float64 parameters (random, not the initializer's ones/zeros) and buffers
    for (const [k, t] of [...layer.params]) {
      layer.params.set(k, dl.tidy(() => dl.randn(t.shape, { dtype: 'float64' }).mul(0.5).add(k === 'weight' ? 0.5 : 0).requiresGrad_()));
      t.dispose();
    }
    for (const [k, t] of [...layer.buffers]) if (t.dtype === 'float32') { layer.buffers.set(k, t.double()); t.dispose(); }
    const names = [...layer.params.keys()];
    const own = names.map((k) => layer.params.get(k)!);
    const x = dl.randn([spec.batch ?? 2, ...spec.input], { dtype: 'float64', requiresGrad: true });
    try {
      const result = dl.gradcheck((input, ...params) => {
        names.forEach((k, i) => layer.params.set(k, params[i]!));
        return layer.forward([input!], { training: spec.training ?? false });
      }, [x, ...own], { eps: GRADCHECK.step, atol: GRADCHECK.atol, rtol: GRADCHECK.rtol });
      assert.deepEqual(result.inputs, [0, ...names.map((_, i) => i + 1)], 'the input and every parameter were checked');
    } finally {
      names.forEach((k, i) => layer.params.set(k, own[i]!));
      x.dispose();
    }
  } finally {
    layer.dispose();
  }
}

for (const [type, e] of Object.entries(TABLE)) {
  if (!e.gradcheck) continue;
  test(`${type}: float64 finite-difference gradient check (${JSON.stringify(e.gradcheck.options)} on ${JSON.stringify(e.gradcheck.input)})`, async () => {
    await noLeaks(() => gradcheckLayer(type, e.gradcheck!));
  });
}

// ---- construction-time validation and build-time input checks ------------------------------

for (const [type, e] of Object.entries(TABLE)) {
  test(`${type}: bad options are rejected naming the option and the value`, async () => {
    if (typeof e.invalid === 'string') return; // nothing to validate: the reason is the string
    await noLeaks(() => {
      for (const [options, error] of e.invalid as [Options, RegExp][]) {
        assert.throws(() => nn.layerFromConfig({ type, name: 'bad', ...options }), error, `${type} ${JSON.stringify(options)}`);
      }
    });
  });
  if (e.badInput) {
    const b = e.badInput;
    test(`${type}: building on input ${JSON.stringify(b.input)} fails naming the layer and the shape`, async () => {
      await noLeaks(() => {
        const layer = nn.layerFromConfig({ type, name: 'bad', ...b.options });
        try {
          assert.throws(() => layer.build([b.input]), (err: Error) => err instanceof nn.LayerError && b.error.test(err.message));
          assert.equal(layer.params.size, 0, 'no parameters made for a failed build');
        } finally {
          layer.dispose();
        }
      });
    });
  }
}

test('imageInput statistics: setStatistics after build rebuilds the buffers, and the config carries them', async () => {
  await noLeaks(() => {
    const net = Network.series([nn.imageInput({ name: 'in', inputSize: [2, 1, 2], normalization: 'zscore' })]);
    try {
      assert.equal((net.layer('in') as nn.ImageInput).needsStatistics, true);
      (net.layer('in') as nn.ImageInput).setStatistics([1, 2], [2, 4]);
      assert.equal((net.layer('in') as nn.ImageInput).needsStatistics, false);
      dl.tidy(() => {
        const y = net.forward(dl.tensor([[[[3, 5]], [[6, 10]]]])) as Tensor;
        assertClose(y, [1, 2, 1, 2], { atol: 0, rtol: 0 });
        assert.deepEqual(net.stateDict()['in.std']!.shape, [2, 1, 1]);
      });
      const cfg = net.config().layers[0]!;
      assert.deepEqual([cfg.mean, cfg.std], [[1, 2], [2, 4]]);
      dl.tidy(() => assert.throws(() => net.forward(dl.zeros([1, 2, 2, 1])), /layer 'in' \(imageInput\): expected input of shape \[N, 2, 1, 2\], got \[1, 2, 2, 1\]/));
    } finally {
      net.dispose();
    }
  });
});

test('dropout is the identity in inference and drops a fraction p in training', async () => {
  await noLeaks(() => {
    const net = Network.series([nn.featureInput({ inputSize: 1000 }), nn.dropout({ probability: 0.25 })]);
    try {
      dl.manualSeed(3);
      dl.tidy(() => {
        const x = dl.ones([20, 1000]);
        assert.equal((net.forward(x) as Tensor).sum().item(), 20000);
        const y = net.forward(x, { training: true }) as Tensor;
        const zeroed = y.eq(0).float().mean().item();
        assert.ok(Math.abs(zeroed - 0.25) < 0.02, `zeroed fraction ${zeroed}`);
        assertClose(y.maskedSelect(y.ne(0)).mean(), [1 / 0.75], { atol: 1e-6, rtol: 0 });
      });
    } finally {
      net.dispose();
    }
  });
});
