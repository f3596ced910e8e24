// Text data: TSV/CSV tables (quotes, commas, empty lines, bad lines named), folders of .txt files,
// tokenizer rules (case, punctuation, Unicode, characters), the vocabulary (training split only,
// frequency order, limits, JSON), padding/truncation with masks, and the text datastore (batches,
// splits, subsets), plus the SMS Spam Collection from ../shared/data when it is present.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as dl from '../../src/index.js';
import { noLeaks } from '../helpers.js';
import { SHARED_DATA } from '../support/shared-data.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'dlkit-text-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

function write(name: string, content: string | Buffer): string {
  const p = path.join(tmp, name);
  mkdirSync(path.dirname(p), { recursive: true });
  writeFileSync(p, content);
  return p;
}

const ints = (t: dl.Tensor) => Array.from(t.dataSync() as ArrayLike<number | bigint>, Number);
/** Row i of a [N, L] tensor's values. */
const row = (values: number[], i: number, l: number) => values.slice(i * l, (i + 1) * l);

const SMS = path.join(SHARED_DATA, 'sms-spam', 'SMSSpamCollection');
const hasSms = existsSync(SMS);

// ---- reading tables ---------------------------------------------------------

test('TSV: quotes are text, empty and blank lines are skipped, CRLF and a BOM are handled, origins give the line', async () => {
  // The SMS collection's own hazards: a message that opens a quote and never closes it, one
  // with quotes inside, commas everywhere.
  const lines = [
    'ham\t"Wen u miss someone, the person is definitely special for u..... But',
    '',
    'spam\tFree entry, "WIN" now',
    '   ',
    'ham\tOk lar... Joking wif u oni, "quoted" end"',
  ];
  const file = write('sms.tsv', `\uFEFF${lines.join('\r\n')}\r\n`);
  const t = await dl.readTextTable(file);
  assert.deepEqual([...t.classes!], ['ham', 'spam'], 'classes sorted');
  const expected = lines.filter((l) => l.trim() !== '').map((l) => l.split('\t'));
  assert.deepEqual([...t.texts], expected.map((r) => r[1]), 'every text verbatim, quotes included');
  assert.deepEqual([...t.labels!], expected.map((r) => t.classes!.indexOf(r[0]!)));
  const lineNumbers = lines.map((l, i) => [l, i + 1] as const).filter(([l]) => l.trim() !== '').map(([, n]) => `${path.resolve(file)}:${n}`);
  assert.deepEqual([...t.origins], lineNumbers, 'origins count empty lines too');
  assert.equal(t.source, path.resolve(file));
  assert.deepEqual(t.warnings, []);
});

test('CSV: quoted fields with commas, doubled quotes and line breaks; a bare quote mid-field is text; header names the columns', async () => {
  const file = write('reviews.csv', [
    'id,review,stars',
    '1,"Great, really great",pos',
    '2,"He said ""no"", then left",neg',
    '3,"two',
    'lines",pos',
    '4,a 5" screen,neg',
  ].join('\n'));
  const t = await dl.readTextTable(file, { header: true, textColumn: 'review', labelColumn: 'stars' });
  assert.deepEqual([...t.texts], ['Great, really great', 'He said "no", then left', 'two\nlines', 'a 5" screen']);
  assert.deepEqual([...t.classes!], ['neg', 'pos']);
  assert.deepEqual([...t.labels!].map((l) => t.classes![l]), ['pos', 'neg', 'pos', 'neg']);
  assert.deepEqual(t.origins.map((o) => Number(o.slice(o.lastIndexOf(':') + 1))), [2, 3, 5, 6], 'a record spanning lines ends on its last line');
  // By index, and with the class order fixed by the caller.
  const u = await dl.readTextTable(file, { header: true, textColumn: 1, labelColumn: 2, classes: ['pos', 'neg'] });
  assert.deepEqual([...u.labels!], [0, 1, 0, 1]);
  // Unlabeled.
  const v = await dl.readTextTable(file, { header: true, textColumn: 'review', labelColumn: null });
  assert.equal(v.labels, null);
  assert.equal(v.classes, null);
  assert.equal(v.texts.length, 4);
});

test('bad lines are named by number, all in one error; other errors name the file and the option', async () => {
  const file = write('bad.tsv', ['ham\tfine', 'spam\ttab\tinside', 'lonely', '\tno label', 'ham\talso fine'].join('\n'));
  await assert.rejects(dl.readTextTable(file), (e: Error) => {
    assert.ok(e.message.startsWith(`readTextTable(${file}): 3 bad lines`), e.message);
    assert.match(e.message, /line 2 has 3 tab-separated columns, expected 2 \(a tab inside the text\?\)/);
    assert.match(e.message, /line 3 has 1 tab-separated column, expected 2/);
    assert.match(e.message, /line 4 has an empty label \(column 0\)/);
    assert.doesNotMatch(e.message, /line [15]\b/);
    return true;
  });
  const unclosed = write('unclosed.csv', 'a,"fine"\nb,"never closed\nc,x\n');
  await assert.rejects(dl.readTextTable(unclosed, { textColumn: 1, labelColumn: 0 }), (e: Error) => e.message.includes(unclosed) && /Quote Not Closed/.test(e.message) && /quote: false/.test(e.message));
  const latin1 = write('latin1.tsv', Buffer.concat([Buffer.from('ham\tok\nspam\tprice '), Buffer.from([0xa3]), Buffer.from('5\n')]));
  await assert.rejects(dl.readTextTable(latin1), (e: Error) => e.message.includes(latin1) && /not UTF-8 text \(the first invalid byte is on line 2\)/.test(e.message));
  const commas = write('commas.csv', 'ham,hello\n');
  await assert.rejects(dl.readTextTable(commas, { delimiter: '\t' }), /line 1 has 1 column, fewer than the 2 that text column 1, label column 0 need \(is the file tab-separated\?/);
  await assert.rejects(dl.readTextTable(file, { textColumn: 'text' }), /textColumn 'text' is a column name, which needs header: true/);
  await assert.rejects(dl.readTextTable(commas, { header: true, textColumn: 'body' }), /textColumn 'body' is not a column of the header \('ham', 'hello'\)/);
  await assert.rejects(dl.readTextTable(file, { delimiter: ';' as ',' }), /delimiter must be '\\t' or ',', got ';'/);
  await assert.rejects(dl.readTextTable(file, { colums: 2 } as dl.ReadTextTableOptions), /unknown option 'colums'/);
  await assert.rejects(dl.readTextTable(path.join(tmp, 'nope.tsv')), /no such file: .*nope\.tsv/);
  await assert.rejects(dl.readTextTable(write('ok.tsv', 'ham\thi\nspam\twin\n'), { classes: ['ham'] }), /ok\.tsv:2: label 'spam'/);
});

test('readTextFolder: classes from first-level subfolders, nested files kept, hidden and other files skipped', async () => {
  const root = path.join(tmp, 'folder');
  const files: Record<string, string> = {
    'neg/a.txt': 'bad film', 'neg/deep/b.txt': 'worse', 'pos/c.TXT': '\uFEFFgood', 'pos/d.txt': 'great',
  };
  for (const [name, text] of Object.entries(files)) write(path.join('folder', name), text);
  write('folder/pos/notes.md', 'not a text file');
  write('folder/pos/._d.txt', 'AppleDouble junk');
  mkdirSync(path.join(root, 'empty'), { recursive: true });
  const t = await dl.readTextFolder(root);
  assert.deepEqual([...t.classes!], ['neg', 'pos'], 'the empty folder is no class');
  const names = Object.keys(files).sort();
  assert.deepEqual(t.origins.map((o) => path.relative(root, o).split(path.sep).join('/')), names);
  assert.deepEqual([...t.texts], names.map((n) => files[n]!.replace('\uFEFF', '')), 'a BOM is not text');
  assert.deepEqual([...t.labels!].map((l) => t.classes![l]), names.map((n) => n.split('/')[0]));
  assert.ok(t.warnings.some((w) => w.includes(path.join(root, 'empty')) && w.includes('empty class folder')), t.warnings.join('\n'));
  write('folder2/loose.txt', 'no class');
  write('folder2/a/x.txt', 'x');
  await assert.rejects(dl.readTextFolder(path.join(tmp, 'folder2')), /1 file directly in the folder \(loose\.txt\) has no class/);
  await assert.rejects(dl.readTextFolder(path.join(root, 'neg', 'a.txt')), /is a file; for a TSV\/CSV file use readTextTable/);
  await assert.rejects(dl.readTextFolder(root, { classes: ['neg'] }), /class folder 'pos'/);
});

// ---- tokenizer and vocabulary -------------------------------------------------

test('tokenize: lowercasing, punctuation split/remove/keep, apostrophes, Unicode normalization, characters', () => {
  const s = "FREE entry!! Don't miss: £100, txt WIN to 80086.";
  assert.deepEqual(dl.tokenize(s), ['free', 'entry', '!', '!', "don't", 'miss', ':', '£', '100', ',', 'txt', 'win', 'to', '80086', '.']);
  assert.deepEqual(dl.tokenize(s, { punctuation: 'remove' }), ['free', 'entry', "don't", 'miss', '100', 'txt', 'win', 'to', '80086']);
  assert.deepEqual(dl.tokenize(s, { punctuation: 'keep', lowercase: false }), s.split(' '));
  assert.deepEqual(dl.tokenize('Ｆｒｅｅ ﬁle'), ['free', 'file'], 'NFKC folds full-width letters and ligatures');
  assert.deepEqual(dl.tokenize('Ｆｒｅｅ', { normalization: 'none' }), ['ｆｒｅｅ']);
  assert.deepEqual(dl.tokenize('café naïve'), ['café', 'naïve'], 'accented letters are letters');
  assert.deepEqual(dl.tokenize('  Hi,\n\tU!  ', { level: 'char' }), ['h', 'i', ',', ' ', 'u', '!'], 'whitespace runs are one space, trimmed');
  assert.deepEqual(dl.tokenize('Hi, U!', { level: 'char', punctuation: 'remove' }), ['h', 'i', ' ', 'u']);
  assert.deepEqual(dl.tokenize('a😀b', { level: 'char' }), ['a', '😀', 'b'], 'code points, not UTF-16 halves');
  assert.throws(() => dl.tokenize('x', { level: 'byte' as 'char' }), /tokenize: level must be 'word' or 'char', got 'byte'/);
  assert.throws(() => dl.tokenize('x', { lowercase: 1 as unknown as boolean }), /lowercase must be true or false, got 1/);
});

test('Vocabulary.build: reserved ids, frequency order with code-unit ties, minFrequency, maxSize', () => {
  const texts = ['b a a c', 'a b d', 'e'];
  const v = dl.Vocabulary.build(texts);
  assert.equal(v.tokenOf(dl.PAD_ID), dl.PAD_TOKEN);
  assert.equal(v.tokenOf(dl.UNK_ID), dl.UNK_TOKEN);
  // Counts: a 3, b 2, c 1, d 1, e 1; ties in code-unit order.
  const counts = new Map<string, number>();
  for (const t of texts.flatMap((x) => x.split(' '))) counts.set(t, (counts.get(t) ?? 0) + 1);
  const order = [...counts].sort((p, q) => q[1] - p[1] || (p[0] < q[0] ? -1 : 1)).map(([t]) => t);
  assert.deepEqual(v.tokens.slice(2), order);
  assert.deepEqual([...dl.Vocabulary.build([...texts].reverse()).tokens], [...v.tokens], 'the order of the texts does not matter');
  assert.deepEqual(v.tokens.slice(2), order.filter((t) => counts.get(t)! >= 1));
  const frequent = dl.Vocabulary.build(texts, { minFrequency: 2 });
  assert.deepEqual(frequent.tokens.slice(2), order.filter((t) => counts.get(t)! >= 2));
  const small = dl.Vocabulary.build(texts, { maxSize: 4 });
  assert.equal(small.size, 4);
  assert.deepEqual(small.tokens.slice(2), order.slice(0, 2));
  assert.deepEqual([...small.ids('a c zzz b')], [small.idOf('a'), dl.UNK_ID, dl.UNK_ID, small.idOf('b')], 'dropped and unseen tokens are <unk>');
  assert.equal(dl.Vocabulary.build(['<unk> <pad> x'], { punctuation: 'keep' }).size, 3, 'the reserved names are not counted as words');
  assert.throws(() => dl.Vocabulary.build(texts, { minFrequency: 0 }), /Vocabulary\.build: minFrequency must be a whole number >= 1, got 0/);
  assert.throws(() => dl.Vocabulary.build(texts, { maxSize: 1 }), /maxSize must be a whole number >= 2 .* got 1/);
  assert.throws(() => dl.Vocabulary.build('abc'), /texts must be an array/);
  assert.throws(() => dl.Vocabulary.build(['ok', 3 as unknown as string]), /text 1 is 3, expected a string/);
});

test('encode: int64 ids and bool masks, padding and truncation on either side, empty texts', () => noLeaks(() => {
  const v = dl.Vocabulary.build(['one two three four five']);
  const texts = ['one two three four five', 'two', ''];
  const ids = texts.map((t) => [...v.ids(t)]);
  for (const padding of ['post', 'pre'] as const) {
    for (const truncation of ['post', 'pre'] as const) {
      const L = 3;
      const e = v.encode(texts, { maxLength: L, padding, truncation });
      assert.equal(e.ids.dtype, 'int64');
      assert.equal(e.mask.dtype, 'bool');
      assert.deepEqual([...e.ids.shape], [texts.length, L]);
      assert.deepEqual([...e.mask.shape], [texts.length, L]);
      const got = ints(e.ids);
      const mask = ints(e.mask);
      ids.forEach((r, i) => {
        const kept = truncation === 'post' ? r.slice(0, L) : r.slice(Math.max(0, r.length - L));
        const pad = new Array<number>(L - kept.length).fill(dl.PAD_ID);
        const want = padding === 'post' ? [...kept, ...pad] : [...pad, ...kept];
        assert.deepEqual(row(got, i, L), want, `${padding}/${truncation} row ${i}`);
        assert.deepEqual(row(mask, i, L), want.map((id) => (id === dl.PAD_ID ? 0 : 1)), `${padding}/${truncation} mask ${i}`);
        assert.equal(e.lengths[i], kept.length);
      });
      dl.dispose([e.ids, e.mask]);
    }
  }
  const longest = v.encode(texts);
  assert.deepEqual([...longest.ids.shape], [3, Math.max(...ids.map((r) => r.length))], 'default length: the longest text');
  assert.deepEqual(v.decode(longest.ids), texts, 'decode leaves padding out');
  dl.dispose([longest.ids, longest.mask]);
  assert.throws(() => v.encode(texts, { maxLength: 0 }), /Vocabulary\.encode: maxLength must be a whole number >= 1, got 0/);
  assert.throws(() => v.encode(texts, { padding: 'left' as 'pre' }), /padding must be 'post' or 'pre', got 'left'/);
}));

test('character-level vocabulary encodes and decodes', () => noLeaks(() => {
  const v = dl.Vocabulary.build(['Hello, world'], { level: 'char' });
  assert.deepEqual(new Set(v.tokens.slice(2)), new Set(dl.tokenize('Hello, world', { level: 'char' })));
  const e = v.encode(['hold', 'xyz']);
  assert.deepEqual(v.decode(e.ids), ['hold', `${dl.UNK_TOKEN}${dl.UNK_TOKEN}${dl.UNK_TOKEN}`]);
  assert.equal(v.unknownRate(['hold', 'xyz']), 3 / 7);
  dl.dispose([e.ids, e.mask]);
}));

test('vocabulary JSON round trip: same tokens, rules and encodings; bad JSON is named', () => noLeaks(() => {
  const texts = ['Free ENTRY now!!', "don't call", 'café'];
  const v = dl.Vocabulary.build(texts, { level: 'word', lowercase: false, punctuation: 'remove', normalization: 'NFC' });
  const json = JSON.parse(JSON.stringify(v)) as dl.VocabularyJSON;
  const w = dl.Vocabulary.fromJSON(json);
  assert.deepEqual([...w.tokens], [...v.tokens]);
  assert.deepEqual(w.rules, v.rules);
  const probe = ['FREE entry', "Don't call now!", 'café x'];
  const a = v.encode(probe, { maxLength: 4 });
  const b = w.encode(probe, { maxLength: 4 });
  assert.deepEqual(ints(b.ids), ints(a.ids));
  dl.dispose([a.ids, a.mask, b.ids, b.mask]);
  assert.throws(() => dl.Vocabulary.fromJSON({ ...json, format: 'other' }), /Vocabulary\.fromJSON: format is 'other', expected 'dlkit-vocabulary'/);
  assert.throws(() => dl.Vocabulary.fromJSON({ ...json, version: 2 }), /version 2 is not supported/);
  assert.throws(() => dl.Vocabulary.fromJSON({ ...json, tokens: ['<unk>', '<pad>'] }), /tokens must be an array that starts with '<pad>', '<unk>'/);
  assert.throws(() => dl.Vocabulary.fromJSON({ ...json, tokens: [...json.tokens, json.tokens[2]] }), new RegExp(`token '${json.tokens[2]}' appears twice \\(ids 2 and ${json.tokens.length}\\)`));
  assert.throws(() => dl.Vocabulary.fromJSON({ ...json, level: undefined }), /Vocabulary\.fromJSON: level is missing/);
  assert.throws(() => dl.Vocabulary.fromJSON({ ...json, punctuation: 'drop' }), /punctuation must be 'split', 'remove' or 'keep', got 'drop'/);
}));

// ---- the datastore ------------------------------------------------------------

/** A small labeled table: class 'a' texts say "alpha", class 'b' texts say "beta"; each text has its own marker word. */
function smallTable(n: number): dl.TextTable {
  const texts = Array.from({ length: n }, (_, i) => `${i % 3 === 0 ? 'beta' : 'alpha'} w${i}${' x'.repeat(i % 4)}`);
  const labels = Int32Array.from({ length: n }, (_, i) => (i % 3 === 0 ? 1 : 0));
  return { texts, labels, classes: ['a', 'b'], source: 'small', origins: texts.map((_, i) => `small#${i}`), warnings: [] };
}

test('textDatastore batches: int64 ids [N, L] and labels that travel with their texts, lazy masks, every text once', () => noLeaks(async () => {
  const table = smallTable(23);
  const ds = dl.textDatastore(table, { maxLength: 3 });
  assert.deepEqual([...ds.inputShape], [3]);
  assert.equal(ds.size, 23);
  const v = ds.vocabulary;
  const seen: string[] = [];
  for await (const batch of ds.batches({ batchSize: 5, shuffle: true, seed: 7 })) {
    const { x, y, mask, lengths } = batch;
    assert.equal(x.dtype, 'int64');
    assert.equal(y!.dtype, 'int64');
    assert.equal(mask.dtype, 'bool');
    assert.equal(batch.mask, mask, 'the mask is made once');
    const n = x.shape[0]!;
    assert.deepEqual([...x.shape], [n, 3]);
    const xs = ints(x);
    const ys = ints(y!);
    const ms = ints(mask);
    const decoded = v.decode(x);
    for (let i = 0; i < n; i++) {
      const first = decoded[i]!.split(' ')[0];
      assert.equal(table.classes![ys[i]!], first === 'beta' ? 'b' : 'a', `label of '${decoded[i]}'`);
      assert.equal(lengths[i], row(ms, i, 3).reduce((p, q) => p + q, 0));
      assert.deepEqual(row(ms, i, 3), row(xs, i, 3).map((id) => (id === dl.PAD_ID ? 0 : 1)));
    }
    seen.push(...decoded.map((d) => d.split(' ')[1]!));
    dl.dispose([x, y, mask]);
  }
  assert.deepEqual(seen.sort(), table.texts.map((t) => t.split(' ')[1]!).sort(), 'each text once per epoch');
  // Reading only x and y (as the trainer does) makes no mask tensor: nothing is left behind.
  const before = dl.memory().liveTensors;
  for await (const { x, y } of ds.batches({ batchSize: 10 })) dl.dispose([x, y]);
  assert.equal(dl.memory().liveTensors, before);
  // The same (seed, epoch) gives the same order.
  const orderOf = async (epoch: number) => {
    const out: number[] = [];
    for await (const { x, y } of ds.batches({ batchSize: 23, shuffle: true, seed: 3, epoch })) { out.push(...ints(x)); dl.dispose([x, y]); }
    return out;
  };
  assert.deepEqual(await orderOf(1), await orderOf(1));
  assert.notDeepEqual(await orderOf(1), await orderOf(2));
}));

test('split: stratified by label with a seed; the vocabulary comes from the first part only, a test-only word is <unk>', () => noLeaks(async () => {
  const table = smallTable(40);
  const ds = dl.textDatastore(table);
  assert.equal(ds.vocabularyPending, true);
  const [train, test] = ds.split(0.75, { seed: 0 });
  const counts = ds.countEachLabel()!;
  const trainCounts = train.countEachLabel()!;
  counts.forEach((c, i) => assert.equal(trainCounts[i]!.count, Math.round(0.75 * c.count), `class ${c.label}`));
  assert.equal(train.size + test.size, ds.size);
  const trainTexts = new Set(train.texts);
  assert.ok(test.texts.every((t) => !trainTexts.has(t)), 'disjoint');
  assert.equal(train.vocabulary, test.vocabulary, 'one vocabulary for both parts');
  assert.equal(test.maxLength, train.maxLength);
  const trainWords = new Set(train.texts.flatMap((t) => dl.tokenize(t)));
  assert.deepEqual(new Set(train.vocabulary.tokens.slice(2)), trainWords, 'exactly the training words');
  // Every text has its own marker word w<i>: test markers were never seen in training.
  let unknown = 0;
  for await (const { x, y } of test.batches({ batchSize: 64 })) {
    const decoded = train.vocabulary.decode(x);
    decoded.forEach((d, i) => {
      assert.equal(d.split(' ')[1], dl.UNK_TOKEN, `marker of test text ${test.texts[i]}`);
      unknown++;
    });
    dl.dispose([x, y]);
  }
  assert.equal(unknown, test.size);
  // Same seed, same split; another seed, another.
  const [again] = dl.textDatastore(table).split(0.75, { seed: 0 });
  assert.deepEqual(again.texts, train.texts);
  const [other] = dl.textDatastore(table).split(0.75, { seed: 1 });
  assert.notDeepEqual(other.texts, train.texts);
  // A given vocabulary is kept by both parts.
  const fixed = dl.textDatastore(table, { vocabulary: train.vocabulary, maxLength: 5 });
  const [p, q] = fixed.split(0.5);
  assert.equal(p.vocabulary, train.vocabulary);
  assert.equal(q.vocabulary, train.vocabulary);
  assert.deepEqual([...q.inputShape], [5]);
}));

test('subset and labels: positions in this datastore, labels follow', () => noLeaks(async () => {
  const table = smallTable(12);
  const ds = dl.textDatastore(table, { buildVocabulary: { minFrequency: 1 }, maxLength: 4 });
  const vocabulary = ds.vocabulary; // built now, from all 12 texts: subsets share it
  const sub = ds.subset([5, 0, 9]);
  assert.equal(sub.vocabulary, vocabulary);
  assert.deepEqual(sub.texts, [5, 0, 9].map((i) => table.texts[i]));
  assert.deepEqual([...sub.labels()!], [5, 0, 9].map((i) => table.labels![i]));
  const subsub = sub.subset([2]);
  assert.deepEqual(subsub.texts, [table.texts[9]]);
  assert.deepEqual(subsub.origins, [table.origins[9]]);
  for await (const { x, y } of subsub.batches({ batchSize: 4 })) {
    assert.deepEqual(ints(x), [...vocabulary.ids(table.texts[9]!)].concat(new Array(4).fill(0)).slice(0, 4));
    assert.deepEqual(ints(y!), [table.labels![9]]);
    dl.dispose([x, y]);
  }
  // A subset of a datastore whose vocabulary is still to be built builds its own, from its texts.
  const own = dl.textDatastore(table).subset([0, 1]);
  assert.deepEqual([...own.vocabulary.tokens], [...dl.Vocabulary.build([table.texts[0]!, table.texts[1]!]).tokens]);
  assert.throws(() => ds.subset([12]), /subset \(small\): index 0 is 12; expected a whole number from 0 to 11/);
  assert.throws(() => dl.textDatastore(table, { vocabulary: ds.vocabulary, buildVocabulary: {} }), /give vocabulary or buildVocabulary, not both/);
  assert.throws(() => dl.textDatastore(table, { buildVocabulary: { minFrequncy: 2 } as dl.VocabularyOptions }), /Vocabulary\.build: unknown option 'minFrequncy'/);
  assert.throws(() => dl.textDatastore(table, { maxLength: 2.5 }), /textDatastore \(small\): maxLength must be a whole number >= 1, got 2.5/);
  assert.throws(() => dl.textDatastore({ ...table, labels: Int32Array.of(0) }), /12 texts but 1 labels/);
  const unlabeled = dl.textDatastore({ texts: ['a b', 'c'] });
  assert.equal(unlabeled.labels(), null);
  assert.equal(unlabeled.countEachLabel(), null);
  for await (const { x, y } of unlabeled.batches({ batchSize: 2 })) { assert.equal(y, null); x.dispose(); }
}));

test('the SMS Spam Collection: 5,574 messages, 80/20 stratified split with seed 0 keeps the spam ratio', { skip: hasSms ? false : `SMS Spam Collection not found at ${SMS}: skipped` }, () => noLeaks(async () => {
  const raw = readFileSync(SMS, 'utf8').split('\n').filter((l) => l.trim() !== '');
  const table = await dl.readTextTable(SMS);
  assert.equal(table.texts.length, raw.length, 'one message a line, none lost to quotes');
  assert.equal(table.texts.length, 5574);
  assert.deepEqual([...table.classes!], ['ham', 'spam']);
  const rawSpam = raw.filter((l) => l.startsWith('spam\t')).length;
  const ds = dl.textDatastore(table, { maxLength: 64 });
  assert.deepEqual(ds.countEachLabel(), [{ label: 'ham', count: raw.length - rawSpam }, { label: 'spam', count: rawSpam }]);
  assert.equal(rawSpam, 747);
  raw.forEach((l, i) => { if (i % 97 === 0) assert.equal(table.texts[i], l.slice(l.indexOf('\t') + 1), `line ${i + 1} verbatim`); });

  const [train, test] = ds.split(0.8, { seed: 0 });
  for (const [k, c] of ds.countEachLabel()!.entries()) {
    const got = train.countEachLabel()![k]!.count;
    assert.ok(Math.abs(got - 0.8 * c.count) <= 1, `${c.label}: ${got} in training, 80 % of ${c.count} is ${0.8 * c.count}`);
  }
  for (const [k, c] of ds.countEachLabel()!.entries()) {
    const got = test.countEachLabel()![k]!.count;
    assert.ok(Math.abs(got - 0.2 * c.count) <= 1, `${c.label}: ${got} in the test part, 20 % of ${c.count} is ${0.2 * c.count}`);
  }
  // The vocabulary holds training words only; the test part's share of unknown words is positive.
  const trainWords = new Set(train.texts.flatMap((t) => dl.tokenize(t)));
  assert.equal(train.vocabulary.size, trainWords.size + 2);
  const testOnly = test.texts.flatMap((t) => dl.tokenize(t)).filter((w) => !trainWords.has(w));
  assert.ok(testOnly.length > 0);
  assert.equal(test.vocabulary.idOf(testOnly[0]!), dl.UNK_ID);
  assert.ok(test.vocabulary.unknownRate(test.texts) > 0 && train.vocabulary.unknownRate(train.texts) === 0);
  let n = 0;
  for await (const { x, y, mask } of train.batches({ batchSize: 512, shuffle: true, seed: 0 })) {
    assert.deepEqual([...x.shape], [y!.shape[0]!, 64]);
    n += y!.shape[0]!;
    dl.dispose([x, y, mask]);
  }
  assert.equal(n, train.size);
}));
