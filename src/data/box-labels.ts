// Readers of box annotations: Pascal VOC folders, COCO instances JSON and YOLO text labels. Each
// returns the same in-memory table (BoxTable): one BoxedImage per image, boxes as continuous
// 0-based pixel corners of the original image. Invalid boxes are skipped and reported as
// BoxProblems naming the file and the box; a missing or malformed annotation file is an error
// naming the file and the field (or, with strict: false, a BoxProblem and the image skipped).
import { existsSync } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { XMLParser } from 'fast-xml-parser';
import sharp from 'sharp';

/** One image and its boxes. */
export interface BoxedImage {
  /** Absolute path of the image. */
  file: string;
  /** As the annotation says (VOC <size>, COCO images[].width); checked against the file when decoded. */
  width: number;
  height: number;
  /** k*4: x1, y1, x2, y2 in pixels of the original image, continuous coordinates (x2 > x1). */
  boxes: Float32Array;
  /** k class indices into the table's classes. */
  labels: Int32Array;
  /** k flags: VOC <difficult>, COCO iscrowd, YOLO 0. */
  difficult: Uint8Array;
}

/** A box or an image that was skipped, and why. */
export interface BoxProblem {
  /** The annotation file (or the image, for problems found when decoding). */
  file: string;
  /** Where in the file, e.g. 'object[3].bndbox' or 'annotations[12].bbox'. */
  field?: string;
  message: string;
}

/** What every reader returns. */
export interface BoxTable {
  images: BoxedImage[];
  /** Class names, indexed by label. */
  classes: string[];
  /** Boxes and images skipped while reading. */
  problems: BoxProblem[];
  /** The folder or file read. */
  source: string;
}

export interface ReadBoxesOptions {
  /**
   * Class names in label order. Given, a box of any other class is an error naming the file and
   * the class; absent, the classes found (VOC, COCO) in sorted (VOC) or category-id (COCO) order.
   */
  classes?: readonly string[];
  /** A missing or malformed annotation stops the reading (default true); false: skip the image, report it. */
  strict?: boolean;
}

export interface ReadVOCOptions extends ReadBoxesOptions {
  /** ImageSets/Main/<split>.txt lists the images ('trainval', 'test', ...); default: every Annotations/*.xml. */
  split?: string;
}

export interface ReadCOCOOptions extends ReadBoxesOptions {
  /** The folder the JSON's file_name entries are relative to. */
  images: string;
}

export interface ReadYOLOOptions {
  /** Class names, indexed by the class numbers of the label files (YOLO files hold numbers only). */
  classes: readonly string[];
  strict?: boolean;
}

/** How far outside the image a box corner may lie (annotation tools round): beyond it the box is invalid. */
const EDGE_TOLERANCE = 0.5;

const IMAGE_EXTS = ['.jpg', '.jpeg', '.png', '.bmp', '.webp', '.tif', '.tiff'];

const show = (v: unknown): string => (typeof v === 'string' ? `'${v}'` : v === undefined ? 'nothing' : v === null ? 'null' : typeof v === 'object' ? (Array.isArray(v) ? 'an array' : 'an object') : String(v));
const fmt = (b: readonly number[]) => `[${b.map((v) => (Number.isFinite(v) ? +v.toFixed(2) : v)).join(', ')}]`;

/** An annotation that cannot be used; `field` names where. */
class AnnotationError extends Error {
  constructor(readonly file: string, readonly field: string | undefined, readonly reason: string) {
    super(`${file}: ${field ? `${field}: ` : ''}${reason}`);
  }
}

/**
 * Why the box (x1, y1, x2, y2) cannot be used in a width x height image, or null; a box within
 * EDGE_TOLERANCE outside the image is clipped in place.
 */
function checkBox(b: number[], width: number, height: number): string | null {
  if (!b.every(Number.isFinite)) return `not a number in ${fmt(b)}`;
  const [x1, y1, x2, y2] = b as [number, number, number, number];
  if (x2 <= x1 || y2 <= y1) return `zero or negative size ${fmt(b)} (width ${+(x2 - x1).toFixed(2)}, height ${+(y2 - y1).toFixed(2)})`;
  if (x1 < -EDGE_TOLERANCE || y1 < -EDGE_TOLERANCE || x2 > width + EDGE_TOLERANCE || y2 > height + EDGE_TOLERANCE) {
    return `outside the ${width}x${height} image: ${fmt(b)}`;
  }
  b[0] = Math.max(0, x1); b[1] = Math.max(0, y1); b[2] = Math.min(width, x2); b[3] = Math.min(height, y2);
  return null;
}

/** Collects the boxes of one image. */
class BoxList {
  boxes: number[] = [];
  labels: number[] = [];
  difficult: number[] = [];
  add(b: readonly number[], label: number, difficult: boolean): void {
    this.boxes.push(...b);
    this.labels.push(label);
    this.difficult.push(difficult ? 1 : 0);
  }
  image(file: string, width: number, height: number): BoxedImage {
    return { file, width, height, boxes: Float32Array.from(this.boxes), labels: Int32Array.from(this.labels), difficult: Uint8Array.from(this.difficult) };
  }
}

/** Maps class names to labels: fixed when `given`, else grows as names are met (sorted at the end). */
class ClassMap {
  readonly #given: boolean;
  readonly #index = new Map<string, number>();
  constructor(given: readonly string[] | undefined, where: string) {
    this.#given = given !== undefined;
    if (given) {
      if (!Array.isArray(given) || !given.every((c) => typeof c === 'string' && c.length > 0)) throw new TypeError(`${where}: classes must be an array of non-empty strings, got ${show(given)}`);
      given.forEach((c, i) => {
        if (this.#index.has(c)) throw new RangeError(`${where}: class '${c}' appears twice in classes`);
        this.#index.set(c, i);
      });
    }
  }
  label(name: string, file: string, field: string): number {
    let i = this.#index.get(name);
    if (i === undefined) {
      if (this.#given) throw new RangeError(`${file}: ${field}: class '${name}' is not among the given classes (${[...this.#index.keys()].join(', ')})`);
      this.#index.set(name, (i = this.#index.size));
    }
    return i;
  }
  /** The class names, and (when found, not given) the relabeling to sorted order. */
  finish(images: BoxedImage[], sort: boolean): string[] {
    const names = [...this.#index.keys()];
    if (this.#given || !sort) return names;
    const sorted = [...names].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const remap = Int32Array.from(names, (n) => sorted.indexOf(n));
    for (const img of images) for (let k = 0; k < img.labels.length; k++) img.labels[k] = remap[img.labels[k]!]!;
    return sorted;
  }
}

function checkCommon(options: { strict?: unknown }, where: string, known: string[]): boolean {
  if (options === null || typeof options !== 'object') throw new TypeError(`${where}: options must be an object, got ${show(options)}`);
  for (const k of Object.keys(options)) if (!known.includes(k)) throw new TypeError(`${where}: unknown option '${k}'; expected one of ${known.join(', ')}`);
  if (options.strict !== undefined && typeof options.strict !== 'boolean') throw new TypeError(`${where}: strict must be true or false, got ${show(options.strict)}`);
  return options.strict ?? true;
}

async function isFolder(p: string): Promise<boolean> {
  return (await stat(p).catch(() => null))?.isDirectory() ?? false;
}

// ---- Pascal VOC ---------------------------------------------------------------

const xml = new XMLParser({ ignoreAttributes: true, parseTagValue: false, trimValues: true, isArray: (name) => name === 'object' });

/** A whole number > 0 from an XML text field. */
function positive(v: unknown, file: string, field: string): number {
  const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
  if (!Number.isSafeInteger(n) || n < 1) throw new AnnotationError(file, field, `expected a whole number of pixels >= 1, got ${show(v)}`);
  return n;
}

/**
 * Pascal VOC: JPEGImages/<id>.jpg, Annotations/<id>.xml, ImageSets/Main/<split>.txt.
 *
 *     const table = await readVOC('../shared/data/bccd', { split: 'trainval' });
 *     const data = new BoxDatastore(table);
 */
export async function readVOC(folder: string, options: ReadVOCOptions = {}): Promise<BoxTable> {
  const where = `readVOC(${typeof folder === 'string' ? folder : show(folder)})`;
  if (typeof folder !== 'string' || folder.length === 0) throw new TypeError(`readVOC: the first argument must be the VOC folder (with JPEGImages/, Annotations/), got ${show(folder)}`);
  const strict = checkCommon(options, where, ['split', 'classes', 'strict']);
  const root = path.resolve(folder);
  const annotations = path.join(root, 'Annotations');
  if (!(await isFolder(annotations))) throw new Error(`${where}: no Annotations/ folder in ${root} (a Pascal VOC folder has JPEGImages/, Annotations/ and ImageSets/Main/)`);
  let ids: string[];
  if (options.split !== undefined) {
    if (typeof options.split !== 'string' || options.split.length === 0) throw new TypeError(`${where}: split must be the name of a file in ImageSets/Main (e.g. 'trainval'), got ${show(options.split)}`);
    const list = path.join(root, 'ImageSets', 'Main', `${options.split}.txt`);
    const text = await readFile(list, 'utf8').catch((err: Error) => {
      throw new Error(`${where}: split '${options.split}': cannot read ${list}: ${err.message}`);
    });
    ids = text.split(/\r?\n/).map((l) => l.trim().split(/\s+/)[0]!).filter((l) => l.length > 0);
  } else {
    ids = (await readdir(annotations)).filter((n) => n.toLowerCase().endsWith('.xml') && !n.startsWith('.')).map((n) => n.slice(0, -4)).sort();
  }
  const classes = new ClassMap(options.classes, where);
  const images: BoxedImage[] = [];
  const problems: BoxProblem[] = [];
  for (const id of ids) {
    const file = path.join(annotations, `${id}.xml`);
    try {
      images.push(await readVOCAnnotation(root, id, file, classes, problems));
    } catch (err) {
      if (!(err instanceof AnnotationError)) throw err;
      if (strict) throw new Error(`${err.message} (strict: a bad annotation stops the reading; strict: false skips the image)`);
      problems.push({ file: err.file, ...(err.field ? { field: err.field } : {}), message: `${err.reason}: image skipped` });
    }
  }
  return { images, classes: classes.finish(images, true), problems, source: root };
}

async function readVOCAnnotation(root: string, id: string, file: string, classes: ClassMap, problems: BoxProblem[]): Promise<BoxedImage> {
  let text: string;
  try { text = await readFile(file, 'utf8'); } catch (err) {
    throw new AnnotationError(file, undefined, `cannot read the annotation: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
  }
  let doc: Record<string, unknown>;
  try { doc = xml.parse(text, true) as Record<string, unknown>; } catch (err) {
    throw new AnnotationError(file, undefined, `malformed XML: ${(err as Error).message}`);
  }
  const a = doc.annotation as Record<string, unknown> | undefined;
  if (!a || typeof a !== 'object') throw new AnnotationError(file, 'annotation', 'no <annotation> element');
  const size = a.size as Record<string, unknown> | undefined;
  if (!size || typeof size !== 'object') throw new AnnotationError(file, 'size', 'no <size> element (with <width> and <height>)');
  const width = positive(size.width, file, 'size.width');
  const height = positive(size.height, file, 'size.height');
  // The image: JPEGImages/<id>.jpg as the devkit names it, else the <filename> the XML gives.
  const dir = path.join(root, 'JPEGImages');
  let image = path.join(dir, `${id}.jpg`);
  if (!existsSync(image)) {
    const named = typeof a.filename === 'string' && a.filename ? path.join(dir, a.filename) : null;
    const other = IMAGE_EXTS.map((e) => path.join(dir, id + e)).find((p) => existsSync(p));
    image = (named && existsSync(named) ? named : other) ?? image;
    if (!existsSync(image)) throw new AnnotationError(file, 'filename', `no image for it: looked for ${path.join(dir, `${id}.jpg`)}${named ? ` and ${named}` : ''}`);
  }
  const list = new BoxList();
  const objects = (a.object ?? []) as unknown[];
  objects.forEach((o, k) => {
    const field = `object[${k}]`;
    if (!o || typeof o !== 'object') throw new AnnotationError(file, field, 'expected an <object> element with <name> and <bndbox>');
    const obj = o as Record<string, unknown>;
    if (typeof obj.name !== 'string' || obj.name.length === 0) throw new AnnotationError(file, `${field}.name`, `expected a class name, got ${show(obj.name)}`);
    const bb = obj.bndbox as Record<string, unknown> | undefined;
    if (!bb || typeof bb !== 'object') throw new AnnotationError(file, `${field}.bndbox`, 'no <bndbox> element');
    const raw = (['xmin', 'ymin', 'xmax', 'ymax'] as const).map((c) => {
      const v = bb[c];
      const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
      if (Number.isNaN(n)) throw new AnnotationError(file, `${field}.bndbox.${c}`, `expected a number, got ${show(v)}`);
      return n;
    });
    const label = classes.label(obj.name, file, `${field}.name`);
    const difficult = obj.difficult !== undefined && String(obj.difficult).trim() === '1';
    // VOC counts pixels from 1, corners inclusive: xmin = 1, xmax = W spans the whole image.
    // In continuous 0-based coordinates that is x1 = xmin - 1, x2 = xmax. A box with
    // xmin = xmax is what annotation tools write for a click without a drag: no object, so it
    // is checked as the annotation gives it (xmax > xmin) before the conversion.
    if (!(raw[2]! > raw[0]! && raw[3]! > raw[1]!)) {
      problems.push({ file, field: `${field}.bndbox`, message: `${obj.name}: zero or negative size (xmin ${raw[0]}, ymin ${raw[1]}, xmax ${raw[2]}, ymax ${raw[3]}): box skipped` });
      return;
    }
    const b = [raw[0]! - 1, raw[1]! - 1, raw[2]!, raw[3]!];
    const why = checkBox(b, width, height);
    if (why) { problems.push({ file, field: `${field}.bndbox`, message: `${obj.name}: ${why}: box skipped` }); return; }
    list.add(b, label, difficult);
  });
  return list.image(image, width, height);
}

// ---- COCO ---------------------------------------------------------------------

/**
 * COCO instances JSON: images[] (id, file_name, width, height), annotations[] (image_id,
 * category_id, bbox [x, y, w, h] in continuous pixels, iscrowd), categories[] (id, name).
 */
export async function readCOCO(jsonFile: string, options: ReadCOCOOptions): Promise<BoxTable> {
  const where = `readCOCO(${typeof jsonFile === 'string' ? jsonFile : show(jsonFile)})`;
  if (typeof jsonFile !== 'string' || jsonFile.length === 0) throw new TypeError(`readCOCO: the first argument must be the path of a COCO instances JSON file, got ${show(jsonFile)}`);
  const strict = checkCommon(options ?? ({} as ReadCOCOOptions), where, ['images', 'classes', 'strict']);
  if (typeof options.images !== 'string' || options.images.length === 0) throw new TypeError(`${where}: images must be the folder the JSON's file_name entries are in, got ${show(options.images)}`);
  const file = path.resolve(jsonFile);
  const imageRoot = path.resolve(options.images);
  let doc: Record<string, unknown>;
  try {
    doc = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
  } catch (err) {
    throw new Error(`${file}: ${err instanceof SyntaxError ? 'malformed JSON' : 'cannot read the file'}: ${(err as Error).message}`);
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) throw new Error(`${file}: expected a JSON object with images, annotations and categories, got ${show(doc)}`);
  for (const k of ['images', 'annotations', 'categories'] as const) {
    if (!Array.isArray(doc[k])) throw new Error(`${file}: ${k}: expected an array, got ${show(doc[k])}`);
  }
  const problems: BoxProblem[] = [];
  const fail = (field: string, reason: string): void => {
    if (strict) throw new Error(`${file}: ${field}: ${reason} (strict: a bad annotation stops the reading; strict: false skips it)`);
    problems.push({ file, field, message: `${reason}: skipped` });
  };
  const cats = new Map<number, string>();
  (doc.categories as unknown[]).forEach((c, i) => {
    const cat = c as Record<string, unknown>;
    if (!cat || !Number.isSafeInteger(cat.id) || typeof cat.name !== 'string') throw new Error(`${file}: categories[${i}]: expected { id: whole number, name: string }, got ${show(c)}`);
    cats.set(cat.id as number, cat.name);
  });
  // Found classes follow the category ids (COCO's own order); given ones fix the labels.
  const classes = new ClassMap(options.classes, where);
  if (!options.classes) for (const id of [...cats.keys()].sort((a, b) => a - b)) classes.label(cats.get(id)!, file, 'categories');
  const byId = new Map<number, { file: string; width: number; height: number; list: BoxList; bad: boolean }>();
  const order: number[] = [];
  (doc.images as unknown[]).forEach((m, i) => {
    const img = m as Record<string, unknown>;
    const field = `images[${i}]`;
    if (!img || typeof img !== 'object') return fail(field, `expected an object, got ${show(m)}`);
    if (!Number.isSafeInteger(img.id)) return fail(`${field}.id`, `expected a whole number, got ${show(img.id)}`);
    if (typeof img.file_name !== 'string' || !img.file_name) return fail(`${field}.file_name`, `expected a file name, got ${show(img.file_name)}`);
    for (const d of ['width', 'height'] as const) {
      if (!Number.isSafeInteger(img[d]) || (img[d] as number) < 1) return fail(`${field}.${d}`, `expected a whole number of pixels >= 1, got ${show(img[d])}`);
    }
    if (byId.has(img.id as number)) return fail(`${field}.id`, `image id ${img.id} appears twice`);
    byId.set(img.id as number, { file: path.join(imageRoot, img.file_name), width: img.width as number, height: img.height as number, list: new BoxList(), bad: false });
    order.push(img.id as number);
  });
  (doc.annotations as unknown[]).forEach((a, i) => {
    const ann = a as Record<string, unknown>;
    const field = `annotations[${i}]`;
    if (!ann || typeof ann !== 'object') return fail(field, `expected an object, got ${show(a)}`);
    const img = byId.get(ann.image_id as number);
    if (!img) return fail(`${field}.image_id`, `no image with id ${show(ann.image_id)} in images`);
    const name = cats.get(ann.category_id as number);
    if (name === undefined) return fail(`${field}.category_id`, `no category with id ${show(ann.category_id)} in categories`);
    const bbox = ann.bbox;
    if (!Array.isArray(bbox) || bbox.length !== 4 || !bbox.every((v) => typeof v === 'number')) return fail(`${field}.bbox`, `expected [x, y, width, height], got ${Array.isArray(bbox) ? `[${bbox.map(show).join(', ')}]` : show(bbox)}`);
    const label = classes.label(name, file, `${field}.category_id (${name})`);
    const [x, y, w, h] = bbox as [number, number, number, number];
    const b = [x, y, x + w, y + h];
    const why = w <= 0 || h <= 0 ? `zero or negative size [x ${x}, y ${y}, width ${w}, height ${h}]` : checkBox(b, img.width, img.height);
    if (why) { problems.push({ file, field: `${field}.bbox`, message: `${name} in ${path.basename(img.file)}: ${why}: box skipped` }); return; }
    img.list.add(b, label, ann.iscrowd === 1 || ann.iscrowd === true);
  });
  const images = order.map((id) => { const m = byId.get(id)!; return m.list.image(m.file, m.width, m.height); });
  return { images, classes: classes.finish(images, false), problems, source: file };
}

// ---- YOLO ---------------------------------------------------------------------

async function listFiles(dir: string, exts: string[]): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string) => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      if (e.name.startsWith('.')) continue;
      const p = path.join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else if (exts.includes(path.extname(e.name).toLowerCase())) out.push(p);
    }
  };
  await walk(dir);
  return out.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/** The size of an image as shown (EXIF orientation applied), from its header. */
async function imageSize(file: string): Promise<[number, number]> {
  const meta = await sharp(file).metadata();
  const w = meta.width, h = meta.pageHeight ?? meta.height;
  if (!w || !h) throw new Error('cannot tell the image size');
  return (meta.orientation ?? 1) >= 5 ? [h, w] : [w, h];
}

/**
 * YOLO text labels: images/… with labels/… mirroring it (one .txt per image), or each image with
 * its .txt beside it. A line is `class cx cy w h`, the box's center and size as fractions of
 * the image. An image without a label file has no boxes (a negative). The image sizes come from
 * the files' headers.
 */
export async function readYOLO(folder: string, options: ReadYOLOOptions): Promise<BoxTable> {
  const where = `readYOLO(${typeof folder === 'string' ? folder : show(folder)})`;
  if (typeof folder !== 'string' || folder.length === 0) throw new TypeError(`readYOLO: the first argument must be a folder (with images/ and labels/, or images with .txt files beside them), got ${show(folder)}`);
  const strict = checkCommon(options ?? ({} as ReadYOLOOptions), where, ['classes', 'strict']);
  if (!options.classes) throw new TypeError(`${where}: classes is required (YOLO label files hold class numbers; give the names in that order)`);
  new ClassMap(options.classes, where); // checks them
  const classes = [...options.classes];
  const root = path.resolve(folder);
  if (!(await isFolder(root))) throw new Error(`${where}: no such folder: ${root}`);
  const split = await isFolder(path.join(root, 'images'));
  const imageDir = split ? path.join(root, 'images') : root;
  const files = await listFiles(imageDir, IMAGE_EXTS);
  if (files.length === 0) throw new Error(`${where}: no images (${IMAGE_EXTS.join(', ')}) in ${imageDir}`);
  const labelFile = (img: string) => {
    const rel = path.relative(imageDir, img);
    const base = rel.slice(0, rel.length - path.extname(rel).length) + '.txt';
    return path.join(split ? path.join(root, 'labels') : root, base);
  };
  const problems: BoxProblem[] = [];
  const results: (BoxedImage | null)[] = new Array(files.length).fill(null);
  const one = async (i: number) => {
    const img = files[i]!;
    const txt = labelFile(img);
    let size: [number, number];
    try { size = await imageSize(img); } catch (err) {
      const reason = `cannot read the image size: ${(err as Error).message}`;
      if (strict) throw new Error(`${img}: ${reason} (strict: stops the reading; strict: false skips the image)`);
      problems.push({ file: img, message: `${reason}: image skipped` });
      return;
    }
    const [W, H] = size;
    const list = new BoxList();
    const text = await readFile(txt, 'utf8').catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return '';
      throw new Error(`${txt}: cannot read the label file: ${err.message}`);
    });
    const lines = text.split(/\r?\n/);
    for (let n = 0; n < lines.length; n++) {
      const line = lines[n]!.trim();
      if (!line) continue;
      const field = `line ${n + 1}`;
      const parts = line.split(/\s+/);
      const v = parts.map(Number);
      // A coordinate that is not a number makes an invalid box (reported below); a line of
      // another shape is not a box at all.
      if (parts.length !== 5 || Number.isNaN(v[0])) {
        const reason = `expected 'class cx cy w h' (5 numbers), got '${line.length > 80 ? `${line.slice(0, 80)}…` : line}'`;
        if (strict) throw new Error(`${txt}: ${field}: ${reason} (strict: stops the reading; strict: false skips the image)`);
        problems.push({ file: txt, field, message: `${reason}: image skipped` });
        return;
      }
      const [c, cx, cy, w, h] = v as [number, number, number, number, number];
      if (!Number.isInteger(c) || c < 0 || c >= classes.length) throw new RangeError(`${txt}: ${field}: class ${parts[0]} is not among the ${classes.length} given classes (0 to ${classes.length - 1}: ${classes.join(', ')})`);
      const b = [(cx - w / 2) * W, (cy - h / 2) * H, (cx + w / 2) * W, (cy + h / 2) * H];
      const why = w <= 0 || h <= 0 ? `zero or negative size (w ${w}, h ${h})` : checkBox(b, W, H);
      if (why) { problems.push({ file: txt, field, message: `${classes[c]}: ${why}: box skipped` }); continue; }
      list.add(b, c, false);
    }
    results[i] = list.image(img, W, H);
  };
  // Image headers are read on libuv's thread pool: a few at once.
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(8, files.length) }, async () => { while (next < files.length) await one(next++); }));
  // Files were read a few at once: report in file order, as the other readers do.
  problems.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
  return { images: results.filter((r): r is BoxedImage => r !== null), classes, problems, source: root };
}
