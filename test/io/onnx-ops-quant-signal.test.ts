// ONNX op handlers (quantization, signal, misc and the pooling/scatter fixes) on cases the
// conformance data leaves out, against fixtures/onnx-ops.json (scripts/make-onnx-op-fixtures.py).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as dl from '../../src/index.js';
import type { Tensor } from '../../src/index.js';
import { opHandler, type AttrValue } from '../../src/io/onnx/ops/index.js';
import { assertClose, noLeaks } from '../helpers.js';

interface FixtureTensor { shape: number[]; dtype: 'float32' | 'float64' | 'int64' | 'int8' | 'uint8'; data: number[] }
interface OpCase { name: string; op: string; opset: number; attrs: Record<string, AttrValue>; inputs: (FixtureTensor | null)[]; outputs: FixtureTensor[]; torch: string }

function projectRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'package.json'))) dir = path.dirname(dir);
  return dir;
}
const CASES = (JSON.parse(readFileSync(path.join(projectRoot(), 'fixtures', 'onnx-ops.json'), 'utf8')) as { cases: OpCase[] }).cases;

function fromFixture(f: FixtureTensor): Tensor {
  const { shape } = f;
  switch (f.dtype) {
    case 'float32': return dl.tensor(Float32Array.from(f.data), { shape });
    case 'float64': return dl.tensor(Float64Array.from(f.data), { shape });
    case 'int64': return dl.tensor(BigInt64Array.from(f.data, (v) => BigInt(v)), { shape });
    case 'int8': return dl.tensor(Int8Array.from(f.data), { shape });
    case 'uint8': return dl.tensor(Uint8Array.from(f.data), { shape });
  }
}

function runCase(c: OpCase): Tensor[] {
  const inputs = c.inputs.map((i) => (i ? fromFixture(i) : undefined));
  const ctx = { training: false, opset: c.opset, node: c.name, numOutputs: c.outputs.length, tensorAttr: () => undefined };
  const out = opHandler(c.op).run(inputs, c.attrs, ctx);
  return Array.isArray(out) ? out : [out];
}

for (const c of CASES) {
  test(`${c.name} matches PyTorch (${c.torch})`, () => noLeaks(() => dl.tidy(() => {
    const outs = runCase(c);
    assert.equal(outs.length, c.outputs.length, 'number of outputs');
    c.outputs.forEach((want, i) => {
      const got = outs[i]!;
      assert.equal(got.dtype, want.dtype, `output ${i} dtype`);
      const exact = want.dtype !== 'float32' && want.dtype !== 'float64';
      assertClose(got, want.data, { shape: want.shape, ...(exact ? { atol: 0, rtol: 0 } : { atol: 1e-5, rtol: 1e-4 }) });
    });
  })));
}

test('errors name the input and the shapes', () => noLeaks(() => dl.tidy(() => {
  const ctx = { training: false, opset: 17, node: 'n', numOutputs: 1, tensorAttr: () => undefined };
  const x = dl.tensor(Float32Array.from([1, 2, 3, 4, 5, 6]), { shape: [1, 2, 3] });
  assert.throws(() => opHandler('DFT').run([x], { axis: 1 }, ctx), /input must end in a dim of 1 \(real\) or 2 \(complex\), got shape \[1, 2, 3\]/);
  const scale = dl.tensor(Float32Array.from([1, 2]), { shape: [2] });
  assert.throws(() => opHandler('QuantizeLinear').run([x, scale], { axis: 2 }, ctx), /y_scale has 2 values for axis 2 of size 3 \(input shape \[1, 2, 3\]\)/);
  const sig = dl.tensor(Float32Array.from({ length: 10 }, (_, i) => i), { shape: [1, 10, 1] });
  const step = dl.tensor(BigInt64Array.from([2n]), { shape: [] });
  const win = dl.tensor(Float32Array.from([1, 1, 1]), { shape: [3] });
  const len = dl.tensor(BigInt64Array.from([4n]), { shape: [] });
  assert.throws(() => opHandler('STFT').run([sig, step, win, len], {}, ctx), /window has shape \[3\], expected \[4\] \(frame_length\)/);
})));
