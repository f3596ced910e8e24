// `npm run bench -- serve`: throughput and latency of `dlkit serve` under a load generator
// (autocannon) on loopback, against a Python server as a user would write it (FastAPI + uvicorn +
// PyTorch eager, bench/serve_peer.py) with the same weights and the same load, in the same run.
// Two models: the default preset's CIFAR-10 CNN (a 32x32 CIFAR-10 JPEG per request) and
// ResNet-18 (a 500x375 photo per request, resized to 224x224 by each server). 1, 16 and 64
// concurrent clients, --duration seconds each (default 30). RSS of each server is read after a
// warm-up and after the load. --soak: dlkit alone, 64 clients for --soak-minutes (default 10) on
// the CNN, RSS growth from the first minute to the end.
// Options: --duration S --models cnn,resnet18 --clients 1,16,64 --soak [--soak-minutes M].
// Last line: `serve: c64 dlkit <req/s> p99 <ms> errors <n>; python <req/s> p99 <ms> errors <n>;
// rss growth <pct>` for the CNN (a line before it for ResNet-18).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import net from 'node:net';
import autocannon from 'autocannon';
import { PYTHON, SHARED_DATA, distBench, fmt, parseOptions, progress, pyBench, root, runJson, table, untunedEnv } from './common.js';

const CLI = path.join(root, 'dist', 'src', 'cli', 'main.js');

interface Load { clients: number; reqPerSec: number; p50: number; p99: number; errors: number; non2xx: number; requests: number }
interface ServerRun { loads: Load[]; rssStartMiB: number; rssEndMiB: number }

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    }).on('error', reject);
  });
}

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

async function waitHealthy(url: string, child: ChildProcess, log: () => string, timeoutMs = 120_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (child.exitCode !== null) throw new Error(`the server exited (${child.exitCode}) before it answered:\n${log().slice(-2000)}`);
    try {
      const r = await fetch(`${url}/healthz`);
      if (r.ok) return;
    } catch { /* not listening yet */ }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`the server did not answer ${url}/healthz within ${timeoutMs / 1000} s:\n${log().slice(-2000)}`);
}

function startServer(cmd: string, args: string[], env: NodeJS.ProcessEnv): { child: ChildProcess; log: () => string } {
  const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => { out += d; });
  child.stderr!.setEncoding('utf8').on('data', (d: string) => { out += d; });
  return { child, log: () => out };
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const t = setTimeout(() => child.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(t);
}

async function load(url: string, body: Buffer, clients: number, seconds: number): Promise<Load> {
  const r = await autocannon({ url, method: 'POST', body, headers: { 'content-type': 'image/jpeg' }, connections: clients, duration: seconds, timeout: 30 });
  return {
    clients, reqPerSec: r.requests.average, p50: r.latency.p50, p99: r.latency.p99,
    errors: r.errors + r.timeouts + r.non2xx, non2xx: r.non2xx, requests: r.requests.total,
  };
}

async function measure(label: string, cmd: string, args: string[], env: NodeJS.ProcessEnv, port: number, body: Buffer, clients: number[], seconds: number): Promise<ServerRun> {
  const base = `http://127.0.0.1:${port}`;
  const { child, log } = startServer(cmd, args, env);
  try {
    await waitHealthy(base, child, log);
    const url = `${base}/v1/models/model/classify`;
    const check = await fetch(url, { method: 'POST', body, headers: { 'content-type': 'image/jpeg' } });
    if (!check.ok) throw new Error(`${label}: a test request answered ${check.status}: ${await check.text()}`);
    progress(`${label}: warm-up 3 s`);
    await load(url, body, Math.max(...clients), 3);
    const rssStartMiB = rssMiB(child.pid!);
    const loads: Load[] = [];
    for (const c of clients) {
      progress(`${label}: ${c} client${c > 1 ? 's' : ''}, ${seconds} s`);
      loads.push(await load(url, body, c, seconds));
    }
    return { loads, rssStartMiB, rssEndMiB: rssMiB(child.pid!) };
  } finally {
    await stop(child);
  }
}

function firstJpeg(dir: string): string {
  for (const sub of readdirSync(dir).sort()) {
    const d = path.join(dir, sub);
    const f = readdirSync(d).sort().find((n) => n.endsWith('.jpg'));
    if (f) return path.join(d, f);
  }
  throw new Error(`${dir}: no JPEG found`);
}

export async function run(argv: string[]): Promise<void> {
  const { opts } = parseOptions(argv);
  const seconds = Number(opts.get('duration')?.at(-1) ?? 30);
  const clients = (opts.get('clients')?.at(-1) ?? '1,16,64').split(',').map(Number);
  const models = (opts.get('models')?.at(-1) ?? 'resnet18,cnn').split(',');
  const soak = opts.has('soak');
  const soakMinutes = Number(opts.get('soak-minutes')?.at(-1) ?? 10);
  for (const m of models) if (!['cnn', 'resnet18'].includes(m)) throw new RangeError(`--models: unknown model '${m}' (cnn, resnet18)`);
  const cifar = path.join(SHARED_DATA, 'cifar10', 'test');
  const photos = path.join(SHARED_DATA, 'hymenoptera', 'val');
  for (const d of [cifar, photos]) if (!existsSync(d)) throw new Error(`${d} not found: the benchmark sends real images from shared/data (set DLKIT_SHARED_DATA)`);
  const bodies = { cnn: readFileSync(firstJpeg(cifar)), resnet18: readFileSync(firstJpeg(photos)) };

  const tmp = mkdtempSync(path.join(os.tmpdir(), 'dlkit-bench-serve-'));
  try {
    const pth = path.join(tmp, 'resnet18.pth');
    progress(`PyTorch ${PYTHON}: seeded ResNet-18 weights`);
    await runJson<unknown>(PYTHON, [path.join(pyBench, 'serve_peer.py'), '--model', 'resnet18', '--weights', pth, '--write-weights'], untunedEnv());
    const files = await runJson<Record<'cnn' | 'resnet18', string>>(process.execPath, [path.join(distBench, 'serve-model.js'), '--out', tmp, '--resnet18-pth', pth], process.env);
    const results: Record<string, { dlkit: ServerRun; python: ServerRun }> = {};
    for (const m of models as ('cnn' | 'resnet18')[]) {
      const port = await freePort();
      const dlkit = await measure(`dlkit ${m}`, process.execPath, [CLI, 'serve', files[m], '--name', 'model', '--port', String(port)], process.env, port, bodies[m], clients, seconds);
      const pyPort = await freePort();
      const weights = m === 'cnn' ? files.cnn : pth;
      const python = await measure(`python ${m}`, PYTHON, [path.join(pyBench, 'serve_peer.py'), '--model', m, '--weights', weights, '--name', 'model', '--port', String(pyPort)], untunedEnv(), pyPort, bodies[m], clients, seconds);
      results[m] = { dlkit, python };
      console.log(`\n${m}: ${seconds} s per row; one image per request (${bodies[m].length} bytes)`);
      const rows = [['clients', 'dlkit req/s', 'python req/s', 'ratio', 'dlkit p50 ms', 'python p50 ms', 'dlkit p99 ms', 'python p99 ms', 'dlkit errors', 'python errors']];
      clients.forEach((c, i) => {
        const d = dlkit.loads[i]!, p = python.loads[i]!;
        rows.push([String(c), fmt(d.reqPerSec, 1), fmt(p.reqPerSec, 1), fmt(d.reqPerSec / p.reqPerSec, 2), fmt(d.p50, 1), fmt(p.p50, 1), fmt(d.p99, 1), fmt(p.p99, 1), String(d.errors), String(p.errors)]);
      });
      console.log(table(rows));
      console.log(`RSS after warm-up → after the load: dlkit ${fmt(dlkit.rssStartMiB)} → ${fmt(dlkit.rssEndMiB)} MiB, python ${fmt(python.rssStartMiB)} → ${fmt(python.rssEndMiB)} MiB`);
    }
    let growth: number | null = null;
    if (soak) {
      const port = await freePort();
      const { child, log } = startServer(process.execPath, [CLI, 'serve', files.cnn, '--name', 'model', '--port', String(port)], process.env);
      try {
        const base = `http://127.0.0.1:${port}`;
        await waitHealthy(base, child, log);
        const url = `${base}/v1/models/model/classify`;
        progress(`soak: dlkit cnn, 64 clients, 1 minute warm-up then ${soakMinutes - 1} minutes`);
        const warm = await load(url, bodies.cnn, 64, 60);
        const start = rssMiB(child.pid!);
        const rest = await load(url, bodies.cnn, 64, (soakMinutes - 1) * 60);
        const end = rssMiB(child.pid!);
        growth = (end / start - 1) * 100;
        console.log(`\nsoak: ${soakMinutes} min at 64 clients, ${warm.requests + rest.requests} requests, ${warm.errors + rest.errors} errors; RSS ${fmt(start)} MiB after 1 min → ${fmt(end)} MiB (${growth >= 0 ? '+' : ''}${fmt(growth, 1)}%)`);
      } finally {
        await stop(child);
      }
    }
    const line = (m: string) => {
      const r = results[m];
      if (!r) return null;
      const i = clients.indexOf(64) >= 0 ? clients.indexOf(64) : clients.length - 1;
      const d = r.dlkit.loads[i]!, p = r.python.loads[i]!;
      const g = m === 'cnn' && growth !== null ? growth : (r.dlkit.rssEndMiB / r.dlkit.rssStartMiB - 1) * 100;
      return `c${d.clients} dlkit ${fmt(d.reqPerSec, 1)} p99 ${fmt(d.p99)} errors ${d.errors}; python ${fmt(p.reqPerSec, 1)} p99 ${fmt(p.p99)} errors ${p.errors}; rss growth ${fmt(g, 1)}%${m === 'cnn' && growth !== null ? ` (${soakMinutes}-min soak)` : ` (over the ${clients.length * seconds} s run)`}`;
    };
    console.log('');
    if (results.resnet18) console.log(`serve resnet18: ${line('resnet18')}`);
    if (results.cnn) console.log(`serve: ${line('cnn')}`);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
