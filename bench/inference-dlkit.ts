// dlkit's and ONNX Runtime's side of `npm run bench -- inference` (run by bench/inference.ts):
// the ResNet-18 ONNX file imported into dlkit and loaded into onnxruntime-node, timed at batch 1
// and 32, and the default preset's small CNN (exported by dlkit) at batch 1. Same thread count
// for both. Result: one JSON line on stdout.
import * as ort from 'onnxruntime-node';
import path from 'node:path';
import os from 'node:os';
import { mkdtempSync, rmSync } from 'node:fs';
import * as dl from '../src/index.js';
import { median } from './common.js';

const args = process.argv.slice(2);
const opt = (name: string, fallback: string) => { const i = args.indexOf(`--${name}`); return i >= 0 ? args[i + 1]! : fallback; };
const onnxFile = opt('onnx', '');
const threads = Number(opt('threads', '2'));
const reps = Number(opt('reps', '30'));
dl.setNumThreads(threads);

async function timeAsync(fn: () => Promise<unknown>, n: number): Promise<number> {
  for (let i = 0; i < 3; i++) await fn();
  const ts: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await fn();
    ts.push(performance.now() - t0);
  }
  return median(ts);
}

function timeSync(fn: () => void, n: number): number {
  for (let i = 0; i < 3; i++) fn();
  const ts: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    fn();
    ts.push(performance.now() - t0);
  }
  return median(ts);
}

const session = (file: string) => ort.InferenceSession.create(file, { intraOpNumThreads: threads, interOpNumThreads: 1, graphOptimizationLevel: 'all' });

async function measure(net: dl.Network, file: string, shape: number[], n: number): Promise<{ dlkit: number; ort: number; maxDiff: number }> {
  const x = dl.randn(shape);
  const sess = await session(file);
  const feeds = { [sess.inputNames[0]!]: new ort.Tensor('float32', x.dataSync() as Float32Array, shape) };
  // dlkit's inference path: the plan predict/classify use (batch norm folded, channels-last weights).
  const plan = new dl.nn.InferencePlan(net, { channelsLast: true });
  const dlkitMs = timeSync(() => dl.tidy(() => { plan.forward(x); }), n);
  const ortMs = await timeAsync(() => sess.run(feeds), n);
  const ours = dl.tidy(() => (plan.forward(x) as dl.Tensor).dataSync() as Float32Array);
  plan.dispose();
  const theirs = (await sess.run(feeds))[sess.outputNames[0]!]!.data as Float32Array;
  let maxDiff = 0;
  for (let i = 0; i < ours.length; i++) maxDiff = Math.max(maxDiff, Math.abs(ours[i]! - theirs[i]!));
  x.dispose();
  await sess.release();
  return { dlkit: dlkitMs, ort: ortMs, maxDiff };
}

const resnet = dl.importONNX(onnxFile);
const b1 = await measure(resnet, onnxFile, [1, 3, 224, 224], reps);
const b32 = await measure(resnet, onnxFile, [32, 3, 224, 224], Math.max(5, Math.floor(reps / 6)));
resnet.dispose();

// The default preset's CNN (untrained weights; speed does not depend on them), 28x28 grayscale.
const tmp = mkdtempSync(path.join(os.tmpdir(), 'dlkit-inference-'));
const small = dl.preset('default').network([1, 28, 28], Array.from({ length: 10 }, (_, i) => String(i)));
for (const l of small.inputLayers) if (l instanceof dl.nn.ImageInput) l.setStatistics([0.5], [0.25]);
const smallFile = path.join(tmp, 'small.onnx');
await dl.exportONNX(small, smallFile);
const s1 = await measure(small, smallFile, [1, 1, 28, 28], reps * 10);
small.dispose();
rmSync(tmp, { recursive: true, force: true });
console.log(JSON.stringify({ b1, b32, small: s1, threads }));
