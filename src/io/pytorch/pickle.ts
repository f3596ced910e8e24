// A restricted unpickler: the pickle virtual machine (protocols 0–5) without Python. It builds
// only data — None, bools, ints, floats, strings, bytes, lists, tuples, dicts, sets — and every
// global the stream names (GLOBAL, STACK_GLOBAL, INST) goes to the caller's `findGlobal`, which
// returns a stand-in or refuses. Nothing else can be called, so a file can never run code; the
// checkpoint reader's allowlist is what torch.load(weights_only=True) guarantees.
//
// Python values become:
//   None → null, bool → boolean, int → number (bigint beyond 2^53), float → number,
//   str → string, bytes/bytearray → Uint8Array, list/tuple → array, set/frozenset → Set,
//   dict/OrderedDict → a plain object (keys as strings: 5 → '5'; insertion order kept).

/** A problem reading a pickle; names the file and the byte where it happened. */
export class PickleError extends Error {
  constructor(readonly file: string, message: string, options?: { cause?: unknown }) {
    super(`${file}: ${message}`, options);
    this.name = 'PickleError';
  }
}

/**
 * What a global resolves to. `call` makes REDUCE/NEWOBJ/INST/OBJ work on it (with the positional
 * arguments); a global without `call` can only be passed around as a value (a storage type in a
 * persistent id, for example).
 */
export interface PyGlobal {
  readonly module: string;
  readonly name: string;
  call?(args: unknown[]): unknown;
}

export interface UnpickleOptions {
  /** Names the source in errors. */
  file?: string;
  /** Resolves a global `module.name` or throws to refuse it. Called when the opcode is met, before anything uses it. */
  findGlobal(module: string, name: string, at: number): PyGlobal;
  /** The object a persistent id stands for (PyTorch's storages); without it, persistent ids are an error. */
  persistentLoad?(pid: unknown, at: number): unknown;
}

export interface UnpickleResult {
  value: unknown;
  /** The byte after the STOP opcode: where a following pickle starts. */
  end: number;
}

/** Python 2 module names that Python 3's unpickler maps (fix_imports), for the globals state dicts use. */
const PY2_MODULES: Record<string, string> = { __builtin__: 'builtins', copy_reg: 'copyreg' };

const MARK = Symbol('mark');

/** Tuples are arrays too; this marks the ones that came from tuples, for `describePy`. */
const TUPLES = new WeakSet<object>();

function pyKey(k: unknown, file: string, at: number): string {
  if (typeof k === 'string') return k;
  if (typeof k === 'number' || typeof k === 'bigint' || typeof k === 'boolean') return String(k);
  if (k === null) return 'None';
  throw new PickleError(file, `a dict key at byte ${at} is ${describePy(k)}; dlkit keeps dict keys as strings, and only str, int, float, bool and None keys convert`);
}

/** Sets `obj[key] = value` without ever touching the prototype (a key '__proto__' is an ordinary key). */
export function setKey(obj: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(obj, key, { value, writable: true, enumerable: true, configurable: true });
}

/** A short description of an unpickled value, for error messages. */
export function describePy(v: unknown): string {
  if (v === null) return 'None';
  if (v === undefined) return 'nothing';
  if (typeof v === 'string') return `str '${v.length > 40 ? `${v.slice(0, 40)}…` : v}'`;
  if (typeof v === 'number') return `${Number.isInteger(v) ? 'int' : 'float'} ${v}`;
  if (typeof v === 'bigint') return `int ${v}`;
  if (typeof v === 'boolean') return `bool ${v ? 'True' : 'False'}`;
  if (v instanceof Uint8Array) return `bytes (${v.length})`;
  if (Array.isArray(v)) return `${TUPLES.has(v) ? 'tuple' : 'list'} of ${v.length}`;
  if (v instanceof Set) return `set of ${v.size}`;
  if (typeof v === 'object' && 'module' in v && 'name' in v) return `global ${(v as PyGlobal).module}.${(v as PyGlobal).name}`;
  if (typeof v === 'object' && v.constructor === Object) return `dict of ${Object.keys(v).length}`;
  return (v as object).constructor?.name ?? typeof v;
}

const OPCODE_NAMES: Record<number, string> = {
  0x28: 'MARK', 0x2e: 'STOP', 0x30: 'POP', 0x31: 'POP_MARK', 0x32: 'DUP', 0x46: 'FLOAT', 0x49: 'INT', 0x4a: 'BININT',
  0x4b: 'BININT1', 0x4c: 'LONG', 0x4d: 'BININT2', 0x4e: 'NONE', 0x50: 'PERSID', 0x51: 'BINPERSID', 0x52: 'REDUCE',
  0x53: 'STRING', 0x54: 'BINSTRING', 0x55: 'SHORT_BINSTRING', 0x56: 'UNICODE', 0x58: 'BINUNICODE', 0x61: 'APPEND',
  0x62: 'BUILD', 0x63: 'GLOBAL', 0x64: 'DICT', 0x7d: 'EMPTY_DICT', 0x65: 'APPENDS', 0x67: 'GET', 0x68: 'BINGET',
  0x69: 'INST', 0x6a: 'LONG_BINGET', 0x6c: 'LIST', 0x5d: 'EMPTY_LIST', 0x6f: 'OBJ', 0x70: 'PUT', 0x71: 'BINPUT',
  0x72: 'LONG_BINPUT', 0x73: 'SETITEM', 0x74: 'TUPLE', 0x29: 'EMPTY_TUPLE', 0x75: 'SETITEMS', 0x47: 'BINFLOAT',
  0x80: 'PROTO', 0x81: 'NEWOBJ', 0x82: 'EXT1', 0x83: 'EXT2', 0x84: 'EXT4', 0x85: 'TUPLE1', 0x86: 'TUPLE2',
  0x87: 'TUPLE3', 0x88: 'NEWTRUE', 0x89: 'NEWFALSE', 0x8a: 'LONG1', 0x8b: 'LONG4', 0x42: 'BINBYTES',
  0x43: 'SHORT_BINBYTES', 0x8c: 'SHORT_BINUNICODE', 0x8d: 'BINUNICODE8', 0x8e: 'BINBYTES8', 0x8f: 'EMPTY_SET',
  0x90: 'ADDITEMS', 0x91: 'FROZENSET', 0x92: 'NEWOBJ_EX', 0x93: 'STACK_GLOBAL', 0x94: 'MEMOIZE', 0x95: 'FRAME',
  0x96: 'BYTEARRAY8', 0x97: 'NEXT_BUFFER', 0x98: 'READONLY_BUFFER',
};

const utf8 = new TextDecoder('utf-8', { fatal: true });
const latin1 = new TextDecoder('latin1');

function intValue(v: bigint): number | bigint {
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

/** Little-endian two's-complement bytes (LONG1, LONG4). */
function decodeLong(b: Uint8Array): number | bigint {
  if (b.length === 0) return 0;
  let v = 0n;
  for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]!);
  if (b[b.length - 1]! & 0x80) v -= 1n << BigInt(8 * b.length);
  return intValue(v);
}

/** Python's raw-unicode-escape (protocol 0 UNICODE): latin-1 bytes with \uXXXX and \UXXXXXXXX escapes. */
function rawUnicodeEscape(b: Uint8Array): string {
  const s = latin1.decode(b);
  return s.replace(/\\u([0-9a-fA-F]{4})|\\U([0-9a-fA-F]{8})/g, (_, u4: string | undefined, u8: string | undefined) => String.fromCodePoint(parseInt((u4 ?? u8)!, 16)));
}

/** The body of a protocol 0 STRING: a Python 2 repr, quoted, with backslash escapes. */
function stringEscape(line: string, file: string, at: number): Uint8Array {
  const q = line[0];
  if (line.length < 2 || (q !== "'" && q !== '"') || line[line.length - 1] !== q) {
    throw new PickleError(file, `STRING at byte ${at}: expected a quoted string, got ${JSON.stringify(line.slice(0, 40))}`);
  }
  const body = line.slice(1, -1);
  const out: number[] = [];
  const simple: Record<string, number> = { n: 10, t: 9, r: 13, '\\': 92, "'": 39, '"': 34, a: 7, b: 8, f: 12, v: 11, '0': 0 };
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (c !== '\\') { out.push(c.charCodeAt(0) & 0xff); continue; }
    const n = body[++i];
    if (n === 'x') { out.push(parseInt(body.slice(i + 1, i + 3), 16)); i += 2; }
    else if (n !== undefined && /[0-7]/.test(n)) {
      const m = /^[0-7]{1,3}/.exec(body.slice(i))![0];
      out.push(parseInt(m, 8) & 0xff);
      i += m.length - 1;
    } else if (n !== undefined && n in simple) out.push(simple[n]!);
    else { out.push(92); if (n !== undefined) out.push(n.charCodeAt(0) & 0xff); }
  }
  return Uint8Array.from(out);
}

function textFloat(s: string, file: string, at: number): number {
  const t = s.trim();
  const special: Record<string, number> = { inf: Infinity, '-inf': -Infinity, nan: NaN, '-nan': NaN };
  const v = t in special ? special[t]! : Number(t);
  if (Number.isNaN(v) && !(t in special)) throw new PickleError(file, `FLOAT at byte ${at}: ${JSON.stringify(t)} is not a number`);
  return v;
}

function textInt(s: string, file: string, at: number, op: string): number | bigint {
  const t = s.trim().replace(/L$/, '');
  if (!/^[-+]?\d+$/.test(t)) throw new PickleError(file, `${op} at byte ${at}: ${JSON.stringify(t)} is not an integer`);
  return intValue(BigInt(t));
}

/**
 * Runs one pickle from `bytes[start]` to its STOP opcode. Globals go through `findGlobal`
 * when they are read; persistent ids through `persistentLoad`.
 */
export function unpickle(bytes: Uint8Array, start: number, options: UnpickleOptions): UnpickleResult {
  const file = options.file ?? '<buffer>';
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = start;
  let stack: unknown[] = [];
  const marks: unknown[][] = [];
  const memo = new Map<number, unknown>();
  let opAt = start;
  let opName = '';

  const need = (n: number) => {
    if (n > bytes.length - pos) {
      throw new PickleError(file, `truncated pickle: ${opName} at byte ${opAt} needs ${n} more bytes, but the data ends at byte ${bytes.length}`);
    }
  };
  const take = (n: number) => { need(n); const b = bytes.subarray(pos, pos + n); pos += n; return b; };
  const u8 = () => { need(1); return bytes[pos++]!; };
  const u16 = () => { need(2); const v = view.getUint16(pos, true); pos += 2; return v; };
  const u32 = () => { need(4); const v = view.getUint32(pos, true); pos += 4; return v; };
  const i32 = () => { need(4); const v = view.getInt32(pos, true); pos += 4; return v; };
  const u64 = () => {
    need(8);
    const v = view.getBigUint64(pos, true);
    pos += 8;
    if (v > BigInt(bytes.length)) throw new PickleError(file, `truncated pickle: ${opName} at byte ${opAt} gives a length of ${v} bytes, more than the whole data (${bytes.length})`);
    return Number(v);
  };
  const line = () => {
    const end = bytes.indexOf(0x0a, pos);
    if (end < 0) throw new PickleError(file, `truncated pickle: ${opName} at byte ${opAt} expects a line ending in '\\n', but the data ends at byte ${bytes.length}`);
    const s = latin1.decode(bytes.subarray(pos, end));
    pos = end + 1;
    return s;
  };
  const str = (b: Uint8Array) => {
    try {
      return utf8.decode(b);
    } catch {
      throw new PickleError(file, `${opName} at byte ${opAt}: the string is not valid UTF-8`);
    }
  };
  const pop = () => {
    if (stack.length === 0) throw new PickleError(file, `corrupt pickle: ${opName} at byte ${opAt} needs a value, but the stack is empty`);
    return stack.pop();
  };
  const top = () => {
    if (stack.length === 0) throw new PickleError(file, `corrupt pickle: ${opName} at byte ${opAt} needs a value, but the stack is empty`);
    return stack[stack.length - 1];
  };
  const popMark = () => {
    const items = stack;
    const prev = marks.pop();
    if (!prev) throw new PickleError(file, `corrupt pickle: ${opName} at byte ${opAt} needs a MARK, but there is none`);
    stack = prev;
    return items;
  };
  // Not `stack.push(f())`: f may pop a MARK and replace `stack`, and the push must go to the new one.
  const push = (v: unknown) => { stack.push(v); };
  const tuple = (items: unknown[]) => { TUPLES.add(items); return items; };
  const resolve = (module: string, name: string): PyGlobal => options.findGlobal(PY2_MODULES[module] ?? module, name, opAt);
  const call = (fn: unknown, args: unknown) => {
    if (!fn || typeof fn !== 'object' || !('module' in fn) || typeof (fn as PyGlobal).call !== 'function') {
      throw new PickleError(file, `${opName} at byte ${opAt}: cannot call ${describePy(fn)}`);
    }
    if (!Array.isArray(args)) throw new PickleError(file, `${opName} at byte ${opAt}: the arguments of ${describePy(fn)} must be a tuple, got ${describePy(args)}`);
    return (fn as PyGlobal).call!(args);
  };
  const dict = () => ({}) as Record<string, unknown>;
  const isDict = (d: unknown): d is Record<string, unknown> => d !== null && typeof d === 'object' && Object.getPrototypeOf(d) === Object.prototype;
  const setItems = (d: unknown, items: unknown[]) => {
    if (!isDict(d)) throw new PickleError(file, `${opName} at byte ${opAt}: can only set items of a dict, got ${describePy(d)}`);
    if (items.length % 2) throw new PickleError(file, `corrupt pickle: ${opName} at byte ${opAt} has an odd number of keys and values`);
    for (let i = 0; i < items.length; i += 2) setKey(d, pyKey(items[i], file, opAt), items[i + 1]);
  };
  const append = (l: unknown, items: unknown[]) => {
    if (!Array.isArray(l)) throw new PickleError(file, `${opName} at byte ${opAt}: can only append to a list, got ${describePy(l)}`);
    for (const x of items) l.push(x);
  };
  const addItems = (s: unknown, items: unknown[]) => {
    if (!(s instanceof Set)) throw new PickleError(file, `${opName} at byte ${opAt}: can only add items to a set, got ${describePy(s)}`);
    for (const x of items) s.add(x);
  };
  const get = (i: number) => {
    if (!memo.has(i)) throw new PickleError(file, `corrupt pickle: ${opName} at byte ${opAt} reads memo entry ${i}, which was never stored`);
    push(memo.get(i));
  };
  const persistent = (pid: unknown) => {
    if (!options.persistentLoad) throw new PickleError(file, `${opName} at byte ${opAt}: the pickle refers to a persistent object, which this reader does not expect`);
    return options.persistentLoad(pid, opAt);
  };

  for (;;) {
    if (pos >= bytes.length) {
      throw new PickleError(file, `truncated pickle: the data ends at byte ${bytes.length} before the STOP opcode${pos === start ? ' (empty)' : ''}`);
    }
    opAt = pos;
    const op = bytes[pos++]!;
    opName = OPCODE_NAMES[op] ?? `0x${op.toString(16).padStart(2, '0')}`;
    switch (op) {
      case 0x80: { const v = u8(); if (v > 5) throw new PickleError(file, `pickle protocol ${v} at byte ${opAt} is newer than 5, the highest this reader knows`); break; }
      case 0x95: u64(); break; // FRAME: a length hint; the opcodes follow inline
      case 0x2e: { const value = pop(); return { value, end: pos }; }
      case 0x28: marks.push(stack); stack = []; break;
      case 0x30: if (stack.length) stack.pop(); else popMark(); break;
      case 0x31: popMark(); break;
      case 0x32: push(top()); break;
      case 0x4e: push(null); break;
      case 0x88: push(true); break;
      case 0x89: push(false); break;
      case 0x49: {
        const s = line();
        push(s === '01' ? true : s === '00' ? false : textInt(s, file, opAt, 'INT'));
        break;
      }
      case 0x4a: push(i32()); break;
      case 0x4b: push(u8()); break;
      case 0x4d: push(u16()); break;
      case 0x4c: push(textInt(line(), file, opAt, 'LONG')); break;
      case 0x8a: push(decodeLong(take(u8()))); break;
      case 0x8b: { const n = i32(); if (n < 0) throw new PickleError(file, `corrupt pickle: LONG4 at byte ${opAt} has a negative length`); push(decodeLong(take(n))); break; }
      case 0x46: push(textFloat(line(), file, opAt)); break;
      case 0x47: { need(8); push(view.getFloat64(pos, false)); pos += 8; break; }
      // Python 2 str: decoded as UTF-8, as torch.load does (encoding='utf-8').
      case 0x53: push(str(stringEscape(line(), file, opAt))); break;
      case 0x54: { const n = i32(); if (n < 0) throw new PickleError(file, `corrupt pickle: BINSTRING at byte ${opAt} has a negative length`); push(str(take(n))); break; }
      case 0x55: push(str(take(u8()))); break;
      case 0x56: { const from = pos; line(); push(rawUnicodeEscape(bytes.subarray(from, pos - 1))); break; }
      case 0x58: push(str(take(u32()))); break;
      case 0x8c: push(str(take(u8()))); break;
      case 0x8d: push(str(take(u64()))); break;
      // Copies (new Uint8Array), never views: Buffer#slice would share the file's bytes.
      case 0x42: push(new Uint8Array(take(u32()))); break;
      case 0x43: push(new Uint8Array(take(u8()))); break;
      case 0x8e: case 0x96: push(new Uint8Array(take(u64()))); break;
      case 0x97: case 0x98: throw new PickleError(file, `${opName} at byte ${opAt}: out-of-band buffers (pickle protocol 5 with buffer_callback) are not supported`);
      case 0x5d: push([]); break;
      case 0x6c: push(popMark()); break;
      case 0x61: { const x = pop(); append(top(), [x]); break; }
      case 0x65: { const items = popMark(); append(top(), items); break; }
      case 0x29: push(tuple([])); break;
      case 0x74: push(tuple(popMark())); break;
      case 0x85: { const a = pop(); push(tuple([a])); break; }
      case 0x86: { const b = pop(), a = pop(); push(tuple([a, b])); break; }
      case 0x87: { const c = pop(), b = pop(), a = pop(); push(tuple([a, b, c])); break; }
      case 0x7d: push(dict()); break;
      case 0x64: { const d = dict(); setItems(d, popMark()); push(d); break; }
      case 0x73: { const v = pop(), k = pop(); setItems(top(), [k, v]); break; }
      case 0x75: { const items = popMark(); setItems(top(), items); break; }
      case 0x8f: push(new Set()); break;
      case 0x90: { const items = popMark(); addItems(top(), items); break; }
      case 0x91: push(new Set(popMark())); break;
      case 0x63: { const module = line(), name = line(); push(resolve(module, name)); break; }
      case 0x93: {
        const name = pop(), module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') throw new PickleError(file, `STACK_GLOBAL at byte ${opAt}: module and name must be strings, got ${describePy(module)} and ${describePy(name)}`);
        push(resolve(module, name));
        break;
      }
      case 0x69: { const module = line(), name = line(); const fn = resolve(module, name); push(call(fn, popMark())); break; }
      case 0x6f: { const items = popMark(); push(call(items[0], items.slice(1))); break; }
      case 0x52: { const args = pop(); push(call(pop(), args)); break; }
      case 0x81: { const args = pop(); push(call(pop(), args)); break; }
      case 0x92: {
        const kwargs = pop(), args = pop(), cls = pop();
        if (!isDict(kwargs) || Object.keys(kwargs).length) throw new PickleError(file, `NEWOBJ_EX at byte ${opAt}: keyword arguments for ${describePy(cls)} are not supported`);
        push(call(cls, args));
        break;
      }
      case 0x62: {
        const state = pop();
        const obj = top();
        // On a dict, the state is its Python attributes (a state dict's `_metadata`), not items: dropped.
        if (state === null || isDict(obj)) break;
        throw new PickleError(file, `BUILD at byte ${opAt}: setting the state of ${describePy(obj)} (to ${describePy(state)}) is not supported`);
      }
      case 0x82: case 0x83: case 0x84: {
        const code = op === 0x82 ? u8() : op === 0x83 ? u16() : i32();
        throw new PickleError(file, `${opName} at byte ${opAt}: extension code ${code} (copyreg's extension registry) is not supported`);
      }
      case 0x70: memo.set(Number(textInt(line(), file, opAt, 'PUT')), top()); break;
      case 0x71: memo.set(u8(), top()); break;
      case 0x72: memo.set(u32(), top()); break;
      case 0x94: memo.set(memo.size, top()); break;
      case 0x67: get(Number(textInt(line(), file, opAt, 'GET'))); break;
      case 0x68: get(u8()); break;
      case 0x6a: get(u32()); break;
      case 0x50: push(persistent(line())); break;
      case 0x51: push(persistent(pop())); break;
      default:
        throw new PickleError(file, `unknown pickle opcode 0x${op.toString(16).padStart(2, '0')} at byte ${opAt} (not a pickle, or corrupt data)`);
    }
  }
}

/** True when `v` came from a Python tuple (they are arrays here, as lists are). */
export function isTuple(v: unknown): boolean {
  return Array.isArray(v) && TUPLES.has(v);
}
