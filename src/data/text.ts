// Reading labeled text: delimited files (TSV, CSV) through csv-parse, and folders of .txt files
// with one subfolder per class. Both give a TextTable: the texts, their labels, and where each
// text came from (file and line), so later errors can name the line.
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { parse, CsvError } from 'csv-parse/sync';

/** Texts with their labels, as read from a file or a folder. */
export interface TextTable {
  /** The texts, in file order (folders: files sorted by path). */
  readonly texts: readonly string[];
  /** Class index per text, or null when the table has no label column. */
  readonly labels: Int32Array | null;
  /** Class names indexed by label (sorted, unless given), or null when unlabeled. */
  readonly classes: readonly string[] | null;
  /** The file or folder read. */
  readonly source: string;
  /** Where each text came from: `file:line` for tables, the file's path for folders. */
  readonly origins: readonly string[];
  /** Things worth knowing that did not stop the read (empty texts, empty class folders). */
  readonly warnings: readonly string[];
}

export interface ReadTextTableOptions {
  /** Field delimiter. Default: ',' for a .csv file, a tab otherwise. */
  delimiter?: '\t' | ',';
  /** The first line names the columns (default false). */
  header?: boolean;
  /** The text's column: a 0-based index, or a header name. Default: 'text' with a header, else 1. */
  textColumn?: number | string;
  /**
   * The label's column: a 0-based index, a header name, or null for unlabeled texts.
   * Default: 'label' with a header, else 0 (the SMS Spam Collection's `label<TAB>text`).
   */
  labelColumn?: number | string | null;
  /**
   * Whether `"` quotes fields (RFC 4180: `""` inside a quoted field is one quote). Default: true for
   * CSV, false for TSV, where quotes are text: SMS messages begin with `"` and never close it.
   */
  quote?: boolean;
  /** Class names in label order; a label outside them is an error. Default: the labels found, sorted. */
  classes?: readonly string[];
}

export interface ReadTextFolderOptions {
  /** File extensions read (default ['.txt']); others are skipped, as are hidden names. */
  extensions?: readonly string[];
  /** Class names in label order; a subfolder outside them is an error. Default: the subfolders found, sorted. */
  classes?: readonly string[];
}

function show(v: unknown): string {
  if (typeof v === 'string') return `'${v}'`;
  if (typeof v === 'number' || typeof v === 'boolean' || v === null || v === undefined) return String(v);
  return Array.isArray(v) ? 'an array' : typeof v;
}

/** @internal Rejects option names that are not in `known`, naming the function and the option. */
export function checkKnownOptions(options: object, known: readonly string[], where: string): void {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) throw new TypeError(`${where}: options must be an object, got ${show(options)}`);
  for (const k of Object.keys(options)) {
    if (!known.includes(k)) throw new TypeError(`${where}: unknown option '${k}'; expected one of ${known.join(', ')}`);
  }
}

const byCodeUnits = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** UTF-8 text of a file; invalid bytes are an error that names the file and the line. */
function decodeUtf8(bytes: Uint8Array, file: string, where: string): string {
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    const loose = new TextDecoder('utf-8').decode(bytes);
    const at = loose.indexOf('\uFFFD');
    const line = loose.slice(0, Math.max(at, 0)).split('\n').length;
    throw new Error(`${where}: ${file} is not UTF-8 text (the first invalid byte is on line ${line}); convert it, e.g. iconv -f latin1 -t utf-8`);
  }
}

function checkClasses(classes: unknown, where: string): readonly string[] | undefined {
  if (classes === undefined) return undefined;
  if (!Array.isArray(classes) || classes.length === 0 || !classes.every((c) => typeof c === 'string' && c.length > 0)) {
    throw new TypeError(`${where}: classes must be a non-empty array of non-empty strings`);
  }
  const seen = new Set<string>();
  for (const c of classes as string[]) {
    if (seen.has(c)) throw new Error(`${where}: class name '${c}' appears twice in classes`);
    seen.add(c);
  }
  return classes as string[];
}

/** Labels as class indices, and the class list (sorted names found, or the given ones). */
function indexLabels(names: readonly string[], given: readonly string[] | undefined, origins: readonly string[], where: string, what: string): { labels: Int32Array; classes: readonly string[] } {
  const classes = Object.freeze(given ? [...given] : [...new Set(names)].sort(byCodeUnits));
  const index = new Map(classes.map((c, i) => [c, i]));
  const labels = new Int32Array(names.length);
  const unknown: string[] = [];
  for (let i = 0; i < names.length; i++) {
    const k = index.get(names[i]!);
    if (k === undefined) { if (unknown.length < 10) unknown.push(`${origins[i]}: ${what} '${names[i]}'`); continue; }
    labels[i] = k;
  }
  if (unknown.length) throw new RangeError(`${where}: labels not among the given classes (${classes.join(', ')}): ${unknown.join('; ')}`);
  return { labels, classes };
}

const MAX_LISTED = 10;

function listProblems(problems: string[], total: number): string {
  return `${problems.join('; ')}${total > problems.length ? `; … and ${total - problems.length} more` : ''}`;
}

/**
 * Reads labeled texts from a delimited file: one text a line (CSV fields in quotes may span lines).
 * Empty lines are skipped; every line must have the same number of columns as the first (or the
 * header): lines that don't, or that have an empty label, are listed in one error by line number.
 *
 *     const sms = await readTextTable('SMSSpamCollection');            // label<TAB>text, no header
 *     const reviews = await readTextTable('reviews.csv', { header: true, textColumn: 'review', labelColumn: 'stars' });
 */
export async function readTextTable(file: string, options: ReadTextTableOptions = {}): Promise<TextTable> {
  const where = `readTextTable(${typeof file === 'string' ? file : show(file)})`;
  if (typeof file !== 'string' || file.length === 0) throw new TypeError(`readTextTable: the first argument must be a file path, got ${show(file)}`);
  checkKnownOptions(options, ['delimiter', 'header', 'textColumn', 'labelColumn', 'quote', 'classes'], where);
  const delimiter = options.delimiter ?? (path.extname(file).toLowerCase() === '.csv' ? ',' : '\t');
  if (delimiter !== '\t' && delimiter !== ',') throw new RangeError(`${where}: delimiter must be '\\t' or ',', got ${show(delimiter)}`);
  const header = options.header ?? false;
  if (typeof header !== 'boolean') throw new TypeError(`${where}: header must be true or false, got ${show(header)}`);
  const quote = options.quote ?? delimiter === ',';
  if (typeof quote !== 'boolean') throw new TypeError(`${where}: quote must be true or false, got ${show(quote)}`);
  const given = checkClasses(options.classes, where);
  const columnOption = (name: 'textColumn' | 'labelColumn', fallback: number | string): number | string | null => {
    const v = options[name] === undefined ? fallback : options[name];
    if (v === null && name === 'labelColumn') return null;
    if (typeof v === 'string' ? !header : !(Number.isSafeInteger(v) && (v as number) >= 0)) {
      throw new TypeError(typeof v === 'string'
        ? `${where}: ${name} ${show(v)} is a column name, which needs header: true (or give its 0-based index)`
        : `${where}: ${name} must be a 0-based column index or a header name, got ${show(v)}`);
    }
    return v as number | string;
  };
  const textOpt = columnOption('textColumn', header ? 'text' : 1);
  const labelOpt = columnOption('labelColumn', header ? 'label' : 0);

  const resolved = path.resolve(file);
  const info = await stat(resolved).catch(() => null);
  if (!info) throw new Error(`${where}: no such file: ${resolved}`);
  if (info.isDirectory()) throw new Error(`${where}: ${resolved} is a folder; for a folder of .txt files (one subfolder per class) use readTextFolder`);
  const content = decodeUtf8(await readFile(resolved), resolved, where);

  let rows: { record: string[]; info: { lines: number } }[];
  try {
    rows = parse(content, {
      delimiter,
      quote: quote ? '"' : false,
      // A quote inside an unquoted CSV field ("5" screen) is text, as spreadsheets write it.
      relax_quotes: true,
      relax_column_count: true, // column counts are checked below, all lines at once
      skip_empty_lines: true,
      bom: true,
      info: true,
    }) as unknown as { record: string[]; info: { lines: number } }[];
  } catch (err) {
    if (err instanceof CsvError) {
      const line = typeof err['lines'] === 'number' && !/\bline\b/.test(err.message) ? `line ${err['lines']}: ` : '';
      const hint = err.code === 'CSV_QUOTE_NOT_CLOSED' ? ` (a field opens a quote that never closes; if quotes are plain text in this file, give quote: false)` : '';
      throw new Error(`${where}: ${line}${err.message}${hint}`, { cause: err });
    }
    throw err;
  }
  // A line of only spaces is an empty line too (csv-parse keeps it as a one-field record).
  rows = rows.filter((r) => !(r.record.length === 1 && r.record[0]!.trim() === ''));
  if (rows.length === 0) throw new Error(`${where}: no lines with text in ${resolved}`);

  let names: string[] | null = null;
  if (header) {
    names = rows[0]!.record.map((s) => s.trim());
    rows = rows.slice(1);
  }
  const resolveColumn = (v: number | string, name: string): number => {
    if (typeof v === 'number') return v;
    const i = names!.indexOf(v);
    if (i < 0) throw new RangeError(`${where}: ${name} '${v}' is not a column of the header (${names!.map((n) => `'${n}'`).join(', ')})`);
    return i;
  };
  const textCol = resolveColumn(textOpt as number | string, 'textColumn');
  const labelCol = labelOpt === null ? null : resolveColumn(labelOpt, 'labelColumn');
  if (labelCol === textCol) throw new RangeError(`${where}: textColumn and labelColumn are the same column (${textCol})`);
  const columns = names ? names.length : rows[0]?.record.length ?? 0;
  const needed = Math.max(textCol, labelCol ?? -1) + 1;
  const layout = `text column ${textCol}${labelCol === null ? '' : `, label column ${labelCol}`}`;
  if (columns < needed) {
    throw new RangeError(`${where}: ${names ? 'the header' : `line ${rows[0]!.info.lines}`} has ${columns} column${columns === 1 ? '' : 's'}, fewer than the ${needed} that ${layout} need${delimiter === '\t' && columns === 1 ? ' (is the file tab-separated? give delimiter: \',\' for CSV)' : ''}`);
  }

  const texts: string[] = [];
  const labelNames: string[] = [];
  const origins: string[] = [];
  const warnings: string[] = [];
  const problems: string[] = [];
  let bad = 0;
  const sep = delimiter === '\t' ? 'tab' : 'comma';
  for (const { record, info: at } of rows) {
    const origin = `${resolved}:${at.lines}`;
    if (record.length !== columns) {
      if (bad++ < MAX_LISTED) {
        const extra = record.length > columns && delimiter === '\t' ? ' (a tab inside the text?)' : '';
        problems.push(`line ${at.lines} has ${record.length} ${sep}-separated column${record.length === 1 ? '' : 's'}, expected ${columns}${extra}`);
      }
      continue;
    }
    const text = record[textCol]!;
    if (labelCol !== null) {
      const label = record[labelCol]!.trim();
      if (label === '') { if (bad++ < MAX_LISTED) problems.push(`line ${at.lines} has an empty label (column ${labelCol})`); continue; }
      labelNames.push(label);
    }
    if (text.trim() === '') warnings.push(`${origin}: empty text`);
    texts.push(text);
    origins.push(origin);
  }
  if (bad) throw new Error(`${where}: ${bad} bad line${bad === 1 ? '' : 's'} (${layout}): ${listProblems(problems, bad)}`);
  if (texts.length === 0) throw new Error(`${where}: the header is the only line of ${resolved}`);

  let labels: Int32Array | null = null;
  let classes: readonly string[] | null = null;
  if (labelCol !== null) {
    ({ labels, classes } = indexLabels(labelNames, given, origins, where, 'label'));
    if (classes.length === 1 && !given) warnings.push(`${resolved}: only one class ('${classes[0]}'); a classifier needs at least two`);
  }
  return Object.freeze({ texts: Object.freeze(texts), labels, classes, source: resolved, origins: Object.freeze(origins), warnings: Object.freeze(warnings) });
}

function normalizeExtension(e: string): string {
  const x = e.toLowerCase();
  return x.startsWith('.') ? x : `.${x}`;
}

async function isFolder(p: string, entry: { isDirectory(): boolean; isSymbolicLink(): boolean }): Promise<boolean> {
  return entry.isDirectory() || (entry.isSymbolicLink() && ((await stat(p).catch(() => null))?.isDirectory() ?? false));
}

/** Files with one of `exts` anywhere under `dir`, hidden names skipped. */
async function listFiles(dir: string, exts: ReadonlySet<string>, where: string, depth = 0): Promise<string[]> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (err) {
    throw new Error(`${where}: cannot read the folder ${dir}: ${(err as Error).message}`, { cause: err });
  }
  const out: string[] = [];
  for (const e of entries) {
    if (e.name.startsWith('.')) continue; // .DS_Store, ._name.txt (AppleDouble), .git
    const p = path.join(dir, e.name);
    if (await isFolder(p, e)) { if (depth < 64) out.push(...await listFiles(p, exts, where, depth + 1)); }
    else if (exts.has(path.extname(e.name).toLowerCase())) out.push(p);
  }
  return out;
}

/**
 * Reads a folder of text files labeled by their class subfolder: `<folder>/<class>/**\/*.txt`
 * (the first subfolder level names the class; deeper folders keep it). Files directly in the
 * folder have no class and are an error.
 *
 *     const reviews = await readTextFolder('aclImdb/train');     // classes ['neg', 'pos']
 */
export async function readTextFolder(folder: string, options: ReadTextFolderOptions = {}): Promise<TextTable> {
  const where = `readTextFolder(${typeof folder === 'string' ? folder : show(folder)})`;
  if (typeof folder !== 'string' || folder.length === 0) throw new TypeError(`readTextFolder: the first argument must be a folder path, got ${show(folder)}`);
  checkKnownOptions(options, ['extensions', 'classes'], where);
  const given = checkClasses(options.classes, where);
  if (options.extensions !== undefined && (!Array.isArray(options.extensions) || options.extensions.length === 0 || !options.extensions.every((e) => typeof e === 'string' && e.length > 0))) {
    throw new TypeError(`${where}: extensions must be a non-empty array of extensions such as '.txt'`);
  }
  const exts = new Set((options.extensions ?? ['.txt']).map(normalizeExtension));
  const root = path.resolve(folder);
  const info = await stat(root).catch(() => null);
  if (!info) throw new Error(`${where}: no such folder: ${root}`);
  if (!info.isDirectory()) throw new Error(`${where}: ${root} is a file; for a TSV/CSV file use readTextTable`);

  const entries = await readdir(root, { withFileTypes: true });
  const loose: string[] = [];
  const classFolders: string[] = [];
  for (const e of entries) {
    if (e.name.startsWith('.')) continue;
    const p = path.join(root, e.name);
    if (await isFolder(p, e)) classFolders.push(e.name);
    else if (exts.has(path.extname(e.name).toLowerCase())) loose.push(e.name);
  }
  if (loose.length) {
    throw new Error(`${where}: ${loose.length} file${loose.length === 1 ? '' : 's'} directly in the folder (${loose.sort(byCodeUnits).slice(0, 5).join(', ')}${loose.length > 5 ? ', …' : ''}) ha${loose.length === 1 ? 's' : 've'} no class: put each class's files in its own subfolder`);
  }
  const files: string[] = [];
  const names: string[] = [];
  const warnings: string[] = [];
  for (const c of classFolders.sort(byCodeUnits)) {
    const found = (await listFiles(path.join(root, c), exts, where)).sort(byCodeUnits);
    if (found.length === 0) warnings.push(`${path.join(root, c)}: empty class folder (no ${[...exts].join('/')} files): ignored`);
    for (const f of found) { files.push(f); names.push(c); }
  }
  if (files.length === 0) throw new Error(`${where}: no ${[...exts].join('/')} files in subfolders of ${root} (expected <folder>/<class>/*${[...exts][0]})`);

  // Read a bounded number of files at a time: a folder can hold tens of thousands.
  const texts = new Array<string>(files.length);
  let next = 0;
  const reader = async () => {
    while (next < files.length) {
      const i = next++;
      let bytes: Uint8Array;
      try {
        bytes = await readFile(files[i]!);
      } catch (err) {
        throw new Error(`${where}: cannot read ${files[i]}: ${(err as Error).message}`, { cause: err });
      }
      texts[i] = decodeUtf8(bytes, files[i]!, where);
      if (texts[i]!.trim() === '') warnings.push(`${files[i]}: empty text`);
    }
  };
  await Promise.all(Array.from({ length: Math.min(32, files.length) }, reader));
  const { labels, classes } = indexLabels(names, given, files, where, 'class folder');
  if (classes.length === 1 && !given) warnings.push(`${root}: only one class ('${classes[0]}'); a classifier needs at least two class folders`);
  return Object.freeze({ texts: Object.freeze(texts), labels, classes, source: root, origins: Object.freeze(files), warnings: Object.freeze(warnings.sort(byCodeUnits)) });
}
