// One dlkit measurement for `op-overhead`, run as a child process by bench/op-overhead.ts:
//   node dist/bench/op-overhead-dlkit.js [--calls 100000]
// µs per call of a tiny op on 1-element tensors: `a.add(b)` returning a new tensor that is then
// disposed, and the in-place `a.add_(b)`. Result: one JSON line on stdout.
import * as dl from '../src/index.js';
import { intOption, machineBusySeconds, othersCpuPercent, ownCpuSeconds, parseOptions } from './common.js';

const { opts } = parseOptions(process.argv.slice(2));
const calls = intOption(opts, 'calls', 100_000);

const a = dl.tensor([1], { dtype: 'float32' });
const b = dl.tensor([1e-6], { dtype: 'float32' });

function newTensor(n: number): number {
  const t0 = performance.now();
  for (let i = 0; i < n; i++) a.add(b).dispose();
  return ((performance.now() - t0) * 1000) / n;
}
function inPlace(n: number): number {
  const t0 = performance.now();
  for (let i = 0; i < n; i++) a.add_(b);
  return ((performance.now() - t0) * 1000) / n;
}

const live0 = dl.memory().liveTensors;
newTensor(calls / 10); // warm-up: op lookup, JIT
inPlace(calls / 10);
const busy0 = machineBusySeconds();
const own0 = ownCpuSeconds();
const t0 = performance.now();
const usNew = newTensor(calls);
const usInPlace = inPlace(calls);
const othersCpuPct = othersCpuPercent(busy0, own0, (performance.now() - t0) / 1000);
const leaked = dl.memory().liveTensors - live0;
console.log(JSON.stringify({ usNew, usInPlace, leaked, othersCpuPct, threads: dl.getNumThreads() }));
a.dispose();
b.dispose();
