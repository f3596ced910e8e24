// CIFAR-10 in its binary format (cifar-10-binary.tar.gz from https://www.cs.toronto.edu/~kriz/cifar.html):
// data_batch_1.bin … data_batch_5.bin (training) and test_batch.bin, each a sequence of 3,073-byte
// records: 1 label byte (0–9), then 1,024 red, 1,024 green and 1,024 blue bytes, each a 32×32
// plane in row-major order. Which is exactly [3, 32, 32] (C, H, W) per record.
import { readFile, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { tensor } from '../tensor/create.js';
import { tensorDatastore, type TensorDatastore } from './tensor-datastore.js';

/** CIFAR-10's class names, indexed by label (as in batches.meta.txt). */
export const CIFAR10_CLASSES: readonly string[] = Object.freeze([
  'airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck',
]);

const RECORD = 1 + 3 * 32 * 32;
const TRAIN_FILE = /^data_batch_(\d+)\.bin$/;
const TEST_FILE = 'test_batch.bin';

/** The folder holding the .bin files: `folder` itself or its cifar-10-batches-bin subfolder. */
export async function findCifar10Folder(folder: string): Promise<string | null> {
  for (const dir of [folder, path.join(folder, 'cifar-10-batches-bin')]) {
    const names = await readdir(dir).catch(() => null);
    if (names && names.some((n) => TRAIN_FILE.test(n) || n === TEST_FILE)) return dir;
  }
  return null;
}

/**
 * CIFAR-10 from its binary files in `folder` (or `folder`/cifar-10-batches-bin): split 'train'
 * reads every data_batch_N.bin (in N order), 'test' reads test_batch.bin. Observations are
 * [3, 32, 32] raw 0–255; class names come from batches.meta.txt when present. The datastore
 * owns its tensors (dispose() frees them).
 */
export async function cifar10Binary(folder: string, split: 'train' | 'test' = 'train'): Promise<TensorDatastore> {
  const where = `cifar10Binary(${folder})`;
  if (split !== 'train' && split !== 'test') throw new TypeError(`${where}: split must be 'train' or 'test', got ${JSON.stringify(split)}`);
  const isDir = await stat(folder).then((s) => s.isDirectory(), () => false);
  if (!isDir) throw new Error(`${where}: no such folder`);
  const dir = await findCifar10Folder(folder);
  if (!dir) throw new Error(`${where}: no CIFAR-10 binary files: expected data_batch_1.bin … data_batch_5.bin and test_batch.bin in ${folder} or ${path.join(folder, 'cifar-10-batches-bin')}`);
  const names = await readdir(dir);
  const files = split === 'test'
    ? names.filter((n) => n === TEST_FILE)
    : names.filter((n) => TRAIN_FILE.test(n)).sort((a, b) => Number(TRAIN_FILE.exec(a)![1]) - Number(TRAIN_FILE.exec(b)![1]));
  if (files.length === 0) {
    throw new Error(`${where}: no ${split} files in ${dir}: expected ${split === 'test' ? TEST_FILE : 'data_batch_1.bin … data_batch_5.bin'}`);
  }
  let classes = CIFAR10_CLASSES;
  const meta = await readFile(path.join(dir, 'batches.meta.txt'), 'utf8').catch(() => null);
  if (meta !== null) {
    const lines = meta.split(/\r?\n/).map((l) => l.trim()).filter(Boolean);
    if (lines.length > 0) classes = Object.freeze(lines);
  }
  const contents = await Promise.all(files.map(async (name) => {
    const file = path.join(dir, name);
    const bytes = await readFile(file).catch((err: Error) => { throw new Error(`${where}: cannot read ${file}: ${err.message}`, { cause: err }); });
    if (bytes.length === 0 || bytes.length % RECORD !== 0) {
      throw new Error(`${file}: not a CIFAR-10 binary file: its size (${bytes.length} bytes) is not a multiple of the ${RECORD}-byte record (1 label byte + 3072 pixel bytes)${bytes.length > RECORD ? `; ${bytes.length % RECORD} bytes left over (truncated?)` : ''}`);
    }
    return { file, bytes };
  }));
  const n = contents.reduce((s, c) => s + c.bytes.length / RECORD, 0);
  const pixels = new Uint8Array(n * (RECORD - 1));
  const labels = new Uint8Array(n);
  let k = 0;
  for (const { file, bytes } of contents) {
    for (let off = 0; off < bytes.length; off += RECORD, k++) {
      const label = bytes[off]!;
      if (label >= classes.length) {
        throw new RangeError(`${file}: record ${off / RECORD} has label ${label}, but there are ${classes.length} classes (${classes.join(', ')})`);
      }
      labels[k] = label;
      pixels.set(bytes.subarray(off + 1, off + RECORD), k * (RECORD - 1));
    }
  }
  const x = tensor(pixels, { shape: [n, 3, 32, 32] });
  let y;
  try {
    y = tensor(labels);
  } catch (err) {
    x.dispose();
    throw err;
  }
  try {
    return tensorDatastore(x, y, { classes, source: files.length === 1 ? path.join(dir, files[0]!) : dir, own: true });
  } catch (err) {
    x.dispose();
    y.dispose();
    throw err;
  }
}
