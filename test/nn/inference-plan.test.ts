// The inference plan gives the network's own outputs (batch norm folded into convolutions,
// ReLUs in place, channels-last weights, the FC's columns permuted once), for dlkit networks and
// imported ONNX ones, at batch 1 (the matrix-vector path) and larger; it frees what it made.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as dl from '../../src/index.js';
import { Network, nn } from '../../src/index.js';
import { assertClose, noLeaks } from '../helpers.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** Random batch-norm statistics, as a trained network has (fresh ones are 0 and 1). */
function perturb(net: Network): void {
  dl.tidy(() => dl.noGrad(() => {
    for (const l of net.layers) {
      if (l.type !== 'batchNorm') continue;
      l.buffers.get('running_mean')!.copy_(dl.randn(l.buffers.get('running_mean')!.shape).mul(0.3));
      l.buffers.get('running_var')!.copy_(dl.rand(l.buffers.get('running_var')!.shape).add(0.5));
      l.params.get('weight')?.copy_(dl.rand(l.params.get('weight')!.shape).add(0.5));
      l.params.get('bias')?.copy_(dl.randn(l.params.get('bias')!.shape).mul(0.2));
    }
  }));
}

function compare(net: Network, plan: dl.nn.InferencePlan, batch: number): void {
  dl.tidy(() => {
    const x = dl.randn([batch, ...net.inputShape]);
    const expected = dl.noGrad(() => net.forward(x) as dl.Tensor);
    assertClose(plan.forward(x) as dl.Tensor, expected.dataSync() as Float32Array, { atol: 1e-4, rtol: 1e-4, shape: expected.shape });
  });
}

for (const channelsLast of [true, false]) {
  test(`a conv-bn-relu stack with a pooled branch and a classifier: the plan's outputs are the network's (channelsLast ${channelsLast})`, () => noLeaks(() => {
    dl.manualSeed(3);
    const net = Network.series([
      nn.imageInput({ inputSize: [3, 12, 12], normalization: 'zscore', mean: [0.1, 0.2, 0.3], std: [1, 2, 3] }),
      nn.conv2d({ filters: 8, kernelSize: 3, padding: 'same', bias: false }), nn.batchNorm(), nn.relu(),
      nn.conv2d({ filters: 8, kernelSize: 3, stride: 2, padding: 1 }), nn.batchNorm(), nn.relu(),
      nn.maxPool2d({ poolSize: 2 }), nn.batchNorm(), nn.relu(),
      nn.conv2d({ filters: 6, kernelSize: 4, padding: 'same' }), nn.relu(), // even kernel: asymmetric 'same', not fused
      nn.fullyConnected({ outputSize: 16 }), nn.relu(), nn.fullyConnected({ outputSize: 5 }), nn.softmax(),
    ], { channelsLast });
    perturb(net);
    const plan = new dl.nn.InferencePlan(net, { channelsLast });
    assert.equal(plan.info.foldedBatchNorms, 2, 'the two batch norms right after a convolution are folded');
    assert.equal(plan.info.fusedRelus, 2);
    for (const b of [1, 3]) compare(net, plan, b);
    plan.dispose();
    net.dispose();
  }));
}

test('an imported ONNX ResNet (PyTorch export, dynamic batch): the plan matches the network at batch 1 and 3', () => noLeaks(() => {
  const net = dl.importONNX(path.join(root, 'fixtures', 'onnx', 'resnet-small.onnx'));
  const plan = new dl.nn.InferencePlan(net);
  assert.ok(plan.info.fusedRelus > 0, 'the Conv -> Relu pairs are fused');
  for (const b of [1, 3]) compare(net, plan, b);
  plan.dispose();
  net.dispose();
}));

test('predict and classify go through the plan and still follow test-time augmentation', async () => {
  await noLeaks(async () => {
    const net = Network.series([
      nn.imageInput({ inputSize: [1, 6, 6], normalization: 'none' }), nn.conv2d({ filters: 4, kernelSize: 3, padding: 1 }), nn.batchNorm(), nn.relu(),
      nn.fullyConnected({ outputSize: 3 }),
    ], { classes: ['a', 'b', 'c'], testTimeAugmentation: 'reflectX' });
    perturb(net);
    const x = dl.randn([4, 1, 6, 6]);
    const expected = dl.noGrad(() => net.infer(x));
    const got = await dl.predict(net, x);
    assertClose(got, expected.dataSync() as Float32Array, { atol: 1e-4, rtol: 1e-4 });
    dl.dispose([x, expected, got]);
    net.dispose();
  });
});
