// The dlkit command line end to end, as a user runs it (node dist/src/cli/main.js …) on a slice of
// Fashion-MNIST: train, classify, evaluate, summary, bad arguments, and Ctrl-C + --resume.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import * as dl from '../../src/index.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..'); // dist/test/cli -> repo
const cli = path.join(root, 'dist', 'src', 'cli', 'main.js');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'dlkit-cli-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const CLASSES = dl.FASHION_MNIST_CLASSES;
const classPattern = CLASSES.map((c) => c.replace(/[/]/g, '\\/')).join('|');

interface Run { code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }

/** Runs the CLI; `onStdout` sees the output so far (and the child) as it arrives. */
function dlkit(args: string[], { timeout = 120_000, onStdout }: { timeout?: number; onStdout?: (soFar: string, child: ReturnType<typeof spawn>) => void } = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli, ...args], { cwd: tmp, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`dlkit ${args.join(' ')} took over ${timeout / 1000} s\nstdout: ${stdout}\nstderr: ${stderr}`)); }, timeout);
    child.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d; onStdout?.(stdout, child); });
    child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
    child.on('error', (err) => { clearTimeout(timer); reject(err); });
    child.on('close', (code, signal) => { clearTimeout(timer); resolve({ code, signal, stdout, stderr }); });
  });
}

const show = (r: Run) => `exit ${r.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;
const testAccuracy = (r: Run) => {
  const m = /^test accuracy: (0\.\d{4}|1\.0000)$/m.exec(r.stdout);
  assert.ok(m, `no 'test accuracy: 0.XXXX' line\n${show(r)}`);
  return Number(m[1]);
};

// ---- one training run that the other commands use ----------------------------------------

const trainDir = path.join(tmp, 'trained');
const model = path.join(trainDir, 'model.safetensors');
const sliceArgs = ['fashion-mnist', '--preset', 'quick', '--limit', '3000', '--test-limit', '500'];
let trained: Run;
before(async () => {
  trained = await dlkit(['train', ...sliceArgs, '--out', model, '--quiet']);
});

test('train fashion-mnist --preset quick on 3000 images: prints the test accuracy (> 0.5) and writes the model and the report', () => {
  assert.equal(trained.code, 0, show(trained));
  const acc = testAccuracy(trained);
  assert.ok(acc > 0.5, `test accuracy ${acc} should exceed 0.5 (chance is 0.1)`);
  assert.match(trained.stdout, /^data: 3000 training observations of shape \[1, 28, 28\], 10 classes .*, 500 test$/m);
  assert.match(trained.stdout, /^trained 23 iterations in [\d.]+ s \(max-epochs\)$/m, '3000 / 128 = 23 full batches, one epoch');
  assert.ok(trained.stdout.includes(`model: ${model}`), show(trained));
  assert.doesNotMatch(trained.stdout, /\|\s+epoch \|/, '--quiet: no progress table');
  assert.ok(existsSync(model));
  for (const f of ['confusion-matrix.png', 'misclassified.png']) {
    const bytes = readFileSync(path.join(trainDir, f));
    assert.deepEqual(bytes.subarray(0, 8), PNG_SIGNATURE, `${f} is a PNG`);
  }
  assert.ok(existsSync(path.join(trainDir, 'confusion-matrix.html')));
});

// ---- classify --------------------------------------------------------------------------------

/** Writes the first `n` Fashion-MNIST test images as 28x28 grayscale PNGs; returns files and labels. */
async function testImages(n: number): Promise<{ files: string[]; labels: string[]; pixels: Uint8Array[] }> {
  mkdirSync(path.join(tmp, 'images'), { recursive: true });
  const testSet = await dl.fashionMnist('test');
  const first = testSet.subset(Array.from({ length: n }, (_, i) => i));
  const files: string[] = [];
  const pixels: Uint8Array[] = [];
  const labels = Array.from(first.labels()!, (l) => CLASSES[l]!);
  try {
    for await (const { x, y } of first.batches({ batchSize: n })) {
      const all = Uint8Array.from(x.dataSync() as Float32Array);
      dl.dispose([x, y]);
      for (let i = 0; i < n; i++) {
        const img = all.subarray(i * 784, (i + 1) * 784);
        const file = path.join(tmp, 'images', `test-${i}.png`);
        await sharp(Buffer.from(img), { raw: { width: 28, height: 28, channels: 1 } }).png().toFile(file);
        files.push(file);
        pixels.push(img);
      }
    }
  } finally {
    first.dispose();
    testSet.dispose();
  }
  return { files, labels, pixels };
}

test('classify <model> <png…>: one line per file with the top 3 labels and scores', async () => {
  assert.equal(trained.code, 0, 'needs the trained model');
  const { files, labels, pixels } = await testImages(6);
  const r = await dlkit(['classify', model, ...files]);
  assert.equal(r.code, 0, show(r));
  const lines = r.stdout.trim().split('\n');
  assert.equal(lines.length, files.length, show(r));
  const re = new RegExp(`^(.+): (${classPattern}) \\((\\d\\.\\d{3})\\), (${classPattern}) \\((\\d\\.\\d{3})\\), (${classPattern}) \\((\\d\\.\\d{3})\\)$`);
  let right = 0;
  const network = await dl.loadModel(model);
  try {
    lines.forEach((line, i) => {
      const m = re.exec(line);
      assert.ok(m, `line '${line}' should read '<file>: <label> (<score>), <label> (<score>), <label> (<score>)'`);
      assert.equal(m[1], files[i]);
      const top = [m[2]!, m[4]!, m[6]!];
      const scores = [Number(m[3]), Number(m[5]), Number(m[7])];
      assert.equal(new Set(top).size, 3, 'three different labels');
      assert.ok(scores[0]! >= scores[1]! && scores[1]! >= scores[2]! && scores.reduce((a, b) => a + b) <= 1.002, `scores ${scores} descending probabilities`);
      if (top[0] === labels[i]) right++;
      // The PNG holds the same pixels as the test image: the CLI agrees with the library on it.
      const x = dl.tensor(pixels[i]!, { shape: [1, 1, 28, 28] });
      const expected = dl.tidy(() => dl.noGrad(() => (network.forward(x) as dl.Tensor).softmax(1).dataSync() as Float32Array));
      x.dispose();
      const best = expected.indexOf(Math.max(...expected));
      assert.equal(top[0], CLASSES[best], `${files[i]}: the CLI's top label`);
      assert.ok(Math.abs(scores[0]! - expected[best]!) <= 0.0015, `${files[i]}: score ${scores[0]} vs ${expected[best]}`);
    });
  } finally {
    network.dispose();
  }
  assert.ok(right >= 3, `at least 3 of the 6 images classified right (got ${right}; labels ${labels.join(', ')})`);

  // --top 1: one label each.
  const one = await dlkit(['classify', model, files[0]!, '--top', '1']);
  assert.equal(one.code, 0, show(one));
  assert.match(one.stdout.trim(), new RegExp(`^${files[0]!.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: (${classPattern}) \\(\\d\\.\\d{3}\\)$`));
});

test('classify: a file that is not an image is an error naming it (exit 1); the other files are still classified', async () => {
  assert.equal(trained.code, 0, 'needs the trained model');
  const notImage = path.join(tmp, 'notes.txt');
  writeFileSync(notImage, 'not an image\n');
  const png = (await testImages(1)).files[0]!;
  const r = await dlkit(['classify', model, notImage, png]);
  assert.equal(r.code, 1, show(r));
  assert.ok(r.stderr.includes(notImage) && /cannot read as an image/.test(r.stderr), show(r));
  assert.ok(r.stdout.startsWith(`${png}: `), 'the good file is still classified');
  const missing = path.join(tmp, 'nope.png');
  const r2 = await dlkit(['classify', model, missing]);
  assert.equal(r2.code, 1, show(r2));
  assert.ok(r2.stderr.includes(missing), show(r2));
});

// ---- evaluate and summary ------------------------------------------------------------------------

test('evaluate <model> fashion-mnist --limit 500: the same accuracy as training reported, and the report files', async () => {
  assert.equal(trained.code, 0, 'needs the trained model');
  const outDir = path.join(tmp, 'evaluation');
  const r = await dlkit(['evaluate', model, 'fashion-mnist', '--limit', '500', '--out-dir', outDir]);
  assert.equal(r.code, 0, show(r));
  const m = /^accuracy: (\d\.\d{4})$/m.exec(r.stdout);
  assert.ok(m, show(r));
  assert.equal(Number(m[1]), testAccuracy(trained), 'the first 500 test images, the same model: the same accuracy');
  for (const c of CLASSES) assert.match(r.stdout, new RegExp(`^${c.replace('/', '\\/')}\\s+\\d\\.\\d{4}\\s+\\d\\.\\d{4}\\s+\\d\\.\\d{4}\\s+\\d+$`, 'm'), `a row for ${c}`);
  assert.deepEqual(readdirSync(outDir).sort(), ['confusion-matrix.html', 'confusion-matrix.png', 'misclassified.png']);
});

test('evaluate --tta reflectX: the accuracy of the model averaged over mirror images, as the library computes it', async () => {
  assert.equal(trained.code, 0, 'needs the trained model');
  const r = await dlkit(['evaluate', model, 'fashion-mnist', '--limit', '500', '--tta', 'reflectX', '--out-dir', path.join(tmp, 'evaluation-tta')]);
  assert.equal(r.code, 0, show(r));
  const m = /^accuracy: (\d\.\d{4})$/m.exec(r.stdout);
  assert.ok(m, show(r));
  const network = await dl.loadModel(model);
  const test500 = (await dl.fashionMnist('test')).subset(Array.from({ length: 500 }, (_, i) => i));
  try {
    network.testTimeAugmentation = 'reflectX';
    const e = await dl.evaluate(network, test500);
    assert.equal(Number(m[1]), Number(e.accuracy.toFixed(4)));
  } finally {
    network.dispose();
  }
});

test('summary <model>: the layer table with totals', async () => {
  assert.equal(trained.code, 0, 'needs the trained model');
  const r = await dlkit(['summary', model]);
  assert.equal(r.code, 0, show(r));
  const lines = r.stdout.trim().split('\n');
  assert.match(lines[0]!, /^#\s+name\s+type\s+output shape\s+learnables$/);
  assert.match(r.stdout, /^ 1\s+imageInput_1\s+imageInput\s+\[1, 28, 28\]\s+-$/m);
  assert.match(r.stdout, /^ 2\s+conv2d_1\s+conv2d\s+\[16, 28, 28\]\s+144$/m);
  assert.match(r.stdout, /^12\s+fullyConnected_2\s+fullyConnected\s+\[10\]\s+650$/m);
  assert.match(r.stdout, /^learnables: 105,914 \(105,914 trainable\)$/m);
  assert.match(lines.at(-1)!, /^input \[1, 28, 28\] -> output \[10\], 10 classes$/);
});

// ---- bad arguments -------------------------------------------------------------------------------

test('bad arguments print a usage line and exit 2; a missing file exits 1 naming its path', async () => {
  const usage = /^usage: dlkit <command> \[options\]$/m;
  const cases: [string[], RegExp][] = [
    [['train', '--bogus'], /^dlkit train: Unknown option '--bogus'/],
    [['frobnicate'], /^dlkit frobnicate: unknown command 'frobnicate'/],
    [[], /^dlkit: missing command/],
    [['classify'], /^dlkit classify: missing arguments/],
    [['classify', model], /^dlkit classify: missing argument/],
    [['summary'], /^dlkit summary: missing argument/],
    [['summary', model, 'extra'], /^dlkit summary: unexpected argument 'extra'/],
    [['evaluate', model], /^dlkit evaluate: missing argument/],
    [['train', '--epochs', 'x'], /^dlkit train: --epochs must be a whole number >= 1, got 'x'/],
    [['train', '--preset', 'huge'], /^dlkit train: --preset must be one of quick, default, best, got 'huge'/],
    [['train', '--solver', 'sgd'], /^dlkit train: --solver must be one of sgdm, adam, adamw, rmsprop, got 'sgd'/],
    [['train', '--lr', '0'], /^dlkit train: --lr must be a number > 0, got '0'/],
    [['train', '--precision', 'half'], /^dlkit train: --precision must be one of auto, float32, bfloat16-mixed, got 'half'/],
    [['classify', model, 'a.png', '--top', '0'], /^dlkit classify: --top must be a whole number >= 1, got '0'/],
    [['train', '--tta', 'flip'], /^dlkit train: --tta must be one of none, reflectX, got 'flip'/],
    [['evaluate', model, 'fashion-mnist', '--tta', 'yes'], /^dlkit evaluate: --tta must be one of none, reflectX, got 'yes'/],
  ];
  // Two at a time: each process loads libtorch (~2 s of CPU), and 19 at once on 2 cores ran past
  // the timeout on a busy machine.
  const runs: Run[] = [];
  for (let i = 0; i < cases.length; i += 2) runs.push(...await Promise.all(cases.slice(i, i + 2).map(([args]) => dlkit(args, { timeout: 60_000 }))));
  runs.forEach((r, i) => {
    const [args, message] = cases[i]!;
    assert.equal(r.code, 2, `dlkit ${args.join(' ')}: ${show(r)}`);
    assert.match(r.stderr, message, `dlkit ${args.join(' ')}: ${show(r)}`);
    assert.match(r.stderr, usage, `dlkit ${args.join(' ')} prints the usage`);
    assert.equal(r.stdout, '', `dlkit ${args.join(' ')}: nothing on stdout (the flags are checked before any work)`);
  });

  const absent = path.join(tmp, 'no-such-model.safetensors');
  const missing = await Promise.all([['summary', absent], ['classify', absent, 'x.png'], ['evaluate', absent, 'fashion-mnist']].map((a) => dlkit(a)));
  for (const r of missing) {
    assert.equal(r.code, 1, show(r));
    assert.ok(r.stderr.includes(absent), `the message names ${absent}: ${show(r)}`);
    assert.doesNotMatch(r.stderr, usage);
  }
  const noData = await dlkit(['evaluate', model, path.join(tmp, 'no-such-data')]);
  assert.equal(noData.code, 1, show(noData));
  assert.ok(noData.stderr.includes(path.join(tmp, 'no-such-data')), show(noData));
  // A training run on data that is not there fails before it makes the output folder.
  const noTrainData = await dlkit(['train', path.join(tmp, 'no-such-train-data'), '--quiet']);
  assert.equal(noTrainData.code, 1, show(noTrainData));
  assert.ok(noTrainData.stderr.includes(path.join(tmp, 'no-such-train-data')), show(noTrainData));
  assert.ok(!existsSync(path.join(tmp, 'out', 'no-such-train-data')), 'no empty output folder is left behind');
  // An output folder that cannot be made is named, before any training.
  writeFileSync(path.join(tmp, 'a-file'), 'not a folder');
  const badOut = await dlkit(['train', ...sliceArgs, '--quiet', '--out', path.join(tmp, 'a-file', 'model.safetensors')]);
  assert.equal(badOut.code, 1, show(badOut));
  assert.match(badOut.stderr, /cannot create the folder for the model and the report, .*a-file: /, show(badOut));
  assert.doesNotMatch(badOut.stdout, /trained \d+ iterations/, 'it stops before training');

  const help = await dlkit(['--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, usage);
});

test('train --validation-fraction validates once per epoch at the --batch-size given', async () => {
  // 1000 images, 10% held out: 900 to train on, 14 batches of 64 per epoch.
  const r = await dlkit(['train', 'fashion-mnist', '--preset', 'quick', '--limit', '1000', '--test-limit', '100', '--validation-fraction', '0.1',
    '--batch-size', '64', '--epochs', '2', '--out', path.join(tmp, 'validated', 'model.safetensors')]);
  assert.equal(r.code, 0, show(r));
  assert.match(r.stdout, /, (99|100|101) held out for validation, 100 test$/m);
  const rows = r.stdout.split('\n').filter((l) => /^\|\s+\d+ \|/.test(l)).map((l) => l.split('|').map((c) => c.trim()));
  const validated = rows.filter((cells) => cells[6] !== '').map((cells) => [Number(cells[1]), Number(cells[2])]);
  assert.deepEqual(validated, [[1, 14], [2, 28]], `validation rows (epoch, iteration):\n${r.stdout}`);
});

test('train fashion-mnist --augment flip,crop:2 --precision bfloat16-mixed: in-memory images augmented, bfloat16 convolutions, still learns', async () => {
  const r = await dlkit(['train', 'fashion-mnist', '--preset', 'quick', '--limit', '3000', '--test-limit', '500', '--augment', 'flip,crop:2',
    '--precision', 'bfloat16-mixed', '--quiet', '--out', path.join(tmp, 'augmented', 'model.safetensors')]);
  assert.equal(r.code, 0, show(r));
  assert.match(r.stdout, /threads, bfloat16 convolutions \(mixed precision\)$/m);
  const acc = testAccuracy(r);
  assert.ok(acc > 0.5, `test accuracy ${acc} should exceed 0.5 (chance is 0.1)`);
  const none = await dlkit(['train', 'fashion-mnist', '--preset', 'quick', '--limit', '300', '--test-limit', '100', '--augment', 'bogus', '--quiet']);
  assert.equal(none.code, 2, show(none));
  assert.match(none.stderr, /--augment: unknown augmentation 'bogus'/);
});

// ---- Ctrl-C and --resume ------------------------------------------------------------------------

test('Ctrl-C during train: exit 130, a checkpoint in --checkpoint-dir, how to resume on stderr; --resume then completes', async () => {
  const dir = path.join(tmp, 'interrupted');
  const checkpoints = path.join(tmp, 'checkpoints', 'run1'); // does not exist yet
  let interruptedAt = '';
  const r = await dlkit(['train', ...sliceArgs, '--test-limit', '200', '--out', path.join(dir, 'model.safetensors'), '--checkpoint-dir', checkpoints], {
    onStdout: (out, child) => {
      // The first row of the progress table (iteration 1) shows that training is under way.
      if (!interruptedAt && /^\|\s+1 \|\s+1 \|/m.test(out)) {
        interruptedAt = out;
        child.kill('SIGINT');
      }
    },
  });
  assert.ok(interruptedAt, `no progress row appeared\n${show(r)}`);
  assert.equal(r.code, 130, show(r));
  assert.match(r.stdout, /^trained \d+ iterations in [\d.]+ s \(interrupted\)$/m);
  assert.match(r.stderr, /stopping after this iteration/);
  const files = readdirSync(checkpoints);
  assert.equal(files.length, 1, `one checkpoint: ${files.join(', ')}`);
  assert.match(files[0]!, /^checkpoint-epoch1-iter\d+\.safetensors$/);
  const checkpoint = path.join(checkpoints, files[0]!);
  assert.ok(r.stderr.includes(`checkpoint written to ${checkpoint}`), show(r));
  assert.ok(r.stderr.includes('resume with') && r.stderr.includes(`--resume ${checkpoint}`), show(r));
  const done = Number(/iter(\d+)\.safetensors$/.exec(files[0]!)![1]);
  assert.ok(done >= 1 && done < 23, `stopped early (after ${done} of 23 iterations)`);

  const resumed = await dlkit(['train', ...sliceArgs, '--test-limit', '200', '--out', path.join(dir, 'resumed.safetensors'), '--resume', checkpoint, '--quiet']);
  assert.equal(resumed.code, 0, show(resumed));
  assert.match(resumed.stdout, /^trained 23 iterations in [\d.]+ s \(max-epochs\)$/m, 'the history continues from the checkpoint: 23 iterations in all');
  const acc = testAccuracy(resumed);
  assert.ok(acc > 0.5, `resumed run's test accuracy ${acc} should exceed 0.5`);
  assert.ok(existsSync(path.join(dir, 'resumed.safetensors')));
});
