// The ONNX importer beyond conformance: errors for bad graphs (a cycle, a missing initializer,
// unsupported ops and attributes reported all at once, external data outside the model's folder),
// names with '.', '/' and ':', and an imported network that trains.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as dl from '../../src/index.js';
import { importONNXModel, encodeModel, type ModelProto, type NodeProto } from '../../src/io/onnx/index.js';
import { noLeaks } from '../helpers.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'dlkit-onnx-import-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const FLOAT = 1;
const input = (name: string, dims: (number | string)[]) => ({
  name, type: { tensor_type: { elem_type: FLOAT, shape: { dim: dims.map((d) => (typeof d === 'number' ? { dim_value: d } : { dim_param: d })) } } },
});
const floats = (name: string, dims: number[], values: number[]) => ({ name, dims, data_type: FLOAT, float_data: values });
const model = (nodes: NodeProto[], extra: Partial<NonNullable<ModelProto['graph']>> = {}): ModelProto => ({
  ir_version: 8, opset_import: [{ domain: '', version: 13 }],
  graph: { name: 'g', node: nodes, input: [input('x:0', ['N', 3])], output: [{ name: 'y' }], ...extra },
});

test('a cycle, a missing initializer and a graph output nothing produces are errors naming them', () => noLeaks(() => {
  const cycle = model([
    { op_type: 'Relu', name: 'a', input: ['b_out'], output: ['a_out'] },
    { op_type: 'Relu', name: 'b', input: ['a_out'], output: ['b_out'] },
    { op_type: 'Relu', name: 'c', input: ['x:0'], output: ['y'] },
  ]);
  assert.throws(() => importONNXModel(cycle, { file: 'cycle.onnx' }), /cycle\.onnx: .*a cycle runs through 'a' -> 'b' -> 'a'|cycle\.onnx: .*a cycle runs through 'b' -> 'a' -> 'b'/);
  const missing = model([{ op_type: 'Add', name: 'add', input: ['x:0', 'bias'], output: ['y'] }]);
  assert.throws(() => importONNXModel(missing, { file: 'm.onnx' }), /m\.onnx: cannot import:\n {2}node 'add' \(Add\): input 'bias', which is neither a graph input, an initializer nor another node's output/);
  const noOutput = model([{ op_type: 'Relu', name: 'r', input: ['x:0'], output: ['z'] }]);
  assert.throws(() => importONNXModel(noOutput, { file: 'o.onnx' }), /graph output 'y' is not produced by any node/);
}));

test('unsupported ops and attributes are all reported in one error, before any tensor is made', () => noLeaks(() => {
  const m = model([
    { op_type: 'FancyOp', name: 'f1', input: ['x:0'], output: ['t1'] },
    { op_type: 'FancyOp', name: 'f2', input: ['t1'], output: ['t2'] },
    { op_type: 'Relu', name: 'r', input: ['t2'], output: ['t3'], attribute: [{ name: 'alpha', type: 1, f: 0.5 }] },
    { op_type: 'com.example.Thing', domain: 'com.example', name: 'e', input: ['t3'], output: ['y'] },
  ], { initializer: [floats('w', [3], [1, 2, 3])] });
  const before = dl.memory().liveTensors;
  assert.throws(() => importONNXModel(m, { file: 'u.onnx' }), (err: Error) => {
    assert.match(err.message, /unsupported op FancyOp \(2 nodes: 'f1', 'f2'\)/);
    assert.match(err.message, /unsupported op com\.example\.com\.example\.Thing|unsupported op com\.example\.Thing/);
    assert.match(err.message, /node 'r' \(Relu\): attribute 'alpha' is not supported \(supported: none\)/);
    return true;
  });
  assert.equal(dl.memory().liveTensors, before);
}));

test("external data must stay in the model's folder", () => noLeaks(() => {
  const dir = path.join(tmp, 'ext');
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'w.bin'), Buffer.from(new Float32Array([1, 2, 3]).buffer));
  const ext = (location: string) => model([{ op_type: 'Add', name: 'add', input: ['x:0', 'w'], output: ['y'] }], {
    initializer: [{ name: 'w', dims: [3], data_type: FLOAT, data_location: 1, external_data: [{ key: 'location', value: location }] }],
  });
  const good = path.join(dir, 'good.onnx');
  writeFileSync(good, encodeModel(ext('w.bin')));
  const net = dl.importONNX(good);
  dl.tidy(() => {
    const y = dl.noGrad(() => net.forward(dl.tensor([[1, 1, 1]])) as dl.Tensor);
    assert.deepEqual([...y.dataSync() as Float32Array], [2, 3, 4]);
  });
  net.dispose();
  const evil = path.join(dir, 'evil.onnx');
  writeFileSync(evil, encodeModel(ext('../../../../etc/passwd')));
  assert.throws(() => dl.importONNX(evil), /external data location '\.\.\/\.\.\/\.\.\/\.\.\/etc\/passwd' is outside the model's folder/);
}));

test("names with '.', '/' and ':' are kept; a dynamic batch imports as a batched network that trains", async () => {
  await noLeaks(async () => {
    const m = model([
      { op_type: 'Gemm', name: '/fc/Gemm', input: ['x:0', 'fc.weight', 'fc.bias'], output: ['y'], attribute: [{ name: 'transB', type: 2, i: 1 }] },
    ], { initializer: [floats('fc.weight', [2, 3], [0.1, -0.2, 0.3, 0.0, 0.1, -0.1]), floats('fc.bias', [2], [0, 0])] });
    const net = importONNXModel(m, { classes: ['a', 'b'] });
    assert.deepEqual(Object.keys(net.stateDict()), ['/fc/Gemm.fc.weight', '/fc/Gemm.fc.bias']);
    assert.equal(net.inputLayers[0]!.batched, true);
    assert.deepEqual(net.inputShape, [3]);
    assert.deepEqual(net.outputShape, [2]);
    // Two separable classes: a few epochs of SGD fit them.
    const x = dl.tensor([[1, 0, 0], [0, 1, 0], [1, 0.1, 0], [0.1, 1, 0], [0.9, 0, 0.1], [0, 0.9, 0.1], [1, 0, 0.2], [0, 1, 0.2]]);
    const labels = dl.tensor(BigInt64Array.from([0n, 1n, 0n, 1n, 0n, 1n, 0n, 1n]), { shape: [8] });
    const data = dl.tensorDatastore(x, labels, { classes: ['a', 'b'] });
    await dl.trainNetwork(data, net, { solver: 'sgdm', initialLearnRate: 0.5, maxEpochs: 30, miniBatchSize: 8, verbose: false, shuffle: 'never' });
    const { labels: predicted, scores } = await dl.classify(net, x);
    assert.deepEqual(predicted, ['a', 'b', 'a', 'b', 'a', 'b', 'a', 'b']);
    dl.dispose([x, labels, scores]);
    net.dispose();
  });
});

test('imageNormalization puts the preprocessing into an image input: raw pixels in, the same outputs as the file on normalized ones', () => noLeaks(() => {
  const file = path.join(root, 'fixtures', 'onnx', 'resnet-small.onnx');
  const plain = dl.importONNX(file);
  const mean = [120, 110, 100], std = [60, 55, 50];
  const net = dl.importONNX(file, { imageNormalization: { mean, std } });
  assert.equal(net.inputLayers[0]!.type, 'imageInput');
  dl.tidy(() => {
    const pixels = dl.rand([2, ...net.inputShape]).mul(255);
    const normalized = pixels.sub(dl.tensor(mean).reshape([1, 3, 1, 1])).div(dl.tensor(std).reshape([1, 3, 1, 1]));
    const expected = dl.noGrad(() => plain.forward(normalized) as dl.Tensor);
    const got = dl.noGrad(() => net.forward(pixels) as dl.Tensor);
    assert.ok(got.sub(expected).abs().max().item() < 1e-4);
  });
  assert.throws(() => importONNXModel(model([{ op_type: 'Relu', name: 'r', input: ['x:0'], output: ['y'] }]), { imageNormalization: { mean: [1] } }),
    /imageNormalization needs one batched float32 input of shape \[N, C, H, W\]; 'x:0' is float32 \[N, 3\]/);
  plain.dispose();
  net.dispose();
}));
