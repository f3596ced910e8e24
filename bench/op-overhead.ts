// `npm run bench -- op-overhead`: the cost of one tiny op called from the host language, dlkit
// (Node) against PyTorch (Python): add of two 1-element tensors, 100k calls, as a new tensor
// (disposed right away; Python frees it by reference count) and in place. Each side runs alone
// in a child process, several alternating rounds; medians.
// Options: --rounds 5 --calls 100000 (and --max-disturbance, --retries, --no-wait as train-step)
// The last line: `op-overhead: dlkit <a> us, pytorch <b> us` (the new-tensor variant).
import path from 'node:path';
import { PYTHON, distBench, fmt, intOption, measureQuietly, median, parseOptions, progress, pyBench, quietOptions, runJson, table, untunedEnv } from './common.js';

interface OpResult { usNew: number; usInPlace: number; othersCpuPct: number; disturbed: boolean; leaked?: number; torch?: string }

export async function run(argv: string[]): Promise<void> {
  const { opts } = parseOptions(argv);
  const rounds = intOption(opts, 'rounds', 5);
  const calls = intOption(opts, 'calls', 100_000);
  const quiet = quietOptions(opts);
  console.log(`op-overhead: add of two 1-element float32 tensors, ${calls} calls, ${rounds} alternating rounds, each side alone in a child process`);
  const dl: OpResult[] = [];
  const pt: OpResult[] = [];
  for (let r = 0; r < rounds; r++) {
    const sides = r % 2 ? (['pytorch', 'dlkit'] as const) : (['dlkit', 'pytorch'] as const);
    for (const side of sides) {
      const res = await measureQuietly(`round ${r + 1}/${rounds} ${side}`, () => (side === 'dlkit'
        ? runJson<OpResult>(process.execPath, [path.join(distBench, 'op-overhead-dlkit.js'), '--calls', String(calls)], process.env)
        : runJson<OpResult>(PYTHON, [path.join(pyBench, 'op_overhead.py'), '--calls', String(calls)], untunedEnv())), quiet);
      (side === 'dlkit' ? dl : pt).push(res);
      progress(`round ${r + 1}/${rounds}: ${side.padEnd(7)} new tensor ${fmt(res.usNew, 2)} us, in place ${fmt(res.usInPlace, 2)} us (others ${fmt(res.othersCpuPct)}% CPU)${res.leaked ? ` (${res.leaked} tensors leaked!)` : ''}${res.disturbed ? ' DISTURBED' : ''}`);
    }
  }
  const m = (xs: OpResult[], k: 'usNew' | 'usInPlace') => median(xs.map((x) => x[k]));
  console.log('');
  console.log(table([
    ['variant', 'dlkit us/call', 'pytorch us/call', 'ratio'],
    ['a.add(b), new tensor', fmt(m(dl, 'usNew'), 2), fmt(m(pt, 'usNew'), 2), fmt(m(dl, 'usNew') / m(pt, 'usNew'), 2)],
    ['a.add_(b), in place', fmt(m(dl, 'usInPlace'), 2), fmt(m(pt, 'usInPlace'), 2), fmt(m(dl, 'usInPlace') / m(pt, 'usInPlace'), 2)],
  ]));
  if (pt[0]?.torch) console.log(`PyTorch ${pt[0].torch} (${PYTHON})`);
  console.log(`op-overhead (in place): dlkit ${fmt(m(dl, 'usInPlace'), 2)} us, pytorch ${fmt(m(pt, 'usInPlace'), 2)} us`);
  console.log(`op-overhead: dlkit ${fmt(m(dl, 'usNew'), 2)} us, pytorch ${fmt(m(pt, 'usNew'), 2)} us`);
}
