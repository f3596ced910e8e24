// Helpers shared by the benchmarks: statistics, child processes, the Python side's environment.
// Nothing here loads the native addon: the orchestrating process stays idle (no libtorch, no
// OpenMP threads) while a measured child runs.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (this file runs from dist/bench/). */
export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
/** Compiled benchmark scripts (dist/bench/). */
export const distBench = path.join(root, 'dist', 'bench');
/** Python scripts live next to the TypeScript sources (bench/), not in dist/. */
export const pyBench = path.join(root, 'bench');
/** Debian's PyTorch (package python3-torch), as the issue asks. */
export const PYTHON = process.env.DLKIT_BENCH_PYTHON ?? '/usr/bin/python3';
export const JEMALLOC = '/usr/lib/x86_64-linux-gnu/libjemalloc.so.2';

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export function fmt(x: number, digits = 0): string {
  return Number.isFinite(x) ? x.toFixed(digits) : String(x);
}

/** Prints a table: the first row is the header; columns after the first are right-aligned. */
export function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  const line = (r: string[]) => r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ');
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

export interface ChildResult<T> { result: T; stderr: string }

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
