// The CIFAR-10 binary reader, on files the test writes in that layout: records of 1 label byte
// and 3,072 pixel bytes (1,024 red, then green, then blue, each 32×32 row-major).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as dl from '../../src/index.js';
import { noLeaks } from '../helpers.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'dlkit-cifar-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** Record r of a file: label (first + r) % 10; pixel (c, y, x) = (r * 31 + c * 80 + y * 3 + x) % 256. */
function records(n: number, first: number): Buffer {
  const b = Buffer.alloc(n * 3073);
  for (let r = 0; r < n; r++) {
    const o = r * 3073;
    b[o] = (first + r) % 10;
    for (let c = 0; c < 3; c++) for (let y = 0; y < 32; y++) for (let x = 0; x < 32; x++) b[o + 1 + c * 1024 + y * 32 + x] = (r * 31 + c * 80 + y * 3 + x) % 256;
  }
  return b;
}

test('reads data_batch_N.bin in N order and test_batch.bin: [3, 32, 32] raw pixels, labels, class names', () => noLeaks(async () => {
  const dir = path.join(tmp, 'cifar-10-batches-bin');
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'data_batch_2.bin'), records(3, 5));
  writeFileSync(path.join(dir, 'data_batch_1.bin'), records(4, 0));
  writeFileSync(path.join(dir, 'data_batch_10.bin'), records(1, 9));
  writeFileSync(path.join(dir, 'test_batch.bin'), records(2, 7));
  const train = await dl.cifar10Binary(tmp, 'train'); // finds the cifar-10-batches-bin subfolder
  assert.equal(train.size, 8);
  assert.deepEqual([...train.inputShape], [3, 32, 32]);
  assert.deepEqual([...train.classes!], [...dl.CIFAR10_CLASSES]);
  assert.deepEqual(Array.from(train.labels()!), [0, 1, 2, 3, 5, 6, 7, 9], 'batch 1, then 2, then 10');
  const one = train.subset([4]);
  for await (const { x, y } of one.batches({ batchSize: 1 })) {
    assert.equal(x.dtype, 'float32');
    const v = x.dataSync() as Float32Array;
    // data_batch_2.bin record 0: red plane first, then green, then blue
    assert.equal(v[0], 0);
    assert.equal(v[1 * 1024], 80, 'green plane');
    assert.equal(v[2 * 1024 + 5 * 32 + 7], (2 * 80 + 15 + 7) % 256, 'blue (y 5, x 7)');
    assert.equal(Number((y!.dataSync() as BigInt64Array)[0]), 5);
    dl.dispose([x, y]);
  }
  const test = await dl.cifar10Binary(dir, 'test');
  assert.equal(test.size, 2);
  assert.deepEqual(Array.from(test.labels()!), [7, 8]);
  writeFileSync(path.join(dir, 'batches.meta.txt'), 'a\nb\nc\nd\ne\nf\ng\nh\ni\nj\n\n');
  const named = await dl.cifar10Binary(dir, 'test');
  assert.deepEqual([...named.classes!], ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j']);
  // openDatastore recognizes the folder
  const opened = await dl.openDatastore(tmp, 'test');
  assert.equal(opened.size, 2);
  for (const d of [one, train, test, named, opened] as dl.TensorDatastore[]) d.dispose();
}));

test('errors name the file: truncated, bad labels, missing files', async () => {
  const dir = path.join(tmp, 'broken');
  mkdirSync(dir);
  writeFileSync(path.join(dir, 'data_batch_1.bin'), records(2, 0).subarray(0, 3073 + 100));
  await assert.rejects(dl.cifar10Binary(dir, 'train'), new RegExp(`data_batch_1\\.bin: not a CIFAR-10 binary file: its size \\(3173 bytes\\) is not a multiple of the 3073-byte record.*100 bytes left over`));
  const labels = records(1, 0);
  labels[0] = 12;
  writeFileSync(path.join(dir, 'data_batch_1.bin'), labels);
  await assert.rejects(dl.cifar10Binary(dir, 'train'), /data_batch_1\.bin: record 0 has label 12, but there are 10 classes/);
  await assert.rejects(dl.cifar10Binary(dir, 'test'), /no test files in .*broken: expected test_batch\.bin/);
  await assert.rejects(dl.cifar10Binary(path.join(tmp, 'nowhere'), 'train'), /no such folder/);
  mkdirSync(path.join(tmp, 'plain'));
  await assert.rejects(dl.cifar10Binary(path.join(tmp, 'plain'), 'train'), /no CIFAR-10 binary files: expected data_batch_1\.bin/);
});
