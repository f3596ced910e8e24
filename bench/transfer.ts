// `npm run bench -- transfer`: transfer learning on the ants/bees photos (../shared/data/hymenoptera,
// 245 training and 153 val images) at 64×64, starting from the real CIFAR-10 ResNet-20 weights of
// ../shared/data/pretrained: (a) fine-tuning (dlkit's transferLearn recipe), (b) an RBF SVM on
// the pretrained global-pool features, (c) the same architecture trained from scratch; with 50
// images per class and with all of them; and (a) and (c) with PyTorch on the same weights and
// recipe (bench/transfer.py), same run. Val accuracy and wall time; medians over --seeds.
// Options: --seeds 0,1 --epochs 30 --size 64 --threads 2.
// Last line: `transfer: n=50 finetune <acc> svm <acc> scratch <acc>; n=all finetune <acc> svm <acc>
// scratch <acc>; pytorch n=all finetune <acc> scratch <acc>`.
import path from 'node:path';
import { existsSync } from 'node:fs';
import { PYTHON, SHARED_DATA, distBench, pyBench, fmt, intOption, median, parseOptions, progress, runJson, table, untunedEnv } from './common.js';

interface Run { accuracy: number; seconds: number }

export async function run(argv: string[]): Promise<void> {
  const { opts } = parseOptions(argv);
  const seeds = (opts.get('seeds')?.at(-1) ?? '0,1').split(',').map(Number);
  const epochs = intOption(opts, 'epochs', 30);
  const size = intOption(opts, 'size', 64);
  const threads = intOption(opts, 'threads', 2);
  const photos = path.join(SHARED_DATA, 'hymenoptera');
  const weights = path.join(SHARED_DATA, 'pretrained', 'resnet-cifar10', 'resnet20-12fca82f.th');
  for (const p of [photos, weights]) if (!existsSync(p)) throw new Error(`${p} not found: the benchmark needs shared/data (set DLKIT_SHARED_DATA)`);
  const common = ['--epochs', String(epochs), '--size', String(size), '--threads', String(threads)];
  const results = new Map<string, Run[]>();
  const add = (key: string, r: Run) => results.set(key, [...(results.get(key) ?? []), r]);
  for (const seed of seeds) {
    for (const n of ['50', 'all']) {
      for (const mode of ['finetune', 'svm', 'scratch']) {
        progress(`dlkit ${mode} n=${n} seed ${seed}`);
        add(`dlkit ${mode} ${n}`, await runJson<Run>(process.execPath, [path.join(distBench, 'transfer-dlkit.js'), '--mode', mode, '--n', n, '--seed', String(seed), ...common], process.env));
      }
    }
    for (const mode of ['finetune', 'scratch']) {
      progress(`pytorch ${mode} n=all seed ${seed}`);
      add(`pytorch ${mode} all`, await runJson<Run>(PYTHON, [path.join(pyBench, 'transfer.py'), '--data', photos, '--weights', weights, '--mode', mode, '--seed', String(seed), ...common], untunedEnv()));
    }
  }
  const acc = (key: string) => median(results.get(key)!.map((r) => r.accuracy));
  const secs = (key: string) => median(results.get(key)!.map((r) => r.seconds));
  const rows = [['peer', 'method', 'images/class', 'val accuracy %', 'seconds', 'per seed']];
  for (const key of results.keys()) {
    const [peer, mode, n] = key.split(' ');
    rows.push([peer!, mode!, n === 'all' ? 'all (~120)' : n!, fmt(100 * acc(key), 1), fmt(secs(key), 1), results.get(key)!.map((r) => fmt(100 * r.accuracy, 1)).join(' ')]);
  }
  console.log(table(rows));
  console.log(`${size}×${size}, ${epochs} epochs, seeds ${seeds.join(',')}, ${threads} threads; medians. dlkit times include decoding the JPEGs; PyTorch's start after loading them.`);
  const a = (key: string) => fmt(100 * acc(key), 1);
  console.log(`transfer: n=50 finetune ${a('dlkit finetune 50')} svm ${a('dlkit svm 50')} scratch ${a('dlkit scratch 50')}; n=all finetune ${a('dlkit finetune all')} svm ${a('dlkit svm all')} scratch ${a('dlkit scratch all')}; pytorch n=all finetune ${a('pytorch finetune all')} scratch ${a('pytorch scratch all')}`);
}
