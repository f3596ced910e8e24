// A datastore of texts: token ids [N, L] per batch through a vocabulary, labels as class indices.
//
// The texts stay strings in JavaScript; each view encodes its own texts once, when first asked
// for batches, into one int64 array, and every batch copies its rows out of it. No native memory
// is held between batches, so there is nothing to dispose.
import { tensor } from '../tensor/create.js';
import type { Tensor } from '../tensor/tensor.js';
import {
  checkBatchOptions, checkSplit, countEachLabel, epochOrder, splitPositions,
  type Batch, type BatchOptions, type Datastore, type SplitOptions,
} from './datastore.js';
import { checkKnownOptions, type TextTable } from './text.js';
import { Vocabulary, maskTensor, packIds, type VocabularyOptions } from './tokenizer.js';

export interface TextDatastoreOptions {
  /** The vocabulary to encode with (e.g. the training data's, or a saved model's). */
  vocabulary?: Vocabulary;
  /**
   * Without `vocabulary`: the options of the vocabulary built from this datastore's texts (see
   * TextDatastore.vocabulary for when, and from which texts). Default {}: Vocabulary.build's defaults.
   */
  buildVocabulary?: VocabularyOptions;
  /**
   * Tokens per observation: the L of inputShape [L]. Default: the longest text, counted in the
   * texts the vocabulary is built from (or this datastore's, with a given vocabulary).
   */
  maxLength?: number;
  /** Where a shorter text's padding goes: 'post' (default) or 'pre'. */
  padding?: 'post' | 'pre';
  /** Which tokens a longer text loses: 'post' (default: those past maxLength) or 'pre'. */
  truncation?: 'post' | 'pre';
}

/**
 * One batch of texts. `x` holds int64 token ids [N, L] (0 where padded), `y` int64 labels [N].
 * `mask` (bool [N, L], true where a token is) is made when first read, and whoever reads it owns
 * it; a consumer that reads only x and y (the trainer) never pays for it.
 */
export interface TextBatch extends Batch {
  readonly mask: Tensor;
  /** Tokens in each row (after truncation), the mask's row sums: what packed sequences need. */
  readonly lengths: Int32Array;
}

/** @internal The texts and labels behind a datastore and every view made from it. */
interface TextStore {
  readonly texts: readonly string[];
  readonly labels: Int32Array | null;
  readonly origins: readonly string[];
  readonly classes: readonly string[] | null;
  readonly source: string;
}

/** How a view encodes: fixed, or still to be built from the view's own texts. */
interface Encoding {
  vocabulary: Vocabulary | null;
  build: VocabularyOptions;
  maxLength: number | undefined;
  padding: 'post' | 'pre';
  truncation: 'post' | 'pre';
}

/**
 * A datastore of labeled (or unlabeled) texts; see textDatastore.
 *
 * The vocabulary follows the training part. Without a given vocabulary it is built the first time
 * it is needed (batches, inputShape, vocabulary) from this datastore's own texts; and `split` on a
 * datastore whose vocabulary is not built yet builds it from the FIRST part's texts alone and
 * gives the second part the same vocabulary and length: a word seen only in the second (test)
 * part encodes to <unk>, as it will for new text. A `subset` of such a datastore builds its own.
 */
export class TextDatastore implements Datastore {
  readonly size: number;
  readonly classes: readonly string[] | null;
  readonly source: string;
  readonly #store: TextStore;
  /** Store rows of this view, or null for all rows in order. */
  readonly #rows: Int32Array | null;
  readonly #encoding: Encoding;
  /** This view's ids [size, L] and token counts, made on first use. */
  #encoded: { ids: BigInt64Array; lengths: Int32Array } | null = null;

  /** @internal Use textDatastore(). */
  constructor(store: TextStore, rows: Int32Array | null, encoding: Encoding) {
    this.#store = store;
    this.#rows = rows;
    this.#encoding = encoding;
    this.size = rows ? rows.length : store.texts.length;
    this.classes = store.classes;
    this.source = store.source;
  }

  #row(i: number): number {
    return this.#rows ? this.#rows[i]! : i;
  }

  /** The texts of this datastore, in order. */
  get texts(): readonly string[] {
    return Array.from({ length: this.size }, (_, i) => this.#store.texts[this.#row(i)]!);
  }

  /** Where each text came from (`file:line`, or the file). */
  get origins(): readonly string[] {
    return Array.from({ length: this.size }, (_, i) => this.#store.origins[this.#row(i)]!);
  }

  /** The vocabulary the texts are encoded with; builds it now if it is still to be built. */
  get vocabulary(): Vocabulary {
    this.#fix();
    return this.#encoding.vocabulary!;
  }

  /** Tokens per observation (L); fixes the vocabulary first if it is still to be built. */
  get maxLength(): number {
    this.#fix();
    return this.#encoding.maxLength!;
  }

  get padding(): 'post' | 'pre' { return this.#encoding.padding; }
  get truncation(): 'post' | 'pre' { return this.#encoding.truncation; }

  /** [L]; fixes the vocabulary first if it is still to be built. */
  get inputShape(): readonly number[] {
    return Object.freeze([this.maxLength]);
  }

  /** Whether the vocabulary is still to be built (see the class comment). */
  get vocabularyPending(): boolean {
    return this.#encoding.vocabulary === null;
  }

  /** Builds the vocabulary (if pending) from this view's texts, and the default length. */
  #fix(): void {
    const e = this.#encoding;
    if (e.vocabulary && e.maxLength !== undefined) return;
    const texts = this.texts;
    if (!e.vocabulary) {
      if (texts.length === 0) throw new Error(`textDatastore (${this.source}): cannot build a vocabulary from no texts (this part is empty)`);
      e.vocabulary = Vocabulary.build(texts, e.build);
    }
    if (e.maxLength === undefined) {
      let longest = 1;
      for (const t of texts) longest = Math.max(longest, e.vocabulary.tokenize(t).length);
      e.maxLength = longest;
    }
  }

  #encode(): { ids: BigInt64Array; lengths: Int32Array } {
    if (this.#encoded) return this.#encoded;
    const vocabulary = this.vocabulary;
    const rows = this.texts.map((t) => vocabulary.ids(t));
    this.#encoded = packIds(rows, this.maxLength, this.padding, this.truncation);
    return this.#encoded;
  }

  /** Token counts of the texts before truncation: for choosing maxLength (e.g. a percentile). */
  tokenCounts(): Int32Array {
    const vocabulary = this.vocabulary;
    return Int32Array.from(this.texts, (t) => vocabulary.tokenize(t).length);
  }

  async *batches(options: BatchOptions): AsyncGenerator<TextBatch, void, undefined> {
    // No await in here: each batch is made when the consumer asks for it, in the consumer's
    // async context, so a `tidy` around the consumer's step owns it.
    const o = checkBatchOptions(options, this.source);
    const { ids, lengths } = this.#encode();
    const labels = this.labels();
    const length = this.maxLength;
    const padding = this.padding;
    const order = epochOrder(this.size, o);
    for (let start = 0; start < order.length; start += o.batchSize) {
      const end = Math.min(start + o.batchSize, order.length);
      if (o.dropLast && end - start < o.batchSize) break;
      const n = end - start;
      const bx = new BigInt64Array(n * length);
      const bl = new Int32Array(n);
      const by = labels ? new BigInt64Array(n) : null;
      for (let i = 0; i < n; i++) {
        const r = order[start + i]!;
        bx.set(ids.subarray(r * length, (r + 1) * length), i * length);
        bl[i] = lengths[r]!;
        if (by) by[i] = BigInt(labels![r]!);
      }
      const x = tensor(bx, { shape: [n, length] });
      let y: Tensor | null = null;
      try {
        y = by ? tensor(by) : null;
      } catch (err) {
        x.dispose();
        throw err;
      }
      let mask: Tensor | null = null;
      const batch = { x, y, lengths: bl } as Batch & { lengths: Int32Array };
      Object.defineProperty(batch, 'mask', { enumerable: true, get: () => (mask ??= maskTensor(bl, length, padding)) });
      yield batch as TextBatch;
    }
  }

  subset(indices: readonly number[] | Int32Array): TextDatastore {
    const rows = new Int32Array(indices.length);
    for (let i = 0; i < indices.length; i++) {
      const p = indices[i]!;
      if (!Number.isInteger(p) || p < 0 || p >= this.size) {
        throw new RangeError(`subset (${this.source}): index ${i} is ${p}; expected a whole number from 0 to ${this.size - 1}`);
      }
      rows[i] = this.#row(p);
    }
    // A fixed vocabulary is shared; a pending one stays pending, to be built from the subset's texts.
    return new TextDatastore(this.#store, rows, { ...this.#encoding });
  }

  labels(): Int32Array | null {
    const all = this.#store.labels;
    if (!all) return null;
    return Int32Array.from({ length: this.size }, (_, i) => all[this.#row(i)]!);
  }

  /**
   * Two disjoint parts, the first with `fraction` of the texts (of each class, by default), each
   * in the original order. A pending vocabulary is built from the first part only and shared
   * with the second (see the class comment).
   */
  split(fraction: number, options: SplitOptions = {}): [TextDatastore, TextDatastore] {
    const labels = this.labels();
    const { seed, stratified } = checkSplit(fraction, options, labels !== null, this.source);
    const [a, b] = splitPositions(this.size, fraction, stratified ? labels : null, seed);
    const first = new TextDatastore(this.#store, Int32Array.from(a, (p) => this.#row(p)), { ...this.#encoding });
    // A pending vocabulary (or length) is fixed from the first part's texts alone, then shared.
    first.#fix();
    const second = new TextDatastore(this.#store, Int32Array.from(b, (p) => this.#row(p)), { ...first.#encoding });
    return [first, second];
  }

  /** Observations per class (null when unlabeled). */
  countEachLabel(): { label: string; count: number }[] | null {
    return countEachLabel(this);
  }

  toString(): string {
    const enc = this.vocabularyPending ? 'vocabulary to be built' : `${this.vocabulary.size} tokens, L ${this.maxLength}`;
    return `TextDatastore(${this.size} texts${this.classes ? `, ${this.classes.length} classes` : ''}, ${enc}, ${this.source})`;
  }
}

/**
 * A datastore over a TextTable (readTextTable, readTextFolder, or `{ texts, labels, classes }`
 * made in code). Batches are `{ x: int64 [N, L] ids, y: int64 [N] labels, mask, lengths }`
 * (TextBatch); inputShape is [L].
 *
 *     const table = await readTextTable('../shared/data/sms-spam/SMSSpamCollection');
 *     const [train, test] = textDatastore(table, { buildVocabulary: { minFrequency: 2 }, maxLength: 64 }).split(0.8, { seed: 0 });
 *     train.vocabulary.size;          // built from the training 80 % only; test shares it
 */
export function textDatastore(table: Pick<TextTable, 'texts'> & Partial<TextTable>, options: TextDatastoreOptions = {}): TextDatastore {
  const source = typeof table?.source === 'string' ? table.source : 'in-memory';
  const where = `textDatastore (${source})`;
  if (table === null || typeof table !== 'object' || !Array.isArray(table.texts)) {
    throw new TypeError(`${where}: expected a text table { texts, labels, classes } (from readTextTable or readTextFolder), got ${table === null ? 'null' : typeof table}`);
  }
  checkKnownOptions(options, ['vocabulary', 'buildVocabulary', 'maxLength', 'padding', 'truncation'], where);
  const n = table.texts.length;
  table.texts.forEach((t, i) => {
    if (typeof t !== 'string') throw new TypeError(`${where}: text ${i} is ${t === null ? 'null' : typeof t}, expected a string`);
  });
  const labels = table.labels ?? null;
  const classes = table.classes ?? null;
  if (labels !== null) {
    if (!(labels instanceof Int32Array)) throw new TypeError(`${where}: labels must be an Int32Array of class indices (or null)`);
    if (labels.length !== n) throw new RangeError(`${where}: ${n} texts but ${labels.length} labels`);
    if (!classes) throw new TypeError(`${where}: labels need classes (the class names indexed by label)`);
    const bad = labels.findIndex((l) => l < 0 || l >= classes.length);
    if (bad >= 0) throw new RangeError(`${where}: label ${bad} is ${labels[bad]}, expected 0 to ${classes.length - 1} (classes ${classes.join(', ')})`);
  }
  const origins = table.origins ?? table.texts.map((_, i) => `${source}#${i}`);
  if (origins.length !== n) throw new RangeError(`${where}: ${n} texts but ${origins.length} origins`);
  const { vocabulary, buildVocabulary, maxLength, padding = 'post', truncation = 'post' } = options;
  if (vocabulary !== undefined && !(vocabulary instanceof Vocabulary)) throw new TypeError(`${where}: vocabulary must be a Vocabulary (Vocabulary.build or Vocabulary.fromJSON)`);
  if (vocabulary !== undefined && buildVocabulary !== undefined) throw new TypeError(`${where}: give vocabulary or buildVocabulary, not both`);
  if (buildVocabulary !== undefined) {
    // Checked now rather than when the vocabulary is built, far from this call.
    Vocabulary.build([], buildVocabulary);
  }
  if (maxLength !== undefined && !(Number.isSafeInteger(maxLength) && maxLength >= 1)) throw new RangeError(`${where}: maxLength must be a whole number >= 1, got ${String(maxLength)}`);
  if (padding !== 'post' && padding !== 'pre') throw new RangeError(`${where}: padding must be 'post' or 'pre', got ${String(padding)}`);
  if (truncation !== 'post' && truncation !== 'pre') throw new RangeError(`${where}: truncation must be 'post' or 'pre', got ${String(truncation)}`);
  const store: TextStore = { texts: Object.freeze([...table.texts]), labels: labels ? labels.slice() : null, origins: Object.freeze([...origins]), classes: classes ? Object.freeze([...classes]) : null, source };
  return new TextDatastore(store, null, { vocabulary: vocabulary ?? null, build: { ...(buildVocabulary ?? {}) }, maxLength, padding, truncation });
}
