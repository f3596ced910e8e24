// The webcam page and its stream. Without a browser: the routes (page, allow-listed
// onnxruntime-web files, model.onnx) and the WebSocket protocol (answers per frame, bad frames,
// one frame at a time, model switch). In Debian's Chromium through playwright-core, with a fake
// camera playing real photos (a y4m made by test/support/y4m.ts): the camera frame reaches the
// page as the photo; the labels the page shows while each photo is on camera equal the top-1
// label dl.classify gives that photo, through the server and with the model run in the page by
// onnxruntime-web; frames/s and latency are shown; a screenshot is kept.
//
// The model is the real CIFAR-10 ResNet-20 and the photos the ant/bee validation photos of
// ../shared/data. Without them (a clone without the team's data), generated images stand in
// (coloured discs, test/support/color-photos.ts) with a tiny CNN trained on them here: the same
// assertions, but no real photos through the camera path.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import Fastify, { type FastifyInstance } from 'fastify';
import sharp from 'sharp';
import { chromium, type Browser, type Page } from 'playwright-core';
// A real client over TCP: @fastify/websocket's injectWS sends Sec-WebSocket-Version as a number,
// which ws 8.23 refuses with a 400.
import { WebSocket } from 'ws';
import * as dl from '../../src/index.js';
import { ModelService } from '../../src/serve/model-service.js';
import { registerWebcam } from '../../src/serve/webcam.js';
import { noLeaks } from '../helpers.js';
import { SHARED_DATA } from '../support/shared-data.js';
import { cameraFrame, writeY4m, type Y4mVideo } from '../support/y4m.js';
import { colorData, tinyColorNet, writeColorPhotos } from '../support/color-photos.js';

const CHROMIUM = '/usr/bin/chromium';
const WEIGHTS = path.join(SHARED_DATA, 'pretrained', 'resnet-cifar10', 'resnet20-12fca82f.th');
const PHOTOS = path.join(SHARED_DATA, 'hymenoptera', 'val');
// The page's browser modules (not compiled): dist/test/serve -> src/serve/page.
const PAGE_DIR = fileURLToPath(new URL('../../../src/serve/page/', import.meta.url));
const REAL = existsSync(WEIGHTS) && existsSync(PHOTOS);
const noBrowser = !existsSync(CHROMIUM) && `${CHROMIUM} is missing (setup installs Debian's chromium)`;
// The generated stand-ins' input size.
const GENERATED_SIZE = 16;

// The camera path resizes to 320×240, converts to YUV and back, then JPEG-compresses (or, in the
// page, area-averages instead of sharp's Lanczos), and this small CIFAR network's labels for
// out-of-domain photos (ants and bees) move with such changes. So a photo is used only when its
// top-1 probability beats the second by at least MARGIN three times over: dl.classify on the photo,
// on its 320×240 camera frame resized by sharp (the server's path), and on that frame
// area-averaged by the page's own resize.js. The label asserted is dl.classify's on the photo.
const MARGIN = 0.5;
const PHOTO_COUNT = 5;
const FPS = 10;
const FRAMES_EACH = 15; // each photo is on camera for 1.5 s, the whole loop 7.5 s
const SAMPLES_EACH = 2;
// Photos are told apart on camera by their 16×12 block means (20×20-pixel blocks of 320×240).
const BW = 16, BH = 12;

const tmp = mkdtempSync(path.join(os.tmpdir(), 'dlkit-webcam-'));
let service: ModelService | null = null;
let server: { app: FastifyInstance; url: string } | null = null;
let browser: Browser | null = null;
let photos: { file: string; label: string; margin: number }[] = [];
let video: Y4mVideo | null = null;
/** The served model's name (the test's only model). */
let MODEL = '';
const seenRequests: { url: string; authorization?: string; protocol?: string }[] = [];

/** The server under test: registerWebcam plus the `/v1/models` listing the page reads. */
async function startApp(services: ReadonlyMap<string, ModelService>): Promise<{ app: FastifyInstance; url: string }> {
  // Once startServer is on main this becomes: const app = await startServer({ services, port: 0 }).
  const app = Fastify();
  app.addHook('onRequest', async (req) => {
    seenRequests.push({ url: req.url, authorization: req.headers.authorization, protocol: req.headers['sec-websocket-protocol'] });
  });
  await registerWebcam(app, { services });
  app.get('/v1/models', async () => ({
    models: [...services.values()].map(({ info }) => ({ name: info.name, classes: info.classes, inputSize: info.inputSize, outputsProbabilities: info.outputsProbabilities })),
  }));
  const address = await app.listen({ port: 0, host: '127.0.0.1' });
  return { app, url: address };
}

/** Block means of an RGB (3 bytes a pixel) or RGBA image, [BH, BW, 3] flattened. */
function blockMeans(pixels: ArrayLike<number>, width: number, height: number, stride: number): number[] {
  const out = new Array<number>(BW * BH * 3).fill(0);
  const bw = width / BW, bh = height / BH;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const o = 3 * (Math.floor(y / bh) * BW + Math.floor(x / bw));
      const p = stride * (y * width + x);
      for (let c = 0; c < 3; c++) out[o + c]! += pixels[p + c]! / (bw * bh);
    }
  }
  return out;
}

// Runs in the page (as a string: this project compiles without the DOM's types). Tells which
// photo is on camera now (nearest block means), waits for two more answers, then reads the
// labels and tells again. The second answer's frame was captured after the first look and
// before the second, so when both looks see the same photo — and the wait is far shorter than a
// photo's time on camera — the labels are that photo's.
const SAMPLE = `async ({ thumbs, bw, bh }) => {
  const v = document.getElementById('video');
  const w = v.videoWidth, h = v.videoHeight;
  const c = document.createElement('canvas');
  c.width = w; c.height = h;
  const ctx = c.getContext('2d', { willReadFrequently: true });
  const look = () => {
    ctx.drawImage(v, 0, 0, w, h);
    const d = ctx.getImageData(0, 0, w, h).data;
    const m = new Array(bw * bh * 3).fill(0);
    const sx = w / bw, sy = h / bh;
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
      const o = 3 * (Math.floor(y / sy) * bw + Math.floor(x / sx)), p = 4 * (y * w + x);
      for (let k = 0; k < 3; k++) m[o + k] += d[p + k] / (sx * sy);
    }
    const dist = thumbs.map((t) => t.reduce((s, q, i) => s + Math.abs(q - m[i]), 0) / t.length);
    const index = dist.indexOf(Math.min(...dist));
    return { index, dist: dist[index] };
  };
  const t0 = performance.now();
  const a = look();
  const n0 = window.dlkitState.frames;
  while (window.dlkitState.frames < n0 + 2) {
    if (performance.now() - t0 > 5000) return null;
    await new Promise((r) => setTimeout(r, 5));
  }
  const labels = window.dlkitState.predictions.map((p) => p.label);
  const b = look();
  return { a, b, labels, elapsedMs: performance.now() - t0, mode: window.dlkitState.mode, size: [w, h] };
}`;

interface Sample {
  a: { index: number; dist: number };
  b: { index: number; dist: number };
  labels: string[];
  elapsedMs: number;
  mode: string;
  size: [number, number];
}

/** Samples the page until every photo has SAMPLES_EACH clean samples; returns the labels seen per photo. */
async function labelsPerPhoto(page: Page, thumbs: number[][], mode: string): Promise<{ seen: string[][]; dists: number[]; sizes: Set<string> }> {
  const seen: string[][] = thumbs.map(() => []);
  const dists: number[] = [];
  const sizes = new Set<string>();
  const deadline = Date.now() + 4 * PHOTO_COUNT * (FRAMES_EACH / FPS) * 1000;
  while (seen.some((s) => s.length < SAMPLES_EACH)) {
    assert.ok(Date.now() < deadline, `${mode} mode: not every photo was sampled on camera in time; samples per photo: ${seen.map((s) => s.length).join(', ')}`);
    const s = (await page.evaluate(`(${SAMPLE})(${JSON.stringify({ thumbs, bw: BW, bh: BH })})`)) as Sample | null;
    assert.ok(s, `${mode} mode: the page gave no two answers within 5 s (state: ${JSON.stringify(await page.evaluate('window.dlkitState'))})`);
    assert.equal(s.mode, mode);
    sizes.add(s.size.join('×'));
    if (s.a.index !== s.b.index || s.elapsedMs > (FRAMES_EACH / FPS) * 1000 / 3) continue; // on a photo change: not clean
    dists.push(s.a.dist, s.b.dist);
    seen[s.a.index]!.push(s.labels[0]!);
  }
  return { seen, dists, sizes };
}

/** The reference network and the candidate photos: the real ones, or generated stand-ins with a network trained on them. */
async function subjects(): Promise<{ network: dl.Network; files: string[] }> {
  if (REAL) {
    const files = ['ants', 'bees'].flatMap((d) => readdirSync(path.join(PHOTOS, d)).filter((f) => f.endsWith('.jpg')).sort().map((f) => path.join(PHOTOS, d, f)));
    return { network: await dl.pretrained('resnet20-cifar10', { weights: WEIGHTS }), files };
  }
  const files = await writeColorPhotos(path.join(tmp, 'photos'), 8, 7);
  const network = tinyColorNet(GENERATED_SIZE);
  const data = colorData(256, 1, GENERATED_SIZE);
  try {
    await dl.trainNetwork(data, network, { solver: 'sgdm', initialLearnRate: 0.05, maxEpochs: 8, miniBatchSize: 32, seed: 1, verbose: false });
  } finally {
    data.dispose();
  }
  return { network, files };
}

before(async () => {
  if (!REAL) console.log(`${WEIGHTS} or ${PHOTOS} is absent: generated coloured discs and a tiny network trained on them stand in`);
  // Photos in name order; the qualifying ones, new labels first so that the photos differ in label.
  const { network, files } = await subjects();
  try {
    const inputShape = network.inputShape as [number, number, number];
    const [c, h, w] = inputShape;
    const { areaResizeChw } = await import(pathToFileURL(path.join(PAGE_DIR, 'resize.js')).href);
    /** The top-1 label and its margin over the second for one image, float32 [C, H, W] pixels. */
    const top1 = async (chw: Float32Array): Promise<{ label: string; margin: number }> => {
      const batch = dl.tensor(chw, { shape: [1, c, h, w] });
      const r = await dl.classify(network, batch);
      batch.dispose();
      const [p1, p2] = Array.from(r.scores.dataSync() as Float32Array).sort((a, b) => b - a);
      r.scores.dispose();
      return { label: r.labels[0]!, margin: p1! - p2! };
    };
    const qualifying: typeof photos = [];
    await noLeaks(async () => {
      for (const file of files) {
        const x = await dl.readImage(file, { size: inputShape });
        const direct = await top1(x.dataSync() as Float32Array);
        x.dispose();
        if (direct.margin < MARGIN) continue;
        // The camera's 320×240 frame, resized as the server does (sharp, as dl.readImage) and as the page does.
        const frame = await cameraFrame(file, 320, 240);
        const served = await sharp(frame, { raw: { width: 320, height: 240, channels: 3 } }).resize(w, h, { fit: 'fill' }).raw().toBuffer();
        const chw = new Float32Array(c * h * w);
        for (let i = 0; i < h * w; i++) for (let k = 0; k < c; k++) chw[k * h * w + i] = served[3 * i + k]!;
        const viaServer = await top1(chw);
        const inPage = await top1(areaResizeChw(frame, 320, 240, 3, c, w, h));
        if ([viaServer, inPage].every((t) => t.label === direct.label && t.margin >= MARGIN)) {
          qualifying.push({ file, label: direct.label, margin: Math.min(direct.margin, viaServer.margin, inPage.margin) });
        }
        if (new Set(qualifying.map((q) => q.label)).size >= PHOTO_COUNT) break;
      }
    });
    const byLabel = new Map<string, typeof photos[number]>();
    for (const q of qualifying) if (!byLabel.has(q.label)) byLabel.set(q.label, q);
    photos = [...byLabel.values(), ...qualifying.filter((q) => byLabel.get(q.label) !== q)].slice(0, PHOTO_COUNT);
  } catch (err) {
    network.dispose();
    throw err;
  }
  assert.ok(photos.length >= 4, `only ${photos.length} photos in ${REAL ? PHOTOS : 'the generated set'} keep a top-1 margin of ${MARGIN} through both camera paths; the test needs at least 4`);
  const y4m = path.join(tmp, 'camera.y4m');
  video = await writeY4m(photos.map((p) => p.file), y4m, { width: 320, height: 240, framesEach: FRAMES_EACH, fps: FPS });
  // ModelService copies an in-memory network into its thread: the test's own is freed after.
  const [svc, b] = await Promise.all([
    REAL ? ModelService.start('resnet20-cifar10', { weights: WEIGHTS }) : ModelService.start(network, { name: 'color-discs' }),
    existsSync(CHROMIUM) ? chromium.launch({
      executablePath: CHROMIUM,
      args: ['--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream', `--use-file-for-fake-video-capture=${y4m}`,
        '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    }) : null,
  ]).finally(() => network.dispose());
  service = svc;
  MODEL = svc.info.name;
  browser = b;
  server = await startApp(new Map([[svc.info.name, svc]]));
});

after(async () => {
  await browser?.close();
  await server?.app.close();
  await service?.close();
  rmSync(tmp, { recursive: true, force: true });
});

test('the page, its files and onnxruntime-web\'s allow-listed files are served; nothing else', async () => {
  const { app } = server!;
  const page = await app.inject({ url: '/' });
  assert.equal(page.statusCode, 200);
  assert.match(String(page.headers['content-type']), /text\/html/);
  assert.match(page.body, /<script type="module" src="\/page\/app.js">/);
  for (const [url, type] of [['/page/app.js', /javascript/], ['/page/resize.js', /javascript/], ['/page/style.css', /text\/css/], ['/page/ort/ort.wasm.min.mjs', /javascript/], ['/page/ort/ort-wasm-simd-threaded.wasm', /application\/wasm/]] as const) {
    const r = await app.inject({ url });
    assert.equal(r.statusCode, 200, url);
    assert.match(String(r.headers['content-type']), type, url);
    assert.ok(r.rawPayload.length > 1000, `${url}: ${r.rawPayload.length} bytes`);
  }
  for (const url of ['/page/index.html', '/page/..%2f..%2fpackage.json', '/page/ort/..%2fpackage.json', '/page/ort/ort.node.min.mjs', '/page/ort/%2e%2e%2f%2e%2e%2fpackage.json']) {
    const r = await app.inject({ url });
    assert.equal(r.statusCode, 404, `${url} answered ${r.statusCode}: ${r.body.slice(0, 80)}`);
  }
});

test('GET /v1/models/:name/model.onnx gives the ONNX export; an unknown model is a 404 naming the served ones', async () => {
  const { app } = server!;
  const r = await app.inject({ url: `/v1/models/${MODEL}/model.onnx` });
  assert.equal(r.statusCode, 200);
  assert.equal(r.headers['content-type'], 'application/octet-stream');
  assert.equal(r.headers['x-dlkit-output'], service!.info.outputsProbabilities ? 'probabilities' : 'logits');
  assert.deepEqual(new Uint8Array(r.rawPayload), await service!.onnxModel());
  const missing = await app.inject({ url: '/v1/models/nope/model.onnx' });
  assert.equal(missing.statusCode, 404);
  assert.equal(missing.json().error, `unknown model 'nope'; served: ${MODEL}`);
});

/** The next message on a socket, parsed. */
function nextMessage(ws: WebSocket): Promise<any> {
  return new Promise((resolve) => ws.once('message', (data: Buffer) => resolve(JSON.parse(data.toString()))));
}

/** A stream socket to the test's server, open; messages are buffered by the caller's listeners from here on. */
function connect(query: string): Promise<WebSocket> {
  const ws = new WebSocket(`${server!.url.replace(/^http/, 'ws')}/v1/stream${query}`);
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

test('the stream answers each frame in order, a bad frame with {error} on a socket that stays open, and never queues a second frame', async () => {
  const jpeg = await sharp(photos[0]!.file).resize(320, 240, { fit: 'fill' }).jpeg({ quality: 90 }).toBuffer();
  const ws = await connect(`?model=${MODEL}&top=3`);
  try {
    ws.send(Buffer.from('not an image'));
    const bad = await nextMessage(ws);
    assert.match(bad.error, /not a usable image/);
    ws.send(jpeg);
    const good = await nextMessage(ws);
    assert.equal(good.predictions.length, 3);
    assert.equal(good.predictions[0].label, photos[0]!.label, 'the server classifies the frame as dl.classify does the photo');
    assert.ok(good.serverMs >= good.timings.inferenceMs && good.timings.batchSize === 1, JSON.stringify(good));
    // Two frames at once: the second is refused at once, the first answered.
    const answers: any[] = [];
    const two = new Promise<void>((resolve) => ws.on('message', (d: Buffer) => { answers.push(JSON.parse(d.toString())); if (answers.length === 2) resolve(); }));
    ws.send(jpeg);
    ws.send(jpeg);
    await two;
    ws.removeAllListeners('message');
    assert.equal(answers.filter((a) => a.busy).length, 1, JSON.stringify(answers));
    assert.equal(answers.filter((a) => a.predictions).length, 1, JSON.stringify(answers));
    // Control messages: a switch to a served model is acknowledged; unknown models and bad top are refused.
    ws.send(JSON.stringify({ model: MODEL, top: 1 }));
    assert.deepEqual((await nextMessage(ws)).inputSize, service!.info.inputSize);
    ws.send(JSON.stringify({ model: 'nope' }));
    assert.match((await nextMessage(ws)).error, /unknown model 'nope'/);
    ws.send(jpeg);
    assert.equal((await nextMessage(ws)).predictions.length, 1, 'top 1 after the switch');
  } finally {
    ws.terminate();
  }
  // The server answers a bad query at once, before the client's open event may have been
  // handled: listen from the start.
  const refusal = (query: string) => new Promise<{ error: string; code: number }>((resolve, reject) => {
    const ws = new WebSocket(`${server!.url.replace(/^http/, 'ws')}/v1/stream${query}`);
    let error = '';
    ws.once('message', (data: Buffer) => { error = JSON.parse(data.toString()).error; });
    ws.once('close', (code: number) => resolve({ error, code }));
    ws.once('error', reject);
  });
  const unknown = await refusal('?model=nope');
  assert.match(unknown.error, /unknown model 'nope'/);
  assert.equal(unknown.code, 1008);
  const badTop = await refusal('?top=0');
  assert.match(badTop.error, /top must be a positive integer, got "0"/);
  assert.equal(badTop.code, 1008);
});

test('in Chromium with a fake camera: the labels shown for each photo are dl.classify\'s, through the server and in the page with onnxruntime-web', { skip: noBrowser, timeout: 120_000 }, async (t) => {
  const thumbs = video!.rgb.map((rgb) => blockMeans(rgb, video!.width, video!.height, 3));
  const expected = photos.map((p) => p.label);
  const page = await browser!.newPage({ viewport: { width: 900, height: 640 } });
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(err.message));
  try {
    await page.goto(`${server!.url}/`);
    await page.waitForFunction('window.dlkitState && window.dlkitState.frames >= 3', undefined, { timeout: 20_000 });

    const viaServer = await labelsPerPhoto(page, thumbs, 'server');
    // The camera's frame is the photo: 320×240, colors back within a few levels (a wrong YUV
    // range or matrix would put the block means 10+ levels off).
    assert.deepEqual([...viaServer.sizes], ['320×240']);
    assert.ok(Math.max(...viaServer.dists) < 6, `mean block difference between camera and photo: up to ${Math.max(...viaServer.dists).toFixed(2)} levels`);
    photos.forEach((p, i) => assert.deepEqual(viaServer.seen[i], viaServer.seen[i]!.map(() => expected[i]), `server mode, ${p.file} (dl.classify: ${expected[i]}, margin ${p.margin.toFixed(2)}): the page showed ${viaServer.seen[i]!.join(', ')}`));
    const stats = (await page.evaluate(`({ fps: window.dlkitState.fps, latencyMs: window.dlkitState.latencyMs, fpsText: document.getElementById('fps').textContent, latencyText: document.getElementById('latency').textContent, overlay: [...document.querySelectorAll('#labels li')].length })`)) as { fps: number; latencyMs: number; fpsText: string; latencyText: string; overlay: number };
    assert.ok(stats.fps > 0 && stats.latencyMs > 0, JSON.stringify(stats));
    t.diagnostic(`server mode: ${stats.fpsText}, ${stats.latencyText}; photos (label, margin, samples): ${photos.map((p, i) => `${path.basename(p.file)} ${p.label} ${p.margin.toFixed(2)} ${viaServer.seen[i]!.length}`).join('; ')}`);
    assert.match(stats.fpsText, /^\d+\.\d frames\/s$/);
    assert.match(stats.latencyText, /^\d+ ms$/);
    assert.equal(stats.overlay, Math.min(5, service!.info.classes.length), 'the top labels (5 at most) drawn over the video');
    const shot = path.join(tmp, 'webcam.png');
    await page.screenshot({ path: shot });
    assert.ok(statSync(shot).size > 20_000, 'a screenshot of the page with the camera');
    if (process.env.DLKIT_SCREENSHOT_DIR) {
      mkdirSync(process.env.DLKIT_SCREENSHOT_DIR, { recursive: true });
      copyFileSync(shot, path.join(process.env.DLKIT_SCREENSHOT_DIR, 'webcam.png'));
    }

    await page.click('#local');
    await page.waitForFunction(`window.dlkitState.mode === 'browser' && window.dlkitState.frames >= 3 || window.dlkitState.error`, undefined, { timeout: 30_000 });
    assert.equal(await page.evaluate('window.dlkitState.error'), null);
    const inPage = await labelsPerPhoto(page, thumbs, 'browser');
    t.diagnostic(`browser mode: ${String(await page.evaluate(`document.getElementById('fps').textContent + ', ' + document.getElementById('latency').textContent`))}; samples per photo ${inPage.seen.map((x) => x.length).join(', ')}`);
    photos.forEach((p, i) => assert.deepEqual(inPage.seen[i], inPage.seen[i]!.map(() => expected[i]), `browser mode, ${p.file} (dl.classify: ${expected[i]}): the page showed ${inPage.seen[i]!.join(', ')}`));
    assert.deepEqual(errors, []);
  } finally {
    await page.close();
  }
});

test('the page carries the #token in headers and the subprotocol, never in a URL; it reconnects when the socket drops', { skip: noBrowser, timeout: 60_000 }, async () => {
  seenRequests.length = 0;
  const page = await browser!.newPage();
  try {
    await page.goto(`${server!.url}/#token=s3cret&model=${MODEL}`);
    await page.waitForFunction('window.dlkitState.frames >= 2', undefined, { timeout: 20_000 });
    const models = seenRequests.find((r) => r.url === '/v1/models');
    assert.equal(models?.authorization, 'Bearer s3cret');
    const stream = seenRequests.find((r) => r.url.startsWith('/v1/stream'));
    assert.equal(stream?.protocol, 'dlkit.v1, bearer.s3cret');
    assert.ok(seenRequests.every((r) => !r.url.includes('s3cret')), JSON.stringify(seenRequests));
    // Every stream socket closed under the page: it says so, then reconnects and goes on.
    for (const client of server!.app.websocketServer.clients) client.close(1001, 'test closes the socket');
    await page.waitForFunction(`/closed: test closes the socket; reconnecting/.test(document.getElementById('message').textContent)`, undefined, { timeout: 10_000 });
    const frames = (await page.evaluate('window.dlkitState.frames')) as number;
    await page.waitForFunction(`window.dlkitState.frames >= ${frames + 2}`, undefined, { timeout: 10_000 });
    assert.equal(await page.evaluate(`document.getElementById('message').textContent`), '', 'the message clears on reconnect');
  } finally {
    await page.close();
  }
});

test('the page says what is wrong: camera denied, server refusing the page, a model that cannot load', { skip: noBrowser, timeout: 60_000 }, async () => {
  const message = (page: Page) => page.evaluate(`document.getElementById('message').textContent`) as Promise<string>;
  const denied = await browser!.newPage();
  try {
    await denied.addInitScript(`navigator.mediaDevices.getUserMedia = () => Promise.reject(new DOMException('Permission denied', 'NotAllowedError'))`);
    await denied.goto(`${server!.url}/`);
    await denied.waitForFunction('window.dlkitState.error', undefined, { timeout: 10_000 });
    assert.match(await message(denied), /camera access was denied/);
  } finally {
    await denied.close();
  }
  const refused = await browser!.newPage();
  try {
    await refused.route('**/v1/models', (route) => route.fulfill({ status: 401, body: '{"error":"unauthorized"}' }));
    await refused.goto(`${server!.url}/`);
    await refused.waitForFunction('window.dlkitState.error', undefined, { timeout: 10_000 });
    assert.match(await message(refused), /the server needs a token: open this page as \/#token=/);
  } finally {
    await refused.close();
  }
  const noModel = await browser!.newPage();
  try {
    await noModel.route('**/model.onnx', (route) => route.fulfill({ status: 500, contentType: 'application/json', body: '{"error":"export failed"}' }));
    await noModel.goto(`${server!.url}/#local=1`);
    await noModel.waitForFunction('window.dlkitState.error', undefined, { timeout: 20_000 });
    assert.equal(await message(noModel), `the model '${MODEL}' failed to load in this browser: GET model.onnx answered 500: export failed`);
  } finally {
    await noModel.close();
  }
});
