// Tokenization: texts to token ids through a word- or character-level vocabulary, and the padded
// id and mask tensors a sequence network reads. The rules (normalization, case, punctuation)
// travel with the vocabulary and its JSON, so a saved model encodes new text as it was trained.
import { tensor } from '../tensor/create.js';
import type { Tensor } from '../tensor/tensor.js';
import { checkKnownOptions } from './text.js';

/** Id of the padding token: padded positions hold it, and no text ever encodes to it. */
export const PAD_ID = 0;
/** Id of the unknown token: what a token outside the vocabulary encodes to. */
export const UNK_ID = 1;
export const PAD_TOKEN = '<pad>';
export const UNK_TOKEN = '<unk>';

export interface TokenizerOptions {
  /** 'word' (default): runs of letters and digits (with inner apostrophes: "don't"); 'char': code points. */
  level?: 'word' | 'char';
  /** Lowercase before tokenizing (default true). */
  lowercase?: boolean;
  /**
   * Punctuation and symbols (anything not a letter, digit or space). 'split' (default): each mark is
   * a token of its own ("win!" → "win", "!"); 'remove': dropped; 'keep': words are split at spaces
   * only, so marks stay attached ("win!"). At character level 'split' and 'keep' both keep them.
   */
  punctuation?: 'split' | 'remove' | 'keep';
  /** Unicode normalization first (default 'NFKC': full-width letters, ligatures and the like fold to plain ones). */
  normalization?: 'NFKC' | 'NFC' | 'none';
}

export interface VocabularyOptions extends TokenizerOptions {
  /** Tokens seen fewer times than this in the texts stay out of the vocabulary (default 1). */
  minFrequency?: number;
  /** Most tokens kept, counting <pad> and <unk> (default: no limit); the most frequent win. */
  maxSize?: number;
}

export interface EncodeOptions {
  /** Length L of every row. Default: the longest text's token count (at least 1). */
  maxLength?: number;
  /** Where padding goes in a shorter text: 'post' (default, after the tokens) or 'pre'. */
  padding?: 'post' | 'pre';
  /** Which tokens a longer text loses: 'post' (default: those past L) or 'pre' (keeps the last L). */
  truncation?: 'post' | 'pre';
}

export interface Encoded {
  /** int64 [N, L] token ids, PAD_ID where padded. */
  ids: Tensor;
  /** bool [N, L]: true where a token is, false where padded. */
  mask: Tensor;
  /** Tokens kept per text (after truncation): the mask's row sums. */
  lengths: Int32Array;
}

/** The JSON form of a vocabulary (what `toJSON` gives and `Vocabulary.fromJSON` reads). */
export interface VocabularyJSON {
  format: 'dlkit-vocabulary';
  version: 1;
  level: 'word' | 'char';
  lowercase: boolean;
  punctuation: 'split' | 'remove' | 'keep';
  normalization: 'NFKC' | 'NFC' | 'none';
  /** Every token in id order: tokens[0] is '<pad>', tokens[1] is '<unk>'. */
  tokens: string[];
}

type Rules = Required<TokenizerOptions>;

const LEVELS = ['word', 'char'] as const;
const PUNCTUATION = ['split', 'remove', 'keep'] as const;
const NORMALIZATIONS = ['NFKC', 'NFC', 'none'] as const;

// Letters (with their combining marks) and digits; apostrophes inside a word keep it whole.
const WORD = /[\p{L}\p{M}\p{N}]+(?:['’][\p{L}\p{M}\p{N}]+)*/gu;
const WORD_OR_MARK = /[\p{L}\p{M}\p{N}]+(?:['’][\p{L}\p{M}\p{N}]+)*|[^\s\p{L}\p{M}\p{N}]/gu;
const NOT_SPACE = /\S+/gu;
const MARK = /[^\s\p{L}\p{M}\p{N}]/gu;
const SPACES = /\s+/gu;

function show(v: unknown): string {
  return typeof v === 'string' ? `'${v}'` : typeof v === 'number' || typeof v === 'boolean' || v == null ? String(v) : typeof v;
}

function checkRules(options: TokenizerOptions, where: string): Rules {
  const { level = 'word', lowercase = true, punctuation = 'split', normalization = 'NFKC' } = options;
  if (!LEVELS.includes(level)) throw new RangeError(`${where}: level must be 'word' or 'char', got ${show(level)}`);
  if (typeof lowercase !== 'boolean') throw new TypeError(`${where}: lowercase must be true or false, got ${show(lowercase)}`);
  if (!PUNCTUATION.includes(punctuation)) throw new RangeError(`${where}: punctuation must be 'split', 'remove' or 'keep', got ${show(punctuation)}`);
  if (!NORMALIZATIONS.includes(normalization)) throw new RangeError(`${where}: normalization must be 'NFKC', 'NFC' or 'none', got ${show(normalization)}`);
  return { level, lowercase, punctuation, normalization };
}

function tokensOf(text: string, rules: Rules): string[] {
  let t = rules.normalization === 'none' ? text : text.normalize(rules.normalization);
  if (rules.lowercase) t = t.toLowerCase();
  if (rules.level === 'char') {
    if (rules.punctuation === 'remove') t = t.replace(MARK, '');
    // Runs of spaces, tabs and line breaks become one space: a word boundary, not a layout.
    return Array.from(t.replace(SPACES, ' ').trim());
  }
  const re = rules.punctuation === 'split' ? WORD_OR_MARK : rules.punctuation === 'remove' ? WORD : NOT_SPACE;
  return t.match(re) ?? [];
}

/**
 * The tokens of `text` under the rules (defaults: word level, lowercased, punctuation split off,
 * NFKC). `tokenize("Free entry! Don't miss")` → ['free', 'entry', '!', "don't", 'miss'].
 */
export function tokenize(text: string, options: TokenizerOptions = {}): string[] {
  checkKnownOptions(options, ['level', 'lowercase', 'punctuation', 'normalization'], 'tokenize');
  if (typeof text !== 'string') throw new TypeError(`tokenize: text must be a string, got ${show(text)}`);
  return tokensOf(text, checkRules(options, 'tokenize'));
}

function checkEncodeOptions(options: EncodeOptions, where: string): { maxLength: number | undefined; padding: 'post' | 'pre'; truncation: 'post' | 'pre' } {
  checkKnownOptions(options, ['maxLength', 'padding', 'truncation'], where);
  const { maxLength, padding = 'post', truncation = 'post' } = options;
  if (maxLength !== undefined && !(Number.isSafeInteger(maxLength) && maxLength >= 1)) throw new RangeError(`${where}: maxLength must be a whole number >= 1, got ${show(maxLength)}`);
  if (padding !== 'post' && padding !== 'pre') throw new RangeError(`${where}: padding must be 'post' or 'pre', got ${show(padding)}`);
  if (truncation !== 'post' && truncation !== 'pre') throw new RangeError(`${where}: truncation must be 'post' or 'pre', got ${show(truncation)}`);
  return { maxLength, padding, truncation };
}

/**
 * @internal Rows of ids cut or padded to `length`, laid out [N, length] in int64 (what an
 * embedding's index tensor takes), with the number of tokens each row kept.
 */
export function packIds(rows: readonly Int32Array[], length: number, padding: 'post' | 'pre', truncation: 'post' | 'pre'): { ids: BigInt64Array; lengths: Int32Array } {
  const ids = new BigInt64Array(rows.length * length); // zeros: PAD_ID
  const lengths = new Int32Array(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i]!;
    const n = Math.min(row.length, length);
    const from = truncation === 'post' ? 0 : row.length - n;
    const at = i * length + (padding === 'post' ? 0 : length - n);
    for (let j = 0; j < n; j++) ids[at + j] = BigInt(row[from + j]!);
    lengths[i] = n;
  }
  return { ids, lengths };
}

/** @internal The bool [N, length] mask of rows holding `lengths` tokens, padded on the `padding` side. */
export function maskTensor(lengths: Int32Array, length: number, padding: 'post' | 'pre'): Tensor {
  const m = new Uint8Array(lengths.length * length);
  for (let i = 0; i < lengths.length; i++) {
    const n = lengths[i]!;
    const start = i * length + (padding === 'post' ? 0 : length - n);
    m.fill(1, start, start + n);
  }
  return tensor(m, { shape: [lengths.length, length], dtype: 'bool' });
}

/**
 * A token vocabulary: ids 0 (<pad>) and 1 (<unk>) reserved, then the tokens of the texts it was
 * built from, most frequent first (ties in code-unit order, so the same texts give the same ids
 * in any order). Build it from the training texts only: a token seen only in test texts is then
 * <unk>, as it will be for new text.
 *
 *     const vocab = Vocabulary.build(trainTexts, { minFrequency: 2 });
 *     const { ids, mask } = vocab.encode(['Free entry!'], { maxLength: 32 });   // int64 [1, 32], bool [1, 32]
 *     const again = Vocabulary.fromJSON(JSON.parse(JSON.stringify(vocab)));
 */
export class Vocabulary {
  /** Tokens in id order. */
  readonly tokens: readonly string[];
  readonly level: 'word' | 'char';
  readonly lowercase: boolean;
  readonly punctuation: 'split' | 'remove' | 'keep';
  readonly normalization: 'NFKC' | 'NFC' | 'none';
  readonly #ids: Map<string, number>;

  private constructor(tokens: readonly string[], rules: Rules) {
    this.tokens = Object.freeze([...tokens]);
    this.level = rules.level;
    this.lowercase = rules.lowercase;
    this.punctuation = rules.punctuation;
    this.normalization = rules.normalization;
    this.#ids = new Map(this.tokens.map((t, i) => [t, i]));
  }

  /** Builds a vocabulary from `texts` (the training texts: see the class comment). */
  static build(texts: Iterable<string>, options: VocabularyOptions = {}): Vocabulary {
    const where = 'Vocabulary.build';
    checkKnownOptions(options, ['level', 'lowercase', 'punctuation', 'normalization', 'minFrequency', 'maxSize'], where);
    const rules = checkRules(options, where);
    const { minFrequency = 1, maxSize = Infinity } = options;
    if (!(Number.isSafeInteger(minFrequency) && minFrequency >= 1)) throw new RangeError(`${where}: minFrequency must be a whole number >= 1, got ${show(minFrequency)}`);
    if (!((Number.isSafeInteger(maxSize) || maxSize === Infinity) && maxSize >= 2)) throw new RangeError(`${where}: maxSize must be a whole number >= 2 (it counts ${PAD_TOKEN} and ${UNK_TOKEN}), got ${show(maxSize)}`);
    if (texts === null || typeof (texts as Iterable<string>)?.[Symbol.iterator] !== 'function' || typeof texts === 'string') {
      throw new TypeError(`${where}: texts must be an array (or other iterable) of strings, got ${show(texts)}`);
    }
    const counts = new Map<string, number>();
    let i = 0;
    for (const text of texts) {
      if (typeof text !== 'string') throw new TypeError(`${where}: text ${i} is ${show(text)}, expected a string`);
      for (const t of tokensOf(text, rules)) counts.set(t, (counts.get(t) ?? 0) + 1);
      i++;
    }
    counts.delete(PAD_TOKEN);
    counts.delete(UNK_TOKEN);
    const kept = [...counts].filter(([, n]) => n >= minFrequency)
      .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
      .slice(0, maxSize - 2)
      .map(([t]) => t);
    return new Vocabulary([PAD_TOKEN, UNK_TOKEN, ...kept], rules);
  }

  /** A vocabulary from its JSON form (see toJSON); the token list and rules are checked. */
  static fromJSON(json: unknown): Vocabulary {
    const where = 'Vocabulary.fromJSON';
    if (json === null || typeof json !== 'object' || Array.isArray(json)) throw new TypeError(`${where}: expected an object, got ${show(json)}`);
    const j = json as Partial<VocabularyJSON>;
    if (j.format !== 'dlkit-vocabulary') throw new Error(`${where}: format is ${show(j.format)}, expected 'dlkit-vocabulary'`);
    if (j.version !== 1) throw new Error(`${where}: version ${show(j.version)} is not supported (this dlkit reads version 1)`);
    // Every rule is spelled out: a default filled in here could differ from the one the vocabulary was built with.
    for (const k of ['level', 'lowercase', 'punctuation', 'normalization'] as const) {
      if (j[k] === undefined) throw new Error(`${where}: ${k} is missing (a vocabulary's JSON names all its tokenizer rules)`);
    }
    const rules = checkRules({ level: j.level, lowercase: j.lowercase, punctuation: j.punctuation, normalization: j.normalization }, where);
    const tokens = j.tokens;
    if (!Array.isArray(tokens) || tokens.length < 2 || tokens[0] !== PAD_TOKEN || tokens[1] !== UNK_TOKEN) {
      throw new Error(`${where}: tokens must be an array that starts with '${PAD_TOKEN}', '${UNK_TOKEN}', got ${Array.isArray(tokens) ? `[${tokens.slice(0, 2).map(show).join(', ')}${tokens.length > 2 ? ', …' : ''}]` : show(tokens)}`);
    }
    const seen = new Set<string>();
    tokens.forEach((t, i) => {
      if (typeof t !== 'string' || t.length === 0) throw new TypeError(`${where}: token ${i} is ${show(t)}, expected a non-empty string`);
      if (seen.has(t)) throw new Error(`${where}: token ${show(t)} appears twice (ids ${tokens.indexOf(t)} and ${i})`);
      seen.add(t);
    });
    return new Vocabulary(tokens, rules);
  }

  /** Number of ids, <pad> and <unk> included (an embedding's vocabulary size). */
  get size(): number {
    return this.tokens.length;
  }

  /** The tokenizer rules, as the options that made them. */
  get rules(): Required<TokenizerOptions> {
    return { level: this.level, lowercase: this.lowercase, punctuation: this.punctuation, normalization: this.normalization };
  }

  /** The tokens of `text` under this vocabulary's rules (before looking them up). */
  tokenize(text: string): string[] {
    if (typeof text !== 'string') throw new TypeError(`Vocabulary.tokenize: text must be a string, got ${show(text)}`);
    return tokensOf(text, this.rules);
  }

  /** Id of `token`, UNK_ID when it is not in the vocabulary. */
  idOf(token: string): number {
    return this.#ids.get(token) ?? UNK_ID;
  }

  /** Whether `token` has an id of its own. */
  has(token: string): boolean {
    return this.#ids.has(token);
  }

  /** The token of `id`. */
  tokenOf(id: number): string {
    const t = this.tokens[id];
    if (t === undefined || !Number.isInteger(id)) throw new RangeError(`Vocabulary.tokenOf: id ${show(id)} is outside 0 to ${this.size - 1}`);
    return t;
  }

  /** Ids of one text's tokens, unpadded and untruncated. */
  ids(text: string): Int32Array {
    const tokens = this.tokenize(text);
    const out = new Int32Array(tokens.length);
    for (let i = 0; i < tokens.length; i++) out[i] = this.#ids.get(tokens[i]!) ?? UNK_ID;
    return out;
  }

  /**
   * Texts to padded int64 ids [N, L] and their bool mask [N, L] (the caller owns both tensors).
   * A text with no tokens (empty, or only removed punctuation) is a row of padding with an
   * all-false mask: a masked mean over it has nothing to average.
   */
  encode(texts: readonly string[], options: EncodeOptions = {}): Encoded {
    const where = 'Vocabulary.encode';
    if (!Array.isArray(texts)) throw new TypeError(`${where}: texts must be an array of strings, got ${show(texts)}`);
    const o = checkEncodeOptions(options, where);
    const rows = texts.map((t, i) => {
      if (typeof t !== 'string') throw new TypeError(`${where}: text ${i} is ${show(t)}, expected a string`);
      return this.ids(t);
    });
    let length = o.maxLength ?? 1;
    if (o.maxLength === undefined) for (const r of rows) length = Math.max(length, r.length);
    const { ids, lengths } = packIds(rows, length, o.padding, o.truncation);
    const idTensor = tensor(ids, { shape: [rows.length, length] });
    try {
      return { ids: idTensor, mask: maskTensor(lengths, length, o.padding), lengths };
    } catch (err) {
      idTensor.dispose();
      throw err;
    }
  }

  /** Tokens of each row of ids (a Tensor [N, L] or arrays), padding left out. Word tokens are joined by spaces, characters by nothing. */
  decode(ids: Tensor | readonly (ArrayLike<number | bigint>)[]): string[] {
    const rows: ArrayLike<number | bigint>[] = [];
    if (Array.isArray(ids)) rows.push(...ids);
    else {
      const t = ids as Tensor;
      if (t.ndim !== 2) throw new RangeError(`Vocabulary.decode: ids must be [N, L], got shape [${t.shape.join(', ')}]`);
      const [n, l] = t.shape as [number, number];
      const flat = t.dataSync() as ArrayLike<number | bigint> & { subarray(a: number, b: number): ArrayLike<number | bigint> };
      for (let i = 0; i < n; i++) rows.push(flat.subarray(i * l, (i + 1) * l));
    }
    const sep = this.level === 'word' ? ' ' : '';
    return rows.map((row) => Array.from(row, Number).filter((id) => id !== PAD_ID).map((id) => this.tokenOf(id)).join(sep));
  }

  /** The share of `texts`' tokens that encode to <unk> (0 to 1; 0 for texts with no tokens). */
  unknownRate(texts: Iterable<string>): number {
    let total = 0;
    let unknown = 0;
    for (const text of texts) {
      for (const t of this.tokenize(text)) { total++; if (!this.#ids.has(t)) unknown++; }
    }
    return total === 0 ? 0 : unknown / total;
  }

  /** Plain JSON (rules and tokens in id order): fits a model file's metadata. */
  toJSON(): VocabularyJSON {
    return { format: 'dlkit-vocabulary', version: 1, ...this.rules, tokens: [...this.tokens] };
  }

  toString(): string {
    const shown = this.tokens.slice(2, 8).map((t) => JSON.stringify(t)).join(', ');
    return `Vocabulary(${this.size} tokens, ${this.level} level${this.lowercase ? ', lowercased' : ''}, punctuation ${this.punctuation}: ${shown}${this.size > 8 ? ', …' : ''})`;
  }
}
