// Subgraphs (If's branches, Loop's, Scan's and SequenceMap's body) are interpreted: the node
// layer holds each as a GraphProto without its tensor data (base64 in the layer config, so
// saved models keep it) and the tensors themselves as held buffers or parameters, named
// '@<attribute>/<tensor>' ('@body/x@value' for a Constant's value, '@body/n@then_branch/…'
// for deeper graphs). A plan is the checked form of a graph: which handler each node runs,
// which held tensor each initializer and tensor attribute is, and which names the graph reads
// from enclosing graphs (its captures: the importer wires them into the node layer as extra
// inputs). Running a plan runs its nodes in order in a tidy scope and returns new values.
import { Tensor } from '../../tensor/tensor.js';
import { tidy } from '../../tensor/memory.js';
import { attributeType, attributeValue, type GraphProto, type NodeProto, type TensorProto } from './proto.js';
import { hasOp, opHandler, type AttrValue, type OnnxGraph, type OpContext, type OpHandler } from './ops/registry.js';
import { cloneValue, describeValue, type OnnxValue } from './values.js';

export interface NodePlan {
  name: string;
  op: string;
  handler: OpHandler;
  attrs: Record<string, AttrValue>;
  /** ONNX value names; '' for an omitted optional input. */
  inputs: string[];
  outputs: string[];
  /** Tensor attribute name -> the held tensor's key. */
  tensorAttrs: Map<string, string>;
  graphs: Map<string, GraphPlan>;
}

export interface GraphPlan {
  inputs: string[];
  outputs: string[];
  /** Initializer name -> the held tensor's key. */
  initializers: Map<string, string>;
  nodes: NodePlan[];
  /** Names the graph (or a graph inside it) reads from enclosing graphs. */
  captures: string[];
}

/**
 * A node's non-tensor, non-graph attributes, for its handler; problems (attributes the handler
 * does not read, lists of graphs or tensors) are added to `problems`.
 */
export function nodeAttributes(n: NodeProto, h: OpHandler, where: string, problems: string[]): Record<string, AttrValue> {
  const attrs: Record<string, AttrValue> = {};
  for (const a of n.attribute ?? []) {
    // consumed_inputs (opsets 1-5) only marked in-place updates: nothing to do.
    if (a.name === 'consumed_inputs') continue;
    if (!h.attributes.includes(a.name)) { problems.push(`${where}: attribute '${a.name}' is not supported (supported: ${h.attributes.join(', ') || 'none'})`); continue; }
    if (a.type === 9 || a.type === 10) { problems.push(`${where}: attribute '${a.name}' is a list of ${a.type === 9 ? 'tensors' : 'graphs'}, which no supported op takes`); continue; }
    const type = attributeType(a);
    if (type) attrs[a.name] = attributeValue(a) as AttrValue;
  }
  return attrs;
}

const isGraphAttr = (a: { type?: number; g?: GraphProto }) => a.type === 5 || (!a.type && a.g !== undefined);
const isTensorAttr = (a: { type?: number; t?: TensorProto }) => a.type === 4 || (!a.type && a.t !== undefined && !('g' in a && a.g));

/**
 * Checks a subgraph and plans it. `prefix` starts its held tensors' keys; every initializer and
 * tensor attribute inside (nested graphs too) is added to `tensors` by key when given.
 */
export function planGraph(g: GraphProto, prefix: string, opset: number, where: string, problems: string[], tensors?: Map<string, TensorProto>): GraphPlan {
  const initializers = new Map<string, string>();
  for (const t of g.initializer ?? []) {
    const key = `${prefix}${t.name ?? ''}`;
    initializers.set(t.name ?? '', key);
    tensors?.set(key, t);
  }
  const inputs = (g.input ?? []).map((v) => v.name).filter((n) => !initializers.has(n));
  const defined = new Set<string>([...inputs, ...initializers.keys()]);
  for (const n of g.node ?? []) for (const o of n.output ?? []) if (o) defined.add(o);
  const captures = new Set<string>();
  const use = (x: string | undefined) => { if (x && !defined.has(x)) captures.add(x); };
  const taken = new Set<string>();
  const nodes: NodePlan[] = [];
  for (const [i, n] of (g.node ?? []).entries()) {
    let name = n.name || n.output?.find((o) => o) || `${n.op_type}_${i}`;
    if (taken.has(name)) { let k = 2; while (taken.has(`${name}#${k}`)) k++; name = `${name}#${k}`; }
    taken.add(name);
    const at = `${where}: node '${name}' (${n.op_type})`;
    (n.input ?? []).forEach(use);
    if (!hasOp(n.op_type, n.domain ?? '')) { problems.push(`${where}: unsupported op ${n.domain && n.domain !== 'ai.onnx' ? `${n.domain}.` : ''}${n.op_type} (node '${name}')`); continue; }
    const handler = opHandler(n.op_type, n.domain ?? '');
    const attrs = nodeAttributes(n, handler, at, problems);
    const reason = handler.check?.(attrs, opset);
    if (reason) problems.push(`${at}: ${reason}`);
    const tensorAttrs = new Map<string, string>();
    const graphs = new Map<string, GraphPlan>();
    for (const a of n.attribute ?? []) {
      if (!handler.attributes.includes(a.name)) continue;
      if (isGraphAttr(a)) {
        const sub = planGraph(a.g!, `${prefix}${name}@${a.name}/`, opset, `${at} ${a.name}`, problems, tensors);
        sub.captures.forEach(use);
        graphs.set(a.name, sub);
      } else if (isTensorAttr(a)) {
        const key = `${prefix}${name}@${a.name}`;
        tensorAttrs.set(a.name, key);
        tensors?.set(key, a.t!);
      }
    }
    nodes.push({ name, op: n.op_type, handler, attrs, inputs: [...(n.input ?? [])], outputs: [...(n.output ?? [])], tensorAttrs, graphs });
  }
  const outputs = (g.output ?? []).map((o) => o.name);
  outputs.forEach(use);
  return { inputs, outputs, initializers, nodes, captures: [...captures] };
}

/** The graph with every tensor's data left out (name, dims and type kept): the values are held by the layer. */
export function stripGraph(g: GraphProto): GraphProto {
  const stub = (t: TensorProto): TensorProto => ({ name: t.name, dims: t.dims, data_type: t.data_type });
  return {
    ...g,
    initializer: (g.initializer ?? []).map(stub),
    node: (g.node ?? []).map((n) => ({
      ...n,
      attribute: (n.attribute ?? []).map((a) => (isGraphAttr(a) ? { ...a, g: stripGraph(a.g!) } : isTensorAttr(a) ? { ...a, t: stub(a.t!) } : a)),
    })),
  };
}

/**
 * Runs one node's handler: checks that handlers of tensors get tensors, and replaces any
 * output that is an input or a held tensor by a copy (values are freed by whoever made them).
 */
export function runNode(h: OpHandler, args: (OnnxValue | undefined)[], attrs: Record<string, AttrValue>, ctx: OpContext, own: Iterable<OnnxValue>, where: string): OnnxValue[] {
  try {
    if (!h.values) {
      const k = args.findIndex((a) => a !== undefined && !(a instanceof Tensor));
      if (k >= 0) throw new TypeError(`input ${k + 1} is ${describeValue(args[k])}; ${h.op} takes tensors`);
    }
    const kept = new Set<OnnxValue>(own);
    for (const a of args) if (a) kept.add(a);
    const tensorAttr = (name: string) => { const t = ctx.tensorAttr(name); if (t) kept.add(t); return t; };
    const out = h.run(args as (Tensor | undefined)[], attrs, { ...ctx, tensorAttr }) as OnnxValue | OnnxValue[];
    const outs = Array.isArray(out) ? out : [out];
    if (outs.length < ctx.numOutputs) throw new Error(`the ${h.op} handler gave ${outs.length} outputs, the node has ${ctx.numOutputs}`);
    return outs.slice(0, ctx.numOutputs).map((v) => (kept.has(v) ? cloneValue(v) : v));
  } catch (err) {
    const e = err as Error;
    e.message = `${where}: ${e.message}`;
    throw e;
  }
}

export interface GraphEnv {
  /** A held tensor by key. */
  held(key: string): Tensor | undefined;
  /** A value of an enclosing graph by name. */
  outer(name: string): OnnxValue | undefined;
  training: boolean;
  opset: number;
  /** The graph in messages: 'body', 'then_branch'. */
  where: string;
}

export class Subgraph implements OnnxGraph {
  constructor(readonly plan: GraphPlan, readonly env: GraphEnv) {}

  get inputNames(): readonly string[] { return this.plan.inputs; }
  get outputNames(): readonly string[] { return this.plan.outputs; }

  run(inputs: readonly (OnnxValue | undefined)[]): OnnxValue[] {
    const { plan, env } = this;
    if (inputs.length > plan.inputs.length) throw new RangeError(`${env.where}: the graph has ${plan.inputs.length} inputs (${plan.inputs.join(', ')}), given ${inputs.length} values`);
    return tidy(() => {
      const values = new Map<string, OnnxValue>();
      plan.inputs.forEach((n, i) => { const v = inputs[i]; if (v !== undefined) values.set(n, v); });
      const lookup = (name: string): OnnxValue | undefined => {
        const v = values.get(name);
        if (v !== undefined) return v;
        const key = plan.initializers.get(name);
        return key !== undefined ? env.held(key) : env.outer(name);
      };
      const read = (name: string, who: string): OnnxValue => {
        const v = lookup(name);
        if (v === undefined) throw new RangeError(`${env.where}: ${who} reads '${name}', which has no value (an input left out, or a node not run yet)`);
        return v;
      };
      const made = new Set<OnnxValue>();
      for (const node of plan.nodes) {
        const who = `node '${node.name}' (${node.op})`;
        const args = node.inputs.map((x) => (x ? read(x, who) : undefined));
        const ctx: OpContext = {
          training: env.training, opset: env.opset, node: node.name, numOutputs: Math.max(1, node.outputs.length),
          tensorAttr: (a) => { const k = node.tensorAttrs.get(a); return k === undefined ? undefined : env.held(k); },
          graph: (a) => { const p = node.graphs.get(a); return p && new Subgraph(p, { ...env, outer: lookup, where: `${env.where}: ${who} ${a}` }); },
        };
        const outs = runNode(node.handler, args, node.attrs, ctx, [], `${env.where}: ${who}`);
        node.outputs.forEach((o, k) => { if (o && outs[k] !== undefined) { values.set(o, outs[k]!); made.add(outs[k]!); } });
      }
      // Outputs are new values: graph inputs, enclosing values and held tensors passed straight through are copied.
      const returned = new Set<OnnxValue>();
      return plan.outputs.map((o) => {
        const v = read(o, 'the graph output');
        const fresh = made.has(v) && !returned.has(v) ? v : cloneValue(v);
        returned.add(v);
        return fresh;
      });
    });
  }
}
