// `npm run bench -- detection`: BCCD (../shared/data/bccd: 292 trainval images, 72 test; RBC, WBC,
// Platelets), a detector trained from scratch by dlkit and by torchvision (SSDlite320 on
// MobileNetV3, bench/detection_peer.py) in the same run, each within the same wall-clock budget;
// both sets of test detections scored by the same code (dlkit's evaluateDetections: VOC
// all-point AP at IoU 0.5, COCO 101-point AP over IoU 0.5:0.95), in the files' own pixels.
// Options: --minutes M (default 20, each) --threads 2 --seed 0 --size H,W --width N --only dlkit|torchvision
// --save FILE (the dlkit detector, for pictures)
// Last line: `detection: bccd dlkit mAP50 <x> mAP <y> in <s> s; torchvision <name> mAP50 <x> in <s> s; dlkit <n> img/s`.
import path from 'node:path';
import { existsSync } from 'node:fs';
import { PYTHON, SHARED_DATA, distBench, pyBench, fmt, intOption, parseOptions, progress, runJson, table, untunedEnv } from './common.js';
import * as dl from '../src/index.js';

interface PeerRun {
  model: string;
  classes: string[];
  trainSeconds: number;
  imagesPerSecond: number;
  epochs: number;
  detections: { file: string; boxes: number[]; scores: number[]; labels: number[] }[];
  error?: string;
}

export async function run(argv: string[]): Promise<void> {
  const { opts } = parseOptions(argv);
  const minutes = opts.get('minutes')?.at(-1) ?? '20';
  const threads = intOption(opts, 'threads', 2);
  const seed = Number(opts.get('seed')?.at(-1) ?? 0);
if (!Number.isInteger(seed) || seed < 0) throw new RangeError(`--seed: expected a whole number >= 0, got '${opts.get('seed')?.at(-1)}'`);
  const only = opts.get('only')?.at(-1);
  const bccd = path.join(SHARED_DATA, 'bccd');
  if (!existsSync(bccd)) throw new Error(`${bccd} not found: the benchmark needs shared/data (set DLKIT_SHARED_DATA)`);
  const test = await dl.openBoxDatastore(bccd, { split: 'test' });
  const truths = new Map(test.images.map((i) => [i.file, i]));
  const score = (r: PeerRun) => {
    if (r.classes.join() !== test.classes.join()) throw new Error(`the run's classes (${r.classes.join(', ')}) differ from the test split's (${test.classes.join(', ')})`);
    const dets = test.images.map((img) => {
      const d = r.detections.find((x) => path.resolve(x.file) === img.file);
      return d ? { boxes: Float32Array.from(d.boxes), scores: Float32Array.from(d.scores), labels: Int32Array.from(d.labels) } : { boxes: new Float32Array(), scores: new Float32Array(), labels: new Int32Array() };
    });
    return dl.evaluateDetections(dets, [...truths.values()].map((t) => ({ boxes: t.boxes, labels: t.labels, difficult: t.difficult })), { classes: test.classes });
  };
  const common = ['--minutes', minutes, '--threads', String(threads), '--seed', String(seed)];
  const runs: { peer: string; run: PeerRun; e: dl.DetectionEvaluation }[] = [];
  if (only !== 'torchvision') {
    progress(`dlkit: training for ${minutes} min`);
    const extra = [...(opts.has('size') ? ['--size', opts.get('size')!.at(-1)!] : []), ...(opts.has('width') ? ['--width', opts.get('width')!.at(-1)!] : []), ...(opts.has('save') ? ['--save', opts.get('save')!.at(-1)!] : [])];
    const r = await runJson<PeerRun>(process.execPath, [path.join(distBench, 'detection-dlkit.js'), '--data', bccd, ...common, ...extra], process.env);
    runs.push({ peer: 'dlkit', run: r, e: score(r) });
  }
  if (only !== 'dlkit') {
    progress(`torchvision: training for ${minutes} min`);
    const r = await runJson<PeerRun>(PYTHON, [path.join(pyBench, 'detection_peer.py'), '--data', bccd, ...common], untunedEnv());
    if (r.error) throw new Error(`torchvision peer: ${r.error}`);
    runs.push({ peer: 'torchvision', run: r, e: score(r) });
  }
  const rows = [['peer', 'model', 'epochs', 'train s', 'mAP@0.5', 'mAP@[.5:.95]', ...test.classes.map((c) => `AP50 ${c}`), 'img/s']];
  for (const { peer, run: r, e } of runs) {
    rows.push([peer, r.model, String(r.epochs), fmt(r.trainSeconds), fmt(e.mAP50, 3), fmt(e.mAP, 3), ...e.perClass.map((c) => fmt(c.ap50, 3)), fmt(r.imagesPerSecond, 1)]);
  }
  console.log(table(rows));
  const d = runs.find((r) => r.peer === 'dlkit');
  const t = runs.find((r) => r.peer === 'torchvision');
  console.log(`detection: bccd ${d ? `dlkit mAP50 ${fmt(d.e.mAP50, 3)} mAP ${fmt(d.e.mAP, 3)} in ${fmt(d.run.trainSeconds)} s` : 'dlkit not run'}; ${t ? `torchvision ${t.run.model} mAP50 ${fmt(t.e.mAP50, 3)} in ${fmt(t.run.trainSeconds)} s` : 'torchvision not run'}; dlkit ${d ? fmt(d.run.imagesPerSecond, 1) : '-'} img/s`);
}
