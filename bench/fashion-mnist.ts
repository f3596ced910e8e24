// `npm run bench -- fashion-mnist [--preset default|best] [--epochs N] [--seed 0] [--augment LIST] [--pytorch-epochs 6]`:
// dlkit's preset against the plain PyTorch recipe (bench/fashion_mnist.py), one after the other
// in the same run. For each: wall time (training + the per-epoch test evaluation) to reach 91%,
// 92% and 93% test accuracy, and the best accuracy. With --preset best, PyTorch is skipped
// unless --pytorch-epochs is given, and resident memory per epoch shows whether it stays flat.
// --seed picks dlkit's initial weights and draws (another seed: the run-to-run spread); a list
// (--seed 0,1,2,3) trains once per seed, one after the other, adds a row for each and a line with
// the spread, and the last line then reports the worst seed: the slowest to 93%, the lowest best.
// --augment replaces the preset's training transforms, in `dlkit train --augment` syntax
// (e.g. flip,crop:1, or none), to measure a variant of a preset.
import path from 'node:path';
import { PYTHON, distBench, fmt, parseOptions, progress, pyBench, runJson, table, untunedEnv } from './common.js';

interface EpochResult { epoch: number; time: number; accuracy: number; rssMB?: number }

const timeTo = (rs: EpochResult[], target: number) => rs.find((r) => r.accuracy >= target)?.time;
const seconds = (t: number | undefined) => (t === undefined ? 'never' : fmt(t, 1));
const show = (t: number | undefined) => (t === undefined ? 'never' : `${seconds(t)} s`);

export async function run(argv: string[]): Promise<void> {
  const { opts } = parseOptions(argv);
  const presetName = opts.get('preset')?.[0] ?? 'default';
  const epochs = opts.get('epochs')?.[0];
  const seedList = opts.get('seed')?.[0] ?? '0';
  if (!/^\d+(,\d+)*$/.test(seedList)) throw new RangeError(`fashion-mnist: --seed must be a whole number or a list of them (0,1,2,3), got '${seedList}'`);
  const seeds = seedList.split(',');
  const pytorchEpochs = Number(opts.get('pytorch-epochs')?.[0] ?? (presetName === 'default' ? 6 : 0));
  const augment = opts.get('augment')?.[0];
  const runs: { seed: string; results: EpochResult[] }[] = [];
  for (const seed of seeds) {
    progress(`dlkit, preset '${presetName}'${epochs ? `, ${epochs} epochs` : ''}, seed ${seed}${augment ? `, augment ${augment}` : ''}…`);
    runs.push({ seed, results: await runJson<EpochResult[]>(process.execPath, [path.join(distBench, 'fashion-mnist-dlkit.js'), presetName, epochs ?? '', seed, augment ?? ''], process.env) });
  }
  let pytorch: EpochResult[] = [];
  if (pytorchEpochs > 0) {
    progress(`pytorch, plain recipe, ${pytorchEpochs} epochs…`);
    pytorch = await runJson<EpochResult[]>(PYTHON, [path.join(pyBench, 'fashion_mnist.py'), String(pytorchEpochs)], untunedEnv());
  }
  const rows = [['', 'to 91%', 'to 92%', 'to 93%', 'best', 'epochs', 'total']];
  const named = runs.map((r) => [`dlkit ${presetName}${seeds.length > 1 ? ` seed ${r.seed}` : ''}`, r.results] as const);
  for (const [name, rs] of [...named, ['pytorch plain', pytorch] as const]) {
    if (!rs.length) continue;
    const best = Math.max(...rs.map((r) => r.accuracy));
    rows.push([name, show(timeTo(rs, 0.91)), show(timeTo(rs, 0.92)), show(timeTo(rs, 0.93)), fmt(best * 100, 2) + '%', String(rs.length), `${fmt(rs.at(-1)!.time, 1)} s`]);
  }
  console.log(table(rows));
  for (const { seed, results } of runs) {
    const rss = results.map((r) => r.rssMB ?? NaN).filter(Number.isFinite);
    if (rss.length >= 2) console.log(`dlkit resident memory per epoch (MB)${seeds.length > 1 ? `, seed ${seed}` : ''}: ${rss.map((m) => fmt(m, 0)).join(' ')}; growth from epoch 1 to ${rss.length}: ${fmt(((rss.at(-1)! - rss[0]!) / rss[0]!) * 100, 1)}%`);
  }
  const bests = runs.map((r) => Math.max(...r.results.map((e) => e.accuracy)));
  const times = runs.map((r) => timeTo(r.results, 0.93));
  if (seeds.length > 1) {
    const totals = runs.map((r) => r.results.at(-1)!.time);
    const pct = (x: number) => `${fmt(x * 100, 2)}%`;
    console.log(`dlkit over seeds ${seedList}: best ${pct(Math.min(...bests))}–${pct(Math.max(...bests))}, mean ${pct(bests.reduce((a, b) => a + b, 0) / bests.length)}; total ${fmt(Math.min(...totals), 1)}–${fmt(Math.max(...totals), 1)} s`);
  }
  // One seed: its numbers. Several: the worst of them (never reached counts as the slowest).
  const to93 = times.some((t) => t === undefined) ? undefined : Math.max(...(times as number[]));
  console.log(`fashion-mnist: dlkit ${seconds(to93)} s to 93%, pytorch ${pytorch.length ? `${seconds(timeTo(pytorch, 0.93))} s to 93%` : 'not run'}, dlkit best ${Math.min(...bests).toFixed(4)}`);
}
