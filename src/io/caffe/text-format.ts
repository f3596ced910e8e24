// The protobuf text format (what Caffe's .prototxt files are), parsed against a protobufjs
// schema: field names, enum names, nested messages and repeated fields come from the schema's
// reflection, so a misspelled field or enum value is an error at its line and column rather
// than silently dropped. protobufjs reads only the binary format.
//
// Grammar (protobuf's text_format): a message is a list of fields; a field is
// `name: value`, `name: [v1, v2]`, `name { ... }`, `name: { ... }` or `name < ... >`, each
// optionally followed by ';' or ','. '#' starts a comment to the end of the line. Strings are
// "..." or '...' with C escapes; adjacent strings are joined. Numbers may be hex, floats may be
// `inf`, `nan` or carry an `f` suffix. Extensions and Any expansions (`[type.url]`) are refused.
import protobuf from 'protobufjs';

/** A syntax or schema error in a text-format file, at a 1-based line and column. */
export class TextFormatError extends Error {
  constructor(readonly file: string, readonly line: number, readonly column: number, readonly reason: string) {
    super(`${file}:${line}:${column}: ${reason}`);
    this.name = 'TextFormatError';
  }
}

type TokenKind = 'ident' | 'number' | 'string' | 'punct' | 'eof';
interface Token {
  kind: TokenKind;
  text: string;
  /** The decoded value of a string token (escapes resolved). */
  value?: string;
  line: number;
  column: number;
}

const IDENT = /[A-Za-z_][A-Za-z0-9_]*/y;
const NUMBER = /(?:0[xX][0-9a-fA-F]+|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?[fF]?)/y;
const PUNCT = new Set(['{', '}', '<', '>', ':', ';', ',', '[', ']', '-']);
const SIMPLE_ESCAPES: Record<string, string> = { n: '\n', t: '\t', r: '\r', a: '\x07', b: '\b', f: '\f', v: '\v', '\\': '\\', "'": "'", '"': '"', '?': '?' };

class Lexer {
  #pos = 0;
  #line = 1;
  #lineStart = 0;
  #peeked: Token | null = null;

  constructor(readonly text: string, readonly file: string) {}

  fail(at: { line: number; column: number }, reason: string): never {
    throw new TextFormatError(this.file, at.line, at.column, reason);
  }

  peek(): Token {
    this.#peeked ??= this.#read();
    return this.#peeked;
  }

  next(): Token {
    const t = this.peek();
    this.#peeked = null;
    return t;
  }

  #here(): { line: number; column: number } {
    return { line: this.#line, column: this.#pos - this.#lineStart + 1 };
  }

  #skip(): void {
    const s = this.text;
    while (this.#pos < s.length) {
      const c = s[this.#pos]!;
      if (c === '\n') { this.#pos++; this.#line++; this.#lineStart = this.#pos; }
      else if (c === ' ' || c === '\t' || c === '\r' || c === '\f' || c === '\v') this.#pos++;
      else if (c === '#') { while (this.#pos < s.length && s[this.#pos] !== '\n') this.#pos++; }
      else break;
    }
  }

  #read(): Token {
    this.#skip();
    const at = this.#here();
    const s = this.text;
    if (this.#pos >= s.length) return { kind: 'eof', text: '', ...at };
    const c = s[this.#pos]!;
    if (c === '"' || c === "'") return { kind: 'string', ...this.#string(c, at), ...at };
    for (const [kind, re] of [['ident', IDENT], ['number', NUMBER]] as const) {
      re.lastIndex = this.#pos;
      const m = re.exec(s);
      if (m) {
        this.#pos += m[0].length;
        // '12ab' or '1.5.3' is one malformed token, not a number followed by a name.
        if (kind === 'number' && this.#pos < s.length && /[A-Za-z0-9_.]/.test(s[this.#pos]!)) {
          this.fail(at, `malformed number '${m[0]}${s.slice(this.#pos).match(/^[A-Za-z0-9_.]*/)![0]}'`);
        }
        return { kind, text: m[0], ...at };
      }
    }
    if (PUNCT.has(c)) { this.#pos++; return { kind: 'punct', text: c, ...at }; }
    this.fail(at, `unexpected character ${JSON.stringify(c)}`);
  }

  #string(quote: string, at: { line: number; column: number }): { text: string; value: string } {
    const s = this.text;
    const start = this.#pos++;
    const bytes: number[] = [];
    const pushText = (t: string) => { for (const b of Buffer.from(t, 'utf8')) bytes.push(b); };
    while (true) {
      if (this.#pos >= s.length || s[this.#pos] === '\n') this.fail(at, 'string is not closed before the end of the line');
      const c = s[this.#pos]!;
      if (c === quote) { this.#pos++; break; }
      if (c !== '\\') { pushText(c); this.#pos++; continue; }
      const e = s[this.#pos + 1];
      const escAt = this.#here();
      if (e === undefined) this.fail(escAt, 'string ends in a lone backslash');
      if (e in SIMPLE_ESCAPES) { pushText(SIMPLE_ESCAPES[e]!); this.#pos += 2; continue; }
      let m: RegExpMatchArray | null;
      if ((m = s.slice(this.#pos + 1, this.#pos + 4).match(/^[0-7]{1,3}/))) {
        const v = parseInt(m[0], 8);
        if (v > 255) this.fail(escAt, `octal escape \\${m[0]} is above \\377`);
        bytes.push(v); this.#pos += 1 + m[0].length; continue;
      }
      if ((e === 'x' || e === 'X') && (m = s.slice(this.#pos + 2, this.#pos + 4).match(/^[0-9a-fA-F]{1,2}/))) {
        bytes.push(parseInt(m[0], 16)); this.#pos += 2 + m[0].length; continue;
      }
      if (e === 'u' && (m = s.slice(this.#pos + 2, this.#pos + 6).match(/^[0-9a-fA-F]{4}$/))) {
        pushText(String.fromCharCode(parseInt(m[0], 16))); this.#pos += 6; continue;
      }
      if (e === 'U' && (m = s.slice(this.#pos + 2, this.#pos + 10).match(/^[0-9a-fA-F]{8}$/))) {
        const cp = parseInt(m[0], 16);
        if (cp > 0x10ffff) this.fail(escAt, `\\U${m[0]} is not a Unicode code point`);
        pushText(String.fromCodePoint(cp)); this.#pos += 10; continue;
      }
      this.fail(escAt, `unknown escape sequence \\${e}`);
    }
    return { text: s.slice(start, this.#pos), value: Buffer.from(bytes).toString('latin1') };
  }
}

const INT_TYPES = new Set(['int32', 'uint32', 'sint32', 'fixed32', 'sfixed32', 'int64', 'uint64', 'sint64', 'fixed64', 'sfixed64']);
const UNSIGNED = new Set(['uint32', 'fixed32', 'uint64', 'fixed64']);
const BITS32 = new Set(['int32', 'uint32', 'sint32', 'fixed32', 'sfixed32']);

/** A parsed message: fields by schema name; repeated fields are arrays; enums are their names. */
export type TextMessage = { [field: string]: unknown };

class Parser {
  constructor(readonly lex: Lexer) {}

  describe(t: Token): string {
    return t.kind === 'eof' ? 'the end of the file' : `'${t.text}'`;
  }

  expect(text: string): Token {
    const t = this.lex.next();
    if (t.kind !== 'punct' || t.text !== text) this.lex.fail(t, `expected '${text}', found ${this.describe(t)}`);
    return t;
  }

  /** Fields up to `end` ('}', '>' or end of file for the top level). */
  message(type: protobuf.Type, end: string | null): TextMessage {
    const out: TextMessage = {};
    const seen = new Map<string, Token>();
    while (true) {
      const t = this.lex.peek();
      if (end === null ? t.kind === 'eof' : t.kind === 'punct' && t.text === end) break;
      if (t.kind === 'eof') this.lex.fail(t, `expected '${end}' to close message ${type.name}, found the end of the file`);
      if (t.kind === 'punct' && t.text === '[') this.lex.fail(t, 'extensions and Any expansions ([...]) are not supported');
      if (t.kind !== 'ident') this.lex.fail(t, `expected a field name of ${type.name}, found ${this.describe(t)}`);
      this.lex.next();
      const field = type.fields[t.text];
      if (!field) {
        const known = Object.keys(type.fields);
        this.lex.fail(t, `message ${type.name} has no field '${t.text}'${suggest(t.text, known)}`);
      }
      field.resolve();
      if (!field.repeated && seen.has(field.name)) {
        const first = seen.get(field.name)!;
        this.lex.fail(t, `field '${field.name}' of ${type.name} is not repeated and was already set at line ${first.line}, column ${first.column}`);
      }
      seen.set(field.name, t);
      const values = this.fieldValues(field, type);
      if (field.repeated) ((out[field.name] ??= []) as unknown[]).push(...values);
      else out[field.name] = values[0];
      const sep = this.lex.peek();
      if (sep.kind === 'punct' && (sep.text === ';' || sep.text === ',')) this.lex.next();
    }
    return out;
  }

  /** The value(s) after a field name: one, or several for the list form `[a, b]`. */
  fieldValues(field: protobuf.Field, owner: protobuf.Type): unknown[] {
    const isMessage = field.resolvedType instanceof protobuf.Type;
    let t = this.lex.peek();
    let colon = false;
    if (t.kind === 'punct' && t.text === ':') { this.lex.next(); colon = true; t = this.lex.peek(); }
    if (t.kind === 'punct' && t.text === '[') {
      if (!colon) this.lex.fail(t, `expected ':' before the list of field '${field.name}'`);
      if (!field.repeated) this.lex.fail(t, `field '${field.name}' of ${owner.name} is not repeated: a list [...] cannot be given`);
      this.lex.next();
      const values: unknown[] = [];
      if (this.lex.peek().text === ']' && this.lex.peek().kind === 'punct') { this.lex.next(); return values; }
      while (true) {
        values.push(isMessage ? this.nested(field) : this.scalar(field));
        const sep = this.lex.next();
        if (sep.kind === 'punct' && sep.text === ']') return values;
        if (sep.kind !== 'punct' || sep.text !== ',') this.lex.fail(sep, `expected ',' or ']' in the list of field '${field.name}', found ${this.describe(sep)}`);
      }
    }
    if (isMessage) return [this.nested(field)];
    if (!colon) this.lex.fail(t, `expected ':' after field '${field.name}' (a ${field.type}), found ${this.describe(t)}`);
    return [this.scalar(field)];
  }

  nested(field: protobuf.Field): TextMessage {
    const open = this.lex.next();
    if (open.kind !== 'punct' || (open.text !== '{' && open.text !== '<')) {
      this.lex.fail(open, `expected '{' or '<' to open message field '${field.name}' (${field.resolvedType!.name}), found ${this.describe(open)}`);
    }
    const close = open.text === '{' ? '}' : '>';
    const value = this.message(field.resolvedType as protobuf.Type, close);
    this.expect(close);
    return value;
  }

  scalar(field: protobuf.Field): unknown {
    const t = this.lex.next();
    const type = field.type;
    const what = `field '${field.name}' (${field.resolvedType instanceof protobuf.Enum ? `enum ${field.resolvedType.name}` : type})`;
    if (field.resolvedType instanceof protobuf.Enum) {
      const e = field.resolvedType;
      if (t.kind === 'ident') {
        if (!(t.text in e.values)) this.lex.fail(t, `'${t.text}' is not a value of enum ${e.name} for ${what}; values: ${Object.keys(e.values).join(', ')}`);
        return t.text;
      }
      const n = this.signedNumber(t, what);
      if (!Number.isInteger(n) || !(n in e.valuesById)) this.lex.fail(t, `${n} is not a value of enum ${e.name} for ${what}`);
      return e.valuesById[n];
    }
    if (type === 'string' || type === 'bytes') {
      if (t.kind !== 'string') this.lex.fail(t, `expected a quoted string for ${what}, found ${this.describe(t)}`);
      let v = t.value!;
      // Adjacent string literals are one value, as in C.
      while (this.lex.peek().kind === 'string') v += this.lex.next().value!;
      const bytes = Buffer.from(v, 'latin1');
      if (type === 'bytes') return new Uint8Array(bytes);
      return bytes.toString('utf8');
    }
    if (type === 'bool') {
      if (t.kind === 'ident' && ['true', 'True', 't'].includes(t.text)) return true;
      if (t.kind === 'ident' && ['false', 'False', 'f'].includes(t.text)) return false;
      if (t.kind === 'number' && (t.text === '1' || t.text === '0')) return t.text === '1';
      this.lex.fail(t, `expected true or false for ${what}, found ${this.describe(t)}`);
    }
    if (type === 'float' || type === 'double') {
      return this.signedNumber(t, what, true);
    }
    if (INT_TYPES.has(type)) {
      const n = this.signedNumber(t, what);
      if (!Number.isInteger(n)) this.lex.fail(t, `expected an integer for ${what}, found '${t.text}'`);
      if (UNSIGNED.has(type) && n < 0) this.lex.fail(t, `expected a non-negative integer for ${what}, found ${n}`);
      const [lo, hi] = BITS32.has(type) ? (UNSIGNED.has(type) ? [0, 2 ** 32 - 1] : [-(2 ** 31), 2 ** 31 - 1]) : [-Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER];
      if (n < lo || n > hi) this.lex.fail(t, `${n} is out of range for ${what}`);
      return n;
    }
    this.lex.fail(t, `${what}: unsupported field type`);
  }

  /** A number token, optionally after '-'; floats also take inf/infinity/nan. */
  signedNumber(first: Token, what: string, float = false): number {
    let t = first;
    let sign = 1;
    if (t.kind === 'punct' && t.text === '-') { sign = -1; t = this.lex.next(); }
    if (float && t.kind === 'ident' && /^(inf|infinity|nan)$/i.test(t.text)) {
      return t.text.toLowerCase() === 'nan' ? NaN : sign * Infinity;
    }
    if (t.kind !== 'number') this.lex.fail(t, `expected a number for ${what}, found ${this.describe(t)}`);
    const text = t.text;
    if (/^0[xX]/.test(text)) return sign * parseInt(text.slice(2), 16);
    if (/[fF]$/.test(text)) {
      if (!float) this.lex.fail(t, `expected an integer for ${what}, found '${text}'`);
      return sign * Number(text.slice(0, -1));
    }
    if (!float && /[.eE]/.test(text)) this.lex.fail(t, `expected an integer for ${what}, found '${text}'`);
    // Leading-zero integers are octal in text format (0755); a bare 0 is zero.
    if (!float && /^0[0-7]+$/.test(text)) return sign * parseInt(text, 8);
    return sign * Number(text);
  }
}

function suggest(name: string, known: string[]): string {
  const close = known.filter((k) => k.toLowerCase() === name.toLowerCase() || distance(k, name) <= 2);
  return close.length ? ` (did you mean ${close.map((k) => `'${k}'`).join(' or ')}?)` : '';
}

function distance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array(b.length).fill(0)] as number[]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
  }
  return d[a.length]![b.length]!;
}

/**
 * Parses text-format `text` as message `type`. Returns a plain object for `type.fromObject`
 * (enums by name, repeated fields as arrays). `file` names the source in errors.
 */
export function parseTextFormat(text: string, type: protobuf.Type, file = '<text>'): TextMessage {
  const parser = new Parser(new Lexer(text, file));
  return parser.message(type, null);
}
