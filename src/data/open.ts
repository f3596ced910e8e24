// Opening a data set by name or path, as the CLI and scripts name them.
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Datastore } from './datastore.js';
import { fashionMnist, idxDatastore } from './idx.js';
import { cifar10Binary, findCifar10Folder } from './cifar.js';
import { IMAGE_EXTENSIONS, imageDatastore, type ImageDatastoreOptions } from './image-datastore.js';

const IDX_FILE = /(idx[13]-ubyte|\.idx[13]-ubyte)(\.gz)?$/;
/** Subfolder names taken as the test split of an image folder, in order of preference. */
const TEST_FOLDERS = ['test', 'val', 'validation'];

export interface OpenOptions {
  /** Image folders: [height, width] (or [channels, height, width]) every image is resized to. Required for image folders. */
  inputSize?: readonly number[];
  /** Image folders: 1 (grayscale) or 3 (RGB, default). */
  channels?: 1 | 3;
  /** Image folders: class names in label order (e.g. a trained network's classes). */
  classes?: readonly string[];
  /** Image folders: stop at the first unusable file instead of skipping it. */
  strict?: boolean;
  /** Image folders: any other imageDatastore option (workers, cacheBytes, …). */
  image?: Omit<ImageDatastoreOptions, 'size' | 'channels' | 'classes' | 'strict'>;
}

const isImage = (name: string) => IMAGE_EXTENSIONS.includes(path.extname(name).toLowerCase());
const subdirs = (dir: string) => readdirSync(dir, { withFileTypes: true })
  .filter((e) => !e.name.startsWith('.') && (e.isDirectory() || (e.isSymbolicLink() && statSync(path.join(dir, e.name)).isDirectory())))
  .map((e) => e.name);

/** Subfolders of `dir` that hold image files directly: its class folders. */
function classFolders(dir: string): string[] {
  return subdirs(dir).filter((d) => readdirSync(path.join(dir, d)).some((f) => !f.startsWith('.') && isImage(f))).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

async function openImages(folder: string, split: 'train' | 'test', options: OpenOptions, classes: readonly string[] | undefined): Promise<Datastore> {
  const where = `${folder}`;
  if (!options.inputSize) {
    throw new Error(`${where} is a folder of images: give the size to resize them to (dlkit train: --input-size H,W; openDatastore: { inputSize: [H, W] })`);
  }
  const s = options.inputSize;
  if (s.length !== 2 && s.length !== 3) throw new RangeError(`inputSize must be [height, width] or [channels, height, width], got [${s.join(', ')}]`);
  const channels = (s.length === 3 ? s[0] : options.channels ?? 3) as 1 | 3;
  if (channels !== 1 && channels !== 3) throw new RangeError(`image folders give 1 (grayscale) or 3 (RGB) channels, not ${channels}`);
  const ds = await imageDatastore(folder, {
    ...options.image, size: s.slice(-2), channels, strict: options.strict ?? false,
    ...(classes && { classes }),
  });
  if (split === 'train' && ds.classes && ds.classes.length < 2) {
    throw new Error(`${ds.warnings.find((w) => w.includes('only one class')) ?? `${ds.source}: only one class`}; a classifier needs images in at least two class folders (${folder}/<class>/<image>)`);
  }
  return ds;
}

/**
 * Opens a data set for a split:
 * - 'fashion-mnist' (Debian's dataset-fashion-mnist), or a folder of IDX files
 *   (train-images-idx3-ubyte[.gz], t10k-…);
 * - a folder of CIFAR-10 binary files (data_batch_N.bin, test_batch.bin);
 * - a folder with train/ and test/ (or val/) subfolders of class folders: the split's subfolder;
 * - a folder of class folders (<folder>/<class>/<image>): the whole folder, for either split
 *   (it has no separate test split).
 * Image folders need `inputSize`.
 */
export async function openDatastore(spec: string, split: 'train' | 'test', options: OpenOptions = {}): Promise<Datastore> {
  if (spec === 'fashion-mnist') return fashionMnist(split);
  if (!existsSync(spec)) throw new Error(`no data set named '${spec}': give 'fashion-mnist', a folder of IDX or CIFAR-10 binary files, or a folder of images in class subfolders`);
  if (!statSync(spec).isDirectory()) throw new Error(`${spec} is a file: give a folder (IDX files, CIFAR-10 .bin files, or images in class subfolders)`);
  const files = readdirSync(spec);
  if (files.some((f) => IDX_FILE.test(f))) return idxDatastore(spec, { split });
  if (await findCifar10Folder(spec)) return cifar10Binary(spec, split);
  const dirs = subdirs(spec);
  const testDir = TEST_FOLDERS.find((d) => dirs.includes(d));
  if (dirs.includes('train') && testDir && classFolders(path.join(spec, 'train')).length > 0) {
    // Both splits get the training folder's classes, so a label means the same in each.
    const classes = options.classes ?? classFolders(path.join(spec, 'train'));
    return openImages(path.join(spec, split === 'train' ? 'train' : testDir), split, options, classes);
  }
  if (classFolders(spec).length > 0) return openImages(spec, split, options, options.classes);
  if (files.some((f) => isImage(f))) {
    throw new Error(`${spec} holds images but no class subfolders: labels come from folder names, so put each class's images in its own subfolder (${spec}/<class>/<image>)`);
  }
  throw new Error(`${spec} holds no IDX files, no CIFAR-10 .bin files and no class subfolders of images (.jpg, .png, …)`);
}
