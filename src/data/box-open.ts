// Opening box-labeled data by what it is: a Pascal VOC folder, a COCO JSON file or a YOLO folder,
// recognized from its layout, into a BoxDatastore. The one rule the CLI and the benchmarks share.
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { readCOCO, readVOC, readYOLO, type BoxTable } from './box-labels.js';
import { BoxDatastore, type BoxDatastoreOptions } from './box-datastore.js';

export interface OpenBoxDatastoreOptions extends BoxDatastoreOptions {
  /** VOC: the ImageSets/Main/<split>.txt to read (default: every annotation). */
  split?: string;
  /** COCO: the folder the JSON's file names are relative to (default: the JSON's folder). */
  images?: string;
  /** Class names in label order (YOLO: required unless the folder has a classes.txt). */
  classes?: readonly string[];
}

async function exists(p: string, kind: 'file' | 'folder'): Promise<boolean> {
  try {
    const s = await stat(p);
    return kind === 'file' ? s.isFile() : s.isDirectory();
  } catch {
    return false;
  }
}

/** Whether a VOC folder has ImageSets/Main/<split>.txt. */
export async function hasVocSplit(folder: string, split: string): Promise<boolean> {
  return exists(path.join(folder, 'ImageSets', 'Main', `${split}.txt`), 'file');
}

/**
 * A box datastore over `source`: a `.json` file is COCO, a folder with `Annotations/` is Pascal
 * VOC, a folder with `labels/` (or `.txt` label files beside the images) is YOLO. A malformed
 * annotation or an unusable image stops the reading with `strict`; otherwise it is skipped and
 * listed in the datastore's `problems`.
 */
export async function openBoxDatastore(source: string, options: OpenBoxDatastoreOptions = {}): Promise<BoxDatastore> {
  const { split, images, classes, strict = false, ...rest } = options;
  const store = { strict, ...rest };
  let table: BoxTable;
  if (source.toLowerCase().endsWith('.json')) {
    if (split !== undefined) throw new TypeError(`openBoxDatastore(${source}): option 'split' is for VOC folders; a COCO file is one split`);
    table = await readCOCO(source, { images: images ?? path.dirname(source), strict, ...(classes && { classes }) });
  } else if (await exists(path.join(source, 'Annotations'), 'folder')) {
    table = await readVOC(source, { strict, ...(split !== undefined && { split }), ...(classes && { classes }) });
  } else if (await exists(source, 'folder')) {
    let names = classes;
    const list = path.join(source, 'classes.txt');
    if (!names && (await exists(list, 'file'))) names = (await readFile(list, 'utf8')).split(/\r?\n/).map((l) => l.trim()).filter(Boolean);
    if (!names) throw new TypeError(`openBoxDatastore(${source}): not a Pascal VOC folder (no Annotations/); read as YOLO labels it needs the class names: give classes, or put them in ${list}, one per line`);
    table = await readYOLO(source, { classes: names, strict });
  } else {
    throw new Error(`openBoxDatastore: ${source} is neither a folder (Pascal VOC or YOLO) nor a COCO .json file`);
  }
  return new BoxDatastore(table, store);
}
