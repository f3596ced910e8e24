// docs/formats.md lists the supported ONNX ops, Caffe layers and exported layers: it must be what
// the handler tables give today (regenerate with `npm run docs`).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { formatsDoc, withReadmeFormats } from '../../src/io/formats-doc.js';

test('docs/formats.md is generated from the handler tables and up to date', () => {
  const checkedIn = readFileSync(new URL('../../../docs/formats.md', import.meta.url), 'utf8');
  assert.equal(checkedIn, formatsDoc(), 'docs/formats.md is stale: run npm run docs');
  assert.match(checkedIn, /\| \[Conv\]\(https:\/\/onnx\.ai\/onnx\/operators\/onnx__Conv\.html\) \|/);
  assert.match(checkedIn, /\| Convolution \| `convolution_param` \|/);
});

test("the README's lists of ONNX operators and Caffe layers are the generated ones", () => {
  const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
  assert.equal(readme, withReadmeFormats(readme), "README.md's formats block is stale: run npm run docs");
  assert.match(readme, /\*\*ONNX operators imported \(\d+\):\*\* .*\bConv\b/);
});
