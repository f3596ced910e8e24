// Caffe's file formats: the official schema (proto/caffe/caffe.proto from BVLC/caffe) read by
// protobufjs. Binary .caffemodel and .binaryproto files are decoded by protobufjs; text
// .prototxt files by the schema-driven text-format parser beside this file.
import { readFileSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import { parseTextFormat, TextFormatError } from './text-format.js';

// From dist/src/io/caffe/ (compiled) or src/io/caffe/ (sources) up to the repository's proto/.
const HERE = path.dirname(fileURLToPath(import.meta.url));
const PROTO_DIRS = [path.resolve(HERE, '../../../../proto'), path.resolve(HERE, '../../../proto')];

let root: protobuf.Root | null = null;

/** The Caffe schema as a protobufjs root (field names as in caffe.proto: snake_case). */
export function caffeSchema(): protobuf.Root {
  if (root) return root;
  const file = PROTO_DIRS.map((d) => path.join(d, 'caffe', 'caffe.proto')).find((f) => { try { return statSync(f).isFile(); } catch { return false; } });
  if (!file) throw new Error(`the Caffe schema (proto/caffe/caffe.proto) is missing from ${PROTO_DIRS[0]}`);
  const r = new protobuf.Root();
  r.loadSync(file, { keepCase: true });
  r.resolveAll();
  // Blobs hold nearly all of a caffemodel's bytes (AlexNet: 61 M floats). protobufjs would read
  // each packed float into a JS array; this reads them as one typed-array copy instead. The
  // generated decoders of enclosing messages call the type's decode, so replacing it (after
  // protobufjs's own lazy setup, which would otherwise overwrite it) covers every blob.
  const blob = r.lookupType('caffe.BlobProto');
  blob.setup();
  blob.decode = ((reader: protobuf.Reader | Uint8Array, length?: number) => decodeBlobProto(blob, reader, length)) as typeof blob.decode;
  root = r;
  return r;
}

const LITTLE_ENDIAN = os.endianness() === 'LE';

/** Copies packed little-endian values into a fresh typed array. */
function packed<T extends Float32Array | Float64Array>(bytes: Uint8Array, kind: 'f32' | 'f64'): T {
  const size = kind === 'f32' ? 4 : 8;
  if (bytes.length % size !== 0) throw new RangeError(`packed ${kind === 'f32' ? 'float' : 'double'} field of ${bytes.length} bytes is not a multiple of ${size}`);
  const n = bytes.length / size;
  if (LITTLE_ENDIAN) {
    // A copy with its own (aligned) buffer: Buffer's slice() would share the file's memory.
    const copy = Uint8Array.prototype.slice.call(bytes);
    return (kind === 'f32' ? new Float32Array(copy.buffer, 0, n) : new Float64Array(copy.buffer, 0, n)) as T;
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  const out = kind === 'f32' ? new Float32Array(n) : new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = kind === 'f32' ? view.getFloat32(i * 4, true) : view.getFloat64(i * 8, true);
  return out as T;
}

/**
 * BlobProto (caffe.proto): shape = 7, data = 5 (packed float), double_data = 8, the legacy
 * num/channels/height/width = 1..4; diff (6) and double_diff (9), training state, are skipped.
 * Set fields are own properties, as in protobufjs's messages.
 */
function decodeBlobProto(type: protobuf.Type, input: protobuf.Reader | Uint8Array, length?: number): Msg {
  const r = input instanceof protobuf.Reader ? input : protobuf.Reader.create(input);
  const end = length === undefined ? r.len : r.pos + length;
  const m: Msg = Object.create(type.ctor.prototype as object);
  const floats: Float32Array[] = [];
  const doubles: Float64Array[] = [];
  const take = (n: number) => {
    if (r.pos + n > end) throw new RangeError(`index out of range: ${r.pos} + ${n} > ${end}`);
    const bytes = r.buf.subarray(r.pos, r.pos + n);
    r.pos += n;
    return bytes;
  };
  while (r.pos < end) {
    const tag = r.uint32();
    const field = tag >>> 3;
    const wire = tag & 7;
    if (field === 5 && wire === 2) floats.push(packed<Float32Array>(take(r.uint32()), 'f32'));
    else if (field === 5 && wire === 5) floats.push(Float32Array.of(r.float()));
    else if (field === 8 && wire === 2) doubles.push(packed<Float64Array>(take(r.uint32()), 'f64'));
    else if (field === 8 && wire === 1) doubles.push(Float64Array.of(r.double()));
    else if (field === 7 && wire === 2) m.shape = caffeType('BlobShape').decode(r, r.uint32());
    else if (field >= 1 && field <= 4 && wire === 0) m[['num', 'channels', 'height', 'width'][field - 1]!] = r.int32();
    else r.skipType(wire);
  }
  if (r.pos > end) throw new RangeError(`index out of range: ${r.pos} > ${end}`);
  const join = <T extends Float32Array | Float64Array>(parts: T[], make: (n: number) => T): T => {
    if (parts.length === 1) return parts[0]!;
    const out = make(parts.reduce((a, p) => a + p.length, 0));
    let at = 0;
    for (const p of parts) { out.set(p, at); at += p.length; }
    return out;
  };
  m.data = join(floats, (n) => new Float32Array(n));
  m.double_data = join(doubles, (n) => new Float64Array(n));
  return m;
}

export const caffeType = (name: string): protobuf.Type => caffeSchema().lookupType(`caffe.${name}`);

/** An error about a Caffe file: names the file and, where known, the layer. */
export class CaffeError extends Error {
  constructor(readonly file: string, message: string, options?: { cause?: unknown }) {
    super(`${file}: ${message}`, options);
    this.name = 'CaffeError';
  }
}

/**
 * A decoded message: protobufjs message objects. Fields that were set are own properties;
 * unset optional fields read their schema default from the prototype; repeated fields are arrays.
 */
export type Msg = { [field: string]: any };

/** True when an optional field was set in the file (not just defaulted). */
export const has = (m: Msg | null | undefined, field: string): boolean =>
  m != null && Object.prototype.hasOwnProperty.call(m, field) && !(Array.isArray(m[field]) && m[field].length === 0);

function decodeBinary(file: string, bytes: Uint8Array, typeName: string): Msg {
  const type = caffeType(typeName);
  try {
    return type.decode(bytes) as Msg;
  } catch (err) {
    throw new CaffeError(file, `not a valid binary ${typeName} (${(err as Error).message})`, { cause: err });
  }
}

function readBytes(file: string, what: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new CaffeError(file, `cannot read the ${what}: ${(err as Error).message}`, { cause: err });
  }
}

/** A text .prototxt as a NetParameter; syntax errors name the file, line and column. */
export function parseNetText(text: string, file = '<prototxt>'): Msg {
  const type = caffeType('NetParameter');
  const obj = parseTextFormat(text, type, file);
  return type.fromObject(obj) as Msg;
}

/** Reads a .prototxt (text); a file that looks binary is decoded as binary NetParameter. */
export function readNetParameter(file: string): Msg {
  const bytes = readBytes(file, 'network definition');
  const text = bytes.toString('utf8');
  // A text file has no NUL bytes and decodes as UTF-8 without replacement characters.
  if (!bytes.includes(0) && !text.includes('\uFFFD')) return parseNetText(text, file);
  return decodeBinary(file, bytes, 'NetParameter');
}

/** Reads a binary .caffemodel (NetParameter with blobs). */
export function readCaffemodel(file: string): Msg {
  const bytes = readBytes(file, 'weights');
  if (bytes.length === 0) throw new CaffeError(file, 'the caffemodel is empty');
  return decodeBinary(file, bytes, 'NetParameter');
}

/** Reads a binary .binaryproto (BlobProto: a mean image). */
export function readBlobProto(file: string): Msg {
  const bytes = readBytes(file, 'mean file');
  if (bytes.length === 0) throw new CaffeError(file, 'the mean file is empty');
  return decodeBinary(file, bytes, 'BlobProto');
}

/**
 * A blob's shape: `shape.dim` or, in files written before BlobShape existed, the legacy
 * num/channels/height/width fields (4-D).
 */
export function blobShape(blob: Msg): number[] {
  if (blob.shape && has(blob, 'shape')) return (blob.shape.dim as unknown[]).map(Number);
  if (['num', 'channels', 'height', 'width'].some((k) => has(blob, k))) return [blob.num, blob.channels, blob.height, blob.width].map(Number);
  return [blobValues(blob).length];
}

/** A blob's values as float32 (double_data is narrowed). */
export function blobValues(blob: Msg): Float32Array {
  const data = (blob.data as ArrayLike<number>).length ? blob.data as ArrayLike<number> : blob.double_data as ArrayLike<number>;
  return data instanceof Float32Array ? data : Float32Array.from(data);
}

export { TextFormatError };
