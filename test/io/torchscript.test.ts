// TorchScript modules saved by Debian's PyTorch (scripts/make-torchscript-fixtures.py) against
// PyTorch's own outputs and state dicts; predict/classify; files that are not TorchScript;
// native memory of modules and their tensors.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as dl from '../../src/index.js';
import { assertClose, noLeaks } from '../helpers.js';
import { fixtureTensor, loadFixtures } from '../tensor/fixture.js';

interface Encoded { shape: number[]; dtype: string; data: number[] }
interface ModuleFixture {
  file: string;
  input: Encoded;
  output: Encoded | Encoded[] | Record<string, Encoded>;
  normalizedOutput?: Encoded;
  stateDict: Record<string, Encoded>;
  parameters: string[];
}
const fixtures = loadFixtures('torchscript/expected.json') as unknown as { classes: string[]; modules: Record<string, ModuleFixture> };
const dir = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../../../fixtures/torchscript');
const fileOf = (name: string) => path.join(dir, fixtures.modules[name]!.file);
const input = (name: string) => fixtureTensor(fixtures.modules[name]!.input as never);
const asTensor = (v: dl.TorchScriptOutput): dl.Tensor => { assert.ok(v instanceof dl.Tensor, 'expected one tensor'); return v; };

const tmp = mkdtempSync(path.join(os.tmpdir(), 'dlkit-ts-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** Live tensors and live native modules both back to where they started. */
async function noModuleLeaks(fn: () => Promise<void>): Promise<void> {
  const before = dl.liveTorchScriptModules();
  await noLeaks(fn);
  assert.equal(dl.liveTorchScriptModules(), before, 'live TorchScript modules');
}

/** A zip archive with stored (uncompressed) entries, per APPNOTE.TXT: local headers, central directory, end record. */
function zipOf(entries: Record<string, string>): Buffer {
  const locals: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const [name, text] of Object.entries(entries)) {
    const n = Buffer.from(name);
    const data = Buffer.from(text);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(n.length, 26);
    const cd = Buffer.alloc(46);
    cd.writeUInt32LE(0x02014b50, 0);
    cd.writeUInt32LE(data.length, 20);
    cd.writeUInt32LE(data.length, 24);
    cd.writeUInt16LE(n.length, 28);
    cd.writeUInt32LE(offset, 42);
    locals.push(local, n, data);
    central.push(cd, n);
    offset += 30 + n.length + data.length;
  }
  const cdBytes = Buffer.concat(central);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(Object.keys(entries).length, 8);
  end.writeUInt16LE(Object.keys(entries).length, 10);
  end.writeUInt32LE(cdBytes.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cdBytes, end]);
}

test('scripted (with control flow) and traced modules give PyTorch\'s outputs', () => noModuleLeaks(async () => {
  for (const name of ['scripted', 'traced']) {
    const m = await dl.loadTorchScript(fileOf(name));
    dl.tidy(() => {
      const out = asTensor(m.forward(input(name)));
      const want = fixtures.modules[name]!.output as Encoded;
      assertClose(out, want.data, { shape: want.shape, atol: 1e-5, rtol: 1e-5 });
    });
    assert.equal(m.isTraining, false, `${name}: loaded in eval mode`);
    m.dispose();
  }
}));

test('a tuple output comes back as an array, a dict output as an object', () => noModuleLeaks(async () => {
  const t = await dl.loadTorchScript(fileOf('tuple'));
  const d = await dl.loadTorchScript(fileOf('dict'));
  dl.tidy(() => {
    const out = t.forward(input('tuple'));
    assert.ok(Array.isArray(out) && out.length === 2);
    (fixtures.modules.tuple!.output as Encoded[]).forEach((want, i) => assertClose(asTensor(out[i]!), want.data, { shape: want.shape }));
    const dict = d.forward(input('dict')) as Record<string, dl.TorchScriptOutput>;
    const want = fixtures.modules.dict!.output as Record<string, Encoded>;
    assert.deepEqual(Object.keys(dict), Object.keys(want));
    for (const [k, w] of Object.entries(want)) assertClose(asTensor(dict[k]!), w.data, { shape: w.shape });
  });
  t.dispose();
  d.dispose();
}));

test('stateDict: PyTorch\'s names in its order, its values, buffers included; parameterNames', () => noModuleLeaks(async () => {
  for (const name of ['scripted', 'traced', 'tuple']) {
    const m = await dl.loadTorchScript(fileOf(name));
    const sd = m.stateDict();
    const want = fixtures.modules[name]!.stateDict;
    assert.deepEqual(Object.keys(sd), Object.keys(want), `${name}: names`);
    for (const [k, w] of Object.entries(want)) {
      assert.equal(sd[k]!.dtype, w.dtype, `${name} ${k}: dtype`);
      assertClose(sd[k]!, w.dtype === 'float32' ? Float32Array.from(w.data) : w.data, { shape: w.shape, atol: 0, rtol: 0 });
    }
    assert.deepEqual(m.parameterNames, fixtures.modules[name]!.parameters);
    m.dispose();
    // The tensors share the module's storage but outlive it.
    if (name === 'traced') assert.ok(Object.keys(sd).includes('bn.running_var') && sd['bn.running_var']!.shape[0] === 6);
    dl.dispose(sd);
  }
}));

test('predict and classify: the file\'s dlkit.json normalization and input size, classes.json labels, batches of a datastore', () => noModuleLeaks(async () => {
  const m = await dl.loadTorchScript(fileOf('scripted'));
  assert.deepEqual(m.classes, fixtures.classes);
  assert.deepEqual(m.inputSize, [1, 8, 8]);
  assert.equal(m.normalization, 'zscore');
  const want = fixtures.modules.scripted!.normalizedOutput!;
  const x = input('scripted');
  const out = await m.predict(x);
  assertClose(out, want.data, { shape: want.shape });
  out.dispose();
  // Three observations in batches of two: the batch loop concatenates.
  const store = dl.tensorDatastore(x, null);
  const result = await m.classify(store, { miniBatchSize: 2 });
  const [n, k] = want.shape as [number, number];
  const expected = Array.from({ length: n }, (_, r) => {
    const row = want.data.slice(r * k, (r + 1) * k);
    return fixtures.classes[row.indexOf(Math.max(...row))]!;
  });
  assert.deepEqual(result.labels, expected);
  assert.deepEqual([...result.scores.shape], [n, k]);
  const sums = dl.tidy(() => result.scores.sum(1).toArray() as number[]);
  sums.forEach((s) => assert.ok(Math.abs(s - 1) < 1e-5, `softmax rows sum to 1, got ${s}`));
  result.scores.dispose();
  x.dispose();
  m.dispose();
}));

test('options override the file\'s extra files; output and probabilities pick what classify uses', () => noModuleLeaks(async () => {
  const m = await dl.loadTorchScript(fileOf('scripted'), { classes: ['a', 'b', 'c', 'd'], normalization: 'none' });
  assert.deepEqual(m.classes, ['a', 'b', 'c', 'd']);
  const x = input('scripted');
  const out = await m.predict(x);
  const raw = fixtures.modules.scripted!.output as Encoded;
  assertClose(out, raw.data, { shape: raw.shape });
  dl.dispose([out, x]);
  m.dispose();

  const d = await dl.loadTorchScript(fileOf('dict'), { output: 'probs', probabilities: true, classes: ['w', 'x', 'y', 'z'] });
  const xd = input('dict');
  const { scores, labels } = await d.classify(xd);
  const probs = (fixtures.modules.dict!.output as Record<string, Encoded>).probs!;
  assertClose(scores, probs.data, { shape: probs.shape });
  assert.equal(labels.length, 4);
  scores.dispose();
  // A tuple module: the first element by default, `output: 1` the second.
  const t = await dl.loadTorchScript(fileOf('tuple'), { output: 1 });
  const xt = input('tuple');
  const feats = await t.predict(xt);
  const want = (fixtures.modules.tuple!.output as Encoded[])[1]!;
  assertClose(feats, want.data, { shape: want.shape });
  dl.dispose([feats, xt, xd]);
  const bad = await dl.loadTorchScript(fileOf('dict'), { output: 'nope' });
  const xb = input('dict');
  await assert.rejects(bad.predict(xb), /forward returned a dict with keys 'logits', 'probs'; option 'output' = "nope" does not pick a tensor/);
  dl.dispose(xb);
  for (const mod of [d, t, bad]) mod.dispose();
}));

test('a wrong input shape gives a short error with the given and expected shapes', () => noModuleLeaks(async () => {
  const m = await dl.loadTorchScript(fileOf('scripted'));
  const wrong = dl.zeros([2, 3, 8, 8]);
  // forward: libtorch's own line, without the TorchScript traceback.
  assert.throws(() => m.forward(wrong), (err: Error) => {
    assert.ok(err instanceof dl.TorchScriptError);
    assert.match(err.message, /scripted\.pt: forward failed on input \[2, 3, 8, 8\] float32; the module expects \[N, 1, 8, 8\]: Given groups=1, weight of size \[4, 1, 3, 3\], expected input\[2, 3, 8, 8\] to have 1 channels, but got 3 channels instead$/);
    assert.doesNotMatch(err.message, /Traceback/);
    return true;
  });
  // predict checks the declared input size before running.
  await assert.rejects(m.predict(wrong), /scripted\.pt: expected input of shape \[N, 1, 8, 8\], got \[2, 3, 8, 8\]/);
  // Without an input size, only libtorch's message: the traced module wants 3 channels.
  const t = await dl.loadTorchScript(fileOf('traced'));
  const oneChannel = dl.zeros([1, 1, 10, 10]);
  assert.throws(() => t.forward(oneChannel), /traced\.pt: forward failed on input \[1, 1, 10, 10\] float32: .*expected input\[1, 1, 10, 10\] to have 3 channels, but got 1 channels instead/);
  dl.dispose([wrong, oneChannel]);
  m.dispose();
  t.dispose();
}));

test('other methods: run by name; a result that is not tensors is refused by type; an unknown method', () => noModuleLeaks(async () => {
  const t = await dl.loadTorchScript(fileOf('tuple'));
  assert.deepEqual(t.methods.sort(), ['batch_size', 'forward']);
  assert.match(t.schemas.batch_size!, /batch_size\(.* self, Tensor x\) -> int/);
  const x = input('tuple');
  assert.throws(() => t.run('batch_size', [x]), /tuple\.pt: batch_size failed on input \[4, 5\] float32: batch_size returned a value of type int; dlkit takes a Tensor, or tuples, lists and Dict\[str, \.\.\.\] of tensors/);
  assert.throws(() => t.run('nothing', [x]), /tuple\.pt: has no method 'nothing'; its methods: /);
  assert.throws(() => t.forward([]), /forward failed on input \(none\): forward\(\) is missing value for argument 'x'/);
  x.dispose();
  t.dispose();
}));

test('files that are not TorchScript: refused with what they are, before libtorch reads them', async () => {
  const bytes = readFileSync(fileOf('scripted'));
  const truncated = path.join(tmp, 'truncated.pt');
  writeFileSync(truncated, bytes.subarray(0, Math.floor(bytes.length / 2)));
  const random = path.join(tmp, 'random.pt');
  let seed = 7;
  writeFileSync(random, Buffer.from(Array.from({ length: 4096 }, () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) & 0xff)));
  const otherZip = path.join(tmp, 'other.zip');
  writeFileSync(otherZip, zipOf({ 'readme.txt': 'hello', 'data/values.csv': '1,2,3' }));
  const checkpoint = path.join(dir, 'checkpoint.pt');
  const folder = path.join(tmp, 'a-folder');
  mkdirSync(folder);
  const cases: [string, RegExp][] = [
    [truncated, /truncated\.pt: is not a TorchScript module: no end-of-central-directory record: the file is truncated or not a zip archive; expected a TorchScript module saved by torch\.jit\.save/],
    [random, /random\.pt: is not a TorchScript module: .*not a zip archive/],
    [otherZip, /other\.zip: is a zip archive but not a TorchScript module: it holds readme\.txt, data\/values\.csv; expected a TorchScript module/],
    [checkpoint, /checkpoint\.pt: is a PyTorch checkpoint written by torch\.save \(data\.pkl and tensors, no code\/\), not a TorchScript module/],
    [path.join(tmp, 'missing.pt'), /missing\.pt: no such file/],
    [folder, /a-folder: (not a file|cannot read)/],
  ];
  await noModuleLeaks(async () => {
    for (const [file, message] of cases) await assert.rejects(dl.loadTorchScript(file), (err: Error) => err instanceof dl.TorchScriptError && message.test(err.message), file);
  });
  assert.equal(dl.isTorchScriptFile(fileOf('scripted')), true);
  assert.equal(dl.isTorchScriptFile(fileOf('traced')), true);
  for (const f of [truncated, random, otherZip, checkpoint]) assert.equal(dl.isTorchScriptFile(f), false, f);
  assert.equal(dl.inspectTorchFile(checkpoint).kind, 'checkpoint');
  assert.equal(dl.inspectTorchFile(otherZip).kind, 'zip');
  assert.deepEqual(dl.inspectTorchFile(fileOf('scripted')).extraFiles.sort(), ['classes.json', 'dlkit.json']);
  assert.throws(() => dl.isTorchScriptFile(path.join(tmp, 'missing.pt')), /no such file/);
  // A legacy (pre-1.6) torch.save file starts with a pickled magic number.
  const legacy = Buffer.from([0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e]);
  assert.equal(dl.inspectTorchBytes(legacy).kind, 'legacy-checkpoint');
  assert.throws(() => dl.decodeTorchScript(legacy, { file: 'old.pt' }), /old\.pt: is a PyTorch checkpoint in the format torch\.save wrote before PyTorch 1\.6/);
});

test('a TorchScript archive damaged inside gives libtorch\'s error as a clean one', () => noModuleLeaks(async () => {
  const bytes = Buffer.from(readFileSync(fileOf('scripted')));
  // Overwrite the start of the module's (deflated) source, code/__torch__.py, in its local
  // entry; the central directory stays intact, so only libtorch can find the damage.
  const name = 'scripted/code/__torch__.py';
  const header = bytes.indexOf(name) - 30;
  assert.equal(bytes.readUInt32LE(header), 0x04034b50, 'a local file header');
  const data = header + 30 + name.length + bytes.readUInt16LE(header + 28);
  bytes.fill(0x21, data, data + 40);
  const file = path.join(tmp, 'damaged.pt');
  writeFileSync(file, bytes);
  assert.equal(dl.isTorchScriptFile(file), true);
  await assert.rejects(dl.loadTorchScript(file), /damaged\.pt: libtorch could not load the TorchScript module: \S/);
}));

test('bad options are named', async () => {
  const before = dl.liveTorchScriptModules();
  await assert.rejects(dl.loadTorchScript(fileOf('scripted'), { clases: ['a'] } as never), /unknown option 'clases'; expected classes, inputSize/);
  await assert.rejects(dl.loadTorchScript(fileOf('dict'), { normalization: 'zscore' }), /dict\.pt: 2 problems:\n {2}- normalization 'zscore' needs 'mean'.*\n {2}- normalization 'zscore' needs 'std'/);
  await assert.rejects(dl.loadTorchScript(fileOf('dict'), { inputSize: [5, 0] }), /option 'inputSize' must be one observation's shape, positive integers such as \[3, 224, 224\], got \[5,0\]/);
  const m = await dl.loadTorchScript(fileOf('dict'), { classes: ['a', 'b'] });
  const x = input('dict');
  await assert.rejects(m.classify(x), /dict\.pt: classify: 2 class names for outputs of shape \[4, 4\]; expected \[N, 2\]/);
  x.dispose();
  m.dispose();
  assert.equal(dl.liveTorchScriptModules(), before, 'a module refused after loading is freed');
});

test('loading from bytes gives the same module; two loads are independent; dispose frees, Symbol.dispose too', () => noModuleLeaks(async () => {
  const before = dl.liveTorchScriptModules();
  const a = await dl.loadTorchScript(fileOf('traced'));
  const b = dl.decodeTorchScript(readFileSync(fileOf('traced')), { file: 'traced (bytes)' });
  assert.equal(dl.liveTorchScriptModules(), before + 2);
  const x = input('traced');
  const want = fixtures.modules.traced!.output as Encoded;
  a.dispose();
  assert.equal(a.isDisposed, true);
  assert.throws(() => a.forward(x), /traced\.pt: this TorchScript module was disposed/);
  await assert.rejects(a.predict(x), /this TorchScript module was disposed/);
  a.dispose();  // twice is fine
  dl.tidy(() => assertClose(asTensor(b.forward(x)), want.data, { shape: want.shape }));
  assert.match(String(b), /^TorchScriptModule\(traced \(bytes\): \d+ parameters, methods forward\)$/);
  b[Symbol.dispose]();
  assert.equal(dl.liveTorchScriptModules(), before);
  x.dispose();
}));

test('outputs are ordinary dlkit tensors: a tidy scope frees them', () => noModuleLeaks(async () => {
  const m = await dl.loadTorchScript(fileOf('tuple'));
  const x = input('tuple');
  const start = dl.memory().liveTensors;
  const kept = dl.tidy(() => {
    const [logits] = m.forward(x) as dl.Tensor[];
    return logits!;
  });
  assert.equal(dl.memory().liveTensors, start + 1, 'the other output was freed with the scope');
  dl.dispose([kept, x]);
  m.dispose();
}));

test('random byte changes in a real module file: every load ends in a clean error or a working module', () => noModuleLeaks(async () => {
  const original = readFileSync(fileOf('traced'));
  let seed = 12345;
  const next = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff);
  const x = dl.zeros([1, 3, 10, 10]);
  let loaded = 0;
  let refused = 0;
  for (let i = 0; i < 120; i++) {
    const bytes = Buffer.from(original);
    for (let j = 0; j < 1 + (i % 4); j++) bytes[next() % bytes.length] = next() & 0xff;
    let m: dl.TorchScriptModule | undefined;
    try {
      m = dl.decodeTorchScript(bytes, { file: `mutant ${i}` });
      loaded++;
    } catch (err) {
      assert.ok(err instanceof dl.TorchScriptError, `mutant ${i}: ${(err as Error).message}`);
      assert.match(err.message, new RegExp(`^mutant ${i}: (is not a TorchScript module|is a zip archive|libtorch could not load)`));
      refused++;
      continue;
    }
    // A module that loads may still fail when run (a changed weight is fine, a changed op's argument is not).
    try { dl.tidy(() => { m!.forward(x); }); } catch (err) { assert.ok(err instanceof dl.TorchScriptError, `mutant ${i} forward: ${(err as Error).message}`); }
    m.dispose();
  }
  x.dispose();
  assert.ok(refused > 0 && loaded > 0, `both outcomes happen (loaded ${loaded}, refused ${refused})`);
}));

test('the garbage collector frees a module nobody disposed (backstop)', async () => {
  const gc = (globalThis as { gc?: () => void }).gc;
  assert.ok(gc, 'run with --expose-gc (scripts/run-tests.mjs does)');
  const bytes = readFileSync(fileOf('dict'));
  const before = dl.liveTorchScriptModules();
  (() => { for (let i = 0; i < 5; i++) dl.decodeTorchScript(bytes); })();
  assert.equal(dl.liveTorchScriptModules(), before + 5);
  for (let i = 0; i < 10 && dl.liveTorchScriptModules() > before; i++) {
    gc();
    await new Promise((r) => setTimeout(r, 10)); // finalizers run when the event loop turns
  }
  assert.equal(dl.liveTorchScriptModules(), before);
});
