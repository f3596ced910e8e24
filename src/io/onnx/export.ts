// ONNX export: a dlkit network as an ONNX model (opset 13 by default) that runs in any ONNX
// runtime. One handler per layer type (export-layers.ts) writes the layer's nodes; this file
// walks the network in order, names everything and writes the file atomically.
//
// Names: graph inputs and outputs are the input and output layers' names, each layer's result
// is a value named after the layer (the node that writes it carries the layer's name too),
// initializers carry the network's state-dict names (`conv1.weight`), and a layer's helper
// values and constants are `<layer>/<what>`. The batch dimension is dynamic ('N').
// Imported ONNX nodes (onnxNode layers) keep the file's names: their results are the tensor
// names they were read with, their initializers the file's initializer names, and the opset
// is the file's (see `networkOpset`).
//
// What is exported is `forward` in inference mode: dropout is the identity, batch norm uses its
// running statistics, the input layer's preprocessing (BGR channel order, normalization, scale)
// is nodes at the input (Gather, Div, Sub, Mul). A network's test-time augmentation
// ('reflectX') is not part of the graph: average the outputs for an image and its mirror image
// yourself (the model's metadata says when the network had it).
// dlkit's channels-last layout is a memory format only: the graph and its weights are NCHW.
import { writeFileAtomic } from '../atomic-write.js';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Layer } from '../../nn/layer.js';
import type { Network } from '../../nn/network.js';
import { tidy } from '../../tensor/memory.js';
import { noGrad } from '../../tensor/autograd.js';
import { zeros } from '../../tensor/create.js';
import type { Tensor } from '../../tensor/tensor.js';
import type { DType } from '../../tensor/dtype.js';
import { encodeModel, tensorToProto, onnxOfDtype, OnnxType, type ModelProto, type NodeProto, type TensorProto, type ValueInfoProto } from './proto.js';
import { ONNX_EXPORT_LAYERS, attr, type Attr } from './export-layers.js';

/**
 * The opsets export can target: 13 (ONNX 1.8) up to 21 (ONNX 1.16). Imported networks
 * (onnxNode layers only) keep their file's opset, which may be older.
 */
export const ONNX_EXPORT_OPSETS = { min: 13, max: 21, default: 13 } as const;

export interface ExportOnnxOptions {
  /**
   * The ONNX operator set to target (default 13, or the opset imported layers were read at:
   * see `networkOpset`). From 17 layer norm is one node, from 20 GELU is.
   */
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
  /** For every output of a multi-output layer, the value name to write it to (`outputs[0]` is `output`). */
  readonly outputs: readonly string[];
  /**
   * Adds a node; returns its (first) output's value name: `output` when given, else a fresh
   * `<layer>/<op>`. `outputs` gives a node several outputs ('' for one left out). The node
   * that writes `ctx.output` is named after the layer.
   */
  node(op: string, inputs: readonly string[], attributes?: Record<string, Attr>, options?: { output?: string; outputs?: readonly string[]; domain?: string }): string;
  /** The layer's parameter or buffer as an initializer named by its state-dict name (`<layer>.<suffix>`), NCHW, float32. */
  param(suffix: string): string;
  /** A computed tensor (e.g. a folded weight) as an initializer `<layer>/<suffix>`; the caller keeps ownership. */
  tensor(suffix: string, t: Tensor): string;
  /** A constant initializer `<layer>/<suffix>` from plain numbers. */
  constant(suffix: string, values: readonly number[], dims: readonly number[], type?: 'float' | 'int64'): string;
  /**
   * The layer's parameter or buffer `suffix` as an initializer of its own dtype, named `name`
   * when that name is free (an imported node's initializers keep the file's names), else a
   * fresh `<layer>/<name>`.
   */
  initializer(suffix: string, name: string): string;
}

/** One layer type's export: the ONNX operators it may emit (for the docs) and how. */
export interface OnnxLayerExport<L extends Layer = Layer> {
  /** ONNX operators it emits (https://onnx.ai/onnx/operators/onnx__<Op>.html), for the docs. */
  ops: readonly string[];
  /** When it emits which (for the docs); empty when plain. */
  note?: string;
  /**
   * Writes the layer's nodes; returns the value name holding its result (usually `ctx.output`),
   * or one per output for a multi-output layer (usually `ctx.outputs`).
   */
  export(layer: L, ctx: OnnxExportContext): string | readonly string[];
  /** The value names the layer would like its outputs to have (an imported node: the file's tensor names); taken when free. */
  valueNames?(layer: L): readonly (string | undefined)[];
  /** The types of the outputs where the layer knows them (an imported node: as its file declares them; dims null where unknown). */
  valueTypes?(layer: L): readonly ({ dtype: DType; dims?: readonly (number | string | null)[] } | null | undefined)[];
  /** The opset the layer's nodes are written for (an imported node: its file's); the model's opset is at least it. */
  opsetOf?(layer: L): number;
  /** The handler writes valid nodes for any opset (an input, an imported node), not only from ONNX_EXPORT_OPSETS.min. */
  anyOpset?: boolean;
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

function checkOptions(options: ExportOnnxOptions): ExportOnnxOptions {
  if (options === null || typeof options !== 'object') throw new TypeError(`exportONNX: options must be an object, got ${JSON.stringify(options)}`);
  const unknown = Object.keys(options).filter((k) => !OPTION_NAMES.includes(k));
  if (unknown.length) throw new RangeError(`exportONNX: unknown option${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `'${k}'`).join(', ')}; known: ${OPTION_NAMES.join(', ')}`);
  if (options.includeSoftmax !== undefined && typeof options.includeSoftmax !== 'boolean') {
    throw new TypeError(`exportONNX: option 'includeSoftmax' must be true or false, got ${JSON.stringify(options.includeSoftmax)}`);
  }
  return options;
}

/** The oldest opset runtimes run: onnxruntime has no kernels before opset 7 (ONNX 1.2). */
export const OLDEST_RUNNABLE_OPSET = 7;

/**
 * The opset a network is exported at by default, and the oldest it can be: imported nodes are
 * written for their file's opset (their semantics follow it), dlkit's own layers need
 * ONNX_EXPORT_OPSETS.min at least. An imported network alone keeps its file's opset, raised to
 * OLDEST_RUNNABLE_OPSET for files older than that (opset 7's removed attributes are converted,
 * see export-layers.ts); mixed with dlkit layers it is max(13, the file's), which re-emits the
 * imported nodes at the newer opset (the only conversions are opset 7's: ops whose definition
 * changed later are then read with the newer semantics).
 */
export function networkOpset(network: Network): { default: number; min: number; importedAt: number | null } {
  let importedAt: number | null = null;
  let ownLayers = false;
  for (const l of network.layers) {
    const e = ONNX_EXPORT_LAYERS[l.type];
    const at = e?.opsetOf?.(l);
    if (at !== undefined) importedAt = Math.max(importedAt ?? 0, at);
    if (e && !e.anyOpset) ownLayers = true;
  }
  const min = ownLayers ? Math.max(ONNX_EXPORT_OPSETS.min, importedAt ?? 0) : importedAt ?? ONNX_EXPORT_OPSETS.min;
  return { default: importedAt === null ? ONNX_EXPORT_OPSETS.default : Math.max(min, OLDEST_RUNNABLE_OPSET), min, importedAt };
}

function resolveOpset(network: Network, requested: number | undefined): number {
  const range = networkOpset(network);
  if (requested === undefined) return range.default;
  if (!Number.isInteger(requested) || requested < range.min || requested > ONNX_EXPORT_OPSETS.max) {
    const why = range.importedAt !== null && range.min === range.importedAt ? ` (the network's imported ONNX nodes were read at opset ${range.importedAt})` : '';
    throw new RangeError(`exportONNX: option 'opset' must be an integer from ${range.min} to ${ONNX_EXPORT_OPSETS.max}${why}, got ${JSON.stringify(requested)}`);
  }
  return requested;
}

const valueInfo = (name: string, dims: readonly (number | string)[] | null, elemType: number = OnnxType.FLOAT): ValueInfoProto => ({
  name,
  type: { tensor_type: { elem_type: elemType, ...(dims ? { shape: { dim: dims.map((d) => (typeof d === 'string' ? { dim_param: d } : { dim_value: d })) } } : {}) } },
});

/** A connection end or network output ('layer' or 'layer/outN') as the layer and its output index. */
function outputRef(network: Network, spec: string): { layer: Layer; out: number } {
  const whole = network.layers.find((l) => l.name === spec);
  if (whole) return { layer: whole, out: 0 };
  const m = /^(.*)\/out(\d+)$/.exec(spec);
  return { layer: network.layer(m ? m[1]! : spec), out: m ? Number(m[2]) - 1 : 0 };
}

/**
 * The element type and dims of each network output. Most layers give float32, ['N', ...shape];
 * layers whose shapes follow values (imported nodes) may give any dtype and rank, and their
 * per-observation shapes do not say which tensors carry the batch: such an output is declared
 * as the layer knows it (an imported node: as its file declared it), else with the dtype a run
 * on zero-filled inputs gives and no shape (zeros say nothing of sizes read from values).
 */
function outputInfos(network: Network): { elemType: number; dims: (number | string)[] | null }[] {
  const batched = network.inputLayers.every((l) => l.batched);
  let probed: DType[] | Error | null = null;
  const probe = (): DType[] | Error => {
    try {
      return tidy(() => noGrad(() => {
        const xs = network.inputLayers.map((l) => zeros([...(batched ? [1] : []), ...l.builtOutputShape!], { dtype: (l as { dtype?: DType }).dtype ?? 'float32' }));
        const out = network.forward(xs, { training: false });
        return (Array.isArray(out) ? out : [out]).map((t) => t.dtype);
      }));
    } catch (err) {
      return err as Error;
    }
  };
  return network.outputNames.map((name, i) => {
    const { layer, out } = outputRef(network, name);
    if (!layer.shapeFromValues) {
      const shape = layer.builtOutputShapes[out];
      return { elemType: OnnxType.FLOAT, dims: shape ? [...(batched ? ['N'] : []), ...shape] : null };
    }
    const known = ONNX_EXPORT_LAYERS[layer.type]?.valueTypes?.(layer)[out];
    if (known) {
      const dims = known.dims?.map((d, k) => d ?? `${name}_dim${k}`) ?? null;
      return { elemType: onnxOfDtype(known.dtype), dims };
    }
    probed ??= probe();
    if (probed instanceof Error) {
      throw new RangeError(`exportONNX: the element type of output '${name}' (layer '${layer.name}', ${layer.type}) is unknown: the network does not run on zero-filled inputs to find it (${probed.message.split('\n')[0]})`);
    }
    return { elemType: onnxOfDtype(probed[i]!), dims: null };
  });
}

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
  const { includeSoftmax } = checkOptions(options);
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
  const opset = resolveOpset(network, options.opset);
  const identity = (input: string, output: string, layerName: string): string => {
    nodes.push({ name: unique(nodeNames, `${layerName}/Identity`), op_type: 'Identity', input: [input], output: [output], attribute: [] });
    return output;
  };
  // Layer and state-dict names first: they are fixed, and helpers' `<layer>/x` names yield to them.
  for (const l of network.layers) claim(l.name, `layer '${l.name}'`);
  for (const k of Object.keys(network.stateDict())) claim(k, 'a state-dict name');
  const exported = new Set<string>();

  const values = new Map<string, readonly string[]>(); // layer name -> the values holding its results
  const own = new Map<string, Set<string>>(); // layer name -> the values its nodes wrote
  const outputs = new Set(network.outputNames.map((o) => outputRef(network, o).layer.name));

  tidy(() => {
    for (const layer of network.layers) {
      const isOutput = outputs.has(layer.name);
      const addSoftmax = includeSoftmax === true && isOutput && layer.type !== 'softmax';
      const exporter = ONNX_EXPORT_LAYERS[layer.type]!;
      const inputs = layer.isInput ? [layer.name] : network.sourcesOf(layer.name).map((s) => {
        const r = outputRef(network, s);
        return values.get(r.layer.name)![r.out]!;
      });
      // An input layer's name is the graph input; its normalized result needs another name.
      const preferred = exporter.valueNames?.(layer) ?? [];
      const valueName = (k: number): string => {
        const p = preferred[k];
        if (p && !layer.isInput && !addSoftmax && (p === layer.name ? k === 0 : !used.has(p))) { used.add(p); return p; }
        if (k > 0) return fresh(`${layer.name}/out${k + 1}`);
        return layer.isInput ? fresh(`${layer.name}/normalized`) : addSoftmax ? fresh(`${layer.name}/scores`) : layer.name;
      };
      const layerOutputs = Array.from({ length: layer.numOutputs }, (_, k) => valueName(k));
      const output = layerOutputs[0]!;
      const written = new Set<string>();
      own.set(layer.name, written);
      const ctx: OnnxExportContext = {
        opset,
        network,
        inputs,
        output,
        outputs: layerOutputs,
        node(op, ins, attributes = {}, o = {}) {
          const outs = o.outputs ? [...o.outputs] : [o.output ?? fresh(`${layer.name}/${op}`)];
          outs.forEach((v) => { if (v) written.add(v); });
          nodes.push({
            name: outs.includes(output) ? layer.name : unique(nodeNames, `${layer.name}/${op}`),
            op_type: op,
            ...(o.domain ? { domain: o.domain } : {}),
            input: [...ins],
            output: outs,
            attribute: Object.entries(attributes).map(([name, a]) => ({ name, ...a })),
          });
          return outs[0]!;
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
        initializer(suffix, preferredName) {
          const t = layer.params.get(suffix) ?? layer.buffers.get(suffix);
          if (!t) throw new RangeError(`exportONNX: layer '${layer.name}' (${layer.type}) has no parameter or buffer '${suffix}' (has ${[...layer.params.keys(), ...layer.buffers.keys()].join(', ') || 'none'})`);
          // The layer's own output may be the initializer itself (an imported shared initializer).
          const name = preferredName === output ? output : used.has(preferredName) ? fresh(`${layer.name}/${preferredName}`) : (used.add(preferredName), preferredName);
          initializers.push(tensorToProto(t, name));
          written.add(name);
          return name;
        },
      };
      let value: readonly string[];
      if (includeSoftmax === false && isOutput && layer.type === 'softmax') {
        value = [ctx.node('Identity', inputs, {}, { output })]; // scores: the softmax is left out
      } else {
        const v = exporter.export(layer, ctx);
        value = typeof v === 'string' ? [v] : v;
      }
      if (addSoftmax) {
        nodes.push({ name: unique(nodeNames, `${layer.name}/Softmax`), op_type: 'Softmax', input: [value[0]!], output: [layer.name], attribute: [{ name: 'axis', ...attr.int(1) }] });
        value = [layer.name];
        written.add(layer.name);
      }
      values.set(layer.name, value);
    }
  });

  const infos = outputInfos(network);
  const written = new Set([...own.values()].flatMap((w) => [...w]));
  const graphOutputNames = new Set<string>();
  const graphOutputs: ValueInfoProto[] = network.outputNames.map((name, i) => {
    const { layer, out } = outputRef(network, name);
    let value = values.get(layer.name)![out]!;
    // A result held in another layer's value (an input layer without normalization is the graph
    // input itself) or already an output gets a name of its own through an Identity.
    if (!own.get(layer.name)!.has(value) || graphOutputNames.has(value)) {
      // The layer's own name, when no value took it (it was reserved for the layer's result).
      const target = name === layer.name && !written.has(name) ? name : !used.has(name) ? (used.add(name), name) : fresh(`${name}/output`);
      value = identity(value, target, layer.name);
    }
    graphOutputNames.add(value);
    return valueInfo(value, infos[i]!.dims, infos[i]!.elemType);
  });
  const graphInputs = network.inputLayers.map((l) => valueInfo(l.name, [...(l.batched ? ['N'] : []), ...l.builtOutputShape!], onnxOfDtype((l as { dtype?: DType }).dtype ?? 'float32')));

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
    opset_import: [{ domain: '', version: opset }, ...otherDomains(nodes)],
    graph: { name: 'dlkit', node: nodes, initializer: initializers, input: graphInputs, output: graphOutputs },
    ...(metadata.length ? { metadata_props: metadata } : {}),
  };
  return model;
}

// Nodes of other domains (an imported 'ai.onnx.ml' or 'com.microsoft' node) need their domain
// imported too; the importer keeps no version for them, so version 1 is declared.
function otherDomains(nodes: readonly NodeProto[]): { domain: string; version: number }[] {
  const domains = new Set(nodes.map((n) => n.domain ?? '').filter((d) => d && d !== 'ai.onnx'));
  return [...domains].sort().map((domain) => ({ domain, version: 1 }));
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
  try {
    await writeFileAtomic(file, bytes);
  } catch (err) {
    throw new OnnxExportError(file, `could not write the ONNX model (any existing file is left unchanged): ${(err as Error).message}`, { cause: err });
  }
}
