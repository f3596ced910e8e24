// The ONNX file format: the official schema (proto/onnx/onnx-ml.proto, ONNX 1.12) read by
// protobufjs, decoding and encoding of ModelProto and TensorProto, and conversion between
// TensorProto and dlkit tensors (raw_data or the typed *_data fields, external data files).
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import { native } from '../../native/binding.js';
import { Tensor } from '../../tensor/tensor.js';
import { dtypeCode, type DType } from '../../tensor/dtype.js';

// From dist/src/io/onnx/ (compiled) or src/io/onnx/ (sources) up to the repository's proto/.
const PROTO_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../../proto');
const PROTO_DIR_SRC = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../proto');

let root: protobuf.Root | null = null;

/** The ONNX schema as a protobufjs root (field names as in onnx.proto: snake_case). */
export function onnxSchema(): protobuf.Root {
  if (root) return root;
  const dir = [PROTO_DIR, PROTO_DIR_SRC].find((d) => { try { return statSync(path.join(d, 'onnx', 'onnx-ml.proto')).isFile(); } catch { return false; } });
  if (!dir) throw new Error(`the ONNX schema (proto/onnx/onnx-ml.proto) is missing from ${PROTO_DIR}`);
  const r = new protobuf.Root();
  r.resolvePath = (_origin, target) => (path.isAbsolute(target) ? target : path.join(dir, target));
  r.loadSync(['onnx/onnx-ml.proto', 'onnx/onnx-data.proto'], { keepCase: true });
  root = r;
  return r;
}

/** TensorProto.DataType codes (onnx.proto). */
export const OnnxType = {
  UNDEFINED: 0, FLOAT: 1, UINT8: 2, INT8: 3, UINT16: 4, INT16: 5, INT32: 6, INT64: 7, STRING: 8, BOOL: 9,
  FLOAT16: 10, DOUBLE: 11, UINT32: 12, UINT64: 13, COMPLEX64: 14, COMPLEX128: 15, BFLOAT16: 16,
} as const;

const TYPE_NAMES = Object.fromEntries(Object.entries(OnnxType).map(([k, v]) => [v, k])) as Record<number, string>;
export const onnxTypeName = (code: number): string => TYPE_NAMES[code] ?? `type ${code}`;

const TO_DTYPE: Partial<Record<number, DType>> = {
  [OnnxType.FLOAT]: 'float32', [OnnxType.UINT8]: 'uint8', [OnnxType.INT8]: 'int8', [OnnxType.INT16]: 'int16',
  [OnnxType.INT32]: 'int32', [OnnxType.INT64]: 'int64', [OnnxType.BOOL]: 'bool', [OnnxType.FLOAT16]: 'float16',
  [OnnxType.DOUBLE]: 'float64', [OnnxType.BFLOAT16]: 'bfloat16',
};
const FROM_DTYPE = Object.fromEntries(Object.entries(TO_DTYPE).map(([k, v]) => [v, Number(k)])) as Record<DType, number>;
const BYTES: Record<DType, number> = { float32: 4, float64: 8, float16: 2, bfloat16: 2, int8: 1, int16: 2, int32: 4, int64: 8, uint8: 1, bool: 1 };

/** The dlkit dtype of an ONNX element type, or null where libtorch has none (uint16/32/64, string, complex). */
export function dtypeOfOnnx(code: number): DType | null {
  return TO_DTYPE[code] ?? null;
}
export function onnxOfDtype(dtype: DType): number {
  return FROM_DTYPE[dtype];
}

/** An error about an ONNX file: names the file and, where known, the node or tensor. */
export class OnnxError extends Error {
  constructor(readonly file: string, message: string, options?: { cause?: unknown }) {
    super(`${file}: ${message}`, options);
    this.name = 'OnnxError';
  }
}

// Decoded messages, as protobufjs gives them with keepCase (ints as numbers: longs: Number).
export interface TensorProto {
  dims?: number[];
  data_type?: number;
  name?: string;
  raw_data?: Uint8Array;
  float_data?: number[];
  int32_data?: number[];
  int64_data?: (number | string)[];
  double_data?: number[];
  uint64_data?: (number | string)[];
  string_data?: Uint8Array[];
  data_location?: number;
  external_data?: { key: string; value: string }[];
}
export interface AttributeProto {
  name: string;
  type?: number;
  f?: number; i?: number; s?: Uint8Array; t?: TensorProto; g?: GraphProto;
  floats?: number[]; ints?: number[]; strings?: Uint8Array[]; tensors?: TensorProto[]; graphs?: GraphProto[];
  ref_attr_name?: string;
}
export interface NodeProto {
  input?: string[]; output?: string[]; name?: string; op_type: string; domain?: string; attribute?: AttributeProto[];
}
export interface TypeProto {
  tensor_type?: { elem_type?: number; shape?: { dim?: { dim_value?: number; dim_param?: string }[] } };
  sequence_type?: { elem_type?: TypeProto };
  optional_type?: { elem_type?: TypeProto };
  map_type?: unknown;
}
export interface ValueInfoProto {
  name: string;
  type?: TypeProto;
}
export interface GraphProto {
  node?: NodeProto[]; name?: string; initializer?: TensorProto[]; input?: ValueInfoProto[]; output?: ValueInfoProto[]; value_info?: ValueInfoProto[];
}
export interface ModelProto {
  ir_version?: number; producer_name?: string; producer_version?: string; graph?: GraphProto;
  opset_import?: { domain?: string; version?: number }[]; functions?: unknown[];
}

const TO_OBJECT: protobuf.IConversionOptions = { longs: Number, enums: Number, defaults: false, arrays: true };

function decode<T>(typeName: string, bytes: Uint8Array, file: string): T {
  const type = onnxSchema().lookupType(typeName);
  let msg: protobuf.Message;
  try {
    msg = type.decode(bytes);
  } catch (err) {
    throw new OnnxError(file, `not a valid ONNX ${typeName.replace('onnx.', '')} (${(err as Error).message}); is it an ONNX file, and complete?`, { cause: err });
  }
  return type.toObject(msg, TO_OBJECT) as T;
}

export function decodeModel(bytes: Uint8Array, file = 'ONNX model'): ModelProto {
  return decode<ModelProto>('onnx.ModelProto', bytes, file);
}
export function decodeTensor(bytes: Uint8Array, file = 'ONNX tensor'): TensorProto {
  return decode<TensorProto>('onnx.TensorProto', bytes, file);
}
export function decodeGraph(bytes: Uint8Array, file = 'ONNX graph'): GraphProto {
  return decode<GraphProto>('onnx.GraphProto', bytes, file);
}
export function encodeGraph(graph: GraphProto): Uint8Array {
  const type = onnxSchema().lookupType('onnx.GraphProto');
  return type.encode(type.fromObject(graph)).finish();
}
export function encodeModel(model: ModelProto): Uint8Array {
  const type = onnxSchema().lookupType('onnx.ModelProto');
  return type.encode(type.fromObject(model)).finish();
}
export function encodeTensorProto(t: TensorProto): Uint8Array {
  const type = onnxSchema().lookupType('onnx.TensorProto');
  return type.encode(type.fromObject(t)).finish();
}

/**
 * Reads an external-data tensor's bytes. The location must stay inside the model's folder:
 * a model file must not make dlkit read /etc/passwd or ../../secrets.
 */
function externalBytes(t: TensorProto, baseDir: string, file: string): Uint8Array {
  const kv = new Map((t.external_data ?? []).map((e) => [e.key, e.value]));
  const location = kv.get('location');
  if (!location) throw new OnnxError(file, `tensor '${t.name}' has external data without a 'location'`);
  const resolved = path.resolve(baseDir, location);
  const rel = path.relative(baseDir, resolved);
  if (path.isAbsolute(location) || rel.startsWith('..') || path.isAbsolute(rel)) {
    throw new OnnxError(file, `tensor '${t.name}': external data location '${location}' is outside the model's folder ${baseDir}`);
  }
  let data: Buffer;
  try {
    data = readFileSync(resolved);
  } catch (err) {
    throw new OnnxError(file, `tensor '${t.name}': cannot read its external data file ${resolved}: ${(err as Error).message}`, { cause: err });
  }
  const offset = Number(kv.get('offset') ?? 0);
  const length = kv.has('length') ? Number(kv.get('length')) : data.length - offset;
  if (!(offset >= 0 && length >= 0 && offset + length <= data.length)) {
    throw new OnnxError(file, `tensor '${t.name}': external data offset ${offset} + length ${length} runs past the end of ${resolved} (${data.length} bytes)`);
  }
  return new Uint8Array(data.buffer, data.byteOffset + offset, length);
}

/** The values of a TensorProto as a dlkit tensor (a copy). `baseDir` resolves external data. */
export function tensorFromProto(t: TensorProto, { file = 'ONNX model', baseDir = '.' }: { file?: string; baseDir?: string } = {}): Tensor {
  const code = t.data_type ?? 0;
  const dtype = dtypeOfOnnx(code);
  const what = `tensor '${t.name ?? ''}'`;
  if (!dtype) throw new OnnxError(file, `${what} has element type ${onnxTypeName(code)}, which libtorch has no dtype for`);
  const dims = (t.dims ?? []).map(Number);
  if (dims.some((d) => !Number.isInteger(d) || d < 0)) throw new OnnxError(file, `${what} has invalid dims [${dims.join(', ')}]`);
  const count = dims.reduce((a, b) => a * b, 1);
  const nbytes = count * BYTES[dtype];
  let bytes: Uint8Array;
  if (t.data_location === 1) {
    bytes = externalBytes(t, baseDir, file);
  } else if (t.raw_data && t.raw_data.length > 0) {
    bytes = t.raw_data;
  } else {
    bytes = typedFieldBytes(t, dtype, count, file);
  }
  if (bytes.byteLength !== nbytes) {
    throw new OnnxError(file, `${what} of shape [${dims.join(', ')}] ${dtype} needs ${nbytes} bytes of data, found ${bytes.byteLength}`);
  }
  // fromBuffer copies; a Uint8Array view carries any dtype's bytes.
  return new Tensor(native.fromBuffer(bytes, dims, dtypeCode(dtype)));
}

/** The typed *_data fields of a TensorProto as little-endian bytes of `dtype`. */
function typedFieldBytes(t: TensorProto, dtype: DType, count: number, file: string): Uint8Array {
  const out = new ArrayBuffer(count * BYTES[dtype]);
  const dv = new DataView(out);
  const take = (field: string, src: ArrayLike<number | string> | undefined): ArrayLike<number | string> => {
    const v = src ?? [];
    if (v.length !== count) throw new OnnxError(file, `tensor '${t.name ?? ''}' of ${count} values has ${v.length} in ${field}`);
    return v;
  };
  switch (dtype) {
    case 'float32': { const v = take('float_data', t.float_data); for (let i = 0; i < count; i++) dv.setFloat32(i * 4, Number(v[i]), true); break; }
    case 'float64': { const v = take('double_data', t.double_data); for (let i = 0; i < count; i++) dv.setFloat64(i * 8, Number(v[i]), true); break; }
    case 'int64': { const v = take('int64_data', t.int64_data); for (let i = 0; i < count; i++) dv.setBigInt64(i * 8, BigInt(v[i]!), true); break; }
    case 'int32': { const v = take('int32_data', t.int32_data); for (let i = 0; i < count; i++) dv.setInt32(i * 4, Number(v[i]), true); break; }
    case 'int16': case 'float16': case 'bfloat16': { const v = take('int32_data', t.int32_data); for (let i = 0; i < count; i++) dv.setUint16(i * 2, Number(v[i]) & 0xffff, true); break; }
    case 'int8': case 'uint8': case 'bool': { const v = take('int32_data', t.int32_data); for (let i = 0; i < count; i++) dv.setUint8(i, Number(v[i]) & 0xff); break; }
  }
  return new Uint8Array(out);
}

/** A TensorProto holding the tensor's values as raw_data. */
export function tensorToProto(t: Tensor, name: string): TensorProto {
  const bytes = new Uint8Array(native.toBuffer(t.handle) as ArrayBuffer);
  return { name, dims: [...t.shape], data_type: onnxOfDtype(t.dtype), raw_data: bytes };
}

/** Attribute values as plain JS: numbers, strings, arrays, TensorProtos, graphs. */
export type AttributeValue = number | string | number[] | string[] | TensorProto | TensorProto[] | GraphProto | GraphProto[];

const utf8 = new TextDecoder();

/** AttributeProto.AttributeType by name, for the attribute kinds a layer config stores (tensors are held, graphs unsupported). */
export type OnnxAttrType = 'float' | 'int' | 'string' | 'floats' | 'ints' | 'strings';
const ATTR_TYPES: Record<number, OnnxAttrType> = { 1: 'float', 2: 'int', 3: 'string', 6: 'floats', 7: 'ints', 8: 'strings' };
export const ATTR_TYPE_CODES: Record<OnnxAttrType, number> = { float: 1, int: 2, string: 3, floats: 6, ints: 7, strings: 8 };

/**
 * The kind of a non-tensor attribute: its declared type, or for files written before 'type'
 * was required the field that is set (as attributeValue reads it); null for tensors and graphs.
 */
export function attributeType(a: AttributeProto): OnnxAttrType | null {
  if (a.type) return ATTR_TYPES[a.type] ?? null;
  if (a.floats?.length) return 'floats';
  if (a.ints?.length) return 'ints';
  if (a.strings?.length) return 'strings';
  if (a.t || a.g) return null;
  if (a.s) return 'string';
  if (a.i !== undefined) return 'int';
  return 'float';
}

/** The value of an attribute by its declared type (AttributeProto.AttributeType). */
export function attributeValue(a: AttributeProto): AttributeValue {
  switch (a.type) {
    case 1: return a.f ?? 0;
    case 2: return Number(a.i ?? 0);
    case 3: return utf8.decode(a.s ?? new Uint8Array());
    case 4: return a.t!;
    case 5: return a.g!;
    case 6: return [...(a.floats ?? [])];
    case 7: return (a.ints ?? []).map(Number);
    case 8: return (a.strings ?? []).map((s) => utf8.decode(s));
    case 9: return a.tensors ?? [];
    case 10: return a.graphs ?? [];
    default: {
      // Files written before 'type' was required: infer from which field is set.
      if (a.floats?.length) return [...a.floats];
      if (a.ints?.length) return a.ints.map(Number);
      if (a.strings?.length) return a.strings.map((s) => utf8.decode(s));
      if (a.t) return a.t;
      if (a.g) return a.g;
      if (a.s) return utf8.decode(a.s);
      if (a.i !== undefined) return Number(a.i);
      return a.f ?? 0;
    }
  }
}
