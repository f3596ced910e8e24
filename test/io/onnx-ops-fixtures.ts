// The cases of fixtures/onnx-ops-resize-rnn.json (written by scripts/make-onnx-op-fixtures-resize-rnn.py with PyTorch
// and torchvision), and calling one ONNX op handler directly, outside an imported graph.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as dl from '../../src/index.js';
import type { Tensor } from '../../src/index.js';
import { opHandler, type AttrValue } from '../../src/io/onnx/ops/index.js';

export interface OpFixtureTensor { shape: number[]; dtype: 'float32' | 'int64'; data: number[] }
export interface OpFixtureCase { name: string; op: string; attrs: Record<string, AttrValue>; inputs: (OpFixtureTensor | null)[]; outputs: OpFixtureTensor[] }

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

export function opFixtures(prefix: string): OpFixtureCase[] {
  const file = JSON.parse(readFileSync(path.join(root, 'fixtures', 'onnx-ops-resize-rnn.json'), 'utf8')) as { cases: OpFixtureCase[] };
  return file.cases.filter((c) => c.name.startsWith(prefix));
}

export function fixtureTensor(t: OpFixtureTensor | null): Tensor | undefined {
  if (!t) return undefined;
  if (t.dtype === 'int64') return dl.tensor(BigInt64Array.from(t.data, (v) => BigInt(v)), { shape: t.shape });
  return dl.tensor(Float32Array.from(t.data), { shape: t.shape });
}

/** Runs the handler of `opName` as the importer would (check first, then run, in a tidy scope by the caller). */
export function runOp(opName: string, inputs: (Tensor | undefined)[], attrs: Record<string, AttrValue>, { opset = 17, numOutputs = 1 } = {}): Tensor[] {
  const h = opHandler(opName);
  const reason = h.check?.(attrs, opset);
  if (reason) throw new Error(`${opName}: ${reason}`);
  const out = h.run(inputs, attrs, { training: false, opset, node: 'test', numOutputs, tensorAttr: () => undefined });
  return Array.isArray(out) ? out : [out];
}
