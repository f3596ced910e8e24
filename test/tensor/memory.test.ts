// Native memory rules: dispose, using, tidy (sync and async), keep, and the GC backstop.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as dl from '../../src/index.js';
import { noLeaks } from '../helpers.js';

test('dispose frees once; a disposed tensor says so when used', () => noLeaks(() => {
  const t = dl.ones([4]);
  t.dispose();
  t.dispose();
  assert.equal(t.isDisposed, true);
  assert.throws(() => t.shape, /this tensor was disposed/);
  assert.throws(() => t.add(1), /this tensor was disposed/);
}));

test('using frees at the end of the block', () => {
  const before = dl.memory().liveTensors;
  {
    using a = dl.ones([3]);
    using b = a.mul(2);
    assert.equal(dl.memory().liveTensors, before + 2);
    assert.equal(b.sum().item(), 6); // the sum's temporary is freed by the backstop only: dispose it
  }
  // a, b freed; the sum escaped: 1 left until the GC backstop
  assert.ok(dl.memory().liveTensors <= before + 1);
});

test('tidy frees what it made except what it returns, through arrays and objects', () => noLeaks(() => {
  const before = dl.memory().liveTensors;
  const out = dl.tidy(() => {
    const a = dl.ones([2]);
    const b = a.add(1);
    const c = b.mul(3);
    return { c, list: [b] };
  });
  assert.equal(dl.memory().liveTensors, before + 2);
  assert.deepEqual(out.c.toArray(), [6, 6]);
  dl.dispose(out);
}));

test('nested tidy hands returned tensors to the outer scope', () => noLeaks(() => {
  let inner!: dl.Tensor;
  dl.tidy(() => {
    inner = dl.tidy(() => dl.ones([2]).mul(5));
    assert.equal(inner.isDisposed, false);
  });
  assert.equal(inner.isDisposed, true, 'the outer scope freed it');
}));

test('keep lets a tensor outlive its scope', () => noLeaks(() => {
  let kept!: dl.Tensor;
  dl.tidy(() => {
    kept = dl.keep(dl.ones([2]));
    dl.ones([3]);
  });
  assert.equal(kept.isDisposed, false);
  kept.dispose();
}));

test('tidy frees on throw', () => noLeaks(() => {
  assert.throws(() => dl.tidy(() => {
    dl.ones([2]);
    throw new Error('boom');
  }), /boom/);
}));

test('async tidy: interleaved scopes each free only their own tensors', async () => noLeaks(async () => {
  const tick = () => new Promise((r) => setTimeout(r, 5));
  const job = (v: number) => dl.tidy(async () => {
    const a = dl.full([2], v);
    await tick();
    const b = a.mul(2);
    await tick();
    return b;
  });
  const [x, y] = await Promise.all([job(1), job(2)]);
  assert.deepEqual(x.toArray(), [2, 2]);
  assert.deepEqual(y.toArray(), [4, 4]);
  dl.dispose([x, y]);
}));

test('the garbage collector frees tensors nobody disposed (backstop)', async () => {
  const gc = (globalThis as { gc?: () => void }).gc;
  assert.ok(gc, 'run with --expose-gc (scripts/run-tests.mjs does)');
  for (let i = 0; i < 3; i++) { gc(); await new Promise((r) => setTimeout(r, 10)); } // settle earlier tests' garbage
  const before = dl.memory();
  (() => { for (let i = 0; i < 100; i++) dl.ones([10]); })();
  assert.equal(dl.memory().liveTensors, before.liveTensors + 100);
  for (let i = 0; i < 10 && dl.memory().liveTensors > before.liveTensors; i++) {
    gc();
    await new Promise((r) => setTimeout(r, 10)); // finalizers run when the event loop turns
  }
  assert.equal(dl.memory().liveTensors, before.liveTensors);
  assert.ok(dl.memory().freedByGc >= before.freedByGc + 100);
});

test('the caching allocator reuses blocks and empties on request', () => noLeaks(() => {
  dl.emptyCache();
  const first = dl.memory();
  dl.tidy(() => { dl.zeros([1 << 20]); });
  const cached = dl.memory().cachedBytes;
  assert.ok(cached >= 4 << 20, `a freed 4 MiB tensor stays cached (cached ${cached})`);
  dl.tidy(() => { dl.zeros([1 << 20]); });
  assert.equal(dl.memory().cachedBytes, cached, 'the same block was reused');
  assert.ok(dl.emptyCache() >= 4 << 20);
  assert.equal(dl.memory().cachedBytes, 0);
  assert.equal(dl.memory().inUseBytes, first.inUseBytes);
}));
