// `npm run bench -- train-memory`: 2,000 training steps of the reference CNN (written with
// `tidy`), in this process. Prints the resident set size at steps 100 and 2,000 and its growth,
// and dlkit.memory() (allocator in-use and cached bytes, live tensors) along the way. Prints,
// does not assert (test/ asserts the bound).
// Options: --steps 2000 --every 250 --batch 128
import { fmt, intOption, parseOptions, progress, table } from './common.js';

const MB = 2 ** 20;

export async function run(argv: string[]): Promise<void> {
  const { opts } = parseOptions(argv);
  const steps = intOption(opts, 'steps', 2000);
  const every = intOption(opts, 'every', 250);
  const batch = intOption(opts, 'batch', 128);
  const dl = await import('../src/index.js');
  const { native } = await import('../src/native/binding.js');
  const { referenceCnn, syntheticBatch } = await import('../test/support/reference-cnn.js');

  const rss = () => process.memoryUsage().rss / MB;
  const alloc = native.allocatorStats();
  console.log(`train-memory: reference CNN, batch ${batch}, ${steps} steps, ${dl.getNumThreads()} threads, allocator ${alloc.caching ? `caching (limit ${fmt(alloc.cacheLimitBytes / MB)} MB)` : 'system'}`);
  const rows = [['step', 'RSS MB', 'in use MB', 'cached MB', 'peak in use MB', 'live tensors', 'alloc hits', 'misses', 'loss']];
  const snapshot = (label: string, loss: number) => {
    const m = dl.memory();
    const a = native.allocatorStats();
    const row = [label, fmt(rss(), 1), fmt(m.inUseBytes / MB, 1), fmt(m.cachedBytes / MB, 1), fmt(m.peakInUseBytes / MB, 1), String(m.liveTensors), String(a.hits), String(a.misses), fmt(loss, 3)];
    rows.push(row);
    return row;
  };

  const start = snapshot('start', NaN);
  const liveAtStart = dl.memory().liveTensors;
  dl.manualSeed(0);
  const model = referenceCnn({ channelsLast: true, readLoss: true });
  const batches = Array.from({ length: 8 }, (_, i) => syntheticBatch(batch, i + 1));
  let rss100 = NaN;
  let loss = NaN;
  const t0 = performance.now();
  for (let i = 1; i <= steps; i++) {
    const b = batches[i % batches.length]!;
    loss = model.step(b.x, b.y);
    if (i === 100) rss100 = rss();
    if (i === 100 || i % every === 0 || i === steps) {
      const row = snapshot(String(i), loss);
      const rate = (i * batch) / ((performance.now() - t0) / 1000);
      progress(`step ${i}/${steps}: RSS ${row[1]} MB, in use ${row[2]} MB, cached ${row[3]} MB, live tensors ${row[5]}, loss ${row[8]} (${fmt(rate)} img/s)`);
    }
  }
  const rssEnd = rss();
  model.dispose();
  dl.dispose(batches);
  snapshot('disposed', NaN);
  const released = dl.emptyCache();
  snapshot('emptyCache', NaN);
  console.log('');
  console.log(table(rows));
  console.log(`start: RSS ${start[1]} MB; live tensors back to start after dispose: ${dl.memory().liveTensors === liveAtStart ? 'yes' : `no (${dl.memory().liveTensors - liveAtStart} left)`}; emptyCache released ${fmt(released / MB, 1)} MB; freed by GC ${dl.memory().freedByGc}`);
  console.log(`train-memory: RSS step 100 ${fmt(rss100)} MB, step ${steps} ${fmt(rssEnd)} MB, growth ${fmt(((rssEnd - rss100) / rss100) * 100, 1)}%`);
}
