// The IDX format (MNIST, Fashion-MNIST): a 4-byte magic (0x00 0x00, a type code, the number of
// dimensions), one big-endian uint32 per dimension, then the values, big-endian, row-major.
// Files may be gzipped (detected by the gzip magic bytes 1f 8b, not by the name).
import { readFile, readdir, stat } from 'node:fs/promises';
import { gunzip } from 'node:zlib';
import { promisify } from 'node:util';
import path from 'node:path';
import { tensor } from '../tensor/create.js';
import { tensorDatastore, type TensorDatastore } from './tensor-datastore.js';

const gunzipAsync = promisify(gunzip);

export type IdxType = 'uint8' | 'int8' | 'int16' | 'int32' | 'float32' | 'float64';
export type IdxArray = Uint8Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array;

export interface IdxData {
  /** The file read. */
  path: string;
  /** The 4-byte magic number, e.g. 0x00000803 (unsigned bytes, 3 dimensions). */
  magic: number;
  type: IdxType;
  shape: number[];
  /** The values in row-major order (converted from big-endian). */
  data: IdxArray;
}

const TYPES: Record<number, { type: IdxType; bytes: number }> = {
  0x08: { type: 'uint8', bytes: 1 },
  0x09: { type: 'int8', bytes: 1 },
  0x0b: { type: 'int16', bytes: 2 },
  0x0c: { type: 'int32', bytes: 4 },
  0x0d: { type: 'float32', bytes: 4 },
  0x0e: { type: 'float64', bytes: 8 },
};

/** Magic numbers of the two files a classification set has. */
export const IDX_IMAGES_MAGIC = 0x00000803;
export const IDX_LABELS_MAGIC = 0x00000801;

const hex = (n: number) => `0x${n.toString(16).padStart(8, '0')}`;

function isGzip(b: Uint8Array): boolean {
  return b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b;
}

/** Parses IDX bytes (already inflated). `file` names the source in errors. */
export function decodeIdx(bytes: Uint8Array, file: string): IdxData {
  if (bytes.length < 4) throw new Error(`${file}: not an IDX file: expected at least a 4-byte header, got ${bytes.length} bytes`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = view.getUint32(0, false);
  const code = bytes[2]!;
  const ndim = bytes[3]!;
  const t = TYPES[code];
  if (bytes[0] !== 0 || bytes[1] !== 0 || !t || ndim === 0) {
    throw new Error(`${file}: not an IDX file: expected a magic number 0x000008NN–0x00000eNN (0x00000803 for images, 0x00000801 for labels), got ${hex(magic)}`);
  }
  const headerBytes = 4 + 4 * ndim;
  if (bytes.length < headerBytes) {
    throw new Error(`${file}: truncated IDX header: ${ndim} dimensions need ${headerBytes} bytes, got ${bytes.length}`);
  }
  const shape: number[] = [];
  for (let d = 0; d < ndim; d++) shape.push(view.getUint32(4 + 4 * d, false));
  const count = shape.reduce((a, b) => a * b, 1);
  const expected = count * t.bytes;
  const got = bytes.length - headerBytes;
  if (got < expected) {
    throw new Error(`${file}: truncated IDX data: shape [${shape.join(', ')}] of ${t.type} needs ${expected} bytes after the ${headerBytes}-byte header, got ${got}`);
  }
  if (got > expected) {
    throw new Error(`${file}: IDX data has ${got - expected} bytes more than shape [${shape.join(', ')}] of ${t.type} needs: expected ${expected} bytes after the ${headerBytes}-byte header, got ${got}`);
  }
  const off = headerBytes;
  let data: IdxArray;
  switch (t.type) {
    case 'uint8': data = bytes.subarray(off, off + expected); break;
    case 'int8': data = new Int8Array(bytes.buffer, bytes.byteOffset + off, count); break;
    case 'int16': { const a = new Int16Array(count); for (let i = 0; i < count; i++) a[i] = view.getInt16(off + 2 * i, false); data = a; break; }
    case 'int32': { const a = new Int32Array(count); for (let i = 0; i < count; i++) a[i] = view.getInt32(off + 4 * i, false); data = a; break; }
    case 'float32': { const a = new Float32Array(count); for (let i = 0; i < count; i++) a[i] = view.getFloat32(off + 4 * i, false); data = a; break; }
    case 'float64': { const a = new Float64Array(count); for (let i = 0; i < count; i++) a[i] = view.getFloat64(off + 8 * i, false); data = a; break; }
  }
  return { path: file, magic, type: t.type, shape, data };
}

/** Reads an IDX file, gzipped or not. Errors name the file and say what was expected. */
export async function readIdx(file: string): Promise<IdxData> {
  let raw: Buffer;
  try {
    raw = await readFile(file);
  } catch (err) {
    throw new Error(`readIdx: cannot read ${file}: ${(err as Error).message}`, { cause: err });
  }
  let bytes: Uint8Array = raw;
  if (isGzip(raw)) {
    try {
      bytes = await gunzipAsync(raw);
    } catch (err) {
      throw new Error(`${file}: gzip data is corrupt or truncated (${(err as Error).message})`, { cause: err });
    }
  }
  return decodeIdx(bytes, file);
}

// ---- datastores -------------------------------------------------------------

export type IdxSplit = 'train' | 'test';

export interface IdxDatastoreOptions {
  split: IdxSplit;
  /** Class names indexed by label (default '0', '1', … up to the largest label). */
  classes?: readonly string[];
}

const PREFIX: Record<IdxSplit, string> = { train: 'train', test: 't10k' };

/** The file names a split's images or labels may have, in the order they are looked for. */
function candidates(split: IdxSplit, kind: 'images' | 'labels'): string[] {
  const p = PREFIX[split];
  const rank = kind === 'images' ? 3 : 1;
  const names = [`${p}-${kind}-idx${rank}-ubyte`, `${p}-${kind}.idx${rank}-ubyte`];
  return names.flatMap((n) => [n, `${n}.gz`]);
}

function findFile(entries: Set<string>, folder: string, split: IdxSplit, kind: 'images' | 'labels'): string {
  const names = candidates(split, kind);
  for (const n of names) if (entries.has(n)) return path.join(folder, n);
  throw new Error(
    `idxDatastore: ${folder} has no ${split} ${kind} file: expected ${path.join(folder, names[0]!)} ` +
    `(or ${names.slice(1).join(', ')})`,
  );
}

function expectKind(d: IdxData, magic: number, what: string): void {
  if (d.magic !== magic) {
    throw new Error(`${d.path}: expected an IDX ${what} file (magic ${hex(magic)}: unsigned bytes, ${magic & 0xff} dimension${(magic & 0xff) > 1 ? 's' : ''}), got magic ${hex(d.magic)} (${d.type}, shape [${d.shape.join(', ')}])`);
  }
}

/**
 * A datastore over an IDX image/label pair in `folder`: `train-images-idx3-ubyte` and
 * `train-labels-idx1-ubyte` for split 'train', `t10k-*` for 'test' (each optionally `.gz`;
 * the `train-images.idx3-ubyte` naming of some mirrors works too). Observations are
 * [1, H, W] with raw 0–255 values; the datastore owns its tensors (dispose() frees them).
 */
export async function idxDatastore(folder: string, options: IdxDatastoreOptions): Promise<TensorDatastore> {
  const split = options?.split;
  if (split !== 'train' && split !== 'test') throw new TypeError(`idxDatastore: split must be 'train' or 'test', got ${JSON.stringify(split)}`);
  let entries: Set<string>;
  try {
    if (!(await stat(folder)).isDirectory()) throw new Error('not a directory');
    entries = new Set(await readdir(folder));
  } catch (err) {
    throw new Error(`idxDatastore: cannot read the folder ${folder}: ${(err as Error).message}`, { cause: err });
  }
  const imagesPath = findFile(entries, folder, split, 'images');
  const labelsPath = findFile(entries, folder, split, 'labels');
  const [images, labels] = await Promise.all([readIdx(imagesPath), readIdx(labelsPath)]);
  expectKind(images, IDX_IMAGES_MAGIC, 'images');
  expectKind(labels, IDX_LABELS_MAGIC, 'labels');
  const [n, h, w] = images.shape as [number, number, number];
  if (labels.shape[0] !== n) {
    throw new Error(`idxDatastore: ${imagesPath} has ${n} images but ${labelsPath} has ${labels.shape[0]} labels`);
  }
  const x = tensor(images.data as Uint8Array, { shape: [n, 1, h, w] });
  let y;
  try {
    y = tensor(labels.data as Uint8Array); // uint8; tensorDatastore converts to int64 once
  } catch (err) {
    x.dispose();
    throw err;
  }
  try {
    return tensorDatastore(x, y, { classes: options.classes, source: imagesPath, own: true });
  } catch (err) {
    x.dispose();
    y.dispose();
    throw new Error(`idxDatastore: ${labelsPath}: ${(err as Error).message}`, { cause: err });
  }
}

/** Fashion-MNIST's class names, indexed by label. */
export const FASHION_MNIST_CLASSES: readonly string[] = Object.freeze([
  'T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot',
]);
/** MNIST's class names: the digits. */
export const MNIST_CLASSES: readonly string[] = Object.freeze(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);

/** Where Debian's `dataset-fashion-mnist` package puts the files. */
export const FASHION_MNIST_FOLDER = '/usr/share/datasets/fashion-mnist';

/**
 * Fashion-MNIST (60,000 training / 10,000 test images, 28×28, 10 classes) from Debian's
 * `dataset-fashion-mnist` package, or from `folder`.
 */
export async function fashionMnist(split: IdxSplit = 'train', options: { folder?: string } = {}): Promise<TensorDatastore> {
  const folder = options.folder ?? FASHION_MNIST_FOLDER;
  const found = await stat(folder).then((s) => s.isDirectory(), () => false);
  if (!found) {
    throw new Error(
      `fashionMnist: ${folder} does not exist. Install Debian's dataset-fashion-mnist package ` +
      `(apt-get install dataset-fashion-mnist; \`npm run setup\` does it), or pass the folder holding the IDX files`,
    );
  }
  return idxDatastore(folder, { split, classes: FASHION_MNIST_CLASSES });
}

/** MNIST handwritten digits from a folder of its IDX files (gzipped or not). */
export async function mnist(folder: string, split: IdxSplit = 'train'): Promise<TensorDatastore> {
  return idxDatastore(folder, { split, classes: MNIST_CLASSES });
}
