// Just enough of the ZIP format to read torch.save archives, with Node built-ins: the end of
// central directory record (and its ZIP64 form, for archives past 4 GiB or 65,535 entries), the
// central directory, then each entry on demand through its local header. PyTorch writes entries
// stored (uncompressed) and 64-byte aligned; deflated entries (an archive someone re-zipped) are
// inflated with node:zlib. Only the bytes asked for are read, so large archives need no more
// memory than their largest entry.
import type { FileHandle } from 'node:fs/promises';
import zlib from 'node:zlib';

export class ZipError extends Error {
  constructor(readonly file: string, message: string) {
    super(`${file}: ${message}`);
    this.name = 'ZipError';
  }
}

export interface ZipEntry {
  name: string;
  /** 0: stored, 8: deflated. */
  method: number;
  crc32: number;
  compressedSize: number;
  size: number;
  localHeaderOffset: number;
}

const EOCD = 0x06054b50;
const ZIP64_LOCATOR = 0x07064b50;
const ZIP64_EOCD = 0x06064b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;
const MAX_COMMENT = 0xffff;

async function readAt(fh: FileHandle, position: number, length: number, file: string, what: string): Promise<Buffer> {
  const buf = Buffer.alloc(length);
  const { bytesRead } = await fh.read(buf, 0, length, position);
  if (bytesRead !== length) throw new ZipError(file, `truncated zip archive: ${what} at byte ${position} needs ${length} bytes, the file ends after ${bytesRead}`);
  return buf;
}

function u64(b: Buffer, at: number, file: string, what: string): number {
  const v = b.readBigUInt64LE(at);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new ZipError(file, `corrupt zip archive: ${what} is ${v}`);
  return Number(v);
}

/** The central directory of the zip archive in `fh`: entries by name. */
export async function readZipDirectory(fh: FileHandle, fileSize: number, file: string): Promise<Map<string, ZipEntry>> {
  if (fileSize < 22) throw new ZipError(file, `truncated zip archive: ${fileSize} bytes, too short for the end of central directory record (22)`);
  const tailLength = Math.min(fileSize, 22 + MAX_COMMENT);
  const tailStart = fileSize - tailLength;
  const tail = await readAt(fh, tailStart, tailLength, file, 'the end of the archive');
  let at = -1;
  for (let i = tail.length - 22; i >= 0; i--) {
    if (tail.readUInt32LE(i) === EOCD && i + 22 + tail.readUInt16LE(i + 20) <= tail.length) { at = i; break; }
  }
  if (at < 0) throw new ZipError(file, 'truncated or corrupt zip archive: no end of central directory record in the last 64 KiB');
  let count = tail.readUInt16LE(at + 10);
  let dirSize = tail.readUInt32LE(at + 12);
  let dirOffset = tail.readUInt32LE(at + 16);
  if (count === 0xffff || dirSize === 0xffffffff || dirOffset === 0xffffffff) {
    // ZIP64: a locator just before the record points to the ZIP64 end of central directory.
    const locAt = tailStart + at - 20;
    const loc = locAt >= 0 ? await readAt(fh, locAt, 20, file, 'the ZIP64 locator') : null;
    if (!loc || loc.readUInt32LE(0) !== ZIP64_LOCATOR) throw new ZipError(file, 'corrupt zip archive: its sizes need ZIP64, but there is no ZIP64 locator');
    const recAt = u64(loc, 8, file, 'the ZIP64 record offset');
    const rec = await readAt(fh, recAt, 56, file, 'the ZIP64 end of central directory');
    if (rec.readUInt32LE(0) !== ZIP64_EOCD) throw new ZipError(file, `corrupt zip archive: no ZIP64 end of central directory record at byte ${recAt}`);
    count = u64(rec, 32, file, 'the entry count');
    dirSize = u64(rec, 40, file, 'the central directory size');
    dirOffset = u64(rec, 48, file, 'the central directory offset');
  }
  if (dirOffset + dirSize > fileSize) {
    throw new ZipError(file, `truncated zip archive: the central directory (${dirSize} bytes at byte ${dirOffset}) ends past the end of the file (${fileSize} bytes)`);
  }
  const dir = await readAt(fh, dirOffset, dirSize, file, 'the central directory');
  const entries = new Map<string, ZipEntry>();
  let p = 0;
  for (let i = 0; i < count; i++) {
    if (p + 46 > dir.length || dir.readUInt32LE(p) !== CENTRAL) throw new ZipError(file, `corrupt zip archive: central directory entry ${i + 1} of ${count} is not where expected (byte ${dirOffset + p})`);
    const nameLength = dir.readUInt16LE(p + 28), extraLength = dir.readUInt16LE(p + 30), commentLength = dir.readUInt16LE(p + 32);
    const name = dir.toString('utf8', p + 46, p + 46 + nameLength);
    let compressedSize = dir.readUInt32LE(p + 20);
    let size = dir.readUInt32LE(p + 24);
    let localHeaderOffset = dir.readUInt32LE(p + 42);
    // The ZIP64 extra field holds, in this order, the 8-byte values of the fields set to 0xffffffff.
    let e = p + 46 + nameLength;
    const extraEnd = e + extraLength;
    while (e + 4 <= extraEnd) {
      const id = dir.readUInt16LE(e), len = dir.readUInt16LE(e + 2);
      if (id === 0x0001) {
        let f = e + 4;
        if (size === 0xffffffff) { size = u64(dir, f, file, `the size of '${name}'`); f += 8; }
        if (compressedSize === 0xffffffff) { compressedSize = u64(dir, f, file, `the compressed size of '${name}'`); f += 8; }
        if (localHeaderOffset === 0xffffffff) { localHeaderOffset = u64(dir, f, file, `the offset of '${name}'`); }
      }
      e += 4 + len;
    }
    entries.set(name, { name, method: dir.readUInt16LE(p + 10), crc32: dir.readUInt32LE(p + 16), compressedSize, size, localHeaderOffset });
    p = extraEnd + commentLength;
  }
  return entries;
}

/** The bytes of one entry, checked against its CRC-32. */
export async function readZipEntry(fh: FileHandle, entry: ZipEntry, fileSize: number, file: string): Promise<Buffer> {
  const header = await readAt(fh, entry.localHeaderOffset, 30, file, `the local header of '${entry.name}'`);
  if (header.readUInt32LE(0) !== LOCAL) throw new ZipError(file, `corrupt zip archive: no local header for '${entry.name}' at byte ${entry.localHeaderOffset}`);
  const dataAt = entry.localHeaderOffset + 30 + header.readUInt16LE(26) + header.readUInt16LE(28);
  if (dataAt + entry.compressedSize > fileSize) {
    throw new ZipError(file, `truncated zip archive: '${entry.name}' needs ${entry.compressedSize} bytes at byte ${dataAt}, the file has ${fileSize} bytes`);
  }
  const raw = await readAt(fh, dataAt, entry.compressedSize, file, `'${entry.name}'`);
  let data: Buffer;
  if (entry.method === 0) data = raw;
  else if (entry.method === 8) data = zlib.inflateRawSync(raw);
  else throw new ZipError(file, `'${entry.name}' uses zip compression method ${entry.method}; only stored (0) and deflated (8) entries are read`);
  if (data.length !== entry.size) throw new ZipError(file, `corrupt zip archive: '${entry.name}' should hold ${entry.size} bytes, got ${data.length}`);
  // torch.serialization.set_crc32_options(False) writes 0 for every entry: nothing to check then.
  const crc = entry.crc32 === 0 ? 0 : zlib.crc32(data) >>> 0;
  if (crc !== entry.crc32) throw new ZipError(file, `corrupt zip archive: '${entry.name}' fails its CRC-32 check (expected ${entry.crc32.toString(16)}, got ${crc.toString(16)})`);
  return data;
}
