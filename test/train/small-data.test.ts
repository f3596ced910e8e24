// Training on small data: the batch size and learn rate fitted to the data (and to a user's
// batch), more epochs for few observations, the 'not-learning' warning, NaN loss stopping the run
// with the last good checkpoint kept, and `dlkit train` end to end on a slice of the ants/bees photos.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as dl from '../../src/index.js';
import { noLeaks } from '../helpers.js';
import { HYMENOPTERA, hasHymenoptera } from '../data/image-fixtures.js';
import { syntheticData, tinyCnn, CLASSES } from './synthetic.js';
import { runCli } from '../support/run-cli.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'dlkit-small-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
const quiet = { verbose: false } as const;

test('chooseBatchAndLearnRate: the preset batch halves until an epoch has 8 iterations, the rate scales linearly for SGD', () => {
  const base = { presetBatch: 256, presetLearnRate: 0.4, solver: 'sgdm', peak: true, noun: 'training images' };
  const fitted = dl.chooseBatchAndLearnRate({ ...base, observations: 245 });
  // 245 / 32 = 7 iterations (< 8), 245 / 16 = 15.
  assert.equal(fitted.miniBatchSize, 16);
  assert.equal(fitted.batchFrom, 'fitted');
  assert.equal(fitted.learnRateFrom, 'linear');
  assert.ok(Math.abs(fitted.initialLearnRate - 0.4 * 16 / 256) < 1e-12, `rate ${fitted.initialLearnRate}`);
  assert.equal(fitted.line, 'batch 16 (245 training images), peak learn rate 0.025 = 0.4 × 16/256');
  // The data set of the issue: a user's --batch-size 32 gets the scaled rate.
  const user = dl.chooseBatchAndLearnRate({ ...base, observations: 245, userBatch: 32 });
  assert.deepEqual([user.miniBatchSize, user.batchFrom, user.learnRateFrom], [32, 'user', 'linear']);
  assert.ok(Math.abs(user.initialLearnRate - 0.05) < 1e-12);
  assert.equal(user.line, 'batch 32 (245 training images), peak learn rate 0.05 = 0.4 × 32/256');
  // ... unless they also give the rate.
  const both = dl.chooseBatchAndLearnRate({ ...base, observations: 245, userBatch: 32, userLearnRate: 0.3 });
  assert.deepEqual([both.miniBatchSize, both.initialLearnRate, both.learnRateFrom], [32, 0.3, 'user']);
  assert.equal(both.line, 'batch 32 (245 training images), peak learn rate 0.3 (given)');
  // A large data set keeps the preset's numbers.
  const large = dl.chooseBatchAndLearnRate({ ...base, observations: 60000 });
  assert.deepEqual([large.miniBatchSize, large.initialLearnRate, large.batchFrom, large.learnRateFrom], [256, 0.4, 'preset', 'preset']);
  assert.match(large.line, /^batch 256 \(60000 training images\), peak learn rate 0\.4 \(the preset's\)$/);
  // Never below 16, unless the data are fewer: then one batch of everything.
  assert.equal(dl.chooseBatchAndLearnRate({ ...base, observations: 40 }).miniBatchSize, 16);
  assert.equal(dl.chooseBatchAndLearnRate({ ...base, observations: 10 }).miniBatchSize, 10);
  // 2,000 observations: 256 gives 7 iterations, 128 gives 15.
  assert.equal(dl.chooseBatchAndLearnRate({ ...base, observations: 2000 }).miniBatchSize, 128);
});

test('chooseBatchAndLearnRate: adaptive solvers scale by the square root; bad numbers name the option', () => {
  const adam = dl.chooseBatchAndLearnRate({ observations: 245, presetBatch: 256, presetLearnRate: 0.004, solver: 'adam', userBatch: 64 });
  assert.equal(adam.learnRateFrom, 'square-root');
  assert.ok(Math.abs(adam.initialLearnRate - 0.004 * Math.sqrt(64 / 256)) < 1e-12, `rate ${adam.initialLearnRate}`);
  assert.equal(adam.line, 'batch 64 (245 training observations), learn rate 0.002 = 0.004 × √(64/256)');
  assert.equal(dl.learnRateScaling('rmsprop'), 'square-root');
  assert.equal(dl.scaleLearnRate(0.1, 128, 32, 'linear'), 0.025);
  assert.throws(() => dl.chooseBatchAndLearnRate({ observations: 0, presetBatch: 256, presetLearnRate: 0.4, solver: 'sgdm' }), /'observations' must be a whole number >= 1, got 0/);
  assert.throws(() => dl.chooseBatchAndLearnRate({ observations: 10, presetBatch: 256, presetLearnRate: 0.4, solver: 'sgdm', userBatch: 2.5 }), /'userBatch' must be a whole number >= 1, got 2.5/);
  assert.throws(() => dl.chooseBatchAndLearnRate({ observations: 10, presetBatch: 256, presetLearnRate: -1, solver: 'sgdm' }), /'presetLearnRate' must be a number > 0, got -1/);
});

test('fitPresetToData: small data gets more epochs; Fashion-MNIST keeps the default preset as it is; the quick preset keeps its 1 epoch', () => {
  const recipe = dl.preset('default');
  const fashion = dl.fitPresetToData(recipe, 60000);
  assert.deepEqual(fashion.options, recipe.options, 'Fashion-MNIST (60,000 images) runs the preset unchanged');
  assert.equal(fashion.lines.length, 1);
  const ants = dl.fitPresetToData(recipe, 245, {}, { noun: 'training images' });
  assert.equal(ants.options.miniBatchSize, 16);
  // Enough epochs to see 7,500 images: 15 iterations of 16 = 240 an epoch.
  assert.equal(ants.options.maxEpochs, Math.ceil(recipe.minObservationsSeen! / 240));
  assert.match(ants.lines[1]!, new RegExp(`^${ants.options.maxEpochs} epochs \\(the preset's 6 are too few passes over 245 training images\\)$`));
  const given = dl.fitPresetToData(recipe, 245, { maxEpochs: 3, miniBatchSize: 32 });
  assert.deepEqual([given.options.maxEpochs, given.options.miniBatchSize, given.options.initialLearnRate], [3, 32, 0.05]);
  const quick = dl.fitPresetToData(dl.preset('quick'), 3000);
  assert.equal(quick.options.maxEpochs, 1);
  // Another solver than the preset's starts from that solver's default rate, not the preset's SGD rate.
  const adam = dl.fitPresetToData(recipe, 245, { solver: 'adam' });
  assert.ok(Math.abs(adam.options.initialLearnRate! - 0.001 * Math.sqrt(16 / 256)) < 1e-12);
  assert.match(adam.lines[0]!, /learn rate 0\.00025 = 0\.001 × √\(16\/256\)/);
});

test("the default preset: photoCnn with a global average pool from 48x48, flips for photos and small sets, Fashion-MNIST's net unchanged", () => {
  const recipe = dl.preset('default');
  const classes = ['ants', 'bees'];
  const photo = recipe.network([3, 64, 64], classes);
  const fashion = recipe.network([1, 28, 28], [...CLASSES]);
  try {
    const types = photo.layers.map((l) => l.type);
    assert.equal(types.filter((t) => t === 'maxPool2d').length, 4, '64 -> 4 in four poolings');
    assert.ok(types.includes('globalAvgPool2d'));
    assert.equal(types.filter((t) => t === 'fullyConnected').length, 1);
    const parameters = Object.values(photo.stateDict()).reduce((a, t) => a + t.size, 0);
    assert.ok(parameters < 500_000, `photo net has ${parameters} parameters`);
    assert.ok(!fashion.layers.some((l) => l.type === 'globalAvgPool2d'), "28x28 keeps smallCnn");
  } finally {
    photo.dispose();
    fashion.dispose();
  }
  assert.deepEqual(recipe.augment!([64, 64], 245), { reflectX: true });
  assert.deepEqual(recipe.augment!([64, 64], 100000), { reflectX: true }, 'photos are flipped at any data size');
  assert.deepEqual(recipe.augment!([28, 28], 1000), { reflectX: true }, 'a small 28x28 set is flipped');
  assert.equal(recipe.augment!([28, 28], 60000), undefined, 'Fashion-MNIST is not');
  assert.doesNotThrow(() => dl.resolveAugmenter(recipe.augment!([64, 64], 245)!, 64, 64, 3));
});

test('notLearning: a loss at ln(classes) with chance accuracy is flagged; a falling loss or better accuracy is not', () => {
  const r = (loss: number, accuracy: number) => ({ loss, accuracy });
  const stuck = dl.notLearning([r(0.70, 0.5), r(0.69, 0.47), r(0.69, 0.55)], 2);
  assert.ok(stuck);
  assert.ok(Math.abs(stuck.chance - Math.log(2)) < 1e-12);
  assert.ok(Math.abs(stuck.loss - 2.08 / 3) < 1e-12);
  assert.equal(dl.notLearning([r(0.5, 0.8)], 2), null, 'loss below ln 2');
  assert.equal(dl.notLearning([r(0.704, 0.66)], 2), null, 'loss at ln 2 but accuracy well above chance (a healthy run in warmup)');
  assert.ok(dl.notLearning([r(9.1, 0.5)], 2), 'a loss far above a uniform guess is flagged too');
  assert.equal(dl.notLearning([r(0.7, 0.5)], 1), null, 'one class: nothing to learn');
  assert.equal(dl.notLearning([], 2), null);
});

/** Synthetic images all alike (every pixel 128) with balanced labels: nothing to learn from the inputs. */
function uninformative(n: number): dl.TensorDatastore {
  const x = dl.full([n, 1, 8, 8], 128);
  const y = dl.tensor(BigInt64Array.from({ length: n }, (_, i) => BigInt(i % 4)));
  return dl.tensorDatastore(x, y, { classes: [...CLASSES], own: true, source: `uninformative(${n})` });
}

test("trainNetwork warns 'not-learning' once on a run that cannot learn, through onWarning and the result; a learning run has no warning", () => noLeaks(async () => {
  const data = uninformative(256); // 16 iterations of 16 an epoch: one epoch is enough to judge
  const good = syntheticData(256, 1);
  try {
    dl.manualSeed(0);
    const network = tinyCnn();
    const seen: dl.TrainingWarning[] = [];
    const r = await dl.trainNetwork(data, network, { solver: 'sgdm', initialLearnRate: 0.05, maxEpochs: 4, miniBatchSize: 16, seed: 0, onWarning: (w) => seen.push(w), ...quiet });
    network.dispose();
    assert.equal(r.warnings.length, 1, `one warning for the run, got ${JSON.stringify(r.warnings)}`);
    assert.deepEqual(seen, r.warnings, 'onWarning sees what the result lists');
    const w = r.warnings[0]!;
    assert.equal(w.kind, 'not-learning');
    assert.equal(w.epoch, 2, 'the first epoch is not judged; the second is');
    assert.equal(w.iteration, 32);
    assert.match(w.message, /^epoch 2: the training loss averaged [\d.]+, no better than a uniform guess over 4 classes \(ln 4 = 1\.3863\), at [\d.]+% training accuracy \(chance: 25\.0%\): the network is not learning\. Lower initialLearnRate \(now initial 0\.0500, for miniBatchSize 16;/);
    assert.match(w.message, /check that the labels match the inputs/);

    dl.manualSeed(0);
    const learner = tinyCnn();
    const ok = await dl.trainNetwork(good, learner, { solver: 'sgdm', initialLearnRate: 0.05, maxEpochs: 4, miniBatchSize: 16, seed: 0, ...quiet });
    learner.dispose();
    assert.deepEqual(ok.warnings, []);
    assert.ok(ok.history.training.at(-1)!.loss < 0.8 * Math.log(4), 'and it did learn');
  } finally {
    data.dispose();
    good.dispose();
  }
}));

test('the warning prints through the progress output when verbose', () => noLeaks(async () => {
  const data = uninformative(256);
  const lines: string[] = [];
  const write = process.stdout.write;
  // Only the trainer's lines are kept back: the test runner's own report passes through.
  process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    if (/^(warning: |\|)/.test(String(chunk))) { lines.push(String(chunk)); return true; }
    return (write as (...a: unknown[]) => boolean).call(process.stdout, chunk, ...rest);
  }) as typeof process.stdout.write;
  try {
    dl.manualSeed(0);
    const network = tinyCnn();
    await dl.trainNetwork(data, network, { solver: 'sgdm', initialLearnRate: 0.05, maxEpochs: 2, miniBatchSize: 16, seed: 0, verbose: true });
    network.dispose();
  } finally {
    process.stdout.write = write;
    data.dispose();
  }
  assert.ok(lines.some((l) => /^warning: epoch 2: the training loss averaged .* the network is not learning/m.test(l)), `no warning line in:\n${lines.join('')}`);
}));

test('on tiny epochs the check waits for enough observations: 64 a epoch, so epochs 2-5 are judged together', () => noLeaks(async () => {
  const data = uninformative(64);
  try {
    for (const maxEpochs of [4, 5]) {
      dl.manualSeed(0);
      const network = tinyCnn();
      const r = await dl.trainNetwork(data, network, { solver: 'sgdm', initialLearnRate: 0.05, maxEpochs, miniBatchSize: 16, seed: 0, ...quiet });
      network.dispose();
      if (maxEpochs === 4) assert.deepEqual(r.warnings, [], '4 epochs of 64: epochs 2-4 hold 192 < 200 observations');
      else {
        assert.equal(r.warnings.length, 1);
        assert.equal(r.warnings[0]!.epoch, 5);
        assert.match(r.warnings[0]!.message, /^epochs 2-5: the training loss averaged/);
      }
    }
  } finally {
    data.dispose();
  }
}));

/** A datastore that turns into NaN from epoch `from` on (0-based): the loss becomes NaN there. */
function poisonedFrom(inner: dl.Datastore, from: number): dl.Datastore {
  return Object.assign(Object.create(inner) as dl.Datastore, {
    async *batches(options: dl.BatchOptions) {
      for await (const b of inner.batches(options)) {
        if ((options.epoch ?? 0) < from) { yield b; continue; }
        const x = dl.full(b.x.shape, NaN);
        b.x.dispose();
        yield { x, y: b.y };
      }
    },
  });
}

test('a NaN loss stops the run with TrainingDivergedError, naming the iteration, the rate and the last good checkpoint, which stays on disk', () => noLeaks(async () => {
  const good = syntheticData(64, 1);
  const data = poisonedFrom(good, 1);
  const dir = path.join(tmp, 'nan-checkpoints');
  dl.manualSeed(0);
  const network = tinyCnn();
  try {
    await assert.rejects(
      dl.trainNetwork(data, network, { solver: 'sgdm', initialLearnRate: 0.05, maxEpochs: 3, miniBatchSize: 16, seed: 0, checkpointPath: dir, ...quiet }),
      (err: unknown) => {
        assert.ok(err instanceof dl.TrainingDivergedError, String(err));
        assert.ok(Number.isNaN(err.loss));
        assert.equal(err.epoch, 2);
        assert.equal(err.iteration, 5, '4 good iterations in epoch 1, then NaN');
        assert.equal(err.history.stoppedBy, 'diverged');
        assert.equal(err.history.training.length, 4);
        assert.ok(err.checkpoint && existsSync(err.checkpoint), `checkpoint ${err.checkpoint}`);
        assert.match(err.message, /^trainNetwork: the loss became NaN at iteration 5 \(epoch 2\): training stopped/);
        assert.match(err.message, /Lower initialLearnRate \(the rate was 0\.0500 at that iteration, miniBatchSize 16\)/);
        assert.ok(err.message.includes(`the last good checkpoint, ${err.checkpoint}, is kept`), err.message);
        return true;
      });
    assert.deepEqual(readdirSync(dir), [path.basename(checkpointOf(dir))], 'no checkpoint was written with NaN weights');
  } finally {
    network.dispose();
    good.dispose();
  }
}));

const checkpointOf = (dir: string): string => path.join(dir, readdirSync(dir)[0]!);

test('a NaN loss without checkpointPath says that no checkpoint was kept', () => noLeaks(async () => {
  const good = syntheticData(32, 1);
  dl.manualSeed(0);
  const network = tinyCnn();
  try {
    await assert.rejects(dl.trainNetwork(poisonedFrom(good, 0), network, { maxEpochs: 1, miniBatchSize: 16, ...quiet }),
      /at iteration 1 \(epoch 1\).*no checkpoint was written \(set checkpointPath to keep one per epoch\)/s);
  } finally {
    network.dispose();
    good.dispose();
  }
}));

// ---- dlkit train on a slice of the real photos -----------------------------------------------


/** A train/val folder of links to the first `n` photos of each class of each split. */
function slice(dest: string, n: { train: number; val: number }): void {
  for (const split of ['train', 'val'] as const) {
    for (const cls of ['ants', 'bees']) {
      const from = path.join(HYMENOPTERA, split, cls);
      const to = path.join(dest, split, cls);
      mkdirSync(to, { recursive: true });
      for (const f of readdirSync(from).sort().slice(0, n[split])) symlinkSync(path.join(from, f), path.join(to, f));
    }
  }
}

const run = (args: string[], timeout = 120_000) => runCli(args, { cwd: tmp, timeout });

test('dlkit train on 60 ant and bee photos: a fitted batch and rate, said in one line, and a network that learns them', { skip: hasHymenoptera ? false : `real photos not found at ${HYMENOPTERA}: skipped` }, async () => {
  const data = path.join(tmp, 'hymenoptera-slice');
  slice(data, { train: 30, val: 20 });
  const out = path.join(tmp, 'slice-model', 'model.safetensors');
  const r = await run(['train', data, '--input-size', '48,48', '--epochs', '25', '--seed', '0', '--quiet', '--out', out]);
  const show = `exit ${r.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;
  assert.equal(r.code, 0, show);
  const line = /^batch (\d+) \(60 training images\), peak learn rate ([\d.]+) = 0\.4 × (\d+)\/256$/m.exec(r.stdout);
  assert.ok(line, `no batch line\n${show}`);
  const batch = Number(line[1]);
  assert.equal(Number(line[3]), batch);
  assert.equal(batch, 16, '60 photos: 256 halves down to the floor of 16');
  assert.ok(Math.abs(Number(line[2]) - 0.4 * batch / 256) < 1e-9, `rate ${line[2]}`);
  assert.match(r.stdout, /^augmentation \(preset\): reflectX$/m);
  assert.match(r.stdout, /^trained 75 iterations in [\d.]+ s \(max-epochs\)$/m, '25 epochs of 3 batches');
  assert.doesNotMatch(r.stderr, /not learning/, show);
  // It learned: the photos it trained on are told apart far better than chance.
  const e = await run(['evaluate', out, path.join(data, 'train')]);
  const acc = /^accuracy: ([\d.]+)/m.exec(e.stdout);
  assert.ok(acc, `no accuracy in evaluate's output\n${e.stdout}\n${e.stderr}`);
  assert.ok(Number(acc[1]) >= 0.8, `training-set accuracy ${acc[1]} should be >= 0.8 (chance 0.5)`);
});
