// One dlkit measurement for `train-step`, run as a child process by bench/train-step.ts:
//   node dist/bench/train-step-dlkit.js [--steps 60] [--warmup 15] [--batch 128] [--channels-last 1]
// The reference CNN (test/support/reference-cnn.ts, low-level API) with readLoss on, so each
// step ends with the loss read back as PyTorch's loss.item() does. Progress goes to stderr, the
// result (one JSON line) to stdout.
import * as dl from '../src/index.js';
import { referenceCnn, syntheticBatch } from '../test/support/reference-cnn.js';
import { intOption, median, parseOptions } from './common.js';

const { opts } = parseOptions(process.argv.slice(2));
const steps = intOption(opts, 'steps', 60);
const warmup = intOption(opts, 'warmup', 15);
const batch = intOption(opts, 'batch', 128);
const channelsLast = (opts.get('channels-last')?.at(-1) ?? process.env.DLKIT_BENCH_CHANNELS_LAST ?? '1') !== '0';

dl.manualSeed(0);
const model = referenceCnn({ channelsLast, readLoss: true });
// A few fixed batches, made before timing (generating them in JS is slow, training is not).
const batches = Array.from({ length: 4 }, (_, i) => syntheticBatch(batch, i + 1));

let loss = NaN;
for (let i = 0; i < warmup; i++) loss = model.step(batches[i % batches.length]!.x, batches[i % batches.length]!.y);
const times: number[] = [];
const start = performance.now();
for (let i = 0; i < steps; i++) {
  const t0 = performance.now();
  const b = batches[i % batches.length]!;
  loss = model.step(b.x, b.y);
  times.push(performance.now() - t0);
}
const elapsed = (performance.now() - start) / 1000;
if (!Number.isFinite(loss)) throw new Error(`training diverged: loss ${loss}`);

const mem = dl.memory();
const alloc = process.env.DLKIT_ALLOCATOR === 'system' ? 'system' : 'caching';
console.log(JSON.stringify({
  imgPerSec: (steps * batch) / elapsed,
  stepMsMedian: median(times),
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
