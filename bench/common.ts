// Helpers shared by the benchmarks: statistics, child processes, the Python side's environment.
// Nothing here loads the native addon: the orchestrating process stays idle (no libtorch, no
// OpenMP threads) while a measured child runs.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (this file runs from dist/bench/). */
export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
/** Compiled benchmark scripts (dist/bench/). */
export const distBench = path.join(root, 'dist', 'bench');
/** Python scripts live next to the TypeScript sources (bench/), not in dist/. */
export const pyBench = path.join(root, 'bench');
/** Debian's PyTorch (package python3-torch), as the issue asks. */
/** The team's real data sets: beside the project, or where DLKIT_SHARED_DATA says. */
export const SHARED_DATA = path.resolve(process.env.DLKIT_SHARED_DATA ?? path.join(root, '..', 'shared', 'data'));
export const PYTHON = process.env.DLKIT_BENCH_PYTHON ?? '/usr/bin/python3';
export const JEMALLOC = '/usr/lib/x86_64-linux-gnu/libjemalloc.so.2';

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** The q-quantile (0..1) by linear interpolation. */
export function quantile(xs: readonly number[], q: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos);
  return s[lo]! + (s[Math.min(lo + 1, s.length - 1)]! - s[lo]!) * (pos - lo);
}

export function fmt(x: number, digits = 0): string {
  return Number.isFinite(x) ? x.toFixed(digits) : String(x);
}

/** Prints a table: the first row is the header; numeric-looking columns are right-aligned. */
export function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  const numeric = rows[0]!.map((_, c) => rows.slice(1).every((r) => /^[-+0-9.,%?x ]*$/.test(r[c] ?? '')));
  const line = (r: string[]) => r.map((cell, c) => (numeric[c] ? cell.padStart(widths[c]!) : cell.padEnd(widths[c]!))).join('  ').trimEnd();
  return [line(rows[0]!), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(line)].join('\n');
}

export function progress(msg: string): void {
  process.stderr.write(`  ${msg}\n`);
}

/**
 * Environment variables that tune an allocator or a thread pool. The Python side starts from an
 * environment without them, so "PyTorch as a user runs it" is not tuned by accident (or by the
 * variables someone set to experiment with dlkit).
 */
const TUNING = /^(LD_PRELOAD|MALLOC_CONF|_RJEM_MALLOC_CONF|JE_MALLOC_CONF|MALLOC_.*_|GLIBC_TUNABLES|OMP_.*|KMP_.*|GOMP_.*|MKL_.*|OPENBLAS_.*|DNNL_.*|ONEDNN_.*)$/;
export function untunedEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!TUNING.test(k)) env[k] = v;
  return { ...env, ...extra };
}

// ---- is the machine quiet? -------------------------------------------------------------------
// Two OpenMP threads on two cores collapse when anything else runs (DESIGN.md): a benchmark
// waits for a quiet machine before each measurement, and each measuring child reports how much
// CPU the rest of the machine used while it timed (system-wide busy time from /proc/stat minus
// its own CPU time); a disturbed measurement is repeated.

/** Busy CPU seconds of the whole machine so far (user, nice, system, irq, softirq, steal). */
export function machineBusySeconds(): number {
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = f;
    return (user + nice + system + irq + softirq + steal) / 100; // USER_HZ
  } catch {
    return NaN; // not Linux: no disturbance check
  }
}

/** Our own CPU seconds (all threads). */
export function ownCpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

/** Measures the rest of the machine's CPU use while `fn` runs: % of one core. */
export function othersCpuPercent(busy0: number, own0: number, wall: number): number {
  const others = machineBusySeconds() - busy0 - (ownCpuSeconds() - own0);
  return Math.max(0, (others / wall) * 100);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Waits until the other processes use less than `maxPercent` of one core over a second (this
 * process is idle meanwhile), up to `maxWaitS`; returns the last reading.
 */
export async function waitForQuiet(maxPercent: number, maxWaitS = 600): Promise<number> {
  const start = Date.now();
  let told = false;
  for (;;) {
    const b0 = machineBusySeconds();
    const o0 = ownCpuSeconds();
    const t0 = performance.now();
    await sleep(1000);
    const pct = othersCpuPercent(b0, o0, (performance.now() - t0) / 1000);
    if (!(pct >= maxPercent)) {
      if (told) progress(`machine quiet again (others ${pct.toFixed(0)}% of a core)`);
      return pct;
    }
    if ((Date.now() - start) / 1000 > maxWaitS) {
      progress(`machine still busy after ${maxWaitS} s (others ${pct.toFixed(0)}% of a core): measuring anyway`);
      return pct;
    }
    if (!told || (Date.now() - start) % 30000 < 1000) progress(`waiting for a quiet machine: other processes use ${pct.toFixed(0)}% of a core`);
    told = true;
  }
}

/**
 * Runs a command to completion (nothing else of ours runs meanwhile); its stderr passes through
 * (progress), its last stdout line is JSON: the measurement.
 */
export function runJson<T>(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => { out += d; });
    child.stderr.setEncoding('utf8').on('data', (d: string) => { err += d; process.stderr.write(d.replace(/^(?=.)/gm, '    ')); });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      const last = out.trim().split('\n').pop() ?? '';
      if (code !== 0) {
        reject(new Error(`${path.basename(cmd)} ${args.map((a) => path.basename(a)).join(' ')} exited with ${signal ?? code}${err ? `:\n${err.trim().split('\n').slice(-8).join('\n')}` : ''}`));
        return;
      }
      try {
        resolve(JSON.parse(last) as T);
      } catch {
        reject(new Error(`${path.basename(cmd)}: expected a JSON result line, got: ${last.slice(0, 200)}`));
      }
    });
  });
}

/** Parses `--name value` and `--flag` options. */
export function parseOptions(argv: readonly string[]): { opts: Map<string, string[]>; rest: string[] } {
  const opts = new Map<string, string[]>();
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('--')) { rest.push(a); continue; }
    const eq = a.indexOf('=');
    const [name, value] = eq > 0 ? [a.slice(2, eq), a.slice(eq + 1)] : [a.slice(2), argv[i + 1] !== undefined && !argv[i + 1]!.startsWith('--') ? argv[++i]! : 'true'];
    opts.set(name, [...(opts.get(name) ?? []), value]);
  }
  return { opts, rest };
}

export function intOption(opts: Map<string, string[]>, name: string, fallback: number): number {
  const v = opts.get(name)?.at(-1);
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`--${name}: expected a whole number >= 1, got '${v}'`);
  return n;
}

export interface QuietOptions {
  /** A measurement during which other processes used more than this (% of one core) is repeated. */
  maxDisturbance: number;
  retries: number;
  wait: boolean;
}

export function quietOptions(opts: Map<string, string[]>): QuietOptions {
  const max = Number(opts.get('max-disturbance')?.at(-1) ?? 10);
  if (!(max > 0)) throw new RangeError('--max-disturbance: expected a percentage of one core > 0');
  return { maxDisturbance: max, retries: Number(opts.get('retries')?.at(-1) ?? 3), wait: opts.get('no-wait') === undefined };
}

/**
 * Runs one measurement (a child process reporting `othersCpuPct`) on a quiet machine: waits for
 * quiet first, and repeats it (up to `retries` times) when others disturbed it.
 */
export async function measureQuietly<T extends { othersCpuPct?: number }>(
  label: string, launch: () => Promise<T>, q: QuietOptions,
): Promise<T & { disturbed: boolean }> {
  for (let attempt = 0; ; attempt++) {
    if (q.wait) await waitForQuiet(q.maxDisturbance);
    const r = await launch();
    const pct = r.othersCpuPct ?? 0;
    if (!(pct > q.maxDisturbance)) return { ...r, disturbed: false };
    if (attempt >= q.retries) {
      progress(`${label}: other processes used ${pct.toFixed(0)}% of a core while it ran; keeping it (marked disturbed)`);
      return { ...r, disturbed: true };
    }
    progress(`${label}: other processes used ${pct.toFixed(0)}% of a core while it ran: repeating`);
  }
}
