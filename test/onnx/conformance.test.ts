// The ONNX backend conformance suites of Debian's libonnx-testdata, through the importer: every
// test not excluded (test/onnx/conformance-exclusions.ts, each with its reason) must pass.
// Prints `node: <passed>/<total>` and the other suites' lines, as `npm run conformance` does.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { runConformance, summaryLines, ONNX_TEST_DATA, SUITES } from './conformance-runner.js';
import { EXCLUDED } from './conformance-exclusions.js';
import { memory } from '../../src/index.js';

const present = existsSync(ONNX_TEST_DATA);

test('ONNX conformance: every test not excluded passes; no tensor leaks', { skip: present ? false : `${ONNX_TEST_DATA} not found: install Debian's libonnx-testdata (npm test's setup does)` }, () => {
  const before = memory().liveTensors;
  const results = runConformance();
  for (const line of summaryLines(results)) console.log(line);
  const failed = results.filter((r) => r.status === 'failed');
  assert.deepEqual(failed.map((r) => `${r.suite}/${r.name}: ${r.detail}`), [], 'failed conformance tests');
  // Every exclusion names a real test, so the list cannot rot.
  const names = new Set(results.map((r) => r.name));
  assert.deepEqual(Object.keys(EXCLUDED).filter((n) => !names.has(n)), [], 'exclusions that name no test');
  assert.equal(new Set(results.map((r) => r.suite)).size, SUITES.length);
  assert.equal(memory().liveTensors, before, 'live tensors after the suites');
});
