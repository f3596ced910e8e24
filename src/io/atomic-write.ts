// Atomic file writes for everything dlkit saves: the bytes go to a temporary file in the same
// folder, which is synced and renamed over the target. On any failure the temporary file is
// removed and an existing file is left as it was; a reader never sees half a file.
import { open, rename, rm } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import path from 'node:path';

/**
 * Writes `bytes` to `file` atomically. `beforeRename` (tests) runs after the temporary file is
 * written and synced: throwing there simulates a failure at the last moment. Errors are the
 * file system's, for the caller to wrap with what it was saving.
 */
export async function writeFileAtomic(file: string, bytes: Uint8Array, beforeRename?: (tempPath: string) => void | Promise<void>): Promise<void> {
  const dir = path.dirname(path.resolve(file));
  const temp = path.join(dir, `.${path.basename(file)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  let fh;
  try {
    fh = await open(temp, 'wx');
    await fh.writeFile(bytes);
    await fh.sync();
    await fh.close();
    fh = undefined;
    await beforeRename?.(temp);
    await rename(temp, file);
  } catch (err) {
    await fh?.close().catch(() => {});
    await rm(temp, { force: true }).catch(() => {});
    throw err;
  }
  // Make the rename itself durable; not every file system lets a directory be synced.
  try {
    const d = await open(dir, 'r');
    try { await d.sync(); } finally { await d.close(); }
  } catch { /* best effort */ }
}
