// The HTTP API end to end over real HTTP on loopback: routes, errors, auth, limits, a burst past
// the queue, metrics, and `dlkit serve` draining in-flight requests on SIGTERM.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import * as dl from '../../src/index.js';
import { CLI } from '../support/run-cli.js';
import { colourNet } from '../support/colour-net.js';

const image = (r: number, g: number, b: number, format: 'jpeg' | 'png' = 'png') => sharp({ create: { width: 40, height: 30, channels: 3, background: { r, g, b } } })[format]().toBuffer();

async function serving(serviceOptions: dl.ModelServiceOptions, serverOptions: dl.ServerOptions = {}) {
  const net = colourNet();
  const service = await dl.ModelService.start(net, { name: 'colours', ...serviceOptions });
  net.dispose();
  return dl.startServer([service], { port: 0, ...serverOptions });
}

test('serve: models, classify (raw and multipart), classify-batch, health, errors by status, metrics', async () => {
  const server = await serving({});
  try {
    const u = server.url;
    assert.deepEqual(await (await fetch(`${u}/healthz`)).json(), { status: 'ok' });
    assert.equal((await (await fetch(`${u}/readyz`)).json() as any).ready, true);
    const models = (await (await fetch(`${u}/v1/models`)).json() as any).models;
    assert.deepEqual(models.map((m: { name: string; classes: string[]; inputSize: number[] }) => [m.name, m.classes, m.inputSize]), [['colours', ['red', 'green', 'blue'], [3, 16, 16]]]);
    assert.ok(!('source' in models[0]), 'no file path is told');
    const raw = await fetch(`${u}/v1/models/colours/classify?top=2`, { method: 'POST', body: await image(20, 30, 220, 'jpeg'), headers: { 'content-type': 'image/jpeg' } });
    const a = await raw.json() as any;
    assert.equal(raw.status, 200);
    assert.equal(a.predictions.length, 2);
    assert.equal(a.predictions[0].label, 'blue');
    const form = new FormData();
    form.append('image', new Blob([await image(20, 220, 30)], { type: 'image/png' }), 'g.png');
    assert.equal((await (await fetch(`${u}/v1/models/colours/classify`, { method: 'POST', body: form })).json() as any).predictions[0].label, 'green');
    const batch = new FormData();
    batch.append('a', new Blob([await image(230, 10, 10)]), 'a.png');
    batch.append('b', new Blob([Buffer.from('not an image')]), 'b.png');
    batch.append('c', new Blob([await image(10, 10, 230)]), 'c.png');
    const results = (await (await fetch(`${u}/v1/models/colours/classify-batch?top=1`, { method: 'POST', body: batch })).json() as any).results;
    assert.deepEqual(results.map((r: { file: string; predictions?: { label: string }[]; error?: string }) => [r.file, r.predictions?.[0]!.label ?? 'error']), [['a.png', 'red'], ['b.png', 'error'], ['c.png', 'blue']]);
    const bad = await fetch(`${u}/v1/models/colours/classify`, { method: 'POST', body: 'hello', headers: { 'content-type': 'image/png' } });
    assert.equal(bad.status, 400);
    assert.match((await bad.json() as any).error, /not a usable image/);
    assert.equal((await fetch(`${u}/v1/models/nope/classify`, { method: 'POST', body: await image(1, 2, 3), headers: { 'content-type': 'image/png' } })).status, 404);
    assert.equal((await fetch(`${u}/v1/models/colours/classify`, { method: 'POST', body: 'x', headers: { 'content-type': 'text/plain' } })).status, 415);
    assert.equal((await (await fetch(`${u}/v1/models/colours/classify`, { method: 'POST', body: await image(230, 10, 10), headers: { 'content-type': 'image/png' } })).json() as any).predictions[0].label, 'red', 'the server goes on after bad requests');
    const metrics = await (await fetch(`${u}/metrics`)).text();
    assert.match(metrics, /dlkit_requests_total\{[^}]*model="colours"[^}]*status="200"[^}]*\} [3-9]/);
    assert.match(metrics, /dlkit_requests_total\{[^}]*status="400"[^}]*\} 1/);
    assert.match(metrics, /dlkit_queue_depth\{model="colours"\} 0/);
  } finally {
    await server.close();
  }
});

test('serve: a bearer token guards every route but health; limits on body size and pixels; CORS off unless configured', async () => {
  const server = await serving({ limitInputPixels: 100_000 }, { token: 'sesame', bodyLimit: 200_000, cors: ['http://allowed.example'] });
  try {
    const u = server.url;
    assert.equal((await fetch(`${u}/healthz`)).status, 200);
    const none = await fetch(`${u}/v1/models`);
    assert.equal(none.status, 401);
    assert.match(none.headers.get('www-authenticate')!, /^Bearer/);
    assert.equal((await fetch(`${u}/v1/models`, { headers: { authorization: 'Bearer wrong' } })).status, 401);
    const auth = { authorization: 'Bearer sesame' };
    assert.equal((await fetch(`${u}/v1/models`, { headers: auth })).status, 200);
    const big = await fetch(`${u}/v1/models/colours/classify`, { method: 'POST', body: Buffer.alloc(300_000), headers: { ...auth, 'content-type': 'image/png' } });
    assert.equal(big.status, 413);
    const bomb = await sharp({ create: { width: 2000, height: 2000, channels: 3, background: 'white' } }).png().toBuffer();
    assert.ok(bomb.length < 200_000);
    const refused = await fetch(`${u}/v1/models/colours/classify`, { method: 'POST', body: bomb, headers: { ...auth, 'content-type': 'image/png' } });
    assert.equal(refused.status, 400);
    assert.match((await refused.json() as any).error, /pixel limit/);
    const allowed = await fetch(`${u}/v1/models`, { headers: { ...auth, origin: 'http://allowed.example' } });
    assert.equal(allowed.headers.get('access-control-allow-origin'), 'http://allowed.example');
    const other = await fetch(`${u}/v1/models`, { headers: { ...auth, origin: 'http://evil.example' } });
    assert.equal(other.headers.get('access-control-allow-origin'), null);
  } finally {
    await server.close();
  }
  const plain = await serving({});
  try {
    assert.equal((await fetch(`${plain.url}/v1/models`, { headers: { origin: 'http://allowed.example' } })).headers.get('access-control-allow-origin'), null, 'CORS off by default');
  } finally {
    await plain.close();
  }
});

test('serve: a burst beyond the queue gets immediate 503s with Retry-After; the rest are answered', async () => {
  const server = await serving({ maxQueue: 2, maxBatchSize: 1 });
  try {
    const body = await image(200, 20, 20);
    const answers = await Promise.all(Array.from({ length: 30 }, () => fetch(`${server.url}/v1/models/colours/classify`, { method: 'POST', body, headers: { 'content-type': 'image/png' } })));
    const statuses = answers.map((r) => r.status);
    assert.ok(statuses.includes(503), `some refused: ${statuses}`);
    assert.ok(statuses.includes(200), `some answered: ${statuses}`);
    assert.ok(statuses.every((s) => s === 200 || s === 503), `${statuses}`);
    const refused = answers.find((r) => r.status === 503)!;
    assert.match(refused.headers.get('retry-after')!, /^\d+$/);
    assert.match((await refused.json() as any).error, /the queue is full/);
  } finally {
    await server.close();
  }
});

test('dlkit serve: prints its URL, answers, and on SIGTERM answers the requests in flight, then exits 0', { timeout: 90_000 }, async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'dlkit-serve-'));
  try {
    const net = colourNet();
    const file = path.join(dir, 'colours.safetensors');
    await dl.saveModel(net, file);
    net.dispose();
    const child = spawn(process.execPath, [CLI, 'serve', file, '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => { out += d; });
    child.stderr.setEncoding('utf8').on('data', (d: string) => { out += d; });
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    const url = await new Promise<string>((resolve, reject) => {
      const t = setInterval(() => {
        const m = /listening on (http:\/\/\S+)/.exec(out);
        if (m) { clearInterval(t); resolve(m[1]!); }
        if (child.exitCode !== null) { clearInterval(t); reject(new Error(out)); }
      }, 50);
    });
    const body = await image(10, 200, 20);
    // Requests keep coming; SIGTERM lands among them. Every request sent before it is answered
    // 200; one sent after gets 503 or a refused connection (never a cut answer).
    let killedAt = Infinity;
    const outcomes: (string | number)[] = [];
    const answeredAfterKill: number[] = [];
    const clients = Array.from({ length: 8 }, async () => {
      for (;;) {
        const sentAfterKill = performance.now() > killedAt;
        try {
          const r = await fetch(`${url}/v1/models/colours/classify`, { method: 'POST', body, headers: { 'content-type': 'image/png' } });
          const label = (await r.json() as any).predictions?.[0].label;
          // A request that reaches a closing server gets 503 (and Connection: close), not silence.
          if (!(sentAfterKill && r.status === 503)) outcomes.push(r.status === 200 && label === 'green' ? 200 : `${r.status} ${label}`);
          if (performance.now() > killedAt) answeredAfterKill.push(r.status);
        } catch (err) {
          if (performance.now() < killedAt) throw err;
          return; // refused: the server no longer listens
        }
      }
    });
    while (outcomes.length < 20) await new Promise((r) => setTimeout(r, 5));
    killedAt = performance.now();
    child.kill('SIGTERM');
    await Promise.all(clients);
    assert.ok(outcomes.every((o) => o === 200), `every accepted request was answered with its label: ${outcomes.filter((o) => o !== 200)}`);
    assert.ok(answeredAfterKill.length > 0, 'requests in flight at SIGTERM were answered');
    assert.equal(await exited, 0, out);
    assert.match(out, /draining/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
