// The safetensors format: bytes built by hand from the spec, round trips for every dtype,
// empty and 0-d tensors, metadata, header validation, `expect` checks and atomic saves.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, readdirSync, readFileSync, writeFileSync, rmSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as dl from '../../src/index.js';
import { noLeaks } from '../helpers.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'dlkit-st-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** A safetensors file assembled by hand, per the spec: u64 LE length, JSON padded with spaces to 8, data. */
function handMade(header: string, data: Buffer, pad = true): Buffer {
  const json = Buffer.from(header, 'utf8');
  const n = pad ? Math.ceil(json.length / 8) * 8 : json.length;
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(n));
  return Buffer.concat([len, json, Buffer.alloc(n - json.length, 0x20), data]);
}

const f32 = (...v: number[]) => Buffer.from(new Float32Array(v).buffer);
const i64 = (...v: bigint[]) => Buffer.from(new BigInt64Array(v).buffer);

test('reads a file built by hand from the spec (any header order, metadata, BOOL, I64, F32)', () => noLeaks(() => {
  // Offsets out of header order and data not sorted by dtype: both are allowed when reading.
  const header = JSON.stringify({
    flags: { dtype: 'BOOL', shape: [3], data_offsets: [24, 27] },
    __metadata__: { format: 'pt', note: 'hand-made' },
    'layer.0.weight': { dtype: 'F32', shape: [2, 2], data_offsets: [0, 16] },
    step: { dtype: 'I64', shape: [], data_offsets: [16, 24] },
  });
  const bytes = handMade(header, Buffer.concat([f32(1, -2, 0.5, 3), i64(-(2n ** 40n)), Buffer.from([1, 0, 1])]));
  const { tensors, metadata } = dl.decodeSafetensors(bytes);
  assert.deepEqual(metadata, { format: 'pt', note: 'hand-made' });
  assert.deepEqual(Object.keys(tensors).sort(), ['flags', 'layer.0.weight', 'step']);
  assert.deepEqual(tensors['layer.0.weight']!.toArray(), [[1, -2], [0.5, 3]]);
  assert.equal(tensors.step!.dtype, 'int64');
  assert.deepEqual([...tensors.step!.shape], []);
  assert.deepEqual(tensors.step!.dataSync(), new BigInt64Array([-(2n ** 40n)]));
  assert.deepEqual(tensors.flags!.toArray(), [true, false, true]);
  dl.dispose(tensors);
}));

test('writes exactly the bytes the spec describes: compact JSON, 8-byte padding with spaces, __metadata__ first', () => noLeaks(() => {
  using t = dl.tidy(() => dl.tensor([0, 1, 2, 3, 4, 5]).reshape([1, 2, 3]));
  // A 64-byte header: no padding needed.
  const header = '{"attn.0":{"dtype":"F32","shape":[1,2,3],"data_offsets":[0,24]}}';
  assert.equal(header.length, 64);
  assert.deepEqual(dl.encodeSafetensors({ 'attn.0': t }), handMade(header, f32(0, 1, 2, 3, 4, 5)));
  // 60 bytes of JSON: padded with 4 spaces so the data starts 8-byte aligned.
  using t4 = dl.tidy(() => dl.tensor([0, 1, 2, 3, 4, 5]).reshape([1, 1, 2, 3]));
  const h4 = '{"attn0":{"dtype":"F32","shape":[1,1,2,3],"data_offsets":[0,24]}}';
  const out = dl.encodeSafetensors({ attn0: t4 });
  assert.deepEqual(out, handMade(h4, f32(0, 1, 2, 3, 4, 5)));
  assert.equal(out.readBigUInt64LE(0), 72n);
  assert.equal(out.subarray(8 + h4.length, 80).toString(), ' '.repeat(72 - h4.length));
  // No tensors, metadata only.
  assert.deepEqual(dl.encodeSafetensors({}), handMade('{}', Buffer.alloc(0)));
  assert.deepEqual(dl.encodeSafetensors({}, { framework: 'pt' }), handMade('{"__metadata__":{"framework":"pt"}}', Buffer.alloc(0)));
}));

test('tensors are laid out by descending dtype alignment, then name, so every one is aligned', () => noLeaks(() => {
  const ts = dl.tidy(() => ({
    b: dl.tensor([true]),
    a8: dl.tensor(new Uint8Array([1, 2, 3])),
    h: dl.tensor([1, 2, 3], { dtype: 'float16' }),
    z: dl.tensor([1.5], { dtype: 'float64' }),
    f: dl.tensor([1, 2, 3]),
    l: dl.tensor(BigInt64Array.from([5n])),
    a: dl.tensor([4]),
  }));
  const bytes = dl.encodeSafetensors(ts);
  const n = Number(bytes.readBigUInt64LE(0));
  assert.equal(n % 8, 0);
  const header = JSON.parse(bytes.subarray(8, 8 + n).toString()) as Record<string, { dtype: string; data_offsets: [number, number] }>;
  const order = Object.entries(header).sort(([, p], [, q]) => p.data_offsets[0] - q.data_offsets[0]).map(([k]) => k);
  assert.deepEqual(order, ['l', 'z', 'a', 'f', 'h', 'a8', 'b']); // I64, F64, F32 (a, f), F16, U8, BOOL
  const sizes: Record<string, number> = { I64: 8, F64: 8, F32: 4, F16: 2, U8: 1, BOOL: 1 };
  for (const e of Object.values(header)) assert.equal((8 + n + e.data_offsets[0]) % sizes[e.dtype]!, 0);
  dl.dispose(ts);
}));

test('every dtype round-trips bit for bit, with empty and 0-d tensors and metadata', () => noLeaks(async () => {
  const file = path.join(tmp, 'all.safetensors');
  const made = dl.tidy(() => ({
    f32: dl.tensor(new Float32Array([1.5, -0, Infinity, -Infinity, NaN, 3.4e38, 1e-45])),
    f64: dl.tensor(new Float64Array([Math.PI, -1e-300, Number.MAX_VALUE, NaN])).reshape([2, 2]),
    f16: dl.tensor([1, -2.5, 65504, 6e-8, 0.1], { dtype: 'float16' }),
    bf16: dl.tensor([1, -2.5, 3e38, 0.1], { dtype: 'bfloat16' }),
    i64: dl.tensor(new BigInt64Array([-(2n ** 63n), 2n ** 63n - 1n, 0n])),
    i32: dl.tensor(new Int32Array([-2147483648, 2147483647, 7])),
    i16: dl.tensor(new Int16Array([-32768, 32767])),
    i8: dl.tensor(new Int8Array([-128, 127, 0])),
    u8: dl.tensor(new Uint8Array([0, 255, 128])).reshape([3, 1, 1]),
    bool: dl.tensor([[true, false], [false, true]]),
    scalar: dl.tensor(2.75).reshape([]),
    scalarInt: dl.tensor(BigInt64Array.from([42n])).reshape([]),
    empty: dl.zeros([0]),
    empty3d: dl.zeros([2, 0, 3], { dtype: 'int32' }),
    emptyBool: dl.zeros([0, 4], { dtype: 'bool' }),
    strided: dl.arange(0, 12).reshape([3, 4]).t(), // not contiguous: written in row-major order
  }));
  const metadata = { format: 'pt', '0': 'integer-like key', 'ünïcode ✓': 'välue "quoted"\n', empty: '' };
  await dl.saveSafetensors(file, made, metadata);
  const { tensors, metadata: back } = await dl.loadSafetensors(file);
  assert.deepEqual(back, metadata);
  assert.deepEqual(Object.keys(tensors).sort(), Object.keys(made).sort());
  for (const [name, t] of Object.entries(made)) {
    const u = tensors[name]!;
    assert.equal(u.dtype, t.dtype, name);
    assert.deepEqual([...u.shape], [...t.shape], name);
    const a = t.dataSync();
    const b = u.dataSync();
    assert.deepEqual(new Uint8Array(b.buffer, b.byteOffset, b.byteLength), new Uint8Array(a.buffer, a.byteOffset, a.byteLength), name);
  }
  assert.deepEqual(tensors.strided!.toArray(), [[0, 4, 8], [1, 5, 9], [2, 6, 10], [3, 7, 11]]);
  assert.equal(tensors.scalar!.item(), 2.75);
  // The header alone, without reading the data.
  const header = await dl.readSafetensorsHeader(file);
  assert.deepEqual(header.metadata, metadata);
  assert.deepEqual(header.tensors.f64, { dtype: 'float64', shape: [2, 2], dataOffsets: header.tensors.f64!.dataOffsets });
  assert.deepEqual(header.tensors.scalar!.shape, []);
  assert.equal(header.dataStart % 8, 0);
  dl.dispose([made, tensors]);
}));

test('header problems are errors that name the file and say expected vs actual', async () => {
  const cases: [string, Buffer, RegExp][] = [
    ['short', Buffer.from([1, 2, 3]), /too short to be a safetensors file: expected at least 8 bytes, got 3/],
    ['huge-length', Buffer.from([0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0x7b]), /header length field says 4294967295 bytes, more than the format's limit/],
    ['truncated-header', handMade('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}', f32(1)).subarray(0, 30), /truncated header: expected 56 bytes of header after the 8-byte length, got 22/],
    ['not-object', handMade('[1, 2]', Buffer.alloc(0)), /header must be a JSON object starting with '\{', got "\[1, 2\]/],
    ['not-json', handMade('{"a": ', Buffer.alloc(0)), /header is not valid JSON/],
    ['bad-size', handMade('{"w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,20]}}', Buffer.alloc(20)), /'w': shape \[2, 3\] F32 needs 24 bytes, but data_offsets \[0, 20\] cover 20/],
    ['gap', handMade('{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},"b":{"dtype":"U8","shape":[2],"data_offsets":[4,6]}}', Buffer.alloc(6)), /'b': data_offsets \[4, 6\] leave a gap: expected the data to begin at 2/],
    ['overlap', handMade('{"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},"b":{"dtype":"U8","shape":[2],"data_offsets":[2,4]}}', Buffer.alloc(4)), /'b': data_offsets \[2, 4\] overlap those of 'a', which end at 4/],
    ['trailing', handMade('{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}}', Buffer.alloc(5)), /the tensors cover 2 bytes of data, but the file has 5 bytes after the header: expected exactly 2/],
    ['past-end', handMade('{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}', Buffer.alloc(8)), /'a': data_offsets \[0, 16\] end past the data, which is 8 bytes/],
    ['unsupported', handMade('{"a":{"dtype":"U16","shape":[1],"data_offsets":[0,2]}}', Buffer.alloc(2)), /'a': dtype U16 has no dlkit dtype/],
    ['bad-dtype', handMade('{"a":{"dtype":"float","shape":[1],"data_offsets":[0,4]}}', Buffer.alloc(4)), /'a': dtype must be one of F64, F32, .* got 'float'/],
    ['bad-shape', handMade('{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}', Buffer.alloc(4)), /'a': shape must be an array of whole numbers >= 0, got \[-1\]/],
    ['bad-offsets', handMade('{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}}', Buffer.alloc(4)), /'a': data_offsets must be \[begin, end\] with 0 <= begin <= end, got \[4,0\]/],
    ['bad-metadata', handMade('{"__metadata__":{"epochs":5}}', Buffer.alloc(0)), /metadata 'epochs': expected a string, got number 5/],
    ['bad-bool', handMade('{"a":{"dtype":"BOOL","shape":[2],"data_offsets":[0,2]}}', Buffer.from([1, 7])), /'a': BOOL values must be bytes 0 or 1, got 7 at element 1/],
    ['bad-utf8', handMade('{"a":1}', Buffer.alloc(0)).fill(0xff, 9, 10), /header is not valid UTF-8/],
  ];
  await noLeaks(async () => {
    for (const [name, bytes, pattern] of cases) {
      const file = path.join(tmp, `${name}.safetensors`);
      writeFileSync(file, bytes);
      await assert.rejects(dl.loadSafetensors(file), (e: Error) => {
        assert.ok(e instanceof dl.SafetensorsError, name);
        assert.ok(e.message.startsWith(`${file}: `), `${name}: ${e.message}`);
        assert.match(e.message, pattern, name);
        return true;
      });
    }
  });
  // Several problems in one header are reported together.
  const two = handMade('{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]},"b":{"dtype":"I9","shape":[1],"data_offsets":[4,5]}}', Buffer.alloc(5));
  assert.throws(() => dl.decodeSafetensors(two, { file: 'two.safetensors' }), (e: dl.SafetensorsError) => {
    assert.equal(e.problems.length, 2, e.message);
    assert.match(e.message, /^two\.safetensors: 2 problems:\n {2}- 'a': shape \[2\] F32 needs 8 bytes/);
    return true;
  });
  const missing = path.join(tmp, 'missing.safetensors');
  await assert.rejects(dl.loadSafetensors(missing), (e: Error) => e.message.startsWith(`${missing}: cannot read`) && /ENOENT/.test(e.message));
  await assert.rejects(dl.readSafetensorsHeader(missing), (e: Error) => e.message.startsWith(`${missing}: cannot open`));
});

test('expect reports every missing, unexpected, shape and dtype problem at once, before creating tensors', () => noLeaks(async () => {
  const file = path.join(tmp, 'model.safetensors');
  const ts = dl.tidy(() => ({
    'conv.weight': dl.zeros([8, 1, 5, 5]),
    'conv.bias': dl.zeros([8], { dtype: 'float16' }),
    'fc.weight': dl.zeros([10, 32]),
    extra: dl.zeros([1]),
  }));
  await dl.saveSafetensors(file, ts, { arch: 'x' });
  dl.dispose(ts);
  const expect = {
    'conv.weight': { shape: [8, 1, 3, 3], dtype: 'float32' as const },
    'conv.bias': { shape: [8], dtype: 'float32' as const },
    'fc.weight': { shape: [10, 32], dtype: 'float32' as const },
    'fc.bias': { shape: [10], dtype: 'float32' as const },
  };
  const before = dl.memory().liveTensors;
  await assert.rejects(dl.loadSafetensors(file, { expect }), (e: dl.SafetensorsError) => {
    assert.equal(e.file, file);
    assert.deepEqual(e.problems, [
      "'conv.weight': shape expected [8, 1, 3, 3], got [8, 1, 5, 5]",
      "'conv.bias': dtype expected float32, got float16",
      "missing tensor 'fc.bias' (expected [10] float32)",
      "unexpected tensor 'extra' ([1] float32)",
    ]);
    assert.ok(e.message.startsWith(`${file}: 4 problems:`), e.message);
    return true;
  });
  assert.equal(dl.memory().liveTensors, before, 'no tensor was created');
  const clean = await dl.loadSafetensors(file, {
    expect: { 'conv.weight': { shape: [8, 1, 5, 5], dtype: 'float32' }, 'conv.bias': { shape: [8], dtype: 'float16' }, 'fc.weight': { shape: [10, 32], dtype: 'float32' }, extra: { shape: [1], dtype: 'float32' } },
  });
  assert.deepEqual(clean.metadata, { arch: 'x' });
  dl.dispose(clean.tensors);
}));

test('save is atomic: a failure before the rename leaves the old file and no temporary files', () => noLeaks(async () => {
  const dir = path.join(tmp, 'atomic');
  mkdirSync(dir);
  const file = path.join(dir, 'weights.safetensors');
  using a = dl.tensor([1, 2, 3]);
  using b = dl.tensor([4, 5]);
  await dl.saveSafetensors(file, { a });
  const original = readFileSync(file);

  // A failure injected after the temporary file is written and synced.
  let tempSeen = '';
  await assert.rejects(
    dl.saveSafetensors(file, { b }, undefined, { beforeRename: (temp) => { tempSeen = temp; assert.ok(existsSync(temp)); throw new Error('disk on fire'); } }),
    (e: Error) => e.message.startsWith(`${file}: could not save`) && /disk on fire/.test(e.message),
  );
  assert.equal(path.dirname(tempSeen), dir, 'the temporary file is in the same directory');
  assert.deepEqual(readFileSync(file), original);
  assert.deepEqual(readdirSync(dir), ['weights.safetensors']);

  // A real failure: the rename cannot replace a directory.
  const blocked = path.join(dir, 'blocked.safetensors');
  mkdirSync(blocked);
  await assert.rejects(dl.saveSafetensors(blocked, { b }), (e: Error) => e.message.startsWith(`${blocked}: could not save`));
  assert.deepEqual(readdirSync(dir).sort(), ['blocked.safetensors', 'weights.safetensors']);

  // A tensor that cannot be encoded: nothing is written at all.
  const disposed = dl.tensor([1]);
  disposed.dispose();
  await assert.rejects(dl.saveSafetensors(file, { ok: b, bad: disposed }), (e: Error) => e.message === `${file}: 'bad': the tensor was disposed`);
  await assert.rejects(dl.saveSafetensors(file, { b }, { epochs: 5 as unknown as string }), /metadata 'epochs': values must be strings/);
  await assert.rejects(dl.saveSafetensors(file, { __metadata__: b }), /'__metadata__' is reserved/);
  assert.deepEqual(readFileSync(file), original);
  assert.deepEqual(readdirSync(dir).sort(), ['blocked.safetensors', 'weights.safetensors']);

  // A missing directory: an error naming the file, nothing created.
  const nowhere = path.join(dir, 'no', 'such', 'dir', 'w.safetensors');
  await assert.rejects(dl.saveSafetensors(nowhere, { b }), (e: Error) => e.message.startsWith(`${nowhere}: could not save`) && /ENOENT/.test(e.message));

  // A successful save replaces the file in one step.
  await dl.saveSafetensors(file, { b });
  const { tensors } = await dl.loadSafetensors(file);
  assert.deepEqual(Object.keys(tensors), ['b']);
  assert.deepEqual(tensors.b!.toArray(), [4, 5]);
  dl.dispose(tensors);
  assert.deepEqual(readdirSync(dir).sort(), ['blocked.safetensors', 'weights.safetensors']);
}));

test('tensors that need autograd or come from views save their values', () => noLeaks(async () => {
  const w = dl.randn([3, 4]).requiresGrad_();
  const loss = dl.tidy(() => w.mul(2).sum());
  loss.backward();
  const view = dl.tidy(() => w.detach().slice(1, 1, 3));
  const bytes = dl.encodeSafetensors({ w, view });
  const { tensors } = dl.decodeSafetensors(bytes);
  using wd = w.detach();
  assert.ok(tensors.w!.allclose(wd));
  assert.deepEqual([...tensors.view!.shape], [3, 2]);
  assert.equal(tensors.w!.requiresGrad, false);
  dl.dispose([w, loss, view, tensors]);
}));
