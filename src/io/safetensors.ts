// The safetensors format (https://github.com/huggingface/safetensors), written by hand:
//
//   8 bytes   N, the header length, unsigned 64-bit little-endian
//   N bytes   a UTF-8 JSON object: { "<name>": { "dtype": "F32", "shape": [2, 3],
//             "data_offsets": [begin, end] }, …, "__metadata__": { "<key>": "<string>" } }
//             (padded with spaces so that the data starts 8-byte aligned)
//   the rest  the tensors' bytes, little-endian, row-major; offsets are relative to the start
//             of this part, and the tensors cover it exactly: no gaps, no overlaps.
//
// Writing follows the reference implementation: tensors ordered by descending dtype alignment,
// then by name (so every tensor's data is aligned), `__metadata__` first, compact JSON.
// Reading accepts any order and checks every offset before a byte of data is used.
import { open, readFile } from 'node:fs/promises';
import { writeFileAtomic } from './atomic-write.js';
import os from 'node:os';
import path from 'node:path';
import { native } from '../native/binding.js';
import { Tensor } from '../tensor/tensor.js';
import { dtypeCode, type DType } from '../tensor/dtype.js';

/** The dtype names of the format, as dlkit dtypes. */
const FROM_FORMAT: Record<string, DType> = {
  F64: 'float64', F32: 'float32', F16: 'float16', BF16: 'bfloat16',
  I64: 'int64', I32: 'int32', I16: 'int16', I8: 'int8', U8: 'uint8', BOOL: 'bool',
};
const TO_FORMAT: Record<DType, string> = {
  float64: 'F64', float32: 'F32', float16: 'F16', bfloat16: 'BF16',
  int64: 'I64', int32: 'I32', int16: 'I16', int8: 'I8', uint8: 'U8', bool: 'BOOL',
};
const ELEMENT_BYTES: Record<DType, number> = {
  float64: 8, float32: 4, float16: 2, bfloat16: 2, int64: 8, int32: 4, int16: 2, int8: 1, uint8: 1, bool: 1,
};
/** The reference implementation's dtype order (increasing alignment); the writer sorts by it, descending. */
const FORMAT_ORDER = ['BOOL', 'U8', 'I8', 'F8_E5M2', 'F8_E4M3', 'I16', 'U16', 'F16', 'BF16', 'I32', 'U32', 'F32', 'F64', 'I64', 'U64'];
/** Format dtypes that dlkit cannot hold (no libtorch dtype in dlkit), for a clearer error. */
const UNSUPPORTED = new Set(['U16', 'U32', 'U64', 'F8_E5M2', 'F8_E4M3']);

/** The reference implementation refuses headers larger than this. */
export const MAX_HEADER_BYTES = 100_000_000;
const METADATA_KEY = '__metadata__';

/** One tensor as the header describes it. */
export interface SafetensorsEntry {
  dtype: DType;
  shape: number[];
  /** [begin, end) relative to the start of the data part. */
  dataOffsets: [number, number];
}

export interface SafetensorsHeader {
  /** In header order. */
  tensors: Record<string, SafetensorsEntry>;
  metadata: Record<string, string>;
  /** Where the data part starts in the file (8 + header length). */
  dataStart: number;
}

export interface TensorSpec {
  shape: readonly number[];
  dtype: DType;
}

export interface DecodeOptions {
  /**
   * The names, shapes and dtypes the file must hold. Every difference (missing names,
   * unexpected names, shape and dtype mismatches) is reported in one error, and no tensor is
   * created when there is one.
   */
  expect?: Record<string, TensorSpec>;
}

export interface SafetensorsContents {
  /** The caller owns these tensors (dispose them, or load inside a `tidy`). */
  tensors: Record<string, Tensor>;
  metadata: Record<string, string>;
}

/** A problem with a safetensors file; `problems` lists each one (all of them, where found together). */
export class SafetensorsError extends Error {
  constructor(readonly file: string, readonly problems: string[], cause?: unknown) {
    super(
      problems.length === 1 ? `${file}: ${problems[0]}` : `${file}: ${problems.length} problems:\n${problems.map((p) => `  - ${p}`).join('\n')}`,
      cause === undefined ? undefined : { cause },
    );
    this.name = 'SafetensorsError';
  }
}

const fmtShape = (s: readonly number[]) => `[${s.join(', ')}]`;
const describe = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v === 'string' ? `'${v}'` : typeof v === 'object' ? 'an object' : `${typeof v} ${String(v)}`);

function checkEndianness(file: string): void {
  if (os.endianness() !== 'LE') throw new SafetensorsError(file, ['dlkit reads and writes safetensors only on little-endian machines']);
}

function compareUtf8(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

// ---- encoding -----------------------------------------------------------------

/**
 * The bytes of a safetensors file holding `tensors` (any device, any layout: they are copied
 * out as contiguous CPU data) and `metadata` (string values only, as the format requires).
 * `file` names the destination in errors.
 */
export function encodeSafetensors(tensors: Record<string, Tensor>, metadata?: Record<string, string>, file = '<buffer>'): Buffer {
  checkEndianness(file);
  const problems: string[] = [];
  if (tensors === null || typeof tensors !== 'object' || Array.isArray(tensors)) {
    throw new SafetensorsError(file, [`expected tensors as an object { name: Tensor }, got ${describe(tensors)}`]);
  }
  if (metadata !== undefined) {
    if (metadata === null || typeof metadata !== 'object' || Array.isArray(metadata)) {
      problems.push(`metadata must be an object of strings, got ${describe(metadata)}`);
    } else {
      for (const [k, v] of Object.entries(metadata)) {
        if (typeof v !== 'string') problems.push(`metadata '${k}': values must be strings (the format allows no other), got ${describe(v)}`);
      }
    }
  }
  const items: { name: string; t: Tensor; dtype: DType; shape: number[] }[] = [];
  for (const [name, t] of Object.entries(tensors)) {
    if (name === METADATA_KEY) { problems.push(`'${METADATA_KEY}' is reserved for metadata and cannot name a tensor`); continue; }
    if (!(t instanceof Tensor)) { problems.push(`'${name}': expected a Tensor, got ${describe(t)}`); continue; }
    if (t.isDisposed) { problems.push(`'${name}': the tensor was disposed`); continue; }
    items.push({ name, t, dtype: t.dtype, shape: [...t.shape] });
  }
  if (problems.length) throw new SafetensorsError(file, problems);

  items.sort((a, b) => FORMAT_ORDER.indexOf(TO_FORMAT[b.dtype]) - FORMAT_ORDER.indexOf(TO_FORMAT[a.dtype]) || compareUtf8(a.name, b.name));
  const chunks: Uint8Array[] = [];
  const entries: string[] = [];
  if (metadata !== undefined) {
    // Built by hand: JSON.stringify would move integer-like keys ('0', '1') to the front.
    const kv = Object.entries(metadata).map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`);
    entries.push(`${JSON.stringify(METADATA_KEY)}:{${kv.join(',')}}`);
  }
  let offset = 0;
  for (const { name, t, dtype, shape } of items) {
    const data = t.dataSync();
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    const expected = shape.reduce((a, b) => a * b, 1) * ELEMENT_BYTES[dtype];
    if (bytes.byteLength !== expected) {
      throw new SafetensorsError(file, [`'${name}': shape ${fmtShape(shape)} ${dtype} needs ${expected} bytes, the tensor gave ${bytes.byteLength}`]);
    }
    chunks.push(bytes);
    entries.push(`${JSON.stringify(name)}:{"dtype":${JSON.stringify(TO_FORMAT[dtype])},"shape":[${shape.join(',')}],"data_offsets":[${offset},${offset + bytes.byteLength}]}`);
    offset += bytes.byteLength;
  }
  const json = Buffer.from(`{${entries.join(',')}}`, 'utf8');
  const headerLength = Math.ceil(json.length / 8) * 8;
  if (headerLength > MAX_HEADER_BYTES) throw new SafetensorsError(file, [`the header would be ${headerLength} bytes, more than the format's limit of ${MAX_HEADER_BYTES}`]);
  const out = Buffer.allocUnsafe(8 + headerLength + offset);
  out.writeBigUInt64LE(BigInt(headerLength), 0);
  json.copy(out, 8);
  out.fill(0x20, 8 + json.length, 8 + headerLength);
  let at = 8 + headerLength;
  for (const c of chunks) { out.set(c, at); at += c.byteLength; }
  return out;
}

// ---- decoding -------------------------------------------------------------------

function isNonNegativeInteger(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

/**
 * Parses and checks a header: `headerBytes` are the N bytes after the length field, and
 * `dataLength` the number of bytes after them. Reports every problem found in one error.
 */
export function parseSafetensorsHeader(headerBytes: Uint8Array, dataLength: number, file = '<buffer>'): SafetensorsHeader {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(headerBytes);
  } catch {
    throw new SafetensorsError(file, ['the header is not valid UTF-8']);
  }
  if (!text.startsWith('{')) {
    throw new SafetensorsError(file, [`the header must be a JSON object starting with '{', got ${JSON.stringify(text.slice(0, 20))}${text.length > 20 ? '…' : ''} (not a safetensors file?)`]);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new SafetensorsError(file, [`the header is not valid JSON: ${(err as Error).message}`]);
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    throw new SafetensorsError(file, [`the header must be a JSON object, got ${describe(json)}`]);
  }
  const problems: string[] = [];
  const metadata: Record<string, string> = {};
  const tensors: Record<string, SafetensorsEntry> = {};
  let malformed = false; // an entry could not be read: its offsets are unknown
  for (const [name, value] of Object.entries(json as Record<string, unknown>)) {
    if (name === METADATA_KEY) {
      if (value === null || typeof value !== 'object' || Array.isArray(value)) {
        problems.push(`'${METADATA_KEY}' must be an object of strings, got ${describe(value)}`);
        continue;
      }
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
        if (typeof v === 'string') metadata[k] = v;
        else problems.push(`metadata '${k}': expected a string, got ${describe(v)}`);
      }
      continue;
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      problems.push(`'${name}': expected { dtype, shape, data_offsets }, got ${describe(value)}`);
      malformed = true;
      continue;
    }
    const v = value as Record<string, unknown>;
    const bad: string[] = [];
    const dtype = typeof v.dtype === 'string' ? FROM_FORMAT[v.dtype] : undefined;
    if (!dtype) {
      bad.push(typeof v.dtype === 'string' && UNSUPPORTED.has(v.dtype)
        ? `dtype ${v.dtype} has no dlkit dtype (dlkit reads ${Object.keys(FROM_FORMAT).join(', ')})`
        : `dtype must be one of ${Object.keys(FROM_FORMAT).join(', ')}, got ${describe(v.dtype)}`);
    }
    const shape = v.shape;
    const shapeOk = Array.isArray(shape) && shape.every(isNonNegativeInteger);
    if (!shapeOk) bad.push(`shape must be an array of whole numbers >= 0, got ${JSON.stringify(shape)}`);
    const offs = v.data_offsets;
    const offsOk = Array.isArray(offs) && offs.length === 2 && offs.every(isNonNegativeInteger) && offs[0] <= offs[1];
    if (!offsOk) bad.push(`data_offsets must be [begin, end] with 0 <= begin <= end, got ${JSON.stringify(offs)}`);
    if (bad.length) {
      problems.push(...bad.map((b) => `'${name}': ${b}`));
      malformed = true;
      continue;
    }
    const entry: SafetensorsEntry = { dtype: dtype!, shape: [...(shape as number[])], dataOffsets: [(offs as number[])[0]!, (offs as number[])[1]!] };
    const count = entry.shape.reduce((a, b) => a * b, 1);
    const need = count * ELEMENT_BYTES[entry.dtype];
    const [begin, end] = entry.dataOffsets;
    if (!Number.isSafeInteger(need)) problems.push(`'${name}': shape ${fmtShape(entry.shape)} is too large`);
    else if (end - begin !== need) {
      problems.push(`'${name}': shape ${fmtShape(entry.shape)} ${TO_FORMAT[entry.dtype]} needs ${need} bytes, but data_offsets [${begin}, ${end}] cover ${end - begin}`);
    }
    if (end > dataLength) problems.push(`'${name}': data_offsets [${begin}, ${end}] end past the data, which is ${dataLength} bytes (file truncated?)`);
    tensors[name] = entry;
  }
  // The tensors must tile the data part: sorted by offset, each begins where the last ended.
  // (Not checked when an entry was unreadable: every later offset would look wrong.)
  const sorted = malformed ? [] : Object.entries(tensors).sort(([, a], [, b]) => a.dataOffsets[0] - b.dataOffsets[0] || a.dataOffsets[1] - b.dataOffsets[1]);
  let cursor = 0;
  let previous = '';
  for (const [name, { dataOffsets: [begin, end] }] of sorted) {
    if (begin < cursor) problems.push(`'${name}': data_offsets [${begin}, ${end}] overlap those of '${previous}', which end at ${cursor}`);
    else if (begin > cursor) problems.push(`'${name}': data_offsets [${begin}, ${end}] leave a gap: expected the data to begin at ${cursor}`);
    cursor = Math.max(cursor, end);
    previous = name;
  }
  if (!malformed && cursor < dataLength) {
    problems.push(`the tensors cover ${cursor} bytes of data, but the file has ${dataLength} bytes after the header: expected exactly ${cursor}`);
  }
  if (problems.length) throw new SafetensorsError(file, problems);
  return { tensors, metadata, dataStart: 8 + headerBytes.length };
}

/** Reads the length field and returns the header length, checking it against `totalBytes`. */
function headerLength(first8: Uint8Array, totalBytes: number, file: string): number {
  if (totalBytes < 8) throw new SafetensorsError(file, [`too short to be a safetensors file: expected at least 8 bytes, got ${totalBytes}`]);
  const n = new DataView(first8.buffer, first8.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(MAX_HEADER_BYTES)) {
    throw new SafetensorsError(file, [`the header length field says ${n} bytes, more than the format's limit of ${MAX_HEADER_BYTES} (not a safetensors file?)`]);
  }
  const len = Number(n);
  if (8 + len > totalBytes) {
    throw new SafetensorsError(file, [`truncated header: expected ${len} bytes of header after the 8-byte length, got ${totalBytes - 8}`]);
  }
  return len;
}

function checkExpectations(header: SafetensorsHeader, expect: Record<string, TensorSpec>, file: string): void {
  const problems: string[] = [];
  for (const [name, spec] of Object.entries(expect)) {
    const e = header.tensors[name];
    if (!e) { problems.push(`missing tensor '${name}' (expected ${fmtShape(spec.shape)} ${spec.dtype})`); continue; }
    const sameShape = e.shape.length === spec.shape.length && e.shape.every((d, i) => d === spec.shape[i]);
    if (!sameShape) problems.push(`'${name}': shape expected ${fmtShape(spec.shape)}, got ${fmtShape(e.shape)}`);
    if (e.dtype !== spec.dtype) problems.push(`'${name}': dtype expected ${spec.dtype}, got ${e.dtype}`);
  }
  for (const [name, e] of Object.entries(header.tensors)) {
    if (!(name in expect)) problems.push(`unexpected tensor '${name}' (${fmtShape(e.shape)} ${e.dtype})`);
  }
  if (problems.length) throw new SafetensorsError(file, problems);
}

/**
 * Tensors and metadata from the bytes of a safetensors file. `file` names the source in errors.
 * The tensors are copies: `bytes` can be dropped afterwards.
 */
export function decodeSafetensors(bytes: Uint8Array, options: DecodeOptions & { file?: string } = {}): SafetensorsContents {
  const file = options.file ?? '<buffer>';
  checkEndianness(file);
  const n = headerLength(bytes, bytes.length, file);
  const header = parseSafetensorsHeader(bytes.subarray(8, 8 + n), bytes.length - 8 - n, file);
  if (options.expect) checkExpectations(header, options.expect, file);
  const tensors: Record<string, Tensor> = {};
  try {
    for (const [name, e] of Object.entries(header.tensors)) {
      const data = bytes.subarray(header.dataStart + e.dataOffsets[0], header.dataStart + e.dataOffsets[1]);
      if (e.dtype === 'bool') {
        const at = data.findIndex((b) => b > 1);
        if (at >= 0) throw new SafetensorsError(file, [`'${name}': BOOL values must be bytes 0 or 1, got ${data[at]} at element ${at}`]);
      }
      // One copy straight into a tensor of the final dtype and shape (also 0-d and empty ones).
      tensors[name] = new Tensor(native.fromBuffer(data, e.shape, dtypeCode(e.dtype)));
    }
  } catch (err) {
    for (const t of Object.values(tensors)) t.dispose();
    throw err;
  }
  return { tensors, metadata: header.metadata };
}

// ---- files ----------------------------------------------------------------------

/** Reads only the header of a safetensors file (names, shapes, dtypes, metadata), checked. */
export async function readSafetensorsHeader(file: string): Promise<SafetensorsHeader> {
  checkEndianness(file);
  let fh;
  try {
    fh = await open(file, 'r');
  } catch (err) {
    throw new SafetensorsError(file, [`cannot open: ${(err as Error).message}`], err);
  }
  try {
    const size = (await fh.stat()).size;
    const first = Buffer.alloc(8);
    await fh.read(first, 0, Math.min(8, size), 0);
    const n = headerLength(first, size, file);
    const header = Buffer.alloc(n);
    await fh.read(header, 0, n, 8);
    return parseSafetensorsHeader(header, size - 8 - n, file);
  } finally {
    await fh.close();
  }
}

/** Loads a safetensors file; with `expect`, checks names, shapes and dtypes first (all at once). */
export async function loadSafetensors(file: string, options: DecodeOptions = {}): Promise<SafetensorsContents> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (err) {
    throw new SafetensorsError(file, [`cannot read: ${(err as Error).message}`], err);
  }
  return decodeSafetensors(bytes, { ...options, file });
}

export interface SaveOptions {
  /**
   * Called with the temporary file's path after it is written and synced, before it is renamed
   * over `file`. For tests: throwing here simulates a failure at the last moment.
   */
  beforeRename?: (tempPath: string) => void | Promise<void>;
}

/**
 * Writes `tensors` and `metadata` to `file` atomically: the bytes go to a temporary file in the
 * same directory, which is synced and then renamed over `file`. On any failure the temporary
 * file is removed and an existing `file` is left as it was.
 */
export async function saveSafetensors(file: string, tensors: Record<string, Tensor>, metadata?: Record<string, string>, options: SaveOptions = {}): Promise<void> {
  const bytes = encodeSafetensors(tensors, metadata, file);
  try {
    await writeFileAtomic(file, bytes, options.beforeRename);
  } catch (err) {
    throw new SafetensorsError(file, [`could not save (any existing file is left unchanged): ${(err as Error).message}`], err);
  }
}
