// trainNetwork end to end on small synthetic data (8x8 images, 4 classes, see synthetic.ts):
// learning, early stopping, checkpoint/resume equivalence, schedules, gradient clipping, frozen
// layers, data/network mismatch errors, input normalization statistics, leaks, and the
// training-progress chart (saved files and the live page over HTTP).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import * as dl from '../../src/index.js';
import { noLeaks } from '../helpers.js';
import { syntheticArrays, syntheticData, tinyCnn, weights, maxDifference } from './synthetic.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'dlkit-train-'));
const train = syntheticData(256, 1); // 256 observations: 8 iterations per epoch at batch 32
const validation = syntheticData(64, 2);
const heldOut = syntheticData(256, 3);
after(() => {
  train.dispose();
  validation.dispose();
  heldOut.dispose();
  rmSync(tmp, { recursive: true, force: true });
});

const quiet = { verbose: false } as const;
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

test('a small CNN learns: held-out accuracy far above chance (25%)', async () => {
  dl.manualSeed(1);
  const network = tinyCnn();
  try {
    const { history } = await dl.trainNetwork(train, network, { solver: 'sgdm', initialLearnRate: 0.05, maxEpochs: 6, miniBatchSize: 32, seed: 1, ...quiet });
    assert.equal(history.stoppedBy, 'max-epochs');
    assert.equal(history.training.length, 6 * 8);
    const first = history.training.slice(0, 4).reduce((s, r) => s + r.loss, 0) / 4;
    const last = history.training.slice(-4).reduce((s, r) => s + r.loss, 0) / 4;
    assert.ok(last < first / 2, `mini-batch loss should at least halve: first ${first.toFixed(3)}, last ${last.toFixed(3)}`);
    const e = await dl.evaluate(network, heldOut);
    // Chance is 0.25; the blob's quadrant is easy to see, so demand a margin of 0.6 over chance.
    assert.ok(e.accuracy > 0.85, `held-out accuracy ${e.accuracy.toFixed(3)} should exceed 0.85 (chance 0.25)`);
    assert.deepEqual(network.classes, [...train.classes!], 'training names the classes from the data');
  } finally {
    network.dispose();
  }
});

test("precision 'bfloat16-mixed' learns as well, keeps the weights float32, and differs from a float32 run only by rounding", async () => {
  const runs: Record<string, dl.Network> = {};
  try {
    for (const precision of ['float32', 'bfloat16-mixed'] as const) {
      dl.manualSeed(1);
      runs[precision] = tinyCnn();
      await dl.trainNetwork(train, runs[precision], { solver: 'sgdm', initialLearnRate: 0.05, maxEpochs: 6, miniBatchSize: 32, seed: 1, precision, ...quiet });
    }
    const mixed = runs['bfloat16-mixed']!;
    const e = await dl.evaluate(mixed, heldOut);
    assert.ok(e.accuracy > 0.85, `held-out accuracy ${e.accuracy.toFixed(3)} should exceed 0.85 (chance 0.25)`);
    for (const [name, w] of Object.entries(mixed.stateDict())) {
      if (!name.endsWith('num_batches_tracked')) assert.equal(w.dtype, 'float32', `${name} stays float32`);
    }
    // bfloat16 keeps 8 bits of mantissa: the runs part, but not by much (same seed, same batches).
    const d = maxDifference(weights(runs.float32!), weights(mixed)).diff;
    assert.ok(d > 0, 'the mixed-precision run computed in bfloat16 (its weights differ from the float32 run)');
    assert.ok(d < 0.5, `weights differ by ${d}; expected only rounding-level drift`);
  } finally {
    for (const n of Object.values(runs)) n.dispose();
  }
});

test('early stop: validation loss that never improves stops training after patience + 1 validations', async () => {
  dl.manualSeed(2);
  const network = tinyCnn();
  const patience = 2;
  const seen: number[] = [];
  try {
    // A learn rate of 1e-12 cannot move float32 weights of ordinary size, so the validation
    // loss stays where it was: the first validation sets the best, none after it improves.
    const { history } = await dl.trainNetwork(train, network, {
      initialLearnRate: 1e-12, maxEpochs: 10, miniBatchSize: 32, validationData: validation, validationFrequency: 4,
      validationPatience: patience, seed: 2, ...quiet,
      onIteration: (info) => { if (info.validationLoss !== undefined) seen.push(info.iteration); },
    });
    assert.equal(history.stoppedBy, 'validation-patience');
    assert.equal(history.validation.length, patience + 1, 'one validation sets the best, `patience` more without improvement stop it');
    assert.deepEqual(history.validation.map((v) => v.iteration), [4, 8, 12]);
    assert.deepEqual(seen, [4, 8, 12], 'onIteration sees the validation results');
    assert.equal(history.training.length, 12, 'training stops right after the validation that exhausts the patience');
    assert.equal(history.training.at(-1)!.epoch, 2);
    const losses = history.validation.map((v) => v.loss);
    assert.ok(losses.every((l) => l >= losses[0]!), `validation losses ${losses.join(', ')} never strictly improve on the first`);
  } finally {
    network.dispose();
  }
});

test('early stop is not triggered while validation keeps improving; validation also runs at every epoch end', async () => {
  dl.manualSeed(3);
  const network = tinyCnn();
  try {
    const { history } = await dl.trainNetwork(train, network, {
      initialLearnRate: 0.05, maxEpochs: 3, miniBatchSize: 32, validationData: validation, validationFrequency: 50, validationPatience: 5, seed: 3, ...quiet,
    });
    assert.equal(history.stoppedBy, 'max-epochs');
    assert.deepEqual(history.validation.map((v) => [v.epoch, v.iteration]), [[1, 8], [2, 16], [3, 24]]);
    assert.ok(history.validation[2]!.loss < history.validation[0]!.loss, 'validation loss went down');
  } finally {
    network.dispose();
  }
});

// ---- checkpoint / resume ------------------------------------------------------------------
// The runs below use batch norm (running statistics are buffers in the checkpoint), z-score
// input normalization (statistics computed by the first run only), SGD with momentum (optimizer
// state), a one-cycle schedule (continues from the iteration count) and a new shuffle every
// epoch (the order is a function of the seed and the epoch). No dropout, so nothing draws from
// libtorch's generator during training.
//
// Tolerance: 1e-6 absolute on every weight and buffer. Resuming replays the same float32
// operations in the same order on the same machine, so the results are expected to be identical
// (they are, bit for bit, here); the tolerance only leaves room for libtorch's CPU kernels to
// reorder a reduction between runs.
const RESUME_TOLERANCE = 1e-6;
const resumeOptions = { solver: 'sgdm', initialLearnRate: 0.05, momentum: 0.9, maxEpochs: 2, miniBatchSize: 32, learnRateSchedule: 'one-cycle', shuffle: 'every-epoch', seed: 11, ...quiet } as const;
const resumeNet = (seed = 11) => { dl.manualSeed(seed); return tinyCnn({ batchNorm: true, normalization: 'zscore' }); };

/** Trains 2 epochs in one go (checkpointing every epoch): weights A, its history, and its checkpoint files. */
const straightRun = (async () => {
  const dir = path.join(tmp, 'straight');
  const network = resumeNet();
  try {
    const { history, checkpoint } = await dl.trainNetwork(train, network, { ...resumeOptions, checkpointPath: dir });
    return { weights: weights(network), history, checkpoint, files: readdirSync(dir).sort(), dir };
  } finally {
    network.dispose();
  }
});
let straight: Awaited<ReturnType<typeof straightRun>> | undefined;
const getStraight = async () => (straight ??= await straightRun());

/** Stops the same run after global iteration `stopAt` (through onIteration), then resumes it in a fresh network. */
async function stopAndResume(stopAt: number, name: string) {
  const dir = path.join(tmp, name);
  const first = resumeNet();
  let stopped: dl.TrainingResult;
  try {
    stopped = await dl.trainNetwork(train, first, { ...resumeOptions, checkpointPath: dir, onIteration: (i) => (i.iteration === stopAt ? false : undefined) });
  } finally {
    first.dispose();
  }
  assert.equal(stopped.history.stoppedBy, 'callback');
  assert.equal(stopped.history.training.length, stopAt);
  assert.ok(stopped.checkpoint, 'a run stopped by the callback writes a checkpoint');
  // A different seed: the resumed network's initial weights differ, the checkpoint must overwrite them all.
  const second = resumeNet(999);
  try {
    const resumed = await dl.trainNetwork(train, second, { ...resumeOptions, resume: stopped.checkpoint! });
    return { weights: weights(second), history: resumed.history, checkpoint: stopped.checkpoint!, files: readdirSync(dir).sort() };
  } finally {
    second.dispose();
  }
}

test('checkpoint/resume: 2 epochs straight = 1 epoch, stop, resume for the 2nd (same weights)', async () => {
  const a = await getStraight();
  assert.equal(a.history.training.length, 16);
  assert.deepEqual(a.files, ['checkpoint-epoch1-iter8.safetensors', 'checkpoint-epoch2-iter16.safetensors']);
  assert.equal(a.checkpoint, path.join(a.dir, 'checkpoint-epoch2-iter16.safetensors'));

  const b = await stopAndResume(8, 'stop-at-epoch-end');
  assert.deepEqual(b.files, ['checkpoint-epoch1-iter8.safetensors']);
  const { diff, at } = maxDifference(a.weights, b.weights);
  assert.ok(diff <= RESUME_TOLERANCE, `weights differ by ${diff} at ${at} (tolerance ${RESUME_TOLERANCE})`);
  // The resumed run continued the same schedule and kept the history of the first part.
  assert.equal(b.history.stoppedBy, 'max-epochs');
  assert.deepEqual(b.history.training.map((r) => [r.epoch, r.iteration, r.learnRate]), a.history.training.map((r) => [r.epoch, r.iteration, r.learnRate]));
  assert.deepEqual(b.history.training.map((r) => r.loss), a.history.training.map((r) => r.loss), 'same losses: same data order and same weights at every step');
});

test('checkpoint/resume: resuming from the end-of-epoch checkpoint of a full run gives the same weights', async () => {
  const a = await getStraight();
  dl.manualSeed(5);
  const network = tinyCnn({ batchNorm: true, normalization: 'zscore' });
  try {
    const { history } = await dl.trainNetwork(train, network, { ...resumeOptions, resume: path.join(a.dir, 'checkpoint-epoch1-iter8.safetensors') });
    assert.equal(history.training.length, 16);
    const { diff, at } = maxDifference(a.weights, weights(network));
    assert.ok(diff <= RESUME_TOLERANCE, `weights differ by ${diff} at ${at} (tolerance ${RESUME_TOLERANCE})`);
  } finally {
    network.dispose();
  }
});

test('checkpoint/resume: a stop in the middle of an epoch resumes at the next batch of the same order', async () => {
  const a = await getStraight();
  const b = await stopAndResume(3, 'stop-mid-epoch');
  assert.deepEqual(b.files, ['checkpoint-epoch1-iter3.safetensors']);
  const { diff, at } = maxDifference(a.weights, b.weights);
  assert.ok(diff <= RESUME_TOLERANCE, `weights differ by ${diff} at ${at} (tolerance ${RESUME_TOLERANCE})`);
  assert.deepEqual(b.history.training.map((r) => r.loss), a.history.training.map((r) => r.loss));
  // And in the second epoch.
  const c = await stopAndResume(13, 'stop-mid-epoch-2');
  const d = maxDifference(a.weights, c.weights);
  assert.ok(d.diff <= RESUME_TOLERANCE, `weights differ by ${d.diff} at ${d.at} (tolerance ${RESUME_TOLERANCE})`);
});

test('resume refuses a checkpoint made with another batch size or for another network, naming the file', async () => {
  const a = await getStraight();
  const file = path.join(a.dir, 'checkpoint-epoch1-iter8.safetensors');
  const network = resumeNet();
  try {
    await assert.rejects(dl.trainNetwork(train, network, { ...resumeOptions, miniBatchSize: 16, resume: file }),
      (err: Error) => err.message.includes(file) && /miniBatchSize 32, not 16/.test(err.message));
  } finally {
    network.dispose();
  }
  const other = tinyCnn({ batchNorm: false, normalization: 'zscore' });
  try {
    await assert.rejects(dl.trainNetwork(train, other, { ...resumeOptions, resume: file }),
      (err: Error) => err.message.includes(file) && /different network/.test(err.message));
  } finally {
    other.dispose();
  }
});

// ---- schedules, clipping, frozen layers -----------------------------------------------------

test('learn-rate schedules show in the history: piecewise drops at the right epochs, one-cycle rises then falls', async () => {
  const network = tinyCnn();
  try {
    const piecewise = await dl.trainNetwork(train, network, {
      initialLearnRate: 0.1, maxEpochs: 5, miniBatchSize: 64, learnRateSchedule: 'piecewise', learnRateDropPeriod: 2, learnRateDropFactor: 0.5, ...quiet,
    });
    // 4 iterations per epoch; epochs 1-2 at 0.1, 3-4 at 0.05, 5 at 0.025.
    const byEpoch = new Map<number, Set<number>>();
    for (const r of piecewise.history.training) (byEpoch.get(r.epoch) ?? byEpoch.set(r.epoch, new Set()).get(r.epoch)!).add(r.learnRate);
    assert.deepEqual([...byEpoch].map(([e, rates]) => [e, [...rates].map((x) => +x.toPrecision(12))]), [[1, [0.1]], [2, [0.1]], [3, [0.05]], [4, [0.05]], [5, [0.025]]]);

    const oneCycle = await dl.trainNetwork(train, network, { initialLearnRate: 0.1, maxEpochs: 3, miniBatchSize: 32, learnRateSchedule: 'one-cycle', ...quiet });
    const rates = oneCycle.history.training.map((r) => r.learnRate);
    assert.equal(rates.length, 24);
    const peak = rates.indexOf(Math.max(...rates));
    assert.ok(peak > 0 && peak < rates.length - 1, `the peak (at ${peak}) is inside the run`);
    assert.ok(Math.abs(rates[peak]! - 0.1) < 0.01, `the peak ${rates[peak]} is near initialLearnRate 0.1`);
    for (let i = 1; i <= peak; i++) assert.ok(rates[i]! > rates[i - 1]!, `rises before the peak (iteration ${i + 1})`);
    for (let i = peak + 1; i < rates.length; i++) assert.ok(rates[i]! < rates[i - 1]!, `falls after the peak (iteration ${i + 1})`);
    assert.ok(rates[0]! < 0.1 / 10 && rates.at(-1)! < rates[0]!, `starts low (${rates[0]}) and ends lower (${rates.at(-1)})`);

    const warm = await dl.trainNetwork(train, network, { initialLearnRate: 0.1, maxEpochs: 2, miniBatchSize: 32, warmupEpochs: 1, ...quiet });
    const w = warm.history.training.map((r) => +r.learnRate.toPrecision(12));
    assert.deepEqual(w, [0.0125, 0.025, 0.0375, 0.05, 0.0625, 0.075, 0.0875, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1], 'linear warm-up over epoch 1');
  } finally {
    network.dispose();
  }
});

test('gradientThreshold clips: with a huge learn rate the first step moves the weights by exactly lr x threshold, and stays finite', async () => {
  const huge = { solver: 'sgdm', initialLearnRate: 1e6, momentum: 0, l2Regularization: 0, maxEpochs: 1, miniBatchSize: 32, seed: 4, ...quiet } as const;
  const threshold = 1e-6;
  dl.manualSeed(4);
  const network = tinyCnn();
  const before = weights(network);
  try {
    await dl.trainNetwork(train, network, { ...huge, gradientThreshold: threshold, onIteration: () => false });
    const afterOne = weights(network);
    let sq = 0;
    for (const k of Object.keys(before)) for (let i = 0; i < before[k]!.length; i++) sq += (afterOne[k]![i]! - before[k]![i]!) ** 2;
    // SGD without momentum or decay: the update is lr x the clipped gradient, whose norm is the threshold.
    const step = Math.sqrt(sq);
    assert.ok(Math.abs(step - 1e6 * threshold) < 1e-3, `update norm ${step} should be lr x threshold = ${1e6 * threshold}`);
    // The whole epoch at that rate stays finite.
    const { history } = await dl.trainNetwork(train, network, { ...huge, gradientThreshold: threshold });
    assert.ok(history.training.every((r) => Number.isFinite(r.loss)), 'every loss finite');
    assert.ok(Object.values(weights(network)).every((a) => a.every(Number.isFinite)), 'every weight finite');
  } finally {
    network.dispose();
  }
  // Without clipping the same run diverges, and the error says what to do.
  dl.manualSeed(4);
  const unclipped = tinyCnn();
  try {
    await assert.rejects(dl.trainNetwork(train, unclipped, { ...huge, initialLearnRate: 1e30 }),
      /^TrainingDivergedError: trainNetwork: the loss became (NaN|Infinity|-Infinity) at iteration \d+ \(epoch 1\): training stopped, .* Lower initialLearnRate \(the rate was 1\.00e\+30 at that iteration, miniBatchSize \d+\), or set gradientThreshold/);
  } finally {
    unclipped.dispose();
  }
});

test('a frozen layer keeps its weights; learnRateFactor scales its updates (0 freezes, 0.5 halves)', async () => {
  const sgd = { solver: 'sgdm', initialLearnRate: 0.1, momentum: 0, l2Regularization: 0, maxEpochs: 1, miniBatchSize: 32, seed: 6, ...quiet } as const;
  const fresh = () => { dl.manualSeed(6); return tinyCnn(); };

  const frozen = fresh();
  const full = fresh();
  const half = fresh();
  const factorZero = fresh();
  try {
    const w0 = weights(frozen);
    frozen.freeze(['conv']);
    assert.match(frozen.summary(), /\(frozen\)/);
    await dl.trainNetwork(train, frozen, sgd);
    const wf = weights(frozen);
    assert.deepEqual(wf['conv.weight'], w0['conv.weight'], 'frozen conv weights unchanged');
    assert.deepEqual(wf['conv.bias'], w0['conv.bias'], 'frozen conv bias unchanged');
    assert.ok(maxDifference(w0, wf).diff > 0 && maxDifference({ w: w0['fc.weight']! }, { w: wf['fc.weight']! }).diff > 0, 'the other layers trained');

    factorZero.setLearnRateFactor(['conv'], 0);
    await dl.trainNetwork(train, factorZero, sgd);
    assert.deepEqual(weights(factorZero)['conv.weight'], w0['conv.weight'], 'learnRateFactor 0 freezes');

    // One step each (the same first batch): factor 0.5 moves conv by half of what factor 1 does.
    half.setLearnRateFactor(['conv'], 0.5);
    await dl.trainNetwork(train, full, { ...sgd, onIteration: () => false });
    await dl.trainNetwork(train, half, { ...sgd, onIteration: () => false });
    const d1 = weights(full)['conv.weight']!.map((v, i) => v - w0['conv.weight']![i]!);
    const dh = weights(half)['conv.weight']!.map((v, i) => v - w0['conv.weight']![i]!);
    assert.ok(d1.some((v) => Math.abs(v) > 1e-4), 'factor 1 moves conv');
    for (let i = 0; i < d1.length; i++) assert.ok(Math.abs(dh[i]! - d1[i]! / 2) <= 1e-6 + 1e-3 * Math.abs(d1[i]!), `conv.weight[${i}]: ${dh[i]} vs half of ${d1[i]}`);
    // fc trained at the full rate in both.
    assert.deepEqual(weights(half)['fc.weight'], weights(full)['fc.weight']);

    // Everything frozen: nothing to train, said so.
    const all = fresh();
    try {
      all.freeze(['conv', 'fc']);
      await assert.rejects(dl.trainNetwork(train, all, sgd), /nothing to train/);
    } finally {
      all.dispose();
    }
  } finally {
    [frozen, full, half, factorZero].forEach((n) => n.dispose());
  }
});

// ---- data checks and normalization ----------------------------------------------------------

test('data/network mismatches are errors naming both shapes or both class counts', async () => {
  const wrongSize = tinyCnn({ inputSize: [1, 10, 10] });
  try {
    await assert.rejects(dl.trainNetwork(train, wrongSize, quiet), (err: Error) => {
      assert.ok(err instanceof RangeError);
      assert.match(err.message, /shape \[1, 8, 8\]/);
      assert.match(err.message, /'input' expects \[1, 10, 10\]/);
      return true;
    });
  } finally {
    wrongSize.dispose();
  }
  const threeClasses = tinyCnn({ classes: 3 });
  try {
    await assert.rejects(dl.trainNetwork(train, threeClasses, quiet), (err: Error) => {
      assert.ok(err instanceof RangeError);
      assert.match(err.message, /the data has 4 classes but the network's output 'fc' gives 3 values per observation/);
      return true;
    });
  } finally {
    threeClasses.dispose();
  }
  const ok = tinyCnn();
  const { pixels, labels } = syntheticArrays(16, 9, { size: 6 });
  const small = dl.tensorDatastore(dl.tensor(pixels, { shape: [16, 1, 6, 6] }), dl.tensor(labels), { own: true, classes: [...train.classes!] });
  try {
    await assert.rejects(dl.trainNetwork(train, ok, { validationData: small, ...quiet }),
      /validationData observations have shape \[1, 6, 6\], the training data's \[1, 8, 8\]/);
  } finally {
    ok.dispose();
    small.dispose();
  }
});

test("'zscore' statistics come from the training data: the input layer's mean and std match a direct computation", async () => {
  const { pixels } = syntheticArrays(256, 1); // the same pixels as `train`
  let sum = 0;
  for (const p of pixels) sum += p;
  const mean = sum / pixels.length;
  let sq = 0;
  for (const p of pixels) sq += (p - mean) ** 2;
  const std = Math.sqrt(sq / pixels.length); // population std, as MATLAB's 'zscore' input normalization

  const network = tinyCnn({ normalization: 'zscore' });
  const zc = tinyCnn({ normalization: 'zerocenter' });
  try {
    assert.equal((network.layer('input') as dl.nn.ImageInput).needsStatistics, true);
    await dl.trainNetwork(train, network, { maxEpochs: 1, miniBatchSize: 64, ...quiet });
    const input = network.layer('input') as dl.nn.ImageInput;
    const m = input.buffers.get('mean')!.dataSync() as Float32Array;
    const s = input.buffers.get('std')!.dataSync() as Float32Array;
    assert.ok(Math.abs(m[0]! - mean) < 1e-3 * mean, `mean ${m[0]} vs ${mean}`);
    assert.ok(Math.abs(s[0]! - std) < 1e-3 * std, `std ${s[0]} vs ${std}`);
    // Also in the layer's config (what a model file saves).
    const cfg = network.config().layers[0]!;
    assert.ok(Math.abs((cfg.mean as number[])[0]! - mean) < 1e-3 * mean);
    assert.ok(Math.abs((cfg.std as number[])[0]! - std) < 1e-3 * std);
    // And directly from channelStatistics.
    const stats = await dl.channelStatistics(train, 100);
    assert.ok(Math.abs(stats.mean[0]! - mean) < 1e-9 * mean && Math.abs(stats.std[0]! - std) < 1e-6 * std);

    await dl.trainNetwork(train, zc, { maxEpochs: 1, miniBatchSize: 64, ...quiet });
    const zm = (zc.layer('input') as dl.nn.ImageInput).buffers.get('mean')!.dataSync() as Float32Array;
    assert.ok(Math.abs(zm[0]! - mean) < 1e-3 * mean, `zerocenter mean ${zm[0]} vs ${mean}`);
    assert.equal((zc.layer('input') as dl.nn.ImageInput).buffers.has('std'), false);
  } finally {
    network.dispose();
    zc.dispose();
  }
});

test("a seeded run on randomly cropped images is reproducible, 'zscore' statistics included (they are drawn from the seed)", async () => {
  // Crops with padding change the per-channel statistics (flips do not): drawn unseeded, they made
  // two runs with the same seed differ from the first step.
  const cropped = dl.augmentedImageDatastore([8, 8], train, { resize: 'random-crop', cropPadding: 2, reflectX: true });
  const run = async () => {
    dl.manualSeed(3);
    const network = tinyCnn({ normalization: 'zscore' });
    await dl.trainNetwork(cropped, network, { maxEpochs: 1, miniBatchSize: 32, seed: 5, ...quiet });
    const w = weights(network);
    network.dispose();
    return w;
  };
  const [a, b] = [await run(), await run()];
  assert.ok(a['input.mean'], Object.keys(a).join());
  assert.deepEqual(a['input.mean'], b['input.mean'], 'the same statistics');
  assert.equal(maxDifference(a, b).diff, 0, 'the same weights');
  // And channelStatistics itself: one seed, one answer; another seed, other crops.
  const s1 = await dl.channelStatistics(cropped, 64, 1);
  assert.deepEqual(await dl.channelStatistics(cropped, 64, 1), s1);
  assert.notDeepEqual(await dl.channelStatistics(cropped, 64, 2), s1);
});

test('no leaks: live tensors return to the start after trainNetwork (validation, best network, checkpoints) and dispose', async () => {
  const gcBefore = dl.memory().freedByGc;
  await noLeaks(async () => {
    dl.manualSeed(8);
    const network = tinyCnn({ batchNorm: true, normalization: 'zscore' });
    const { history } = await dl.trainNetwork(train, network, {
      solver: 'adam', initialLearnRate: 0.01, maxEpochs: 2, miniBatchSize: 32, validationData: validation, validationFrequency: 3,
      outputNetwork: 'best-validation-loss', checkpointPath: path.join(tmp, 'leak'), labelSmoothing: 0.1, ...quiet,
    });
    assert.ok(history.validation.length >= 4);
    const p = await dl.predict(network, heldOut);
    const c = await dl.classify(network, heldOut);
    dl.dispose([p, c.scores]);
    network.dispose();
  });
  assert.equal(dl.memory().freedByGc, gcBefore, 'nothing was left for the garbage collector');
});

// ---- plots --------------------------------------------------------------------------------

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

test("plots 'training-progress': the live page answers during training, and PNG + HTML are saved into reportPath", async () => {
  const reportPath = path.join(tmp, 'report');
  const port = await freePort();
  const network = tinyCnn();
  type Progress = { title: { subtext: string }; series: { name: string; data: unknown[] }[]; done: boolean };
  let live: Promise<{ status: number; body: Progress }> | undefined;
  try {
    const { history, plots } = await dl.trainNetwork(train, network, {
      initialLearnRate: 0.05, maxEpochs: 3, miniBatchSize: 32, validationData: validation, validationFrequency: 4,
      plots: 'training-progress', plotsPort: port, reportPath, ...quiet,
      onIteration: (info) => {
        // Ask the live page mid-training; the trainer yields to the event loop after every iteration.
        if (info.iteration === 5) live = fetch(`http://127.0.0.1:${port}/progress.json`).then(async (r) => ({ status: r.status, body: await r.json() as Progress }));
      },
    });
    const pngFile = path.join(reportPath, 'training-progress.png');
    const htmlFile = path.join(reportPath, 'training-progress.html');
    assert.deepEqual(plots, [pngFile, htmlFile]);

    const got = await live!;
    assert.equal(got.status, 200);
    assert.equal(got.body.done, false);
    assert.match(got.body.title.subtext, /^epoch \d\/3, iteration \d+$/);
    const liveLoss = got.body.series.find((s) => s.name === 'training loss (raw)')!;
    assert.ok(liveLoss.data.length >= 5 && liveLoss.data.length < 24, `the live chart had ${liveLoss.data.length} points mid-training`);

    const png = readFileSync(pngFile);
    assert.deepEqual(png.subarray(0, 8), PNG_SIGNATURE, 'PNG signature');
    const meta = await sharp(png).metadata();
    assert.equal(meta.format, 'png');
    assert.deepEqual([meta.width, meta.height], [1000, 700]);

    const html = readFileSync(htmlFile, 'utf8');
    assert.match(html, /^<!doctype html>/);
    assert.ok(html.includes('echarts.init'), 'draws with ECharts');
    assert.ok(html.length > 500_000, 'ECharts is inlined (the page works offline)');
    for (const r of [history.training[0]!, history.training.at(-1)!]) {
      assert.ok(html.includes(`[${r.iteration},${r.loss}]`), `the page holds the training loss point [${r.iteration}, ${r.loss}]`);
    }
    const v = history.validation.at(-1)!;
    assert.ok(html.includes(`[${v.iteration},${v.loss}]`), 'and the validation loss points');
    assert.ok(html.includes('done: max-epochs, 24 iterations'), 'and the final status');
    // The live server is closed when training ends.
    await assert.rejects(fetch(`http://127.0.0.1:${port}/progress.json`));
  } finally {
    network.dispose();
  }
});

test('startProgressServer serves the page, progress.json (what update() set) and echarts.min.js over HTTP', async () => {
  const server = await dl.startProgressServer(0, 'test progress');
  try {
    assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
    const page = await fetch(server.url);
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type')!, /^text\/html/);
    const html = await page.text();
    assert.ok(html.includes('<script src="/echarts.min.js"></script>'), 'the page loads ECharts from the server');
    assert.ok(html.includes('"/progress.json"'), 'and polls progress.json');
    assert.ok(html.includes('<title>test progress</title>'));

    const waiting = await (await fetch(new URL('/progress.json', server.url))).json() as { title: { text: string } };
    assert.match(waiting.title.text, /waiting/);

    const data: dl.TrainingRecord[] = [1, 2, 3].map((i) => ({ iteration: i, epoch: 1, loss: 2 / i, accuracy: i / 10, learnRate: 0.1, time: i }));
    server.update(dl.trainingProgressOption({ training: data, validation: [{ iteration: 3, epoch: 1, loss: 0.9, accuracy: 0.5 }], status: 'epoch 1/2, iteration 3', iterationsPerEpoch: 3 }));
    const r = await fetch(new URL('/progress.json?t=1', server.url));
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('content-type'), 'application/json');
    assert.equal(r.headers.get('cache-control'), 'no-store');
    const body = await r.json() as { title: { subtext: string }; series: { name: string; data: number[][] }[]; done: boolean };
    assert.equal(body.title.subtext, 'epoch 1/2, iteration 3');
    assert.equal(body.done, false);
    assert.deepEqual(body.series.find((s) => s.name === 'training loss (raw)')!.data, [[1, 2], [2, 1], [3, 2 / 3]]);
    assert.deepEqual(body.series.find((s) => s.name === 'validation loss')!.data, [[3, 0.9]]);

    server.update(dl.trainingProgressOption({ training: data, validation: [], status: 'done' }), true);
    assert.equal((await (await fetch(new URL('/progress.json', server.url))).json() as { done: boolean }).done, true);

    const js = await fetch(new URL('/echarts.min.js', server.url));
    assert.equal(js.status, 200);
    assert.match(js.headers.get('content-type')!, /^text\/javascript/);
    const src = await js.text();
    assert.ok(src.length > 500_000 && src.includes('echarts'), `echarts.min.js (${src.length} bytes)`);

    const missing = await fetch(new URL('/nope', server.url));
    assert.equal(missing.status, 404);
    await missing.text();
  } finally {
    await server.close();
  }
  await assert.rejects(fetch(server.url), 'closed');
});
