// The CIFAR-10 ResNets: architecture (names, shapes, the option-A shortcut layer), strict loading
// of the real published checkpoints (../shared/data/pretrained) with 'module.' stripped, and
// their logits on real CIFAR-10 test JPEGs decoded by dlkit's image datastore, against PyTorch's
// (scripts/make-cifar-resnet-fixtures.py: the same files through torch.load, the same JPEGs
// through PIL). Also the model file round trip and loadStateDict's reports.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as dl from '../../src/index.js';
import { noLeaks } from '../helpers.js';
import { SHARED_DATA } from '../support/shared-data.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const fixture = JSON.parse(readFileSync(path.join(ROOT, 'fixtures', 'cifar-resnet.json'), 'utf8'));
const SHARED = SHARED_DATA;
const PRETRAINED = path.join(SHARED, 'pretrained', 'resnet-cifar10');
const TEST_IMAGES = path.join(SHARED, 'cifar10', 'test');
const hasShared = existsSync(PRETRAINED) && existsSync(TEST_IMAGES);
const skip = hasShared ? false : `pretrained files or CIFAR-10 test images not found under ${SHARED}: skipped`;
const DEPTH: Record<string, 20 | 32> = { resnet20: 20, resnet32: 32 };
const tmp = mkdtempSync(path.join(os.tmpdir(), 'dlkit-zoo-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

test('cifarResNet: PyTorch state-dict names, parameter counts, option-A shortcuts where the size changes', () => noLeaks(() => {
  for (const depth of dl.CIFAR_RESNET_DEPTHS) {
    const net = dl.cifarResNet({ depth });
    try {
      const n = (depth - 2) / 6;
      const names = Object.keys(net.stateDict());
      assert.equal(names.filter((k) => k.endsWith('conv1.weight') || k.endsWith('conv2.weight')).length, 1 + 6 * n, `depth ${depth}: conv layers`);
      assert.deepEqual(net.layers.filter((l) => l.type === 'subsamplePad2d').map((l) => l.name), ['layer2.0.shortcut', 'layer3.0.shortcut']);
      assert.deepEqual([...net.layer('layer2.0.shortcut').builtOutputShape!], [32, 16, 16]);
      assert.deepEqual([...net.outputShape], [10]);
      assert.deepEqual(net.classes, ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck']);
      const ref = Object.values(fixture.nets as Record<string, any>).find((r) => DEPTH[r.file.slice(0, 8)] === depth);
      if (ref) {
        const learnables = Object.entries(ref.entries as Record<string, { shape: number[] }>)
          .filter(([k]) => /\.(weight|bias)$/.test(k)).reduce((a, [, e]) => a + e.shape.reduce((x, y) => x * y, 1), 0);
        assert.equal(net.learnableCount, learnables, `depth ${depth}: as many learnables as the PyTorch checkpoint's weights and biases`);
      }
    } finally {
      net.dispose();
    }
  }
  assert.throws(() => dl.cifarResNet({ depth: 18 as 20 }), /cifarResNet: option 'depth' must be one of 20, 32, 44, 56, 110 \(6n \+ 2\), got 18/);
}));

test('subsamplePad2d: x[:, :, ::2, ::2] with zero channels before and after; config saves and loads', () => noLeaks(() => {
  dl.tidy(() => {
    const layer = dl.nn.subsamplePad2d({ name: 's', stride: 2, padChannels: [1, 2] });
    assert.deepEqual([...layer.outputShape([[2, 5, 4]])], [5, 3, 2]);
    const x = dl.arange(2 * 2 * 5 * 4).reshape(2, 2, 5, 4).float();
    const y = layer.forward([x]);
    assert.deepEqual([...y.shape], [2, 5, 3, 2]);
    const sub = x.slice(2, 0, undefined, 2).slice(3, 0, undefined, 2);
    assert.ok(y.slice(1, 1, 3).allclose(sub, 0, 0), 'the input channels, subsampled, sit after 1 zero channel');
    assert.equal(y.slice(1, 0, 1).abs().sum().item() + y.slice(1, 3, 5).abs().sum().item(), 0, 'the added channels are zero');
    const copy = dl.nn.layerFromConfig(JSON.parse(JSON.stringify(layer.config())));
    assert.deepEqual(copy.config(), { type: 'subsamplePad2d', name: 's', stride: [2, 2], padChannels: [1, 2] });
    assert.throws(() => dl.nn.subsamplePad2d({ padChannels: [-1, 0] }), /subsamplePad2d: option 'padChannels' must be whole numbers \[before, after\], got -1/);
    assert.throws(() => layer.outputShape([[4, 4]]), /layer 's' \(subsamplePad2d\): expected 3-D input \(C, H, W\)/);
  });
}));

/** The fixture's images through dlkit's image datastore, in the fixture's order. */
async function fixtureImages(): Promise<dl.ImageDatastore> {
  const ds = await dl.imageDatastore(TEST_IMAGES, { size: [32, 32], workers: 0 });
  const index = new Map(ds.files.map((f, i) => [path.relative(TEST_IMAGES, f), i]));
  return ds.subset(fixture.images.map((rel: string) => index.get(rel)!));
}

for (const [key, ref] of Object.entries(fixture.nets) as [string, any][]) {
  test(`${ref.file}: loads strictly with 'module.' stripped; logits on ${fixture.images.length} test JPEGs match PyTorch's, top-1 labels agree`, { skip }, () => noLeaks(async () => {
    const net = dl.cifarResNet({ depth: DEPTH[key]! });
    try {
      const sd = await dl.loadStateDict(path.join(PRETRAINED, ref.file));
      let report;
      try {
        assert.throws(() => net.loadStateDict(sd), /missing 'conv1\.weight' .*unexpected 'module\.conv1\.weight'/, 'without stripPrefix the names do not fit');
        report = net.loadStateDict(sd, { stripPrefix: 'module.', source: ref.file });
      } finally {
        Object.values(sd).forEach((t) => t.dispose());
      }
      assert.equal(report.loaded.length, Object.keys(ref.entries).length, 'every checkpoint entry loaded');
      const bn = net.layers.filter((l) => l.type === 'batchNorm').length;
      assert.deepEqual(report.kept.sort(), ['input.mean', 'input.std', ...net.layers.filter((l) => l.type === 'batchNorm').map((l) => `${l.name}.num_batches_tracked`)].sort(),
        `kept: the input normalization and ${bn} num_batches_tracked buffers the file does not have`);

      const ds = await fixtureImages();
      const logits = await dl.predict(net, ds, { miniBatchSize: 50 });
      try {
        const got = logits.dataSync() as Float32Array;
        const want = (ref.logits as number[][]).flat();
        let worst = 0;
        for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i]! - want[i]!));
        // Measured 1.3e-5 (logits of magnitude ~10): float32 sums in another order (channels-last kernels).
        assert.ok(worst < 1e-4, `largest logit difference ${worst}`);
        const labels = Array.from(dl.tidy(() => logits.argmax(1).dataSync() as BigInt64Array), Number);
        assert.deepEqual(labels, ref.labels, 'top-1 labels agree with PyTorch on every image');
      } finally {
        logits.dispose();
      }

      // The model file keeps the architecture (with the shortcut layer), classes and normalization.
      const file = path.join(tmp, `${key}.safetensors`);
      await dl.saveModel(net, file);
      const back = await dl.loadModel(file);
      try {
        assert.deepEqual(back.classes, net.classes);
        assert.deepEqual(back.config(), net.config());
        dl.tidy(() => {
          const x = dl.rand([4, 3, 32, 32]).mul(255);
          assert.ok(back.infer(x).allclose(net.infer(x), 0, 0), 'identical outputs after saveModel/loadModel');
        });
      } finally {
        back.dispose();
      }
    } finally {
      net.dispose();
    }
  }));
}

test('Network.loadStateDict: stripPrefix, and every missing, unexpected and mis-shaped name at once', () => noLeaks(() => {
  const net = dl.cifarResNet({ depth: 20 });
  try {
    dl.tidy(() => {
      const own = net.stateDict();
      const given: Record<string, dl.Tensor> = {};
      for (const [k, t] of Object.entries(own)) if (!k.startsWith('input.') && !k.endsWith('num_batches_tracked')) given[`module.${k}`] = dl.zerosLike(t);
      delete given['module.bn1.bias'];
      given['module.linear.weight'] = dl.zeros([10, 63]);
      given['module.extra'] = dl.zeros([1]);
      given['bn1.weight'] = dl.zeros([16]); // collides with 'module.bn1.weight' after stripping
      assert.throws(() => net.loadStateDict(given, { stripPrefix: 'module.', source: 'x.th' }), (err: Error) => {
        assert.match(err.message, /^x\.th does not fit the network: /);
        for (const part of ["missing 'bn1.bias' (expected [16] float32)", "'linear.weight': expected shape [10, 64], got [10, 63]",
          "unexpected 'extra' ([1] float32)", "'bn1.weight' and another given name both become 'bn1.weight' after stripping 'module.'"]) {
          assert.ok(err.message.includes(part), `names ${part}: ${err.message}`);
        }
        return true;
      });
    });
  } finally {
    net.dispose();
  }
}));
