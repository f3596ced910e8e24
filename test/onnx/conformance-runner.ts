// The ONNX backend conformance runner: each test folder of Debian's libonnx-testdata holds a
// model.onnx and test_data_set_*/ with input_*.pb and output_*.pb (TensorProtos). The model is
// imported into a dlkit network, run on each data set's inputs, and its outputs compared with
// the expected ones (the ONNX backend's default tolerance: rtol 1e-3, atol 1e-7).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { importONNX, decodeTensor, tensorFromProto } from '../../src/io/onnx/index.js';
import { tidy, noGrad, type Tensor } from '../../src/index.js';
import { EXCLUDED } from './conformance-exclusions.js';

export const ONNX_TEST_DATA = '/usr/share/libonnx-testdata/data';
export const SUITES = ['node', 'pytorch-converted', 'pytorch-operator', 'simple'] as const;
export type Suite = (typeof SUITES)[number];

export interface CaseResult {
  suite: Suite;
  name: string;
  status: 'passed' | 'failed' | 'excluded';
  /** Why it failed, or why it is excluded. */
  detail?: string;
}

const RTOL = 1e-3;
const ATOL = 1e-7;

function compare(actual: Tensor, expected: Tensor, what: string): string | null {
  if (actual.shape.join(',') !== expected.shape.join(',')) return `${what}: shape [${actual.shape.join(', ')}], expected [${expected.shape.join(', ')}]`;
  if (actual.dtype !== expected.dtype) return `${what}: dtype ${actual.dtype}, expected ${expected.dtype}`;
  const a = actual.dtype === 'float16' || actual.dtype === 'bfloat16' ? (actual.float().dataSync() as Float32Array) : actual.dataSync();
  const e = expected.dtype === 'float16' || expected.dtype === 'bfloat16' ? (expected.float().dataSync() as Float32Array) : expected.dataSync();
  for (let i = 0; i < a.length; i++) {
    const x = Number(a[i]), y = Number(e[i]);
    if (Number.isNaN(x) && Number.isNaN(y)) continue;
    if (x === y) continue;
    if (!(Math.abs(x - y) <= ATOL + RTOL * Math.abs(y))) return `${what}: value ${i} is ${x}, expected ${y}`;
  }
  return null;
}

/** Runs one conformance test folder; throws nothing (failures come back as results). */
export function runCase(suite: Suite, name: string, dir = path.join(ONNX_TEST_DATA, suite, name)): CaseResult {
  const excluded = EXCLUDED[name];
  if (excluded) return { suite, name, status: 'excluded', detail: excluded };
  const sets = readdirSync(dir).filter((d) => d.startsWith('test_data_set_')).sort();
  try {
    return tidy(() => noGrad(() => {
      const net = importONNX(path.join(dir, 'model.onnx'));
      try {
        for (const set of sets) {
          const files = (prefix: string) => readdirSync(path.join(dir, set)).filter((f) => f.startsWith(prefix) && f.endsWith('.pb'))
            .sort((x, y) => Number(/\d+/.exec(x)![0]) - Number(/\d+/.exec(y)![0]));
          const read = (f: string) => tensorFromProto(decodeTensor(readFileSync(path.join(dir, set, f)), f), { file: f });
          const inputs = files('input_').map(read);
          const expected = files('output_').map(read);
          if (inputs.length !== net.inputNames.length) {
            return { suite, name, status: 'failed' as const, detail: `${set}: ${inputs.length} input files for ${net.inputNames.length} graph inputs` };
          }
          const out = net.forward(inputs);
          const outs = Array.isArray(out) ? out : [out];
          if (outs.length !== expected.length) return { suite, name, status: 'failed' as const, detail: `${set}: ${outs.length} outputs, expected ${expected.length}` };
          for (let i = 0; i < outs.length; i++) {
            const problem = compare(outs[i]!, expected[i]!, `${set} output ${i}`);
            if (problem) return { suite, name, status: 'failed' as const, detail: problem };
          }
        }
        return { suite, name, status: 'passed' as const };
      } finally {
        net.dispose();
      }
    }));
  } catch (err) {
    return { suite, name, status: 'failed', detail: (err as Error).message.split('\n').slice(0, 3).join(' ').slice(0, 400) };
  }
}

/** Runs every test of the given suites (all four by default). */
export function runConformance(suites: readonly Suite[] = SUITES, filter?: (name: string) => boolean): CaseResult[] {
  const results: CaseResult[] = [];
  for (const suite of suites) {
    const dir = path.join(ONNX_TEST_DATA, suite);
    if (!existsSync(dir)) continue;
    for (const name of readdirSync(dir).sort()) {
      if (filter && !filter(name)) continue;
      results.push(runCase(suite, name));
    }
  }
  return results;
}

/** `node: 812/932` per suite, as the issue asks for. */
export function summaryLines(results: readonly CaseResult[]): string[] {
  return SUITES.filter((s) => results.some((r) => r.suite === s)).map((s) => {
    const mine = results.filter((r) => r.suite === s);
    const passed = mine.filter((r) => r.status === 'passed').length;
    const excluded = mine.filter((r) => r.status === 'excluded').length;
    return `${s}: ${passed}/${mine.length} (${excluded} excluded, ${mine.length - passed - excluded} failed)`;
  });
}
