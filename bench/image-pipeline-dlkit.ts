// One dlkit measurement for `npm run bench -- image-pipeline` (run by bench/image-pipeline.ts):
// an image folder through decode + random-resized-crop to 224×224 + horizontal flip (worker
// threads), batches of 64 made into tensors and normalized on the main thread, one epoch.
//   node dist/bench/image-pipeline-dlkit.js --dir D [--batch 64] [--size 224] [--workers 2] [--epoch 0]
// Progress goes to stderr, the result (one JSON line) to stdout.
import * as dl from '../src/index.js';
import { intOption, parseOptions } from './common.js';

const { opts } = parseOptions(process.argv.slice(2));
const dir = opts.get('dir')?.at(-1);
if (!dir) throw new Error('image-pipeline-dlkit: --dir is required');
const batchSize = intOption(opts, 'batch', 64);
const size = intOption(opts, 'size', 224);
const workers = intOption(opts, 'workers', dl.defaultWorkers());
const epoch = Number(opts.get('epoch')?.at(-1) ?? 0);

const started = performance.now();
// No pixel cache: every epoch decodes every file, as torchvision's DataLoader does.
const images = await dl.imageDatastore(dir, { workers, cacheBytes: 0 });
const data = dl.augmentedImageDatastore([size, size], images, { resize: 'random-resized-crop', reflectX: true });
const mean = dl.tensor(Float32Array.of(0.485 * 255, 0.456 * 255, 0.406 * 255), { shape: [1, 3, 1, 1] });
const std = dl.tensor(Float32Array.of(0.229 * 255, 0.224 * 255, 0.225 * 255), { shape: [1, 3, 1, 1] });
let n = 0;
let checksum = 0;
for await (const { x, y } of data.batches({ batchSize, shuffle: true, seed: 1, epoch })) {
  const z = dl.tidy(() => x.sub(mean).div(std)); // (N, 3, size, size), normalized
  if (n === 0) checksum = z.mean().item();
  n += x.shape[0]!;
  dl.dispose([x, y, z]);
}
const seconds = (performance.now() - started) / 1000;
dl.dispose([mean, std]);
const s = data.pipelineStats;
process.stderr.write(`dlkit: ${n} images in ${seconds.toFixed(2)} s, ${s.workers} workers, consumer waited ${s.waitSeconds.toFixed(2)} s\n`);
console.log(JSON.stringify({ imagesPerSecond: n / seconds, seconds, images: n, workers: s.workers, waitSeconds: s.waitSeconds, bad: images.badFiles.length, checksum }));
