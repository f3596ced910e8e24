// The Tensor basics: data in and out for every dtype, shapes, printing, autograd plumbing,
// engine settings. Op numerics against PyTorch live in ops.test.ts and functional.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as dl from '../../src/index.js';
import { noLeaks, assertClose } from '../helpers.js';

test('typed arrays round-trip for every dtype', () => noLeaks(() => {
  const cases: [ArrayBufferView, dl.DType][] = [
    [new Float32Array([1.5, -2, 3.25]), 'float32'],
    [new Float64Array([1e-300, 2, -3]), 'float64'],
    [new Int32Array([-7, 0, 2147483647]), 'int32'],
    [new BigInt64Array([-(2n ** 62n), 0n, 2n ** 62n]), 'int64'],
    [new Uint8Array([0, 128, 255]), 'uint8'],
  ];
  for (const [data, dtype] of cases) {
    using t = dl.tensor(data);
    assert.equal(t.dtype, dtype);
    assert.deepEqual([...t.shape], [3]);
    assert.deepEqual(t.dataSync(), data);
  }
  using b = dl.tensor([true, false, true]);
  assert.equal(b.dtype, 'bool');
  assert.deepEqual(b.toArray(), [true, false, true]);
}));

test('nested arrays give their shape; ragged arrays are an error naming where', () => noLeaks(() => {
  using t = dl.tensor([[1, 2, 3], [4, 5, 6]]);
  assert.deepEqual([...t.shape], [2, 3]);
  assert.deepEqual(t.toArray(), [[1, 2, 3], [4, 5, 6]]);
  assert.throws(() => dl.tensor([[1, 2], [3]]), /ragged nested array at data\[1\]: expected length 2, got 1/);
  assert.throws(() => dl.tensor(new Float32Array(5), { shape: [2, 3] }), /shape \[2, 3\] holds 6 values, the array has 5/);
}));

test('creation functions', () => noLeaks(() => dl.tidy(() => {
  assert.deepEqual(dl.zeros([2, 2]).toArray(), [[0, 0], [0, 0]]);
  assert.deepEqual(dl.ones([3], { dtype: 'int32' }).toArray(), [1, 1, 1]);
  assert.deepEqual(dl.full([2], 2.5).toArray(), [2.5, 2.5]);
  assert.deepEqual(dl.arange(4).toArray(), [0, 1, 2, 3]);
  assert.equal(dl.arange(4).dtype, 'int64');
  assertClose(dl.arange(0, 1, 0.25), [0, 0.25, 0.5, 0.75]);
  assertClose(dl.linspace(0, 1, 5), [0, 0.25, 0.5, 0.75, 1]);
  assert.deepEqual(dl.eye(2).toArray(), [[1, 0], [0, 1]]);
  const r = dl.rand([1000]);
  assert.ok(r.min().item() >= 0 && r.max().item() < 1);
  const n = dl.randn([10000]);
  assert.ok(Math.abs(n.mean().item()) < 0.05 && Math.abs(n.std().item() - 1) < 0.05);
  const ri = dl.randint(3, 7, [1000]);
  assert.equal(ri.dtype, 'int64');
  assert.ok(ri.min().item() === 3 && ri.max().item() === 6);
  assert.deepEqual(dl.randperm(5).sort().values.toArray(), [0, 1, 2, 3, 4]);
  assert.deepEqual(dl.tensor([1, 2]).to('float64').dtype, 'float64');
  assert.deepEqual(dl.tensor([1.7, -1.7]).to('int32').toArray(), [1, -1]);
})));

test('manualSeed makes random draws repeatable', () => noLeaks(() => dl.tidy(() => {
  dl.manualSeed(42);
  const a = dl.randn([5]).dataSync();
  dl.manualSeed(42);
  const b = dl.randn([5]).dataSync();
  assert.deepEqual(a, b);
  const c = dl.randn([5]).dataSync();
  assert.notDeepEqual(a, c);
})));

test('printing shows values, shape and dtype like PyTorch', () => noLeaks(() => dl.tidy(() => {
  assert.equal(dl.tensor([[1, 2], [3, 4.5]]).toString(), 'tensor([[1.0000, 2.0000],\n        [3.0000, 4.5000]], shape=[2, 2], dtype=float32)');
  assert.equal(dl.tensor([1, 2]).toString(), 'tensor([1., 2.], shape=[2], dtype=float32)');
  assert.equal(dl.arange(3).toString(), 'tensor([0, 1, 2], shape=[3], dtype=int64)');
  assert.equal(dl.tensor([true, false]).toString(), 'tensor([ True, False], shape=[2], dtype=bool)');
  assert.equal(dl.tensor([1e-6, 1]).toString(), 'tensor([1.0000e-06, 1.0000e+00], shape=[2], dtype=float32)');
  assert.equal(dl.zeros([2000]).toString(), 'tensor([0., 0., 0., ..., 0., 0., 0.], shape=[2000], dtype=float32)');
  assert.match(dl.ones([1]).requiresGrad_().toString(), /requiresGrad=true\)$/);
  assert.equal(dl.tensor(3).toString(), 'tensor(3., shape=[], dtype=float32)');
})));

test('shape ops', () => noLeaks(() => dl.tidy(() => {
  const t = dl.arange(24).reshape(2, 3, 4);
  assert.deepEqual([...t.permute(2, 0, 1).shape], [4, 2, 3]);
  assert.deepEqual([...t.transpose(0, 2).shape], [4, 3, 2]);
  assert.deepEqual([...t.flatten(1).shape], [2, 12]);
  assert.deepEqual([...t.unsqueeze(0).shape], [1, 2, 3, 4]);
  assert.deepEqual([...t.unsqueeze(0).squeeze(0).shape], [2, 3, 4]);
  assert.deepEqual([...t.view([6, 4]).shape], [6, 4]);
  assert.deepEqual(t.split(1, 0).map((s) => [...s.shape]), [[1, 3, 4], [1, 3, 4]]);
  assert.deepEqual(t.chunk(2, 2).map((s) => [...s.shape]), [[2, 3, 2], [2, 3, 2]]);
  assert.deepEqual(dl.cat([t, t], 1).shape, [2, 6, 4]);
  assert.deepEqual(dl.stack([t, t], 0).shape, [2, 2, 3, 4]);
  assert.deepEqual(t.index(1, '1:3', -1).toArray(), [19, 23]);
  assert.deepEqual(t.index(0, 0, '::2').toArray(), [0, 2]);
  assert.deepEqual(t.index(null).shape, [1, 2, 3, 4]);
  assert.deepEqual(t.index(0, dl.tensor([2, 0], { dtype: 'int64' }), 0).toArray(), [8, 0]);
  assert.deepEqual(dl.arange(5).index(dl.arange(5).gt(2)).toArray(), [3, 4]);
  assert.throws(() => t.view([5, 5]), /aten::view.*shape '\[5, 5\]' is invalid for input of size 24/);
  assert.equal(t.dim(-1), 4);
  assert.throws(() => t.dim(3), /dim 3 is out of range for a tensor of shape \[2, 3, 4\]/);
})));

test('channels-last layout keeps values and changes strides', () => noLeaks(() => dl.tidy(() => {
  const x = dl.randn([2, 3, 4, 5]);
  const cl = x.toChannelsLast();
  assert.ok(cl.isContiguous('channelsLast'));
  assert.deepEqual(cl.strides, [60, 1, 15, 3]);
  assert.ok(cl.allclose(x));
  // One channel: contiguous('channelsLast') would keep NCHW strides; toChannelsLast restrides.
  const one = dl.randn([2, 1, 3, 3]).toChannelsLast();
  assert.deepEqual(one.strides, [9, 1, 3, 1]);
})));

test('autograd: gradients, accumulation, zeroGrad, noGrad, detach', () => noLeaks(() => {
  const w = dl.tensor([1, 2, 3], { requiresGrad: true });
  dl.tidy(() => w.mul(w).sum().backward());
  assertClose(w.grad!, [2, 4, 6]);
  const g1 = w.grad;
  dl.tidy(() => w.mul(w).sum().backward());
  assertClose(w.grad!, [4, 8, 12]);
  assert.equal(w.grad, g1, 'grad accumulates in place: the same Tensor object');
  w.zeroGrad();
  assert.equal(w.grad, null);
  dl.tidy(() => {
    const y = dl.noGrad(() => w.mul(2));
    assert.equal(y.requiresGrad, false);
    assert.equal(w.detach().requiresGrad, false);
    assert.throws(() => w.mul(2).backward(), /grad can be implicit only for a one-element tensor; this one has shape \[3\]/);
    w.mul(2).backward(dl.ones([3]));
  });
  assertClose(w.grad!, [2, 2, 2]);
  assert.equal(dl.isGradEnabled(), true);
  w.dispose();
}));

test('threads default to every core, DLKIT_NUM_THREADS aside', () => {
  const want = process.env.DLKIT_NUM_THREADS ? Number(process.env.DLKIT_NUM_THREADS) : (globalThis as { navigator?: { hardwareConcurrency: number } }).navigator?.hardwareConcurrency;
  if (want) assert.equal(dl.getNumThreads(), want);
  const before = dl.getNumThreads();
  dl.setNumThreads(1);
  assert.equal(dl.getNumThreads(), 1);
  dl.setNumThreads(before);
  assert.throws(() => dl.setNumThreads(0), /expected a thread count >= 1, got 0/);
});

test('item, data and async data', async () => noLeaks(async () => {
  using t = dl.tensor([[1, 2], [3, 4]]);
  using s = t.sum();
  assert.equal(s.item(), 10);
  assert.throws(() => t.item(), /expected a tensor with one element, got shape \[2, 2\]/);
  assert.deepEqual(await t.data(), new Float32Array([1, 2, 3, 4]));
}));
