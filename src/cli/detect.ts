// `dlkit detect train | evaluate | <model> <images…>`: object detection from the terminal. Parses
// and calls the library (apps/detection, data/box-*); no rule of its own.
import { parseArgs } from 'node:util';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import * as dl from '../index.js';
import { downloadProgress } from './download-progress.js';
import { writeFileAtomic } from '../io/atomic-write.js';

function integer(value: string | undefined, flag: string, min: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || n < min) throw new Error(`--${flag} must be a whole number >= ${min}, got '${value}'`);
  return n;
}

function fraction(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === '' || !(n >= 0 && n <= 1)) throw new Error(`--${flag} must be a number from 0 to 1, got '${value}'`);
  return n;
}

function positive(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === '' || !(n > 0 && Number.isFinite(n))) throw new Error(`--${flag} must be a number > 0, got '${value}'`);
  return n;
}

function size(value: string | undefined): [number, number] | undefined {
  if (value === undefined) return undefined;
  const s = value.split(/[,x]/).map((d) => Number(d.trim()));
  if (s.length !== 2 || !s.every((d) => Number.isInteger(d) && d >= 32 && d % 32 === 0)) throw new Error(`--input-size must be H,W, whole multiples of 32, got '${value}'`);
  return s as [number, number];
}

function parse<T extends Record<string, { type: 'string' | 'boolean'; default?: string | boolean; multiple?: boolean }>>(args: string[], options: T, what: string) {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (err) {
    throw new Error(`detect${what}: ${(err as Error).message}`);
  }
}

const DATA_FLAGS = {
  split: { type: 'string' },
  images: { type: 'string' },
  classes: { type: 'string' },
  strict: { type: 'boolean', default: false },
} as const;

/** The box data named on the command line: a VOC folder, a COCO .json (with --images) or a YOLO folder (with --classes). */
async function openData(source: string, v: { split?: string; images?: string; classes?: string; strict?: boolean }, classes?: readonly string[]): Promise<dl.BoxDatastore> {
  const given = v.classes?.split(',').map((c) => c.trim()).filter(Boolean);
  return dl.openBoxDatastore(source, {
    ...(v.split !== undefined && { split: v.split }),
    ...(v.images !== undefined && { images: v.images }),
    ...((classes ?? given) && { classes: classes ?? given }),
    strict: v.strict ?? false,
  });
}

function describeData(data: dl.BoxDatastore, what: string): void {
  const counts = data.countEachLabel();
  console.log(`${what}: ${data.size} images (${data.emptyImages} without boxes), ${counts.reduce((a, c) => a + c.boxes, 0)} boxes from ${data.source}`);
  const stats = new Map(data.boxStatistics().map((s) => [s.label, s]));
  for (const c of counts) {
    const s = stats.get(c.label);
    const spread = s && s.boxes > 0 ? `  width ${s.width.min.toFixed(0)}–${s.width.max.toFixed(0)} (median ${s.width.median.toFixed(0)}), height ${s.height.min.toFixed(0)}–${s.height.max.toFixed(0)} (median ${s.height.median.toFixed(0)}) px` : '';
    console.log(`  ${c.label.padEnd(12)} ${String(c.boxes).padStart(6)} boxes on ${String(c.images).padStart(5)} images${spread}`);
  }
  for (const p of data.problems.slice(0, 10)) console.log(`  skipped: ${p.file}${p.field ? ` (${p.field})` : ''}: ${p.message}`);
  if (data.problems.length > 10) console.log(`  … and ${data.problems.length - 10} more skipped`);
}

async function trainCommand(args: string[]): Promise<number> {
  const { values: v, positionals } = parse(args, {
    ...DATA_FLAGS,
    out: { type: 'string' },
    'validation-split': { type: 'string' },
    'input-size': { type: 'string' },
    epochs: { type: 'string' },
    'batch-size': { type: 'string' },
    lr: { type: 'string' },
    seed: { type: 'string' },
    augment: { type: 'string' },
    width: { type: 'string' },
    backbone: { type: 'string' },
    'feature-layer': { type: 'string' },
    weights: { type: 'string' },
    'checkpoint-dir': { type: 'string' },
    resume: { type: 'string' },
    quiet: { type: 'boolean', default: false },
  } as const, ' train');
  if (positionals.length !== 1) throw new Error(`detect train: expected one data folder (Pascal VOC: JPEGImages/, Annotations/, ImageSets/Main/), got ${positionals.length ? positionals.map((p) => `'${p}'`).join(' ') : 'none'}`);
  if (!v.out) throw new Error('detect train: --out FILE is required (the detector\'s model file, .safetensors)');
  if (v.augment !== undefined && v.augment !== 'none' && v.augment !== 'default') throw new Error(`detect train: --augment must be default or none, got '${v.augment}'`);
  if ((v.backbone === undefined) !== (v['feature-layer'] === undefined)) throw new Error('detect train: --backbone and --feature-layer go together (the network and the layer whose output feeds the detection head)');
  const data = await openData(positionals[0]!, { ...v, split: v.split ?? (await dl.hasVocSplit(positionals[0]!, 'trainval') ? 'trainval' : undefined) });
  describeData(data, 'training data');
  const validation = v['validation-split'] !== undefined ? await openData(positionals[0]!, { ...v, split: v['validation-split'] }, data.classes) : undefined;
  if (validation) describeData(validation, 'validation data');
  const seed = integer(v.seed, 'seed', 0);
  if (seed !== undefined) dl.manualSeed(seed);
  let detector: dl.Detector;
  if (v.backbone !== undefined) {
    const backbone = await dl.openNetwork(v.backbone, { ...(v.weights !== undefined && { weights: v.weights }), onProgress: downloadProgress(`downloading ${v.backbone}`) });
    const inputSize = size(v['input-size']) ?? dl.suggestDetectorInputSize(data);
    detector = dl.Detector.create({ classes: data.classes, backbone, featureLayer: v['feature-layer']!, inputSize });
  } else {
    const inputSize = size(v['input-size']) ?? dl.suggestDetectorInputSize(data);
    detector = dl.Detector.create({ classes: data.classes, inputSize, ...(v.width !== undefined && { width: integer(v.width, 'width', 4)! }) });
  }
  try {
    console.log(`detector: ${detector.classes.length} classes, input ${detector.inputSize.join('×')}, output stride ${detector.config.stride}, ${detector.network.parameters().reduce((a, p) => a + p.tensor.size, 0).toLocaleString('en-US')} parameters`);
    const maxEpochs = integer(v.epochs, 'epochs', 1);
    const miniBatchSize = integer(v['batch-size'], 'batch-size', 1);
    const initialLearnRate = positive(v.lr, 'lr');
    const result = await dl.trainDetector(data, detector, {
      ...(maxEpochs !== undefined && { maxEpochs }),
      ...(miniBatchSize !== undefined && { miniBatchSize }),
      ...(initialLearnRate !== undefined && { initialLearnRate }),
      ...(seed !== undefined && { seed }),
      ...(v.augment === 'none' && { augment: 'none' as const }),
      ...(validation && { validationData: validation }),
      ...(v['checkpoint-dir'] !== undefined && { checkpointPath: v['checkpoint-dir'] }),
      ...(v.resume !== undefined && { resume: v.resume }),
      verbose: !v.quiet,
    });
    await detector.save(v.out);
    const epochs = result.history.training.at(-1)?.epoch ?? 0;
    console.log(`saved ${v.out}: ${epochs} epoch${epochs === 1 ? '' : 's'} in ${result.history.elapsed.toFixed(0)} s${result.history.stoppedBy && result.history.stoppedBy !== 'max-epochs' ? ` (stopped: ${result.history.stoppedBy})` : ''}`);
    return result.history.stoppedBy === 'interrupted' ? 130 : 0;
  } finally {
    detector.dispose();
  }
}

async function evaluateCommand(args: string[]): Promise<number> {
  const { values: v, positionals } = parse(args, { ...DATA_FLAGS, 'report-dir': { type: 'string' }, threshold: { type: 'string' } } as const, ' evaluate');
  if (positionals.length !== 2) throw new Error(`detect evaluate: expected a detector file and a data folder, got ${positionals.length ? positionals.map((p) => `'${p}'`).join(' ') : 'none'}`);
  const detector = await dl.Detector.load(positionals[0]!);
  try {
    const data = await openData(positionals[1]!, { ...v, split: v.split ?? (await dl.hasVocSplit(positionals[1]!, 'test') ? 'test' : undefined) }, detector.classes);
    describeData(data, 'evaluation data');
    const threshold = fraction(v.threshold, 'threshold');
    const e = await dl.evaluateDetector(detector, data, { ...(threshold !== undefined && { threshold }) });
    console.log(dl.formatDetectionEvaluation(e));
    console.log(`${e.images} images, ${e.imagesPerSecond.toFixed(1)} images/s detection at ${detector.inputSize.join('×')}`);
    const dir = v['report-dir'] ?? '.';
    mkdirSync(dir, { recursive: true });
    const files = await dl.precisionRecallChart(e, path.join(dir, 'precision-recall')); // .png and .html
    console.log(`precision-recall chart: ${files.join(', ')}`);
  } finally {
    detector.dispose();
  }
  return 0;
}

async function runCommand(args: string[]): Promise<number> {
  const { values: v, positionals } = parse(args, {
    out: { type: 'string' }, threshold: { type: 'string' }, 'nms-iou': { type: 'string' }, json: { type: 'string' },
  } as const, '');
  if (positionals.length < 2) throw new Error(`detect: expected a detector file and at least one image, got ${positionals.length ? positionals.map((p) => `'${p}'`).join(' ') : 'none'}; usage: dlkit detect <model> <images…> [--out DIR] [--threshold X] (or: dlkit detect train | evaluate)`);
  const threshold = fraction(v.threshold, 'threshold');
  const nmsIoU = fraction(v['nms-iou'], 'nms-iou');
  const detector = await dl.Detector.load(positionals[0]!);
  try {
    const results = await dl.detect(detector, positionals.slice(1), { ...(threshold !== undefined && { threshold }), ...(nmsIoU !== undefined && { nmsIoU }) });
    if (v.out) mkdirSync(v.out, { recursive: true });
    for (const r of results) {
      const items = [...r.scores].map((s, i) => `${r.classNames[i]} ${s.toFixed(2)} [${[...r.boxes.subarray(i * 4, i * 4 + 4)].map((c) => c.toFixed(0)).join(',')}]`);
      console.log(`${r.file}: ${r.scores.length} object${r.scores.length === 1 ? '' : 's'}${items.length ? `: ${items.join(', ')}` : ''}`);
      if (v.out) {
        const file = path.join(v.out, `${path.parse(r.file!).name}.png`);
        await writeFileAtomic(file, await dl.drawDetections(r.file!, r, { classes: [...detector.classes] }));
      }
    }
    if (v.out) console.log(`annotated images in ${v.out}`);
    if (v.json) await writeFileAtomic(v.json, Buffer.from(JSON.stringify(results.map((r) => ({ file: r.file, imageSize: r.imageSize, detections: [...r.scores].map((s, i) => ({ label: r.classNames[i], score: s, box: [...r.boxes.subarray(i * 4, i * 4 + 4)] })) })), null, 1)));
  } finally {
    detector.dispose();
  }
  return 0;
}

export async function detectCommand(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === 'train') return trainCommand(rest);
  if (sub === 'evaluate') return evaluateCommand(rest);
  return runCommand(args);
}
