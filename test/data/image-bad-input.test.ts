// Bad input in image folders: truncated images, non-images with image extensions, empty files,
// files that cannot be read, images over the pixel limit, empty class folders. Each is reported
// with its path; batches skip them and the datastore lists them, or with `strict` the iteration
// throws naming the file. And the worker threads end when an iteration ends or is left early.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync, symlinkSync, readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import * as dl from '../../src/index.js';
import { WorkerPool } from '../../src/data/image-pipeline.js';
import { noLeaks } from '../helpers.js';
import { writeClassFolder, writeSolid } from './image-fixtures.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..'); // dist/test/data -> repo
const tmp = mkdtempSync(path.join(os.tmpdir(), 'dlkit-bad-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const root = path.join(tmp, 'data');
const bad: Record<string, RegExp> = {};
before(async () => {
  await writeClassFolder(root, { classes: ['cats', 'dogs'], perClass: 20, formats: ['.png', '.jpg'] });
  const jpeg = await sharp({ create: { width: 64, height: 64, channels: 3, background: { r: 90, g: 120, b: 30 } } }).jpeg().toBuffer();
  writeFileSync(path.join(root, 'cats', 'truncated.jpg'), jpeg.subarray(0, jpeg.length >> 1));
  // libvips reports a truncated JPEG at whichever stage meets the end first: the header or the data
  // (seen both ways on the same file, under load).
  bad['truncated.jpg'] = /cannot decode: .*(premature end|corrupt header)/i;
  writeFileSync(path.join(root, 'cats', 'text.jpg'), 'this is a text file with an image extension\n');
  bad['text.jpg'] = /not an image in a supported format/;
  writeFileSync(path.join(root, 'dogs', 'empty.png'), '');
  bad['empty.png'] = /empty file/;
  symlinkSync(path.join(tmp, 'missing-target.png'), path.join(root, 'dogs', 'dangling.png'));
  bad['dangling.png'] = /cannot read the file: ENOENT/;
  await writeSolid(path.join(root, 'dogs', 'huge.png'), [1, 2, 3], 300, 200);
  bad['huge.png'] = /image too large: .*pixel limit/;
  mkdirSync(path.join(root, 'birds'));
});

const open = (o: dl.ImageDatastoreOptions = {}) => dl.imageDatastore(root, { size: [8, 8], limitInputPixels: 50_000, ...o });

async function drain(ds: dl.Datastore, o: dl.BatchOptions = { batchSize: 16 }): Promise<number> {
  let n = 0;
  for await (const { x, y } of ds.batches(o)) {
    n += x.shape[0]!;
    dl.dispose([x, y]);
  }
  return n;
}

test('bad files are skipped, listed with their paths and reasons; the empty class folder is reported', () => noLeaks(async () => {
  const ds = await open({ workers: 1 });
  assert.equal(ds.size, 45, 'listed by extension; found bad when decoded');
  assert.deepEqual([...ds.classes!], ['cats', 'dogs'], 'the empty folder is no class');
  assert.ok(ds.warnings.some((w) => w.startsWith(path.join(root, 'birds')) && /empty class folder/.test(w)), ds.warnings.join('\n'));
  assert.equal(await drain(ds), 40);
  assert.equal(ds.pipelineStats.workers, 1);
  const found = ds.badFiles;
  assert.deepEqual(found.map((b) => path.basename(b.file)).sort(), Object.keys(bad).sort());
  for (const b of found) {
    assert.ok(path.isAbsolute(b.file) && b.file.startsWith(root));
    assert.match(b.message, bad[path.basename(b.file)]!, b.file);
  }
  // The next pass skips them without trying again.
  assert.equal(await drain(ds, { batchSize: 16, shuffle: true, seed: 1 }), 40);
  assert.equal(ds.pipelineStats.skipped, 5);
  // readImage names the file.
  const i = ds.files.findIndex((f) => f.endsWith('text.jpg'));
  await assert.rejects(ds.readImage(i), new RegExp(`${path.join(root, 'cats', 'text.jpg').replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: not an image`));
  // scan: a datastore without them, for evaluation (labels must match predictions one to one).
  const { good, bad: listed } = await (await open({ workers: 0 })).scan();
  assert.equal(good.size, 40);
  assert.equal(listed.length, 5);
  assert.equal(await drain(good), good.labels()!.length);
}));

test('strict: the iteration throws an error naming the file; the workers end', () => noLeaks(async () => {
  const ds = await open({ strict: true, workers: 2 });
  await assert.rejects(drain(ds, { batchSize: 8 }), (err: Error) => {
    assert.match(err.message, new RegExp(`^${root.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}.*(truncated|text|empty|dangling|huge)\\.(jpg|png): .*strict`));
    return true;
  });
  for (let t = 0; t < 100 && WorkerPool.live > 0; t++) await new Promise((r) => setTimeout(r, 20));
  assert.equal(WorkerPool.live, 0, 'no worker left running');
  // On the main thread too, and again once the file is known bad.
  const again = await open({ strict: true, workers: 0 });
  const empty = again.subset(again.files.map((_, i) => i).filter((i) => again.files[i]!.endsWith('empty.png')));
  await assert.rejects(drain(empty), /empty\.png: empty file/);
  await assert.rejects(drain(empty), /empty\.png: empty file/);
}));

test('leaving a for-await loop early ends the worker threads', () => noLeaks(async () => {
  const ds = await open({ workers: 2, cacheBytes: 0 });
  let batches = 0;
  for await (const { x, y } of ds.batches({ batchSize: 4 })) {
    dl.dispose([x, y]);
    assert.equal(WorkerPool.live, 2, 'the pool is running');
    if (++batches === 2) break;
  }
  for (let t = 0; t < 100 && WorkerPool.live > 0; t++) await new Promise((r) => setTimeout(r, 20));
  assert.equal(WorkerPool.live, 0, 'break terminated the workers');
  // An error thrown by the consumer ends them too.
  await assert.rejects((async () => {
    for await (const { x, y } of ds.batches({ batchSize: 4 })) { dl.dispose([x, y]); throw new Error('consumer failed'); }
  })(), /consumer failed/);
  for (let t = 0; t < 100 && WorkerPool.live > 0; t++) await new Promise((r) => setTimeout(r, 20));
  assert.equal(WorkerPool.live, 0);
}));

test('a process that breaks out of the batches exits on its own (no hanging workers)', () => {
  const index = path.join(repo, 'dist', 'src', 'index.js');
  const script = path.join(tmp, 'break.mjs');
  writeFileSync(script, `
    import * as dl from ${JSON.stringify(index)};
    const ds = await dl.imageDatastore(${JSON.stringify(root)}, { size: [8, 8], workers: 2, limitInputPixels: 50000 });
    for await (const b of ds.batches({ batchSize: 4 })) { b.x.dispose(); b.y.dispose(); break; }
    console.log('left the loop');
    // an abandoned iterator (never finished, never returned) must not keep the process alive either
    const it = ds.batches({ batchSize: 4, shuffle: true, seed: 2 })[Symbol.asyncIterator]();
    const first = await it.next();
    first.value.x.dispose(); first.value.y.dispose();
    console.log('abandoned an iterator');
  `);
  const t0 = Date.now();
  const r = spawnSync(process.execPath, [script], { encoding: 'utf8', timeout: 20_000 });
  assert.equal(r.error, undefined, `the process did not exit within 20 s: ${r.error?.message}`);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /left the loop\nabandoned an iterator/);
  assert.ok(Date.now() - t0 < 20_000);
});

test('the worker never loads the libtorch addon: its imports are sharp, the JPEG addon and plain JavaScript', () => {
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    const src = readFileSync(file, 'utf8');
    for (const m of src.matchAll(/(?:^|\n)\s*import\s[^'"]*['"]([^'"]+)['"]/g)) {
      const spec = m[1]!;
      if (spec.startsWith('.')) visit(path.resolve(path.dirname(file), spec));
      else assert.ok(['sharp', 'node:worker_threads', 'node:fs/promises', 'node:fs'].includes(spec) || (path.basename(file) === 'jpeg.js' && ['node:module', 'node:url', 'node:path'].includes(spec)), `${path.basename(file)} imports ${spec}`);
    }
  };
  // jpeg.js requires one addon, dlkit_jpeg.node (libjpeg-turbo only), never dlkit.node.
  const jpegJs = readFileSync(path.join(repo, 'dist', 'src', 'data', 'jpeg.js'), 'utf8');
  assert.deepEqual(jpegJs.match(/'[\w-]+\.node'/g), ["'dlkit_jpeg.node'"]);
  visit(path.join(repo, 'dist', 'src', 'data', 'image-worker.js'));
  assert.ok(![...seen].some((f) => /native|tensor/.test(f)), [...seen].join(', '));
  assert.ok(seen.has(path.join(repo, 'dist', 'src', 'data', 'jpeg.js')));
  assert.ok(seen.size >= 4);
});
