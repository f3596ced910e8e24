// ONNX export: a dlkit network as an ONNX model (opset 13 by default) that runs in any ONNX
// runtime. One handler per layer type (export-layers.ts) writes the layer's nodes; this file
// walks the network in order, names everything and writes the file atomically.
//
// Names: graph inputs and outputs are the input and output layers' names, each layer's result
// is a value named after the layer (the node that writes it carries the layer's name too),
// initializers carry the network's state-dict names (`conv1.weight`), and a layer's helper
// values and constants are `<layer>/<what>`. The batch dimension is dynamic ('N').
//
// What is exported is `forward` in inference mode: dropout is the identity, batch norm uses its
// running statistics, the input layer's normalization is a Sub/Div at the input. A network's
// test-time augmentation ('reflectX') is not part of the graph: average the outputs for an
// image and its mirror image yourself (the model's metadata says when the network had it).
// dlkit's channels-last layout is a memory format only: the graph and its weights are NCHW.
import { open, rename, rm } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Layer } from '../../nn/layer.js';
import type { Network } from '../../nn/network.js';
import { tidy } from '../../tensor/memory.js';
import type { Tensor } from '../../tensor/tensor.js';
import { encodeModel, tensorToProto, OnnxType, type ModelProto, type NodeProto, type TensorProto, type ValueInfoProto } from './proto.js';
import { ONNX_EXPORT_LAYERS, attr, type Attr } from './export-layers.js';

/** The opsets export can target: 13 (ONNX 1.8) up to 21 (ONNX 1.16). */
export const ONNX_EXPORT_OPSETS = { min: 13, max: 21, default: 13 } as const;

export interface ExportOnnxOptions {
  /** The ONNX operator set to target (default 13). From 17 layer norm is one node, from 20 GELU is. */
  opset?: number;
  /**
   * true: end every output with a Softmax over the class axis (unless the output layer is a
   * softmax already); false: leave out an output layer that is a softmax (the graph gives
   * scores). Default: the layers as they are.
   */
  includeSoftmax?: boolean;
}

const OPTION_NAMES = ['opset', 'includeSoftmax'];

/** What a layer's handler gets: its inputs' value names and ways to add nodes and tensors. */
export interface OnnxExportContext {
  readonly opset: number;
  readonly network: Network;
  /** The value names feeding the layer, in input-slot order (an input layer: the graph input). */
  readonly inputs: readonly string[];
  /** The value name the layer's result should be written to (its name, for most layers). */
  readonly output: string;
  /**
   * Adds a node; returns its output's value name: `output` when given, else a fresh
   * `<layer>/<op>`. The node that writes `ctx.output` is named after the layer.
   */
  node(op: string, inputs: readonly string[], attributes?: Record<string, Attr>, options?: { output?: string; domain?: string }): string;
  /** The layer's parameter or buffer as an initializer named by its state-dict name (`<layer>.<suffix>`), NCHW, float32. */
  param(suffix: string): string;
  /** A computed tensor (e.g. a folded weight) as an initializer `<layer>/<suffix>`; the caller keeps ownership. */
  tensor(suffix: string, t: Tensor): string;
  /** A constant initializer `<layer>/<suffix>` from plain numbers. */
  constant(suffix: string, values: readonly number[], dims: readonly number[], type?: 'float' | 'int64'): string;
}

/** One layer type's export: the ONNX operators it may emit (for the docs) and how. */
export interface OnnxLayerExport<L extends Layer = Layer> {
  /** ONNX operators it emits (https://onnx.ai/onnx/operators/onnx__<Op>.html), for the docs. */
  ops: readonly string[];
  /** When it emits which (for the docs); empty when plain. */
  note?: string;
  /** Writes the layer's nodes; returns the value name holding its result (usually `ctx.output`). */
  export(layer: L, ctx: OnnxExportContext): string;
}

// IR version per opset (ONNX's versioning table): the oldest IR that carries the opset, so that
// older runtimes load the file.
function irVersion(opset: number): number {
  if (opset <= 13) return 7;
  if (opset <= 17) return 8;
  if (opset <= 20) return 9;
  return 10;
}

function dlkitVersion(): string {
  try {
    return JSON.parse(readFileSync(new URL('../../../../package.json', import.meta.url), 'utf8')).version as string;
  } catch {
    return 'unknown';
  }
}

function checkOptions(options: ExportOnnxOptions): Required<Pick<ExportOnnxOptions, 'opset'>> & ExportOnnxOptions {
  if (options === null || typeof options !== 'object') throw new TypeError(`exportONNX: options must be an object, got ${JSON.stringify(options)}`);
  const unknown = Object.keys(options).filter((k) => !OPTION_NAMES.includes(k));
  if (unknown.length) throw new RangeError(`exportONNX: unknown option${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `'${k}'`).join(', ')}; known: ${OPTION_NAMES.join(', ')}`);
  const opset = options.opset ?? ONNX_EXPORT_OPSETS.default;
  if (!Number.isInteger(opset) || opset < ONNX_EXPORT_OPSETS.min || opset > ONNX_EXPORT_OPSETS.max) {
    throw new RangeError(`exportONNX: option 'opset' must be an integer from ${ONNX_EXPORT_OPSETS.min} to ${ONNX_EXPORT_OPSETS.max}, got ${JSON.stringify(options.opset)}`);
  }
  if (options.includeSoftmax !== undefined && typeof options.includeSoftmax !== 'boolean') {
    throw new TypeError(`exportONNX: option 'includeSoftmax' must be true or false, got ${JSON.stringify(options.includeSoftmax)}`);
  }
  return { ...options, opset };
}

const valueInfo = (name: string, dims: readonly (number | string)[]): ValueInfoProto => ({
  name,
  type: { tensor_type: { elem_type: OnnxType.FLOAT, shape: { dim: dims.map((d) => (typeof d === 'string' ? { dim_param: d } : { dim_value: d })) } } },
});

function floatBytes(values: readonly number[]): Uint8Array {
  const a = Float32Array.from(values);
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}
function int64Bytes(values: readonly number[]): Uint8Array {
  const a = BigInt64Array.from(values, (v) => BigInt(v));
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

/**
 * The network as an ONNX ModelProto (encode it with `encodeModel`). Throws, naming every layer
 * at once, when some layer types have no ONNX export.
 */
export function networkToOnnx(network: Network, options: ExportOnnxOptions = {}): ModelProto {
  const { opset, includeSoftmax } = checkOptions(options);
  const missing = network.layers.filter((l) => !Object.hasOwn(ONNX_EXPORT_LAYERS, l.type));
  if (missing.length) {
    throw new TypeError(`exportONNX: ${missing.map((l) => `layer '${l.name}' has type '${l.type}'`).join(', ')}, which ONNX export does not support; supported types: ${Object.keys(ONNX_EXPORT_LAYERS).join(', ')}`);
  }

  const nodes: NodeProto[] = [];
  const initializers: TensorProto[] = [];
  // Value and initializer names share one namespace in ONNX: every name is used once.
  const used = new Set<string>();
  const claim = (name: string, what: string): string => {
    if (used.has(name)) throw new RangeError(`exportONNX: the name '${name}' (${what}) is taken twice in the graph; rename the layer`);
    used.add(name);
    return name;
  };
  const unique = (taken: Set<string>, base: string): string => {
    let name = base;
    for (let n = 2; taken.has(name); n++) name = `${base}_${n}`;
    taken.add(name);
    return name;
  };
  const fresh = (base: string) => unique(used, base);
  // Node names have a namespace of their own: a layer's main node is named after the layer.
  const nodeNames = new Set<string>(network.layers.map((l) => l.name));
  const identity = (input: string, output: string, layerName: string): string => {
    nodes.push({ name: unique(nodeNames, `${layerName}/Identity`), op_type: 'Identity', input: [input], output: [output], attribute: [] });
    return output;
  };
  // Layer and state-dict names first: they are fixed, and helpers' `<layer>/x` names yield to them.
  for (const l of network.layers) claim(l.name, `layer '${l.name}'`);
  for (const k of Object.keys(network.stateDict())) claim(k, 'a state-dict name');
  const exported = new Set<string>();

  const values = new Map<string, string>(); // layer name -> value holding its result
  const outputs = new Set(network.outputNames);

  tidy(() => {
    for (const layer of network.layers) {
      const isOutput = outputs.has(layer.name);
      const addSoftmax = includeSoftmax === true && isOutput && layer.type !== 'softmax';
      const inputs = layer.isInput ? [layer.name] : network.sourcesOf(layer.name).map((s) => values.get(s)!);
      // An input layer's name is the graph input; its normalized result needs another name.
      const output = layer.isInput ? fresh(`${layer.name}/normalized`) : addSoftmax ? fresh(`${layer.name}/scores`) : layer.name;
      const ctx: OnnxExportContext = {
        opset,
        network,
        inputs,
        output,
        node(op, ins, attributes = {}, o = {}) {
          const out = o.output ?? fresh(`${layer.name}/${op}`);
          nodes.push({
            name: out === output ? layer.name : unique(nodeNames, `${layer.name}/${op}`),
            op_type: op,
            ...(o.domain ? { domain: o.domain } : {}),
            input: [...ins],
            output: [out],
            attribute: Object.entries(attributes).map(([name, a]) => ({ name, ...a })),
          });
          return out;
        },
        param(suffix) {
          const t = layer.params.get(suffix) ?? layer.buffers.get(suffix);
          if (!t) throw new RangeError(`exportONNX: layer '${layer.name}' (${layer.type}) has no parameter or buffer '${suffix}' (has ${[...layer.params.keys(), ...layer.buffers.keys()].join(', ') || 'none'})`);
          const name = `${layer.name}.${suffix}`;
          if (exported.has(name)) return name;
          exported.add(name);
          // toBuffer copies in logical (NCHW) order whatever the memory format.
          initializers.push(tensorToProto(t.dtype === 'float32' ? t : t.float(), name));
          return name;
        },
        tensor(suffix, t) {
          const name = fresh(`${layer.name}/${suffix}`);
          initializers.push(tensorToProto(t.dtype === 'float32' ? t : t.float(), name));
          return name;
        },
        constant(suffix, vals, dims, type = 'float') {
          const count = dims.reduce((a, b) => a * b, 1);
          if (count !== vals.length) throw new RangeError(`exportONNX: constant '${layer.name}/${suffix}' of shape [${dims.join(', ')}] needs ${count} values, got ${vals.length}`);
          const name = fresh(`${layer.name}/${suffix}`);
          initializers.push({ name, dims: [...dims], data_type: type === 'float' ? OnnxType.FLOAT : OnnxType.INT64, raw_data: type === 'float' ? floatBytes(vals) : int64Bytes(vals) });
          return name;
        },
      };
      let value: string;
      if (includeSoftmax === false && isOutput && layer.type === 'softmax') {
        value = ctx.node('Identity', inputs, {}, { output }); // scores: the softmax is left out
      } else {
        value = ONNX_EXPORT_LAYERS[layer.type]!.export(layer, ctx);
      }
      if (addSoftmax) {
        nodes.push({ name: unique(nodeNames, `${layer.name}/Softmax`), op_type: 'Softmax', input: [value], output: [layer.name], attribute: [{ name: 'axis', ...attr.int(1) }] });
        value = layer.name;
      }
      values.set(layer.name, value);
    }
  });

  const graphOutputs: ValueInfoProto[] = network.outputNames.map((name) => {
    const layer = network.layer(name);
    let value = values.get(name)!;
    // A result held in another value (an input layer without normalization is the graph input itself).
    if (value !== name && !layer.isInput) value = identity(value, name, name);
    else if (value === name && layer.isInput) value = identity(value, fresh(`${name}/output`), name);
    return valueInfo(value, ['N', ...layer.builtOutputShape!]);
  });
  const graphInputs = network.inputLayers.map((l) => valueInfo(l.name, ['N', ...l.builtOutputShape!]));

  const metadata: { key: string; value: string }[] = [];
  if (network.classes) metadata.push({ key: 'classes', value: JSON.stringify(network.classes) });
  if (network.testTimeAugmentation !== 'none') {
    // The graph is the plain forward; say what dlkit's predictions add on top of it.
    metadata.push({ key: 'dlkit_test_time_augmentation', value: network.testTimeAugmentation });
  }
  const model: ModelProto & { metadata_props?: { key: string; value: string }[] } = {
    ir_version: irVersion(opset),
    producer_name: 'dlkit',
    producer_version: dlkitVersion(),
    opset_import: [{ domain: '', version: opset }],
    graph: { name: 'dlkit', node: nodes, initializer: initializers, input: graphInputs, output: graphOutputs },
    ...(metadata.length ? { metadata_props: metadata } : {}),
  };
  return model;
}

/** A problem writing an ONNX file: names the file. */
export class OnnxExportError extends Error {
  constructor(readonly file: string, message: string, options?: { cause?: unknown }) {
    super(`${file}: ${message}`, options);
    this.name = 'OnnxExportError';
  }
}

/**
 * Writes the network to `file` as an ONNX model (see the top of this file for what the graph
 * holds). The write is atomic: a temporary file in the same folder, synced, renamed over `file`;
 * on failure an existing `file` is left as it was.
 */
export async function exportONNX(network: Network, file: string, options: ExportOnnxOptions = {}): Promise<void> {
  const bytes = encodeModel(networkToOnnx(network, options));
  const dir = path.dirname(path.resolve(file));
  const temp = path.join(dir, `.${path.basename(file)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  let fh;
  try {
    fh = await open(temp, 'wx');
    await fh.writeFile(bytes);
    await fh.sync();
    await fh.close();
    fh = undefined;
    await rename(temp, file);
  } catch (err) {
    await fh?.close().catch(() => {});
    await rm(temp, { force: true }).catch(() => {});
    throw new OnnxExportError(file, `could not write the ONNX model (any existing file is left unchanged): ${(err as Error).message}`, { cause: err });
  }
  try {
    const d = await open(dir, 'r');
    try { await d.sync(); } finally { await d.close(); }
  } catch { /* best effort: not every file system lets a directory be synced */ }
}
