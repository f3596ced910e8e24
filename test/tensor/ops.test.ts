// Tensor methods (and cat/stack/where) against PyTorch: values, dtypes and gradients for every
// case in fixtures/tensor-ops.json (written by scripts/make-fixtures.py). One table maps each
// fixture's method name to a dlkit call.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as dl from '../../src/index.js';
import type { Tensor, TensorLike, IndexSpec } from '../../src/index.js';
import { checkCase, loadFixtures, type Entry, type Inputs } from './fixture.js';

type Dim = number | number[];
/** t0, t1, ... in order: the tensors of cat/stack. */
const listed = (x: Inputs): Tensor[] => Object.keys(x).filter((k) => /^t\d+$/.test(k)).sort().map((k) => x[k]!);
/** A tensor input named `other`, or the scalar the options give. */
const other = (x: Inputs, o: { other?: number }): TensorLike => x.other ?? o.other!;

const compare = (op: 'eq' | 'ne' | 'lt' | 'le' | 'gt' | 'ge'): Entry => ({ call: (x: Inputs, o: { other?: number }) => x.self![op](other(x, o)) });

const TABLE: Record<string, Entry> = {
  matmul: { call: (x: Inputs) => x.self!.matmul(x.other!) },
  sum: { call: (x: Inputs, o: { dim?: Dim; keepdim?: boolean }) => (o.dim === undefined ? x.self!.sum() : x.self!.sum(o.dim, o.keepdim)) },
  mean: { call: (x: Inputs, o: { dim?: Dim; keepdim?: boolean }) => (o.dim === undefined ? x.self!.mean() : x.self!.mean(o.dim, o.keepdim)) },
  max: { call: (x: Inputs, o: { dim?: number; keepdim?: boolean }) => (o.dim === undefined ? x.self!.max() : x.self!.max(o.dim, o.keepdim)) },
  min: { call: (x: Inputs, o: { dim?: number; keepdim?: boolean }) => (o.dim === undefined ? x.self!.min() : x.self!.min(o.dim, o.keepdim)) },
  argmax: { call: (x: Inputs, o: { dim?: number; keepdim?: boolean }) => x.self!.argmax(o.dim, o.keepdim) },
  std: { call: (x: Inputs, { dim, ...o }: { dim?: Dim; unbiased?: boolean; keepdim?: boolean }) => x.self!.std(dim, o) },
  var: { call: (x: Inputs, { dim, ...o }: { dim?: Dim; unbiased?: boolean; keepdim?: boolean }) => x.self!.var(dim, o) },
  topk: { call: (x: Inputs, { k, ...o }: { k: number; dim?: number; largest?: boolean }) => x.self!.topk(k, o) },
  sort: { call: (x: Inputs, o: { dim?: number; descending?: boolean }) => x.self!.sort(o.dim, o.descending) },
  softmax: { call: (x: Inputs, o: { dim: number }) => x.self!.softmax(o.dim) },
  logSoftmax: { call: (x: Inputs, o: { dim: number }) => x.self!.logSoftmax(o.dim) },
  gather: { call: (x: Inputs, o: { dim: number }) => x.self!.gather(o.dim, x.index!) },
  scatter: { call: (x: Inputs, o: { dim: number; value?: number }) => x.self!.scatter(o.dim, x.index!, x.src ?? o.value!) },
  scatterAdd: { call: (x: Inputs, o: { dim: number }) => x.self!.scatterAdd(o.dim, x.index!, x.src!) },
  indexSelect: { call: (x: Inputs, o: { dim: number }) => x.self!.indexSelect(o.dim, x.index!) },
  cat: { call: (x: Inputs, o: { dim: number }) => dl.cat(listed(x), o.dim) },
  stack: { call: (x: Inputs, o: { dim: number }) => dl.stack(listed(x), o.dim) },
  split: { call: (x: Inputs, o: { size: number | number[]; dim: number }) => x.self!.split(o.size, o.dim) },
  chunk: { call: (x: Inputs, o: { chunks: number; dim: number }) => x.self!.chunk(o.chunks, o.dim) },
  // specs: numbers, 'start:stop:step' slices, null (new axis), { input: name } for index tensors
  index: {
    call: (x: Inputs, o: { specs: (number | string | null | { input: string })[] }) =>
      x.self!.index(...o.specs.map((s): IndexSpec => (s !== null && typeof s === 'object' ? x[s.input]! : s))),
  },
  add: { call: (x: Inputs, o: { other?: number; alpha?: number }) => x.self!.add(other(x, o), o.alpha) },
  sub: { call: (x: Inputs, o: { other?: number; alpha?: number }) => x.self!.sub(other(x, o), o.alpha) },
  mul: { call: (x: Inputs, o: { other?: number }) => x.self!.mul(other(x, o)) },
  div: { call: (x: Inputs, o: { other?: number }) => x.self!.div(other(x, o)) },
  pow: { call: (x: Inputs, o: { exponent?: number }) => x.self!.pow(x.other ?? o.exponent!) },
  eq: compare('eq'),
  ne: compare('ne'),
  lt: compare('lt'),
  le: compare('le'),
  gt: compare('gt'),
  ge: compare('ge'),
  where: { call: (x: Inputs) => dl.where(x.cond!, x.self!, x.other!) },
  clamp: { call: (x: Inputs, o: { min?: number; max?: number }) => x.self!.clamp(o.min, o.max) },
};

const fixtures = loadFixtures('tensor-ops.json');

test('the table and the fixtures cover each other', () => {
  const fns = new Set(fixtures.cases.map((c) => c.fn));
  assert.deepEqual(Object.keys(TABLE).filter((k) => !fns.has(k)), [], 'table entries without a fixture case');
  assert.deepEqual([...fns].filter((k) => !(k in TABLE)), [], 'fixture methods without a table entry');
});

for (const c of fixtures.cases) {
  test(`${c.name}: ${c.torch}`, () => checkCase(c, TABLE[c.fn]));
}
