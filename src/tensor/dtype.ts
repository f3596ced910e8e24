// Data types: dlkit's names, libtorch's ScalarType codes, and the typed arrays that hold them.

export type DType = 'float32' | 'float64' | 'float16' | 'bfloat16' | 'int8' | 'int16' | 'int32' | 'int64' | 'uint8' | 'bool';

// c10::ScalarType enum values (c10/core/ScalarType.h).
const CODES: Record<DType, number> = {
  uint8: 0, int8: 1, int16: 2, int32: 3, int64: 4, float16: 5, float32: 6, float64: 7, bool: 11, bfloat16: 15,
};
const NAMES = new Map<number, DType>(Object.entries(CODES).map(([k, v]) => [v, k as DType]));

export type TypedArray =
  | Float32Array | Float64Array | Int8Array | Int16Array | Int32Array | BigInt64Array | Uint8Array | Uint16Array;

export function dtypeCode(dtype: DType): number {
  const code = CODES[dtype];
  if (code === undefined) throw new TypeError(`unknown dtype '${dtype}': expected one of ${Object.keys(CODES).join(', ')}`);
  return code;
}

export function dtypeName(code: number): DType {
  const name = NAMES.get(code);
  if (!name) throw new TypeError(`libtorch scalar type ${code} has no dlkit dtype`);
  return name;
}

export function isFloating(dtype: DType): boolean {
  return dtype === 'float32' || dtype === 'float64' || dtype === 'float16' || dtype === 'bfloat16';
}

/** A view of raw bytes as the typed array for `dtype` (16-bit floats come back as raw Uint16 bits). */
export function typedArrayFor(dtype: DType, buffer: ArrayBuffer): TypedArray {
  switch (dtype) {
    case 'float32': return new Float32Array(buffer);
    case 'float64': return new Float64Array(buffer);
    case 'int8': return new Int8Array(buffer);
    case 'int16': return new Int16Array(buffer);
    case 'int32': return new Int32Array(buffer);
    case 'int64': return new BigInt64Array(buffer);
    case 'uint8': case 'bool': return new Uint8Array(buffer);
    case 'float16': case 'bfloat16': return new Uint16Array(buffer);
  }
}

/** The dtype a typed array holds by default. */
export function dtypeOfArray(data: ArrayBufferView): DType {
  if (data instanceof Float32Array) return 'float32';
  if (data instanceof Float64Array) return 'float64';
  if (data instanceof Int32Array) return 'int32';
  if (data instanceof BigInt64Array) return 'int64';
  if (data instanceof Uint8Array || data instanceof Uint8ClampedArray) return 'uint8';
  if (data instanceof Int8Array) return 'int8';
  if (data instanceof Int16Array) return 'int16';
  throw new TypeError(`cannot make a tensor from ${data.constructor.name}: use Float32Array, Float64Array, Int32Array, BigInt64Array, Uint8Array, Int8Array or Int16Array`);
}

// c10::MemoryFormat values.
export const MemoryFormat = { contiguous: 0, preserve: 1, channelsLast: 2, channelsLast3d: 3 } as const;
// at::Reduction values for loss ops.
export const Reduction = { none: 0, mean: 1, sum: 2 } as const;
export type ReductionName = keyof typeof Reduction;
