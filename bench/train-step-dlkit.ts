// One dlkit measurement for `train-step`, run as a child process by bench/train-step.ts:
//   node dist/bench/train-step-dlkit.js [--steps 60] [--warmup 15] [--batch 128] [--channels-last 1]
// The reference CNN (test/support/reference-cnn.ts, low-level API) with readLoss on, so each
// step ends with the loss read back as PyTorch's loss.item() does. Progress goes to stderr, the
// result (one JSON line) to stdout.
import * as dl from '../src/index.js';
import { referenceCnn, syntheticBatch } from '../test/support/reference-cnn.js';
import { intOption, machineBusySeconds, median, othersCpuPercent, ownCpuSeconds, parseOptions, quantile } from './common.js';

const { opts } = parseOptions(process.argv.slice(2));
const steps = intOption(opts, 'steps', 60);
const warmup = intOption(opts, 'warmup', 15);
const batch = intOption(opts, 'batch', 128);
const channelsLast = (opts.get('channels-last')?.at(-1) ?? process.env.DLKIT_BENCH_CHANNELS_LAST ?? '1') !== '0';
// 'random' (default): normal inputs and random labels, as the PyTorch side; 'synthetic': the
// learnable problem of reference-cnn.ts (its loss falls towards 0 over the run).
const data = opts.get('data')?.at(-1) ?? 'random';

dl.manualSeed(0);
const model = referenceCnn({ channelsLast, readLoss: true });
// A few fixed batches, made before timing (generating them in JS is slow, training is not).
const batches = Array.from({ length: 4 }, (_, i) =>
  data === 'synthetic' ? syntheticBatch(batch, i + 1) : { x: dl.randn([batch, 1, 28, 28]), y: dl.randint(0, 10, [batch]) });

let loss = NaN;
for (let i = 0; i < warmup; i++) loss = model.step(batches[i % batches.length]!.x, batches[i % batches.length]!.y);
const times: number[] = [];
const ru0 = process.resourceUsage();
const busy0 = machineBusySeconds();
const own0 = ownCpuSeconds();
const start = performance.now();
for (let i = 0; i < steps; i++) {
  const t0 = performance.now();
  const b = batches[i % batches.length]!;
  loss = model.step(b.x, b.y);
  times.push(performance.now() - t0);
}
const elapsed = (performance.now() - start) / 1000;
const othersCpuPct = othersCpuPercent(busy0, own0, elapsed);
const ru1 = process.resourceUsage();
if (!Number.isFinite(loss)) throw new Error(`training diverged: loss ${loss}`);

const mem = dl.memory();
const alloc = process.env.DLKIT_ALLOCATOR === 'system' ? 'system' : 'caching';
console.log(JSON.stringify({
  imgPerSec: (steps * batch) / elapsed,
  stepMsMedian: median(times),
  stepMsP10: quantile(times, 0.1),
  stepMsP90: quantile(times, 0.9),
  // page faults and CPU time per step: the cost of memory returned to the OS and faulted back in
  minorFaultsPerStep: (ru1.minorPageFault - ru0.minorPageFault) / steps,
  userMsPerStep: (ru1.userCPUTime - ru0.userCPUTime) / 1000 / steps,
  sysMsPerStep: (ru1.systemCPUTime - ru0.systemCPUTime) / 1000 / steps,
  othersCpuPct,
  threads: dl.getNumThreads(),
  channelsLast,
  allocator: alloc,
  loss,
  rssMB: process.memoryUsage().rss / 2 ** 20,
  cachedMB: mem.cachedBytes / 2 ** 20,
  liveTensors: mem.liveTensors,
}));
model.dispose();
dl.dispose(batches);
