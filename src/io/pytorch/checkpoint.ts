// PyTorch checkpoint files (.pt, .pth, .th, .bin written by torch.save), read without Python and
// without running anything they contain.
//
// Two layouts:
//   zip (PyTorch >= 1.6)   <archive>/data.pkl      the pickled object; each storage is a persistent
//                                                  id ('storage', torch.FloatStorage, key, location, numel)
//                          <archive>/data/<key>    each storage's raw bytes (little-endian unless
//                                                  <archive>/byteorder says 'big')
//                          <archive>/version, …
//   legacy (before 1.6)    five pickles in a row: the magic number 0x1950a86a20f9469cfc6c, the
//                          protocol version (1001), sys_info (little_endian, type sizes), the object
//                          (persistent ids ('storage', type, key, location, numel, view)), the sorted
//                          list of storage keys; then for each key an 8-byte element count and the bytes.
//
// The unpickler resolves globals through an allowlist (ALLOWED below: containers, tensor and
// parameter rebuilds, typed storages), as torch.load(weights_only=True) does; anything else is
// refused with its name when the pickle names it. Tensors are described while unpickling
// (storage, offset, size, stride, bounds checked) and made only after the whole pickle was
// accepted, so a refused file creates no tensor.
import { open, readFile } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { native } from '../../native/binding.js';
import { Tensor, callOp } from '../../tensor/tensor.js';
import { dtypeCode, type DType } from '../../tensor/dtype.js';
import { loadSafetensors } from '../safetensors.js';
import { PickleError, describePy, isTuple, setKey, unpickle, type PyGlobal } from './pickle.js';
import { ZipError, readZipDirectory, readZipEntry, type ZipEntry } from './zip.js';

/** A problem with a checkpoint file; the message names the file and what was expected. */
export class CheckpointError extends Error {
  constructor(readonly file: string, message: string, options?: { cause?: unknown }) {
    super(`${file}: ${message}`, options);
    this.name = 'CheckpointError';
  }
}

export type CheckpointFormat = 'zip' | 'legacy';

const ELEMENT_BYTES: Record<DType, number> = {
  float64: 8, float32: 4, float16: 2, bfloat16: 2, int64: 8, int32: 4, int16: 2, int8: 1, uint8: 1, bool: 1,
};

/** torch.<Name>Storage → dtype, for every typed storage dlkit has a dtype for. */
const STORAGE_DTYPES: Record<string, DType> = {
  FloatStorage: 'float32', DoubleStorage: 'float64', HalfStorage: 'float16', BFloat16Storage: 'bfloat16',
  LongStorage: 'int64', IntStorage: 'int32', ShortStorage: 'int16', CharStorage: 'int8', ByteStorage: 'uint8',
  BoolStorage: 'bool', UntypedStorage: 'uint8',
};
const UNSUPPORTED_STORAGES: Record<string, string> = {
  ComplexFloatStorage: 'complex64 tensors are not supported: dlkit has no complex dtype',
  ComplexDoubleStorage: 'complex128 tensors are not supported: dlkit has no complex dtype',
  ComplexHalfStorage: 'complex32 tensors are not supported: dlkit has no complex dtype',
  QInt8Storage: 'quantized tensors (qint8) are not supported: dequantize them before saving',
  QUInt8Storage: 'quantized tensors (quint8) are not supported: dequantize them before saving',
  QInt32Storage: 'quantized tensors (qint32) are not supported: dequantize them before saving',
  QUInt4x2Storage: 'quantized tensors (quint4x2) are not supported: dequantize them before saving',
  QUInt2x4Storage: 'quantized tensors (quint2x4) are not supported: dequantize them before saving',
};
/** Globals refused with a specific reason (all others are refused with the generic one). */
const REFUSED_WITH_REASON: Record<string, string> = {
  'torch.storage._load_from_bytes': 'it runs torch.load on embedded bytes (a storage pickled with pickle rather than torch.save), which the allowlist cannot check',
  'torch._utils._rebuild_qtensor': 'quantized tensors are not supported: dequantize them before saving',
  'torch._utils._rebuild_sparse_tensor': 'sparse tensors are not supported: save them dense (t.to_dense())',
  'torch._utils._rebuild_meta_tensor_no_storage': 'meta tensors hold no data',
};

const LEGACY_MAGIC = 0x1950a86a20f9469cfc6cn;
const LEGACY_PROTOCOL = 1001;

/** A storage as the pickle's persistent ids describe it. */
class StorageRef {
  constructor(
    readonly key: string,
    readonly dtype: DType,
    readonly numel: number,
    /** Legacy storage views: the storage holding the bytes, and where this one starts in it (elements). */
    readonly base: StorageRef | null = null,
    readonly baseOffset = 0,
  ) {}
  describe(): string {
    return `storage '${this.key}' (${this.dtype}, ${this.numel} element${this.numel === 1 ? '' : 's'})`;
  }
}

/** A tensor as the pickle describes it; made once the whole pickle was accepted. */
export class TensorRef {
  constructor(
    readonly storage: StorageRef,
    readonly offset: number,
    readonly size: number[],
    readonly stride: number[],
    readonly parameter: boolean,
  ) {}
  get dtype(): DType { return this.storage.dtype; }
  get numel(): number { return this.size.reduce((a, b) => a * b, 1); }
  get isContiguous(): boolean {
    let expected = 1;
    for (let i = this.size.length - 1; i >= 0; i--) {
      if (this.size[i] !== 1 && this.stride[i] !== expected) return false;
      expected *= this.size[i]!;
    }
    return true;
  }
  describe(): string {
    return `${this.parameter ? 'Parameter' : 'Tensor'} [${this.size.join(', ')}] ${this.dtype}`;
  }
}

class StorageType implements PyGlobal {
  readonly module = 'torch';
  constructor(readonly name: string, readonly dtype: DType) {}
}

const isWhole = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const isDict = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype;

/** The allowlisted globals for one file; `fail` makes the errors name it. */
function allowlist(file: string): (module: string, name: string, at: number) => PyGlobal {
  const fail = (message: string) => { throw new CheckpointError(file, message); };
  const fn = (module: string, name: string, call: (args: unknown[]) => unknown): PyGlobal => ({ module, name, call });
  const argc = (what: string, args: unknown[], min: number, max = min) => {
    if (args.length < min || args.length > max) fail(`${what} takes ${min === max ? min : `${min} to ${max}`} arguments, the pickle gives ${args.length}`);
  };

  const rebuildTensor = (what: string, args: unknown[], parameter: boolean): TensorRef => {
    const [storage, offset, size, stride] = args;
    if (!(storage instanceof StorageRef)) fail(`${what}: expected a storage as argument 1, got ${describePy(storage)}`);
    const s = storage as StorageRef;
    if (!isWhole(offset)) fail(`${what}: the storage offset must be a whole number, got ${describePy(offset)}`);
    if (!Array.isArray(size) || !size.every(isWhole)) fail(`${what}: the size must be a tuple of whole numbers, got ${describePy(size)}`);
    if (!Array.isArray(stride) || !stride.every(isWhole) || stride.length !== (size as number[]).length) {
      fail(`${what}: the stride must be ${(size as number[]).length} whole numbers (one per dimension of size [${(size as number[]).join(', ')}]), got ${describePy(stride)}`);
    }
    const sz = size as number[], st = stride as number[];
    const numel = sz.reduce((a, b) => a * b, 1);
    if (numel > 0) {
      const last = (offset as number) + sz.reduce((a, n, i) => a + (n - 1) * st[i]!, 0);
      if (!Number.isSafeInteger(last) || last >= s.numel) {
        fail(`a tensor of size [${sz.join(', ')}], stride [${st.join(', ')}] at offset ${offset} reads element ${last} of ${s.describe()}: past its end`);
      }
    }
    return new TensorRef(s, offset as number, [...sz], [...st], parameter);
  };
  const parameterOf = (what: string, data: unknown): TensorRef => {
    if (!(data instanceof TensorRef)) fail(`${what}: expected a tensor as argument 1, got ${describePy(data)}`);
    const t = data as TensorRef;
    return new TensorRef(t.storage, t.offset, t.size, t.stride, true);
  };

  const allowed: Record<string, PyGlobal> = {
    'collections.OrderedDict': fn('collections', 'OrderedDict', (args) => {
      argc('collections.OrderedDict', args, 0, 1);
      const d: Record<string, unknown> = {};
      for (const pair of (args[0] ?? []) as unknown[]) {
        if (!Array.isArray(pair) || pair.length !== 2) fail(`collections.OrderedDict: expected (key, value) pairs, got ${describePy(pair)}`);
        const [k, v] = pair as unknown[];
        setKey(d, typeof k === 'string' ? k : String(k), v);
      }
      return d;
    }),
    'torch._utils._rebuild_tensor': fn('torch._utils', '_rebuild_tensor', (args) => {
      argc('torch._utils._rebuild_tensor', args, 4);
      return rebuildTensor('torch._utils._rebuild_tensor', args, false);
    }),
    'torch._utils._rebuild_tensor_v2': fn('torch._utils', '_rebuild_tensor_v2', (args) => {
      argc('torch._utils._rebuild_tensor_v2', args, 6, 7);
      return rebuildTensor('torch._utils._rebuild_tensor_v2', args, false);
    }),
    'torch._utils._rebuild_parameter': fn('torch._utils', '_rebuild_parameter', (args) => {
      argc('torch._utils._rebuild_parameter', args, 3);
      return parameterOf('torch._utils._rebuild_parameter', args[0]);
    }),
    // The state is the Parameter's Python attributes: not tensor data, so not kept.
    'torch._utils._rebuild_parameter_with_state': fn('torch._utils', '_rebuild_parameter_with_state', (args) => {
      argc('torch._utils._rebuild_parameter_with_state', args, 4);
      return parameterOf('torch._utils._rebuild_parameter_with_state', args[0]);
    }),
    'torch.Size': fn('torch', 'Size', (args) => {
      argc('torch.Size', args, 0, 1);
      return [...((args[0] ?? []) as unknown[])];
    }),
    'builtins.set': fn('builtins', 'set', (args) => { argc('builtins.set', args, 0, 1); return new Set((args[0] ?? []) as unknown[]); }),
    'builtins.frozenset': fn('builtins', 'frozenset', (args) => { argc('builtins.frozenset', args, 0, 1); return new Set((args[0] ?? []) as unknown[]); }),
    // Protocols 0–2 write bytes as _codecs.encode(latin-1 text, 'latin1'), bytearrays as bytearray(text, 'latin-1').
    '_codecs.encode': fn('_codecs', 'encode', (args) => latin1Bytes('_codecs.encode', args)),
    'builtins.bytes': fn('builtins', 'bytes', (args) => {
      if (args.length === 1 && args[0] instanceof Uint8Array) return new Uint8Array(args[0]);
      return args.length === 0 ? new Uint8Array(0) : latin1Bytes('builtins.bytes', args);
    }),
    'builtins.bytearray': fn('builtins', 'bytearray', (args) => {
      if (args.length === 1 && args[0] instanceof Uint8Array) return new Uint8Array(args[0]);
      return args.length === 0 ? new Uint8Array(0) : latin1Bytes('builtins.bytearray', args);
    }),
  };
  function latin1Bytes(what: string, args: unknown[]): Uint8Array {
    const [text, encoding] = args;
    if (typeof text !== 'string' || (encoding !== 'latin1' && encoding !== 'latin-1')) {
      fail(`${what}: only (text, 'latin1') is read, the pickle gives (${args.map(describePy).join(', ')})`);
    }
    const s = text as string;
    const out = new Uint8Array(s.length);
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c > 255) fail(`${what}: character ${c} is not latin-1`);
      out[i] = c;
    }
    return out;
  }

  return (module, name, at) => {
    const full = `${module}.${name}`;
    const hit = allowed[full];
    if (hit) return hit;
    if (module === 'torch' && name in STORAGE_DTYPES) return new StorageType(name, STORAGE_DTYPES[name]!);
    if (module === 'torch' && name in UNSUPPORTED_STORAGES) fail(`torch.${name} (byte ${at} of the pickle): ${UNSUPPORTED_STORAGES[name]}`);
    const reason = REFUSED_WITH_REASON[full];
    if (reason) fail(`refused global '${full}' (byte ${at} of the pickle): ${reason}. Nothing was loaded.`);
    return fail(`refused global '${full}' (byte ${at} of the pickle): a checkpoint may hold only tensors, storages and plain containers `
      + `(what torch.load(weights_only=True) accepts); calling '${full}' could run any code, so nothing was loaded. `
      + `Allowed: ${[...Object.keys(allowed), 'torch.<Type>Storage'].join(', ')}`);
  };
}

/** Parses a persistent id: the storage it names (one StorageRef per key). */
function storageLoader(file: string, format: CheckpointFormat, storages: Map<string, StorageRef>): (pid: unknown, at: number) => StorageRef {
  return (pid, at) => {
    const where = `persistent id at byte ${at} of the pickle`;
    if (!Array.isArray(pid) || pid[0] !== 'storage') throw new CheckpointError(file, `${where}: expected ('storage', type, key, location, size${format === 'legacy' ? ', view' : ''}), got ${describePy(pid)}`);
    const [, type, rawKey, , numel, view] = pid as unknown[];
    if (!(type instanceof StorageType)) throw new CheckpointError(file, `${where}: expected a torch.<Type>Storage as the storage type, got ${describePy(type)}`);
    const key = typeof rawKey === 'number' ? String(rawKey) : rawKey;
    if (typeof key !== 'string') throw new CheckpointError(file, `${where}: the storage key must be a string, got ${describePy(rawKey)}`);
    if (!isWhole(numel)) throw new CheckpointError(file, `${where}: the storage size must be a whole number, got ${describePy(numel)}`);
    let root = storages.get(key);
    if (!root) { root = new StorageRef(key, type.dtype, numel); storages.set(key, root); }
    if (root.dtype !== type.dtype) throw new CheckpointError(file, `${where}: storage '${key}' is ${type.dtype} here but ${root.dtype} before`);
    if (view === undefined || view === null) return root;
    // Legacy storage views (PyTorch < 0.4): (view key, offset, size) into the root storage.
    const [viewKey, offset, viewSize] = Array.isArray(view) ? view : [];
    if (typeof viewKey !== 'string' || !isWhole(offset) || !isWhole(viewSize) || offset + viewSize > root.numel) {
      throw new CheckpointError(file, `${where}: expected a storage view (key, offset, size) inside ${root.describe()}, got ${describePy(view)}`);
    }
    let v = storages.get(viewKey);
    if (!v) { v = new StorageRef(viewKey, type.dtype, viewSize, root, offset); storages.set(viewKey, v); }
    return v;
  };
}

function byteswap(bytes: Uint8Array, size: number): Uint8Array {
  if (size === 1) return bytes;
  const out = new Uint8Array(bytes.length);
  for (let i = 0; i < bytes.length; i += size) for (let j = 0; j < size; j++) out[i + j] = bytes[i + size - 1 - j]!;
  return out;
}

/** An opened checkpoint: its object with TensorRefs in place of tensors, and how to make them. */
interface Opened {
  format: CheckpointFormat;
  value: unknown;
  /** The bytes of a root storage (little-endian). */
  storageBytes(ref: StorageRef): Promise<Uint8Array>;
  close(): Promise<void>;
}

async function openZip(file: string, fh: FileHandle, size: number): Promise<Opened> {
  const entries = await readZipDirectory(fh, size, file);
  const names = [...entries.keys()];
  const first = names[0] ?? '';
  const prefix = first.includes('/') ? first.slice(0, first.indexOf('/')) : '';
  const pkl = entries.get(`${prefix}/data.pkl`) ?? [...entries.values()].find((e) => /^[^/]+\/data\.pkl$/.test(e.name));
  if (!pkl) {
    const torchScript = names.some((n) => /^[^/]+\/(code\/|constants\.pkl$)/.test(n));
    throw new CheckpointError(file, torchScript
      ? 'a TorchScript archive (torch.jit.save) holds code, not a checkpoint: save the state dict with torch.save(model.state_dict(), path)'
      : `a zip archive without '<archive>/data.pkl': not written by torch.save (entries: ${names.slice(0, 8).join(', ')}${names.length > 8 ? ', …' : ''})`);
  }
  const root = pkl.name.slice(0, -'/data.pkl'.length);
  const order = entries.get(`${root}/byteorder`);
  const byteorder = order ? (await readZipEntry(fh, order, size, file)).toString('latin1').trim() : 'little';
  if (byteorder !== 'little' && byteorder !== 'big') throw new CheckpointError(file, `'${root}/byteorder' must be 'little' or 'big', got ${JSON.stringify(byteorder)}`);
  const data = await readZipEntry(fh, pkl, size, file);
  const storages = new Map<string, StorageRef>();
  const { value } = unpickle(data, 0, { file, findGlobal: allowlist(file), persistentLoad: storageLoader(file, 'zip', storages) });
  return {
    format: 'zip',
    value,
    async storageBytes(ref) {
      const name = `${root}/data/${ref.key}`;
      const entry: ZipEntry | undefined = entries.get(name);
      if (!entry) throw new CheckpointError(file, `missing storage record '${name}': the pickle uses ${ref.describe()}, the archive has no such entry`);
      const es = ELEMENT_BYTES[ref.dtype];
      if (entry.size !== ref.numel * es) throw new CheckpointError(file, `storage record '${name}' holds ${entry.size} bytes; ${ref.describe()} needs ${ref.numel * es}`);
      const bytes = await readZipEntry(fh, entry, size, file);
      return byteorder === 'big' ? byteswap(bytes, es) : bytes;
    },
    close: () => fh.close(),
  };
}

async function openLegacy(file: string, fh: FileHandle): Promise<Opened> {
  const bytes = await readFile(fh);
  await fh.close();
  const refuse = allowlist(file);
  const plain = { file, findGlobal: refuse };
  const magic = unpickle(bytes, 0, plain);
  if (magic.value !== LEGACY_MAGIC) {
    throw new CheckpointError(file, `a pickle, but not a torch.save file: the first pickle should be the magic number 0x${LEGACY_MAGIC.toString(16)}, got ${describePy(magic.value)}`);
  }
  const version = unpickle(bytes, magic.end, plain);
  if (version.value !== LEGACY_PROTOCOL) throw new CheckpointError(file, `legacy torch.save protocol version ${describePy(version.value)}: only ${LEGACY_PROTOCOL} is read`);
  const sysInfo = unpickle(bytes, version.end, plain);
  const info = sysInfo.value as Record<string, unknown>;
  if (!isDict(info)) throw new CheckpointError(file, `expected sys_info (a dict) after the protocol version, got ${describePy(info)}`);
  const littleEndian = info.little_endian !== false;
  const storages = new Map<string, StorageRef>();
  const main = unpickle(bytes, sysInfo.end, { file, findGlobal: refuse, persistentLoad: storageLoader(file, 'legacy', storages) });
  const keys = unpickle(bytes, main.end, plain);
  if (!Array.isArray(keys.value) || !keys.value.every((k) => typeof k === 'string')) {
    throw new CheckpointError(file, `expected the list of storage keys after the object, got ${describePy(keys.value)}`);
  }
  // The storages follow in key order, each as an 8-byte element count and its bytes.
  const data = new Map<string, Uint8Array>();
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = keys.end;
  for (const key of keys.value as string[]) {
    const ref = storages.get(key);
    if (!ref) throw new CheckpointError(file, `the storage list names '${key}', which no tensor in the pickle uses`);
    if (pos + 8 > bytes.length) throw new CheckpointError(file, `truncated file: ${ref.describe()} should start at byte ${pos}, the file has ${bytes.length} bytes`);
    const count = littleEndian ? view.getBigInt64(pos, true) : view.getBigInt64(pos, false);
    if (count !== BigInt(ref.numel)) throw new CheckpointError(file, `${ref.describe()}: its data at byte ${pos} says ${count} elements, the pickle says ${ref.numel}`);
    pos += 8;
    const n = ref.numel * ELEMENT_BYTES[ref.dtype];
    if (pos + n > bytes.length) throw new CheckpointError(file, `truncated file: ${ref.describe()} needs ${n} bytes at byte ${pos}, the file has ${bytes.length - pos} left`);
    const raw = bytes.subarray(pos, pos + n);
    data.set(key, littleEndian ? raw : byteswap(raw, ELEMENT_BYTES[ref.dtype]));
    pos += n;
  }
  return {
    format: 'legacy',
    value: main.value,
    async storageBytes(ref) {
      const got = data.get(ref.key);
      if (!got) throw new CheckpointError(file, `missing storage data: the pickle uses ${ref.describe()}, the file's storage list does not name it`);
      return got;
    },
    close: async () => {},
  };
}

async function openCheckpoint(file: string): Promise<Opened> {
  let fh: FileHandle;
  try {
    fh = await open(file, 'r');
  } catch (err) {
    throw new CheckpointError(file, `cannot open: ${(err as Error).message}`, { cause: err });
  }
  try {
    const size = (await fh.stat()).size;
    const head = Buffer.alloc(Math.min(size, 512));
    await fh.read(head, 0, head.length, 0);
    if (head.length >= 4 && head.readUInt32LE(0) === 0x04034b50) return await openZip(file, fh, size);
    if (head.length >= 2 && head[0] === 0x80 && head[1]! >= 2 && head[1]! <= 5) return await openLegacy(file, fh);
    await fh.close();
    if (head.length >= 262 && head.toString('latin1', 257, 262) === 'ustar') {
      throw new CheckpointError(file, 'a tar archive: the tar format of PyTorch before 0.1.10 is not supported; load and re-save it with a newer PyTorch');
    }
    const shown = [...head.subarray(0, 8)].map((b) => b.toString(16).padStart(2, '0')).join(' ');
    throw new CheckpointError(file, `not a PyTorch checkpoint: expected a zip archive (torch.save since PyTorch 1.6, starting 'PK\\x03\\x04') or the legacy format (a pickle starting 0x80 0x02), got ${size === 0 ? 'an empty file' : `bytes ${shown}`}`);
  } catch (err) {
    await fh.close().catch(() => {});
    if (err instanceof PickleError || err instanceof ZipError) throw new CheckpointError(file, err.message.slice(file.length + 2), { cause: err });
    throw err;
  }
}

/** Makes every TensorRef in `value` (in place: containers are rewritten), once per ref. */
async function build(opened: Opened, value: unknown, file: string, made: Map<TensorRef, Tensor>): Promise<unknown> {
  const refs: TensorRef[] = [];
  const seen = new Set<object>();
  const collect = (v: unknown) => {
    if (v instanceof TensorRef) { refs.push(v); return; }
    if (v === null || typeof v !== 'object' || seen.has(v)) return;
    seen.add(v);
    if (Array.isArray(v)) v.forEach(collect);
    else if (v instanceof Set) v.forEach(collect);
    else if (isDict(v)) Object.values(v).forEach(collect);
  };
  collect(value);
  const bytesOf = new Map<StorageRef, Uint8Array>();
  for (const ref of refs) {
    if (made.has(ref)) continue;
    const root = ref.storage.base ?? ref.storage;
    let bytes = bytesOf.get(root);
    if (!bytes) { bytes = await opened.storageBytes(root); bytesOf.set(root, bytes); }
    made.set(ref, makeTensor(ref, bytes, file));
  }
  const replaced = new Set<object>();
  const replace = (v: unknown): unknown => {
    if (v instanceof TensorRef) return made.get(v);
    if (v === null || typeof v !== 'object' || replaced.has(v)) return v;
    replaced.add(v);
    if (Array.isArray(v)) v.forEach((x, i) => { v[i] = replace(x); });
    else if (v instanceof Set) { const items = [...v].map(replace); v.clear(); items.forEach((x) => v.add(x)); }
    else if (isDict(v)) for (const [k, x] of Object.entries(v)) setKey(v, k, replace(x));
    return v;
  };
  return replace(value);
}

/** One tensor from its storage's bytes: contiguous ones are copied straight in, views through as_strided. */
function makeTensor(ref: TensorRef, rootBytes: Uint8Array, file: string): Tensor {
  const es = ELEMENT_BYTES[ref.dtype];
  const code = dtypeCode(ref.dtype);
  const start = (ref.storage.baseOffset + ref.offset) * es;
  const numel = ref.numel;
  if (numel === 0) return new Tensor(native.fromBuffer(new Uint8Array(0), ref.size, code));
  // The elements the tensor reads: from its offset to its last element.
  const span = 1 + ref.size.reduce((a, n, i) => a + (n - 1) * ref.stride[i]!, 0);
  const bytes = rootBytes.subarray(start, start + span * es);
  if (ref.dtype === 'bool') {
    const at = bytes.findIndex((b) => b > 1);
    if (at >= 0) throw new CheckpointError(file, `${ref.storage.describe()}: bool values must be bytes 0 or 1, got ${bytes[at]}`);
  }
  if (ref.isContiguous) return new Tensor(native.fromBuffer(bytes, ref.size, code));
  const flat = new Tensor(native.fromBuffer(bytes, [span], code));
  try {
    const view = callOp<Tensor>('as_strided', '', flat, ref.size, ref.stride, 0);
    try {
      return view.contiguous();
    } finally {
      view.dispose();
    }
  } finally {
    flat.dispose();
  }
}

function disposeAll(made: Map<TensorRef, Tensor>): void {
  for (const t of made.values()) t.dispose();
}

/**
 * The whole object a torch.save file holds: dicts (and OrderedDicts) as plain objects, lists
 * and tuples as arrays, sets as Sets, ints as numbers (bigint past 2^53), bytes as Uint8Array,
 * tensors (and parameters) as dlkit Tensors, which the caller owns. Views of one storage become
 * independent tensors; a tensor the file holds twice (the same Python object) is one Tensor.
 * Refuses every global outside the allowlist before making any tensor.
 */
export async function readTorchCheckpoint(file: string): Promise<unknown> {
  const opened = await openCheckpoint(file);
  const made = new Map<TensorRef, Tensor>();
  try {
    return await build(opened, opened.value, file, made);
  } catch (err) {
    disposeAll(made);
    throw err;
  } finally {
    await opened.close();
  }
}

/**
 * One plain pickle (not a torch.save file) through the same allowlist: containers, numbers,
 * strings, bytes and sets; tensors need a checkpoint's storages, so persistent ids are refused.
 */
export function loadPickle(bytes: Uint8Array, options: { file?: string } = {}): unknown {
  const file = options.file ?? '<buffer>';
  return unpickle(bytes, 0, { file, findGlobal: allowlist(file) }).value;
}

/** Keys whose dict holds the state dict in training checkpoints, in the order they are tried. */
export const STATE_DICT_KEYS = ['state_dict', 'model_state_dict', 'model'] as const;

export interface StateDictOptions {
  /**
   * The top-level key that holds the state dict (a dict of tensors); null: the top level itself.
   * Default: the first of 'state_dict', 'model_state_dict', 'model' that holds a dict with a
   * tensor, else the top level.
   */
  key?: string | null;
}

export interface StateDictReading {
  /** By state-dict name; the caller owns them (each name its own tensor). */
  tensors: Record<string, Tensor>;
  file: string;
  format: CheckpointFormat | 'safetensors';
  /** The top-level key the tensors came from; null for the top level. */
  key: string | null;
  /** What the state dict holds besides tensors (not in `tensors`): name and a description. */
  skipped: { name: string; what: string }[];
  /** The other top-level entries that are plain data (best_prec1, epoch, …). */
  extras: Record<string, unknown>;
  /** The other top-level entries that hold tensors (an optimizer's state, …): not read. */
  notRead: string[];
}

function holdsTensor(v: unknown): boolean {
  return isDict(v) && Object.values(v).some((x) => x instanceof TensorRef);
}

function hasTensorInside(v: unknown, seen = new Set<object>()): boolean {
  if (v instanceof TensorRef) return true;
  if (v === null || typeof v !== 'object' || seen.has(v)) return false;
  seen.add(v);
  const items = Array.isArray(v) ? v : v instanceof Set ? [...v] : isDict(v) ? Object.values(v) : [];
  return items.some((x) => hasTensorInside(x, seen));
}

const looksLikeSafetensors = (head: Buffer, size: number) => {
  if (head.length < 9 || head[8] !== 0x7b) return false;
  const n = head.readBigUInt64LE(0);
  return n > 0n && n <= BigInt(size - 8);
};

/**
 * The state dict of a checkpoint (zip or legacy torch.save file, or .safetensors), with where it
 * came from and what else the file holds. See `loadStateDict` for the tensors alone.
 */
export async function readStateDict(file: string, options: StateDictOptions = {}): Promise<StateDictReading> {
  let head = Buffer.alloc(0), size = 0;
  try {
    const fh = await open(file, 'r');
    try {
      size = (await fh.stat()).size;
      head = Buffer.alloc(Math.min(size, 16));
      await fh.read(head, 0, head.length, 0);
    } finally {
      await fh.close();
    }
  } catch (err) {
    throw new CheckpointError(file, `cannot read: ${(err as Error).message}`, { cause: err });
  }
  if (file.endsWith('.safetensors') || looksLikeSafetensors(head, size)) {
    if (options.key !== undefined && options.key !== null) throw new CheckpointError(file, `option 'key' (${JSON.stringify(options.key)}): a safetensors file has no keys above its tensors`);
    const { tensors, metadata } = await loadSafetensors(file);
    return { tensors, file, format: 'safetensors', key: null, skipped: [], extras: { ...metadata }, notRead: [] };
  }

  const opened = await openCheckpoint(file);
  const made = new Map<TensorRef, Tensor>();
  try {
    const top = opened.value;
    if (!isDict(top)) {
      throw new CheckpointError(file, `expected a dict (a state dict, or a checkpoint holding one under ${STATE_DICT_KEYS.map((k) => `'${k}'`).join(', ')}), the file holds ${describePy(top)}${top instanceof TensorRef ? ` (${top.describe()})` : ''}`);
    }
    let key: string | null;
    if (options.key !== undefined) {
      key = options.key;
      if (key !== null && !holdsTensor(top[key])) {
        throw new CheckpointError(file, `option 'key': '${key}' ${key in top ? `holds ${describePy(top[key])}, not a dict of tensors` : 'is not in the file'}; top-level keys: ${Object.keys(top).join(', ')}`);
      }
    } else {
      key = STATE_DICT_KEYS.find((k) => holdsTensor(top[k])) ?? null;
    }
    const dict = (key === null ? top : top[key]) as Record<string, unknown>;
    if (!holdsTensor(dict)) {
      throw new CheckpointError(file, `found no tensors at the top level nor under ${STATE_DICT_KEYS.map((k) => `'${k}'`).join(', ')}; top-level keys: ${Object.keys(top).join(', ')} (pass option 'key', or use readTorchCheckpoint)`);
    }
    const skipped: { name: string; what: string }[] = [];
    const entries: [string, TensorRef][] = [];
    for (const [name, v] of Object.entries(dict)) {
      if (v instanceof TensorRef) entries.push([name, v]);
      else skipped.push({ name, what: describePy(v) });
    }
    const extras: Record<string, unknown> = {};
    const notRead: string[] = [];
    if (key !== null) {
      for (const [k, v] of Object.entries(top)) {
        if (k === key) continue;
        if (hasTensorInside(v)) notRead.push(k);
        else setKey(extras, k, v);
      }
    }
    await build(opened, entries.map(([, r]) => r), file, made);
    const tensors: Record<string, Tensor> = {};
    const used = new Set<Tensor>();
    for (const [name, ref] of entries) {
      const t = made.get(ref)!;
      // A tensor stored under two names (tied weights) is cloned, so every name owns its tensor.
      setKey(tensors, name, used.has(t) ? t.clone() : t);
      used.add(t);
    }
    return { tensors, file, format: opened.format, key, skipped, extras, notRead };
  } catch (err) {
    disposeAll(made);
    throw err;
  } finally {
    await opened.close();
  }
}

/**
 * The tensors of a checkpoint's state dict by name: a zip or legacy torch.save file (a state
 * dict, or a training checkpoint holding one under 'state_dict', 'model_state_dict' or 'model',
 * or under `options.key`), or a .safetensors file. The caller owns the tensors. Entries that are
 * not tensors are an error naming them (readStateDict returns them instead).
 */
export async function loadStateDict(file: string, options: StateDictOptions = {}): Promise<Record<string, Tensor>> {
  const r = await readStateDict(file, options);
  const inside = r.skipped;
  if (inside.length) {
    for (const t of Object.values(r.tensors)) t.dispose();
    throw new CheckpointError(file, `the state dict${r.key ? ` under '${r.key}'` : ''} holds ${inside.length} entr${inside.length === 1 ? 'y' : 'ies'} that are not tensors: `
      + `${inside.map((s) => `'${s.name}' (${s.what})`).join(', ')}; readStateDict returns the tensors and lists these`);
  }
  return r.tensors;
}
