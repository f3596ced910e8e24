// Feature extraction and the feature network + SVM classifier: activations of a named layer equal
// the network's own forward to that layer (rows, pooled, channels), labels come with a labeled
// datastore, progress is reported; featureClassifier leaves the source network untouched and
// classifies as the SVM on the features does, before and after a model-file round trip. With the
// shared data: the real CIFAR ResNet-20 on the ants/bees photos, pooled 'avgpool' features -> SVM.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as dl from '../../src/index.js';
import type { Tensor } from '../../src/index.js';
import { assertClose, noLeaks } from '../helpers.js';
import { SHARED_DATA } from '../support/shared-data.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'dlkit-features-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
const WEIGHTS = path.join(SHARED_DATA, 'pretrained', 'resnet-cifar10', 'resnet20-12fca82f.th');
const PHOTOS = path.join(SHARED_DATA, 'hymenoptera');
const skip = existsSync(WEIGHTS) && existsSync(path.join(PHOTOS, 'train')) && existsSync(path.join(PHOTOS, 'val'))
  ? false : `the ResNet-20 weights or the ants/bees photos are not under ${SHARED_DATA}: skipped`;

/** A seeded, untrained CIFAR ResNet-20 with its batch norms' statistics made non-trivial. */
function seededResNet(): dl.Network {
  dl.manualSeed(13);
  const net = dl.cifarResNet({ depth: 20, numClasses: 3 });
  dl.noGrad(() => {
    for (const [k, t] of Object.entries(net.stateDict())) {
      if (k.endsWith('running_var')) dl.tidy(() => t.copy_(dl.rand(t.shape).add(0.5)));
      if (k.endsWith('running_mean')) dl.tidy(() => t.copy_(dl.randn(t.shape).mul(0.1)));
    }
  });
  return net;
}

/** Three classes of 32x32 images told apart by their mean colour, 0-255 pixels. */
function colourImages(nPer: number): { x: Tensor; y: Tensor } {
  return dl.tidy(() => {
    const base = dl.tensor([[200, 40, 40], [40, 200, 40], [40, 40, 200]]).view(3, 3, 1, 1);
    const x = dl.cat([0, 1, 2].map((c) => base.slice(0, c, c + 1).expand(nPer, 3, 32, 32).add(dl.randn([nPer, 3, 32, 32]).mul(30))), 0);
    const y = dl.tensor(BigInt64Array.from({ length: 3 * nPer }, (_, i) => BigInt(Math.floor(i / nPer))));
    return { x, y };
  });
}

test('activations: rows, avg/max pooling and channels equal the network\'s forward to the layer; labels and progress from a datastore', () => noLeaks(async () => {
  const net = seededResNet();
  const { x, y } = colourImages(5);
  const ds = dl.tensorDatastore(x, y, { classes: ['r', 'g', 'b'], own: true });
  try {
    const layer = 'layer2.1.relu2';
    const want = dl.tidy(() => dl.noGrad(() => net.forward(x, { outputs: [layer] }) as Tensor)); // (15, 32, 16, 16)
    const progress: [number, number][] = [];
    const rows = await dl.activations(net, ds, layer, { miniBatchSize: 4, onProgress: (done, total) => progress.push([done, total]) });
    assert.deepEqual(progress, [[4, 15], [8, 15], [12, 15], [15, 15]], 'progress after each batch');
    assert.deepEqual(rows.labels, Int32Array.from([0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2]));
    assert.deepEqual(rows.classes, ['r', 'g', 'b']);
    const avg = await dl.activations(net, x, layer, { pooling: 'avg' });
    const max = await dl.activations(net, x, layer, { pooling: 'max', outputAs: 'channels' });
    const channels = await dl.activations(net, x, layer, { outputAs: 'channels' });
    try {
      assert.equal(avg.labels, null, 'a tensor has no labels');
      assert.deepEqual(rows.features.shape, [15, 32 * 16 * 16]);
      assert.equal(rows.features.dtype, 'float32');
      dl.tidy(() => {
        assertClose(rows.features, want.contiguous().reshape(15, -1).dataSync() as Float32Array, { atol: 1e-5, rtol: 1e-4 });
        assertClose(avg.features, want.mean([2, 3]).dataSync() as Float32Array, { atol: 1e-5, rtol: 1e-4, shape: [15, 32] });
        assertClose(max.features, want.flatten(2).max(2).values.dataSync() as Float32Array, { atol: 1e-5, rtol: 1e-4, shape: [15, 32, 1, 1] });
        assertClose(channels.features, want.contiguous().dataSync() as Float32Array, { atol: 1e-5, rtol: 1e-4, shape: [15, 32, 16, 16] });
      });
      await assert.rejects(dl.activations(net, x, 'nope'), /activations: the network has no layer 'nope'; layers: 'input', /);
      await assert.rejects(dl.activations(net, x, layer, { pooling: 'sum' as 'avg' }), /activations: option 'pooling' must be one of none, avg, max, got "sum"/);
    } finally {
      dl.dispose([want, rows.features, avg.features, max.features, channels.features]);
    }
  } finally {
    ds.dispose();
    net.dispose();
  }
}));

test('featureClassifier: the cut network + SVM classifies as the SVM on the features; the source network is untouched; save -> load -> classify gives the same labels', () => noLeaks(async () => {
  const net = seededResNet();
  const { x, y } = colourImages(12);
  const before = dl.tidy(() => dl.noGrad(() => net.forward(x) as Tensor));
  const ds = dl.tensorDatastore(x, y, { classes: ['r', 'g', 'b'] });
  try {
    const layer = 'layer3.2.relu2';
    const { features, labels } = await dl.activations(net, ds, layer, { pooling: 'avg' });
    const svm = dl.fitSVM(features, labels!, { kernel: 'rbf', classes: ['r', 'g', 'b'] });
    const clf = dl.featureClassifier(net, layer, svm, { pooling: 'avg' });
    try {
      assert.deepEqual(clf.classes, ['r', 'g', 'b']);
      assert.ok(!clf.layers.some((l) => l.name === 'linear' || l.name === 'avgpool'), 'the layers after the feature layer are left out');
      const c = await dl.classify(clf, ds);
      assert.deepEqual(c.indices, svm.predict(features), 'classify = the SVM on the extracted features');
      dl.tidy(() => assertClose(c.scores, svm.predictProbabilities(features).dataSync() as Float32Array, { atol: 1e-4, rtol: 1e-3 }));
      assert.ok(agreement(c.indices, labels!) > 0.9, 'colours are easy to tell apart');
      const e = await dl.evaluate(clf, ds);
      assert.deepEqual(e.predicted, c.indices, 'evaluate uses the same predictions');
      c.scores.dispose();
      // The source network still runs, with its own weights.
      dl.tidy(() => assert.deepEqual((dl.noGrad(() => net.forward(x)) as Tensor).dataSync(), before.dataSync(), 'the source network is unchanged'));
      svm.dispose(); // the classifier holds its own copies
      const file = path.join(tmp, 'features-svm.safetensors');
      await dl.saveModel(clf, file);
      const loaded = await dl.loadModel(file);
      try {
        const c2 = await dl.classify(loaded, ds);
        assert.deepEqual(c2.labels, c.labels, 'labels after save -> load');
        c2.scores.dispose();
      } finally {
        loaded.dispose();
      }
      const svm2 = dl.fitSVM(features, labels!, { kernel: 'linear', probability: false });
      try {
        assert.throws(() => dl.featureClassifier(net, layer, svm2), /featureClassifier: layer 'layer3.2.relu2' gives 4096 features per observation \(output \[64, 8, 8\], pooling 'none'\), the SVM was trained on 64/);
      } finally {
        svm2.dispose();
      }
      features.dispose();
    } finally {
      clf.dispose();
    }
  } finally {
    ds.dispose();
    dl.dispose([x, y, before]);
    net.dispose();
  }
}));

const agreement = (a: ArrayLike<number>, b: ArrayLike<number>) => Array.from(a).filter((v, i) => v === b[i]).length / a.length;

test('real features: the CIFAR ResNet-20 on the ants/bees photos (32x32), pooled avgpool features -> SVM above chance on val; the saved classifier gives the same labels', { skip }, () => noLeaks(async () => {
  const net = dl.cifarResNet({ depth: 20 });
  const sd = await dl.loadStateDict(WEIGHTS);
  net.loadStateDict(sd, { stripPrefix: 'module.' });
  dl.dispose(Object.values(sd));
  const train = await dl.imageDatastore(path.join(PHOTOS, 'train'), { size: [32, 32] });
  const val = await dl.imageDatastore(path.join(PHOTOS, 'val'), { size: [32, 32], classes: train.classes! });
  try {
    const a = await dl.activations(net, train, 'avgpool', { outputAs: 'rows' });
    const b = await dl.activations(net, val, 'avgpool');
    assert.deepEqual(a.features.shape, [train.size, 64]);
    const svm = dl.fitSVM(a.features, a.labels!, { kernel: 'rbf', C: 1, classes: train.classes! });
    const clf = dl.featureClassifier(net, 'avgpool', svm);
    try {
      const predicted = svm.predict(b.features);
      const accuracy = agreement(predicted, b.labels!);
      const majority = Math.max(...[0, 1].map((k) => b.labels!.filter((v) => v === k).length)) / b.labels!.length;
      console.log(`ants/bees val accuracy, ResNet-20 avgpool features + RBF SVM: ${(100 * accuracy).toFixed(1)}% (majority class ${(100 * majority).toFixed(1)}%, ${train.size} training images)`);
      // Measured 67.3% (scikit-learn's SVC on the same features: 67.3%); the larger class is 54.2%.
      assert.ok(accuracy >= 0.62, `val accuracy ${accuracy}`);
      const file = path.join(tmp, 'resnet20-svm.safetensors');
      await dl.saveModel(clf, file);
      const loaded = await dl.loadModel(file);
      try {
        const c = await dl.classify(loaded, val);
        assert.deepEqual(c.indices, predicted, 'the saved classifier on the photos = the SVM on their features');
        c.scores.dispose();
      } finally {
        loaded.dispose();
      }
    } finally {
      clf.dispose();
      svm.dispose();
      dl.dispose([a.features, b.features]);
    }
  } finally {
    net.dispose();
  }
}));
