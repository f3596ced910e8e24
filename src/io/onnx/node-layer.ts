// An imported ONNX node as a dlkit layer: the op's name, its attributes, and its initializers
// held as the layer's parameters (floating point: learnable) and buffers. It runs the op's
// handler (ops/*.ts) on full tensors, batch dimension included, so an imported graph is a real
// dlkit network: summary(), state dicts, training, saving and editing work on it.
import { Layer, checked, type ForwardContext, type LayerOptions, type Shape } from '../../nn/layer.js';
import { registerLayer } from '../../nn/registry.js';
import { callOp, Tensor } from '../../tensor/tensor.js';
import { zeros } from '../../tensor/create.js';
import { isFloating, type DType } from '../../tensor/dtype.js';
import { opHandler, type AttrValue } from './ops/registry.js';
import type { OnnxAttrType } from './proto.js';

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
    this.numInputs = this.slots.filter((s) => s && 'wire' in s).length;
    this.numOutputs = o.outputs ?? 1;
    this.inputNames = [...(o.inputNames ?? [])];
    this.outputNames = [...(o.outputNames ?? [])];
    this.outputTypes = (o.outputTypes ?? []).map((t) => (t ? { dtype: t.dtype, ...(t.dims ? { dims: [...t.dims] } : {}) } : null));
    this.held = Object.fromEntries(Object.entries(o.held ?? {}).map(([k, v]) => [k, { shape: [...v.shape], dtype: v.dtype, learnable: v.learnable }]));
    for (const s of this.slots) if (s && 'held' in s && !this.held[s.held]) throw new RangeError(`onnxNode '${o.name ?? ''}': input slot holds '${s.held}', which 'held' does not describe`);
    this.#initial = initial ?? null;
    opHandler(this.op, this.domain); // unknown ops fail here, naming the op
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

  forward(inputs: Tensor[], ctx: ForwardContext): Tensor | Tensor[] {
    let wired = 0;
    const args = this.slots.map((s) => {
      if (s === null) return undefined;
      if ('wire' in s) return inputs[wired++];
      return this.params.get(s.held) ?? this.buffers.get(s.held);
    });
    const handler = opHandler(this.op, this.domain);
    let out: Tensor | Tensor[];
    try {
      const tensorAttr = (name: string) => this.buffers.get(`@${name}`) ?? this.params.get(`@${name}`);
      out = handler.run(args, this.attributes, { training: ctx.training, opset: this.opset, node: this.name, numOutputs: this.numOutputs, tensorAttr });
    } catch (err) {
      const e = err as Error;
      e.message = `ONNX node '${this.name}' (${this.op}): ${e.message}`;
      throw e;
    }
    const outs = Array.isArray(out) ? out : [out];
    if (outs.length < this.numOutputs) this.error(`the ${this.op} handler gave ${outs.length} outputs, the node has ${this.numOutputs}`);
    // The network frees each layer's outputs when it is done with them: never hand back an input or a held tensor itself.
    const own = new Set<Tensor>([...inputs, ...this.params.values(), ...this.buffers.values()]);
    const result = outs.slice(0, this.numOutputs).map((t) => (own.has(t) ? callOp<Tensor>('alias', '', t) : t));
    return this.numOutputs === 1 ? result[0]! : result;
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
