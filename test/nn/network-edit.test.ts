// Editing networks (replace, remove, insert, add, connect, disconnect) on series, graph and
// imported networks: shapes inferred again, kept layers keep their weights, failed edits leave
// the network unchanged and name the layers, and a layer's weights belong to one network.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as dl from '../../src/index.js';
import { Network, nn, type Tensor } from '../../src/index.js';
import { assertClose, noLeaks } from '../helpers.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

const cnn = () => Network.series([
  nn.imageInput({ name: 'input', inputSize: [1, 12, 12], normalization: 'none' }),
  nn.conv2d({ name: 'conv1', filters: 4, kernelSize: 3, padding: 'same' }),
  nn.batchNorm({ name: 'bn1' }),
  nn.relu({ name: 'relu1' }),
  nn.maxPool2d({ name: 'pool1', poolSize: 2 }),
  nn.dropout({ name: 'drop', probability: 0.5 }),
  nn.fullyConnected({ name: 'fc', outputSize: 10 }),
], { classes: 'abcdefghij'.split('') });

/** A residual block: input -> conv_a -> relu_a -> add(in1); input -> add(in2) -> relu_out -> gap -> fc. */
const residual = () => Network.graph({
  layers: [
    nn.imageInput({ name: 'input', inputSize: [3, 8, 8], normalization: 'none' }),
    nn.conv2d({ name: 'conv_a', filters: 3, kernelSize: 3, padding: 1 }),
    nn.relu({ name: 'relu_a' }),
    nn.addition({ name: 'add' }),
    nn.relu({ name: 'relu_out' }),
    nn.globalAvgPool2d({ name: 'gap' }),
    nn.fullyConnected({ name: 'fc', outputSize: 4 }),
  ],
  connections: [['input', 'conv_a'], ['conv_a', 'relu_a'], ['relu_a', 'add/in1'], ['input', 'add/in2'], ['add', 'relu_out'], ['relu_out', 'gap'], ['gap', 'fc']],
});

const pixels = (n: number, shape: number[]) => dl.tidy(() => dl.rand([n, ...shape]));
const values = (t: Tensor) => [...t.dataSync()];

test('replaceLayer: a new head for 3 classes; the kept layers keep their weights; shapes and classes follow', () => noLeaks(() => {
  const net = cnn();
  const conv = values(net.stateDict()['conv1.weight']!);
  const oldFc = net.layer('fc');
  const oldWeight = oldFc.params.get('weight')!;
  net.replaceLayer('fc', nn.fullyConnected({ name: 'head', outputSize: 3 }));
  assert.deepEqual(net.layers.map((l) => l.name), ['input', 'conv1', 'bn1', 'relu1', 'pool1', 'drop', 'head']);
  assert.deepEqual(net.outputNames, ['head']);
  assert.deepEqual(net.outputShape, [3]);
  assert.equal(net.classes, null, 'ten class names no longer fit three outputs');
  assert.deepEqual(values(net.stateDict()['conv1.weight']!), conv);
  assert.ok(oldWeight.isDisposed, 'the replaced layer is disposed');
  assert.deepEqual(net.stateDict()['head.weight']!.shape, [3, 144]);
  const x = pixels(2, [1, 12, 12]);
  const y = net.forward(x) as Tensor;
  assert.deepEqual(y.shape, [2, 3]);
  dl.dispose([x, y]);
  net.dispose();
}));

test('removeLayers bridges a one-input layer; insertLayers after and before; a chain replaces one layer', () => noLeaks(() => {
  const net = cnn();
  const fc = values(net.stateDict()['fc.weight']!);
  net.removeLayers('drop');
  assert.deepEqual(net.sourcesOf('fc'), ['pool1']);
  net.insertLayers(nn.conv2d({ name: 'conv2', filters: 4, kernelSize: 3, padding: 1 }), { after: 'pool1' });
  net.insertLayers([nn.batchNorm({ name: 'bn2' }), nn.relu({ name: 'relu2' })], { before: 'fc' });
  assert.deepEqual(net.layers.map((l) => l.name), ['input', 'conv1', 'bn1', 'relu1', 'pool1', 'conv2', 'bn2', 'relu2', 'fc']);
  assert.deepEqual(net.stateDict()['bn2.running_mean']!.shape, [4], 'the inserted batch norm got its channel count from conv2');
  assert.deepEqual(values(net.stateDict()['fc.weight']!), fc, 'fc kept its weights: its input size did not change');
  // A chain in the place of one layer: pool1 -> [avgPool, conv] with the same output size.
  net.replaceLayer('pool1', [nn.avgPool2d({ name: 'avg', poolSize: 2 }), nn.conv2d({ name: 'mix', filters: 4, kernelSize: 1 })]);
  assert.deepEqual(net.sourcesOf('avg'), ['relu1']);
  assert.deepEqual(net.sourcesOf('conv2'), ['mix']);
  assert.deepEqual(net.classes, 'abcdefghij'.split(''), 'ten outputs still: the class names stay');
  const x = pixels(3, [1, 12, 12]);
  const y = net.forward(x) as Tensor;
  assert.deepEqual(y.shape, [3, 10]);
  dl.dispose([x, y]);
  // A layer added at the end of a network whose output was found by the wiring becomes its output.
  net.addLayers(nn.softmax({ name: 'prob' }), 'fc');
  assert.deepEqual(net.outputNames, ['prob']);
  net.dispose();
}));

test('a failed edit changes nothing, frees what it made, and names the layer whose weights no longer fit', () => noLeaks(() => {
  const net = cnn();
  const x = pixels(2, [1, 12, 12]);
  const before = net.forward(x) as Tensor;
  const summary = net.summary();
  assert.throws(
    () => net.insertLayers(nn.conv2d({ name: 'wide', filters: 8, kernelSize: 3, padding: 1 }), { after: 'pool1' }),
    /edit: layer 'fc' \(fullyConnected\): .*already built for inputs \[4, 6, 6\], now given \[8, 6, 6\].*replace that layer as well.*the network is unchanged/,
  );
  assert.equal(net.summary(), summary);
  const after = net.forward(x) as Tensor;
  assertClose(after, before.dataSync() as Float32Array, { atol: 0, rtol: 0 });
  assert.throws(() => net.replaceLayer('fc9', nn.relu()), /there is no layer named 'fc9'; layers: 'input', 'conv1', /);
  assert.throws(() => net.insertLayers(nn.relu({ name: 'bn1' }), { after: 'conv1' }), /already has a layer named 'bn1'/);
  assert.throws(() => net.replaceLayer('input', nn.relu()), /'input' is an input layer; replace it with an input layer, got relu/);
  assert.throws(() => net.edit((g) => g.remove('relu1', { bridge: false })), /layer 'pool1' \(maxPool2d\) is not connected to anything upstream; the network is unchanged/);
  assert.throws(() => net.edit((g) => g.disconnect('conv1', 'fc')), /disconnect conv1 -> fc: there is no such connection; connections of these layers: conv1 -> bn1, drop -> fc/);
  assert.throws(() => net.edit((g) => g.connect('fc', 'conv1/in1')), /edit: .*(already connected|cycle)/);
  // Several steps, invalid in between, valid at the end: remove without a bridge, then connect.
  net.edit((g) => { g.remove('relu1', { bridge: false }); g.connect('bn1', 'pool1'); });
  assert.deepEqual(net.sourcesOf('pool1'), ['bn1']);
  dl.dispose([x, before, after]);
  net.dispose();
}));

test('graph networks: a branch replaced, a layer inserted on one input of an addition, outputs set explicitly', () => noLeaks(() => {
  const net = residual();
  net.insertLayers(nn.batchNorm({ name: 'bn_skip' }), { before: 'add/in2' });
  assert.deepEqual(net.sourcesOf('add'), ['relu_a', 'bn_skip']);
  assert.deepEqual(net.sourcesOf('bn_skip'), ['input']);
  net.replaceLayer('conv_a', [nn.conv2d({ name: 'conv_b', filters: 3, kernelSize: 1 }), nn.batchNorm({ name: 'bn_b' })]);
  assert.deepEqual(net.sourcesOf('relu_a'), ['bn_b']);
  net.edit((g) => {
    g.add(nn.fullyConnected({ name: 'aux', outputSize: 2 }), { from: 'gap' });
    g.setOutputs(['fc', 'aux']);
  });
  const x = pixels(2, [3, 8, 8]);
  const [main, aux] = net.forward(x) as Tensor[];
  assert.deepEqual([main!.shape, aux!.shape], [[2, 4], [2, 2]]);
  dl.dispose([x, main!, aux!]);
  assert.throws(() => net.insertLayers(nn.relu(), { before: 'add' }), /it takes 2 inputs; name one as 'add\/in1' … 'add\/in2'/);
  net.dispose();
}));

test('a layer belongs to one network: editing or disposing one never frees another\'s weights; clone copies', () => noLeaks(() => {
  const a = cnn();
  const shared = a.layer('conv1');
  assert.throws(() => Network.series([nn.imageInput({ inputSize: [1, 12, 12] }), shared]), /layer 'conv1' \(conv2d\) already belongs to another network/);
  const b = a.clone();
  assert.notEqual(b.layer('conv1'), a.layer('conv1'));
  assert.deepEqual(values(b.stateDict()['conv1.weight']!), values(a.stateDict()['conv1.weight']!));
  assert.throws(() => b.edit((g) => g.insert(a.layer('bn1'), { after: 'conv1' })), /already belongs to another network/);
  b.replaceLayer('fc', nn.fullyConnected({ name: 'fc', outputSize: 2 }));
  assert.deepEqual(a.outputShape, [10], 'editing the clone leaves the original alone');
  assert.ok(!a.layer('fc').params.get('weight')!.isDisposed);
  a.dispose();
  const x = pixels(1, [1, 12, 12]);
  const y = b.forward(x) as Tensor;
  assert.deepEqual(y.shape, [1, 2]);
  dl.dispose([x, y]);
  // Once its network is disposed, a layer is free again (its weights are made anew when built).
  const c = Network.series([nn.imageInput({ inputSize: [1, 12, 12] }), a.layers[1]!, nn.flatten(), nn.fullyConnected({ outputSize: 2 })]);
  c.dispose();
  b.dispose();
}));

test('editing a CIFAR ResNet and an imported ONNX network: a new head, a new input size', () => noLeaks(() => {
  const net = dl.cifarResNet({ depth: 20 });
  const conv = values(net.stateDict()['layer3.2.conv2.weight']!);
  const input = net.layer('input').config();
  net.edit((g) => {
    g.replace('input', dl.nn.layerFromConfig({ ...input, inputSize: [3, 64, 64] }));
    g.replace('linear', nn.fullyConnected({ name: 'linear', outputSize: 2 }));
    g.classes = ['ants', 'bees'];
  });
  assert.deepEqual(net.inputShape, [3, 64, 64]);
  assert.deepEqual(values(net.stateDict()['layer3.2.conv2.weight']!), conv);
  const x = pixels(1, [3, 64, 64]);
  const y = net.forward(x) as Tensor;
  assert.deepEqual(y.shape, [1, 2]);
  assert.deepEqual(net.classes, ['ants', 'bees']);
  dl.dispose([x, y]);
  net.dispose();

  const onnx = dl.importONNX(path.join(root, 'fixtures', 'onnx', 'resnet-small.onnx'));
  const last = onnx.outputNames[0]!;
  const shape = onnx.outputShape;
  onnx.edit((g) => g.add(nn.fullyConnected({ name: 'new_head', outputSize: 3 }), { from: last }));
  assert.deepEqual(onnx.outputNames, ['new_head']);
  assert.deepEqual(onnx.stateDict()['new_head.weight']!.shape, [3, shape[shape.length - 1]]);
  const z = pixels(2, onnx.inputShape as number[]);
  const out = onnx.forward(z) as Tensor;
  assert.deepEqual(out.shape, [2, 3]);
  dl.dispose([z, out]);
  onnx.dispose();
}));
