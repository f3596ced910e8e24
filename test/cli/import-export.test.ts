// `dlkit import` and `dlkit export` end to end, as a user runs them: an ONNX file, a Caffe pair,
// the real CIFAR ResNet checkpoint (with and without --arch), a TorchScript module; the written
// model files load, classify and export; bad files exit 1 naming the file.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import * as dl from '../../src/index.js';
import { SHARED_DATA } from '../support/shared-data.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const cli = path.join(root, 'dist', 'src', 'cli', 'main.js');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'dlkit-import-cli-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const dlkit = (...args: string[]) => {
  const r = spawnSync(process.execPath, [cli, ...args], { cwd: tmp, encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, all: `exit ${r.status}\n${r.stdout}\n${r.stderr}` };
};

const ONNX = path.join(root, 'fixtures', 'onnx', 'resnet-small.onnx');
const CAFFE = path.join(root, 'fixtures', 'caffe');
const RESNET20 = path.join(SHARED_DATA, 'pretrained', 'resnet-cifar10', 'resnet20-12fca82f.th');

test('import model.onnx --out: the summary with the file\'s node names; the model file runs as the ONNX file does in ONNX Runtime; export writes it back', async () => {
  const out = path.join(tmp, 'resnet-small.safetensors');
  const r = dlkit('import', ONNX, '--out', out);
  assert.equal(r.code, 0, r.all);
  assert.match(r.stdout, /\/stem\/stem\.0\/Conv\s+onnx:Conv/);
  assert.match(r.stdout, new RegExp(`wrote ${out.replace(/[/.]/g, '\\$&')}`));
  const net = await dl.loadModel(out);
  const x = dl.randn([2, ...net.inputShape]);
  const ours = dl.noGrad(() => net.forward(x) as dl.Tensor);
  const sess = await ort.InferenceSession.create(ONNX);
  const theirs = (await sess.run({ [sess.inputNames[0]!]: new ort.Tensor('float32', x.dataSync() as Float32Array, x.shape) }))[sess.outputNames[0]!]!;
  const a = ours.dataSync() as Float32Array, b = theirs.data as Float32Array;
  assert.deepEqual(ours.shape, [...theirs.dims]);
  for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i]! - b[i]!) < 1e-4, `output ${i}: ${a[i]} vs ${b[i]}`);
  await sess.release();
  dl.dispose([x, ours]);
  net.dispose();
  const onnxOut = path.join(tmp, 'again.onnx');
  const e = dlkit('export', out, '--onnx', onnxOut);
  assert.equal(e.code, 0, e.all);
  assert.ok((await ort.InferenceSession.create(onnxOut)).inputNames.length === 1);
});

test('import deploy.prototxt weights.caffemodel with --mean, --bgr and --classes: the preprocessing and the class names are in the model file', async () => {
  const labels = path.join(tmp, 'labels.txt');
  writeFileSync(labels, Array.from({ length: 10 }, (_, i) => `class ${i}`).join('\n'));
  const out = path.join(tmp, 'alexnet.safetensors');
  const r = dlkit('import', path.join(CAFFE, 'alexnet.prototxt'), path.join(CAFFE, 'alexnet.caffemodel'), '--mean', '104,117,123', '--bgr', '--classes', labels, '--out', out);
  assert.equal(r.code, 0, r.all);
  const net = await dl.loadModel(out);
  assert.deepEqual(net.classes, Array.from({ length: 10 }, (_, i) => `class ${i}`));
  const input = net.inputLayers[0]!.config();
  assert.equal(input.bgr, true);
  assert.deepEqual(input.mean, [104, 117, 123]);
  net.dispose();
});

test('import a PyTorch checkpoint: --arch makes a model that classifies; without it the tensors are listed', { skip: existsSync(RESNET20) ? false : `${RESNET20} not found (../shared/data/pretrained): skipped` }, async () => {
  const out = path.join(tmp, 'r20.safetensors');
  const r = dlkit('import', RESNET20, '--arch', 'cifar-resnet20', '--out', out);
  assert.equal(r.code, 0, r.all);
  assert.match(r.stdout, /learnables: 269,722/);
  const net = await dl.loadModel(out);
  assert.deepEqual(net.classes?.slice(0, 2), ['airplane', 'automobile']);
  net.dispose();
  const list = dlkit('import', RESNET20);
  assert.equal(list.code, 0, list.all);
  assert.match(list.stdout, /a state dict \(under 'state_dict'\) of \d+ tensors/);
  assert.match(list.stdout, /^ {2}conv1\.weight {2}\[16, 3, 3, 3\] float32$/m, "'module.' is stripped: every name has it");
  assert.match(list.stdout, /best_prec1/);
  const bad = dlkit('import', RESNET20, '--arch', 'cifar-resnet32');
  assert.equal(bad.code, 1, bad.all);
  assert.match(bad.stderr, /does not fit the network: .*'layer1\.\d\.conv1\.weight'/);
});

test('import a TorchScript module prints it; bad files exit 1 naming the file and what was expected', () => {
  const ts = dlkit('import', path.join(root, 'fixtures', 'torchscript', 'traced.pt'));
  assert.equal(ts.code, 0, ts.all);
  const junk = path.join(tmp, 'junk.onnx');
  writeFileSync(junk, Buffer.from('not a model at all'));
  const r = dlkit('import', junk);
  assert.equal(r.code, 1, r.all);
  assert.match(r.stderr, /junk\.onnx: /);
  const missing = dlkit('import', path.join(tmp, 'nothing.onnx'));
  assert.equal(missing.code, 1, missing.all);
  assert.match(missing.stderr, /nothing\.onnx: no such file/);
  const unknown = path.join(tmp, 'weights.xyz');
  writeFileSync(unknown, 'x');
  assert.match(dlkit('import', unknown).stderr, /weights\.xyz: unknown model format; expected \.onnx, \.prototxt \+ \.caffemodel/);
  assert.match(dlkit('import', path.join(CAFFE, 'alexnet.prototxt')).stderr, /a Caffe network needs both files/);
});
