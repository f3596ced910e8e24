// `npm run bench -- train-step`: the reference CNN training step (batch 128, 28x28x1), dlkit
// against PyTorch (Debian's, /usr/bin/python3). Each configuration runs in a child process of its
// own, one after the other (nothing overlaps), for several rounds whose order rotates; the table
// shows medians over rounds. Configurations:
//   dlkit             dlkit as it comes: default threads, its caching allocator, channels-last
//   pytorch-default   (a) PyTorch as a user runs it: its default threads, no env tuning, NCHW
//   pytorch-threads   (b) the same with dlkit's thread count
//   pytorch-expert    (c) jemalloc preloaded with decay off, channels-last, dlkit's thread count
// Options: --rounds 5 --steps 60 --warmup 15 --batch 128
//   --max-disturbance 10  repeat a measurement during which other processes used more than 10% of
//                         a core (up to --retries 3); --no-wait: do not wait for a quiet machine
//   --configs dlkit,pytorch-default    measure only these
//   --variant LABEL:dlkit:KEY=VAL,...  an extra dlkit configuration: env vars (DLKIT_ALLOCATOR=system,
//                                      DLKIT_NUM_THREADS=1, MALLOC_ARENA_MAX=1, LD_PRELOAD=...)
//                                      or worker options: channelsLast=0, data=synthetic
//   --variant LABEL:pytorch:KEY=VAL,...  an extra PyTorch one (untuned env plus the given vars;
//                                      threads=N, channelsLast=1)
// The last line: `train-step: dlkit <N> img/s, pytorch <M> img/s, ratio <N/M>` (M: pytorch-default).
import os from 'node:os';
import path from 'node:path';
import { JEMALLOC, PYTHON, distBench, fmt, intOption, measureQuietly, median, parseOptions, progress, pyBench, quietOptions, root, runJson, table, untunedEnv } from './common.js';

interface StepResult {
  imgPerSec: number;
  stepMsMedian: number;
  stepMsP90: number;
  minorFaultsPerStep: number;
  sysMsPerStep: number;
  othersCpuPct: number;
  disturbed: boolean;
  threads: number;
  rssMB: number;
  loss: number;
  torch?: string;
}

interface Config {
  label: string;
  what: string;
  side: 'dlkit' | 'pytorch';
  env: NodeJS.ProcessEnv;
  args: string[];
}

const EXPERT_ENV = { LD_PRELOAD: JEMALLOC, MALLOC_CONF: 'dirty_decay_ms:-1,muzzy_decay_ms:-1' };

async function dlkitThreads(): Promise<number> {
  const probe = `import(${JSON.stringify(path.join(root, 'dist', 'src', 'index.js'))}).then((dl) => console.log(JSON.stringify(dl.getNumThreads())))`;
  return runJson<number>(process.execPath, ['--input-type=module', '-e', probe], process.env);
}

function parseVariant(spec: string): Config {
  const m = /^([^:]+):(dlkit|pytorch):(.*)$/.exec(spec);
  if (!m) throw new Error(`--variant '${spec}': expected LABEL:dlkit:KEY=VAL,... or LABEL:pytorch:KEY=VAL,...`);
  const [, label, side, rest] = m as unknown as [string, string, 'dlkit' | 'pytorch', string];
  const env: Record<string, string> = {};
  const args: string[] = [];
  // Commas separate KEY=VAL pairs; a value may hold commas itself (MALLOC_CONF=a:1,b:2).
  for (const kv of rest.split(/,(?=[A-Za-z_][A-Za-z0-9_]*(?:=|,|$))/).filter(Boolean)) {
    const eq = kv.indexOf('=');
    const [k, v] = eq < 0 ? [kv, '1'] : [kv.slice(0, eq), kv.slice(eq + 1)];
    if (k === 'channelsLast') {
      if (side === 'dlkit') args.push('--channels-last', v === '0' ? '0' : '1');
      else if (v !== '0') args.push('--channels-last');
    } else if (k === 'threads') {
      if (side === 'dlkit') env.DLKIT_NUM_THREADS = v;
      else args.push('--threads', v);
    } else if (/^[a-z]/.test(k)) {
      args.push(`--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`, v); // a worker option, e.g. data=synthetic
    } else env[k] = v;
  }
  const base = side === 'dlkit' ? { ...process.env } : untunedEnv();
  return { label, what: rest || '(as is)', side, env: { ...base, ...env }, args };
}

export async function run(argv: string[]): Promise<void> {
  const { opts } = parseOptions(argv);
  const rounds = intOption(opts, 'rounds', 5);
  const steps = intOption(opts, 'steps', 60);
  const warmup = intOption(opts, 'warmup', 15);
  const batch = intOption(opts, 'batch', 128);
  const quiet = quietOptions(opts);
  const common = ['--steps', String(steps), '--warmup', String(warmup), '--batch', String(batch)];

  const threads = await dlkitThreads();
  const t = String(threads);
  let configs: Config[] = [
    { label: 'dlkit', what: `dlkit defaults (${threads} threads, caching allocator, channels-last)`, side: 'dlkit', env: { ...process.env }, args: [] },
    { label: 'pytorch-default', what: '(a) PyTorch as a user runs it (its default threads, NCHW)', side: 'pytorch', env: untunedEnv(), args: [] },
    { label: 'pytorch-threads', what: `(b) PyTorch, ${threads} threads, default allocator, NCHW`, side: 'pytorch', env: untunedEnv(), args: ['--threads', t] },
    { label: 'pytorch-expert', what: `(c) PyTorch, ${threads} threads, jemalloc no decay, channels-last`, side: 'pytorch', env: untunedEnv(EXPERT_ENV), args: ['--threads', t, '--channels-last'] },
  ];
  for (const spec of opts.get('variant') ?? []) configs.push(parseVariant(spec));
  const only = opts.get('configs')?.at(-1);
  if (only) {
    const wanted = only.split(',');
    const unknown = wanted.filter((w) => !configs.some((c) => c.label === w));
    if (unknown.length) throw new Error(`--configs: unknown ${unknown.join(', ')} (known: ${configs.map((c) => c.label).join(', ')})`);
    configs = configs.filter((c) => wanted.includes(c.label));
  }

  console.log(`train-step: reference CNN, batch ${batch}, 28x28x1; ${rounds} rounds of ${steps} steps after ${warmup} warm-up steps, each configuration alone in a child process`);
  console.log(`machine: ${os.availableParallelism()} cores (${os.cpus()[0]?.model ?? '?'}), load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}; dlkit threads ${threads}`);

  const results = new Map<string, StepResult[]>(configs.map((c) => [c.label, []]));
  for (let r = 0; r < rounds; r++) {
    const order = configs.map((_, i) => configs[(i + r) % configs.length]!);
    for (const c of order) {
      const res = await measureQuietly(`round ${r + 1}/${rounds} ${c.label}`, () => (c.side === 'dlkit'
        ? runJson<StepResult>(process.execPath, [path.join(distBench, 'train-step-dlkit.js'), ...common, ...c.args], c.env)
        : runJson<StepResult>(PYTHON, [path.join(pyBench, 'train_step.py'), ...common, ...c.args], c.env)), quiet);
      results.get(c.label)!.push(res);
      progress(`round ${r + 1}/${rounds}: ${c.label.padEnd(16)} ${fmt(res.imgPerSec).padStart(5)} img/s  (step median ${fmt(res.stepMsMedian, 1)} ms, p90 ${fmt(res.stepMsP90, 1)} ms, ${res.threads} threads, ${fmt(res.minorFaultsPerStep)} page faults/step, RSS ${fmt(res.rssMB)} MB, others ${fmt(res.othersCpuPct)}% CPU)${res.disturbed ? ' DISTURBED' : ''}`);
    }
  }

  const med = (label: string) => median(results.get(label)?.map((x) => x.imgPerSec) ?? []);
  const dl = med('dlkit');
  const rows = [['configuration', 'threads', 'img/s median', 'min', 'max', 'step ms p50', 'p90', 'faults/step', 'sys ms/step', 'dlkit ratio', 'what']];
  for (const c of configs) {
    const rs = results.get(c.label)!;
    const xs = rs.map((x) => x.imgPerSec);
    const m = (k: keyof StepResult, d = 1) => fmt(median(rs.map((x) => Number(x[k]))), d);
    rows.push([
      c.label,
      String(rs[0]?.threads ?? '?'),
      fmt(median(xs)),
      fmt(Math.min(...xs)),
      fmt(Math.max(...xs)),
      m('stepMsMedian'),
      m('stepMsP90'),
      m('minorFaultsPerStep', 0),
      m('sysMsPerStep'),
      Number.isFinite(dl) ? fmt(dl / median(xs), 2) : '-',
      c.what + (rs.some((x) => x.disturbed) ? ` [${rs.filter((x) => x.disturbed).length} disturbed]` : ''),
    ]);
  }
  console.log('');
  console.log(table(rows));
  console.log(`load average after: ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  const torch = [...results.values()].flat().find((x) => x.torch)?.torch;
  if (torch) console.log(`PyTorch ${torch} (${PYTHON})`);
  const pt = med('pytorch-default');
  const expert = med('pytorch-expert');
  if (Number.isFinite(dl) && Number.isFinite(expert)) {
    console.log(`train-step vs expert-tuned PyTorch: dlkit ${fmt(dl)} img/s, pytorch-expert ${fmt(expert)} img/s, ratio ${fmt(dl / expert, 2)}`);
  }
  if (Number.isFinite(dl) && Number.isFinite(pt)) {
    console.log(`train-step: dlkit ${fmt(dl)} img/s, pytorch ${fmt(pt)} img/s, ratio ${fmt(dl / pt, 2)}`);
  }
}
