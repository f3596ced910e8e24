// Model files: one .safetensors file holds the architecture, the class names, the input
// normalization and the weights. Round trips give the same predictions and summary; damaged or
// foreign files are refused with the file and the tensor named; saves are atomic.
import { test, after, mock } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import fsp from 'node:fs/promises';
import { syncBuiltinESMExports } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import * as dl from '../../src/index.js';
import { noLeaks } from '../helpers.js';
import { syntheticData, tinyCnn } from '../train/synthetic.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'dlkit-model-'));
const data = syntheticData(128, 21);
const probe = syntheticData(32, 22);
after(() => {
  data.dispose();
  probe.dispose();
  rmSync(tmp, { recursive: true, force: true });
});

const quiet = { verbose: false } as const;

/** A briefly trained series CNN with batch norm and z-score input normalization. */
async function trainedSeries(seed = 1): Promise<dl.Network> {
  dl.manualSeed(seed);
  const network = tinyCnn({ batchNorm: true, normalization: 'zscore' });
  await dl.trainNetwork(data, network, { initialLearnRate: 0.05, maxEpochs: 1, miniBatchSize: 32, seed, ...quiet });
  return network;
}

/** A graph network: two conv branches added, a frozen layer, a custom learn-rate factor, no classes. */
function graphNetwork(): dl.Network {
  dl.manualSeed(3);
  const network = dl.Network.graph({
    layers: [
      dl.nn.imageInput({ inputSize: [1, 8, 8], normalization: 'rescale-zero-one', name: 'in' }),
      dl.nn.conv2d({ filters: 4, kernelSize: 3, padding: 'same', name: 'a' }),
      dl.nn.conv2d({ filters: 4, kernelSize: 1, name: 'b' }),
      dl.nn.addition({ name: 'add' }),
      dl.nn.relu({ name: 'relu' }),
      dl.nn.globalAvgPool2d({ name: 'gap' }),
      dl.nn.fullyConnected({ outputSize: 4, name: 'fc' }),
      dl.nn.softmax({ name: 'prob' }),
    ],
    connections: [['in', 'a'], ['in', 'b'], ['a', 'add/in1'], ['b', 'add/in2'], ['add', 'relu'], ['relu', 'gap'], ['gap', 'fc'], ['fc', 'prob']],
  });
  network.freeze(['b']);
  network.setLearnRateFactor(['fc'], 0.5);
  return network;
}

async function outputs(network: dl.Network): Promise<Float32Array> {
  const p = await dl.predict(network, probe);
  try {
    return Float32Array.from(p.dataSync() as Float32Array);
  } finally {
    p.dispose();
  }
}

/** Messages of the error that `promise` rejects with. */
async function errorOf(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (err) {
    return err as Error;
  }
  assert.fail('expected an error');
}

test('round trip (series CNN): identical predictions and summary; classes and z-score normalization survive', async () => {
  const file = path.join(tmp, 'series.safetensors');
  const network = await trainedSeries();
  try {
    const before = await outputs(network);
    await noLeaks(() => dl.saveModel(network, file));
    const loaded = await dl.loadModel(file);
    try {
      assert.deepEqual(await outputs(loaded), before, 'bit-identical outputs');
      assert.equal(loaded.summary(), network.summary());
      assert.deepEqual(loaded.classes, ['top-left', 'top-right', 'bottom-left', 'bottom-right']);
      const a = network.layer('input') as dl.nn.ImageInput;
      const b = loaded.layer('input') as dl.nn.ImageInput;
      assert.equal(b.normalization, 'zscore');
      assert.equal(b.needsStatistics, false);
      assert.deepEqual(b.buffers.get('mean')!.dataSync(), a.buffers.get('mean')!.dataSync());
      assert.deepEqual(b.buffers.get('std')!.dataSync(), a.buffers.get('std')!.dataSync());
      assert.ok((b.buffers.get('mean')!.dataSync() as Float32Array)[0]! > 10, 'the statistics are those of the raw 0-255 training data');
      // Every weight and buffer (batch-norm running statistics too) is identical.
      const sa = network.stateDict();
      const sb = loaded.stateDict();
      assert.deepEqual(Object.keys(sb).sort(), Object.keys(sa).sort());
      for (const k of Object.keys(sa)) assert.deepEqual(sb[k]!.dataSync(), sa[k]!.dataSync(), k);
      // The loaded model classifies raw images the same way.
      const ca = await dl.classify(network, probe);
      const cb = await dl.classify(loaded, probe);
      assert.deepEqual(cb.labels, ca.labels);
      dl.dispose([ca.scores, cb.scores]);
    } finally {
      loaded.dispose();
    }
  } finally {
    network.dispose();
  }
  // The metadata says what the file is.
  const header = await dl.readSafetensorsHeader(file);
  assert.equal(header.metadata.format, 'dlkit-model');
  assert.equal(header.metadata.format_version, '1');
  assert.match(header.metadata.dlkit_version!, /^\d+\.\d+\.\d+/);
});

test('round trip (graph network): connections, frozen layers and learn-rate factors survive; extra metadata is kept', async () => {
  const file = path.join(tmp, 'graph.safetensors');
  const network = graphNetwork();
  try {
    const before = await outputs(network);
    await dl.saveModel(network, file, { note: 'graph test' });
    const loaded = await dl.loadModel(file);
    try {
      assert.deepEqual(await outputs(loaded), before);
      assert.equal(loaded.summary(), network.summary());
      assert.match(loaded.summary(), /\(frozen\)/);
      assert.equal(loaded.classes, null);
      assert.deepEqual(loaded.sourcesOf('add'), ['a', 'b']);
      assert.equal(loaded.layer('b').learnRateFactor, 0);
      assert.equal(loaded.layer('fc').learnRateFactor, 0.5);
      assert.deepEqual(loaded.config(), network.config());
    } finally {
      loaded.dispose();
    }
  } finally {
    network.dispose();
  }
  assert.equal((await dl.readSafetensorsHeader(file)).metadata.note, 'graph test');
});

/** Rewrites a model file with its tensors changed by `edit` (metadata kept). */
async function tamper(source: string, target: string, edit: (t: Record<string, dl.Tensor>) => void): Promise<void> {
  const { tensors, metadata } = await dl.loadSafetensors(source);
  try {
    edit(tensors);
    await dl.saveSafetensors(target, tensors, metadata);
  } finally {
    dl.dispose(Object.values(tensors));
  }
}

test('a file with a missing, misshapen, mistyped or unexpected tensor is refused, naming the file, the tensors, expected and actual', async () => {
  const good = path.join(tmp, 'good.safetensors');
  const network = await trainedSeries(2);
  await dl.saveModel(network, good);
  network.dispose();

  await noLeaks(async () => {
    const missing = path.join(tmp, 'missing.safetensors');
    await tamper(good, missing, (t) => { t['conv.weight']!.dispose(); delete t['conv.weight']; });
    let err = await errorOf(dl.loadModel(missing));
    assert.ok(err.message.includes(missing), err.message);
    assert.match(err.message, /missing 'conv\.weight' \(expected \[8, 1, 3, 3\] float32\)/);

    const shape = path.join(tmp, 'shape.safetensors');
    await tamper(good, shape, (t) => { t['fc.weight']!.dispose(); t['fc.weight'] = dl.zeros([4, 100]); });
    err = await errorOf(dl.loadModel(shape));
    assert.ok(err.message.includes(shape), err.message);
    assert.match(err.message, /'fc\.weight': expected shape \[4, 128\], got \[4, 100\]/);

    const dtype = path.join(tmp, 'dtype.safetensors');
    await tamper(good, dtype, (t) => { const d = t['fc.bias']!.to('float64'); t['fc.bias']!.dispose(); t['fc.bias'] = d; });
    err = await errorOf(dl.loadModel(dtype));
    assert.match(err.message, /'fc\.bias': expected dtype float32, got float64/);

    // Several problems at once, all named.
    const several = path.join(tmp, 'several.safetensors');
    await tamper(good, several, (t) => {
      t['bn.weight']!.dispose(); delete t['bn.weight'];
      t['fc.weight']!.dispose(); t['fc.weight'] = dl.zeros([5, 128]);
      t.stray = dl.zeros([2]);
    });
    err = await errorOf(dl.loadModel(several));
    assert.ok(err.message.includes(several), err.message);
    for (const part of [/missing 'bn\.weight' \(expected \[8\] float32\)/, /'fc\.weight': expected shape \[4, 128\], got \[5, 128\]/, /unexpected 'stray'/]) assert.match(err.message, part);
  });
});

test('a truncated file, a header that lies about a shape, and an architecture that cannot be rebuilt are refused with the file named', async () => {
  const good = path.join(tmp, 'good2.safetensors');
  const network = await trainedSeries(3);
  await dl.saveModel(network, good);
  network.dispose();
  const bytes = readFileSync(good);
  await noLeaks(async () => {
    const truncated = path.join(tmp, 'truncated.safetensors');
    writeFileSync(truncated, bytes.subarray(0, bytes.length - 100));
    let err = await errorOf(dl.loadModel(truncated));
    assert.ok(err instanceof dl.SafetensorsError && err.message.startsWith(`${truncated}: `), err.message);

    // Change the header's shape of fc.weight from [4, 128] to [4, 127]: the byte range no longer matches.
    const headerLength = Number(bytes.readBigUInt64LE(0));
    const header = bytes.subarray(8, 8 + headerLength).toString('utf8');
    assert.ok(header.includes('"fc.weight":{"dtype":"F32","shape":[4,128]'));
    const lying = path.join(tmp, 'lying.safetensors');
    writeFileSync(lying, Buffer.concat([bytes.subarray(0, 8), Buffer.from(header.replace('"fc.weight":{"dtype":"F32","shape":[4,128]', '"fc.weight":{"dtype":"F32","shape":[4,127]')), bytes.subarray(8 + headerLength)]));
    err = await errorOf(dl.loadModel(lying));
    assert.ok(err.message.startsWith(`${lying}: `) && err.message.includes('fc.weight'), err.message);

    // Metadata that does not describe a network.
    const { tensors, metadata } = await dl.loadSafetensors(good);
    try {
      const badJson = path.join(tmp, 'bad-json.safetensors');
      await dl.saveSafetensors(badJson, tensors, { ...metadata, network: '{"format": "dlkit-network", ' });
      err = await errorOf(dl.loadModel(badJson));
      assert.equal(err.message, `${badJson}: metadata 'network' is not valid JSON`);

      const config = JSON.parse(metadata.network!) as dl.nn.NetworkConfig;
      config.layers[1] = { ...config.layers[1]!, type: 'warpDrive' };
      const unknownLayer = path.join(tmp, 'unknown-layer.safetensors');
      await dl.saveSafetensors(unknownLayer, tensors, { ...metadata, network: JSON.stringify(config) });
      err = await errorOf(dl.loadModel(unknownLayer));
      assert.ok(err.message.startsWith(`${unknownLayer}: the architecture cannot be rebuilt: `), err.message);
      assert.match(err.message, /warpDrive/);
    } finally {
      dl.dispose(Object.values(tensors));
    }
  });
});

test('a safetensors file that is not a dlkit model (or not safetensors at all) is refused, naming the file', async () => {
  await noLeaks(async () => {
    const foreign = path.join(tmp, 'pytorch.safetensors');
    const w = dl.zeros([2, 2]);
    await dl.saveSafetensors(foreign, { 'linear.weight': w }, { format: 'pt' });
    let err = await errorOf(dl.loadModel(foreign));
    assert.equal(err.message, `${foreign}: not a dlkit model: metadata 'format' is "pt", expected 'dlkit-model'`);

    const bare = path.join(tmp, 'bare.safetensors');
    await dl.saveSafetensors(bare, { 'linear.weight': w });
    err = await errorOf(dl.loadModel(bare));
    assert.ok(err.message.startsWith(`${bare}: not a dlkit model`), err.message);
    w.dispose();

    const text = path.join(tmp, 'notes.txt');
    writeFileSync(text, 'these are not the weights you are looking for\n');
    err = await errorOf(dl.loadModel(text));
    assert.ok(err instanceof dl.SafetensorsError && err.message.startsWith(`${text}: `), err.message);

    const absent = path.join(tmp, 'absent.safetensors');
    err = await errorOf(dl.loadModel(absent));
    assert.ok(err.message.startsWith(`${absent}: cannot read`), err.message);
  });
  // A training checkpoint is not a model file either.
  const dir = path.join(tmp, 'ckpt');
  dl.manualSeed(4);
  const network = tinyCnn();
  const { checkpoint } = await dl.trainNetwork(data, network, { maxEpochs: 1, miniBatchSize: 64, checkpointPath: dir, ...quiet });
  network.dispose();
  const err = await errorOf(dl.loadModel(checkpoint!));
  assert.ok(err.message.startsWith(`${checkpoint}: not a dlkit model: metadata 'format' is "dlkit-checkpoint"`), err.message);
});

test('saving is atomic: a failed save leaves the existing model intact and no temporary file', async () => {
  const dir = path.join(tmp, 'atomic');
  const file = path.join(dir, 'model.safetensors');
  const first = await trainedSeries(5);
  const second = graphNetwork();
  try {
    rmSync(dir, { recursive: true, force: true });
    await fsp.mkdir(dir);
    await dl.saveModel(first, file);
    const original = readFileSync(file);
    const expected = await outputs(first);

    // 1. The rename fails after the new file was completely written and synced.
    const rename = mock.method(fsp, 'rename', async () => { throw Object.assign(new Error('EIO: i/o error, rename'), { code: 'EIO' }); });
    syncBuiltinESMExports();
    let err: Error;
    try {
      err = await errorOf(dl.saveModel(second, file));
    } finally {
      rename.mock.restore();
      syncBuiltinESMExports();
    }
    assert.equal(rename.mock.callCount(), 1, 'the save got as far as the rename');
    assert.ok(err.message.startsWith(`${file}: could not save (any existing file is left unchanged)`), err.message);
    assert.match(err.message, /EIO/);
    assert.deepEqual(readFileSync(file), original, 'the old model file is byte-for-byte unchanged');
    assert.deepEqual(readdirSync(dir), ['model.safetensors'], 'no temporary file left behind');

    // 2. Encoding fails (bad metadata) before anything is written.
    err = await errorOf(dl.saveModel(second, file, { note: 42 as unknown as string }));
    assert.ok(err.message.includes(file), err.message);
    assert.deepEqual(readFileSync(file), original);
    assert.deepEqual(readdirSync(dir), ['model.safetensors']);

    // The old model still loads and predicts as before.
    const loaded = await dl.loadModel(file);
    try {
      assert.deepEqual(await outputs(loaded), expected);
    } finally {
      loaded.dispose();
    }
    // And a successful save replaces it.
    await dl.saveModel(second, file);
    const replaced = await dl.loadModel(file);
    try {
      assert.equal(replaced.summary(), second.summary());
    } finally {
      replaced.dispose();
    }
  } finally {
    first.dispose();
    second.dispose();
  }
});
