// TorchScript modules (torch.jit.script / torch.jit.trace, saved with torch.jit.save), run
// through libtorch's JIT. A TorchScript file is a zip archive:
//
//   <name>/data.pkl        the module's attributes (pickled; TorchScript's own unpickler)
//   <name>/constants.pkl   tensors the code uses as constants
//   <name>/code/...        the module's TorchScript source, compiled by libtorch on load
//   <name>/data/<n>        tensor storages
//   <name>/extra/<file>    files the saver added (`_extra_files`): class names, preprocessing
//   <name>/version
//
// A plain `torch.save` checkpoint is the same kind of zip without code/ and constants.pkl, so
// the zip's central directory (at its end) tells the two apart before libtorch sees the file.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { native, type Handle, type JitValue, type ModuleHandle } from '../native/binding.js';
import { Tensor } from '../tensor/tensor.js';
import { tensor } from '../tensor/create.js';
import { tidy, type Disposable } from '../tensor/memory.js';
import { mapBatches, classifyOutputs, type Classification, type InferenceInput } from '../data/batch-inference.js';
import { NORMALIZATIONS, type Normalization } from '../nn/layers/input.js';

/** A problem with a TorchScript file or with running its module; names the file. */
export class TorchScriptError extends Error {
  constructor(readonly file: string, message: string, cause?: unknown) {
    super(`${file}: ${message}`, cause === undefined ? undefined : { cause });
    this.name = 'TorchScriptError';
  }
}

const fmtShape = (s: readonly number[]) => `[${s.join(', ')}]`;

// ---- telling TorchScript archives from other files, without running anything ----------------

export type TorchFileKind =
  /** A zip written by torch.jit.save: code/ and constants.pkl. */
  | 'torchscript'
  /** A zip written by torch.save (PyTorch >= 1.6): data.pkl and storages, no code. */
  | 'checkpoint'
  /** A file written by torch.save before PyTorch 1.6: pickles, not a zip. */
  | 'legacy-checkpoint'
  /** A readable zip that holds neither. */
  | 'zip'
  /** Not a zip (or a damaged one: `problem` says what is wrong). */
  | 'other';

export interface TorchFileInfo {
  kind: TorchFileKind;
  /** The entry names of the zip's central directory (empty when not a zip). */
  entries: string[];
  /** The names under <archive>/extra/ (TorchScript's `_extra_files`). */
  extraFiles: string[];
  /** Why a file that starts like a zip could not be read as one. */
  problem?: string;
}

/** Reads `length` bytes at `offset` (fewer only at the end of the data). */
type ReadAt = (offset: number, length: number) => Buffer;

const EOCD = 0x06054b50;
const ZIP64_LOCATOR = 0x07064b50;
const ZIP64_EOCD = 0x06064b50;
const CENTRAL_ENTRY = 0x02014b50;
// torch.save before 1.6 starts with a pickled magic number: protocol 2, LONG1 of 10 bytes 0x1950a86a20f9469cfc6c.
const LEGACY_MAGIC = Buffer.from([0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19]);

class ZipProblem extends Error {}

/** The central directory's entry names (APPNOTE.TXT 4.3.12-4.3.16), with every offset checked. */
function zipEntryNames(read: ReadAt, size: number): string[] {
  if (size < 22) throw new ZipProblem(`${size} bytes is too short for a zip archive (no end-of-central-directory record)`);
  // The end record is 22 bytes plus a comment of up to 65535 bytes.
  const tailStart = Math.max(0, size - 22 - 0xffff);
  const tail = read(tailStart, size - tailStart);
  let at = -1;
  for (let i = tail.length - 22; i >= 0; i--) {
    if (tail.readUInt32LE(i) === EOCD && i + 22 + tail.readUInt16LE(i + 20) === tail.length) { at = i; break; }
  }
  if (at < 0) throw new ZipProblem('no end-of-central-directory record: the file is truncated or not a zip archive');
  let count = tail.readUInt16LE(at + 10);
  let cdSize = tail.readUInt32LE(at + 12);
  let cdOffset = tail.readUInt32LE(at + 16);
  if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
    const loc = at - 20;
    if (loc < 0 || tail.readUInt32LE(loc) !== ZIP64_LOCATOR) throw new ZipProblem('the end record asks for ZIP64 but there is no ZIP64 locator');
    const recAt = Number(tail.readBigUInt64LE(loc + 8));
    if (recAt + 56 > size) throw new ZipProblem(`the ZIP64 end record offset ${recAt} lies beyond the file's ${size} bytes`);
    const rec = read(recAt, 56);
    if (rec.length < 56 || rec.readUInt32LE(0) !== ZIP64_EOCD) throw new ZipProblem(`no ZIP64 end record at offset ${recAt}`);
    count = Number(rec.readBigUInt64LE(32));
    cdSize = Number(rec.readBigUInt64LE(40));
    cdOffset = Number(rec.readBigUInt64LE(48));
  }
  if (cdOffset + cdSize > size) {
    throw new ZipProblem(`the central directory (offset ${cdOffset}, ${cdSize} bytes) lies beyond the file's ${size} bytes: the file is truncated or damaged`);
  }
  if (count > cdSize / 46) throw new ZipProblem(`the central directory claims ${count} entries in ${cdSize} bytes`);
  const cd = read(cdOffset, cdSize);
  const names: string[] = [];
  let p = 0;
  for (let i = 0; i < count; i++) {
    if (p + 46 > cd.length || cd.readUInt32LE(p) !== CENTRAL_ENTRY) throw new ZipProblem(`central directory entry ${i} of ${count} is damaged`);
    const nameLen = cd.readUInt16LE(p + 28);
    const next = p + 46 + nameLen + cd.readUInt16LE(p + 30) + cd.readUInt16LE(p + 32);
    if (next > cd.length) throw new ZipProblem(`central directory entry ${i} of ${count} runs past the directory's end`);
    names.push(cd.toString('utf8', p + 46, p + 46 + nameLen));
    p = next;
  }
  return names;
}

function inspect(read: ReadAt, size: number): TorchFileInfo {
  const head = read(0, Math.min(size, LEGACY_MAGIC.length));
  if (head.equals(LEGACY_MAGIC)) return { kind: 'legacy-checkpoint', entries: [], extraFiles: [] };
  let entries: string[];
  try {
    entries = zipEntryNames(read, size);
  } catch (err) {
    if (!(err instanceof ZipProblem)) throw err;
    return { kind: 'other', entries: [], extraFiles: [], problem: err.message };
  }
  // Every entry sits under one top folder, named after the file at save time.
  const within = (name: string) => name.slice(name.indexOf('/') + 1);
  const rel = entries.map(within);
  const extraFiles = rel.filter((n) => n.startsWith('extra/') && n.length > 6).map((n) => n.slice(6));
  const kind: TorchFileKind = rel.some((n) => n === 'constants.pkl' || n.startsWith('code/')) ? 'torchscript'
    : rel.includes('data.pkl') ? 'checkpoint' : 'zip';
  return { kind, entries, extraFiles };
}

function fileReader(fd: number): ReadAt {
  return (offset, length) => {
    const buf = Buffer.alloc(length);
    let got = 0;
    while (got < length) {
      const n = readSync(fd, buf, got, length - got, offset + got);
      if (n === 0) break;
      got += n;
    }
    return got === length ? buf : buf.subarray(0, got);
  };
}

/**
 * What a PyTorch file is, from its first bytes and its zip directory; reads no data and runs
 * nothing. Throws a TorchScriptError when the file cannot be read (missing, a folder).
 */
export function inspectTorchFile(file: string): TorchFileInfo {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new TorchScriptError(file, e.code === 'ENOENT' ? 'no such file' : `cannot read: ${e.message}`, err);
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) throw new TorchScriptError(file, 'not a file');
    return inspect(fileReader(fd), stat.size);
  } catch (err) {
    if (err instanceof TorchScriptError) throw err;
    throw new TorchScriptError(file, `cannot read: ${(err as Error).message}`, err);
  } finally {
    closeSync(fd);
  }
}

/** The same as inspectTorchFile, for a file's bytes. */
export function inspectTorchBytes(bytes: Uint8Array): TorchFileInfo {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return inspect((offset, length) => buf.subarray(offset, offset + length), buf.length);
}

/**
 * True when `file` is a TorchScript archive (written by torch.jit.save), false for any other
 * readable file (a torch.save checkpoint, another zip, anything else). Reads only the zip's
 * directory. Throws when the file cannot be read.
 */
export function isTorchScriptFile(file: string): boolean {
  return inspectTorchFile(file).kind === 'torchscript';
}

function notTorchScript(file: string, info: TorchFileInfo): TorchScriptError {
  const expected = 'expected a TorchScript module saved by torch.jit.save (a zip archive holding code/ and constants.pkl)';
  switch (info.kind) {
    case 'checkpoint':
      return new TorchScriptError(file, `is a PyTorch checkpoint written by torch.save (data.pkl and tensors, no code/), not a TorchScript module: it holds weights without the code that runs them; load its weights as a state dict, or save the module with torch.jit.save (${expected})`);
    case 'legacy-checkpoint':
      return new TorchScriptError(file, `is a PyTorch checkpoint in the format torch.save wrote before PyTorch 1.6, not a TorchScript module; load its weights as a state dict (${expected})`);
    case 'zip': {
      const shown = info.entries.slice(0, 5).join(', ') + (info.entries.length > 5 ? `, … (${info.entries.length} entries)` : '');
      return new TorchScriptError(file, `is a zip archive but not a TorchScript module: it holds ${shown || 'no entries'}; ${expected}`);
    }
    default:
      return new TorchScriptError(file, `is not a TorchScript module: ${info.problem ?? 'not a zip archive'}; ${expected}`);
  }
}

// ---- libtorch's messages, made readable -------------------------------------------------------

/**
 * libtorch's interpreter errors carry a TorchScript traceback before the error itself; the last
 * "<Kind>Error: ..." line is what went wrong. Other errors: their first line.
 */
export function condenseLibtorchMessage(message: string): string {
  const lines = message.split('\n').map((l) => l.trimEnd());
  for (let i = lines.length - 1; i >= 0; i--) {
    const m = /^\s*(?:[A-Za-z]+Error|Exception): (.+)$/.exec(lines[i]!);
    if (m && lines.some((l) => l.includes('Traceback of TorchScript'))) return [m[1]!, ...lines.slice(i + 1).filter((l) => l.trim())].join(' ');
  }
  const first = lines.find((l) => l.trim()) ?? message;
  return first.length > 400 ? `${first.slice(0, 400)}…` : first;
}

// ---- options ------------------------------------------------------------------------------------

export interface TorchScriptOptions {
  /** Class names, indexed by output position (default: the file's extra file dlkit.json, classes.json or classes.txt). */
  classes?: readonly string[];
  /** One observation's shape, e.g. [3, 224, 224]: predict and classify check their input against it. */
  inputSize?: readonly number[];
  /**
   * What predict and classify do to raw inputs first, as dlkit's image input layer:
   * 'rescale-zero-one' divides by 255, 'zerocenter' subtracts `mean`, 'zscore' also divides by
   * `std` (per channel, dim 1). Default 'none' (or what the file's dlkit.json says).
   */
  normalization?: Normalization;
  mean?: readonly number[];
  std?: readonly number[];
  /** The module's outputs are probabilities already (it ends in softmax): classify uses them as they are. */
  probabilities?: boolean;
  /** Which output predict and classify use when forward returns a tuple/list (an index) or a dict (a key). Default the first. */
  output?: number | string;
  /** Where to load the module ('cpu' default, 'cuda', 'cuda:1'). */
  device?: string;
}

const OPTION_NAMES = ['classes', 'inputSize', 'normalization', 'mean', 'std', 'probabilities', 'output', 'device'];

interface Settings {
  classes: string[] | null;
  inputSize: number[] | null;
  normalization: Normalization;
  mean: number[] | null;
  std: number[] | null;
  probabilities: boolean;
  output: number | string | undefined;
}

const describe = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? JSON.stringify(v) : typeof v === 'string' ? `'${v}'` : typeof v === 'object' ? 'an object' : String(v));

/** Checks options from the caller or from the file's dlkit.json (`where` names which) into `into`. */
function applyOptions(o: Record<string, unknown>, where: string, into: Settings, problems: string[]): void {
  const bad = (name: string, expected: string) => problems.push(`${where} '${name}' must be ${expected}, got ${describe(o[name])}`);
  const numbers = (v: unknown) => Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'number' && Number.isFinite(x));
  if (o.classes !== undefined) {
    if (!Array.isArray(o.classes) || o.classes.length === 0 || !o.classes.every((c) => typeof c === 'string')) bad('classes', 'a non-empty array of strings');
    else into.classes = [...o.classes];
  }
  if (o.inputSize !== undefined) {
    if (!Array.isArray(o.inputSize) || o.inputSize.length === 0 || !o.inputSize.every((d) => Number.isInteger(d) && d >= 1)) bad('inputSize', 'one observation\'s shape, positive integers such as [3, 224, 224]');
    else into.inputSize = [...o.inputSize];
  }
  if (o.normalization !== undefined) {
    if (!NORMALIZATIONS.includes(o.normalization as Normalization)) bad('normalization', `one of ${NORMALIZATIONS.join(', ')}`);
    else into.normalization = o.normalization as Normalization;
  }
  for (const k of ['mean', 'std'] as const) {
    if (o[k] === undefined) continue;
    if (!numbers(o[k])) bad(k, 'a non-empty array of numbers (one per channel, or one for all)');
    else into[k] = [...(o[k] as number[])];
  }
  if (o.std !== undefined && into.std?.some((s) => s === 0)) bad('std', 'non-zero');
  if (o.probabilities !== undefined) {
    if (typeof o.probabilities !== 'boolean') bad('probabilities', 'true or false');
    else into.probabilities = o.probabilities;
  }
  if (o.output !== undefined) {
    if (!(typeof o.output === 'string' || (Number.isInteger(o.output) && (o.output as number) >= 0))) bad('output', 'an index (a whole number >= 0) or a dict key');
    else into.output = o.output as number | string;
  }
}

/** Class names from a TorchScript file's extra files (TorchServe's index_to_name.json too). */
function classesFromExtra(extra: Record<string, string>, problems: string[]): string[] | null {
  for (const name of ['classes.json', 'index_to_name.json']) {
    const text = extra[name];
    if (text === undefined) continue;
    let v: unknown;
    try { v = JSON.parse(text); } catch { problems.push(`extra file ${name} is not valid JSON`); return null; }
    if (Array.isArray(v) && v.length > 0 && v.every((c) => typeof c === 'string')) return v;
    // {"0": "cat", "1": "dog"} or {"0": ["n0211", "cat"]}: keyed by index.
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      const entries = Object.entries(v as Record<string, unknown>);
      const out: string[] = [];
      for (const [k, c] of entries) {
        const label = typeof c === 'string' ? c : Array.isArray(c) && typeof c.at(-1) === 'string' ? c.at(-1) as string : undefined;
        if (!/^\d+$/.test(k) || Number(k) >= entries.length || label === undefined) { out.length = 0; break; }
        out[Number(k)] = label;
      }
      if (out.length === entries.length && entries.length > 0) return out;
    }
    problems.push(`extra file ${name} must hold class names: an array of strings or {"0": name, ...}`);
    return null;
  }
  for (const name of ['classes.txt', 'labels.txt']) {
    const text = extra[name];
    if (text === undefined) continue;
    const lines = text.split(/\r?\n/).map((l) => l.trim()).filter(Boolean);
    if (lines.length) return lines;
  }
  return null;
}

// The extra files libtorch is asked for: the ones dlkit reads, when the archive has them.
const KNOWN_EXTRA = ['dlkit.json', 'classes.json', 'index_to_name.json', 'classes.txt', 'labels.txt'];

// ---- the module -----------------------------------------------------------------------------------

/** What a TorchScript method returns: a tensor, or arrays (tuples, lists) and objects (dicts) of them. */
export type TorchScriptOutput = Tensor | TorchScriptOutput[] | { [key: string]: TorchScriptOutput };

// Frees modules that were never disposed, when the garbage collector finds them (a backstop).
const moduleRegistry = new FinalizationRegistry<ModuleHandle>((m) => native.jitFree(m));

function wrapOutput(v: JitValue): TorchScriptOutput {
  if (Array.isArray(v)) return v.map(wrapOutput);
  if (typeof v === 'bigint') return new Tensor(v as Handle);
  return Object.fromEntries(Object.entries(v as Record<string, JitValue>).map(([k, x]) => [k, wrapOutput(x)]));
}

function describeOutput(v: TorchScriptOutput): string {
  if (v instanceof Tensor) return `Tensor ${fmtShape(v.shape)}`;
  if (Array.isArray(v)) return `a tuple/list of ${v.length}`;
  return `a dict with keys ${Object.keys(v).map((k) => `'${k}'`).join(', ')}`;
}

/**
 * A TorchScript module loaded by libtorch. Owns native memory: `dispose()` it (or `using`).
 * Its tensors in and out are ordinary dlkit tensors.
 */
export class TorchScriptModule {
  #module: ModuleHandle | null;
  #device: string;
  readonly #methods: string[];
  readonly file: string;
  /** Contents of the extra files dlkit reads (dlkit.json, classes.json, …) that the archive holds. */
  readonly extraFiles: Readonly<Record<string, string>>;
  /** Every extra file's name in the archive. */
  readonly extraFileNames: readonly string[];
  classes: string[] | null;
  readonly inputSize: number[] | null;
  readonly normalization: Normalization;
  readonly mean: number[] | null;
  readonly std: number[] | null;
  readonly probabilities: boolean;
  readonly output: number | string | undefined;

  /** Use loadTorchScript or decodeTorchScript. */
  constructor(handle: ModuleHandle, file: string, device: string, extraFiles: Record<string, string>, extraFileNames: readonly string[], settings: Settings) {
    this.#module = handle;
    this.#device = device;
    this.#methods = native.jitMethods(handle).map(([name]) => name);
    this.file = file;
    this.extraFiles = extraFiles;
    this.extraFileNames = extraFileNames;
    this.classes = settings.classes;
    this.inputSize = settings.inputSize;
    this.normalization = settings.normalization;
    this.mean = settings.mean;
    this.std = settings.std;
    this.probabilities = settings.probabilities;
    this.output = settings.output;
    moduleRegistry.register(this, handle, this);
  }

  get handle(): ModuleHandle {
    this.#check();
    return this.#module!;
  }

  get isDisposed(): boolean {
    return this.#module === null;
  }

  #check(): void {
    if (this.#module === null) throw new TorchScriptError(this.file, 'this TorchScript module was disposed');
  }

  /** Frees the module's native memory now (tensors taken from stateDict() stay valid). Safe to call twice. */
  dispose(): void {
    if (this.#module === null) return;
    moduleRegistry.unregister(this);
    native.jitFree(this.#module);
    this.#module = null;
  }

  [Symbol.dispose](): void {
    this.dispose();
  }

  get device(): string {
    return this.#device;
  }

  /** Moves the parameters and buffers to `device` ('cpu', 'cuda', …). */
  to(device: string): this {
    try {
      native.jitTo(this.handle, device);
    } catch (err) {
      throw new TorchScriptError(this.file, `cannot move to '${device}': ${condenseLibtorchMessage((err as Error).message)}`, err);
    }
    this.#device = device;
    return this;
  }

  /** Inference mode for dropout and batch norm (loadTorchScript sets it). */
  eval(): this {
    native.jitTrain(this.handle, false);
    return this;
  }

  /** Training mode (dropout active, batch norm uses batch statistics); forward still records no gradients. */
  train(on = true): this {
    native.jitTrain(this.handle, on);
    return this;
  }

  get isTraining(): boolean {
    return native.jitIsTraining(this.handle);
  }

  /** The names of the module's methods (forward, and any @torch.jit.export). */
  get methods(): string[] {
    this.#check();
    return [...this.#methods];
  }

  /** Each method's TorchScript schema, e.g. 'forward(__torch__.Net self, Tensor x) -> Tensor'. */
  get schemas(): Record<string, string> {
    return Object.fromEntries(native.jitMethods(this.handle));
  }

  /** The learnable parameters' names, as PyTorch's named_parameters() gives them. */
  get parameterNames(): string[] {
    return native.jitParameterNames(this.handle);
  }

  /**
   * Parameters and buffers by PyTorch's state-dict names, in its order. The tensors share the
   * module's memory (as PyTorch's state_dict does); the caller disposes them.
   */
  stateDict(): Record<string, Tensor> {
    const out: Record<string, Tensor> = {};
    for (const [name, h] of native.jitStateDict(this.handle)) out[name] = new Tensor(h);
    return out;
  }

  /** Runs `forward` on one input or several (positional), without autograd. Inputs are passed as they are. */
  forward(x: Tensor | readonly Tensor[]): TorchScriptOutput {
    return this.run('forward', Array.isArray(x) ? x : [x as Tensor]);
  }

  /** Runs the named method on positional tensor inputs, without autograd. */
  run(method: string, inputs: readonly Tensor[]): TorchScriptOutput {
    const handle = this.handle;
    inputs.forEach((t, i) => {
      if (!(t instanceof Tensor)) throw new TorchScriptError(this.file, `${method}: input ${i} is not a tensor`);
      if (t.isDisposed) throw new TorchScriptError(this.file, `${method}: input ${i} is a tensor that was disposed`);
    });
    if (!this.#methods.includes(method)) throw new TorchScriptError(this.file, `has no method '${method}'; its methods: ${this.#methods.join(', ')}`);
    let out: JitValue;
    try {
      out = native.jitRun(handle, method, inputs.map((t) => t.handle));
    } catch (err) {
      const given = inputs.map((t) => `${fmtShape(t.shape)} ${t.dtype}`).join(', ');
      const expected = this.inputSize && method === 'forward' ? `; the module expects [N, ${this.inputSize.join(', ')}]` : '';
      const message = (err as Error).message.replace(/^TorchScript \S+: /, '');
      throw new TorchScriptError(this.file, `${method} failed on input ${given || '(none)'}${expected}: ${condenseLibtorchMessage(message)}`, err);
    }
    return wrapOutput(out);
  }

  /**
   * One batch through the module as predict does it: the input checked against inputSize,
   * normalized, forward, and the chosen output (see the `output` option).
   */
  infer(x: Tensor): Tensor {
    if (this.inputSize) {
      const got = x.shape.slice(1);
      if (x.ndim !== this.inputSize.length + 1 || got.some((d, i) => d !== this.inputSize![i])) {
        throw new TorchScriptError(this.file, `expected input of shape [N, ${this.inputSize.join(', ')}], got ${fmtShape(x.shape)}`);
      }
    }
    const h = tidy(() => this.#normalize(x));
    let out: TorchScriptOutput;
    try {
      out = this.forward(h);
    } finally {
      if (h !== x) h.dispose();
    }
    return this.#pick(out);
  }

  /** The input as the module wants it: rescaled, mean subtracted and divided by std, per channel (dim 1). */
  #normalize(x: Tensor): Tensor {
    if (this.normalization === 'none') return x;
    let h = x.dtype === 'float32' ? x : x.float();
    if (this.normalization === 'rescale-zero-one') h = h.div(255);
    if (this.normalization === 'zerocenter' || this.normalization === 'zscore') h = h.sub(this.#perChannel(this.mean!, h, 'mean'));
    if (this.normalization === 'zscore') h = h.div(this.#perChannel(this.std!, h, 'std'));
    return h;
  }

  /** `values` shaped to broadcast over dim 1 of `x` ([C, 1, 1] for images). */
  #perChannel(values: number[], x: Tensor, what: string): Tensor | number {
    if (values.length === 1) return values[0]!;
    const c = x.shape[1];
    if (values.length !== c) {
      throw new TorchScriptError(this.file, `normalization '${this.normalization}': ${values.length} ${what} values for input ${fmtShape(x.shape)}; expected 1 or ${c ?? '?'} (one per channel, dim 1)`);
    }
    return tensor(values, { device: x.device }).reshape([c, ...Array<number>(x.ndim - 2).fill(1)]);
  }

  /** The output predict uses (see the `output` option); frees the others. */
  #pick(out: TorchScriptOutput): Tensor {
    if (out instanceof Tensor) return out;
    const key = this.output ?? (Array.isArray(out) ? 0 : Object.keys(out)[0]);
    const chosen = Array.isArray(out) ? (typeof key === 'number' ? out[key] : undefined) : (key !== undefined ? out[key] : undefined);
    const all = new Set<Disposable>();
    const walk = (v: TorchScriptOutput): void => {
      if (v instanceof Tensor) all.add(v);
      else (Array.isArray(v) ? v : Object.values(v)).forEach(walk);
    };
    walk(out);
    const described = describeOutput(out);
    for (const t of all) if (t !== chosen) t.dispose();
    if (!(chosen instanceof Tensor)) {
      throw new TorchScriptError(this.file, `forward returned ${described}; option 'output' ${this.output === undefined ? '(default: the first)' : `= ${JSON.stringify(this.output)}`} does not pick a tensor from it`);
    }
    return chosen;
  }

  /** The module's outputs for every observation, [N, ...], on the CPU (see infer for what happens to each batch). */
  async predict(data: InferenceInput, options: { miniBatchSize?: number } = {}): Promise<Tensor> {
    this.#check();
    return mapBatches(data, options.miniBatchSize ?? 128, this.#device, (x) => this.infer(x));
  }

  /** Predicted classes and probabilities, as dlkit's classify does for networks. */
  async classify(data: InferenceInput, options: { miniBatchSize?: number } = {}): Promise<Classification> {
    const out = await this.predict(data, options);
    try {
      return classifyOutputs(out, this.classes, this.probabilities);
    } catch (err) {
      throw new TorchScriptError(this.file, (err as Error).message, err);
    }
  }

  toString(): string {
    if (this.isDisposed) return `TorchScriptModule(${this.file}, disposed)`;
    const params = this.stateDict();
    let count = 0;
    const learnable = new Set(this.parameterNames);
    for (const [name, t] of Object.entries(params)) {
      if (learnable.has(name)) count += t.shape.reduce((a, b) => a * b, 1);
      t.dispose();
    }
    return `TorchScriptModule(${this.file}: ${count} parameters, methods ${this.methods.join(', ')}` +
      `${this.classes ? `, ${this.classes.length} classes` : ''}${this.inputSize ? `, input [N, ${this.inputSize.join(', ')}]` : ''})`;
  }
}

// ---- loading ------------------------------------------------------------------------------------

function build(file: string, info: TorchFileInfo, load: (extra: string[], device: string) => { module: ModuleHandle; extraFiles: Record<string, string> }, options: TorchScriptOptions): TorchScriptModule {
  if (options === null || typeof options !== 'object') throw new TypeError(`loadTorchScript: options must be an object, got ${describe(options)}`);
  const unknown = Object.keys(options).filter((k) => !OPTION_NAMES.includes(k));
  if (unknown.length) throw new TypeError(`loadTorchScript: unknown option${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `'${k}'`).join(', ')}; expected ${OPTION_NAMES.join(', ')}`);
  if (options.device !== undefined && typeof options.device !== 'string') throw new TypeError(`loadTorchScript: option 'device' must be a string such as 'cpu' or 'cuda', got ${describe(options.device)}`);
  if (info.kind !== 'torchscript') throw notTorchScript(file, info);

  const device = options.device ?? 'cpu';
  let loaded: { module: ModuleHandle; extraFiles: Record<string, string> };
  try {
    loaded = load(KNOWN_EXTRA.filter((n) => info.extraFiles.includes(n)), device);
  } catch (err) {
    throw new TorchScriptError(file, `libtorch could not load the TorchScript module: ${condenseLibtorchMessage((err as Error).message.replace(/^jitLoad(Buffer)?[^:]*: /, ''))}`, err);
  }
  try {
    const settings: Settings = { classes: null, inputSize: null, normalization: 'none', mean: null, std: null, probabilities: false, output: undefined };
    const problems: string[] = [];
    const extra = loaded.extraFiles;
    settings.classes = classesFromExtra(extra, problems);
    if (extra['dlkit.json'] !== undefined) {
      let saved: unknown;
      try { saved = JSON.parse(extra['dlkit.json']); } catch { problems.push('extra file dlkit.json is not valid JSON'); }
      if (saved !== undefined) {
        if (saved === null || typeof saved !== 'object' || Array.isArray(saved)) problems.push('extra file dlkit.json must hold an object of options');
        else applyOptions(saved as Record<string, unknown>, 'extra file dlkit.json:', settings, problems);
      }
    }
    applyOptions(options as Record<string, unknown>, 'option', settings, problems);
    if ((settings.normalization === 'zerocenter' || settings.normalization === 'zscore') && !settings.mean) problems.push(`normalization '${settings.normalization}' needs 'mean' (per channel)`);
    if (settings.normalization === 'zscore' && !settings.std) problems.push(`normalization 'zscore' needs 'std' (per channel)`);
    if (problems.length) throw new TorchScriptError(file, problems.length === 1 ? problems[0]! : `${problems.length} problems:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    native.jitTrain(loaded.module, false);
    return new TorchScriptModule(loaded.module, file, device, extra, info.extraFiles, settings);
  } catch (err) {
    native.jitFree(loaded.module);
    throw err;
  }
}

/**
 * Loads a TorchScript module saved by PyTorch (torch.jit.save of a scripted or traced module),
 * in eval mode. Class names, input size and normalization come from `options`, else from the
 * archive's extra files (dlkit.json with the same option names; classes.json, classes.txt).
 * Files that are not TorchScript (a torch.save checkpoint, another zip, a truncated file) are
 * refused before libtorch reads them, with what the file is.
 */
export async function loadTorchScript(file: string, options: TorchScriptOptions = {}): Promise<TorchScriptModule> {
  const info = inspectTorchFile(file);
  return build(file, info, (extra, device) => native.jitLoad(file, extra, device), options);
}

/** loadTorchScript for a file's bytes; `file` names it in errors. */
export function decodeTorchScript(bytes: Uint8Array, options: TorchScriptOptions & { file?: string } = {}): TorchScriptModule {
  const { file = '<bytes>', ...rest } = options;
  if (!(bytes instanceof Uint8Array)) throw new TypeError(`decodeTorchScript: expected a Uint8Array or Buffer, got ${describe(bytes)}`);
  return build(file, inspectTorchBytes(bytes), (extra, device) => native.jitLoadBuffer(bytes, extra, device), rest);
}

/** Native TorchScript modules alive now (for leak checks). */
export function liveTorchScriptModules(): number {
  return native.jitLiveModuleCount();
}
