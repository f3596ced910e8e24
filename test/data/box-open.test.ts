// openBoxDatastore: VOC, COCO and YOLO recognized from their layout, with the same boxes; YOLO's
// class names from classes.txt; what is not box data named.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import * as dl from '../../src/index.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'dlkit-box-open-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

// One 40x30 image with a 'cat' box (4, 6)-(20, 26) and a 'dog' box (22, 2)-(38, 14), in continuous pixels.
const BOXES = [4, 6, 20, 26, 22, 2, 38, 14];

async function image(file: string): Promise<void> {
  mkdirSync(path.dirname(file), { recursive: true });
  await sharp({ create: { width: 40, height: 30, channels: 3, background: { r: 90, g: 120, b: 30 } } }).jpeg().toFile(file);
}

test('openBoxDatastore: a VOC folder, a COCO file and a YOLO folder (classes.txt) give the same boxes; splits; errors', async () => {
  const voc = path.join(tmp, 'voc');
  await image(path.join(voc, 'JPEGImages', 'a.jpg'));
  mkdirSync(path.join(voc, 'Annotations'));
  mkdirSync(path.join(voc, 'ImageSets', 'Main'), { recursive: true });
  const obj = (name: string, b: number[]) => `<object><name>${name}</name><difficult>0</difficult><bndbox><xmin>${b[0]! + 1}</xmin><ymin>${b[1]! + 1}</ymin><xmax>${b[2]}</xmax><ymax>${b[3]}</ymax></bndbox></object>`;
  writeFileSync(path.join(voc, 'Annotations', 'a.xml'), `<annotation><size><width>40</width><height>30</height><depth>3</depth></size>${obj('cat', BOXES.slice(0, 4))}${obj('dog', BOXES.slice(4))}</annotation>`);
  writeFileSync(path.join(voc, 'ImageSets', 'Main', 'trainval.txt'), 'a\n');

  const coco = path.join(tmp, 'coco');
  await image(path.join(coco, 'a.jpg'));
  const bbox = (b: number[]) => [b[0], b[1], b[2]! - b[0]!, b[3]! - b[1]!];
  writeFileSync(path.join(coco, 'instances.json'), JSON.stringify({
    images: [{ id: 1, file_name: 'a.jpg', width: 40, height: 30 }],
    categories: [{ id: 1, name: 'cat' }, { id: 2, name: 'dog' }],
    annotations: [{ id: 1, image_id: 1, category_id: 1, bbox: bbox(BOXES.slice(0, 4)), iscrowd: 0 }, { id: 2, image_id: 1, category_id: 2, bbox: bbox(BOXES.slice(4)), iscrowd: 0 }],
  }));

  const yolo = path.join(tmp, 'yolo');
  await image(path.join(yolo, 'images', 'a.jpg'));
  mkdirSync(path.join(yolo, 'labels'));
  const line = (c: number, b: number[]) => `${c} ${(b[0]! + b[2]!) / 2 / 40} ${(b[1]! + b[3]!) / 2 / 30} ${(b[2]! - b[0]!) / 40} ${(b[3]! - b[1]!) / 30}`;
  writeFileSync(path.join(yolo, 'labels', 'a.txt'), `${line(0, BOXES.slice(0, 4))}\n${line(1, BOXES.slice(4))}\n`);
  writeFileSync(path.join(yolo, 'classes.txt'), 'cat\ndog\n');

  for (const [source, options] of [[voc, { split: 'trainval' }], [path.join(coco, 'instances.json'), {}], [yolo, {}]] as const) {
    const data = await dl.openBoxDatastore(source, options);
    assert.deepEqual([...data.classes], ['cat', 'dog'], source);
    assert.equal(data.size, 1);
    assert.deepEqual([...data.images[0]!.labels], [0, 1], source);
    [...data.images[0]!.boxes].forEach((v, i) => assert.ok(Math.abs(v - BOXES[i]!) < 1e-4, `${source}: box value ${i} is ${v}, expected ${BOXES[i]}`));
  }
  assert.equal(await dl.hasVocSplit(voc, 'trainval'), true);
  assert.equal(await dl.hasVocSplit(voc, 'test'), false);
  await assert.rejects(dl.openBoxDatastore(voc, { split: 'test' }), /split 'test'/);
  await assert.rejects(dl.openBoxDatastore(path.join(coco, 'instances.json'), { split: 'test' }), /option 'split' is for VOC folders/);
  const bare = path.join(tmp, 'bare');
  mkdirSync(bare);
  await assert.rejects(dl.openBoxDatastore(bare), /not a Pascal VOC folder \(no Annotations\/\); read as YOLO labels it needs the class names/);
  await assert.rejects(dl.openBoxDatastore(path.join(tmp, 'missing')), /neither a folder \(Pascal VOC or YOLO\) nor a COCO \.json file/);
});
