// Transfer learning: the head found and replaced, the backbone frozen (bit-identical weights
// and batch-norm statistics after training), the input size changed where the network allows
// it, errors naming layers; and on real data, the CIFAR-10 ResNet-20 of shared/ fine-tuned on
// the ants/bees photos.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import * as dl from '../../src/index.js';
import { Network, nn, type Tensor } from '../../src/index.js';
import { noLeaks } from '../helpers.js';
import { SHARED_DATA } from '../support/shared-data.js';

const small = () => Network.series([
  nn.imageInput({ name: 'input', inputSize: [3, 8, 8], normalization: 'none' }),
  nn.conv2d({ name: 'conv', filters: 4, kernelSize: 3, padding: 1, bias: false }),
  nn.batchNorm({ name: 'bn' }),
  nn.relu({ name: 'relu' }),
  nn.globalAvgPool2d({ name: 'gap' }),
  nn.fullyConnected({ name: 'fc', outputSize: 10 }),
  nn.softmax({ name: 'prob' }),
]);

/** Two classes told apart by the mean of channel 0. */
function twoClasses(n: number, size = 8): { x: Tensor; y: Tensor } {
  return dl.tidy(() => {
    const labels = Array.from({ length: n }, (_, i) => i % 2);
    const x = dl.randn([n, 3, size, size]).add(dl.tensor(labels.map((l) => [l * 2 - 1, 0, 0]), { shape: [n, 3] }).reshape([n, 3, 1, 1]).mul(1.5));
    return { x, y: dl.tensor(BigInt64Array.from(labels.map(BigInt)), { shape: [n] }) };
  });
}

test('findHead walks back from the output past softmax and pooling; the CIFAR ResNet head is its linear layer', () => noLeaks(() => {
  const net = small();
  const { head, after } = dl.findHead(net);
  assert.deepEqual([head.name, after.map((l) => l.name)], ['fc', ['prob']]);
  const r = dl.cifarResNet({ depth: 20 });
  assert.equal(dl.findHead(r).head.name, 'linear');
  r.dispose();
  net.dispose();
}));

test('a frozen backbone stays bit-identical through training (weights and batch-norm statistics); the new head learns', async () => {
  await noLeaks(async () => {
    dl.manualSeed(3);
    const net = small();
    const setup = dl.prepareTransfer(net, { classes: ['neg', 'pos'], freeze: 'backbone', headLearnRateFactor: 10 });
    assert.deepEqual(setup, { head: 'fc', replaced: 'fullyConnected [10]', frozen: ['conv', 'bn'] });
    assert.deepEqual(net.outputShape, [2]);
    assert.deepEqual(net.classes, ['neg', 'pos']);
    assert.equal(net.layer('fc').learnRateFactor, 10);
    const before = Object.fromEntries(Object.entries(net.stateDict()).map(([k, t]) => [k, [...t.dataSync()]]));
    const { x, y } = twoClasses(64);
    const data = dl.tensorDatastore(x, y, { classes: ['neg', 'pos'] });
    await dl.trainNetwork(data, net, { solver: 'sgdm', initialLearnRate: 0.05, maxEpochs: 3, miniBatchSize: 16, verbose: false });
    const after = net.stateDict();
    for (const k of ['conv.weight', 'bn.weight', 'bn.bias', 'bn.running_mean', 'bn.running_var', 'bn.num_batches_tracked']) {
      assert.deepEqual([...after[k]!.dataSync()], before[k], `${k} changed`);
    }
    assert.notDeepEqual([...after['fc.weight']!.dataSync()], before['fc.weight'], 'the head trained');
    dl.dispose([x, y]);
    net.dispose();
  });
});

test('transferLearn takes the data\'s image size where the network allows it, and names the layer where it does not', async () => {
  await noLeaks(async () => {
    dl.manualSeed(4);
    const net = small();
    const { x, y } = twoClasses(48, 12);
    const data = dl.tensorDatastore(x, y, { classes: ['a', 'b'] });
    const { setup, history } = await dl.transferLearn(net, data, { training: { maxEpochs: 20, miniBatchSize: 16, verbose: false, initialLearnRate: 0.05 } });
    assert.deepEqual(setup.inputSize, { from: [3, 8, 8], to: [3, 12, 12] });
    assert.deepEqual(net.inputShape, [3, 12, 12]);
    const last = history.training[history.training.length - 1]!;
    assert.ok(last.loss < history.training[0]!.loss, `the loss went down: ${history.training[0]!.loss} -> ${last.loss}`);
    const { labels, scores } = await dl.classify(net, x);
    const truth = [...y.dataSync()].map((v) => (v === 0n ? 'a' : 'b'));
    const acc = labels.filter((l, i) => l === truth[i]).length / labels.length;
    assert.ok(acc > 0.8, `training accuracy ${acc}`);
    dl.dispose([x, y, scores]);
    net.dispose();

    const flat = Network.series([
      nn.imageInput({ inputSize: [3, 8, 8], normalization: 'none' }), nn.conv2d({ name: 'c', filters: 2, kernelSize: 3 }),
      nn.flatten({ name: 'flat' }), nn.fullyConnected({ name: 'hidden', outputSize: 5 }), nn.relu(), nn.fullyConnected({ name: 'out', outputSize: 3 }),
    ]);
    assert.throws(() => dl.prepareTransfer(flat, { classes: ['a', 'b'], inputSize: [16, 16] }), /edit: layer 'hidden' \(fullyConnected\): already built for inputs \[72\], now given \[392\].*replace that layer as well.*the network is unchanged/);
    assert.deepEqual(flat.inputShape, [3, 8, 8]);
    assert.throws(() => dl.prepareTransfer(flat, { classes: ['a'] }), /at least 2 class names/);
    assert.throws(() => dl.prepareTransfer(flat, { classes: ['a', 'b'], head: 'flat' }), /'flat' \(flatten\), which has no learnable parameters/);
    flat.dispose();
  });
});

const weights = path.join(SHARED_DATA, 'pretrained', 'resnet-cifar10', 'resnet20-12fca82f.th');
const photos = path.join(SHARED_DATA, 'hymenoptera');
const skip = existsSync(weights) && existsSync(photos) ? false : `${weights} or ${photos} not found: skipped`;

test('the real CIFAR-10 ResNet-20 fine-tuned on the ants/bees photos at 32×32 beats chance on their val split', { skip }, async () => {
  await noLeaks(async () => {
    dl.manualSeed(0);
    const net = dl.cifarResNet({ depth: 20 });
    const sd = await dl.loadStateDict(weights);
    try { net.loadStateDict(sd, { stripPrefix: 'module.' }); } finally { dl.dispose(Object.values(sd)); }
    const train = await dl.openDatastore(photos, 'train', { inputSize: [32, 32] });
    const val = await dl.openDatastore(photos, 'test', { inputSize: [32, 32], classes: train.classes! });
    const flipped = dl.augmentedImageDatastore([32, 32], train as dl.ImageDatastore, { reflectX: true });
    await dl.transferLearn(net, flipped, { training: { maxEpochs: 4, verbose: false } });
    const e = await dl.evaluate(net, val);
    assert.deepEqual(net.classes, ['ants', 'bees']);
    assert.ok(e.accuracy > 0.6, `val accuracy ${e.accuracy.toFixed(3)} after 4 epochs`);
    net.dispose();
  });
});
