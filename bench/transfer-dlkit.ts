// One run of the transfer benchmark's dlkit side (bench/transfer.ts starts it):
//   node dist/bench/transfer-dlkit.js --mode finetune|scratch|svm --n 50|all --seed S --epochs E --size 64 [--lr X --head-factor F]
// The ants/bees photos (../shared/data/hymenoptera) at size×size; the CIFAR-10 ResNet-20 of
// ../shared/data/pretrained for finetune and svm; the val split for accuracy. Prints one JSON line.
import path from 'node:path';
import * as dl from '../src/index.js';
import { SHARED_DATA, parseOptions, intOption } from './common.js';

const { opts } = parseOptions(process.argv.slice(2));
const mode = opts.get('mode')?.at(-1) ?? 'finetune';
const n = opts.get('n')?.at(-1) ?? 'all';
const seed = Number(opts.get('seed')?.at(-1) ?? 0);
const epochs = intOption(opts, 'epochs', 30);
const size = intOption(opts, 'size', 64);
const threads = intOption(opts, 'threads', 2);
// Recipe variations for experiments (the benchmark itself runs transferLearn's defaults).
const lr = opts.get('lr') ? Number(opts.get('lr')!.at(-1)) : undefined;
const headFactor = opts.get('head-factor') ? Number(opts.get('head-factor')!.at(-1)) : undefined;
dl.setNumThreads(threads);

const photos = path.join(SHARED_DATA, 'hymenoptera');
const weights = path.join(SHARED_DATA, 'pretrained', 'resnet-cifar10', 'resnet20-12fca82f.th');

let train = await dl.openDatastore(photos, 'train', { inputSize: [size, size] }) as dl.ImageDatastore;
const val = await dl.openDatastore(photos, 'test', { inputSize: [size, size], classes: train.classes! });
if (n !== 'all') train = train.splitEachLabel(Number(n), { randomize: true, seed })[0];
dl.manualSeed(seed);

const network = dl.cifarResNet({ depth: 20 });
if (mode !== 'scratch') network.loadStateDict(await dl.loadStateDict(weights), { stripPrefix: 'module.' });
const started = performance.now();
let accuracy: number;
if (mode === 'svm') {
  // The pretrained features of the global pool, an RBF SVM on them (no training of the network).
  dl.setInputSize(network, [size, size]);
  const feats = await dl.activations(network, train, 'avgpool', { outputAs: 'rows' });
  const svm = dl.fitSVM(feats.features, feats.labels!, { classes: feats.classes! });
  const classifier = dl.featureClassifier(network, 'avgpool', svm);
  accuracy = (await dl.evaluate(classifier, val)).accuracy;
  dl.dispose([feats.features]);
  svm.dispose();
  classifier.dispose();
} else {
  const flips = dl.augmentedImageDatastore([size, size], train, { reflectX: true });
  // From scratch, the same recipe but the rate a randomly initialized ResNet takes.
  const training: dl.TrainingOptionsInput = { maxEpochs: epochs, verbose: false, seed, ...(mode === 'scratch' && { initialLearnRate: 0.05 }), ...(lr && { initialLearnRate: lr }) };
  await dl.transferLearn(network, flips, { training, ...(headFactor && { headLearnRateFactor: headFactor }) });
  accuracy = (await dl.evaluate(network, val)).accuracy;
}
const seconds = (performance.now() - started) / 1000;
network.dispose();
console.log(JSON.stringify({ mode, n, seed, accuracy, seconds, train: train.size, val: val.size }));
