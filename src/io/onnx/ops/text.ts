// Text features: TfIdfVectorizer (n-gram counts over token ids, the step after a tokenizer in
// exported text classifiers). Spec: https://onnx.ai/onnx/operators/onnx__TfIdfVectorizer.html;
// the semantics follow the ONNX reference implementation (onnx/reference/ops/op_tfidf_vectorizer.py),
// which ONNX Runtime shares, where the spec's prose leaves room.
import type { Tensor } from '../../../tensor/tensor.js';
import { tensor } from '../../../tensor/create.js';
import { defineOp, attrInt, attrInts, attrString, type AttrValue } from './registry.js';
import { need, cast } from './util.js';

/** A trie node: the n-gram ending here maps to output coordinate `coord` (-1: only a prefix of longer n-grams). */
interface GramNode {
  coord: number;
  next: Map<number, GramNode> | null;
}

interface Vectorizer {
  root: Map<number, GramNode>;
  minGram: number;
  maxGram: number;
  maxSkip: number;
  mode: 'TF' | 'IDF' | 'TFIDF';
  outputSize: number;
  /** Per output coordinate, or null for all ones. */
  weights: Float64Array | null;
}

const MODES = ['TF', 'IDF', 'TFIDF'] as const;

/**
 * Checks the attributes and builds the pool's trie. ngram_counts[k] is where the (k+1)-grams
 * start in the pool; the pool's i-th n-gram (counting across every size) goes to output
 * coordinate ngram_indexes[i], also for sizes outside [min_gram_length, max_gram_length], which
 * are left out of the trie but keep their place in the numbering. A repeated n-gram takes the
 * coordinate of its last occurrence, as the reference's.
 */
function compile(a: Record<string, AttrValue>): Vectorizer {
  if (a.pool_strings !== undefined && (a.pool_strings as string[]).length > 0) {
    throw new TypeError('pool_strings: string n-grams need string tensors, which libtorch has no dtype for; a model with pool_int64s over token ids runs');
  }
  const required = (name: string): number => {
    const v = attrInt(a, name);
    if (v === undefined) throw new TypeError(`attribute '${name}' is required`);
    if (!Number.isInteger(v) || v < 0) throw new RangeError(`${name} must be a non-negative integer, got ${v}`);
    return v;
  };
  const minGram = required('min_gram_length');
  const maxGram = required('max_gram_length');
  const maxSkip = required('max_skip_count');
  if (minGram < 1 || maxGram < minGram) throw new RangeError(`expected 1 <= min_gram_length <= max_gram_length, got min_gram_length ${minGram}, max_gram_length ${maxGram}`);
  const mode = attrString(a, 'mode', '');
  if (!(MODES as readonly string[]).includes(mode)) throw new RangeError(`mode must be one of ${MODES.join(', ')}, got '${mode}'`);
  const pool = attrInts(a, 'pool_int64s') ?? [];
  const counts = attrInts(a, 'ngram_counts');
  if (!counts) throw new TypeError("attribute 'ngram_counts' is required");
  const indexes = attrInts(a, 'ngram_indexes');
  if (!indexes || indexes.length === 0) throw new TypeError("attribute 'ngram_indexes' is required (one output coordinate per n-gram of the pool)");
  if (indexes.some((i) => !Number.isInteger(i) || i < 0)) throw new RangeError(`ngram_indexes must be non-negative integers, got [${indexes.join(', ')}]`);
  const outputSize = indexes.reduce((m, i) => Math.max(m, i), 0) + 1;

  const root = new Map<number, GramNode>();
  let gram = 0; // the pool's n-gram number across all sizes, ngram_indexes' index
  for (let k = 0; k < counts.length; k++) {
    const size = k + 1;
    const start = counts[k]!;
    const end = k + 1 < counts.length ? counts[k + 1]! : pool.length;
    if (!(start >= 0 && start <= end && end <= pool.length)) {
      throw new RangeError(`ngram_counts [${counts.join(', ')}] must be non-decreasing offsets into pool_int64s (${pool.length} values)`);
    }
    if ((end - start) % size !== 0) throw new RangeError(`the ${size}-grams of pool_int64s (values ${start} to ${end - 1}) are ${end - start} values, not a multiple of ${size}`);
    const n = (end - start) / size;
    if (gram + n > indexes.length) throw new RangeError(`pool_int64s holds more n-grams than ngram_indexes' ${indexes.length} coordinates`);
    if (size >= minGram && size <= maxGram) {
      for (let g = 0; g < n; g++) {
        let level = root;
        let node: GramNode | undefined;
        for (let j = 0; j < size; j++) {
          const token = pool[start + g * size + j]!;
          node = level.get(token);
          if (!node) level.set(token, (node = { coord: -1, next: null }));
          if (j < size - 1) level = node.next ??= new Map();
        }
        node!.coord = indexes[gram + g]!;
      }
    }
    gram += n;
  }
  if (gram !== indexes.length) throw new RangeError(`ngram_indexes has ${indexes.length} coordinates for the ${gram} n-grams of pool_int64s`);

  // The reference and ONNX Runtime read weights by output coordinate (the spec says by pool
  // n-gram: the same where ngram_indexes is 0..n-1, as converters write it).
  const w = attrInts(a, 'weights') ?? [];
  if (w.length > 0 && w.length < outputSize) throw new RangeError(`weights has ${w.length} values for ${outputSize} output coordinates (max(ngram_indexes) + 1)`);
  return { root, minGram, maxGram, maxSkip, mode: mode as Vectorizer['mode'], outputSize, weights: w.length ? Float64Array.from(w) : null };
}

// Compiled once per node: the layer passes the same attributes object on every run.
const compiled = new WeakMap<Record<string, AttrValue>, Vectorizer>();
function vectorizerOf(a: Record<string, AttrValue>): Vectorizer {
  let v = compiled.get(a);
  if (!v) compiled.set(a, (v = compile(a)));
  return v;
}

/**
 * Adds one row's n-gram counts to `freq` (from `offset`). For each skip distance d = 1 ..
 * max_skip_count + 1 and each start p, the tokens at p, p + d, p + 2d, … are walked down the
 * trie, counting every n-gram of a counted size met on the way. Unigrams do not depend on d,
 * so they are counted in the first pass only.
 */
function countRow(v: Vectorizer, x: Int32Array | Float64Array, begin: number, end: number, freq: Float32Array, offset: number): void {
  let smallest = v.minGram;
  for (let d = 1; d <= v.maxSkip + 1; d++) {
    for (let p = begin; p < end; p++) {
      if (p + d * (smallest - 1) >= end) break; // no n-gram of a counted size fits from here on
      let level: Map<number, GramNode> | null = v.root;
      for (let size = 1, i = p; level && size <= v.maxGram && i < end; size++, i += d) {
        const node = level.get(x[i]!);
        if (!node) break;
        if (size >= smallest && node.coord >= 0) freq[offset + node.coord] = freq[offset + node.coord]! + 1;
        level = node.next;
      }
    }
    if (smallest === 1) {
      smallest = 2;
      if (smallest > v.maxGram) break;
    }
  }
}

defineOp('TfIdfVectorizer', {
  notes: 'int32/int64 token ids (pool_int64s); no string tensors (pool_strings)',
  // Input [C] gives [max(ngram_indexes) + 1], input [N, C] gives [N, max(ngram_indexes) + 1], float32.
  // TF: the counts; IDF: weights[j] (1 without weights) where the count is positive, else 0;
  // TFIDF: counts times weights[j].
  attributes: ['max_gram_length', 'min_gram_length', 'max_skip_count', 'mode', 'ngram_counts', 'ngram_indexes', 'pool_int64s', 'pool_strings', 'weights'],
  check: (a) => {
    try {
      compile(a);
      return null;
    } catch (err) {
      return (err as Error).message;
    }
  },
  run: ([x], a) => {
    const X = need([x], 0, 'X');
    if (X.dtype !== 'int32' && X.dtype !== 'int64') throw new TypeError(`X must be int32 or int64 token ids, got ${X.dtype}`);
    if (X.ndim !== 1 && X.ndim !== 2) throw new RangeError(`X must be [C] or [N, C], got shape [${X.shape.join(', ')}]`);
    const v = vectorizerOf(a);
    const rows = X.ndim === 2 ? X.shape[0]! : 1;
    const C = X.shape[X.ndim - 1]!;
    // int64 ids as float64: exact up to 2^53, as the pool's attribute values are held. (dataSync
    // copies to the CPU, contiguous.)
    const tokens = X.dtype === 'int32' ? (X.dataSync() as Int32Array) : (cast(X, 'float64').dataSync() as Float64Array);
    // Counted in place (float32 holds counts up to 2^24 exactly, more tokens than a row has).
    const n = v.outputSize;
    const y = new Float32Array(rows * n);
    for (let r = 0; r < rows; r++) countRow(v, tokens, r * C, (r + 1) * C, y, r * n);
    const w = v.weights;
    if (v.mode === 'IDF') {
      for (let r = 0; r < rows; r++) for (let j = 0, i = r * n; j < n; j++, i++) if (y[i]! > 0) y[i] = w ? w[j]! : 1;
    } else if (v.mode === 'TFIDF' && w) {
      for (let r = 0; r < rows; r++) for (let j = 0, i = r * n; j < n; j++, i++) if (y[i]! !== 0) y[i] = y[i]! * w[j]!;
    }
    const out = tensor(y, { shape: X.ndim === 2 ? [rows, n] : [n] });
    return X.device === 'cpu' ? out : out.to({ device: X.device });
  },
});
