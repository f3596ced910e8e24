// RNN, GRU and LSTM beyond the conformance data (which has forward, single-direction runs only):
// bidirectional with initial states and sequence_lens of different lengths against PyTorch's
// packed sequences, the same with layout 1, and the reverse direction on its own.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as dl from '../../src/index.js';
import type { Tensor } from '../../src/index.js';
import { assertClose, noLeaks } from '../helpers.js';
import type { AttrValue } from '../../src/io/onnx/ops/index.js';
import { opFixtures, fixtureTensor, runOp } from './onnx-ops-fixtures.js';

const cases = opFixtures('rnn/');
const tol = { atol: 1e-5, rtol: 1e-4 };

test('the recurrent fixtures are there', () => assert.equal(cases.length, 4));

for (const c of cases) {
  const nOut = c.outputs.length;
  const load = () => c.inputs.map(fixtureTensor);

  test(`${c.name}: Y, Y_h${nOut > 2 ? ', Y_c' : ''} match PyTorch`, () => noLeaks(() => dl.tidy(() => {
    const outs = runOp(c.op, load(), c.attrs, { numOutputs: nOut });
    assert.equal(outs.length, nOut);
    c.outputs.forEach((e, i) => assertClose(outs[i]!, e.data, { ...tol, shape: e.shape }));
  })));

  test(`${c.name}, layout 1: the batch-first layout of the same`, () => noLeaks(() => dl.tidy(() => {
    const ins = load();
    // X, initial_h and initial_c swap their first two axes.
    for (const i of [0, 5, 6]) if (ins[i]) ins[i] = ins[i]!.transpose(0, 1).contiguous();
    const outs = runOp(c.op, ins, { ...c.attrs, layout: 1 }, { numOutputs: nOut });
    const want = c.outputs.map(fixtureTensor) as Tensor[];
    assertClose(outs[0]!, want[0]!.permute(2, 0, 1, 3).contiguous().dataSync() as Float32Array, { ...tol, shape: [want[0]!.shape[2]!, want[0]!.shape[0]!, 2, want[0]!.shape[3]!] });
    for (let i = 1; i < nOut; i++) assertClose(outs[i]!, want[i]!.transpose(0, 1).contiguous().dataSync() as Float32Array, tol);
  })));

  test(`${c.name}, reverse only: the bidirectional run's second direction`, () => noLeaks(() => dl.tidy(() => {
    const ins = load();
    // W, R, B, initial_h, initial_c: keep direction 1.
    for (const i of [1, 2, 3, 5, 6]) if (ins[i]) ins[i] = ins[i]!.slice(0, 1, 2).contiguous();
    const attrs: Record<string, AttrValue> = { ...c.attrs, direction: 'reverse' };
    if (Array.isArray(attrs.activations)) attrs.activations = (attrs.activations as string[]).slice(1);
    const outs = runOp(c.op, ins, attrs, { numOutputs: nOut });
    const want = c.outputs.map(fixtureTensor) as Tensor[];
    assertClose(outs[0]!, want[0]!.slice(1, 1, 2).contiguous().dataSync() as Float32Array, tol);
    for (let i = 1; i < nOut; i++) assertClose(outs[i]!, want[i]!.slice(0, 1, 2).contiguous().dataSync() as Float32Array, tol);
  })));
}

test('recurrent ops: wrong weight shapes and unknown activations are errors naming them', () => {
  dl.tidy(() => {
    const x = dl.zeros([2, 1, 3]);
    assert.throws(() => runOp('LSTM', [x, dl.zeros([1, 8, 3]), dl.zeros([1, 8, 3])], { hidden_size: 2 }), /LSTM 'R' must be \[1, 8, 2\], got \[1, 8, 3\]/);
    assert.throws(() => runOp('GRU', [x, dl.zeros([1, 6, 4]), dl.zeros([1, 6, 2])], { hidden_size: 2 }), /GRU 'W' must be \[1, 6, 3\], got \[1, 6, 4\]/);
    assert.throws(() => runOp('RNN', [x, dl.zeros([1, 2, 3]), dl.zeros([1, 2, 2])], { hidden_size: 2, activations: ['Swish'] }), /activation 'Swish' is not one of/);
  });
});
