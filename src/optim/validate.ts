// Argument checks shared by the optimizers and schedules. Every error names who complains, the
// option, the expected range and the value received: "SGDM: momentum must be a number in
// [0, 1], got 1.5".

/** An allowed range: bounds are inclusive unless marked open. */
export interface Range {
  min?: number;
  max?: number;
  minOpen?: boolean;
  maxOpen?: boolean;
  integer?: boolean;
}

export function describeRange(r: Range): string {
  const kind = r.integer ? 'an integer' : 'a number';
  if (r.min !== undefined && r.max !== undefined) {
    return `${kind} in ${r.minOpen ? '(' : '['}${r.min}, ${r.max}${r.maxOpen ? ')' : ']'}`;
  }
  if (r.min !== undefined) return `${kind} ${r.minOpen ? '>' : '>='} ${r.min}`;
  if (r.max !== undefined) return `${kind} ${r.maxOpen ? '<' : '<='} ${r.max}`;
  return `a finite ${r.integer ? 'integer' : 'number'}`;
}

/** A value as an error message shows it: numbers and strings as written, other things by type. */
export function show(v: unknown): string {
  if (typeof v === 'number') return String(v);
  if (typeof v === 'string') return JSON.stringify(v);
  if (v === null || v === undefined) return String(v);
  if (Array.isArray(v)) return `an array of length ${v.length}`;
  return typeof v === 'object' ? `an object (${(v as object).constructor?.name ?? 'Object'})` : `${String(v)} (${typeof v})`;
}

/** Checks that `value` is a finite number inside `range` and returns it. */
export function checkNumber(where: string, name: string, value: unknown, range: Range): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new TypeError(`${where}: ${name} must be ${describeRange(range)}, got ${show(value)}`);
  }
  const { min, max } = range;
  const ok =
    (!range.integer || Number.isInteger(value)) &&
    (min === undefined || (range.minOpen ? value > min : value >= min)) &&
    (max === undefined || (range.maxOpen ? value < max : value <= max));
  if (!ok) throw new RangeError(`${where}: ${name} must be ${describeRange(range)}, got ${show(value)}`);
  return value;
}

export function checkBoolean(where: string, name: string, value: unknown): boolean {
  if (typeof value !== 'boolean') throw new TypeError(`${where}: ${name} must be true or false, got ${show(value)}`);
  return value;
}

/**
 * Checks that `options` is a plain object (or undefined) with no keys outside `known`. `hints`
 * adds a sentence for names users are likely to try (AdamW's l2Regularization).
 */
export function checkOptionNames(where: string, options: unknown, known: readonly string[], hints: Record<string, string> = {}): Record<string, unknown> {
  if (options === undefined) return {};
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new TypeError(`${where}: options must be an object, got ${show(options)}`);
  }
  const unknown = Object.keys(options).filter((k) => !known.includes(k));
  if (unknown.length > 0) {
    const hint = unknown.map((k) => hints[k]).filter((h) => h !== undefined).join(' ');
    const names = unknown.map((k) => `'${k}'`).join(', ');
    throw new TypeError(`${where}: unknown option${unknown.length > 1 ? 's' : ''} ${names}; expected ${known.join(', ')}${hint ? `. ${hint}` : ''}`);
  }
  return options as Record<string, unknown>;
}

/** The value of an option that may be spelled two ways (RMSProp's alpha / squaredGradientDecayFactor). */
export function aliased(where: string, options: Record<string, unknown>, name: string, alias: string): unknown {
  const a = options[name];
  const b = options[alias];
  if (a !== undefined && b !== undefined && a !== b) {
    throw new RangeError(`${where}: ${name} and ${alias} are the same option; got ${name} ${show(a)} and ${alias} ${show(b)}`);
  }
  return a ?? b;
}
