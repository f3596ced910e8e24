// ONNX import: a ModelProto becomes a dlkit graph network. Graph inputs become input layers,
// each node an `onnxNode` layer named as in the file (unnamed nodes after their first output),
// initializers the tensors those layers hold; connections follow the tensor names. Everything
// the importer cannot do (ops, attributes, element types, subgraphs) is collected and reported
// at once, before any tensor is made.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Network, type Connection } from '../../nn/network.js';
import type { Layer } from '../../nn/layer.js';
import { tensorInput, tensorSequenceInput, imageInput } from '../../nn/layers/input.js';
import { Tensor } from '../../tensor/tensor.js';
import { isFloating, type DType } from '../../tensor/dtype.js';
import {
  decodeModel, encodeGraph, tensorFromProto, attributeValue, attributeType, dtypeOfOnnx, onnxTypeName, OnnxError,
  type ModelProto, type NodeProto, type TensorProto, type TypeProto, type ValueInfoProto, type OnnxAttrType,
} from './proto.js';
import { OnnxNode, type HeldSpec, type OnnxSlot, type OnnxValueType } from './node-layer.js';
import { hasOp, opHandler, type AttrValue } from './ops/registry.js';
import { nodeAttributes, planGraph, stripGraph } from './subgraph.js';
import { onnxOptionalInput } from './values.js';
import './ops/index.js';
import './inference.js';

export interface ImportOnnxOptions {
  /**
   * Sizes for dynamic dimensions other than the batch, by input name: `{ x: [3, 224, 224] }`
   * gives one observation's shape (without the batch dimension).
   */
  inputSizes?: Record<string, readonly number[]>;
  /**
   * Whether the first dimension of the inputs is a batch dimension. Default: when every input's
   * first dimension is symbolic (dynamic), as PyTorch writes a dynamic batch axis.
   */
  batched?: boolean;
  /** Class names, in output order. */
  classes?: readonly string[];
  /**
   * Preprocessing the file leaves to its user, stored in the network's image input so that
   * images (0-255 pixels) can be classified as they are: `(x - mean) / std * scale`, per channel.
   * torchvision's ImageNet models: mean 123.675,116.28,103.53, std 58.395,57.12,57.375.
   * Needs one batched 4-D float input of fixed size [C, H, W].
   */
  imageNormalization?: { mean?: readonly number[]; std?: readonly number[]; scale?: number; bgr?: boolean };
}

/** The oldest opset read; handlers follow each file's own opset where semantics changed (Clip, Slice, Pad, Softmax, broadcasting before 7). */
export const MIN_OPSET = 1;

/** Reads an ONNX file into a dlkit network. External data files must sit in the model's folder. */
export function importONNX(file: string, options: ImportOnnxOptions = {}): Network {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (err) {
    throw new OnnxError(file, `cannot read the file: ${(err as Error).message}`, { cause: err });
  }
  return importONNXModel(decodeModel(bytes, file), { ...options, file, baseDir: path.dirname(path.resolve(file)) });
}

/** Imports a decoded model (tests and converters that build ModelProtos in memory). */
export function importONNXModel(model: ModelProto, options: ImportOnnxOptions & { file?: string; baseDir?: string } = {}): Network {
  const file = options.file ?? 'ONNX model';
  const graph = model.graph;
  if (!graph) throw new OnnxError(file, 'the model has no graph');
  const opset = (model.opset_import ?? []).find((o) => !o.domain || o.domain === 'ai.onnx')?.version ?? 1;
  const problems: string[] = [];
  if (opset < MIN_OPSET) problems.push(`opset ${opset} is older than the oldest supported, ${MIN_OPSET}`);

  const initializers = new Map<string, TensorProto>();
  for (const t of graph.initializer ?? []) initializers.set(t.name ?? '', t);
  const nodes = graph.node ?? [];
  const inputs = (graph.input ?? []).filter((v) => !initializers.has(v.name));

  // ---- inputs ----
  const dynamicFirst = (v: ValueInfoProto) => {
    const d = v.type?.tensor_type?.shape?.dim?.[0];
    return d !== undefined && (d.dim_value === undefined || d.dim_value === 0 && d.dim_param !== undefined) ;
  };
  const batched = options.batched ?? (inputs.length > 0 && inputs.every(dynamicFirst));
  const inputLayers: Layer[] = [];
  // Sequences of tensors and optionals (of a tensor or a sequence) enter as such; maps are not supported.
  const elementDtype = (t: TypeProto | undefined, what: string): DType | null => {
    const code = t?.tensor_type?.elem_type ?? 0;
    const dtype = dtypeOfOnnx(code);
    if (!t?.tensor_type) problems.push(`graph input '${what}' is a sequence of something other than tensors, which is not supported`);
    else if (!dtype) problems.push(`graph input '${what}' holds elements of type ${onnxTypeName(code)}, which libtorch has no dtype for`);
    return dtype;
  };
  for (const v of inputs) {
    const tt = v.type?.tensor_type;
    const seq = v.type?.sequence_type ?? v.type?.optional_type?.elem_type?.sequence_type;
    if (v.type?.optional_type && !seq) {
      if (v.type.optional_type.elem_type?.tensor_type) inputLayers.push(onnxOptionalInput({ name: v.name, element: 'tensor' }));
      else problems.push(`graph input '${v.name}' is an optional of something other than a tensor or a sequence, which is not supported`);
      continue;
    }
    if (seq) {
      const dtype = elementDtype(seq.elem_type, v.name);
      if (dtype) inputLayers.push(v.type?.optional_type ? onnxOptionalInput({ name: v.name, element: 'sequence' }) : tensorSequenceInput({ name: v.name, dtype }));
      continue;
    }
    if (!tt) { problems.push(`graph input '${v.name}' is not a tensor, a sequence or an optional (map inputs are not supported)`); continue; }
    const dtype = dtypeOfOnnx(tt.elem_type ?? 0);
    if (!dtype) { problems.push(`graph input '${v.name}' has element type ${onnxTypeName(tt.elem_type ?? 0)}, which libtorch has no dtype for`); continue; }
    const dims = (tt.shape?.dim ?? []).map((d) => (d.dim_value !== undefined && d.dim_param === undefined ? Number(d.dim_value) : null));
    const given = options.inputSizes?.[v.name];
    let size: number[];
    if (given) size = [...given];
    else {
      const own = batched ? dims.slice(1) : dims;
      const dyn = own.findIndex((d) => d === null);
      if (dyn >= 0 || !tt.shape) {
        problems.push(`graph input '${v.name}' has a dynamic dimension ${tt.shape ? `at axis ${dyn + (batched ? 1 : 0)} (${JSON.stringify((tt.shape.dim ?? [])[dyn + (batched ? 1 : 0)]?.dim_param ?? '?')})` : '(no shape)'}: give its size with the option inputSizes: { '${v.name}': [...] }`);
        continue;
      }
      size = own as number[];
    }
    const norm = options.imageNormalization;
    if (norm) {
      if (inputs.length !== 1 || !batched || size.length !== 3 || dtype !== 'float32') {
        problems.push(`imageNormalization needs one batched float32 input of shape [N, C, H, W]; '${v.name}' is ${dtype} [${batched ? 'N, ' : ''}${size.join(', ')}]${inputs.length > 1 ? ` and the graph has ${inputs.length} inputs` : ''}`);
        continue;
      }
      inputLayers.push(imageInput({
        name: v.name, inputSize: size, normalization: norm.std ? 'zscore' : norm.mean ? 'zerocenter' : 'none',
        ...(norm.mean && { mean: norm.mean }), ...(norm.std && { std: norm.std }), ...(norm.scale !== undefined && { scale: norm.scale }), ...(norm.bgr && { bgr: true }),
      }));
      continue;
    }
    inputLayers.push(tensorInput({ name: v.name, inputSize: size, dtype, batched }));
  }

  // ---- which tensor each name refers to ----
  const producer = new Map<string, string>(); // tensor name -> 'layer' or 'layer/outN'
  for (const l of inputLayers) producer.set(l.name, l.name);
  const taken = new Set(inputLayers.map((l) => l.name));
  const layerNames = nodes.map((n, i) => {
    let name = n.name || n.output?.find((o) => o) || `${n.op_type}_${i}`;
    if (taken.has(name)) { let k = 2; while (taken.has(`${name}#${k}`)) k++; name = `${name}#${k}`; }
    taken.add(name);
    return name;
  });
  nodes.forEach((n, i) => (n.output ?? []).forEach((o, k) => { if (o) producer.set(o, (n.output!.length > 1 ? `${layerNames[i]}/out${k + 1}` : layerNames[i]!)); }));
  // How often each initializer is read: read once, the reading layer holds it; read more often, a shared Constant layer does.
  const reads = new Map<string, number>();
  for (const n of nodes) for (const x of n.input ?? []) if (x && initializers.has(x) && !producer.has(x)) reads.set(x, (reads.get(x) ?? 0) + 1);

  // ---- check every node before making anything ----
  const unsupportedOps = new Map<string, string[]>();
  // Per node with subgraphs: the enclosing values they read (wired in as extra inputs).
  const captures = new Map<number, string[]>();
  for (const [i, n] of nodes.entries()) {
    const domain = n.domain ?? '';
    const where = `node '${layerNames[i]}' (${n.op_type})`;
    if (!hasOp(n.op_type, domain)) {
      const k = `${domain && domain !== 'ai.onnx' ? `${domain}.` : ''}${n.op_type}`;
      unsupportedOps.set(k, [...(unsupportedOps.get(k) ?? []), layerNames[i]!]);
      continue;
    }
    const h = opHandler(n.op_type, domain);
    const attrs = nodeAttributes(n, h, where, problems);
    const reason = h.check?.(attrs, opset);
    if (reason) problems.push(`${where}: ${reason}`);
    const read = new Set<string>();
    for (const a of n.attribute ?? []) {
      if (a.type === 5 && h.attributes.includes(a.name)) planGraph(a.g!, '', opset, `${where} ${a.name}`, problems).captures.forEach((c) => read.add(c));
    }
    if (read.size) captures.set(i, [...read]);
    for (const x of [...(n.input ?? []), ...read]) {
      if (x && !producer.has(x) && !initializers.has(x)) problems.push(`${where}: ${read.has(x) ? 'its subgraph reads' : 'input'} '${x}', which is neither a graph input, an initializer nor another node's output`);
    }
  }
  for (const [op, where] of unsupportedOps) problems.unshift(`unsupported op ${op} (${where.length} node${where.length > 1 ? 's' : ''}: ${where.slice(0, 3).map((w) => `'${w}'`).join(', ')}${where.length > 3 ? ', …' : ''})`);
  for (const o of graph.output ?? []) if (!producer.has(o.name) && !initializers.has(o.name)) problems.push(`graph output '${o.name}' is not produced by any node`);
  for (const [name, t] of initializers) if (reads.has(name) && !dtypeOfOnnx(t.data_type ?? 0)) problems.push(`initializer '${name}' has element type ${onnxTypeName(t.data_type ?? 0)}, which libtorch has no dtype for`);
  if (problems.length) throw new OnnxError(file, `cannot import:\n  ${problems.join('\n  ')}`);

  // The types the file declares for tensors (kept for export).
  const declared = new Map<string, OnnxValueType>();
  for (const v of [...(graph.value_info ?? []), ...(graph.output ?? [])]) {
    const tt = v.type?.tensor_type;
    const dtype = dtypeOfOnnx(tt?.elem_type ?? 0);
    const dims = tt?.shape?.dim?.map((d) => (d.dim_param ? d.dim_param : d.dim_value !== undefined ? Number(d.dim_value) : null));
    if (dtype) declared.set(v.name, { dtype, ...(dims ? { dims } : {}) });
  }

  // ---- make the layers ----
  const made: Tensor[] = [];
  const loaded = (t: TensorProto) => { const x = tensorFromProto(t, { file, baseDir: options.baseDir }); made.push(x); return x; };
  const layers: Layer[] = [...inputLayers];
  const connections: Connection[] = [];
  try {
    const shared = new Map<string, string>(); // initializer -> the Constant layer that provides it
    const constantFor = (name: string): string => {
      let layer = shared.get(name);
      if (layer) return layer;
      layer = taken.has(name) ? `${name}#const` : name;
      taken.add(layer);
      const value = loaded(initializers.get(name)!);
      layers.push(new OnnxNode({
        name: layer, op: 'Constant', opset, inputs: [], outputNames: [name],
        held: { value: { shape: [...value.shape], dtype: value.dtype, learnable: isFloating(value.dtype) } },
      }, new Map([['value', value]])));
      shared.set(name, layer);
      return layer;
    };
    for (const [i, n] of nodes.entries()) {
      const name = layerNames[i]!;
      const held: Record<string, HeldSpec> = {};
      const initial = new Map<string, Tensor>();
      const slots: OnnxSlot[] = [];
      const hold = (k: string, t: Tensor, learnable: boolean) => { held[k] = { shape: [...t.shape], dtype: t.dtype as DType, learnable }; initial.set(k, t); };
      (n.input ?? []).forEach((x, slot) => {
        if (!x) { slots.push(null); return; }
        if (producer.has(x)) { slots.push({ wire: true }); connections.push([producer.get(x)!, `${name}/in${slots.filter((s) => s && 'wire' in s).length}`]); return; }
        if ((reads.get(x) ?? 0) > 1) { slots.push({ wire: true }); connections.push([constantFor(x), `${name}/in${slots.filter((s) => s && 'wire' in s).length}`]); return; }
        const t = loaded(initializers.get(x)!);
        hold(x, t, learnableSlot(n.op_type, slot, t.dtype));
        slots.push({ held: x });
      });
      const graphs: Record<string, string> = {};
      for (const a of n.attribute ?? []) {
        if (a.type === 4) hold(`@${a.name}`, loaded(a.t!), false);
        if (a.type !== 5) continue;
        // The subgraph's tensors are held like the node's own; the layer keeps the graph without them.
        const tensors = new Map<string, TensorProto>();
        planGraph(a.g!, `@${a.name}/`, opset, a.name, [], tensors);
        const inits = new Set((a.g!.initializer ?? []).map((t) => `@${a.name}/${t.name ?? ''}`));
        for (const [key, t] of tensors) { const x = loaded(t); hold(key, x, inits.has(key) && isFloating(x.dtype)); }
        graphs[a.name] = Buffer.from(encodeGraph(stripGraph(a.g!))).toString('base64');
      }
      // Enclosing values the subgraphs read come in as wired inputs after the node's own (an initializer through a shared Constant).
      const captured = captures.get(i) ?? [];
      captured.forEach((x, k) => connections.push([producer.get(x) ?? constantFor(x), `${name}/in${slots.filter((s) => s && 'wire' in s).length + k + 1}`]));
      const attrs: Record<string, AttrValue> = {};
      const attributeTypes: Record<string, OnnxAttrType> = {};
      for (const a of n.attribute ?? []) {
        const type = attributeType(a);
        if (!type || a.name === 'consumed_inputs') continue;
        attrs[a.name] = attributeValue(a) as AttrValue;
        attributeTypes[a.name] = type;
      }
      layers.push(new OnnxNode({
        name, op: n.op_type, domain: n.domain || undefined, opset, attributes: attrs, attributeTypes, inputs: slots,
        outputs: Math.max(1, (n.output ?? []).length), inputNames: [...(n.input ?? [])], outputNames: [...(n.output ?? [])], held,
        outputTypes: (n.output ?? []).map((o) => declared.get(o) ?? null),
        ...(Object.keys(graphs).length ? { graphs } : {}), ...(captured.length ? { captures: captured } : {}),
      }, initial));
    }
    if (problems.length) throw new OnnxError(file, `cannot import:\n  ${problems.join('\n  ')}`);
    // Graph outputs that are graph inputs or initializers pass through an Identity.
    const outputs = (graph.output ?? []).map((o) => {
      const p = producer.get(o.name);
      const isInput = inputLayers.some((l) => l.name === o.name);
      if (p && !isInput) return p;
      const name = `${o.name}#out`;
      layers.push(new OnnxNode({ name, op: 'Identity', opset, inputs: [{ wire: true }], outputNames: [o.name] }));
      connections.push([p ?? constantFor(o.name), name]);
      return name;
    });
    const net = Network.graph({ layers, connections, outputs, classes: options.classes, channelsLast: false });
    made.length = 0; // the layers own them now
    return net;
  } catch (err) {
    if (err instanceof OnnxError) throw err;
    const e = new OnnxError(file, (err as Error).message, { cause: err }); e.stack += `\ncaused by: ${(err as Error).stack}`; throw e;
  } finally {
    for (const t of made) if (!t.isDisposed) t.dispose();
  }
}

// Initializers that are learned weights (trained when the imported network is fine-tuned);
// running statistics and integer/shape constants are buffers.
const NOT_LEARNED: Record<string, number[]> = { BatchNormalization: [3, 4] };
function learnableSlot(op: string, slot: number, dtype: DType): boolean {
  return isFloating(dtype) && !(NOT_LEARNED[op]?.includes(slot));
}

export type { NodeProto };
