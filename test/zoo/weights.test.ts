// The pretrained zoo's weights: catalog, cache, downloader and pretrained(). A local HTTP server
// (127.0.0.1, port 0) serves real weight files: the published CIFAR ResNet .th files in
// ../shared/data/pretrained (those cases skip when it is absent) and a torchvision-format file
// (zip torch.save of a bare state dict) with seeded weights written by Debian's PyTorch
// (scripts/make-zoo-weights-fixtures.py, which also records PyTorch's logits). The catalog's URLs
// are pointed at the server with the `baseUrl` option; nothing here reaches outside the machine.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as dl from '../../src/index.js';
import { noLeaks, assertClose } from '../helpers.js';
import { SHARED_DATA } from '../support/shared-data.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const FIXTURE_DIR = path.join(ROOT, 'fixtures', 'zoo');
const fixture = JSON.parse(readFileSync(path.join(FIXTURE_DIR, 'weights.json'), 'utf8'));
const SEEDED = path.join(FIXTURE_DIR, fixture.file);
const PRETRAINED = path.join(SHARED_DATA, 'pretrained', 'resnet-cifar10');
const hasShared = existsSync(path.join(PRETRAINED, 'resnet20-12fca82f.th'));
const skipShared = hasShared ? false : `the published CIFAR ResNet files are not under ${PRETRAINED}: skipped`;

/** A catalog entry of the test's own for the seeded file (the catalog itself is never edited). */
const seededEntry: dl.ZooEntry = {
  name: 'resnet20-seeded', architecture: fixture.architecture, description: 'seeded test weights', format: 'checkpoint',
  weights: { file: fixture.file, url: `https://download.pytorch.org/models/${fixture.file}`, size: fixture.size, sha256: fixture.sha256, checks: 'scripts/make-zoo-weights-fixtures.py' },
  license: 'test', source: 'scripts/make-zoo-weights-fixtures.py',
};

// ---- the server ----------------------------------------------------------------------------
interface Seen { method: string; url: string; range: string | undefined }
const seen: Seen[] = [];
const served = new Map<string, string>(); // file name -> path on disk
/** How the server misbehaves for the current test. */
const mode = { ignoreRange: false, corrupt: false, status: 0, dropAfter: 0, stall: false };
let server: http.Server;
let base = '';
const home = mkdtempSync(path.join(os.tmpdir(), 'dlkit-weights-'));
let homeCount = 0;
/** A fresh $DLKIT_HOME for each case. */
const freshHome = () => path.join(home, `h${++homeCount}`);

before(async () => {
  served.set(fixture.file, SEEDED);
  if (hasShared) for (const f of ['resnet20-12fca82f.th', 'resnet32-d509ac18.th']) served.set(f, path.join(PRETRAINED, f));
  server = http.createServer((req, res) => {
    seen.push({ method: req.method!, url: req.url!, range: req.headers.range });
    const url = new URL(req.url!, 'http://x');
    // GitHub's raw URLs answer with a redirect to the file's content host.
    if (url.pathname.startsWith('/raw/')) { res.writeHead(302, { Location: `/files/${url.pathname.slice(5)}` }); res.end(); return; }
    if (mode.status) { res.writeHead(mode.status, { 'Content-Type': 'text/plain' }); res.end(`status ${mode.status}`); return; }
    const name = decodeURIComponent(url.pathname.replace(/^\/files\//, ''));
    const file = served.get(name);
    if (!url.pathname.startsWith('/files/') || !file) { res.writeHead(404); res.end('not found'); return; }
    let body = readFileSync(file);
    if (mode.corrupt) { body = Buffer.from(body); body[body.length >> 1] ^= 0xff; }
    if (mode.stall) { res.writeHead(200, { 'Content-Length': body.length }); res.write(body.subarray(0, 1000)); return; }
    const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    let status = 200;
    const headers: http.OutgoingHttpHeaders = { 'Content-Type': 'application/octet-stream', 'Accept-Ranges': 'bytes' };
    if (m && !mode.ignoreRange) {
      const start = Number(m[1]);
      if (start >= body.length) { res.writeHead(416, { 'Content-Range': `bytes */${body.length}` }); res.end(); return; }
      headers['Content-Range'] = `bytes ${start}-${body.length - 1}/${body.length}`;
      body = body.subarray(start);
      status = 206;
    }
    headers['Content-Length'] = body.length;
    res.writeHead(status, headers);
    if (mode.dropAfter) { res.write(body.subarray(0, mode.dropAfter), () => res.destroy()); return; }
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  rmSync(home, { recursive: true, force: true });
});

function reset(): void {
  seen.length = 0;
  Object.assign(mode, { ignoreRange: false, corrupt: false, status: 0, dropAfter: 0, stall: false });
}

const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

/** The fixture's images, 0-255 as the image input takes them. */
function fixtureImages(): dl.Tensor {
  const shape = fixture.input.shape as number[];
  const n = shape.reduce((a, b) => a * b, 1);
  return dl.tensor(Float32Array.from({ length: n }, (_, i) => 127.5 + 127.5 * Math.sin(0.01 * i)), { shape });
}

/** The network's logits on the fixture images. */
function logits(net: dl.Network): Float32Array {
  return dl.tidy(() => net.infer(fixtureImages()).dataSync() as Float32Array);
}

/** The architecture with `file` loaded directly (no zoo): what pretrained() must equal. */
async function loadedDirectly(arch: string, file: string, stripPrefix?: string): Promise<Float32Array> {
  const net = dl.architecture(arch);
  try {
    const sd = await dl.loadStateDict(file);
    try { net.loadStateDict(sd, { stripPrefix }); } finally { Object.values(sd).forEach((t) => t.dispose()); }
    return logits(net);
  } finally {
    net.dispose();
  }
}

// ---- the catalog ---------------------------------------------------------------------------
test('catalog: every issue model, official URLs, checksums that fit the file names, known names listed for an unknown one', () => {
  const names = Object.keys(dl.ZOO);
  for (const n of ['alexnet', 'vgg16', 'vgg19', 'resnet18', 'resnet50', 'googlenet', 'squeezenet1_0', 'squeezenet1_1', 'mobilenet_v2', 'bvlc-alexnet',
    'resnet20-cifar10', 'resnet32-cifar10', 'resnet44-cifar10', 'resnet56-cifar10']) assert.ok(names.includes(n), `catalog has '${n}'`);
  for (const e of Object.values(dl.ZOO)) {
    const w = e.weights;
    assert.equal(path.basename(new URL(w.url).pathname), w.file, `${e.name}: the URL ends in the file name`);
    assert.ok(w.sha256 || w.sha256Prefix || w.sha1, `${e.name}: some checksum`);
    if (w.sha256) assert.match(w.sha256, /^[0-9a-f]{64}$/);
    if (w.sha1) assert.match(w.sha1, /^[0-9a-f]{40}$/);
    // torch-hub names carry the SHA-256's first digits: the full hash or the prefix must agree.
    const hub = /-([0-9a-f]{8,})\.(pth|th)$/.exec(w.file)?.[1];
    if (hub) assert.ok((w.sha256 ?? w.sha256Prefix!).startsWith(hub), `${e.name}: checksum starts with the name's ${hub}`);
    assert.ok(w.size !== null || w.sizeMiB !== undefined || w.sha1, `${e.name}: a size, or the published SHA-1 alone`);
    if (e.format === 'caffe') assert.match(w.file, /\.caffemodel$/);
    assert.ok(e.license && e.source && w.checks, `${e.name}: license, source and where the numbers come from`);
  }
  assert.match(new URL(dl.ZOO['resnet18']!.weights.url).host, /^download\.pytorch\.org$/);
  assert.match(dl.ZOO['resnet20-cifar10']!.weights.url, /^https:\/\/github\.com\/akamaster\/pytorch_resnet_cifar10\/raw\/master\/pretrained_models\//);
  assert.match(new URL(dl.ZOO['bvlc-alexnet']!.weights.url).host, /^dl\.caffe\.berkeleyvision\.org$/);
  assert.deepEqual(dl.ZOO['googlenet']!.dropPrefixes, ['aux1.', 'aux2.']);
  assert.equal(dl.ZOO['resnet56-cifar10']!.stripPrefix, 'module.');
  assert.throws(() => dl.zooEntry('resnet19'), (err: Error) => {
    assert.match(err.message, /^unknown zoo model 'resnet19'; known: /);
    for (const n of names) assert.ok(err.message.includes(n), `lists '${n}'`);
    return true;
  });
  return dl.pretrained('nope', { home: freshHome() }).then(() => assert.fail('resolved'), (err: Error) => assert.match(err.message, /unknown zoo model 'nope'; known: alexnet, /));
});

test('catalog: the CIFAR ResNet sizes and SHA-256s are those of the published files', { skip: skipShared }, () => {
  for (const name of ['resnet20-cifar10', 'resnet32-cifar10']) {
    const w = dl.ZOO[name]!.weights;
    const file = path.join(PRETRAINED, w.file);
    assert.equal(statSync(file).size, w.size, `${name}: size`);
    assert.equal(sha256(file), w.sha256, `${name}: SHA-256`);
  }
});

test('cache: $DLKIT_HOME, else ~/.cache/dlkit; weights/<file>; bare file names only', () => {
  const saved = process.env.DLKIT_HOME;
  try {
    process.env.DLKIT_HOME = '/tmp/dlk-home';
    assert.equal(dl.dlkitHome(), '/tmp/dlk-home');
    assert.equal(dl.cachedWeightsPath('a.pth'), '/tmp/dlk-home/weights/a.pth');
    assert.equal(dl.dlkitHome('/other'), '/other', 'the option wins');
    delete process.env.DLKIT_HOME;
    assert.equal(dl.dlkitHome(), path.join(os.homedir(), '.cache', 'dlkit'));
    assert.throws(() => dl.cachedWeightsPath('../x.pth', '/h'), /weight file name must be a bare file name, got '\.\.\/x\.pth'/);
  } finally {
    if (saved === undefined) delete process.env.DLKIT_HOME; else process.env.DLKIT_HOME = saved;
  }
});

// ---- downloads -----------------------------------------------------------------------------
test('torchvision-format file: fresh download with progress, loads as PyTorch computes; the cached second call makes no request', () => noLeaks(async () => {
  reset();
  const h = freshHome();
  const progress: [number, number | null][] = [];
  const net = await dl.pretrained(seededEntry, { home: h, baseUrl: `${base}/files`, onProgress: (b, t) => progress.push([b, t]) });
  try {
    assert.deepEqual(seen.map((s) => [s.url, s.range]), [[`/files/${fixture.file}`, undefined]], 'one plain GET');
    const cached = dl.cachedWeightsPath(fixture.file, h);
    assert.equal(sha256(cached), fixture.sha256, 'the cached file is the served one');
    assert.ok(!existsSync(`${cached}.part`), 'no .part left');
    assert.ok(progress.length >= 2, 'progress reported');
    assert.deepEqual(progress.at(-1), [fixture.size, fixture.size], 'progress ends at the size');
    assert.ok(progress.every(([b], i) => i === 0 || b >= progress[i - 1]![0]), 'progress never goes back');
    const got = logits(net);
    // PyTorch 1.13 on the same file and images; float32 sums in another order.
    assertClose(got, (fixture.logits as number[][]).flat(), { atol: 1e-4, rtol: 1e-4 });
    assert.deepEqual(Array.from(got), Array.from(await loadedDirectly(fixture.architecture, SEEDED)), 'identical to loading the file directly');
    assert.deepEqual(net.classes, ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'], 'classes from the architecture');
  } finally {
    net.dispose();
  }
  reset();
  const again = await dl.zooGet(seededEntry, { home: h, baseUrl: `${base}/files` });
  assert.equal(again.downloaded, false);
  assert.equal(seen.length, 0, 'no request for a cached file');
  const net2 = await dl.pretrained(seededEntry, { home: h, baseUrl: `${base}/files` });
  net2.dispose();
  assert.equal(seen.length, 0, 'pretrained() on a cached file makes no request either');
}));

test('the published CIFAR ResNets through their catalog entries: GitHub-style redirect, module. stripped, same predictions as loading directly; zooList says cached', { skip: skipShared }, () => noLeaks(async () => {
  const h = freshHome();
  const before = dl.zooList({ home: h });
  assert.deepEqual(before.map((e) => e.name), Object.keys(dl.ZOO));
  assert.ok(before.every((e) => !e.cached), 'nothing cached in a fresh home');
  for (const name of ['resnet20-cifar10', 'resnet32-cifar10']) {
    reset();
    const entry = dl.ZOO[name]!;
    const net = await dl.pretrained(name, { home: h, baseUrl: `${base}/raw` });
    try {
      assert.deepEqual(seen.map((s) => s.url), [`/raw/${entry.weights.file}`, `/files/${entry.weights.file}`], `${name}: the redirect was followed`);
      assert.deepEqual(Array.from(logits(net)), Array.from(await loadedDirectly(entry.architecture, path.join(PRETRAINED, entry.weights.file), 'module.')));
    } finally {
      net.dispose();
    }
  }
  const listed = dl.zooList({ home: h });
  const r20 = listed.find((e) => e.name === 'resnet20-cifar10')!;
  assert.deepEqual({ cached: r20.cached, size: r20.size, license: r20.license, path: r20.path },
    { cached: true, size: 1099231, license: 'BSD-2-Clause', path: path.join(h, 'weights', 'resnet20-12fca82f.th') });
  assert.equal(listed.find((e) => e.name === 'resnet18')!.cached, false);
  assert.equal(listed.find((e) => e.name === 'resnet18')!.sizeMiB, 44.661);
}));

test('resume: a half-written .part is continued with a Range request and the result verifies', () => noLeaks(async () => {
  reset();
  const h = freshHome();
  const target = dl.cachedWeightsPath(fixture.file, h);
  mkdirSync(path.dirname(target), { recursive: true });
  const half = Math.floor(fixture.size / 2);
  writeFileSync(`${target}.part`, readFileSync(SEEDED).subarray(0, half));
  const progress: number[] = [];
  const r = await dl.zooGet(seededEntry, { home: h, baseUrl: `${base}/files`, onProgress: (b) => progress.push(b) });
  assert.deepEqual(seen.map((s) => s.range), [`bytes=${half}-`], 'the server saw a Range header for the rest');
  assert.equal(r.downloaded, true);
  assert.equal(r.download!.resumedFrom, half);
  assert.equal(progress[0], half, 'progress starts at the kept bytes');
  assert.equal(sha256(target), fixture.sha256);
  assert.ok(!existsSync(`${target}.part`));
}));

test('resume after a dropped connection: the error keeps the .part, the next call finishes it', () => noLeaks(async () => {
  reset();
  const h = freshHome();
  const target = dl.cachedWeightsPath(fixture.file, h);
  mode.dropAfter = 400_000;
  await assert.rejects(dl.zooGet(seededEntry, { home: h, baseUrl: `${base}/files` }), (err: dl.DownloadError) => {
    assert.equal(err.code, 'network');
    assert.ok(err.message.includes(`put it at ${target}`), err.message);
    return true;
  });
  const kept = statSync(`${target}.part`).size;
  assert.ok(kept > 0 && kept < fixture.size, `a partial .part is kept (${kept} bytes)`);
  assert.ok(!existsSync(target));
  reset();
  const r = await dl.zooGet(seededEntry, { home: h, baseUrl: `${base}/files` });
  assert.deepEqual(seen.map((s) => s.range), [`bytes=${kept}-`]);
  assert.equal(r.download!.resumedFrom, kept);
  assert.equal(sha256(target), fixture.sha256);
}));

test('a server that ignores Range (200 instead of 206): the .part starts over and the result verifies', () => noLeaks(async () => {
  reset();
  mode.ignoreRange = true;
  const h = freshHome();
  const target = dl.cachedWeightsPath(fixture.file, h);
  mkdirSync(path.dirname(target), { recursive: true });
  // Bytes that are not the file's start: kept, they would corrupt the result.
  writeFileSync(`${target}.part`, Buffer.alloc(5000, 7));
  const r = await dl.zooGet(seededEntry, { home: h, baseUrl: `${base}/files` });
  assert.deepEqual(seen.map((s) => s.range), ['bytes=5000-'], 'Range was asked for');
  assert.equal(r.download!.resumedFrom, 0, 'nothing kept');
  assert.equal(sha256(target), fixture.sha256);
}));

test('a corrupt download (one byte changed) and a wrong checksum in the entry: deleted, the error names file, expected and actual', () => noLeaks(async () => {
  reset();
  mode.corrupt = true;
  const h = freshHome();
  const target = dl.cachedWeightsPath(fixture.file, h);
  const body = Buffer.from(readFileSync(SEEDED));
  body[body.length >> 1] ^= 0xff;
  const corruptHash = createHash('sha256').update(body).digest('hex');
  await assert.rejects(dl.pretrained(seededEntry, { home: h, baseUrl: `${base}/files` }), (err: dl.DownloadError) => {
    assert.equal(err.code, 'checksum');
    assert.equal(err.message, `${target}: SHA256 mismatch: expected ${fixture.sha256}, got ${corruptHash}`);
    return true;
  });
  assert.ok(!existsSync(target) && !existsSync(`${target}.part`), 'nothing left behind');

  reset();
  const wrong = `${fixture.sha256.slice(0, 60)}0000`;
  const entry: dl.ZooEntry = { ...seededEntry, weights: { ...seededEntry.weights, sha256: wrong } };
  await assert.rejects(dl.zooGet(entry, { home: h, baseUrl: `${base}/files` }), (err: dl.DownloadError) => {
    assert.equal(err.code, 'checksum');
    assert.equal(err.message, `${target}: SHA256 mismatch: expected ${wrong}, got ${fixture.sha256}`);
    return true;
  });
  assert.ok(!existsSync(target) && !existsSync(`${target}.part`));

  // A prefix (torch-hub style) and a size in MiB are checked the same way.
  const prefixEntry: dl.ZooEntry = { ...seededEntry, weights: { ...seededEntry.weights, sha256: undefined, sha256Prefix: 'deadbeef', size: null, sizeMiB: Math.round(fixture.size / 1048576 * 1000) / 1000 } };
  await assert.rejects(dl.zooGet(prefixEntry, { home: h, baseUrl: `${base}/files` }), /SHA256 mismatch: expected deadbeef… \(prefix\), got c6cc/);
  const sizeEntry: dl.ZooEntry = { ...seededEntry, weights: { ...seededEntry.weights, size: fixture.size + 1 } };
  await assert.rejects(dl.zooGet(sizeEntry, { home: h, baseUrl: `${base}/files` }), (err: dl.DownloadError) => {
    assert.equal(err.code, 'size');
    assert.ok(err.message.startsWith(`${target}: expected ${fixture.size + 1} bytes, ${base}/files/${fixture.file} announces ${fixture.size}; `), err.message);
    return true;
  });
  assert.ok(!existsSync(target));
}));

test('HTTP 500 and 404: the error names the URL and the status, and where to put the file', () => noLeaks(async () => {
  const h = freshHome();
  const target = dl.cachedWeightsPath(fixture.file, h);
  for (const status of [500, 404]) {
    reset();
    if (status === 500) mode.status = 500;
    const url = status === 500 ? `${base}/files/${fixture.file}` : `${base}/missing/${fixture.file}`;
    await assert.rejects(dl.zooGet(seededEntry, { home: h, baseUrl: url.slice(0, url.lastIndexOf('/')) }), (err: dl.DownloadError) => {
      assert.equal(err.code, 'http');
      assert.equal(err.status, status);
      assert.equal(err.message, `${url}: HTTP ${status} ${http.STATUS_CODES[status]}; download ${url} some other way and put it at ${target}`);
      return true;
    });
    assert.ok(!existsSync(target));
  }
}));

test('connection refused (no network): the error names the file, its URL and the exact path to put it at', () => noLeaks(async () => {
  const closed = http.createServer();
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
  const port = (closed.address() as AddressInfo).port;
  await new Promise((resolve) => closed.close(resolve));
  const h = freshHome();
  const entry = dl.ZOO['resnet20-cifar10']!;
  const target = dl.cachedWeightsPath(entry.weights.file, h);
  const url = `http://127.0.0.1:${port}/${entry.weights.file}`;
  await assert.rejects(dl.pretrained('resnet20-cifar10', { home: h, baseUrl: `http://127.0.0.1:${port}` }), (err: dl.DownloadError) => {
    assert.equal(err.code, 'network');
    assert.match(err.message, new RegExp(`^cannot download resnet20-12fca82f\\.th from ${url.replace(/\./g, '\\.')} \\(.*ECONNREFUSED.*\\); download ${url.replace(/\./g, '\\.')} some other way and put it at ${target.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`));
    return true;
  });
  assert.ok(!existsSync(target));
}));

test('weights: a local file is loaded without any request; a missing one is named', () => noLeaks(async () => {
  reset();
  const net = await dl.pretrained(seededEntry, { home: freshHome(), baseUrl: `${base}/files`, weights: SEEDED });
  try {
    assert.equal(seen.length, 0, 'no request');
    assert.deepEqual(Array.from(logits(net)), Array.from(await loadedDirectly(fixture.architecture, SEEDED)));
  } finally {
    net.dispose();
  }
  const missing = path.join(home, 'nothing.pth');
  await assert.rejects(dl.pretrained('resnet20-cifar10', { weights: missing }), new RegExp(`^Error: ${missing.replace(/\./g, '\\.')}: no such file \\(option 'weights' of zoo model 'resnet20-cifar10'\\)`));
  // A file that does not fit the architecture is named with the names that differ.
  await assert.rejects(dl.pretrained('resnet32-cifar10', { weights: SEEDED }), (err: Error) => {
    assert.match(err.message, new RegExp(`^${SEEDED.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(zoo model 'resnet32-cifar10', architecture 'cifar-resnet32'\\) does not fit the network: missing 'layer1\\.3\\.conv1\\.weight'`));
    return true;
  });
}));

test('abort and stall: an AbortSignal stops the download, a stalled server times out; both keep the .part', () => noLeaks(async () => {
  reset();
  mode.stall = true;
  const h = freshHome();
  const target = dl.cachedWeightsPath(fixture.file, h);
  const ac = new AbortController();
  const p = dl.zooGet(seededEntry, { home: h, baseUrl: `${base}/files`, signal: ac.signal, onProgress: (b) => { if (b > 0) ac.abort(); } });
  await assert.rejects(p, (err: Error) => err.name === 'AbortError');
  assert.ok(!existsSync(target));
  assert.equal(statSync(`${target}.part`).size, 1000, 'the bytes that came are kept for a resume');
  await assert.rejects(dl.zooGet(seededEntry, { home: freshHome(), baseUrl: `${base}/files`, timeoutMs: 300 }), (err: dl.DownloadError) => {
    assert.equal(err.code, 'timeout');
    assert.match(err.message, /: no data for 0\.3 s; download .* some other way and put it at .*\(the partial download .*\.part is kept and resumed next time\)$/);
    return true;
  });
  const pre = new AbortController();
  pre.abort();
  await assert.rejects(dl.zooGet(seededEntry, { home: freshHome(), baseUrl: `${base}/files`, signal: pre.signal }), (err: Error) => err.name === 'AbortError');
}));

test('caffe format: a caffemodel\'s blobs load into the network by layer name (legacy 4-D blob shapes too), as the Caffe importer loads them', () => noLeaks(async () => {
  const FIX = path.join(ROOT, 'fixtures', 'caffe');
  for (const name of ['alexnet', 'lenet_v1', 'googlenet', 'squeezenet']) {
    const proto = path.join(FIX, `${name}.prototxt`), model = path.join(FIX, `${name}.caffemodel`);
    const entry: dl.ZooEntry = { ...seededEntry, name, format: 'caffe', weights: { ...seededEntry.weights, file: `${name}.caffemodel` } };
    const reference = await dl.importCaffe(proto, model);
    const net = await dl.importCaffe(proto, null);
    try {
      await dl.loadZooWeights(net, entry, model);
      const want = reference.stateDict();
      for (const [k, t] of Object.entries(net.stateDict())) {
        assert.ok(dl.tidy(() => t.allclose(want[k]!, 0, 0)), `${name}: '${k}' as the Caffe importer loads it`);
      }
    } finally {
      net.dispose();
      reference.dispose();
    }
  }
  const blocks = path.join(ROOT, 'fixtures', 'caffe', 'blocks');
  const net = await dl.importCaffe(`${blocks}.prototxt`, null);
  try {
    const entry: dl.ZooEntry = { ...seededEntry, name: 'blocks', format: 'caffe' };
    await assert.rejects(dl.loadZooWeights(net, entry, `${blocks}.caffemodel`), /blocks\.caffemodel.*layer '.*' has 3 blobs, expected weights and at most a bias/);
  } finally {
    net.dispose();
  }
}));

test('two calls for one file in one process share a download; an entry whose architecture is unknown fails before downloading', () => noLeaks(async () => {
  reset();
  const h = freshHome();
  const [a, b] = await Promise.all([dl.zooGet(seededEntry, { home: h, baseUrl: `${base}/files` }), dl.zooGet(seededEntry, { home: h, baseUrl: `${base}/files` })]);
  assert.equal(seen.length, 1, 'one request');
  assert.deepEqual([a.downloaded, b.downloaded], [true, false]);
  assert.equal(sha256(a.file), fixture.sha256);
  reset();
  const entry: dl.ZooEntry = { ...seededEntry, architecture: 'no-such-arch' };
  await assert.rejects(dl.pretrained(entry, { home: freshHome(), baseUrl: `${base}/files` }), /^RangeError: zoo model 'resnet20-seeded': unknown architecture 'no-such-arch'; known: .*cifar-resnet20/);
  assert.equal(seen.length, 0, 'nothing downloaded');
}));
