// The IDX reader and IDX datastores: files the test writes (plain and gzipped), their errors,
// and the real Fashion-MNIST test split from Debian's dataset-fashion-mnist.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync, readFileSync, rmSync } from 'node:fs';
import { gzipSync, gunzipSync } from 'node:zlib';
import os from 'node:os';
import path from 'node:path';
import * as dl from '../../src/index.js';
import { noLeaks } from '../helpers.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'dlkit-idx-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const TYPE_CODES = { uint8: 0x08, int8: 0x09, int16: 0x0b, int32: 0x0c, float32: 0x0d, float64: 0x0e } as const;
const SIZES = { uint8: 1, int8: 1, int16: 2, int32: 4, float32: 4, float64: 8 } as const;

/** IDX bytes written by hand: magic, big-endian dims, big-endian values. */
function idxBytes(type: keyof typeof TYPE_CODES, shape: number[], values: ArrayLike<number>): Buffer {
  const header = 4 + 4 * shape.length;
  const b = Buffer.alloc(header + values.length * SIZES[type]);
  b[2] = TYPE_CODES[type];
  b[3] = shape.length;
  shape.forEach((d, i) => b.writeUInt32BE(d, 4 + 4 * i));
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    switch (type) {
      case 'uint8': dv.setUint8(header + i, v); break;
      case 'int8': dv.setInt8(header + i, v); break;
      case 'int16': dv.setInt16(header + 2 * i, v, false); break;
      case 'int32': dv.setInt32(header + 4 * i, v, false); break;
      case 'float32': dv.setFloat32(header + 4 * i, v, false); break;
      case 'float64': dv.setFloat64(header + 8 * i, v, false); break;
    }
  }
  return b;
}

/** A small image set: n images of h×w with pixel (i, r, c) = (i * 7 + r * w + c) % 256, labels i % classes. */
function makeSet(n: number, h: number, w: number, classes: number) {
  const pixels = new Uint8Array(n * h * w);
  for (let i = 0; i < n; i++) for (let p = 0; p < h * w; p++) pixels[i * h * w + p] = (i * 7 + p) % 256;
  const labels = Uint8Array.from({ length: n }, (_, i) => i % classes);
  return { pixels, labels, images: idxBytes('uint8', [n, h, w], pixels), labelBytes: idxBytes('uint8', [n], labels) };
}

function folder(name: string, files: Record<string, Buffer>): string {
  const dir = path.join(tmp, name);
  mkdirSync(dir, { recursive: true });
  for (const [f, bytes] of Object.entries(files)) writeFileSync(path.join(dir, f), bytes);
  return dir;
}

test('readIdx reads every IDX value type exactly, plain and gzipped', async () => {
  const cases: [keyof typeof TYPE_CODES, number[], number[]][] = [
    ['uint8', [2, 3], [0, 1, 127, 128, 254, 255]],
    ['int8', [4], [-128, -1, 0, 127]],
    ['int16', [2, 2], [-32768, -2, 258, 32767]],
    ['int32', [3], [-2147483648, 16909060, 2147483647]],
    ['float32', [3], [1.5, -0.25, 3.4028234663852886e38]],
    ['float64', [1, 3], [Math.PI, -1e-300, 1e300]],
  ];
  for (const [type, shape, values] of cases) {
    for (const gz of [false, true]) {
      const file = path.join(tmp, `${type}${gz ? '.gz' : ''}`);
      const raw = idxBytes(type, shape, values);
      writeFileSync(file, gz ? gzipSync(raw) : raw);
      const d = await dl.readIdx(file);
      assert.equal(d.type, type);
      assert.deepEqual(d.shape, shape);
      assert.equal(d.magic, (TYPE_CODES[type] << 8) | shape.length);
      assert.deepEqual(Array.from(d.data), values, `${type} ${gz ? 'gzipped' : 'plain'}`);
    }
  }
});

test('readIdx errors name the file and say expected vs actual', async () => {
  const good = idxBytes('uint8', [3, 2, 2], new Uint8Array(12));
  const truncated = path.join(tmp, 'truncated-idx3-ubyte');
  writeFileSync(truncated, good.subarray(0, good.length - 5));
  await assert.rejects(dl.readIdx(truncated), (e: Error) => {
    assert.ok(e.message.includes(truncated), e.message);
    assert.match(e.message, /needs 12 bytes .* got 7/);
    return true;
  });

  const longer = path.join(tmp, 'longer-idx3-ubyte');
  writeFileSync(longer, Buffer.concat([good, Buffer.from([1, 2])]));
  await assert.rejects(dl.readIdx(longer), (e: Error) => e.message.includes(longer) && /expected 12 bytes .* got 14/.test(e.message));

  const badMagic = path.join(tmp, 'bad-magic');
  writeFileSync(badMagic, Buffer.from([0x50, 0x4b, 0x03, 0x04, 0, 0, 0, 0]));
  await assert.rejects(dl.readIdx(badMagic), (e: Error) => {
    assert.ok(e.message.includes(badMagic), e.message);
    assert.match(e.message, /expected a magic number .*0x00000803.* got 0x504b0304/);
    return true;
  });

  const shortHeader = path.join(tmp, 'short-header');
  writeFileSync(shortHeader, Buffer.from([0, 0, 8, 3, 0, 0, 0, 1]));
  await assert.rejects(dl.readIdx(shortHeader), (e: Error) => e.message.includes(shortHeader) && /3 dimensions need 16 bytes, got 8/.test(e.message));

  const badGz = path.join(tmp, 'bad.gz');
  const gz = gzipSync(good);
  writeFileSync(badGz, gz.subarray(0, gz.length - 10));
  await assert.rejects(dl.readIdx(badGz), (e: Error) => e.message.includes(badGz) && /gzip/.test(e.message));

  const missing = path.join(tmp, 'no-such-file');
  await assert.rejects(dl.readIdx(missing), (e: Error) => e.message.includes(missing));
});

test('idxDatastore: train and test splits, plain and gzipped, both namings; raw values out', () => noLeaks(async () => {
  const train = makeSet(10, 3, 4, 3);
  const testSet = makeSet(4, 3, 4, 3);
  const dir = folder('both', {
    'train-images-idx3-ubyte.gz': gzipSync(train.images),
    'train-labels-idx1-ubyte': train.labelBytes,
    't10k-images.idx3-ubyte': testSet.images, // the other naming some mirrors use
    't10k-labels.idx1-ubyte.gz': gzipSync(testSet.labelBytes),
  });
  for (const [split, set] of [['train', train], ['test', testSet]] as const) {
    const ds = await dl.idxDatastore(dir, { split });
    try {
      assert.equal(ds.size, set.labels.length);
      assert.deepEqual([...ds.inputShape], [1, 3, 4]);
      assert.deepEqual([...ds.classes!], ['0', '1', '2']);
      assert.ok(ds.source.startsWith(dir) && ds.source.includes(split === 'train' ? 'train-images' : 't10k-images'), ds.source);
      assert.deepEqual(Array.from(ds.labels()!), Array.from(set.labels));
      const xs: number[] = [];
      const ys: number[] = [];
      for await (const b of ds.batches({ batchSize: 3 })) {
        assert.equal(b.x.dtype, 'float32');
        assert.equal(b.y!.dtype, 'int64');
        assert.deepEqual([...b.x.shape].slice(1), [1, 3, 4]);
        xs.push(...(b.x.dataSync() as Float32Array));
        ys.push(...Array.from(b.y!.dataSync() as BigInt64Array, Number));
        b.x.dispose();
        b.y!.dispose();
      }
      assert.deepEqual(xs, Array.from(set.pixels)); // raw 0–255, no normalization
      assert.deepEqual(ys, Array.from(set.labels));
    } finally {
      ds.dispose();
    }
  }
}));

test('idxDatastore: a folder with only the test files works for test; train names the missing file', () => noLeaks(async () => {
  const set = makeSet(5, 2, 2, 2);
  const dir = folder('test-only', { 't10k-images-idx3-ubyte': set.images, 't10k-labels-idx1-ubyte': set.labelBytes });
  const ds = await dl.mnist(dir, 'test');
  assert.equal(ds.size, 5);
  assert.deepEqual([...ds.classes!], ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
  ds.dispose();
  await assert.rejects(dl.mnist(dir, 'train'), (e: Error) => {
    assert.ok(e.message.includes(path.join(dir, 'train-images-idx3-ubyte')), e.message);
    assert.match(e.message, /no train images file/);
    return true;
  });
  const noLabels = folder('no-labels', { 't10k-images-idx3-ubyte': set.images });
  await assert.rejects(dl.idxDatastore(noLabels, { split: 'test' }), (e: Error) => e.message.includes(path.join(noLabels, 't10k-labels-idx1-ubyte')));
  await assert.rejects(dl.idxDatastore(path.join(tmp, 'absent'), { split: 'test' }), (e: Error) => e.message.includes(path.join(tmp, 'absent')));
  await assert.rejects(dl.idxDatastore(dir, { split: 'validation' as 'test' }), /split must be 'train' or 'test', got "validation"/);
}));

test('idxDatastore: mismatched counts, swapped files and out-of-range labels are clear errors', () => noLeaks(async () => {
  const a = makeSet(5, 2, 2, 2);
  const b = makeSet(4, 2, 2, 2);
  const counts = folder('counts', { 't10k-images-idx3-ubyte': a.images, 't10k-labels-idx1-ubyte': b.labelBytes });
  await assert.rejects(dl.idxDatastore(counts, { split: 'test' }), /has 5 images but .*t10k-labels-idx1-ubyte has 4 labels/);

  const swapped = folder('swapped', { 't10k-images-idx3-ubyte': a.labelBytes, 't10k-labels-idx1-ubyte': a.labelBytes });
  await assert.rejects(dl.idxDatastore(swapped, { split: 'test' }), (e: Error) => {
    assert.ok(e.message.includes(path.join(swapped, 't10k-images-idx3-ubyte')), e.message);
    assert.match(e.message, /expected an IDX images file \(magic 0x00000803.*got magic 0x00000801/);
    return true;
  });

  const bad = makeSet(3, 2, 2, 2);
  const labels = idxBytes('uint8', [3], [1, 12, 0]);
  const range = folder('range', { 't10k-images-idx3-ubyte': bad.images, 't10k-labels-idx1-ubyte': labels });
  await assert.rejects(dl.mnist(range, 'test'), (e: Error) => {
    assert.ok(e.message.includes(path.join(range, 't10k-labels-idx1-ubyte')), e.message);
    assert.match(e.message, /label 1 is 12, but there are only 10 classes/);
    return true;
  });
}));

test('a datastore made inside tidy keeps its tensors; dispose frees them', () => noLeaks(async () => {
  const set = makeSet(6, 2, 2, 3);
  const dir = folder('tidy', { 't10k-images-idx3-ubyte': set.images, 't10k-labels-idx1-ubyte': set.labelBytes });
  const ds = await dl.tidy(() => dl.idxDatastore(dir, { split: 'test' }));
  const [a, b] = ds.split(0.5);
  ds.dispose(); // the parts still share the storage
  for await (const batch of a.batches({ batchSize: 10 })) dl.dispose(batch);
  a.dispose();
  await assert.rejects(async () => { for await (const x of a.batches({ batchSize: 1 })) dl.dispose(x); }, /this datastore was disposed/);
  b.dispose();
}));

// ---- the real data set ----

const FASHION = dl.FASHION_MNIST_FOLDER;

test('Fashion-MNIST test split: 10,000 images of [1, 28, 28], first label and image match the raw file bytes', () => noLeaks(async () => {
  const ds = await dl.fashionMnist('test');
  try {
    assert.equal(ds.size, 10_000);
    assert.deepEqual([...ds.inputShape], [1, 28, 28]);
    assert.deepEqual([...ds.classes!], ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot']);
    const rawLabels = gunzipSync(readFileSync(path.join(FASHION, 't10k-labels-idx1-ubyte.gz')));
    const rawImages = gunzipSync(readFileSync(path.join(FASHION, 't10k-images-idx3-ubyte.gz')));
    const labels = ds.labels()!;
    assert.equal(labels[0], rawLabels[8]); // after the 8-byte header (magic, count)
    assert.deepEqual(Array.from(labels), Array.from(rawLabels.subarray(8)));
    const counts = ds.countEachLabel()!;
    assert.ok(counts.every((c) => c.count === 1000), JSON.stringify(counts)); // the test split is balanced
    for await (const b of ds.batches({ batchSize: 256 })) {
      assert.deepEqual([...b.x.shape], [256, 1, 28, 28]);
      assert.equal(Number((b.y!.dataSync() as BigInt64Array)[0]), rawLabels[8]);
      const first = (b.x.dataSync() as Float32Array).subarray(0, 784);
      assert.deepEqual(Array.from(first), Array.from(rawImages.subarray(16, 16 + 784))); // after the 16-byte header
      assert.equal(Math.max(...first), 255);
      dl.dispose(b);
      break;
    }
  } finally {
    ds.dispose();
  }
}));

test('Fashion-MNIST train split loads 60,000 images; a missing folder names the Debian package', () => noLeaks(async () => {
  const ds = await dl.fashionMnist('train');
  assert.equal(ds.size, 60_000);
  ds.dispose();
  await assert.rejects(dl.fashionMnist('test', { folder: path.join(tmp, 'nowhere') }), (e: Error) => {
    assert.ok(e.message.includes(path.join(tmp, 'nowhere')), e.message);
    assert.match(e.message, /dataset-fashion-mnist/);
    return true;
  });
}));
