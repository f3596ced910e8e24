// The dlkit side of `npm run bench -- detection`, in its own process: a detector trained from
// scratch on a VOC folder's trainval split within a wall-clock budget, run on the test split.
// The epochs that fit the budget are measured by a first epoch, then the run proper trains that
// many with the default recipe's cosine schedule. Prints one JSON line (detections in the files'
// pixels), like the PyTorch peer, so both are scored by the same code.
// Options: --data DIR --minutes M --size H,W --threads N --seed N --width N --save FILE (keep the detector)
import { parseOptions, intOption } from './common.js';
import * as dl from '../src/index.js';

const { opts } = parseOptions(process.argv.slice(2));
const data = opts.get('data')?.at(-1);
if (!data) throw new Error('detection-dlkit: --data DIR is required');
const minutes = Number(opts.get('minutes')?.at(-1) ?? 20);
const threads = intOption(opts, 'threads', 2);
const seed = Number(opts.get('seed')?.at(-1) ?? 0);
if (!Number.isInteger(seed) || seed < 0) throw new RangeError(`--seed: expected a whole number >= 0, got '${opts.get('seed')?.at(-1)}'`);
const width = intOption(opts, 'width', 32);
dl.setNumThreads(threads);

const train = await dl.openBoxDatastore(data, { split: 'trainval' });
const test = await dl.openBoxDatastore(data, { split: 'test', classes: train.classes });
const size = (opts.get('size')?.at(-1)?.split(',').map(Number) as [number, number] | undefined) ?? dl.suggestDetectorInputSize(train);
const budget = minutes * 60;

const log = (m: string) => process.stderr.write(`  dlkit ${m}\n`);
// One epoch to measure the pace (decoding fills the pixel cache here, as in the run proper's first epoch).
dl.manualSeed(seed);
const probe = dl.Detector.create({ classes: train.classes, inputSize: size, width });
const t0 = performance.now();
await dl.trainDetector(train, probe, { maxEpochs: 1, seed, verbose: false });
const epochSeconds = (performance.now() - t0) / 1000;
probe.dispose();
// Later epochs ran about 3% slower than the first (augmentation; the first decodes but its cache
// then serves): a 5% margin, and a hard stop at the deadline like the peer's.
const epochs = Math.max(1, Math.floor((budget - epochSeconds) / (epochSeconds * 1.05)));
log(`input ${size.join('×')}, ${epochSeconds.toFixed(1)} s for the first epoch: ${epochs} epochs fit the rest of the ${minutes}-minute budget`);

dl.manualSeed(seed);
const detector = dl.Detector.create({ classes: train.classes, inputSize: size, width });
let epochsRun = 0;
const t1 = performance.now();
await dl.trainDetector(train, detector, {
  maxEpochs: epochs, seed, verbose: false,
  onIteration: (info) => {
    epochsRun = info.epoch;
    if (info.iteration % 50 === 0) log(`epoch ${info.epoch}/${epochs} iteration ${info.iteration} loss ${info.loss.toFixed(3)} ${((performance.now() - t0) / 1000).toFixed(0)} s`);
    return (performance.now() - t0) / 1000 < budget;
  },
});
const trainSeconds = (performance.now() - t1) / 1000 + epochSeconds;
const files = test.images.map((i) => i.file);
const t2 = performance.now();
const results = await dl.detect(detector, files, { threshold: 0.01 });
const detectSeconds = (performance.now() - t2) / 1000;
const ev = await dl.evaluateDetector(detector, test);
const save = opts.get('save')?.at(-1);
if (save) await detector.save(save);
detector.dispose();
console.log(JSON.stringify({
  model: `dlkit centernet width ${width}`, inputSize: size, epochs: epochsRun, trainSeconds, classes: train.classes,
  imagesPerSecond: ev.imagesPerSecond, imagesPerSecondWithDecode: files.length / detectSeconds,
  detections: results.map((r) => ({ file: r.file, boxes: [...r.boxes], scores: [...r.scores], labels: [...r.labels] })),
}));
