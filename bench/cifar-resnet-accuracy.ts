// The published CIFAR-10 ResNets (../shared/data/pretrained/resnet-cifar10) through dlkit: the
// top-1 accuracy on all 10,000 CIFAR-10 test JPEGs (../shared/data/cifar10/test), decoded by the
// image datastore. Not part of `npm run bench`; run once after a build:
//   node dist/bench/cifar-resnet-accuracy.js
// The published errors (8.27%, 7.37%) are on the original binary test set; these JPEGs are
// recompressed, so PyTorch itself scores lower on them (compare /usr/bin/python3 with the
// architecture of scripts/make-cifar-resnet-fixtures.py).
import path from 'node:path';
import * as dl from '../src/index.js';
import { root, SHARED_DATA } from './common.js';

const SHARED = SHARED_DATA;
const files: [string, 20 | 32][] = [['resnet20-12fca82f.th', 20], ['resnet32-d509ac18.th', 32]];

const ds = await dl.imageDatastore(path.join(SHARED, 'cifar10', 'test'), { size: [32, 32] });
const truth = ds.labels()!;
for (const [file, depth] of files) {
  const net = dl.cifarResNet({ depth });
  const sd = await dl.loadStateDict(path.join(SHARED, 'pretrained', 'resnet-cifar10', file));
  net.loadStateDict(sd, { stripPrefix: 'module.', source: file });
  Object.values(sd).forEach((t) => t.dispose());
  const start = performance.now();
  const { indices, scores } = await dl.classify(net, ds, { miniBatchSize: 250 });
  scores.dispose();
  const correct = indices.reduce((a, p, i) => a + (p === truth[i] ? 1 : 0), 0);
  const acc = correct / indices.length;
  console.log(`${file}: ${correct}/${indices.length} correct, accuracy ${(100 * acc).toFixed(2)}%, error ${(100 * (1 - acc)).toFixed(2)}% (${((performance.now() - start) / 1000).toFixed(1)} s)`);
  net.dispose();
}
