// ONNX export checked by running the file: every exported network runs in onnxruntime-node
// (an independent implementation of the operators) at batch sizes 1 and 3 and must give what
// dlkit's forward gives in inference mode. Networks cover every registered layer type, the
// default preset's CNN (channels-last), a ResNet/Inception-shaped graph, the options, the
// Caffe-imported fixture networks (whose exported files must also give OpenCV's outputs) and
// the CIFAR ResNet-20.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import * as dl from '../../src/index.js';
import { Network, nn, type Tensor } from '../../src/index.js';
import { Layer, type Shape } from '../../src/nn/layer.js';
import { layerTypes } from '../../src/nn/registry.js';
import { presets } from '../../src/train/presets.js';
import { saveModel, loadModel, exportONNX, networkToOnnx, ONNX_EXPORT_LAYERS, registerOnnxExport, onnxExportTable, type ExportOnnxOptions } from '../../src/io/index.js';
import { decodeModel } from '../../src/io/onnx/proto.js';
import { noLeaks } from '../helpers.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'dlkit-onnx-export-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let fileCount = 0;

/** Gives batch norm and layer norm statistics and affine parameters other than 0 and 1, so they matter. */
function perturb(net: Network): void {
  dl.tidy(() => dl.noGrad(() => {
    for (const l of net.layers) {
      for (const [k, t] of [...l.params, ...l.buffers]) {
        if (k === 'running_var') t.copy_(dl.rand([...t.shape]).add(0.5));
        else if (k === 'running_mean' || (l.type !== 'conv2d' && l.type !== 'fullyConnected' && (k === 'bias' || k === 'weight'))) {
          if (t.dtype === 'float32') t.add_(dl.randn([...t.shape]).mul(0.3));
        }
      }
    }
  }));
}

/** Batch `n` of random input for each input layer, as dlkit tensors. */
function inputsFor(net: Network, n: number): Tensor[] {
  return dl.tidy(() => net.inputLayers.map((l) => {
    const shape = [n, ...l.builtOutputShape!];
    // Image inputs get pixel-like values, so the normalization is exercised as in use.
    return l.type === 'imageInput' ? dl.rand(shape).mul(255) : dl.randn(shape);
  }));
}

/**
 * Exports `net`, runs the file in onnxruntime at batch sizes 1 and 3 and compares every output
 * with dlkit's forward (inference mode). Returns the decoded model for further checks.
 */
async function checkAgainstOrt(net: Network, options: ExportOnnxOptions = {}, { atol = 1e-4, rtol = 1e-4 } = {}) {
  const file = path.join(dir, `model-${++fileCount}.onnx`);
  await exportONNX(net, file, options);
  const session = await ort.InferenceSession.create(file);
  assert.deepEqual(session.inputNames, net.inputNames, 'graph inputs are the input layers');
  for (const n of [1, 3]) {
    const xs = inputsFor(net, n);
    const feeds: Record<string, ort.Tensor> = {};
    net.inputNames.forEach((name, i) => { feeds[name] = new ort.Tensor('float32', xs[i]!.dataSync() as Float32Array, [...xs[i]!.shape]); });
    const results = await session.run(feeds);
    const ours = dl.tidy(() => {
      const out = net.forward(xs, { training: false });
      const list = Array.isArray(out) ? out : [out];
      const values = list.map((t) => (options.includeSoftmax === true && !/softmax/.test(net.layer(net.outputNames[0]!).type) ? t.softmax(1) : t));
      return values.map((t) => ({ shape: [...t.shape], data: Array.from(t.dataSync() as Float32Array) }));
    });
    dl.dispose(xs);
    net.outputNames.forEach((name, i) => {
      const got = results[session.outputNames[i]!]!;
      assert.deepEqual([...got.dims], ours[i]!.shape, `output '${name}' at batch ${n}: shape`);
      const data = got.data as Float32Array;
      let worst = 0, at = -1;
      ours[i]!.data.forEach((e, j) => {
        const err = Math.abs(data[j]! - e) - (atol + rtol * Math.abs(e));
        if (!(err <= worst)) { worst = Number.isNaN(err) ? Infinity : err; at = j; }
      });
      assert.equal(at, -1, `output '${name}' at batch ${n}: index ${at}: onnxruntime ${data[at]}, dlkit ${ours[i]!.data[at]} (atol ${atol}, rtol ${rtol})`);
    });
  }
  await session.release();
  return decodeModel(readFileSync(file), file);
}

const ops = (model: ReturnType<typeof decodeModel>) => model.graph!.node!.map((n) => n.op_type);

/** Networks that together hold every registered layer type, in small shapes. */
const CASES: Record<string, () => Network> = {
  'image: zscore input, grouped/dilated/strided same conv, batch norm, pools with ceil mode, LRN, conv transpose': () => Network.series([
    nn.imageInput({ inputSize: [2, 10, 10], normalization: 'zscore', mean: [120, 100], std: [60, 50] }),
    nn.conv2d({ filters: 4, kernelSize: 3, padding: 'same', stride: 2, dilation: 2, groups: 2 }), // [4, 5, 5]
    nn.batchNorm(),
    nn.relu(),
    nn.conv2d({ filters: 6, kernelSize: [2, 3], padding: 'same' }), // asymmetric 'same' pads
    nn.maxPool2d({ poolSize: 3, stride: 2, padding: 1, ceilMode: true }),
    nn.localResponseNorm({ size: 5, alpha: 0.1, beta: 0.75, k: 2 }), // LRN
    nn.convTranspose2d({ filters: 4, kernelSize: 3, stride: 2, padding: 1, outputPadding: 1 }),
    nn.localResponseNorm({ size: 4, alpha: 0.2, beta: 0.6, k: 1.5 }), // even: decomposed
    nn.leakyRelu({ scale: 0.2 }),
    nn.avgPool2d({ poolSize: 3, stride: 2, padding: 1, ceilMode: true }),
    nn.elu({ alpha: 0.7 }),
    nn.dropout({ probability: 0.3 }),
    nn.flatten(),
    nn.fullyConnected({ outputSize: 5 }),
    nn.softmax(),
  ]),
  'image: rescale-zero-one, zerocenter-free avg pools without ceil, grouped transpose, global pool, layer norm, gelu, tanh, sigmoid': () => Network.series([
    nn.imageInput({ inputSize: [3, 9, 8], normalization: 'rescale-zero-one' }),
    nn.conv2d({ filters: 4, kernelSize: 3, padding: 1, bias: false }),
    nn.avgPool2d({ poolSize: 2, stride: 1, padding: 1 }),
    nn.convTranspose2d({ filters: 4, kernelSize: 2, stride: 2, groups: 2, dilation: 2, bias: false }),
    nn.layerNorm(),
    nn.gelu(),
    nn.maxPool2d({ poolSize: 2 }),
    nn.tanh(),
    nn.conv2d({ filters: 3, kernelSize: 1 }),
    nn.gelu({ approximate: 'tanh' }),
    nn.globalAvgPool2d(),
    nn.sigmoid(),
    nn.fullyConnected({ outputSize: 4 }), // flattens (3, 1, 1)
  ]),
  'image: clipped ReLU, adaptive average pools (uneven cells, larger than the input, dividing, 1 x 1)': () => Network.series([
    nn.imageInput({ inputSize: [3, 11, 9], normalization: 'rescale-zero-one' }),
    nn.conv2d({ filters: 4, kernelSize: 3 }), // [4, 9, 7]
    nn.clippedRelu({ ceiling: 0.5 }),
    nn.adaptiveAvgPool2d({ outputSize: [4, 3] }), // uneven, overlapping cells
    nn.adaptiveAvgPool2d({ outputSize: 6 }), // larger than the input
    nn.adaptiveAvgPool2d({ outputSize: [3, 2] }), // divides
    nn.clippedRelu({ ceiling: 6 }),
    nn.adaptiveAvgPool2d({ outputSize: 1 }),
    nn.flatten(),
  ]),
  'sequence: conv1d, 1-D pools with ceil mode, LRN on (C, L), layer norm over the last axis': () => Network.series([
    nn.sequenceInput({ inputSize: [3, 21] }),
    nn.conv1d({ filters: 4, kernelSize: 3, padding: 'same', dilation: 2 }),
    nn.maxPool1d({ poolSize: 2, ceilMode: true }), // 21 -> 11
    nn.avgPool1d({ poolSize: 3, stride: 2, padding: 1, ceilMode: true }),
    nn.localResponseNorm({ size: 3 }),
    nn.conv1d({ filters: 5, kernelSize: 2, stride: 2 }),
    nn.layerNorm({ normalizedShape: [3] }),
    nn.relu(),
    nn.fullyConnected({ outputSize: 3 }),
  ]),
  'features: fully connected, batch norm on (N, C), layer norm, elu, softmax': () => Network.series([
    nn.featureInput({ inputSize: 6 }),
    nn.fullyConnected({ outputSize: 8 }),
    nn.batchNorm(),
    nn.elu(),
    nn.layerNorm(),
    nn.fullyConnected({ outputSize: 3, bias: false }),
    nn.softmax(),
  ]),
  'image: bgr, zscore and scale input, batch norm without affine, scale, bias, LRN within channels, subsample-pad, power, slice, reshape': () => Network.series([
    nn.imageInput({ inputSize: [3, 9, 8], normalization: 'zscore', mean: [100, 110, 120], std: [50, 60, 70], scale: 0.5, bgr: true }),
    nn.conv2d({ filters: 6, kernelSize: 3, padding: 1 }),
    nn.batchNorm({ affine: false, epsilon: 1e-3 }),
    nn.scale({ bias: true }),
    nn.relu(),
    nn.localResponseNorm({ size: 3, alpha: 0.5, beta: 0.75, k: 1.5, region: 'within' }),
    nn.subsamplePad2d({ stride: 2, padChannels: [1, 2] }), // [9, 5, 4]: the odd row kept
    nn.scale(),
    nn.bias(),
    nn.power({ power: 2, scale: 0.5, shift: 1 }),
    nn.slice({ start: 2, end: 7 }), // channels: [5, 5, 4]
    nn.slice({ dim: 3, start: 1, end: 4 }), // [5, 5, 3]
    nn.subsamplePad2d({ stride: [1, 2], padChannels: 0 }), // Slice only: [5, 5, 2]
    nn.subsamplePad2d({ stride: 1, padChannels: [0, 1] }), // Pad only: [6, 5, 2]
    nn.subsamplePad2d({ stride: 1 }), // neither: Identity
    nn.power({ scale: -2, shift: 0.5 }), // no Pow
    nn.power(), // the identity
    nn.reshape({ shape: [-1, 4, 5] }), // [3, 4, 5]
    nn.localResponseNorm({ size: 3, alpha: 0.1, region: 'within' }),
    nn.reshape({ shape: [12, 5] }),
    nn.fullyConnected({ outputSize: 4 }),
  ]),
  'sequence: scale with bias and bias on (C, L), batch norm without affine, slice along the length': () => Network.series([
    nn.sequenceInput({ inputSize: [3, 12] }),
    nn.conv1d({ filters: 4, kernelSize: 3 }),
    nn.scale({ bias: true }),
    nn.batchNorm({ affine: false }),
    nn.bias(),
    nn.slice({ dim: 2, start: 3, end: 9 }),
    nn.reshape({ shape: [6, 4] }),
    nn.fullyConnected({ outputSize: 3 }),
  ]),
  'features: elementwise sum with coefficients, prod and max of several inputs, scale and bias on (C), power': () => {
    const fc = (name: string) => nn.fullyConnected({ outputSize: 4, name });
    return Network.graph({
      layers: [
        nn.featureInput({ inputSize: 5, name: 'x' }), fc('a'), fc('b'), fc('c'),
        nn.elementwise({ operation: 'sum', numInputs: 3, coefficients: [0.5, -1.5, 1], name: 'wsum' }),
        nn.elementwise({ operation: 'prod', numInputs: 3, name: 'prod' }),
        nn.elementwise({ operation: 'max', numInputs: 3, name: 'max' }),
        nn.elementwise({ name: 'sum' }),
        nn.elementwise({ coefficients: [2, 1], name: 'sum2' }),
        nn.scale({ bias: true, name: 'affine' }), nn.bias({ name: 'shift' }), nn.batchNorm({ affine: false, name: 'bn' }),
        nn.power({ power: 3, shift: 0.25, name: 'cube' }),
        nn.reshape({ shape: [2, 2], name: 'square' }), nn.slice({ dim: 2, start: 1, end: 2, name: 'column' }), nn.flatten({ name: 'flat' }),
      ],
      connections: [
        ['x', 'a'], ['x', 'b'], ['x', 'c'],
        ['a', 'wsum'], ['b', 'wsum'], ['c', 'wsum'],
        ['wsum', 'prod'], ['b', 'prod'], ['c', 'prod'],
        ['prod', 'max'], ['a', 'max'], ['wsum', 'max'],
        ['max', 'sum'], ['c', 'sum'],
        ['sum', 'sum2'], ['a', 'sum2'],
        ['sum2', 'affine'], ['affine', 'shift'], ['shift', 'bn'], ['bn', 'cube'],
        ['cube', 'square'], ['square', 'column'], ['column', 'flat'],
      ],
    });
  },
};

/** Layer options added after the first export, each of which some case must use. */
const OPTIONS_EXERCISED: Record<string, (l: Layer) => boolean> = {
  "imageInput's bgr": (l) => l instanceof nn.ImageInput && l.bgr,
  "imageInput's scale": (l) => l instanceof nn.ImageInput && l.scale !== 1,
  "batchNorm's affine: false": (l) => l instanceof nn.BatchNorm && !l.affine,
  "localResponseNorm's region 'within'": (l) => l instanceof nn.LocalResponseNorm && l.region === 'within',
  "scale's bias": (l) => l instanceof nn.Scale && l.bias,
  "elementwise's coefficients": (l) => l instanceof nn.Elementwise && l.coefficients !== null,
  "elementwise 'prod'": (l) => l instanceof nn.Elementwise && l.operation === 'prod',
  "elementwise 'max'": (l) => l instanceof nn.Elementwise && l.operation === 'max',
};

test('every registered layer type has an ONNX export, and the cases use every one', () => {
  const missing = layerTypes().filter((t) => !(t in ONNX_EXPORT_LAYERS));
  assert.deepEqual(missing, [], 'registered layer types without an export');
  const used = new Set<string>();
  const options = new Set<string>();
  for (const make of Object.values(CASES)) {
    const net = make();
    net.layers.forEach((l) => {
      used.add(l.type);
      for (const [what, uses] of Object.entries(OPTIONS_EXERCISED)) if (uses(l)) options.add(what);
    });
    net.dispose();
  }
  used.add('addition').add('concatenation'); // the graph test below
  used.add('tensorInput').add('onnxNode'); // imported networks: test/io/onnx-roundtrip.test.ts
  used.add('tensorSequenceInput').add('onnxOptionalInput'); // not exported: test/io/onnx-ops-sequence.test.ts
  used.add('svmClassifier'); // a trained SVM, run in onnxruntime: test/apps/svm.test.ts
  assert.deepEqual(layerTypes().filter((t) => !used.has(t)), [], 'layer types no test network exercises');
  assert.deepEqual(Object.keys(OPTIONS_EXERCISED).filter((o) => !options.has(o)), [], 'options no test network exercises');
});

for (const [name, make] of Object.entries(CASES)) {
  for (const opset of [13, 17, 20, 21]) {
    test(`${name}: opset ${opset} runs in onnxruntime as in dlkit`, () => noLeaks(async () => {
      dl.manualSeed(7);
      const net = make();
      try {
        perturb(net);
        const model = await checkAgainstOrt(net, { opset });
        assert.equal(model.opset_import![0]!.version, opset);
        if (net.layers.some((l) => l.type === 'layerNorm')) assert.equal(ops(model).includes('LayerNormalization'), opset >= 17);
        if (net.layers.some((l) => l.type === 'gelu')) assert.equal(ops(model).includes('Gelu'), opset >= 20);
      } finally {
        net.dispose();
      }
    }));
  }
}

const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../fixtures');
const CAFFE_NETS = ['alexnet', 'googlenet', 'squeezenet', 'lenet_v1', 'blocks'] as const;
const caffeFixtures = JSON.parse(readFileSync(path.join(FIXTURES, 'caffe', 'outputs.json'), 'utf8'));

/** The Caffe fixture script's input: MINSTD pixels (x = x * 48271 mod 2^31 - 1, pixel = x mod 256). */
function caffePixels(shape: readonly number[], seed: number): Float32Array {
  const out = new Float32Array(shape.reduce((a, b) => a * b, 1));
  let x = seed;
  for (let i = 0; i < out.length; i++) {
    x = (x * 48271) % 2147483647;
    out[i] = x % 256;
  }
  return out;
}

for (const name of CAFFE_NETS) {
  test(`the Caffe-imported ${name} exports, runs in onnxruntime as in dlkit, and gives OpenCV's output on the fixture input`, () => noLeaks(async () => {
    const f = caffeFixtures[name];
    const options: dl.CaffeImportOptions = { ...f.options, ...(f.options.meanFile ? { meanFile: path.join(FIXTURES, 'caffe', f.options.meanFile) } : {}) };
    const net = await dl.importCaffe(path.join(FIXTURES, 'caffe', `${name}.prototxt`), path.join(FIXTURES, 'caffe', `${name}.caffemodel`), options);
    const file = path.join(dir, `caffe-${name}.onnx`);
    try {
      const model = await checkAgainstOrt(net, {}, { atol: 2e-5, rtol: 2e-4 });
      const input = net.inputLayers[0] as nn.ImageInput;
      // The preprocessing is in the graph, in forward's order.
      const pre = [input.bgr && 'Gather', input.normalization === 'zerocenter' && 'Sub', input.scale !== 1 && 'Mul'].filter(Boolean);
      assert.deepEqual(ops(model).slice(0, pre.length), pre, 'the input normalization nodes');
      // The independent check: onnxruntime on the file gives what OpenCV gave for the Caffe files.
      const output = net.outputNames[0]!;
      const want = f.outputs[output];
      assert.ok(want, `the fixture records the network output '${output}'`);
      await exportONNX(net, file);
      const session = await ort.InferenceSession.create(file);
      const got = (await session.run({ [net.inputNames[0]!]: new ort.Tensor('float32', caffePixels(f.inputShape, f.seed), f.inputShape) }))[output]!;
      await session.release();
      assert.equal(got.data.length, want.data.length, `${output}: ${got.data.length} values, OpenCV has ${want.data.length}`);
      (want.data as number[]).forEach((e, i) => {
        const g = (got.data as Float32Array)[i]!;
        assert.ok(Math.abs(g - e) <= 2e-5 + 2e-4 * Math.abs(e), `${name} ${output}[${i}]: onnxruntime ${g}, OpenCV ${e}`);
      });
    } finally {
      net.dispose();
    }
  }));
}

test('the CIFAR ResNet-20 (subsample-pad shortcuts) exports and runs in onnxruntime as in dlkit', () => noLeaks(async () => {
  dl.manualSeed(37);
  const net = dl.cifarResNet({ depth: 20 });
  try {
    perturb(net);
    const model = await checkAgainstOrt(net);
    const shortcuts = net.layers.filter((l) => l.type === 'subsamplePad2d');
    assert.equal(shortcuts.length, 2, 'layer2.0 and layer3.0 halve the size');
    const byName = new Map(model.graph!.node!.map((n) => [n.name, n]));
    for (const l of shortcuts) {
      const pad = byName.get(l.name)!;
      assert.equal(pad.op_type, 'Pad', `'${l.name}' ends in Pad`);
      assert.equal(model.graph!.node!.find((n) => n.output![0] === pad.input![0])!.op_type, 'Slice', `'${l.name}' subsamples with Slice`);
    }
    const names = model.graph!.initializer!.map((t) => t.name);
    for (const k of Object.keys(net.stateDict()).filter((k) => !k.endsWith('num_batches_tracked'))) assert.ok(names.includes(k), `initializer '${k}'`);
  } finally {
    net.dispose();
  }
}));

test('ceil-mode average pooling whose last window overhangs exports as Pad + AveragePool + Mul, max pooling as end padding', () => noLeaks(async () => {
  dl.manualSeed(3);
  const net = Network.series([
    nn.imageInput({ inputSize: [2, 8, 7], normalization: 'none' }),
    nn.avgPool2d({ poolSize: 3, stride: 2, padding: 1, ceilMode: true }), // H: 8 -> 5 with a partial last window; W: 7 -> 4, windows fit
    nn.maxPool2d({ poolSize: 2, stride: 2, ceilMode: true }), // [2, 3, 2]
  ]);
  try {
    assert.deepEqual(net.outputShape, [2, 3, 2]);
    const model = await checkAgainstOrt(net);
    assert.deepEqual(ops(model), ['Pad', 'AveragePool', 'Mul', 'MaxPool']);
    const maxPool = model.graph!.node!.find((n) => n.op_type === 'MaxPool')!;
    assert.deepEqual(maxPool.attribute!.find((a) => a.name === 'pads')!.ints!.map(Number), [0, 0, 1, 0]);
  } finally {
    net.dispose();
  }
}));

test("the default preset's CNN (channels-last) exports with contiguous NCHW weights and runs as in dlkit", () => noLeaks(async () => {
  dl.manualSeed(11);
  const classes = Array.from({ length: 10 }, (_, i) => `c${i}`);
  const net = presets.default.network([1, 28, 28], classes);
  try {
    assert.equal(net.channelsLast, true);
    const conv = net.layers.find((l) => l.type === 'conv2d')!;
    assert.ok(!conv.params.get('weight')!.isContiguous() || conv.params.get('weight')!.shape[1] === 1, 'the preset keeps its conv weights channels-last');
    (net.inputLayers[0] as nn.ImageInput).setStatistics([72.9], [90.0]);
    perturb(net);
    const model = await checkAgainstOrt(net, {}, { atol: 2e-4, rtol: 2e-4 });
    // Initializers carry the state-dict names; weights are in logical (NCHW) order.
    const names = model.graph!.initializer!.map((t) => t.name);
    for (const k of Object.keys(net.stateDict()).filter((k) => !k.endsWith('num_batches_tracked'))) assert.ok(names.includes(k), `initializer '${k}'`);
    const second = net.layers.filter((l) => l.type === 'conv2d')[1]!;
    const w = second.params.get('weight')!;
    assert.equal(w.isContiguous(), false, 'a channels-last weight with several input channels');
    const init = model.graph!.initializer!.find((t) => t.name === `${second.name}.weight`)!;
    const exported = new Float32Array(Uint8Array.from(init.raw_data!).buffer);
    assert.deepEqual(Array.from(exported), dl.tidy(() => Array.from(w.contiguous().dataSync() as Float32Array)));
    assert.deepEqual(model.graph!.input![0]!.type!.tensor_type!.shape!.dim!.map((d) => d.dim_param ?? Number(d.dim_value)), ['N', 1, 28, 28]);
    assert.deepEqual(JSON.parse((model as { metadata_props?: { key: string; value: string }[] }).metadata_props!.find((m) => m.key === 'classes')!.value), classes);
  } finally {
    net.dispose();
  }
}));

test('the same CNN with and without channels-last exports the same model', () => noLeaks(async () => {
  const make = (channelsLast: boolean) => {
    dl.manualSeed(5);
    return Network.series([
      nn.imageInput({ inputSize: [3, 8, 8], normalization: 'zerocenter', mean: [100, 110, 120] }),
      nn.conv2d({ filters: 4, kernelSize: 3, padding: 'same' }), nn.batchNorm(), nn.relu(), nn.maxPool2d({ poolSize: 2 }),
      nn.conv2d({ filters: 4, kernelSize: 3 }), nn.relu(), nn.fullyConnected({ outputSize: 3 }),
    ], { channelsLast });
  };
  const a = make(true), b = make(false);
  try {
    perturb(a);
    b.loadStateDict(a.stateDict());
    await checkAgainstOrt(a);
    const bytes = (net: Network) => networkToOnnx(net).graph!.initializer!.map((t) => `${t.name}:${Buffer.from(t.raw_data!).toString('base64')}`);
    assert.deepEqual(bytes(a), bytes(b));
  } finally {
    a.dispose();
    b.dispose();
  }
}));

/** A ResNet-shaped graph (residual additions, one of three inputs) with an Inception-style concatenation. */
function resnetShaped(): Network {
  const L = [
    nn.imageInput({ inputSize: [3, 12, 12], normalization: 'zscore', mean: [125, 123, 114], std: [63, 62, 66], name: 'data' }),
    nn.conv2d({ filters: 8, kernelSize: 3, padding: 1, bias: false, name: 'stem.conv' }), nn.batchNorm({ name: 'stem.bn' }), nn.relu({ name: 'stem/relu' }),
    nn.conv2d({ filters: 8, kernelSize: 3, padding: 1, bias: false, name: 'layer1.0.conv1' }), nn.batchNorm({ name: 'layer1.0.bn1' }), nn.relu({ name: 'layer1.0.relu' }),
    nn.conv2d({ filters: 8, kernelSize: 3, padding: 1, bias: false, name: 'layer1.0.conv2' }), nn.batchNorm({ name: 'layer1.0.bn2' }),
    nn.addition({ name: 'layer1.0.add' }), nn.relu({ name: 'layer1.0.out' }),
    nn.conv2d({ filters: 8, kernelSize: 1, name: 'mix.a' }),
    nn.addition({ numInputs: 3, name: 'mix.sum' }),
    nn.conv2d({ filters: 4, kernelSize: 1, name: 'inc.1x1' }),
    nn.maxPool2d({ poolSize: 3, stride: 1, padding: 1, name: 'inc.pool' }),
    nn.concatenation({ numInputs: 2, name: 'inc.cat' }),
    nn.globalAvgPool2d({ name: 'gap' }), nn.fullyConnected({ outputSize: 5, name: 'fc' }),
  ];
  return Network.graph({
    layers: L,
    connections: [
      ['data', 'stem.conv'], ['stem.conv', 'stem.bn'], ['stem.bn', 'stem/relu'],
      ['stem/relu', 'layer1.0.conv1'], ['layer1.0.conv1', 'layer1.0.bn1'], ['layer1.0.bn1', 'layer1.0.relu'], ['layer1.0.relu', 'layer1.0.conv2'], ['layer1.0.conv2', 'layer1.0.bn2'],
      ['layer1.0.bn2', 'layer1.0.add/in1'], ['stem/relu', 'layer1.0.add/in2'], ['layer1.0.add', 'layer1.0.out'],
      ['layer1.0.out', 'mix.a'], ['mix.a', 'mix.sum/in1'], ['layer1.0.out', 'mix.sum/in2'], ['stem/relu', 'mix.sum/in3'],
      ['mix.sum', 'inc.1x1'], ['mix.sum', 'inc.pool'], ['inc.1x1', 'inc.cat/in1'], ['inc.pool', 'inc.cat/in2'],
      ['inc.cat', 'gap'], ['gap', 'fc'],
    ],
  });
}

test('a ResNet-shaped graph with addition and concatenation keeps its names and runs as in dlkit', () => noLeaks(async () => {
  dl.manualSeed(13);
  const net = resnetShaped();
  try {
    perturb(net);
    const model = await checkAgainstOrt(net);
    const g = model.graph!;
    assert.deepEqual(g.input!.map((i) => i.name), ['data']);
    assert.deepEqual(g.output!.map((o) => o.name), ['fc']);
    assert.deepEqual(g.output![0]!.type!.tensor_type!.shape!.dim!.map((d) => d.dim_param ?? Number(d.dim_value)), ['N', 5]);
    const byName = new Map(g.node!.map((n) => [n.name, n]));
    assert.equal(byName.get('layer1.0.add')!.op_type, 'Add');
    assert.deepEqual(byName.get('layer1.0.add')!.input, ['layer1.0.bn2', 'stem/relu']);
    assert.equal(byName.get('mix.sum')!.op_type, 'Sum');
    assert.equal(byName.get('inc.cat')!.op_type, 'Concat');
    assert.deepEqual(byName.get('stem.conv')!.input, ['data/normalized', 'stem.conv.weight']);
    assert.deepEqual(byName.get('stem.bn')!.input, ['stem.conv', 'stem.bn.weight', 'stem.bn.bias', 'stem.bn.running_mean', 'stem.bn.running_var']);
  } finally {
    net.dispose();
  }
}));

test('a network with two inputs and two outputs', () => noLeaks(async () => {
  dl.manualSeed(17);
  const net = Network.graph({
    layers: [
      nn.featureInput({ inputSize: 4, name: 'a' }), nn.featureInput({ inputSize: 4, name: 'b' }),
      nn.addition({ name: 'sum' }), nn.fullyConnected({ outputSize: 3, name: 'head1' }), nn.fullyConnected({ outputSize: 2, name: 'head2' }), nn.softmax({ name: 'p2' }),
    ],
    connections: [['a', 'sum'], ['b', 'sum'], ['sum', 'head1'], ['sum', 'head2'], ['head2', 'p2']],
    outputs: ['head1', 'p2'],
  });
  try {
    const model = await checkAgainstOrt(net);
    assert.deepEqual(model.graph!.output!.map((o) => o.name), ['head1', 'p2']);
  } finally {
    net.dispose();
  }
}));

test('includeSoftmax adds a Softmax after the scores, or leaves the output softmax out', () => noLeaks(async () => {
  dl.manualSeed(19);
  const withSoftmax = Network.series([nn.featureInput({ inputSize: 5 }), nn.fullyConnected({ outputSize: 4, name: 'fc' }), nn.softmax({ name: 'prob' })]);
  const scores = Network.series([nn.featureInput({ inputSize: 5 }), nn.fullyConnected({ outputSize: 4, name: 'fc' })]);
  try {
    scores.loadStateDict(withSoftmax.stateDict());
    // Kept as it is by default; includeSoftmax: true on a softmax network changes nothing.
    assert.deepEqual(ops(await checkAgainstOrt(withSoftmax)), ['Gemm', 'Softmax']);
    assert.deepEqual(ops(await checkAgainstOrt(withSoftmax, { includeSoftmax: true })), ['Gemm', 'Softmax']);
    // includeSoftmax: true on a scores network: the output keeps the layer's name and is the softmax.
    const added = await checkAgainstOrt(scores, { includeSoftmax: true });
    assert.deepEqual(ops(added), ['Gemm', 'Softmax']);
    assert.deepEqual(added.graph!.output!.map((o) => o.name), ['fc']);
    assert.deepEqual(added.graph!.node![0]!.output, ['fc/scores']);
    // includeSoftmax: false: the graph gives the scores under the softmax layer's name.
    const file = path.join(dir, 'no-softmax.onnx');
    await exportONNX(withSoftmax, file, { includeSoftmax: false });
    const session = await ort.InferenceSession.create(file);
    const x = dl.randn([2, 5]);
    const got = (await session.run({ [session.inputNames[0]!]: new ort.Tensor('float32', x.dataSync() as Float32Array, [2, 5]) }))['prob']!.data as Float32Array;
    const expected = dl.tidy(() => Array.from((scores.forward(x) as Tensor).dataSync() as Float32Array));
    x.dispose();
    await session.release();
    expected.forEach((e, i) => assert.ok(Math.abs(got[i]! - e) < 1e-5, `score ${i}: ${got[i]} vs ${e}`));
  } finally {
    withSoftmax.dispose();
    scores.dispose();
  }
}));

/** A layer type dlkit has no ONNX export for (as a user's registerLayer type would be). */
class Swish extends Layer {
  readonly type = 'mySwish';
  outputShape([s]: Shape[]): Shape { return s!; }
  forward([x]: Tensor[]): Tensor { return x!.mul(x!.sigmoid()); }
  protected options() { return {}; }
}

test('unexportable layers, bad options and failed writes are errors that name them', () => noLeaks(async () => {
  const net = Network.series([nn.featureInput({ inputSize: 3 }), new Swish({ name: 'act1' }), new Swish({ name: 'act2' }), nn.fullyConnected({ outputSize: 2 })]);
  const file = path.join(dir, 'unexportable.onnx');
  try {
    await assert.rejects(exportONNX(net, file), /layer 'act1' has type 'mySwish', layer 'act2' has type 'mySwish', which ONNX export does not support; supported types: imageInput, /);
    assert.equal(existsSync(file), false);
  } finally {
    net.dispose();
  }
  // ONNX has one namespace for values and initializers: a layer named like another's weight cannot be exported.
  const clash = Network.series([nn.featureInput({ inputSize: 3 }), nn.fullyConnected({ outputSize: 2, name: 'fc' }), nn.relu({ name: 'fc.weight' })]);
  try {
    assert.throws(() => networkToOnnx(clash), /the name 'fc\.weight' \(a state-dict name\) is taken twice in the graph; rename the layer/);
  } finally {
    clash.dispose();
  }
  const ok = Network.series([nn.featureInput({ inputSize: 3 }), nn.relu()]);
  try {
    await assert.rejects(exportONNX(ok, file, { opset: 12 }), /option 'opset' must be an integer from 13 to 21, got 12/);
    await assert.rejects(exportONNX(ok, file, { opsets: 13 } as ExportOnnxOptions), /unknown option 'opsets'; known: opset, includeSoftmax/);
    await assert.rejects(exportONNX(ok, file, { includeSoftmax: 'yes' } as unknown as ExportOnnxOptions), /option 'includeSoftmax' must be true or false/);
    // An existing file survives a failed write, and no temporary file is left behind.
    const target = path.join(dir, 'keep.onnx');
    writeFileSync(target, 'old');
    await assert.rejects(exportONNX(ok, path.join(dir, 'missing-dir', 'x.onnx')), /missing-dir.*could not write the ONNX model/);
    assert.equal(readFileSync(target, 'utf8'), 'old');
    await exportONNX(ok, target);
    assert.notEqual(readFileSync(target, 'utf8'), 'old');
    assert.deepEqual(readdirSync(dir).filter((f) => f.endsWith('.tmp')), []);
  } finally {
    ok.dispose();
  }
}));

test("a network with test-time augmentation exports its plain forward and says so in the metadata", () => noLeaks(async () => {
  dl.manualSeed(23);
  const net = Network.series([
    nn.imageInput({ inputSize: [1, 6, 6], normalization: 'none' }), nn.conv2d({ filters: 2, kernelSize: 3 }), nn.fullyConnected({ outputSize: 3 }),
  ], { testTimeAugmentation: 'reflectX' });
  try {
    const model = await checkAgainstOrt(net); // compares with forward, which never flips
    const meta = (model as { metadata_props?: { key: string; value: string }[] }).metadata_props!;
    assert.equal(meta.find((m) => m.key === 'dlkit_test_time_augmentation')!.value, 'reflectX');
  } finally {
    net.dispose();
  }
}));

test('registerOnnxExport makes a new layer type exportable (the extension point for imported layers)', () => noLeaks(async () => {
  dl.manualSeed(29);
  registerOnnxExport('mySwish', { ops: ['Sigmoid', 'Mul'], export: (_l, ctx) => ctx.node('Mul', [ctx.inputs[0]!, ctx.node('Sigmoid', [ctx.inputs[0]!])], {}, { output: ctx.output }) });
  const net = Network.series([nn.featureInput({ inputSize: 3 }), new Swish({ name: 'act' }), nn.fullyConnected({ outputSize: 2 })]);
  try {
    const model = await checkAgainstOrt(net);
    assert.deepEqual(model.graph!.node!.map((n) => `${n.name}:${n.op_type}`), ['act/Sigmoid:Sigmoid', 'act:Mul', 'fullyConnected_1:Gemm']);
  } finally {
    net.dispose();
    delete ONNX_EXPORT_LAYERS.mySwish;
  }
}));

test('the docs table has one row per exportable layer type, linking each operator to its spec', () => {
  const lines = onnxExportTable().split('\n');
  assert.equal(lines.length, 2 + Object.keys(ONNX_EXPORT_LAYERS).length);
  assert.ok(lines.includes("| `conv2d` | [Conv](https://onnx.ai/onnx/operators/onnx__Conv.html) | groups, dilation; padding 'same' as explicit pads |"), lines.join('\n'));
});

test('a saved model file exports as `dlkit export model.safetensors --onnx out.onnx` does it (loadModel, then exportONNX)', () => noLeaks(async () => {
  dl.manualSeed(31);
  const file = path.join(dir, 'model.safetensors');
  const original = presets.quick.network([1, 12, 12], ['a', 'b', 'c']);
  (original.inputLayers[0] as nn.ImageInput).setStatistics([80], [70]);
  perturb(original);
  await saveModel(original, file);
  original.dispose();
  const net = await loadModel(file);
  try {
    const model = await checkAgainstOrt(net);
    assert.deepEqual(ops(model).slice(0, 3), ['Sub', 'Div', 'Conv']);
  } finally {
    net.dispose();
  }
}));
