// `dlkit train <image folder>` end to end on a generated folder of images in every format:
// it trains, evaluates on the test split, and learns (test accuracy well above chance); then
// `dlkit evaluate` and `dlkit classify` use the model on the image files; bad arguments and
// bad files are reported.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, existsSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writeClassFolder } from './image-fixtures.js';
import { runCli, type CliRun as Run } from '../support/run-cli.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'dlkit-image-cli-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const CLASSES = ['amber', 'jade', 'violet'];
const data = path.join(tmp, 'shapes');

before(async () => {
  // 3 classes (chance: 1/3), 50 training and 16 test images each, 12–28 px, all formats.
  await writeClassFolder(path.join(data, 'train'), { classes: CLASSES, perClass: 50, seed: 1 });
  await writeClassFolder(path.join(data, 'test'), { classes: CLASSES, perClass: 16, seed: 2 });
});

const dlkit = (args: string[], timeout = 60_000) => runCli(args, { cwd: tmp, timeout });
const show = (r: Run) => `exit ${r.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;

test('dlkit train <folder> --input-size 16,16 learns: test accuracy at least 0.75 (chance 0.33); evaluate and classify use the model', async () => {
  const model = path.join(tmp, 'out', 'model.safetensors');
  const r = await dlkit(['train', data, '--input-size', '16,16', '--epochs', '8', '--batch-size', '16', '--lr', '0.05', '--seed', '1', '--augment', 'flip', '--quiet', '--out', model]);
  assert.equal(r.code, 0, show(r));
  assert.match(r.stdout, /data: 150 training observations of shape \[3, 16, 16\], 3 classes .*, 48 test/, show(r));
  assert.match(r.stdout, /image pipeline, last epoch: \d+ images\/s/);
  const acc = Number(/^test accuracy: (\d\.\d{4})$/m.exec(r.stdout)?.[1]);
  console.log(`image-cli: test accuracy ${acc} after 8 epochs on 150 generated images`);
  assert.ok(acc >= 0.75, `test accuracy ${acc} should be at least 0.75 (chance is 0.33)\n${show(r)}`);
  assert.ok(existsSync(model));

  const e = await dlkit(['evaluate', model, path.join(data, 'test')]);
  assert.equal(e.code, 0, show(e));
  assert.equal(Number(/^accuracy: (\d\.\d{4})$/m.exec(e.stdout)?.[1]), acc, 'evaluate agrees with train');
  for (const c of CLASSES) assert.match(e.stdout, new RegExp(`^${c}\\s+\\d\\.\\d{4}`, 'm'));

  const violet = path.join(data, 'test', 'violet');
  const files = readdirSync(violet).filter((f) => /\.(jpg|png|avif)$/i.test(f)).slice(0, 3).map((f) => path.join(violet, f));
  const c = await dlkit(['classify', model, ...files, '--top', '2']);
  assert.equal(c.code, 0, show(c));
  const lines = c.stdout.trim().split('\n');
  assert.equal(lines.length, 3);
  assert.ok(lines.filter((l) => /: violet \(/.test(l)).length >= 2, `most violet images classified violet:\n${c.stdout}`);
});

test('image folder errors: a missing --input-size, bad flags, --strict on a bad file', async () => {
  const noSize = await dlkit(['train', data, '--epochs', '1']);
  assert.equal(noSize.code, 1, show(noSize));
  assert.match(noSize.stderr, /is a folder of images: give the size to resize them to \(dlkit train: --input-size H,W/);
  const badSize = await dlkit(['train', data, '--input-size', '16']);
  assert.equal(badSize.code, 2);
  assert.match(badSize.stderr, /--input-size must be H,W/);
  const badAug = await dlkit(['train', data, '--input-size', '16,16', '--augment', 'flip,spin']);
  assert.equal(badAug.code, 2, show(badAug));
  assert.match(badAug.stderr, /unknown augmentation 'spin'/);
  const broken = path.join(tmp, 'broken');
  await writeClassFolder(broken, { classes: ['a', 'b'], perClass: 6, formats: ['.png'] });
  writeFileSync(path.join(broken, 'b', 'zz-broken.png'), 'not a png');
  const strict = await dlkit(['train', broken, '--input-size', '8,8', '--epochs', '1', '--batch-size', '4', '--strict', '--quiet']);
  assert.equal(strict.code, 1, show(strict));
  assert.match(strict.stderr, /broken[/\\]b[/\\]zz-broken\.png: not an image in a supported format/);
  const lenient = await dlkit(['train', broken, '--input-size', '8,8', '--epochs', '1', '--batch-size', '4', '--quiet', '--out', path.join(tmp, 'b.safetensors')]);
  assert.equal(lenient.code, 0, show(lenient));
  assert.match(lenient.stdout, /no separate test split/);
  assert.match(lenient.stdout, /1 file skipped:\n\s+\S*zz-broken\.png: not an image/);
});
