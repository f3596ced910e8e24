// The webcam page in Debian's Chromium through playwright-core, with a fake camera: Chromium plays
// a .y4m recording made from real photos as its camera. For each photo, the labels the page shows
// (from the server over the WebSocket, then from the model run in the page by onnxruntime-web)
// must be the label `dl.classify` gives the photo file itself.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { chromium } from 'playwright-core';
import WebSocket from 'ws';
import * as dl from '../../src/index.js';
import { SHARED_DATA } from '../support/shared-data.js';
import { colourNet } from '../support/colour-net.js';
import { writeY4m } from '../support/y4m.js';

const CHROMIUM = '/usr/bin/chromium';
// The camera path resizes twice and JPEG-compresses the frame: a photo whose top class wins by less
// than this margin over the second may honestly flip, so only clearer photos are asserted on.
const MARGIN = 0.3;
const PHOTOS_NEEDED = 4;

const weights = path.join(SHARED_DATA, 'pretrained', 'resnet-cifar10', 'resnet20-12fca82f.th');
const val = path.join(SHARED_DATA, 'hymenoptera', 'val');
const real = existsSync(weights) && existsSync(val);


async function generatedPhotos(dir: string): Promise<string[]> {
  const colours = [[200, 40, 30], [30, 170, 50], [40, 60, 210], [220, 90, 60], [60, 200, 120]];
  return Promise.all(colours.map(async ([r, g, b], i) => {
    const f = path.join(dir, `generated-${i}.png`);
    // Texture from a fixed sequence, so the images are the same every run.
    const px = Buffer.alloc(120 * 90 * 3, 0).map((_, j) => Math.max(0, Math.min(255, [r!, g!, b!][j % 3]! + ((j * 7919) % 41) - 20)));
    await sharp(px, { raw: { width: 120, height: 90, channels: 3 } }).png().toFile(f);
    return f;
  }));
}

test(`the webcam page in Chromium shows, for each photo on a fake camera, the label dlkit classify gives it (server and in-browser ONNX)${real ? '' : ` — ${weights} or ${val} not found: generated images and a colour classifier instead`}`, { timeout: 240_000 }, async () => {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: npm test's setup installs Debian's chromium`);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'dlkit-webcam-'));
  const net = real ? await dl.pretrained('resnet20-cifar10', { weights }) : colourNet(32);
  const candidates = real
    ? ['ants', 'bees'].flatMap((c) => readdirSync(path.join(val, c)).sort().slice(0, 8).map((f) => path.join(val, c, f)))
    : await generatedPhotos(dir);
  const chosen: { file: string; label: string }[] = [];
  for (const file of candidates) {
    const img = await dl.readImage(file, { size: net.inputShape });
    const x = img.unsqueeze(0);
    const { labels, scores } = await dl.classify(net, x);
    const [first, second] = dl.tidy(() => Array.from(scores.topk(2, { dim: 1 }).values.dataSync() as Float32Array));
    dl.dispose([img, x, scores]);
    if (first! - second! >= MARGIN) chosen.push({ file, label: labels[0]! });
    if (chosen.length === PHOTOS_NEEDED) break;
  }
  assert.equal(chosen.length, PHOTOS_NEEDED, `${PHOTOS_NEEDED} photos whose top class beats the second by ≥ ${MARGIN}`);
  const service = await dl.ModelService.start(net, { name: real ? 'resnet20-cifar10' : 'colours' });
  net.dispose();
  const server = await dl.startServer([service], { port: 0 });
  try {
    for (const [i, { file, label }] of chosen.entries()) {
      const video = path.join(dir, `camera-${i}.y4m`);
      await writeY4m([file], video, { width: 320, height: 240, framesEach: 5, fps: 10 });
      const browser = await chromium.launch({
        executablePath: CHROMIUM,
        args: ['--no-sandbox', '--disable-gpu', '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream', `--use-file-for-fake-video-capture=${video}`,
          '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      });
      try {
        const page = await browser.newPage({ viewport: { width: 800, height: 600 } });
        const problems: string[] = [];
        page.on('pageerror', (e) => problems.push(e.message));
        await page.goto(server.url);
        // Server mode: a few answered frames, then the label shown.
        const shown = await page.waitForFunction('window.dlkitState && window.dlkitState.mode === "server" && window.dlkitState.frames >= 3 && window.dlkitState', undefined, { timeout: 60_000 })
          .then((h) => h.jsonValue()) as { predictions: { label: string; score: number }[]; fps: number; latencyMs: number };
        assert.deepEqual(problems, [], 'no errors in the page');
        assert.equal(shown.predictions[0]!.label, label, `${path.basename(file)}: the page shows ${shown.predictions[0]!.label}, dlkit classify says ${label}`);
        assert.ok(shown.fps > 0 && shown.latencyMs > 0, `frames/s ${shown.fps}, latency ${shown.latencyMs} ms`);
        const overlay = await page.textContent('#labels');
        assert.ok(overlay!.startsWith(label), `the overlay lists ${label} first: ${overlay}`);
        assert.match((await page.textContent('#fps'))!, /^\d+\.\d frames\/s$/);
        if (i === 0) {
          const shot = path.join(dir, 'webcam.png');
          await page.screenshot({ path: shot });
          assert.ok(statSync(shot).size > 10_000, 'a screenshot of the page');
          if (process.env.DLKIT_SCREENSHOT_DIR) {
            mkdirSync(process.env.DLKIT_SCREENSHOT_DIR, { recursive: true });
            copyFileSync(shot, path.join(process.env.DLKIT_SCREENSHOT_DIR, 'webcam.png'));
          }
        }
        // The same photo with the model run in the page by onnxruntime-web.
        await page.check('#inBrowser');
        const local = await page.waitForFunction('window.dlkitState.mode === "browser" && (window.dlkitState.frames >= 3 || (window.dlkitState.error && window.dlkitState.error.includes("cannot run"))) && window.dlkitState', undefined, { timeout: 60_000 })
          .then((h) => h.jsonValue()) as { predictions: { label: string }[]; error: string | null };
        assert.equal(local.error, null, 'the model runs in the browser');
        assert.equal(local.predictions[0]!.label, label, `${path.basename(file)} in the browser: ${local.predictions[0]!.label}, dlkit classify says ${label}`);
        assert.deepEqual(problems, [], 'no errors in the page');
      } finally {
        await browser.close();
      }
    }
  } finally {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the webcam page\'s routes: the page and its assets need no token, the stream and the ONNX model do; unknown files are 404', { timeout: 60_000 }, async () => {
  const net = colourNet(32);
  const service = await dl.ModelService.start(net, { name: 'colours' });
  net.dispose();
  const server = await dl.startServer([service], { port: 0, token: 'sesame' });
  try {
    const page = await fetch(`${server.url}/`);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<video id="video"/);
    for (const f of ['app.js', 'style.css', 'ort/ort.wasm.bundle.min.mjs']) assert.equal((await fetch(`${server.url}/page/${f}`)).status, 200, f);
    // Names outside the list are refused (404; 401 where the URL normalizes out of /page/ onto a private route).
    for (const f of ['../../package.json', '..%2F..%2Fpackage.json', 'ort/..%2F..%2Fpackage.json', 'ort/package.json', 'secret.txt']) {
      const r = await fetch(`${server.url}/page/${f}`);
      assert.ok(r.status === 404 || r.status === 401, `${f}: ${r.status}`);
      assert.doesNotMatch(await r.text(), /"version"/, f);
    }
    assert.equal((await fetch(`${server.url}/v1/models/colours/model.onnx`)).status, 401);
    const onnx = await fetch(`${server.url}/v1/models/colours/model.onnx`, { headers: { authorization: 'Bearer sesame' } });
    assert.equal(onnx.status, 200);
    assert.equal(onnx.headers.get('x-dlkit-outputs'), 'logits');
    assert.ok((await onnx.arrayBuffer()).byteLength > 100);
    // The stream over a real WebSocket client (ws): the token as a subprotocol.
    const refused = await new Promise<string>((resolve) => {
      const ws = new WebSocket(`${server.url.replace('http', 'ws')}/v1/stream?model=colours`, ['dlkit.v1']);
      ws.on('open', () => resolve('open'));
      ws.on('unexpected-response', (req, res) => { resolve(`refused ${res.statusCode}`); req.destroy(); });
      ws.on('error', () => {});
    });
    assert.equal(refused, 'refused 401', 'no token, no stream');
    const ws = new WebSocket(`${server.url.replace('http', 'ws')}/v1/stream?model=colours&top=2`, ['dlkit.v1', 'bearer.sesame']);
    const next = () => new Promise<any>((resolve) => ws.once('message', (data) => resolve(JSON.parse(String(data)))));
    await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); });
    assert.equal(ws.protocol, 'dlkit.v1');
    const red = await sharp({ create: { width: 50, height: 40, channels: 3, background: { r: 230, g: 20, b: 20 } } }).jpeg().toBuffer();
    let answer = next();
    ws.send(red);
    const a = await answer;
    assert.deepEqual(a.predictions.map((p: { label: string }) => p.label), ['red', a.predictions[1].label]);
    assert.equal(a.predictions.length, 2);
    answer = next();
    ws.send(new TextEncoder().encode('not an image'));
    assert.match((await answer).error, /not a usable image/);
    answer = next();
    ws.send('text');
    assert.match((await answer).error, /binary message/);
    answer = next();
    ws.send(red);
    assert.equal((await answer).predictions[0].label, 'red', 'the socket goes on after bad frames');
    ws.close();
  } finally {
    await server.close();
  }
});
