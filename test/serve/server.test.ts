// The HTTP inference server end to end over real HTTP on loopback: each route, errors, limits,
// auth, CORS, overload, timeouts, disconnects, metrics, and `dlkit serve` with a SIGTERM drain.
// Small dlkit networks made here run everywhere; the real CIFAR ResNet-20 on real photos runs
// when ../shared/data is present.
import test, { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import * as dl from '../../src/index.js';
import { noLeaks, assertClose } from '../helpers.js';
import { SHARED_DATA } from '../support/shared-data.js';
import { CLI, runCli } from '../support/run-cli.js';

const RESNET20 = path.join(SHARED_DATA, 'pretrained', 'resnet-cifar10', 'resnet20-12fca82f.th');
const PHOTOS = path.join(SHARED_DATA, 'hymenoptera', 'val');
const hasShared = existsSync(RESNET20) && existsSync(PHOTOS);
const skipShared = hasShared ? false : `the CIFAR ResNet-20 weights or the hymenoptera photos are not under ${SHARED_DATA}: skipped`;

const CLASSES = ['circle', 'square', 'stripe'];

/** A small image classifier with random weights (the tests compare the server with dl.classify, not with truth). */
function tinyNetwork(seed: number, size = 16, filters = 4, convs = 1): dl.Network {
  dl.manualSeed(seed);
  const layers: dl.nn.Layer[] = [dl.nn.imageInput({ inputSize: [3, size, size], normalization: 'rescale-zero-one' })];
  for (let i = 0; i < convs; i++) layers.push(dl.nn.conv2d({ filters, kernelSize: 3, padding: 'same' }), dl.nn.relu());
  layers.push(dl.nn.globalAvgPool2d(), dl.nn.fullyConnected({ outputSize: CLASSES.length }), dl.nn.softmax());
  return dl.Network.series(layers, { classes: CLASSES });
}

/** Images with structure (gradients, blocks) made by sharp, in several formats, from a seeded generator. */
async function makeImages(dir: string): Promise<string[]> {
  const files: string[] = [];
  let s = 7;
  const rand = () => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  for (let i = 0; i < 4; i++) {
    const w = 40 + 8 * i;
    const h = 30 + 4 * i;
    const px = Buffer.alloc(w * h * 3);
    const tint = [rand(), rand(), rand()];
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let c = 0; c < 3; c++) {
      px[(y * w + x) * 3 + c] = Math.floor(255 * (((x * (c + 1) + y * (i + 1)) % w) / w) * tint[c]! + 40 * rand());
    }
    const ext = ['png', 'jpg', 'webp', 'png'][i]!;
    const file = path.join(dir, `made-${i}.${ext}`);
    const img = sharp(px, { raw: { width: w, height: h, channels: 3 } });
    await (ext === 'jpg' ? img.jpeg({ quality: 92 }) : ext === 'webp' ? img.webp({ lossless: true }) : img.png()).toFile(file);
    files.push(file);
  }
  return files;
}

/** What dl.classify says for each file, read with readImage at the network's input size. */
async function expected(network: dl.Network, files: string[]): Promise<{ labels: string[]; scores: Float32Array[] }> {
  return noLeaks(async () => {
    const images = await Promise.all(files.map((f) => dl.readImage(f, { size: network.inputShape })));
    const batch = dl.tidy(() => dl.stack(images, 0));
    images.forEach((t) => t.dispose());
    const c = await dl.classify(network, batch);
    batch.dispose();
    const all = c.scores.dataSync() as Float32Array;
    const k = c.scores.shape[1]!;
    c.scores.dispose();
    return { labels: c.labels, scores: files.map((_, i) => all.slice(i * k, (i + 1) * k)) };
  });
}

const post = (url: string, body: string | Uint8Array | FormData, headers: Record<string, string> = {}, signal?: AbortSignal) => fetch(url, { method: 'POST', body, headers, signal });
const form = (files: { name: string; bytes: Uint8Array }[]) => {
  const fd = new FormData();
  files.forEach((f, i) => fd.append(`image${i}`, new Blob([f.bytes]), f.name));
  return fd;
};

let tmp: string;
let made: string[];
let tiny: dl.Network;
let main: dl.InferenceServer;
let resnet: dl.Network | null = null;
let photos: string[] = [];

before(async () => {
  tmp = mkdtempSync(path.join(tmpdir(), 'dlkit-serve-test-'));
  made = await makeImages(tmp);
  tiny = tinyNetwork(1);
  const services = [await dl.ModelService.start(tiny, { name: 'tiny' })];
  if (hasShared) {
    services.push(await dl.ModelService.start('resnet20-cifar10', { weights: RESNET20 }));
    resnet = await dl.pretrained('resnet20-cifar10', { weights: RESNET20 });
    photos = ['ants', 'bees'].flatMap((c) => readdirSync(path.join(PHOTOS, c)).filter((f) => f.endsWith('.jpg')).sort().slice(0, 4).map((f) => path.join(PHOTOS, c, f)));
  }
  main = await dl.startServer(services, { port: 0, bodyLimit: 1024 * 1024, maxBatchImages: 4 });
});

after(async () => {
  await main?.close();
  tiny?.dispose();
  resnet?.dispose();
  rmSync(tmp, { recursive: true, force: true });
});

test('health, readiness, the model list (no paths), unknown routes and models as JSON 404s', async () => {
  assert.deepEqual(await (await fetch(`${main.url}/healthz`)).json(), { status: 'ok' });
  const ready = await fetch(`${main.url}/readyz`);
  assert.equal(ready.status, 200);
  assert.deepEqual(await ready.json(), { ready: true, models: hasShared ? ['tiny', 'resnet20-cifar10'] : ['tiny'] });
  const { models } = await (await fetch(`${main.url}/v1/models`)).json() as { models: Record<string, unknown>[] };
  assert.deepEqual(models[0], {
    name: 'tiny', classes: CLASSES, inputSize: [3, 16, 16], parameters: tiny.learnableCount,
    batching: { ...dl.DEFAULT_BATCHING },
  });
  assert.ok(!JSON.stringify(models).includes('source') && !JSON.stringify(models).includes(tmpdir()), 'no source paths in the model list');
  const noRoute = await fetch(`${main.url}/v1/nothing`);
  assert.equal(noRoute.status, 404);
  assert.match((await noRoute.json() as { error: string }).error, /no route GET \/v1\/nothing/);
  const noModel = await post(`${main.url}/v1/models/nope/classify`, readFileSync(made[0]!), { 'content-type': 'image/png' });
  assert.equal(noModel.status, 404);
  assert.match((await noModel.json() as { error: string }).error, /no model 'nope'.*'tiny'/);
});

test('classify: raw bytes of PNG, JPEG, WebP give the labels and scores of dl.classify on readImage of the same file; top=K', async () => {
  const want = await expected(tiny, made);
  for (const [i, file] of made.entries()) {
    const type = file.endsWith('.jpg') ? 'image/jpeg' : file.endsWith('.webp') ? 'image/webp' : 'application/octet-stream';
    const r = await post(`${main.url}/v1/models/tiny/classify?top=2`, readFileSync(file), { 'content-type': type });
    assert.equal(r.status, 200, file);
    const body = await r.json() as { model: string; predictions: { label: string; score: number }[]; timings: Record<string, number> };
    assert.equal(body.model, 'tiny');
    assert.equal(body.predictions.length, 2);
    assert.equal(body.predictions[0]!.label, want.labels[i], file);
    assertClose([body.predictions[0]!.score], [want.scores[i]![CLASSES.indexOf(want.labels[i]!)]!], { atol: 1e-5 });
    assert.ok(body.timings.batchSize! >= 1 && body.timings.inferenceMs! >= 0 && body.timings.decodeMs! >= 0);
  }
  const r = await post(`${main.url}/v1/models/tiny/classify`, readFileSync(made[0]!), { 'content-type': 'image/png' });
  assert.equal((await r.json() as { predictions: unknown[] }).predictions.length, CLASSES.length, 'default top 5, at most the class count');
});

test('classify: the real CIFAR ResNet-20 on real photos agrees with dl.classify', { skip: skipShared }, async () => {
  const want = await expected(resnet!, photos);
  const got = await Promise.all(photos.map(async (f) => {
    const r = await post(`${main.url}/v1/models/resnet20-cifar10/classify?top=1`, readFileSync(f), { 'content-type': 'image/jpeg' });
    assert.equal(r.status, 200);
    return (await r.json() as { predictions: { label: string; score: number }[] }).predictions[0]!;
  }));
  assert.deepEqual(got.map((p) => p.label), want.labels);
  got.forEach((p, i) => assertClose([p.score], [Math.max(...want.scores[i]!)], { atol: 1e-4 }));
});

test('multipart: one file to classify; a batch with a bad image in it answers the others; more than one file to classify is a 400', async () => {
  const want = await expected(tiny, made);
  const one = await post(`${main.url}/v1/models/tiny/classify?top=1`, form([{ name: 'a.png', bytes: readFileSync(made[0]!) }]));
  assert.equal(one.status, 200);
  assert.equal((await one.json() as { predictions: { label: string }[] }).predictions[0]!.label, want.labels[0]);

  const files = [{ name: 'm0.png', bytes: readFileSync(made[0]!) }, { name: 'junk.jpg', bytes: Buffer.from('not an image at all') }, { name: 'm2.webp', bytes: readFileSync(made[2]!) }, { name: 'm1.jpg', bytes: readFileSync(made[1]!) }];
  const batch = await post(`${main.url}/v1/models/tiny/classify-batch?top=1`, form(files));
  assert.equal(batch.status, 200);
  const { results } = await batch.json() as { results: ({ file: string; predictions: { label: string }[] } | { file: string; error: string })[] };
  assert.deepEqual(results.map((r) => r.file), files.map((f) => f.name));
  assert.match((results[1] as { error: string }).error, /not a usable image/);
  assert.deepEqual([0, 2, 3].map((i) => (results[i] as { predictions: { label: string }[] }).predictions[0]!.label), [want.labels[0], want.labels[2], want.labels[1]]);

  const two = await post(`${main.url}/v1/models/tiny/classify`, form(files.slice(0, 2)));
  assert.equal(two.status, 400);
  assert.match((await two.json() as { error: string }).error, /exactly one image/);
  const tooMany = await post(`${main.url}/v1/models/tiny/classify-batch`, form([...files, ...files]));
  assert.equal(tooMany.status, 413);
  assert.match((await tooMany.json() as { error: string }).error, /at most 4 images.*maxBatchImages/);
  const none = await post(`${main.url}/v1/models/tiny/classify-batch`, new FormData());
  assert.ok(none.status === 400 || none.status === 415, `an empty form: ${none.status}`);
});

test('bad bodies get 4xx naming the problem, and the server goes on answering', async () => {
  const url = `${main.url}/v1/models/tiny/classify`;
  const cases: [string, Promise<Response>, number, RegExp][] = [
    ['text', post(url, 'hello', { 'content-type': 'text/plain' }), 415, /unsupported Content-Type 'text\/plain'/],
    ['JSON', post(url, '{"path":"/etc/passwd"}', { 'content-type': 'application/json' }), 415, /unsupported Content-Type/],
    ['empty', post(url, new Uint8Array(0), { 'content-type': 'image/png' }), 400, /empty body/],
    ['truncated JPEG', post(url, readFileSync(made[1]!).subarray(0, 300), { 'content-type': 'image/jpeg' }), 400, /not a usable image/],
    ['not an image', post(url, Buffer.from('GIF89a but not really'), { 'content-type': 'image/gif' }), 400, /not a usable image/],
    ['too large', post(url, Buffer.alloc(1024 * 1024 + 10), { 'content-type': 'image/png' }), 413, /limit is 1048576 bytes \(bodyLimit\)/],
    ['bad top', post(`${url}?top=0`, readFileSync(made[0]!), { 'content-type': 'image/png' }), 400, /top/],
  ];
  for (const [what, response, status, message] of cases) {
    const r = await response;
    assert.equal(r.status, status, what);
    assert.match((await r.json() as { error: string }).error, message, what);
  }
  // A decompression bomb: 10000×10000 pixels in a few hundred KB, refused before decoding.
  const bomb = await sharp({ create: { width: 10000, height: 10000, channels: 3, background: { r: 0, g: 0, b: 0 } } }).png({ compressionLevel: 9 }).toBuffer();
  assert.ok(bomb.length < 1024 * 1024);
  const r = await post(url, bomb, { 'content-type': 'image/png' });
  assert.equal(r.status, 400);
  assert.match((await r.json() as { error: string }).error, /pixel limit/i);
  const ok = await post(url, readFileSync(made[0]!), { 'content-type': 'image/png' });
  assert.equal(ok.status, 200, 'still answering');
});

test('CORS is off by default: no CORS headers, and preflights are 404s', async () => {
  const r = await fetch(`${main.url}/v1/models`, { headers: { origin: 'http://evil.test' } });
  assert.equal(r.status, 200);
  assert.deepEqual([...r.headers.keys()].filter((k) => k.startsWith('access-control')), []);
  const pre = await fetch(`${main.url}/v1/models`, { method: 'OPTIONS', headers: { origin: 'http://evil.test', 'access-control-request-method': 'GET' } });
  assert.equal(pre.status, 404);
  assert.equal(pre.headers.get('access-control-allow-origin'), null);
});

test('options are validated with errors naming the option', async () => {
  const s = [] as dl.ModelService[];
  await assert.rejects(dl.startServer(s, {}), /at least one ModelService/);
  const fake = { info: { name: 'x' } } as dl.ModelService;
  await assert.rejects(dl.startServer([fake], { port: 70000 }), /option 'port' must be an integer from 0 to 65535, got 70000/);
  await assert.rejects(dl.startServer([fake], { bodyLimit: 0 }), /option 'bodyLimit' must be a positive integer, got 0/);
  await assert.rejects(dl.startServer([fake], { token: 'has space' }), /option 'token'/);
  await assert.rejects(dl.startServer([fake], { cors: ['localhost:3000'] }), /option 'cors': 'localhost:3000' is not an origin/);
  await assert.rejects(dl.startServer([fake], { prot: 1 } as dl.ServerOptions), /unknown option 'prot'/);
  await assert.rejects(dl.startServer([fake, fake], {}), /two models are named 'x'/);
});

test('auth: a bearer token on every route but health and readiness, compared whole; CORS when configured', async () => {
  const server = await dl.startServer([await dl.ModelService.start(tiny, { name: 'tiny' })], { port: 0, token: 's3cret-token', cors: ['http://app.test'], page: false });
  try {
    const u = `${server.url}/v1/models`;
    const none = await fetch(u);
    assert.equal(none.status, 401);
    assert.equal(none.headers.get('www-authenticate'), 'Bearer realm="dlkit"');
    for (const wrong of ['s3cret-toke', 's3cret-token2', 'other']) {
      const r = await fetch(u, { headers: { authorization: `Bearer ${wrong}` } });
      assert.equal(r.status, 401, wrong);
      assert.match(r.headers.get('www-authenticate')!, /invalid_token/);
    }
    assert.equal((await fetch(u, { headers: { authorization: 'Bearer s3cret-token' } })).status, 200);
    assert.equal((await post(`${server.url}/v1/models/tiny/classify`, readFileSync(made[0]!), { 'content-type': 'image/png' })).status, 401, 'classify needs it');
    assert.equal((await fetch(`${server.url}/metrics`)).status, 401, 'metrics need it');
    assert.equal((await fetch(`${server.url}/healthz`)).status, 200);
    assert.equal((await fetch(`${server.url}/readyz`)).status, 200);
    // WebSocket upgrades may carry it as the subprotocol bearer.<token> (browsers cannot set headers there).
    const ws = (protocols: string) => server.app.inject({ method: 'GET', url: '/v1/models', headers: { connection: 'upgrade', upgrade: 'websocket', 'sec-websocket-protocol': protocols } });
    assert.equal((await ws('dlkit, bearer.s3cret-token')).statusCode, 200);
    assert.equal((await ws('dlkit, bearer.wrong')).statusCode, 401);
    // CORS: the allowed origin gets its header (on a 401 too), others none; preflights need no token.
    const allowed = await fetch(u, { headers: { origin: 'http://app.test', authorization: 'Bearer s3cret-token' } });
    assert.equal(allowed.headers.get('access-control-allow-origin'), 'http://app.test');
    assert.equal((await fetch(u, { headers: { origin: 'http://app.test' } })).headers.get('access-control-allow-origin'), 'http://app.test');
    assert.equal((await fetch(u, { headers: { origin: 'http://evil.test', authorization: 'Bearer s3cret-token' } })).headers.get('access-control-allow-origin'), null);
    const pre = await fetch(u, { method: 'OPTIONS', headers: { origin: 'http://app.test', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization' } });
    assert.equal(pre.status, 204);
    assert.match(pre.headers.get('access-control-allow-headers')!, /Authorization/);
  } finally {
    await server.close();
  }
});

test('metrics: Prometheus text with the request counts, batch sizes and queue depth', async () => {
  const metrics = dl.createMetrics();
  const server = await dl.startServer([await dl.ModelService.start(tiny, { name: 'tiny', onBatch: metrics.batchObserver('tiny') })], { port: 0, metrics, page: false });
  try {
    const url = `${server.url}/v1/models/tiny/classify`;
    for (let i = 0; i < 3; i++) assert.equal((await post(url, readFileSync(made[i]!), { 'content-type': 'image/png' })).status, 200);
    assert.equal((await post(url, 'x', { 'content-type': 'image/png' })).status, 400);
    const r = await fetch(`${server.url}/metrics`);
    assert.match(r.headers.get('content-type')!, /^text\/plain/);
    const text = await r.text();
    const value = (line: string) => Number(new RegExp(`^${line.replace(/[{}"/:]/g, '\\$&')} (\\S+)$`, 'm').exec(text)?.[1]);
    assert.equal(value('dlkit_requests_total{model="tiny",route="/v1/models/:name/classify",status="200"}'), 3);
    assert.equal(value('dlkit_requests_total{model="tiny",route="/v1/models/:name/classify",status="400"}'), 1);
    assert.equal(value('dlkit_request_duration_seconds_count{model="tiny"}'), 4);
    assert.equal(value('dlkit_batch_size_sum{model="tiny"}'), 3, 'three images went through forward passes');
    assert.equal(value('dlkit_inference_duration_seconds_count{model="tiny"}'), value('dlkit_batch_size_count{model="tiny"}'));
    assert.equal(value('dlkit_queue_depth{model="tiny"}'), 0);
    assert.match(text, /^process_resident_memory_bytes /m);
  } finally {
    await server.close();
  }
});

test('overload, timeouts, disconnects: 503 with Retry-After past the queue, 504 past the timeout, aborted requests leave the queue', async () => {
  // Big enough that a forward pass takes a while, so that requests pile up.
  const slow = tinyNetwork(2, 96, 32, 3);
  let batches = 0;
  const services = await Promise.all([
    dl.ModelService.start(slow, { name: 'narrow', maxQueue: 2, maxBatchSize: 1 }),
    dl.ModelService.start(slow, { name: 'hasty', timeoutMs: 1, maxDelayMs: 2 }),
    dl.ModelService.start(slow, { name: 'wide', maxBatchSize: 1, onBatch: () => { batches++; } }),
  ]);
  slow.dispose();
  const server = await dl.startServer(services, { port: 0, page: false });
  const png = readFileSync(made[0]!);
  try {
    const burst = await Promise.all(Array.from({ length: 30 }, () => post(`${server.url}/v1/models/narrow/classify`, png, { 'content-type': 'image/png' })));
    const statuses = burst.map((r) => r.status);
    assert.ok(statuses.every((s) => s === 200 || s === 503), `only 200 and 503: ${statuses.join(' ')}`);
    assert.ok(statuses.filter((s) => s === 503).length >= 10, `most of the burst refused at once: ${statuses.join(' ')}`);
    assert.ok(statuses.includes(200), 'some answered');
    const refused = burst[statuses.indexOf(503)]!;
    assert.ok(Number(refused.headers.get('retry-after')) >= 1, 'Retry-After in seconds');
    assert.match((await refused.json() as { error: string }).error, /queue is full/);
    await Promise.all(burst.map((r) => (r.bodyUsed ? undefined : r.body?.cancel())));
    assert.equal((await post(`${server.url}/v1/models/narrow/classify`, png, { 'content-type': 'image/png' })).status, 200, 'answers again after the burst');

    const late = await post(`${server.url}/v1/models/hasty/classify`, png, { 'content-type': 'image/png' });
    assert.equal(late.status, 504);
    assert.match((await late.json() as { error: string }).error, /no answer within 1 ms/);

    const wide = services[2]!;
    const controller = new AbortController();
    const pending = Array.from({ length: 20 }, () => post(`${server.url}/v1/models/wide/classify`, png, { 'content-type': 'image/png' }, controller.signal).then((r) => r.status, (e: Error) => e.name));
    const t0 = performance.now();
    while (wide.queueDepth < 5 && performance.now() - t0 < 5000) await new Promise((r) => setTimeout(r, 5));
    assert.ok(wide.queueDepth >= 5, 'requests queued');
    controller.abort();
    const outcomes = await Promise.all(pending);
    assert.ok(outcomes.filter((o) => o === 'AbortError').length >= 5, `aborted: ${outcomes.join(' ')}`);
    const t1 = performance.now();
    while ((wide.queueDepth > 0 || wide.inFlight > 0) && performance.now() - t1 < 5000) await new Promise((r) => setTimeout(r, 5));
    assert.equal(wide.queueDepth, 0);
    assert.ok(batches < 20, `aborted requests were not computed: ${batches} forward passes for 20 requests`);
  } finally {
    await server.close();
  }
});

test('close: queued requests are answered, then the services close and the port is freed; idempotent', async () => {
  const slow = tinyNetwork(3, 64, 16, 2);
  const service = await dl.ModelService.start(slow, { name: 'slowish', maxBatchSize: 1 });
  slow.dispose();
  const server = await dl.startServer([service], { port: 0, page: false });
  const png = readFileSync(made[0]!);
  const inFlight = Array.from({ length: 6 }, () => post(`${server.url}/v1/models/slowish/classify`, png, { 'content-type': 'image/png' }).then((r) => r.status));
  const t0 = performance.now();
  while (service.queueDepth + service.inFlight < 6 && performance.now() - t0 < 5000) await new Promise((r) => setTimeout(r, 2));
  const closed = server.close();
  assert.equal(server.close(), closed, 'the same promise');
  assert.deepEqual(await Promise.all(inFlight), [200, 200, 200, 200, 200, 200]);
  await closed;
  await assert.rejects(service.classifyPixels(new Uint8Array(3 * 64 * 64)), /shutting down/);
  await assert.rejects(fetch(`${server.url}/healthz`), 'no longer listening');
});

test('dlkit serve: prints its URL and models, answers, drains in-flight requests on SIGTERM and exits 0; duplicate names are an error', async () => {
  const file = path.join(tmp, 'slowish.safetensors');
  const net = tinyNetwork(4, 64, 16, 2);
  await dl.saveModel(net, file);
  net.dispose();
  const dup = await runCli(['serve', file, file], { cwd: tmp, timeout: 20_000 });
  assert.equal(dup.code, 1);
  assert.match(dup.stderr, /two models would both be named 'slowish'/);

  // Requests wait up to 2 s for a batch, so that all are queued when the signal comes.
  const child = spawn(process.execPath, [CLI, 'serve', file, '--port', '0', '--max-delay-ms', '2000', '--top', '2'], { cwd: tmp, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
  child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  const killer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  try {
    const t0 = performance.now();
    while (!/listening on (http:\S+)/.test(stdout) && performance.now() - t0 < 20_000 && child.exitCode === null) await new Promise((r) => setTimeout(r, 20));
    const url = /listening on (http:\S+)/.exec(stdout)?.[1];
    assert.ok(url, `no URL printed:\n${stdout}\n${stderr}`);
    assert.match(stdout, /slowish: 3 classes, input \[3, 64, 64\]/);
    assert.doesNotMatch(stderr, /warning/, 'no warning on loopback');
    const png = readFileSync(made[0]!);
    const inFlight = Array.from({ length: 8 }, () => post(`${url}/v1/models/slowish/classify`, png, { 'content-type': 'image/png' })
      .then(async (r) => ({ status: r.status, top: (await r.json() as { predictions?: unknown[] }).predictions?.length })));
    const queued = async () => Number(/^dlkit_queue_depth\{model="slowish"\} (\S+)$/m.exec(await (await fetch(`${url}/metrics`)).text())?.[1]);
    const t1 = performance.now();
    while ((await queued()) < 8 && performance.now() - t1 < 10_000) await new Promise((r) => setTimeout(r, 10));
    assert.equal(await queued(), 8, 'all eight queued');
    child.kill('SIGTERM');
    assert.deepEqual(await Promise.all(inFlight), Array(8).fill({ status: 200, top: 2 }), '--top 2 is the default');
    assert.equal(await exited, 0, stderr);
    assert.match(stdout, /draining…/);
  } finally {
    clearTimeout(killer);
    child.kill('SIGKILL');
  }
});
