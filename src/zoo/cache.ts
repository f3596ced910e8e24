// Where downloaded weights live: $DLKIT_HOME (default ~/.cache/dlkit), one file per weight file
// under weights/, named as on its server. A file is in the cache only once it has been verified
// (downloads go to <file>.part and are renamed into place), so presence means usable.
import { statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** dlkit's data folder: `home` if given, else $DLKIT_HOME, else ~/.cache/dlkit. */
export function dlkitHome(home?: string): string {
  const h = home ?? process.env.DLKIT_HOME;
  if (h !== undefined && h !== '') return path.resolve(h);
  return path.join(os.homedir(), '.cache', 'dlkit');
}

/** The cache folder for weight files. */
export function weightsDir(home?: string): string {
  return path.join(dlkitHome(home), 'weights');
}

/** Where the weight file `file` (a bare file name) is kept. */
export function cachedWeightsPath(file: string, home?: string): string {
  if (file !== path.basename(file) || file === '' || file === '.' || file === '..') {
    throw new RangeError(`weight file name must be a bare file name, got '${file}'`);
  }
  return path.join(weightsDir(home), file);
}

/** The file's size when it is a regular file, else null. */
export function fileSize(file: string): number | null {
  try {
    const s = statSync(file);
    return s.isFile() ? s.size : null;
  } catch {
    return null;
  }
}
