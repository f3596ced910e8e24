// Sequence values and subgraphs beyond what the conformance data checks: a tidy scope keeps a
// returned sequence's tensors; a Loop whose body reads an enclosing sequence (a capture) and
// holds a learnable initializer runs, lists that initializer in the state dict, survives
// saveModel/loadModel, and refuses ONNX export by name; input layers reject wrong values.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as dl from '../../src/index.js';
import { TensorSequence, type Tensor } from '../../src/index.js';
import { importONNXModel, networkToOnnx, saveModel, loadModel, OnnxNode } from '../../src/io/index.js';
import { tensorToProto, OnnxType, type ModelProto } from '../../src/io/onnx/proto.js';
import { EmptyOptional } from '../../src/io/onnx/values.js';
import { tensorSequenceInput } from '../../src/nn/layers/input.js';
import { noLeaks, assertClose } from '../helpers.js';

test('tidy keeps the tensors of a returned TensorSequence and frees those of one it drops', () => noLeaks(() => {
  const before = dl.memory().liveTensors;
  const kept = dl.tidy(() => {
    const dropped = new TensorSequence([dl.ones([2]), dl.ones([3])]);
    assert.equal(dropped.length, 2);
    return new TensorSequence([dl.zeros([4]), dl.full([1], 5)]);
  });
  assert.equal(dl.memory().liveTensors, before + 2, 'the returned sequence keeps its two tensors, the dropped one is freed');
  assertClose(kept.at(-1), [5]);
  kept.dispose();
  assert.equal(kept.isDisposed, true);
  dl.tidy(() => assert.throws(() => new TensorSequence([dl.ones([1]), dl.ones([1], { dtype: 'int64' })]), /every element must be float32, element 1 is int64/));
}));

const floats = (name: string, dims: (number | string)[]) => ({
  name, type: { tensor_type: { elem_type: OnnxType.FLOAT, shape: { dim: dims.map((d) => (typeof d === 'number' ? { dim_value: d } : { dim_param: d })) } } },
});

// sum = Σ seq[i]; scaled = stack(seq[i] * w) with w a body initializer; the body reads 'seq' from the enclosing graph.
function loopModel(w: Tensor): ModelProto {
  const body = {
    name: 'body',
    input: [{ name: 'i', type: { tensor_type: { elem_type: OnnxType.INT64, shape: { dim: [] } } } }, { name: 'c', type: { tensor_type: { elem_type: OnnxType.BOOL, shape: { dim: [] } } } }, floats('acc_in', [2])],
    initializer: [tensorToProto(w, 'w')],
    node: [
      { op_type: 'Identity', input: ['c'], output: ['c_out'] },
      { op_type: 'SequenceAt', input: ['seq', 'i'], output: ['elem'] },
      { op_type: 'Add', input: ['acc_in', 'elem'], output: ['acc_out'] },
      { op_type: 'Mul', input: ['elem', 'w'], output: ['scaled'] },
    ],
    output: [{ name: 'c_out' }, floats('acc_out', [2]), floats('scaled', [2])],
  };
  return {
    ir_version: 8, opset_import: [{ domain: '', version: 16 }],
    graph: {
      name: 'loop',
      input: [{ name: 'seq', type: { sequence_type: { elem_type: floats('', [2]).type } } }, floats('init', [2])],
      node: [
        { op_type: 'SequenceLength', input: ['seq'], output: ['n'] },
        { op_type: 'Loop', name: 'loop', input: ['n', '', 'init'], output: ['sum', 'stacked'], attribute: [{ name: 'body', type: 5, g: body }] },
      ],
      output: [floats('sum', [2]), floats('stacked', ['n', 2])],
    },
  };
}

test('a Loop reading an enclosing sequence: values, its held initializer, saveModel/loadModel, export refused', () => noLeaks(async () => {
  const w = dl.tensor([2, -1]);
  const net = importONNXModel(loopModel(w));
  w.dispose();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'dlkit-seq-'));
  try {
    const loop = net.layer('loop') as OnnxNode;
    assert.deepEqual(loop.captures, ['seq'], 'the body reads seq from the enclosing graph');
    assert.deepEqual(net.parameters().map((p) => p.name), ['loop.@body/w'], 'the body initializer is a learnable parameter of the Loop layer');
    const elems = [[1, 2], [3, 4], [5, 6]];
    const run = (n: dl.Network) => dl.tidy(() => {
      const seq = new TensorSequence(elems.map((e) => dl.tensor(e)));
      const [sum, stacked] = n.forward([seq as unknown as Tensor, dl.tensor([10, 20])]) as Tensor[];
      return [Array.from(sum!.dataSync() as Float32Array), [...stacked!.shape], Array.from(stacked!.dataSync() as Float32Array)];
    });
    const expected = [[10 + 1 + 3 + 5, 20 + 2 + 4 + 6], [3, 2], elems.flatMap(([a, b]) => [a! * 2, b! * -1])];
    assert.deepEqual(run(net), expected);
    // An empty sequence: no iterations, the initial value passes through.
    const [sum0] = dl.tidy(() => net.forward([new TensorSequence([]) as unknown as Tensor, dl.tensor([7, 8])]) as Tensor[]).map((t) => { const v = Array.from(t.dataSync() as Float32Array); t.dispose(); return v; });
    assert.deepEqual(sum0, [7, 8]);

    const file = path.join(dir, 'loop.safetensors');
    await saveModel(net, file);
    const loaded = await loadModel(file);
    try {
      assert.deepEqual(run(loaded), expected, 'the loaded network runs its subgraph as the imported one');
    } finally {
      loaded.dispose();
    }
    assert.throws(() => networkToOnnx(net), /input layer 'seq' \(tensorSequenceInput\) takes sequence values|layer 'loop' \(onnxNode Loop\) holds subgraphs \(body\)/);
  } finally {
    net.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
}));

test('sequence and optional input layers reject other values by name; tensor ops reject sequences', () => noLeaks(() => {
  const layer = tensorSequenceInput({ name: 'xs', dtype: 'int64' });
  dl.tidy(() => {
    assert.throws(() => layer.forward([dl.ones([2])]), /'xs'.*expected a TensorSequence, got Tensor of shape/);
    assert.throws(() => layer.forward([new TensorSequence([dl.ones([2])]) as unknown as Tensor]), /expected a sequence of int64 tensors, got float32/);
  });
  // Relu given a sequence: the node names itself and the value it got.
  const model: ModelProto = {
    ir_version: 8, opset_import: [{ domain: '', version: 15 }],
    graph: {
      name: 'g', input: [{ name: 'o', type: { optional_type: { elem_type: { sequence_type: { elem_type: floats('', [2]).type } } } } }],
      node: [{ op_type: 'OptionalGetElement', input: ['o'], output: ['s'] }, { op_type: 'Relu', input: ['s'], output: ['y'] }],
      output: [floats('y', [2])],
    },
  };
  const net = importONNXModel(model);
  try {
    dl.tidy(() => {
      assert.throws(() => net.forward([new TensorSequence([dl.ones([2])]) as unknown as Tensor]), /ONNX node 'y' \(Relu\): input 1 is a sequence of 1 float32 tensors; Relu takes tensors/);
      assert.throws(() => net.forward([new EmptyOptional() as unknown as Tensor]), /ONNX node 's' \(OptionalGetElement\): the optional is empty/);
      assert.throws(() => net.forward([dl.ones([2])]), /expected an optional sequence .*got a float32 tensor \[2\]/);
    });
  } finally {
    net.dispose();
  }
}));
