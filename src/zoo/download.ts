// Downloads one file over HTTP(S) with Node's built-in fetch: the bytes go to <file>.part, a
// partial .part is resumed with a Range request (and started over when the server answers 200
// instead of 206), redirects are followed (GitHub's raw URLs redirect), a stalled transfer times
// out, and the size and checksums are verified before the .part is renamed into place, so the
// target path only ever holds a verified file. A file that fails verification is deleted. An
// interrupted or timed-out download keeps its .part for the next call to resume.
import { createReadStream } from 'node:fs';
import { mkdir, open, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import path from 'node:path';

export interface Checksum {
  algorithm: 'sha256' | 'sha1';
  /** Hex digest, or its leading digits when `prefix` is set. */
  hex: string;
  /** Only the leading digits are known (torch-hub file names carry the SHA-256's first 8). */
  prefix?: boolean;
}

/** What a downloaded file must be. */
export interface FileExpectation {
  /** Exact size in bytes. */
  size?: number | null;
  /** Size in MiB rounded to 3 decimals, when the exact size is not known. */
  sizeMiB?: number;
  checksums?: readonly Checksum[];
}

export interface DownloadOptions extends FileExpectation {
  /** Called as bytes arrive: bytes in the file so far (a resumed part included) and the total when known. */
  onProgress?: (bytes: number, total: number | null) => void;
  signal?: AbortSignal;
  /** The fetch to use (tests); default the global fetch. */
  fetch?: typeof globalThis.fetch;
  /** Give up when no bytes arrive for this long, in ms (default 60,000); the .part is kept. */
  timeoutMs?: number;
}

export type DownloadErrorCode = 'http' | 'network' | 'timeout' | 'size' | 'checksum';

/** A download that failed; `code` says how. */
export class DownloadError extends Error {
  constructor(readonly code: DownloadErrorCode, readonly url: string, readonly file: string, message: string, options?: { cause?: unknown; status?: number }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'DownloadError';
    if (options?.status !== undefined) this.status = options.status;
  }
  status?: number;
}

export interface DownloadResult {
  file: string;
  bytes: number;
  /** Bytes that were already in the .part and were kept. */
  resumedFrom: number;
  /** HTTP requests made (a restart after an ignored Range counts twice). */
  requests: number;
}

const MiB = 1024 * 1024;

/** Bytes a size in MiB rounded to 3 decimals can stand for: [low, high]. */
export function mibRange(mib: number): [number, number] {
  return [Math.ceil((mib - 0.0005) * MiB), Math.floor((mib + 0.0005) * MiB)];
}

function putItAt(url: string, file: string): string {
  return `download ${url} some other way and put it at ${file}`;
}

/** Hashes a file with every algorithm the checksums name. */
async function digests(file: string, algorithms: readonly string[], signal?: AbortSignal): Promise<Map<string, string>> {
  const hashes = new Map(algorithms.map((a) => [a, createHash(a)]));
  const stream = createReadStream(file, { highWaterMark: MiB, signal });
  for await (const chunk of stream) for (const h of hashes.values()) h.update(chunk as Buffer);
  return new Map([...hashes].map(([a, h]) => [a, h.digest('hex')]));
}

/**
 * Checks `file`'s size and checksums; throws a DownloadError naming the file, what was expected
 * and what it is. `label` names the file in messages (the target path, when checking a .part).
 */
export async function verifyFile(file: string, expect: FileExpectation, { url = '', label = file, signal }: { url?: string; label?: string; signal?: AbortSignal } = {}): Promise<void> {
  const size = (await stat(file)).size;
  if (expect.size !== undefined && expect.size !== null && size !== expect.size) {
    throw new DownloadError('size', url, label, `${label}: expected ${expect.size} bytes, got ${size}`);
  }
  if ((expect.size === undefined || expect.size === null) && expect.sizeMiB !== undefined) {
    const [lo, hi] = mibRange(expect.sizeMiB);
    if (size < lo || size > hi) throw new DownloadError('size', url, label, `${label}: expected ${expect.sizeMiB} MiB (${lo} to ${hi} bytes), got ${size} bytes`);
  }
  const sums = expect.checksums ?? [];
  if (sums.length === 0) return;
  const got = await digests(file, [...new Set(sums.map((c) => c.algorithm))], signal);
  for (const c of sums) {
    const actual = got.get(c.algorithm)!;
    const want = c.hex.toLowerCase();
    const ok = c.prefix ? actual.startsWith(want) : actual === want;
    if (!ok) {
      throw new DownloadError('checksum', url, label, `${label}: ${c.algorithm.toUpperCase()} mismatch: expected ${want}${c.prefix ? '… (prefix)' : ''}, got ${actual}`);
    }
  }
}

/** Content-Range: bytes <start>-<end>/<total|*>. */
function parseContentRange(v: string | null): { start: number; total: number | null } | null {
  const m = v ? /^bytes\s+(\d+)-(\d+)\/(\d+|\*)$/i.exec(v.trim()) : null;
  return m ? { start: Number(m[1]), total: m[3] === '*' ? null : Number(m[3]) } : null;
}

const isAbort = (err: unknown) => (err as Error)?.name === 'AbortError';

/** What a fetch failure says: the system error code of its cause where there is one. */
function describeNetworkError(err: unknown): string {
  let e = err as { message?: string; code?: string; cause?: unknown } | undefined;
  const parts: string[] = [];
  for (let depth = 0; e && depth < 4; depth++, e = e.cause as typeof e) {
    const text = e.code && !String(e.message).includes(e.code) ? `${e.code}: ${e.message}` : String(e.message);
    if (text && !parts.includes(text)) parts.push(text);
  }
  return parts.join(': ') || String(err);
}

/**
 * Downloads `url` to `file` (its folder is created), resuming `<file>.part` if one is there,
 * and verifies it. Resolves once `file` holds the verified bytes.
 */
export async function downloadFile(url: string, file: string, options: DownloadOptions = {}): Promise<DownloadResult> {
  const { onProgress, signal, timeoutMs = 60_000 } = options;
  const doFetch = options.fetch ?? globalThis.fetch;
  const expected = options.size ?? null;
  const part = `${file}.part`;
  signal?.throwIfAborted();
  await mkdir(path.dirname(path.resolve(file)), { recursive: true });

  let requests = 0;
  let resumedFrom = 0;
  let fresh = false; // set once a download started from zero: no further restarts
  for (;;) {
    let have = fresh ? 0 : await stat(part).then((s) => s.size, () => 0);
    if (expected !== null && have > expected) { await rm(part, { force: true }); have = 0; }
    if (have === 0) fresh = true;

    const idle = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(() => idle.abort(new DownloadError('timeout', url, file, `${url}: no data for ${timeoutMs / 1000} s; ${putItAt(url, file)} (the partial download ${part} is kept and resumed next time)`)), timeoutMs);
    };
    const combined = signal ? AbortSignal.any([signal, idle.signal]) : idle.signal;
    // A failed request or read: the timeout's own error, the caller's abort, or a network error.
    const networkError = (err: unknown): unknown => {
      if (idle.signal.aborted && idle.signal.reason instanceof DownloadError) return idle.signal.reason;
      if (signal?.aborted || isAbort(err)) return signal?.reason ?? err;
      return new DownloadError('network', url, file, `cannot download ${path.basename(file)} from ${url} (${describeNetworkError(err)}); ${putItAt(url, file)}`, { cause: err });
    };
    let fh: FileHandle | undefined;
    try {
      arm();
      let res: Response;
      try {
        requests++;
        res = await doFetch(url, { headers: have > 0 ? { Range: `bytes=${have}-` } : {}, redirect: 'follow', signal: combined });
      } catch (err) {
        throw networkError(err);
      }
      if (res.status === 416 && have > 0) {
        // The part may already be whole (the server has nothing past it); otherwise start over.
        await res.body?.cancel();
        try {
          await verifyFile(part, options, { url, label: file, signal });
          await rename(part, file);
          return { file, bytes: have, resumedFrom: have, requests };
        } catch (err) {
          if (isAbort(err)) throw err;
          await rm(part, { force: true });
          fresh = true;
          continue;
        }
      }
      if (!res.ok) {
        await res.body?.cancel().catch(() => {});
        throw new DownloadError('http', url, file, `${url}: HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''}; ${putItAt(url, file)}`, { status: res.status });
      }
      let offset = 0;
      let total: number | null = null;
      if (res.status === 206 && have > 0) {
        const range = parseContentRange(res.headers.get('content-range'));
        if (!range || range.start !== have) {
          // A range other than the one asked for: keep nothing and start again from zero.
          await res.body?.cancel();
          await rm(part, { force: true });
          fresh = true;
          continue;
        }
        offset = have;
        total = range.total;
      } else {
        // 200: the whole file (a server that ignores Range restarts the part from zero).
        const len = res.headers.get('content-length');
        total = len !== null && /^\d+$/.test(len) ? Number(len) : null;
      }
      if (expected !== null && total !== null && total !== expected) {
        await res.body?.cancel();
        throw new DownloadError('size', url, file, `${file}: expected ${expected} bytes, ${url} announces ${total}; ${putItAt(url, file)}`);
      }
      total ??= expected;
      resumedFrom = offset;
      fh = await open(part, offset > 0 ? 'r+' : 'w');
      let written = offset;
      onProgress?.(written, total);
      if (res.body) {
        const reader = res.body.getReader();
        let done = false;
        try {
          while (!done) {
            let chunk: Awaited<ReturnType<typeof reader.read>>;
            try {
              chunk = await reader.read();
            } catch (err) {
              throw networkError(err);
            }
            done = chunk.done;
            if (chunk.done) break;
            arm();
            await fh.write(chunk.value, 0, chunk.value.length, written);
            written += chunk.value.length;
            onProgress?.(written, total);
          }
        } finally {
          if (!done) await reader.cancel().catch(() => {});
          reader.releaseLock();
        }
      }
      await fh.truncate(written);
      await fh.sync();
      await fh.close();
      fh = undefined;
      clearTimeout(timer);
      try {
        await verifyFile(part, options, { url, label: file, signal });
      } catch (err) {
        if (!isAbort(err)) await rm(part, { force: true });
        throw err;
      }
      await rename(part, file);
      try {
        const d = await open(path.dirname(path.resolve(file)), 'r');
        try { await d.sync(); } finally { await d.close(); }
      } catch { /* not every file system lets a directory be synced */ }
      return { file, bytes: written, resumedFrom, requests };
    } finally {
      clearTimeout(timer);
      await fh?.close().catch(() => {});
    }
  }
}
