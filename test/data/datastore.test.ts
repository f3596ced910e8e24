// In-memory datastores: batching (order, shuffles per (seed, epoch), dropLast), subsets,
// stratified splits, validation errors, ownership and leak checks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as dl from '../../src/index.js';
import { noLeaks } from '../helpers.js';

/** x[i] = [i, -i] as float32 (so a batch tells which rows it holds), y[i] = i % classes. */
function make(n: number, classes = 3) {
  const xs = new Float32Array(n * 2);
  for (let i = 0; i < n; i++) { xs[2 * i] = i; xs[2 * i + 1] = -i; }
  const x = dl.tensor(xs, { shape: [n, 2] });
  const y = dl.tensor(BigInt64Array.from({ length: n }, (_, i) => BigInt(i % classes)));
  return { x, y };
}

/** The rows each batch held, in order; disposes the batches. */
async function rowsOf(ds: dl.Datastore, options: dl.BatchOptions): Promise<number[][]> {
  const out: number[][] = [];
  for await (const b of ds.batches(options)) {
    const x = b.x.dataSync() as Float32Array;
    const rows = Array.from({ length: b.x.shape[0]! }, (_, i) => x[2 * i]!);
    if (b.y) {
      const y = Array.from(b.y.dataSync() as BigInt64Array, Number);
      assert.deepEqual(y, rows.map((r) => r % 3), 'labels travel with their rows');
    }
    out.push(rows);
    dl.dispose(b);
  }
  return out;
}

test('batches in order cover every row once; the last batch is smaller unless dropLast', () => noLeaks(async () => {
  const { x, y } = make(10);
  const ds = dl.tensorDatastore(x, y);
  assert.equal(ds.size, 10);
  assert.deepEqual([...ds.inputShape], [2]);
  assert.deepEqual([...ds.classes!], ['0', '1', '2']);
  assert.equal(ds.source, 'in-memory');
  assert.deepEqual(await rowsOf(ds, { batchSize: 4 }), [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]);
  assert.deepEqual(await rowsOf(ds, { batchSize: 4, dropLast: true }), [[0, 1, 2, 3], [4, 5, 6, 7]]);
  assert.deepEqual(await rowsOf(ds, { batchSize: 20 }), [[0, 1, 2, 3, 4, 5, 6, 7, 8, 9]]);
  assert.deepEqual(await rowsOf(ds, { batchSize: 20, dropLast: true }), []);
  ds.dispose(); // caller-owned: x and y stay
  assert.equal(x.isDisposed, false);
  x.dispose();
  y.dispose();
}));

test('shuffles visit every row exactly once, repeat for the same (seed, epoch), differ across epochs and seeds', () => noLeaks(async () => {
  const { x, y } = make(100);
  const ds = dl.tensorDatastore(x, y, { own: true });
  const order = async (o: Partial<dl.BatchOptions>) => (await rowsOf(ds, { batchSize: 16, shuffle: true, ...o })).flat();
  const e0 = await order({ seed: 7, epoch: 0 });
  assert.equal(e0.length, 100);
  assert.deepEqual([...e0].sort((a, b) => a - b), Array.from({ length: 100 }, (_, i) => i));
  assert.notDeepEqual(e0, Array.from({ length: 100 }, (_, i) => i));
  assert.deepEqual(await order({ seed: 7, epoch: 0 }), e0);
  assert.deepEqual(await order({ seed: 7 }), e0, 'epoch defaults to 0');
  const e1 = await order({ seed: 7, epoch: 1 });
  assert.notDeepEqual(e1, e0);
  assert.deepEqual([...e1].sort((a, b) => a - b), Array.from({ length: 100 }, (_, i) => i));
  assert.notDeepEqual(await order({ seed: 8, epoch: 0 }), e0);
  // dropLast with a shuffle: 6 full batches of 16, 4 rows left out, none repeated
  const dropped = await rowsOf(ds, { batchSize: 16, shuffle: true, seed: 7, dropLast: true });
  assert.deepEqual(dropped.map((b) => b.length), [16, 16, 16, 16, 16, 16]);
  assert.deepEqual(dropped.flat(), e0.slice(0, 96));
  ds.dispose();
  assert.equal(x.isDisposed, true, 'an owning datastore frees its tensors');
}));

test('uint8 storage gives float32 batches with the raw 0–255 values', () => noLeaks(async () => {
  const pixels = Uint8Array.from({ length: 4 * 1 * 2 * 2 }, (_, i) => (i * 17) % 256);
  const x = dl.tensor(pixels, { shape: [4, 1, 2, 2] });
  const ds = dl.tensorDatastore(x, null, { own: true });
  assert.equal(ds.classes, null);
  assert.equal(ds.labels(), null);
  const seen: number[] = [];
  for await (const b of ds.batches({ batchSize: 3 })) {
    assert.equal(b.x.dtype, 'float32');
    assert.equal(b.y, null);
    seen.push(...(b.x.dataSync() as Float32Array));
    b.x.dispose();
  }
  assert.deepEqual(seen, Array.from(pixels));
  ds.dispose();
}));

test('labels of another integer dtype are converted once; classes name them', () => noLeaks(async () => {
  const x = dl.zeros([3, 1]);
  const y = dl.tensor(new Int32Array([2, 0, 1]));
  const ds = dl.tensorDatastore(x, y, { classes: ['cat', 'dog', 'bird'] });
  assert.deepEqual([...ds.classes!], ['cat', 'dog', 'bird']);
  assert.deepEqual(Array.from(ds.labels()!), [2, 0, 1]);
  for await (const b of ds.batches({ batchSize: 3 })) {
    assert.equal(b.y!.dtype, 'int64');
    assert.deepEqual(b.y!.toArray(), [2, 0, 1]);
    dl.dispose(b);
  }
  ds.dispose(); // frees its int64 copy of y, not the caller's x and y
  assert.equal(y.isDisposed, false);
  x.dispose();
  y.dispose();
}));

test('subsets compose and share storage; labels follow', () => noLeaks(async () => {
  const { x, y } = make(10);
  const ds = dl.tensorDatastore(x, y, { own: true });
  const a = ds.subset([9, 3, 5, 1]);
  assert.equal(a.size, 4);
  assert.deepEqual(Array.from(a.labels()!), [0, 0, 2, 1]);
  const b = a.subset([2, 0]);
  assert.deepEqual(await rowsOf(b, { batchSize: 5 }), [[5, 9]]);
  assert.throws(() => a.subset([4]), /subset \(in-memory\): index 0 is 4; expected a whole number from 0 to 3/);
  assert.throws(() => a.subset([1.5]), /index 0 is 1.5/);
  ds.dispose();
  a.dispose();
  assert.equal(x.isDisposed, false, 'b still uses the storage');
  b.dispose();
  assert.equal(x.isDisposed, true);
}));

test('split: stratified keeps each class in proportion; parts are disjoint, sorted and reproducible', () => noLeaks(async () => {
  // classes of 100, 50 and 30 observations, interleaved
  const labels: number[] = [];
  for (let i = 0; i < 100; i++) labels.push(0);
  for (let i = 0; i < 50; i++) labels.push(1);
  for (let i = 0; i < 30; i++) labels.push(2);
  const shuffledLabels = labels.map((l, i) => [((i * 7919) % 180), l]).sort((p, q) => p[0]! - q[0]!).map((p) => p[1]!);
  const n = shuffledLabels.length;
  const x = dl.tidy(() => dl.arange(0, n).reshape([n, 1]));
  const y = dl.tensor(BigInt64Array.from(shuffledLabels, BigInt));
  const ds = dl.tensorDatastore(x, y, { own: true });
  const count = (d: dl.Datastore) => {
    const c = [0, 0, 0];
    for (const l of d.labels()!) c[l]!++;
    return c;
  };
  const rows = async (d: dl.Datastore) => {
    const out: number[] = [];
    for await (const b of d.batches({ batchSize: 64 })) { out.push(...(b.x.dataSync() as Float32Array)); dl.dispose(b); }
    return out;
  };
  const [train, val] = ds.split(0.8, { seed: 1 });
  assert.deepEqual(count(train), [80, 40, 24]);
  assert.deepEqual(count(val), [20, 10, 6]);
  const tr = await rows(train);
  const va = await rows(val);
  assert.deepEqual([...tr, ...va].sort((a, b) => a - b), Array.from({ length: n }, (_, i) => i), 'disjoint and complete');
  assert.deepEqual(tr, [...tr].sort((a, b) => a - b), 'each part keeps the original order');
  const [again, againRest] = ds.split(0.8, { seed: 1 });
  assert.deepEqual(await rows(again), tr);
  const [other, otherRest] = ds.split(0.8, { seed: 2 });
  assert.notDeepEqual(await rows(other), tr);
  const [plain, rest] = ds.split(0.25, { stratified: false });
  assert.equal(plain.size, 45);
  assert.equal(rest.size, 135);
  assert.throws(() => ds.split(1.5), /split \(in-memory\): fraction must be a number from 0 to 1 .* got 1.5/);
  for (const d of [ds, train, val, again, againRest, other, otherRest, plain, rest]) d.dispose();
  assert.equal(x.isDisposed, true);
}));

test('split of unlabeled data: plain by default, stratified is an error', () => noLeaks(() => {
  const ds = dl.tensorDatastore(dl.zeros([10, 2]), null, { own: true });
  const [a, b] = ds.split(0.3);
  assert.equal(a.size, 3);
  assert.equal(b.size, 7);
  assert.throws(() => ds.split(0.5, { stratified: true }), /stratified split needs labels, and this datastore is unlabeled/);
  dl.dispose([ds, a, b]);
}));

test('tensorDatastore validates its inputs and names what is wrong', () => noLeaks(async () => {
  const x = dl.zeros([4, 2]);
  const y3 = dl.tensor(BigInt64Array.from([0n, 1n, 2n]));
  const yf = dl.tensor([0, 1, 0, 1]);
  const y2d = dl.tensor(BigInt64Array.from([0n, 1n, 0n, 1n]), { shape: [2, 2] });
  const yNeg = dl.tensor(new Int32Array([0, -1, 0, 1]));
  const y5 = dl.tensor(new Int32Array([0, 1, 5, 1]));
  try {
    assert.throws(() => dl.tensorDatastore(x, y3), /x has 4 observations \(shape \[4, 2\]\) but y has 3 labels/);
    assert.throws(() => dl.tensorDatastore(x, yf), /y must hold integer class indices .* got dtype float32/);
    assert.throws(() => dl.tensorDatastore(x, y2d), /y must be 1-D \[N\], got shape \[2, 2\]/);
    assert.throws(() => dl.tensorDatastore(x, yNeg), /label 1 is -1; class indices must be >= 0/);
    assert.throws(() => dl.tensorDatastore(x, y5, { classes: ['a', 'b'] }), /label 2 is 5, but there are only 2 classes \(a, b\)/);
    assert.throws(() => dl.tensorDatastore(x, null, { classes: ['a', 'a'] }), /class name 'a' appears twice/);
    using scalar = dl.tensor(3);
    assert.throws(() => dl.tensorDatastore(scalar, null), /0-d tensor/);
    const ds = dl.tensorDatastore(x, null, { source: 'my-data' });
    const it = (o: object) => ds.batches(o as dl.BatchOptions)[Symbol.asyncIterator]().next();
    await assert.rejects(it({ batchSize: 0 }), /batches \(my-data\): batchSize must be a whole number >= 1, got 0/);
    await assert.rejects(it({ batchSize: 2, shufle: true }), /unknown option 'shufle'; expected one of batchSize, shuffle, seed, dropLast, epoch/);
    await assert.rejects(it({ batchSize: 2, epoch: -1 }), /epoch must be a whole number >= 0, got -1/);
    await assert.rejects(it({ batchSize: 2, seed: 0.5 }), /seed must be a whole number, got 0.5/);
  } finally {
    dl.dispose([x, y3, yf, y2d, yNeg, y5]);
  }
}));

test('breaking out of a batch loop and iterating a large uint8 store leave no tensors behind', () => noLeaks(async () => {
  const before = dl.memory().liveTensors;
  const x = dl.randint(0, 256, [2000, 1, 8, 8], { dtype: 'uint8' });
  const y = dl.randint(0, 10, [2000]);
  const ds = dl.tensorDatastore(x, y, { own: true, classes: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'] });
  let n = 0;
  for await (const b of ds.batches({ batchSize: 128, shuffle: true, seed: 3 })) {
    n += b.x.shape[0]!;
    dl.dispose(b);
  }
  assert.equal(n, 2000);
  for await (const b of ds.batches({ batchSize: 128 })) {
    dl.dispose(b);
    break;
  }
  // batches made inside a tidy scope belong to it
  await dl.tidy(async () => {
    for await (const b of ds.batches({ batchSize: 500 })) assert.ok(b.x.sum().item() >= 0);
  });
  assert.equal(dl.memory().liveTensors, before + 2);
  ds.dispose();
}));
