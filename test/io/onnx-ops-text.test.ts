// TfIdfVectorizer beyond the conformance data (which has TF mode only, int32, 1- and 2-grams):
// IDF and TFIDF with weights, int64 ids, 3-grams, skips, permuted output coordinates and
// repeated pool n-grams, against a brute-force count of the spec's definition (every start p and
// skip distance d = 1 .. max_skip_count + 1, the tokens at p, p + d, …; unigrams once); the
// import-time rejections; and Cast to bfloat16 rounding to nearest even, as ONNX's
// helper.float32_to_bfloat16 defines it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as dl from '../../src/index.js';
import { importONNXModel } from '../../src/io/index.js';
import { OnnxType, type ModelProto } from '../../src/io/onnx/proto.js';
import type { AttrValue } from '../../src/io/onnx/ops/index.js';
import { assertClose, noLeaks } from '../helpers.js';
import { runOp } from './onnx-ops-fixtures.js';

/** A small deterministic generator (the test draws the same cases on every run). */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

interface Case { rows: number[][]; pools: number[][][]; minGram: number; maxGram: number; maxSkip: number; mode: 'TF' | 'IDF' | 'TFIDF'; indexes: number[]; weights: number[] }

function attrsOf(c: Case): Record<string, AttrValue> {
  const counts: number[] = [];
  const pool: number[] = [];
  for (const grams of c.pools) {
    counts.push(pool.length);
    for (const g of grams) pool.push(...g);
  }
  return {
    min_gram_length: c.minGram, max_gram_length: c.maxGram, max_skip_count: c.maxSkip, mode: c.mode,
    ngram_counts: counts, ngram_indexes: c.indexes, pool_int64s: pool, ...(c.weights.length ? { weights: c.weights } : {}),
  };
}

/** The spec's counts by enumeration; a repeated pool n-gram counts at its last coordinate. */
function bruteForce(c: Case): number[] {
  const size = Math.max(...c.indexes) + 1;
  const coordOf = new Map<string, number>();
  let i = 0;
  for (const grams of c.pools) for (const g of grams) coordOf.set(g.join(','), c.indexes[i++]!);
  const out: number[] = [];
  for (const row of c.rows) {
    const freq = new Array<number>(size).fill(0);
    for (const [key, coord] of coordOf) {
      const g = key.split(',').map(Number);
      const n = g.length;
      if (n < c.minGram || n > c.maxGram) continue;
      for (let d = 1; d <= (n === 1 ? 1 : c.maxSkip + 1); d++) {
        for (let p = 0; p + (n - 1) * d < row.length; p++) if (g.every((t, j) => row[p + j * d] === t)) freq[coord]! += 1;
      }
    }
    for (let j = 0; j < size; j++) {
      const w = c.weights.length ? c.weights[j]! : 1;
      out.push(c.mode === 'TF' ? freq[j]! : c.mode === 'IDF' ? (freq[j]! > 0 ? w : 0) : freq[j]! * w);
    }
  }
  return out;
}

function randomCase(r: () => number): Case {
  const vocab = 2 + Math.floor(r() * 5);
  const token = () => Math.floor(r() * vocab) * 7 - 3; // negative and positive ids
  const sizes = 1 + Math.floor(r() * 3);
  const pools = Array.from({ length: sizes }, (_, k) => Array.from({ length: Math.floor(r() * 5) }, () => Array.from({ length: k + 1 }, token)));
  if (pools.every((p) => p.length === 0)) pools[0]!.push([token()]);
  const total = pools.reduce((s, p) => s + p.length, 0);
  // A permutation of 0 .. total - 1, sometimes with a gap (an output coordinate no n-gram maps to).
  const indexes = Array.from({ length: total }, (_, j) => j).sort(() => r() - 0.5).map((j) => (r() < 0.2 ? j + 1 : j));
  const outputs = Math.max(...indexes) + 1;
  const minGram = 1 + Math.floor(r() * Math.min(2, sizes));
  const maxGram = minGram + Math.floor(r() * (sizes - minGram + 1));
  const mode = (['TF', 'IDF', 'TFIDF'] as const)[Math.floor(r() * 3)]!;
  const weights = mode !== 'TF' && r() < 0.7 ? Array.from({ length: outputs }, () => Math.round(r() * 40) / 8) : [];
  const C = 1 + Math.floor(r() * 12);
  const rows = Array.from({ length: 1 + Math.floor(r() * 3) }, () => Array.from({ length: C }, token));
  return { rows, pools, minGram, maxGram, maxSkip: Math.floor(r() * 4), mode, indexes, weights };
}

test('TfIdfVectorizer: random pools, modes, skips and ids match a brute-force count', () => noLeaks(() => dl.tidy(() => {
  const r = rng(12);
  let nonzero = 0;
  for (let k = 0; k < 300; k++) {
    const c = randomCase(r);
    const want = bruteForce(c);
    nonzero += want.filter((v) => v !== 0).length;
    const flat = c.rows.flat();
    const batched = c.rows.length > 1 || k % 2 === 0;
    const shape = batched ? [c.rows.length, c.rows[0]!.length] : [flat.length];
    const x = k % 3 === 0 ? dl.tensor(Int32Array.from(flat), { shape }) : dl.tensor(BigInt64Array.from(flat, BigInt), { shape });
    const [y] = runOp('TfIdfVectorizer', [x], attrsOf(c), { opset: 9 });
    assert.equal(y!.dtype, 'float32');
    const outputs = Math.max(...c.indexes) + 1;
    assertClose(y!, want, { atol: 0, rtol: 1e-6, shape: batched ? [c.rows.length, outputs] : [outputs] });
  }
  assert.ok(nonzero > 300, `the random cases find n-grams (${nonzero} nonzero outputs)`);
})));

test('TfIdfVectorizer: a skip-gram counts once per skip distance, a unigram once', () => noLeaks(() => dl.tidy(() => {
  // [1, 2, 1, 2]: the bigram (1, 2) at distance 1 (p = 0, 2) and distance 3 (p = 0); unigram 2 twice.
  const attrs = { min_gram_length: 1, max_gram_length: 2, max_skip_count: 2, mode: 'TF', ngram_counts: [0, 1], ngram_indexes: [0, 1], pool_int64s: [2, 1, 2] };
  const [y] = runOp('TfIdfVectorizer', [dl.tensor(Int32Array.from([1, 2, 1, 2]))], attrs, { opset: 9 });
  assertClose(y!, bruteForce({ rows: [[1, 2, 1, 2]], pools: [[[2]], [[1, 2]]], minGram: 1, maxGram: 2, maxSkip: 2, mode: 'TF', indexes: [0, 1], weights: [] }), { atol: 0, shape: [2] });
  assert.deepEqual([...(y!.dataSync() as Float32Array)], [2, 3]);
})));

function tfidfModel(attrs: { name: string; type: number; i?: number; s?: Uint8Array; ints?: number[]; strings?: Uint8Array[]; floats?: number[] }[], elem = OnnxType.INT64): ModelProto {
  return {
    ir_version: 8, opset_import: [{ domain: '', version: 9 }],
    graph: {
      name: 'tfidf',
      input: [{ name: 'X', type: { tensor_type: { elem_type: elem, shape: { dim: [{ dim_value: 2 }, { dim_value: 5 }] } } } }],
      node: [{ op_type: 'TfIdfVectorizer', name: 'vectorizer', input: ['X'], output: ['Y'], attribute: attrs }],
      output: [{ name: 'Y', type: { tensor_type: { elem_type: OnnxType.FLOAT, shape: { dim: [{ dim_value: 2 }, { dim_value: 3 }] } } } }],
    },
  };
}
const enc = (s: string) => new TextEncoder().encode(s);
const common = [
  { name: 'min_gram_length', type: 2, i: 1 }, { name: 'max_gram_length', type: 2, i: 2 }, { name: 'max_skip_count', type: 2, i: 0 },
  { name: 'mode', type: 3, s: enc('TFIDF') }, { name: 'ngram_counts', type: 7, ints: [0, 2] }, { name: 'ngram_indexes', type: 7, ints: [0, 1, 2] },
];

test('TfIdfVectorizer in an imported graph: runs repeatedly on int64 ids; bad attributes fail at import naming the node', () => noLeaks(() => {
  const net = importONNXModel(tfidfModel([...common, { name: 'pool_int64s', type: 7, ints: [5, 9, 5, 9] }, { name: 'weights', type: 6, floats: [0.5, 2, 4] }]));
  try {
    for (const rows of [[[5, 9, 5, 1, 1], [9, 9, 0, 5, 9]], [[1, 1, 1, 1, 1], [5, 5, 5, 5, 9]]]) {
      dl.tidy(() => {
        const y = net.forward(dl.tensor(BigInt64Array.from(rows.flat(), BigInt), { shape: [2, 5] })) as dl.Tensor;
        const want = bruteForce({ rows, pools: [[[5], [9]], [[5, 9]]], minGram: 1, maxGram: 2, maxSkip: 0, mode: 'TFIDF', indexes: [0, 1, 2], weights: [0.5, 2, 4] });
        assertClose(y, want, { atol: 0, shape: [2, 3] });
      });
    }
  } finally {
    net.dispose();
  }
  assert.throws(() => importONNXModel(tfidfModel([...common, { name: 'pool_strings', type: 8, strings: ['a', 'b', 'a', 'b'].map(enc) }])),
    /vectorizer.*pool_strings: string n-grams need string tensors/s);
  assert.throws(() => importONNXModel(tfidfModel([...common, { name: 'pool_int64s', type: 7, ints: [5, 9, 5] }])),
    /vectorizer.*the 2-grams of pool_int64s \(values 2 to 2\) are 1 values, not a multiple of 2/s);
  assert.throws(() => importONNXModel(tfidfModel([...common.slice(0, 5), { name: 'ngram_indexes', type: 7, ints: [0, 1] }, { name: 'pool_int64s', type: 7, ints: [5, 9, 5, 9] }])),
    /pool_int64s holds more n-grams than ngram_indexes' 2 coordinates/);
  assert.throws(() => importONNXModel(tfidfModel([...common, { name: 'pool_int64s', type: 7, ints: [5, 9, 5, 9] }, { name: 'weights', type: 6, floats: [1, 1] }])),
    /weights has 2 values for 3 output coordinates/);
  dl.tidy(() => assert.throws(() => runOp('TfIdfVectorizer', [dl.ones([4])], { ...attrsOf({ rows: [], pools: [[[1]]], minGram: 1, maxGram: 1, maxSkip: 0, mode: 'TF', indexes: [0], weights: [] }) }),
    /X must be int32 or int64 token ids, got float32/));
}));

test('Cast float32 -> bfloat16 rounds to nearest even (ties included), as ONNX\'s float32_to_bfloat16', () => noLeaks(() => dl.tidy(() => {
  const r = rng(3);
  const bits = new Uint32Array(4096);
  for (let i = 0; i < bits.length; i++) bits[i] = Math.floor(r() * 2 ** 32) >>> 0;
  // Exact ties (low half 0x8000) with an even and an odd kept half, and their neighbours.
  bits.set([0x3f808000, 0x3f818000, 0x3f807fff, 0x3f808001, 0xbf818000, 0x7f7f8000], 0);
  for (let i = 0; i < bits.length; i++) if (((bits[i]! >>> 23) & 0xff) === 0xff) bits[i] = bits[i]! & 0x807fffff; // no NaN or infinity
  const x = dl.tensor(new Float32Array(bits.buffer), { shape: [bits.length] });
  const [y] = runOp('Cast', [x], { to: OnnxType.BFLOAT16 }, { opset: 13 });
  assert.equal(y!.dtype, 'bfloat16');
  const got = y!.dataSync() as Uint16Array;
  for (let i = 0; i < bits.length; i++) {
    const b = bits[i]!;
    const want = Math.floor((b + 0x7fff + ((b >>> 16) & 1)) / 0x10000) & 0xffff;
    if (got[i] !== want) assert.fail(`value ${i} (bits 0x${b.toString(16)}): bfloat16 bits 0x${got[i]!.toString(16)}, expected 0x${want.toString(16)}`);
  }
})));
