// Atomic writes: a temp file in the same folder, fsync, rename. A crash or Ctrl-C mid-write
// leaves the previous file intact and no partial file behind.
import { open, rename, unlink, mkdir } from 'node:fs/promises';
import path from 'node:path';

export async function writeFileAtomic(file: string, data: string | Uint8Array): Promise<void> {
  await mkdir(path.dirname(path.resolve(file)), { recursive: true });
  const tmp = path.join(path.dirname(path.resolve(file)), `.${path.basename(file)}.${process.pid}.${Date.now()}.tmp`);
  const fh = await open(tmp, 'w');
  try {
    await fh.writeFile(data);
    await fh.sync();
  } catch (err) {
    await fh.close().catch(() => {});
    await unlink(tmp).catch(() => {});
    throw new Error(`could not write ${file}: ${(err as Error).message}`);
  }
  await fh.close();
  try {
    await rename(tmp, file);
  } catch (err) {
    await unlink(tmp).catch(() => {});
    throw new Error(`could not write ${file}: ${(err as Error).message}`);
  }
}
