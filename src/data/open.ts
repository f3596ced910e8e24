// Opening a data set by name or path, as the CLI and scripts name them.
import { existsSync, readdirSync, statSync } from 'node:fs';
import type { Datastore } from './datastore.js';
import { fashionMnist, idxDatastore } from './idx.js';

const IDX_FILE = /(idx[13]-ubyte|\.idx[13]-ubyte)(\.gz)?$/;

/**
 * 'fashion-mnist' (Debian's dataset-fashion-mnist), or a folder of IDX files
 * (train-images-idx3-ubyte[.gz], t10k-…).
 */
export async function openDatastore(spec: string, split: 'train' | 'test'): Promise<Datastore> {
  if (spec === 'fashion-mnist') return fashionMnist(split);
  if (!existsSync(spec)) throw new Error(`no data set named '${spec}': give 'fashion-mnist' or a folder of IDX files`);
  if (!statSync(spec).isDirectory()) throw new Error(`${spec} is a file: give a folder of IDX files`);
  const files = readdirSync(spec);
  if (files.some((f) => IDX_FILE.test(f))) return idxDatastore(spec, { split });
  throw new Error(`${spec} holds no IDX files (train-images-idx3-ubyte[.gz], t10k-images-idx3-ubyte[.gz], …)`);
}
