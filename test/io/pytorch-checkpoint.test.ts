// PyTorch checkpoints read without running code, against files torch 1.13 wrote
// (scripts/make-checkpoint-fixtures.py): the zip and legacy formats with every dtype, views of
// one storage, nested containers and parameters; plain pickles of protocols 0–5; malicious
// pickles and checkpoints (refused by the global's name, nothing run, no tensor made); broken
// files (truncated, wrong type, bad opcode, missing storage, bad CRC); ZIP64; state dicts of
// training checkpoints; and the real CIFAR-10 ResNet files in ../shared/data when present.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import zlib from 'node:zlib';
import * as dl from '../../src/index.js';
import { readZipDirectory, readZipEntry } from '../../src/io/pytorch/zip.js';
import { noLeaks } from '../helpers.js';
import { SHARED_DATA } from '../support/shared-data.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const FIX = path.join(ROOT, 'fixtures', 'checkpoints');
const fx = (name: string) => path.join(FIX, name);
const expected = JSON.parse(readFileSync(fx('expected.json'), 'utf8'));
const tmp = mkdtempSync(path.join(os.tmpdir(), 'dlkit-ckpt-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** A value in expected.json's encoding (see `expect()` in the fixture script); tensors are disposed. */
function encode(v: unknown): unknown {
  if (v instanceof dl.Tensor) {
    const t = v.dtype === 'float16' || v.dtype === 'bfloat16' ? v.to('float32') : v;
    const data = Array.from(t.dataSync() as ArrayLike<number | bigint>, (x) => (v.dtype === 'bool' ? x === 1 : Number(x)));
    if (t !== v) t.dispose();
    return { tensor: { dtype: v.dtype, shape: [...v.shape], values: data } };
  }
  if (typeof v === 'bigint') return { int: String(v) };
  if (typeof v === 'number' && !Number.isFinite(v)) return { float: v > 0 ? 'inf' : '-inf' };
  if (v instanceof Uint8Array) return { bytes: [...v] };
  if (v instanceof Set) return { set: [...v].map(encode).sort((a, b) => (typeof a === 'number' && typeof b === 'number' ? a - b : String(a) < String(b) ? -1 : 1)) };
  if (Array.isArray(v)) return v.map(encode);
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, encode(x)]));
  return v;
}

/** expected.json without the 'parameter' flags (dlkit tensors carry no such flag). */
function withoutParameterFlags(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(withoutParameterFlags);
  if (v !== null && typeof v === 'object') {
    return Object.fromEntries(Object.entries(v).filter(([k]) => k !== 'parameter').map(([k, x]) => [k, withoutParameterFlags(x)]));
  }
  return v;
}

function tensorsIn(v: unknown, out = new Set<dl.Tensor>()): Set<dl.Tensor> {
  if (v instanceof dl.Tensor) out.add(v);
  else if (Array.isArray(v) || v instanceof Set) for (const x of v) tensorsIn(x, out);
  else if (v !== null && typeof v === 'object' && !(v instanceof Uint8Array)) for (const x of Object.values(v)) tensorsIn(x, out);
  return out;
}

function disposeAll(v: unknown): void {
  for (const t of tensorsIn(v)) t.dispose();
}

const rejectsWith = async (p: Promise<unknown>, file: string, pattern: RegExp) => {
  await assert.rejects(p, (err: Error) => {
    assert.ok(err.message.startsWith(`${file}: `), `the message names the file: ${err.message}`);
    assert.match(err.message, pattern);
    return true;
  });
};

for (const name of ['zip-p2.pt', 'zip-p4.pt', 'legacy-p2.pt']) {
  test(`${name}: every dtype, views of one storage, nested containers, as torch.load gives them`, () => noLeaks(async () => {
    const v = await dl.readTorchCheckpoint(fx(name)) as Record<string, any>;
    try {
      assert.deepEqual(encode(v), withoutParameterFlags(expected.checkpoint));
      const t = v.tensors as Record<string, dl.Tensor>;
      assert.deepEqual(Object.keys(t), Object.keys(expected.checkpoint.tensors), 'dict order kept');
      for (const k of ['transposed', 'strided', 'row']) assert.ok(t[k]!.isContiguous(), `${k} is made contiguous`);
      assert.deepEqual(t.strided!.strides, [3, 1]);
      // Views of one storage become independent tensors.
      t.base!.add_(100);
      assert.deepEqual(encode(t.row), withoutParameterFlags(expected.checkpoint.tensors.row), 'row kept its values when base changed');
      assert.ok(v.nested.list[5] instanceof dl.Tensor);
      assert.equal(typeof v.nested.big, 'bigint');
    } finally {
      disposeAll(v);
    }
  }));
}

for (let p = 0; p <= 5; p++) {
  test(`plain pickle, protocol ${p}: ints (bigint past 2^53), floats, strings, bytes, tuples, sets, dicts, shared references`, () => {
    const file = fx(`values-p${p}.pkl`);
    const v = dl.loadPickle(readFileSync(file), { file }) as Record<string, any>;
    assert.deepEqual(encode(v), expected.values);
    assert.ok(Object.is(v.floats[1], -0), '-0.0 keeps its sign');
    assert.equal(v.same_twice[0], v.same_twice[1], 'an object pickled once (memo) is one object');
    assert.ok(v.set instanceof Set);
  });
}

test('malicious pickle and checkpoints are refused by the global they name; nothing runs, no tensor is made', () => noLeaks(async () => {
  const marker: string = expected.marker;
  rmSync(marker, { force: true });
  const pkl = fx('evil.pkl');
  assert.throws(() => dl.loadPickle(readFileSync(pkl), { file: pkl }), (err: Error) => {
    assert.match(err.message, /refused global 'posix\.system' \(byte \d+ of the pickle\)/);
    assert.ok(err.message.startsWith(`${pkl}: `));
    return true;
  });
  await rejectsWith(dl.readTorchCheckpoint(pkl), pkl, /refused global 'posix\.system'/);
  for (const name of ['evil-zip.pt', 'evil-legacy.pt']) {
    const before = dl.memory().liveTensors;
    await rejectsWith(dl.readTorchCheckpoint(fx(name)), fx(name), /refused global 'posix\.system' .*nothing was loaded/);
    await rejectsWith(dl.loadStateDict(fx(name)), fx(name), /refused global 'posix\.system'/);
    assert.equal(dl.memory().liveTensors, before, `${name}: no tensor was made (the file also holds one)`);
  }
  assert.equal(existsSync(marker), false, `${marker} was not created: the payload never ran`);
}));

test('refused with a reason: torch.storage._load_from_bytes, quantized and complex tensors', () => noLeaks(async () => {
  await rejectsWith(dl.readTorchCheckpoint(fx('load-from-bytes.pt')), fx('load-from-bytes.pt'), /refused global 'torch\.storage\._load_from_bytes'.*runs torch\.load on embedded bytes/);
  await rejectsWith(dl.readTorchCheckpoint(fx('qtensor.pt')), fx('qtensor.pt'), /'torch\._utils\._rebuild_qtensor'.*quantized tensors are not supported/);
  await rejectsWith(dl.readTorchCheckpoint(fx('complex.pt')), fx('complex.pt'), /torch\.ComplexFloatStorage .*complex64 tensors are not supported/);
}));

test('broken files: each error names the file and what was expected', () => noLeaks(async () => {
  const zipBytes = readFileSync(fx('zip-p2.pt'));
  const legacyBytes = readFileSync(fx('legacy-p2.pt'));
  const write = (name: string, bytes: Uint8Array) => { const f = path.join(tmp, name); writeFileSync(f, bytes); return f; };

  let f = write('half.pt', zipBytes.subarray(0, zipBytes.length >> 1));
  await rejectsWith(dl.readTorchCheckpoint(f), f, /truncated or corrupt zip archive: no end of central directory record/);
  f = write('no-tail.pt', zipBytes.subarray(0, zipBytes.length - 30));
  await rejectsWith(dl.readTorchCheckpoint(f), f, /zip archive/);
  f = write('cut-pickle.pt', legacyBytes.subarray(0, 400));
  await rejectsWith(dl.readTorchCheckpoint(f), f, /truncated pickle: .*the data ends at byte 400/);
  f = write('cut-data.pt', legacyBytes.subarray(0, legacyBytes.length - 5));
  await rejectsWith(dl.readTorchCheckpoint(f), f, /truncated file: storage '\d+' \(\w+, \d+ elements?\) needs \d+ bytes at byte \d+, the file has \d+ left/);
  await assert.rejects(dl.readTorchCheckpoint(f), (err: Error) => {
    const [, need, left] = /needs (\d+) bytes at byte \d+, the file has (\d+) left/.exec(err.message)!;
    assert.equal(Number(need) - Number(left), 5, 'the last storage misses the 5 bytes cut off');
    return true;
  });
  f = write('text.pt', Buffer.from('hello, not a checkpoint\n'));
  await rejectsWith(dl.readTorchCheckpoint(f), f, /not a PyTorch checkpoint: expected a zip archive .* or the legacy format .*got bytes 68 65 6c 6c/);
  f = write('empty.pt', new Uint8Array(0));
  await rejectsWith(dl.loadStateDict(f), f, /not a PyTorch checkpoint: .*got an empty file/);
  f = write('opcode.pt', Uint8Array.from([0x80, 0x02, 0xff]));
  await rejectsWith(dl.readTorchCheckpoint(f), f, /unknown pickle opcode 0xff at byte 2/);
  await rejectsWith(dl.readTorchCheckpoint(fx('missing-storage.pt')), fx('missing-storage.pt'), /missing storage record 'zip-p2\/data\/0': the pickle uses storage '0' \(float32, 6 elements\)/);
  // One flipped byte in a storage record fails its CRC.
  const dirEntries = await withZip(fx('zip-p2.pt'), async (fh, size) => readZipDirectory(fh, size, 'x'));
  const rec = dirEntries.get('zip-p2/data/12')!;
  const corrupt = Buffer.from(zipBytes);
  const dataAt = rec.localHeaderOffset + 30 + corrupt.readUInt16LE(rec.localHeaderOffset + 26) + corrupt.readUInt16LE(rec.localHeaderOffset + 28);
  corrupt[dataAt + 3] ^= 0xff;
  f = write('crc.pt', corrupt);
  await rejectsWith(dl.readTorchCheckpoint(f), f, /'zip-p2\/data\/12' fails its CRC-32 check/);
  await rejectsWith(dl.readTorchCheckpoint(path.join(tmp, 'absent.pt')), path.join(tmp, 'absent.pt'), /cannot open: ENOENT/);
}));

async function withZip<T>(file: string, fn: (fh: import('node:fs/promises').FileHandle, size: number) => Promise<T>): Promise<T> {
  const fh = await open(file, 'r');
  try { return await fn(fh, (await fh.stat()).size); } finally { await fh.close(); }
}

/** The entries rewritten as a ZIP64 archive: every size and offset in the ZIP64 extra fields, ZIP64 end records. */
function zip64(entries: { name: string; data: Buffer }[]): Buffer {
  const parts: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const { name, data } of entries) {
    const n = Buffer.from(name);
    const crc = zlib.crc32(data) >>> 0;
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0); local.writeUInt16LE(45, 4); local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(data.length, 18); local.writeUInt32LE(data.length, 22); local.writeUInt16LE(n.length, 26);
    const c = Buffer.alloc(46 + n.length + 28);
    c.writeUInt32LE(0x02014b50, 0); c.writeUInt16LE(45, 4); c.writeUInt16LE(45, 6); c.writeUInt32LE(crc, 16);
    c.writeUInt32LE(0xffffffff, 20); c.writeUInt32LE(0xffffffff, 24); c.writeUInt16LE(n.length, 28); c.writeUInt16LE(28, 30);
    c.writeUInt32LE(0xffffffff, 42); n.copy(c, 46);
    const x = 46 + n.length;
    c.writeUInt16LE(0x0001, x); c.writeUInt16LE(24, x + 2);
    c.writeBigUInt64LE(BigInt(data.length), x + 4); c.writeBigUInt64LE(BigInt(data.length), x + 12); c.writeBigUInt64LE(BigInt(offset), x + 20);
    central.push(c);
    parts.push(local, n, data);
    offset += 30 + n.length + data.length;
  }
  const dir = Buffer.concat(central);
  const rec = Buffer.alloc(56);
  rec.writeUInt32LE(0x06064b50, 0); rec.writeBigUInt64LE(44n, 4); rec.writeUInt16LE(45, 12); rec.writeUInt16LE(45, 14);
  rec.writeBigUInt64LE(BigInt(entries.length), 24); rec.writeBigUInt64LE(BigInt(entries.length), 32);
  rec.writeBigUInt64LE(BigInt(dir.length), 40); rec.writeBigUInt64LE(BigInt(offset), 48);
  const loc = Buffer.alloc(20);
  loc.writeUInt32LE(0x07064b50, 0); loc.writeBigUInt64LE(BigInt(offset + dir.length), 8); loc.writeUInt32LE(1, 16);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0); end.writeUInt16LE(0xffff, 8); end.writeUInt16LE(0xffff, 10);
  end.writeUInt32LE(0xffffffff, 12); end.writeUInt32LE(0xffffffff, 16);
  return Buffer.concat([...parts, dir, rec, loc, end]);
}

test('ZIP64 archives (as written past 4 GiB) read the same', () => noLeaks(async () => {
  const entries = await withZip(fx('zip-p2.pt'), async (fh, size) => {
    const dir = await readZipDirectory(fh, size, 'zip-p2.pt');
    return Promise.all([...dir.values()].map(async (e) => ({ name: e.name, data: await readZipEntry(fh, e, size, 'zip-p2.pt') })));
  });
  const f = path.join(tmp, 'zip64.pt');
  writeFileSync(f, zip64(entries));
  const v = await dl.readTorchCheckpoint(f);
  try {
    assert.deepEqual(encode(v), withoutParameterFlags(expected.checkpoint));
  } finally {
    disposeAll(v);
  }
}));

test('state dicts: the dict under state_dict/model_state_dict/model or the top level; non-tensors reported; safetensors too', () => noLeaks(async () => {
  const r = await dl.readStateDict(fx('training.pt'));
  try {
    assert.equal(r.format, 'zip');
    assert.equal(r.key, 'model');
    assert.deepEqual(r.extras, { epoch: 3 });
    assert.deepEqual(r.notRead, ['optimizer'], 'the optimizer state holds tensors and is not read');
    assert.deepEqual(r.skipped, []);
    assert.deepEqual(encode(r.tensors), withoutParameterFlags(expected.training.model));
    assert.equal(r.tensors['1.num_batches_tracked']!.dtype, 'int64');
  } finally {
    disposeAll(r.tensors);
  }

  const mixed = await dl.readStateDict(fx('mixed.pt'));
  assert.equal(mixed.key, null);
  assert.deepEqual(Object.keys(mixed.tensors), ['w']);
  assert.deepEqual(mixed.skipped, [{ name: 'step', what: 'int 5' }, { name: 'note', what: "str 'x'" }]);
  disposeAll(mixed.tensors);
  await rejectsWith(dl.loadStateDict(fx('mixed.pt')), fx('mixed.pt'), /holds 2 entries that are not tensors: 'step' \(int 5\), 'note' \(str 'x'\); readStateDict returns/);

  await rejectsWith(dl.loadStateDict(fx('zip-p2.pt')), fx('zip-p2.pt'), /found no tensors at the top level nor under 'state_dict', 'model_state_dict', 'model'; top-level keys: tensors, epoch, nested/);
  const byKey = await dl.loadStateDict(fx('zip-p2.pt'), { key: 'tensors' });
  assert.equal(Object.keys(byKey).length, Object.keys(expected.checkpoint.tensors).length);
  disposeAll(byKey);
  await rejectsWith(dl.loadStateDict(fx('training.pt'), { key: 'optimizer' }), fx('training.pt'), /option 'key': 'optimizer' holds dict of 2, not a dict of tensors/);
  await rejectsWith(dl.loadStateDict(fx('training.pt'), { key: 'nope' }), fx('training.pt'), /option 'key': 'nope' is not in the file; top-level keys: model, epoch, optimizer/);

  const st = path.join(tmp, 'w.safetensors');
  await dl.tidy(async () => dl.saveSafetensors(st, { a: dl.tensor([1, 2, 3]), b: dl.tensor([7], { dtype: 'int64' }) }));
  const fromSt = await dl.loadStateDict(st);
  assert.deepEqual(encode(fromSt), { a: { tensor: { dtype: 'float32', shape: [3], values: [1, 2, 3] } }, b: { tensor: { dtype: 'int64', shape: [1], values: [7] } } });
  disposeAll(fromSt);
}));

const PRETRAINED = path.join(SHARED_DATA, 'pretrained', 'resnet-cifar10');
const cifar = JSON.parse(readFileSync(path.join(ROOT, 'fixtures', 'cifar-resnet.json'), 'utf8'));
const hasPretrained = existsSync(PRETRAINED);

for (const [key, net] of Object.entries(cifar.nets) as [string, any][]) {
  test(`the real ${net.file} (legacy format, DataParallel names): every entry's shape and sum as torch.load gives them`, { skip: hasPretrained ? false : `pretrained files not found at ${PRETRAINED}: skipped` }, () => noLeaks(async () => {
    const file = path.join(PRETRAINED, net.file);
    const r = await dl.readStateDict(file);
    try {
      assert.equal(r.format, 'legacy');
      assert.equal(r.key, 'state_dict');
      assert.equal(r.extras.best_prec1, net.best_prec1);
      assert.deepEqual(Object.keys(r.tensors), Object.keys(net.entries), `${key}: the same names in the same order`);
      for (const [name, t] of Object.entries(r.tensors)) {
        const e = net.entries[name];
        assert.deepEqual([...t.shape], e.shape, name);
        const sum = dl.tidy(() => t.double().sum().item());
        assert.ok(Math.abs(sum - e.sum) <= 1e-9 * Math.max(1, Math.abs(e.sum)) + 1e-9, `${name}: sum ${sum}, torch says ${e.sum}`);
      }
    } finally {
      disposeAll(r.tensors);
    }
  }));
}
