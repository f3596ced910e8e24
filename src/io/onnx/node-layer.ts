// An imported ONNX node as a dlkit layer: the op's name, its attributes, and its initializers
// held as the layer's parameters (floating point: learnable) and buffers. It runs the op's
// handler (ops/*.ts) on full tensors, batch dimension included, so an imported graph is a real
// dlkit network: summary(), state dicts, training, saving and editing work on it.
import { Layer, checked, type ForwardContext, type LayerOptions, type Shape } from '../../nn/layer.js';
import { registerLayer } from '../../nn/registry.js';
import type { Tensor } from '../../tensor/tensor.js';
import { zeros } from '../../tensor/create.js';
import { isFloating, type DType } from '../../tensor/dtype.js';
import { opHandler, type AttrValue } from './ops/registry.js';
import { decodeGraph, type OnnxAttrType, type TensorProto } from './proto.js';
import { planGraph, runNode, Subgraph, type GraphPlan } from './subgraph.js';
import type { OnnxValue } from './values.js';

/** Where one ONNX input of the node comes from. */
export type OnnxSlot =
  | { wire: true } // a connection in the network, in slot order
  | { held: string } // a tensor the layer holds (an initializer), by its state-dict suffix
  | null; // an optional input left out ('' in the file)

export interface HeldSpec {
  shape: number[];
  dtype: DType;
  /** Parameters get gradients and optimizer steps; buffers (running statistics, shape constants) do not. */
  learnable: boolean;
}

export interface OnnxValueType {
  dtype: DType;
  dims?: (number | string | null)[];
}

export interface OnnxNodeOptions extends LayerOptions {
  op: string;
  /** '' for the default ai.onnx domain. */
  domain?: string;
  /** The opset the file was written for (handlers follow that version's semantics). */
  opset: number;
  attributes?: Record<string, AttrValue>;
  /**
   * Each attribute's ONNX type, so export writes 1.0 back as a float and [] as the right list
   * kind; without it export infers (integers as ints).
   */
  attributeTypes?: Record<string, OnnxAttrType>;
  inputs: OnnxSlot[];
  /** How many outputs the node has. */
  outputs?: number;
  /** The ONNX tensor names of the node's inputs and outputs (kept for export and messages). */
  inputNames?: string[];
  outputNames?: string[];
  /**
   * The types the file declares for the outputs (graph outputs, value_info), null where it
   * declares none: what export declares for them. Dims: sizes, symbolic names, null for unknown.
   */
  outputTypes?: (OnnxValueType | null)[];
  held?: Record<string, HeldSpec>;
  /**
   * Graph-valued attributes (If's branches, Loop's body) by name: the GraphProto without its
   * tensors' data, base64. Their tensors are held as '@<attribute>/…' (see subgraph.ts).
   */
  graphs?: Record<string, string>;
  /** Names of enclosing-graph values the subgraphs read: wired inputs after the slots' ones, in this order. */
  captures?: string[];
}

export class OnnxNode extends Layer {
  readonly type = 'onnxNode';
  override readonly shapeFromValues = true;
  override readonly numInputs: number;
  override readonly numOutputs: number;
  readonly op: string;
  readonly domain: string;
  readonly opset: number;
  readonly attributes: Record<string, AttrValue>;
  readonly attributeTypes: Record<string, OnnxAttrType>;
  readonly slots: OnnxSlot[];
  readonly inputNames: string[];
  readonly outputNames: string[];
  readonly outputTypes: (OnnxValueType | null)[];
  readonly held: Record<string, HeldSpec>;
  readonly graphs: Record<string, string>;
  readonly captures: string[];
  readonly #plans = new Map<string, GraphPlan>();
  #initial: Map<string, Tensor> | null;

  /** `initial`: the held tensors' values (taken over by the layer); zeros of `held`'s shapes otherwise. */
  constructor(o: OnnxNodeOptions, initial?: Map<string, Tensor>) {
    super(o);
    this.op = o.op;
    this.domain = o.domain ?? '';
    this.opset = o.opset;
    this.attributes = { ...(o.attributes ?? {}) };
    this.attributeTypes = { ...(o.attributeTypes ?? {}) };
    this.slots = o.inputs.map((s) => (s === null ? null : 'held' in s ? { held: s.held } : { wire: true }));
    this.captures = [...(o.captures ?? [])];
    this.numInputs = this.slots.filter((s) => s && 'wire' in s).length + this.captures.length;
    this.numOutputs = o.outputs ?? 1;
    this.inputNames = [...(o.inputNames ?? [])];
    this.outputNames = [...(o.outputNames ?? [])];
    this.outputTypes = (o.outputTypes ?? []).map((t) => (t ? { dtype: t.dtype, ...(t.dims ? { dims: [...t.dims] } : {}) } : null));
    this.held = Object.fromEntries(Object.entries(o.held ?? {}).map(([k, v]) => [k, { shape: [...v.shape], dtype: v.dtype, learnable: v.learnable }]));
    for (const s of this.slots) if (s && 'held' in s && !this.held[s.held]) throw new RangeError(`onnxNode '${o.name ?? ''}': input slot holds '${s.held}', which 'held' does not describe`);
    this.#initial = initial ?? null;
    opHandler(this.op, this.domain); // unknown ops fail here, naming the op
    this.graphs = { ...(o.graphs ?? {}) };
    for (const [attr, text] of Object.entries(this.graphs)) {
      const problems: string[] = [];
      const tensors = new Map<string, TensorProto>();
      const plan = planGraph(decodeGraph(Buffer.from(text, 'base64'), `onnxNode '${o.name ?? ''}' ${attr}`), `@${attr}/`, this.opset, attr, problems, tensors);
      for (const key of tensors.keys()) if (!this.held[key]) problems.push(`its tensor '${key}' is not described by 'held'`);
      if (problems.length) throw new RangeError(`onnxNode '${o.name ?? ''}' (${this.op}): graph attribute ${problems.join('; ')}`);
      this.#plans.set(attr, plan);
    }
  }

  outputShape(): Shape {
    return this.builtOutputShapes[0] ?? [];
  }

  protected override createParams(): { params?: Record<string, Tensor>; buffers?: Record<string, Tensor> } {
    const params: Record<string, Tensor> = {};
    const buffers: Record<string, Tensor> = {};
    for (const [key, spec] of Object.entries(this.held)) {
      const given = this.#initial?.get(key);
      const t = given ?? zeros(spec.shape, { dtype: spec.dtype });
      (spec.learnable && isFloating(spec.dtype) ? params : buffers)[key] = t;
    }
    this.#initial = null; // taken over (build keeps them)
    return { params, buffers };
  }

  // Values other than tensors (sequences, optionals: values.ts) travel through the network as Tensor-typed values.
  forward(inputs: Tensor[], ctx: ForwardContext): Tensor | Tensor[] {
    const values = inputs as unknown as OnnxValue[];
    let wired = 0;
    const args = this.slots.map((s): OnnxValue | undefined => {
      if (s === null) return undefined;
      if ('wire' in s) return values[wired++];
      return this.params.get(s.held) ?? this.buffers.get(s.held);
    });
    const outer = new Map(this.captures.map((name, k) => [name, values[wired + k]!]));
    const held = (key: string) => this.buffers.get(key) ?? this.params.get(key);
    const graph = (attr: string) => {
      const plan = this.#plans.get(attr);
      return plan && new Subgraph(plan, { held, outer: (name) => outer.get(name), training: ctx.training, opset: this.opset, where: attr });
    };
    // The network frees each layer's outputs when it is done with them: runNode never hands back an input or a held tensor itself.
    const outs = runNode(opHandler(this.op, this.domain), args, this.attributes, {
      training: ctx.training, opset: this.opset, node: this.name, numOutputs: this.numOutputs, tensorAttr: (name) => held(`@${name}`), graph,
    }, [...values, ...this.params.values(), ...this.buffers.values()], `ONNX node '${this.name}' (${this.op})`) as Tensor[];
    return this.numOutputs === 1 ? outs[0]! : outs;
  }

  protected options(): Record<string, unknown> {
    return {
      op: this.op, domain: this.domain || undefined, opset: this.opset,
      attributes: Object.keys(this.attributes).length ? this.attributes : undefined,
      attributeTypes: Object.keys(this.attributeTypes).length ? this.attributeTypes : undefined,
      inputs: this.slots, outputs: this.numOutputs,
      inputNames: this.inputNames, outputNames: this.outputNames,
      outputTypes: this.outputTypes.some((d) => d) ? this.outputTypes : undefined,
      held: Object.keys(this.held).length ? this.held : undefined,
      graphs: Object.keys(this.graphs).length ? this.graphs : undefined,
      captures: this.captures.length ? this.captures : undefined,
    };
  }

  override get displayType(): string {
    return `onnx:${this.domain ? `${this.domain}.` : ''}${this.op}`;
  }

  override toString(): string {
    return `${this.name}: onnx ${this.domain ? `${this.domain}.` : ''}${this.op}`;
  }
}

export const onnxNode = (o: OnnxNodeOptions, initial?: Map<string, Tensor>): OnnxNode => checked(new OnnxNode(o, initial), o);

registerLayer('onnxNode', (o) => new OnnxNode(o as unknown as OnnxNodeOptions));
