// `npm run bench -- image-pipeline`: images/s of an image-folder input pipeline, dlkit against
// torchvision in the same run. The benchmark writes 4,000 JPEGs (500×375, 10 classes, photo-like
// content so the files have realistic sizes) to a temporary folder, then measures one epoch of
// decode + random-resized-crop to 224×224 + horizontal flip + normalize + batches of 64:
//   dlkit: imageDatastore + augmentedImageDatastore (worker threads), tensors made and
//          normalized on the main thread;
//   torchvision: ImageFolder + DataLoader(num_workers=2) with the same transforms.
// Each side runs alone in a child process, alternating, several rounds; medians. Then, when
// ../shared/data/cifar10 is there, `dlkit train` + test accuracy on CIFAR-10 (JPEG folders, 2 epochs)
// against the plain PyTorch recipe on the same files.
// Options: --images 4000 --rounds 2 --workers 2 (dlkit's worker threads; torchvision's are 2)
//          --dir D (use an existing folder of class folders instead of writing one) --keep
//          --no-cifar (skip the CIFAR-10 comparison)
// The last line: `image-pipeline: dlkit <N> img/s, torchvision <M> img/s, ratio <N/M>`.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { PYTHON, distBench, fmt, intOption, median, parseOptions, progress, pyBench, root, runJson, SHARED_DATA, table, untunedEnv } from './common.js';
import { prng } from '../test/support/random.js';

interface PipelineResult { imagesPerSecond: number; seconds: number; images: number; workers: number; waitSeconds?: number; torchvision?: string; torch?: string }
interface CifarResult { accuracy: number; seconds: number; trainSeconds: number; torch?: string }

const CLASSES = ['alpine', 'beach', 'canyon', 'desert', 'forest', 'glacier', 'harbor', 'meadow', 'reef', 'savanna'];


/**
 * A photo-like canvas: smooth color fields (a coarse random grid enlarged with a cubic kernel),
 * shapes with soft edges, and fine grain, so JPEG sizes land where photographs' do.
 */
async function canvas(random: () => number, w: number, h: number): Promise<Buffer> {
  const gw = 6 + Math.floor(random() * 6), gh = 5 + Math.floor(random() * 4);
  const grid = Buffer.alloc(gw * gh * 3);
  for (let i = 0; i < grid.length; i++) grid[i] = Math.floor(random() * 256);
  const base = await sharp(grid, { raw: { width: gw, height: gh, channels: 3 } }).resize(w, h, { kernel: 'cubic', fit: 'fill' }).png().toBuffer();
  const shapes: string[] = [];
  for (let i = 0; i < 25; i++) {
    const c = `rgb(${Math.floor(random() * 256)},${Math.floor(random() * 256)},${Math.floor(random() * 256)})`;
    const x = random() * w, y = random() * h, r = 8 + random() * 90;
    shapes.push(random() < 0.5
      ? `<circle cx="${x}" cy="${y}" r="${r}" fill="${c}" fill-opacity="${0.3 + random() * 0.6}"/>`
      : `<rect x="${x}" y="${y}" width="${r * 1.6}" height="${r}" fill="${c}" fill-opacity="${0.3 + random() * 0.6}" transform="rotate(${random() * 90} ${x} ${y})"/>`);
  }
  const svg = Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}"><filter id="b"><feGaussianBlur stdDeviation="1.2"/></filter><g filter="url(#b)">${shapes.join('')}</g></svg>`);
  const grain = await sharp({ create: { width: w, height: h, channels: 3, background: { r: 0, g: 0, b: 0 }, noise: { type: 'gaussian', mean: 128, sigma: 22 } } }).png().toBuffer();
  return sharp(base).composite([{ input: svg }, { input: grain, blend: 'soft-light' }]).png().toBuffer();
}

/** 4,000 (by default) 500×375 JPEGs in 10 class folders: crops of photo-like canvases, tinted per class. */
async function writeImages(dir: string, count: number): Promise<{ bytes: number }> {
  const random = prng(2024);
  const canvases: Buffer[] = [];
  for (let i = 0; i < 16; i++) canvases.push(await canvas(random, 900, 700));
  let next = 0;
  let bytes = 0;
  const one = async (i: number) => {
    const cls = i % CLASSES.length;
    const file = path.join(dir, CLASSES[cls]!, `${String(i).padStart(5, '0')}.jpg`);
    const left = Math.floor(random() * 400), top = Math.floor(random() * 325);
    let img = sharp(canvases[Math.floor(random() * canvases.length)]!).extract({ left, top, width: 500, height: 375 })
      .modulate({ hue: cls * 36 + Math.floor(random() * 20), saturation: 0.8 + random() * 0.5, brightness: 0.8 + random() * 0.4 });
    if (random() < 0.5) img = img.flop();
    const info = await img.jpeg({ quality: 88 + Math.floor(random() * 8) }).toFile(file);
    bytes += info.size;
  };
  for (const c of CLASSES) mkdirSync(path.join(dir, c), { recursive: true });
  const runner = async () => { while (next < count) await one(next++); };
  await Promise.all(Array.from({ length: 4 }, runner));
  return { bytes };
}

/** Runs a command, passing its output through indented; resolves with its stdout and the wall time. */
function runTimed(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ stdout: string; seconds: number; code: number | null }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
    child.stderr.setEncoding('utf8').on('data', (d: string) => process.stderr.write(d.replace(/^(?=.)/gm, '    ')));
    child.on('error', reject);
    child.on('close', (code) => resolve({ stdout, seconds: (performance.now() - t0) / 1000, code }));
  });
}

async function cifarComparison(cifar: string, tmp: string): Promise<string[][] | null> {
  progress('CIFAR-10 (50,000 training JPEGs, 10,000 test), 2 epochs: dlkit train --input-size 32,32 (default preset) …');
  const cli = path.join(root, 'dist', 'src', 'cli', 'main.js');
  const d = await runTimed(process.execPath, [cli, 'train', cifar, '--input-size', '32,32', '--epochs', '2', '--quiet', '--out', path.join(tmp, 'cifar', 'model.safetensors')], process.env);
  const acc = /^test accuracy: (\d\.\d+)$/m.exec(d.stdout)?.[1];
  const trained = /^trained \d+ iterations in ([\d.]+) s/m.exec(d.stdout)?.[1];
  if (d.code !== 0 || !acc) {
    progress(`dlkit train failed (exit ${d.code}):\n${d.stdout}`);
    return null;
  }
  progress(`dlkit: test accuracy ${acc} in ${fmt(d.seconds, 1)} s`);
  progress('CIFAR-10: the plain PyTorch recipe (ImageFolder + DataLoader, 2 workers, reference CNN, SGD momentum) …');
  const p = await runJson<CifarResult>(PYTHON, [path.join(pyBench, 'image_pipeline.py'), 'cifar', '--dir', cifar, '--epochs', '2'], untunedEnv());
  progress(`pytorch: test accuracy ${fmt(p.accuracy, 4)} in ${fmt(p.seconds, 1)} s`);
  return [
    ['CIFAR-10, 2 epochs', 'test accuracy', 'wall s (listing to accuracy)', 'of which training s'],
    ['dlkit train (default preset)', acc, fmt(d.seconds, 1), trained ?? '?'],
    [`pytorch ${p.torch ?? ''} recipe`, fmt(p.accuracy, 4), fmt(p.seconds, 1), fmt(p.trainSeconds, 1)],
  ];
}

export async function run(argv: string[]): Promise<void> {
  const { opts } = parseOptions(argv);
  const count = intOption(opts, 'images', 4000);
  const rounds = intOption(opts, 'rounds', 2);
  const workers = intOption(opts, 'workers', 2);
  const keep = opts.has('keep');
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'dlkit-bench-images-'));
  let dir = opts.get('dir')?.at(-1);
  try {
    if (!dir) {
      dir = path.join(tmp, 'images');
      progress(`writing ${count} JPEGs (500x375, ${CLASSES.length} classes) to ${dir} …`);
      const t0 = performance.now();
      const { bytes } = await writeImages(dir, count);
      console.log(`image-pipeline: ${count} JPEGs of 500x375 in ${CLASSES.length} classes, ${fmt(bytes / count / 1024, 0)} KiB each on average (written in ${fmt((performance.now() - t0) / 1000, 1)} s)`);
    } else {
      const n = readdirSync(dir).reduce((s, c) => s + (statSync(path.join(dir!, c)).isDirectory() ? readdirSync(path.join(dir!, c)).length : 0), 0);
      console.log(`image-pipeline: ${n} images in ${dir}`);
    }
    console.log(`one epoch of decode + random-resized-crop 224x224 + horizontal flip + normalize + batches of 64; dlkit ${workers} worker threads, torchvision DataLoader(num_workers=2); ${rounds} alternating rounds, medians`);
    const dl: PipelineResult[] = [];
    const tv: PipelineResult[] = [];
    for (let r = 0; r < rounds; r++) {
      const sides = r % 2 ? (['torchvision', 'dlkit'] as const) : (['dlkit', 'torchvision'] as const);
      for (const side of sides) {
        const res = side === 'dlkit'
          ? await runJson<PipelineResult>(process.execPath, [path.join(distBench, 'image-pipeline-dlkit.js'), '--dir', dir, '--workers', String(workers), '--epoch', String(r)], process.env)
          : await runJson<PipelineResult>(PYTHON, [path.join(pyBench, 'image_pipeline.py'), 'pipeline', '--dir', dir, '--workers', '2'], untunedEnv());
        (side === 'dlkit' ? dl : tv).push(res);
        progress(`round ${r + 1}/${rounds}: ${side.padEnd(11)} ${fmt(res.imagesPerSecond)} img/s (${res.images} images in ${fmt(res.seconds, 2)} s)`);
      }
    }
    const d = median(dl.map((x) => x.imagesPerSecond));
    const t = median(tv.map((x) => x.imagesPerSecond));
    console.log('');
    console.log(table([
      ['pipeline', 'img/s (median)', 'rounds'],
      [`dlkit (${workers} worker threads)`, fmt(d), dl.map((x) => fmt(x.imagesPerSecond)).join(' ')],
      [`torchvision ${tv[0]?.torchvision ?? ''} (2 workers)`, fmt(t), tv.map((x) => fmt(x.imagesPerSecond)).join(' ')],
    ]));
    const cifar = path.join(SHARED_DATA, 'cifar10');
    if (!opts.has('no-cifar')) {
      if (existsSync(path.join(cifar, 'train')) && existsSync(path.join(cifar, 'test'))) {
        const rows = await cifarComparison(cifar, tmp);
        if (rows) { console.log(''); console.log(table(rows)); }
      } else console.log(`(CIFAR-10 comparison skipped: ${cifar} not found)`);
    }
    console.log(`image-pipeline: dlkit ${fmt(d)} img/s, torchvision ${fmt(t)} img/s, ratio ${fmt(d / t, 2)}`);
  } finally {
    if (!keep) rmSync(tmp, { recursive: true, force: true });
    else progress(`kept ${tmp}`);
  }
}
