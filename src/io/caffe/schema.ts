// Caffe's file formats: the official schema (proto/caffe/caffe.proto from BVLC/caffe) read by
// protobufjs. Binary .caffemodel and .binaryproto files are decoded by protobufjs; text
// .prototxt files by the schema-driven text-format parser beside this file.
import { readFileSync, statSync } from 'node:fs';
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
  root = r;
  return r;
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
  const data = (blob.data as number[]).length ? blob.data as number[] : blob.double_data as number[];
  return data instanceof Float32Array ? data : Float32Array.from(data);
}

export { TextFormatError };
