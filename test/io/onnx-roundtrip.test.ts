// ONNX import -> export -> import. An imported network is exported and the file checked twice:
// onnxruntime-node (an independent implementation) runs it and must give the conformance
// data's expected outputs, and importing it again must give what the first import gives.
// Models: every pytorch-converted and pytorch-operator conformance model, node tests with
// multi-output ops (Split, TopK, Dropout's mask), tensor attributes (Constant, ConstantOfShape)
// and integral float attributes (Elu's alpha 2.0), and a small ResNet that PyTorch exported with
// a dynamic batch (fixtures/onnx, scripts/make-onnx-fixtures.py). Imported networks also go
// through saveModel/loadModel.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import * as dl from '../../src/index.js';
import type { Network, Tensor } from '../../src/index.js';
import { importONNX, importONNXModel, networkToOnnx, exportONNX, saveModel, loadModel, OnnxNode } from '../../src/io/index.js';
import { decodeModel, decodeTensor, encodeModel, tensorFromProto, OnnxType, type ModelProto } from '../../src/io/onnx/proto.js';
import { networkOpset } from '../../src/io/onnx/export.js';
import { EXCLUDED } from '../onnx/conformance-exclusions.js';
import { noLeaks } from '../helpers.js';

const DATA = '/usr/share/libonnx-testdata/data';
const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../fixtures/onnx');
const NODE_TESTS = [
  'test_split_equal_parts_1d', 'test_split_equal_parts_2d', 'test_split_equal_parts_default_axis', 'test_split_variable_parts_2d',
  'test_top_k', 'test_top_k_negative_axis', 'test_top_k_smallest', 'test_dropout_default_mask',
  'test_constant', 'test_constantofshape_int_zeros', 'test_constantofshape_float_ones', 'test_elu', 'test_clip_splitbounds',
];
// The conformance backend's tolerance (rtol 1e-3, atol 1e-7), atol a little wider for onnxruntime's own kernels.
const RTOL = 1e-3, ATOL = 1e-6;

const dir = mkdtempSync(path.join(os.tmpdir(), 'dlkit-onnx-roundtrip-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const ORT_TYPES: Partial<Record<string, ort.Tensor.Type>> = {
  float32: 'float32', float64: 'float64', int64: 'int64', int32: 'int32', int16: 'int16', int8: 'int8', uint8: 'uint8', bool: 'bool', float16: 'float16',
};
function toOrt(t: Tensor): ort.Tensor {
  const type = ORT_TYPES[t.dtype];
  if (!type) throw new TypeError(`no onnxruntime tensor type for ${t.dtype}`);
  return new ort.Tensor(type, t.dataSync() as never, [...t.shape]);
}

/** A problem comparing `got` with `expected` (shape, then values within tolerance), or null. */
function mismatch(got: { dims: readonly number[]; data: ArrayLike<number | bigint | boolean> }, expected: Tensor, what: string, rtol = RTOL, atol = ATOL): string | null {
  if (got.dims.join(',') !== expected.shape.join(',')) return `${what}: shape [${got.dims.join(', ')}], expected [${expected.shape.join(', ')}]`;
  const e = expected.dtype === 'float16' ? expected.float().dataSync() : expected.dataSync();
  const g = got.data;
  for (let i = 0; i < e.length; i++) {
    const x = Number(g[i]), y = Number(e[i]);
    if (x === y || (Number.isNaN(x) && Number.isNaN(y))) continue;
    if (!(Math.abs(x - y) <= atol + rtol * Math.abs(y))) return `${what}: value ${i} is ${x}, expected ${y}`;
  }
  return null;
}
const asGot = (t: Tensor) => ({ dims: [...t.shape], data: t.dtype === 'float16' ? t.float().dataSync() : t.dataSync() });

function readSets(caseDir: string): { inputs: Tensor[]; expected: Tensor[] }[] {
  return readdirSync(caseDir).filter((d) => d.startsWith('test_data_set_')).sort().map((set) => {
    const files = (prefix: string) => readdirSync(path.join(caseDir, set)).filter((f) => f.startsWith(prefix) && f.endsWith('.pb'))
      .sort((x, y) => Number(/\d+/.exec(x)![0]) - Number(/\d+/.exec(y)![0]));
    const read = (f: string) => tensorFromProto(decodeTensor(readFileSync(path.join(caseDir, set, f)), f), { file: f });
    return { inputs: files('input_').map(read), expected: files('output_').map(read) };
  });
}

const forwardList = (net: Network, xs: Tensor[] | Tensor) => { const out = net.forward(xs); return Array.isArray(out) ? out : [out]; };

/**
 * Imports the conformance model, exports it, runs the export in onnxruntime against the
 * expected outputs, and imports the export again: its outputs must equal the first import's.
 */
async function roundTrip(suite: string, name: string): Promise<void> {
  const caseDir = path.join(DATA, suite, name);
  await noLeaks(async () => {
    const sets = readSets(caseDir);
    const net = importONNX(path.join(caseDir, 'model.onnx'));
    let again: Network | null = null;
    try {
      const bytes = encodeModel(networkToOnnx(net));
      const session = await ort.InferenceSession.create(bytes);
      assert.deepEqual(session.inputNames, net.inputNames, 'graph inputs are the input layers, in order');
      again = importONNXModel(decodeModel(bytes, 'exported model'));
      assert.deepEqual(again.inputNames, net.inputNames, 'the re-imported network has the same inputs');
      for (const [k, set] of sets.entries()) {
        assert.equal(set.inputs.length, net.inputNames.length, `test_data_set_${k}: input files for the graph inputs`);
        const feeds = Object.fromEntries(net.inputNames.map((n, i) => [n, toOrt(set.inputs[i]!)]));
        const results = await session.run(feeds);
        assert.equal(session.outputNames.length, set.expected.length, `test_data_set_${k}: onnxruntime's output count`);
        session.outputNames.forEach((o, i) => {
          const problem = mismatch(results[o]! as never, set.expected[i]!, `test_data_set_${k}: onnxruntime output '${o}'`);
          assert.equal(problem, null, problem ?? '');
        });
        dl.tidy(() => dl.noGrad(() => {
          const first = forwardList(net, set.inputs);
          const second = forwardList(again!, set.inputs);
          assert.equal(second.length, first.length, 'output count after the round trip');
          first.forEach((t, i) => {
            assert.equal(second[i]!.dtype, t.dtype, `output ${i}: dtype after the round trip`);
            const problem = mismatch(asGot(second[i]!), t, `test_data_set_${k}: re-imported output ${i}`, 0, 0);
            assert.equal(problem, null, problem ?? '');
          });
        }));
      }
      await session.release();
    } finally {
      net.dispose();
      again?.dispose();
      dl.tidy(() => sets.forEach((s) => [...s.inputs, ...s.expected].forEach((t) => t.dispose())));
    }
  });
}

const skipData = existsSync(DATA) ? false : `the ONNX conformance data (${DATA}, Debian's libonnx-testdata) is not installed`;
for (const suite of ['pytorch-converted', 'pytorch-operator']) {
  const names = skipData ? [] : readdirSync(path.join(DATA, suite)).sort();
  test(`round trip: ${suite} (${names.length} models)`, { skip: skipData }, async (t) => {
    assert.ok(names.length > 20, `${suite} has models`);
    for (const name of names) {
      if (EXCLUDED[name]) continue;
      await t.test(name, () => roundTrip(suite, name));
    }
  });
}
test('round trip: node tests with multi-output ops and tensor attributes', { skip: skipData }, async (t) => {
  for (const name of NODE_TESTS) await t.test(name, () => roundTrip('node', name));
});

test('round trip keeps attribute types, tensor attributes, initializer and tensor names, and the opset', { skip: skipData }, () => noLeaks(() => {
  // Elu's alpha is 2.0: an integral float stays a FLOAT attribute.
  const elu = importONNX(path.join(DATA, 'node/test_elu/model.onnx'));
  try {
    const node = networkToOnnx(elu).graph!.node!.find((n) => n.op_type === 'Elu')!;
    const alpha = node.attribute!.find((a) => a.name === 'alpha')!;
    assert.equal(alpha.type, 1, 'alpha is a FLOAT attribute');
    assert.equal(alpha.f, 2);
  } finally { elu.dispose(); }
  // Constant's value goes back as a tensor attribute, not an initializer.
  const constant = importONNX(path.join(DATA, 'node/test_constant/model.onnx'));
  try {
    const g = networkToOnnx(constant).graph!;
    const node = g.node!.find((n) => n.op_type === 'Constant')!;
    assert.equal(node.attribute!.find((a) => a.name === 'value')?.type, 4, 'value is a TENSOR attribute');
    assert.equal(g.initializer!.length, 0);
  } finally { constant.dispose(); }
  // PyTorch's file: node names, tensor names, initializer names and opset as written.
  const file = path.join(DATA, 'pytorch-converted/test_Conv2d/model.onnx');
  const original = decodeModel(readFileSync(file), file);
  const net = importONNX(file);
  try {
    const exported = networkToOnnx(net);
    const g = exported.graph!, o = original.graph!;
    const opset = (m: ModelProto) => m.opset_import!.find((x) => !x.domain)!.version;
    assert.equal(opset(exported), Math.max(opset(original)!, 7), "the file's opset, or 7 (the oldest onnxruntime runs)");
    assert.deepEqual(networkOpset(net), { default: Math.max(opset(original)!, 7), min: opset(original), importedAt: opset(original) });
    assert.deepEqual(g.node!.map((n) => [n.op_type, n.input, n.output]), o.node!.map((n) => [n.op_type, n.input, n.output]));
    assert.deepEqual(g.initializer!.map((t) => t.name).sort(), o.initializer!.map((t) => t.name).sort());
    assert.deepEqual(g.output!.map((v) => v.name), o.output!.map((v) => v.name));
  } finally { net.dispose(); }
}));

test('multi-output layers: a graph output that is a second output, and outputs of other dtypes', { skip: skipData }, () => noLeaks(async () => {
  const net = importONNX(path.join(DATA, 'node/test_top_k/model.onnx'));
  try {
    assert.equal(net.layers.find((l) => l instanceof OnnxNode)!.numOutputs, 2);
    const g = networkToOnnx(net).graph!;
    const node = g.node!.find((n) => n.op_type === 'TopK')!;
    assert.equal(node.output!.length, 2);
    assert.deepEqual(g.output!.map((v) => v.name), node.output, 'the graph outputs are the node outputs, file names kept');
    assert.deepEqual(g.output!.map((v) => v.type?.tensor_type?.elem_type), [OnnxType.FLOAT, OnnxType.INT64], 'values float, indices int64');
  } finally { net.dispose(); }
}));

// ---- a PyTorch-exported ResNet with a dynamic batch ----

interface Fixture { input: { shape: number[]; data: number[] }; output: { shape: number[]; data: number[] } }
const fixture = (): Fixture => JSON.parse(readFileSync(path.join(FIXTURES, 'resnet-small.json'), 'utf8')) as Fixture;
const RESNET = path.join(FIXTURES, 'resnet-small.onnx');
const ROWS = (f: Fixture, n: number) => {
  const per = f.input.shape.slice(1).reduce((a, b) => a * b, 1), outs = f.output.shape[1]!;
  return { x: f.input.data.slice(0, n * per), y: f.output.data.slice(0, n * outs), xShape: [n, ...f.input.shape.slice(1)], yShape: [n, outs] };
};

function checkClose(got: ArrayLike<number>, expected: readonly number[], what: string, atol = 1e-4, rtol = 1e-4): void {
  assert.equal(got.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    assert.ok(Math.abs(got[i]! - expected[i]!) <= atol + rtol * Math.abs(expected[i]!), `${what}: value ${i} is ${got[i]}, PyTorch gives ${expected[i]} (atol ${atol}, rtol ${rtol})`);
  }
}

test('PyTorch ResNet with a dynamic batch: imports batched, runs at batch 1 and 3 as PyTorch, exports, runs in onnxruntime', () => noLeaks(async () => {
  const f = fixture();
  const net = importONNX(RESNET);
  try {
    const input = net.inputLayers[0]!;
    assert.equal(input.type, 'tensorInput');
    assert.equal(input.batched, true, 'a dynamic first dimension is the batch');
    assert.deepEqual(net.inputShape, f.input.shape.slice(1), 'per-observation input shape');
    assert.deepEqual(net.outputShape, f.output.shape.slice(1), 'per-observation output shape');
    const summary = net.summary();
    assert.match(summary, new RegExp(`input \\[${f.input.shape.slice(1).join(', ')}\\] -> output \\[${f.output.shape[1]}\\]`));
    for (const n of [1, 3]) {
      const { x, y, xShape, yShape } = ROWS(f, n);
      dl.tidy(() => {
        const out = net.forward(dl.tensor(Float32Array.from(x), { shape: xShape })) as Tensor;
        assert.deepEqual([...out.shape], yShape);
        checkClose(out.dataSync() as Float32Array, y, `dlkit at batch ${n}`);
      });
    }
    const file = path.join(dir, 'resnet.onnx');
    await exportONNX(net, file);
    const exported = decodeModel(readFileSync(file), file);
    assert.equal(exported.graph!.input![0]!.type!.tensor_type!.shape!.dim![0]!.dim_param, 'N', 'the batch stays dynamic');
    const session = await ort.InferenceSession.create(file);
    for (const n of [1, 3]) {
      const { x, y, xShape, yShape } = ROWS(f, n);
      const r = await session.run({ [session.inputNames[0]!]: new ort.Tensor('float32', Float32Array.from(x), xShape) });
      const out = r[session.outputNames[0]!]!;
      assert.deepEqual([...out.dims], yShape);
      checkClose(out.data as Float32Array, y, `onnxruntime at batch ${n}`);
    }
    await session.release();
    // And in again: still batched, same outputs.
    const again = importONNX(file);
    try {
      assert.equal(again.inputLayers[0]!.batched, true);
      const { x, y, xShape } = ROWS(f, 3);
      dl.tidy(() => checkClose((again.forward(dl.tensor(Float32Array.from(x), { shape: xShape })) as Tensor).dataSync() as Float32Array, y, 're-imported at batch 3'));
    } finally { again.dispose(); }
  } finally { net.dispose(); }
}));

// ---- saveModel / loadModel of imported networks ----

test('an imported network saved with saveModel and loaded with loadModel gives the same outputs, and exports', { skip: skipData }, () => noLeaks(async () => {
  const f = fixture();
  const cases: [string, () => Tensor[]][] = [
    [RESNET, () => [dl.tensor(Float32Array.from(ROWS(f, 3).x), { shape: ROWS(f, 3).xShape })]],
    ...['node/test_split_variable_parts_2d', 'node/test_elu', 'pytorch-operator/test_operator_non_float_params'].map((c): [string, () => Tensor[]] => [path.join(DATA, c, 'model.onnx'), () => {
      const [set] = readSets(path.join(DATA, c));
      dl.dispose(set!.expected);
      return set!.inputs;
    }]),
  ];
  for (const [i, [model, inputs]] of cases.entries()) {
    const net = importONNX(model);
    const file = path.join(dir, `imported-${i}.safetensors`);
    let loaded: Network | null = null;
    const xs = inputs();
    try {
      await saveModel(net, file);
      loaded = await loadModel(file);
      assert.deepEqual(loaded.config(), net.config(), `${model}: the architecture survives the file`);
      dl.tidy(() => {
        const a = forwardList(net, xs), b = forwardList(loaded!, xs);
        a.forEach((t, k) => assert.equal(mismatch(asGot(b[k]!), t, `${model} output ${k}`, 0, 0), null));
      });
      // The CLI's path: loadModel -> exportONNX gives the file a fresh import gives.
      assert.deepEqual(encodeModel(networkToOnnx(loaded)), encodeModel(networkToOnnx(net)), `${model}: the loaded network exports the same file`);
    } finally {
      net.dispose();
      loaded?.dispose();
      dl.dispose(xs);
    }
  }
}));

test('export refuses an opset older than the imported nodes, naming it', { skip: skipData }, () => noLeaks(() => {
  const net = importONNX(path.join(DATA, 'node/test_elu/model.onnx'));
  try {
    const at = networkOpset(net).importedAt!;
    assert.throws(() => networkToOnnx(net, { opset: at - 1 }), new RegExp(`option 'opset' must be an integer from ${at} to 21 \\(the network's imported ONNX nodes were read at opset ${at}\\), got ${at - 1}`));
  } finally { net.dispose(); }
}));

test('an imported network with a dlkit layer appended exports at max(13, the file opset) and runs in onnxruntime', () => noLeaks(async () => {
  const f = fixture();
  const imported = importONNX(RESNET);
  const config = imported.config();
  const state = imported.stateDict();
  config.layers.push({ type: 'softmax', name: 'prob' });
  config.connections.push([config.outputs[0]!, 'prob']);
  config.outputs = ['prob'];
  const net = dl.Network.fromConfig(config);
  try {
    net.loadStateDict(state);
    assert.deepEqual(networkOpset(net), { default: 13, min: 13, importedAt: 13 });
    const file = path.join(dir, 'resnet-softmax.onnx');
    await exportONNX(net, file);
    const session = await ort.InferenceSession.create(file);
    const { x, y, xShape } = ROWS(f, 3);
    const r = await session.run({ input: new ort.Tensor('float32', Float32Array.from(x), xShape) });
    const expected = dl.tidy(() => Array.from(dl.tensor(Float32Array.from(y), { shape: [3, y.length / 3] }).softmax(1).dataSync() as Float32Array));
    checkClose(r[session.outputNames[0]!]!.data as Float32Array, expected, 'onnxruntime softmax of the imported ResNet');
    await session.release();
  } finally { net.dispose(); imported.dispose(); }
}));
