// The table of ONNX op handlers: one handler per operator, each citing its spec
// (https://onnx.ai/onnx/operators/), with the attributes it understands. The importer rejects
// ops and attributes missing from this table by name, all at once; the README's list of
// supported ops is generated from it.
import type { Tensor } from '../../../tensor/tensor.js';
import type { OnnxValue } from '../values.js';

/** Attribute values as stored in layer configs: JSON-safe (tensor attributes are held tensors). */
export type AttrValue = number | string | number[] | string[];

export interface OpContext {
  training: boolean;
  /** The opset the model was written for: semantics changed between versions (Squeeze's axes, Clip's min/max). */
  opset: number;
  node: string;
  numOutputs: number;
  /** A tensor-valued attribute (Constant's 'value'), held by the layer. */
  tensorAttr(name: string): Tensor | undefined;
  /** A graph-valued attribute (If's branches, Loop's and Scan's body), ready to run. */
  graph?(name: string): OnnxGraph | undefined;
}

/** A subgraph of a node (subgraph.ts): run it on values for its inputs; it reads the enclosing graphs' values itself. */
export interface OnnxGraph {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  /** New values for the graph's outputs; `inputs` are only read. */
  run(inputs: readonly (OnnxValue | undefined)[]): OnnxValue[];
}

export interface OpHandler {
  /** The operator's name in the spec, e.g. 'Conv'. */
  op: string;
  domain: string;
  /** Attributes the handler reads; any other attribute in a file is an error. */
  attributes: readonly string[];
  /** Optional per-attribute check at import; returns a reason when a value is unsupported. */
  check?: (attrs: Record<string, AttrValue>, opset: number) => string | null;
  /** `inputs` in ONNX order; undefined for an omitted optional input. */
  run(inputs: (Tensor | undefined)[], attrs: Record<string, AttrValue>, ctx: OpContext): Tensor | Tensor[];
  /** One line for the README: what is supported or not. */
  notes?: string;
  /** True for handlers that take sequences and optionals (defineValueOp); the others are given tensors only. */
  values?: boolean;
}

const handlers = new Map<string, OpHandler>();
const key = (op: string, domain: string) => `${domain === 'ai.onnx' ? '' : domain}::${op}`;

export function defineOp(op: string, h: Omit<OpHandler, 'op' | 'domain' | 'attributes'> & { attributes?: readonly string[]; domain?: string }): void {
  const domain = h.domain ?? '';
  handlers.set(key(op, domain), { ...h, op, domain, attributes: h.attributes ?? [] });
}

/** A handler whose inputs and outputs may be sequences and optionals, not only tensors. */
export function defineValueOp(op: string, h: {
  attributes?: readonly string[];
  domain?: string;
  check?: OpHandler['check'];
  notes?: string;
  run(inputs: (OnnxValue | undefined)[], attrs: Record<string, AttrValue>, ctx: OpContext): OnnxValue | OnnxValue[];
}): void {
  defineOp(op, { ...h, values: true, run: h.run as unknown as OpHandler['run'] });
}

export function hasOp(op: string, domain = ''): boolean {
  return handlers.has(key(op, domain));
}

export function opHandler(op: string, domain = ''): OpHandler {
  const h = handlers.get(key(op, domain));
  if (!h) throw new RangeError(`unsupported ONNX op ${domain && domain !== 'ai.onnx' ? `${domain}.` : ''}${op}`);
  return h;
}

/** Every supported op, sorted by name (for docs). */
export function supportedOps(): OpHandler[] {
  return [...handlers.values()].sort((a, b) => (a.domain + a.op).localeCompare(b.domain + b.op));
}

// ---- attribute readers ----------------------------------------------------------------

export function attrInt(attrs: Record<string, AttrValue>, name: string, fallback: number): number;
export function attrInt(attrs: Record<string, AttrValue>, name: string): number | undefined;
export function attrInt(attrs: Record<string, AttrValue>, name: string, fallback?: number): number | undefined {
  const v = attrs[name];
  if (v === undefined) return fallback;
  if (typeof v !== 'number') throw new TypeError(`attribute '${name}' must be a number, got ${JSON.stringify(v)}`);
  return v;
}
export const attrFloat = attrInt;

export function attrInts(attrs: Record<string, AttrValue>, name: string): number[] | undefined {
  const v = attrs[name];
  if (v === undefined) return undefined;
  if (!Array.isArray(v)) throw new TypeError(`attribute '${name}' must be a list of numbers, got ${JSON.stringify(v)}`);
  return v as number[];
}

export function attrString(attrs: Record<string, AttrValue>, name: string, fallback: string): string {
  const v = attrs[name];
  if (v === undefined) return fallback;
  if (typeof v !== 'string') throw new TypeError(`attribute '${name}' must be a string, got ${JSON.stringify(v)}`);
  return v;
}
