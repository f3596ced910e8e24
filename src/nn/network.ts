// Networks: a series of layers, or a graph of named layers with explicit connections
// (several inputs and outputs, concatenation and addition for GoogLeNet/ResNet shapes).
// Building runs shape inference from the input layers, creates parameters and rejects wiring
// errors (unconnected layers, cycles, shapes that don't fit) before any data flows.
import { Tensor } from '../tensor/tensor.js';
import { TensorSequence } from '../tensor/sequence.js';
import { noGrad } from '../tensor/autograd.js';
import { tidy } from '../tensor/memory.js';
import { zeros } from '../tensor/create.js';
import type { DType } from '../tensor/dtype.js';
import { Layer, LayerError, shapeStr, type LayerConfig, type Shape } from './layer.js';
import { ImageInput } from './layers/input.js';
import { Conv2d } from './layers/conv.js';
import { layerFromConfig } from './registry.js';
import { NetworkEditor, type InsertPosition } from './network-editor.js';

/**
 * [from, to]: `to` may name an input slot of a multi-input layer as 'add_1/in2' (1-based), and
 * `from` an output of a multi-output layer as 'split_1/out2'. Layer names are free strings
 * (imported ONNX and Caffe names hold '.', '/' and ':'): each end is first taken as a whole
 * layer name, and only when no layer has that name is a trailing '/inN' or '/outN' read as the slot.
 */
export type Connection = readonly [string, string];

/** How predictions are made at inference: from the image alone, or averaged with its mirror image. */
export const TEST_TIME_AUGMENTATIONS = ['none', 'reflectX'] as const;
export type TestTimeAugmentation = (typeof TEST_TIME_AUGMENTATIONS)[number];

export interface NetworkOptions {
  /** Class names, in output order (set by training from the data when absent). */
  classes?: readonly string[];
  /** Channels-last activations and conv weights; on by default when the network has 2-D convolutions. */
  channelsLast?: boolean;
  /**
   * 'reflectX': predictions (predict, classify, evaluate, validation during training) are the
   * mean of the outputs for each image and its left-right mirror image. It suits networks
   * trained with horizontal flips, costs a second forward pass, and is saved with the model.
   * `forward` and `activations` never apply it. Default 'none'.
   */
  testTimeAugmentation?: TestTimeAugmentation;
}

export interface GraphSpec extends NetworkOptions {
  layers: readonly Layer[];
  connections: readonly Connection[];
  /** Output layers; defaults to the one layer whose output nothing uses. */
  outputs?: readonly string[];
}

export interface NetworkConfig {
  format: 'dlkit-network';
  version: 1;
  layers: LayerConfig[];
  connections: [string, string][];
  outputs: string[];
  classes: string[] | null;
  channelsLast: boolean;
  /** Absent in files written before it existed: 'none'. */
  testTimeAugmentation?: TestTimeAugmentation;
}

export interface ParameterInfo {
  /** State-dict name: `<layer>.<weight|bias|…>`. */
  name: string;
  tensor: Tensor;
  layer: Layer;
  learnRateFactor: number;
  l2Factor: number;
}

const isInputLayer = (l: Layer) => l.isInput;

/** Which network each layer belongs to (a layer's weights are one network's: see Network.edit). */
const owners = new WeakMap<Layer, WeakRef<Network>>();

export class Network {
  /** Layers in an order where every layer comes after its inputs. */
  readonly layers: Layer[];
  readonly inputNames: string[];
  readonly outputNames: string[];
  classes: string[] | null;
  readonly channelsLast: boolean;
  #testTimeAugmentation: TestTimeAugmentation = 'none';
  readonly #sources = new Map<string, string[]>(); // layer -> the outputs feeding its inputs ('name' or 'name/outN'), in slot order
  readonly #byName = new Map<string, Layer>();
  readonly #connections: [string, string][];
  #disposed = false;

  /** A chain: each layer feeds the next. The first must be an input layer. */
  static series(layers: readonly Layer[], options: NetworkOptions = {}): Network {
    Network.#name(layers);
    const connections: Connection[] = [];
    for (let i = 1; i < layers.length; i++) connections.push([layers[i - 1]!.name, layers[i]!.name]);
    return new Network({ layers, connections, outputs: layers.length ? [layers[layers.length - 1]!.name] : [], ...options });
  }

  /** A graph of named layers and explicit connections. */
  static graph(spec: GraphSpec): Network {
    return new Network(spec);
  }

  /** Rebuilds a network (fresh parameters) from `config()`; load weights with loadStateDict. */
  static fromConfig(config: NetworkConfig): Network {
    if (config?.format !== 'dlkit-network') throw new TypeError(`not a dlkit network config (format is ${JSON.stringify(config?.format)})`);
    return new Network({
      layers: config.layers.map(layerFromConfig),
      connections: config.connections,
      outputs: config.outputs,
      classes: config.classes ?? undefined,
      channelsLast: config.channelsLast,
      testTimeAugmentation: config.testTimeAugmentation,
    });
  }

  static #name(layers: readonly Layer[]): void {
    const counts = new Map<string, number>();
    const taken = new Set(layers.map((l) => l.name).filter(Boolean));
    for (const l of layers) {
      if (l.name) continue;
      let n = counts.get(l.type) ?? 0;
      do n++; while (taken.has(`${l.type}_${n}`));
      counts.set(l.type, n);
      l.name = `${l.type}_${n}`;
      taken.add(l.name);
    }
  }

  private constructor(spec: GraphSpec) {
    const layers = [...spec.layers];
    if (layers.length === 0) throw new TypeError('a network needs at least one layer');
    for (const l of layers) if (!(l instanceof Layer)) throw new TypeError(`network layers must be Layer objects, got ${JSON.stringify(l)}`);
    Network.#name(layers);
    this.layers = [];
    this.inputNames = [];
    this.outputNames = [];
    this.#connections = [];
    this.#install(layers, spec.connections, spec.outputs);
    this.classes = spec.classes ? [...spec.classes] : null;
    this.channelsLast = spec.channelsLast ?? layers.some((l) => l instanceof Conv2d);
    for (const l of layers) {
      if (l instanceof ImageInput || l instanceof Conv2d) l.channelsLast = this.channelsLast;
    }
    try {
      this.#build();
      if (spec.testTimeAugmentation !== undefined) this.testTimeAugmentation = spec.testTimeAugmentation;
    } catch (err) {
      this.dispose(); // parameters made for layers before the failing one
      throw err;
    }
    for (const l of layers) owners.set(l, new WeakRef(this));
  }

  /**
   * Takes `layers`, wired by `connections`, as this network's structure (checked: names,
   * wiring, cycles, ownership), without building. Every layer must be free or this network's.
   */
  #install(layers: readonly Layer[], connections: readonly Connection[], outputs: readonly string[] | undefined): void {
    const byName = new Map<string, Layer>();
    for (const l of layers) {
      if (typeof l.name !== 'string') throw new TypeError(`layer names must be strings, got ${JSON.stringify(l.name)}`);
      if (byName.has(l.name)) throw new TypeError(`two layers are named '${l.name}': layer names must be unique`);
      const owner = owners.get(l)?.deref();
      if (owner && owner !== this && !owner.#disposed) {
        throw new TypeError(`layer '${l.name}' (${l.type}) already belongs to another network: a layer and its weights belong to one network (make a new layer, or copy the network with clone())`);
      }
      byName.set(l.name, l);
    }
    const inputNames = layers.filter(isInputLayer).map((l) => l.name);
    // A graph of constants (an imported ONNX graph without inputs) starts from layers that take no inputs.
    if (inputNames.length === 0 && !layers.some((l) => l.numInputs === 0)) {
      throw new TypeError(`the network has no input layer: start it with imageInput({ inputSize: [C, H, W] }), sequenceInput({ inputSize: [C, L] }) or featureInput({ inputSize })`);
    }
    this.#byName.clear();
    for (const [k, v] of byName) this.#byName.set(k, v);
    this.#connections.splice(0, Infinity, ...connections.map(([a, b]): [string, string] => [a, b]));
    this.#sources.clear();
    this.inputNames.splice(0, Infinity, ...inputNames);
    this.#wire([...layers]);
    this.outputNames.splice(0, Infinity, ...this.#outputs([...layers], outputs));
    this.layers.splice(0, Infinity, ...this.#sort([...layers]));
  }

  get testTimeAugmentation(): TestTimeAugmentation {
    return this.#testTimeAugmentation;
  }

  /** See NetworkOptions.testTimeAugmentation; 'reflectX' needs one image input, (C, H, W). */
  set testTimeAugmentation(value: TestTimeAugmentation) {
    if (!TEST_TIME_AUGMENTATIONS.includes(value)) {
      throw new RangeError(`testTimeAugmentation must be one of ${TEST_TIME_AUGMENTATIONS.map((t) => `'${t}'`).join(', ')}, got ${JSON.stringify(value)}`);
    }
    if (value === 'reflectX') {
      const inputs = this.inputLayers;
      if (inputs.length !== 1 || !(inputs[0] instanceof ImageInput) || this.inputShape.length !== 3) {
        const got = inputs.map((l) => `'${l.name}' (${l.type}, ${shapeStr(l.builtOutputShape ?? [])})`).join(', ');
        throw new RangeError(`testTimeAugmentation 'reflectX' mirrors images: it needs one image input of shape (C, H, W), the network has ${got}`);
      }
    }
    this.#testTimeAugmentation = value;
  }

  /**
   * The network's predictions for a batch, in inference mode: `forward`, averaged over the
   * test-time augmentation ('reflectX': the batch and its mirror image, flipped along W).
   */
  infer(x: Tensor): Tensor {
    const out = () => this.forward(x, { training: false }) as Tensor;
    if (this.#testTimeAugmentation === 'none') return out();
    return tidy(() => out().add(this.forward(x.flip(-1), { training: false }) as Tensor).mul_(0.5));
  }

  /** Whether the (first) output layer gives probabilities already (softmax, an SVM's probabilities). */
  get outputsProbabilities(): boolean {
    return this.layer(this.outputRef(this.outputNames[0]!).layer).outputsProbabilities;
  }

  #wire(layers: Layer[]): void {
    for (const l of layers) this.#sources.set(l.name, isInputLayer(l) ? [] : new Array(l.numInputs).fill(''));
    for (const [from, toSpec] of this.#connections) {
      const [to, slotText] = this.#target(toSpec);
      if (!this.#byName.has(from)) {
        const m = /^(.*)\/out(\d+)$/.exec(from);
        const src = m ? this.#byName.get(m[1]!) : undefined;
        if (!src) throw new TypeError(`connection ${from} -> ${toSpec}: there is no layer named '${from}'`);
        if (Number(m![2]) < 1 || Number(m![2]) > src.numOutputs) throw new TypeError(`connection ${from} -> ${toSpec}: layer '${m![1]}' has outputs out1..out${src.numOutputs}`);
      }
      const target = this.#byName.get(to!);
      if (!target) throw new TypeError(`connection ${from} -> ${toSpec}: there is no layer named '${to}'`);
      if (isInputLayer(target)) throw new TypeError(`connection ${from} -> ${toSpec}: '${to}' is an input layer and takes no inputs`);
      const slots = this.#sources.get(to!)!;
      let slot: number;
      if (slotText !== undefined) {
        const m = /^in(\d+)$/.exec(slotText);
        slot = m ? Number(m[1]) - 1 : -1;
        if (slot < 0 || slot >= slots.length) throw new TypeError(`connection ${from} -> ${toSpec}: layer '${to}' has inputs in1..in${slots.length}`);
      } else {
        slot = slots.indexOf('');
        if (slot < 0) throw new TypeError(`connection ${from} -> ${toSpec}: every input of layer '${to}' is already connected (to ${slots.map((s) => `'${s}'`).join(', ')})`);
      }
      if (slots[slot]) throw new TypeError(`connection ${from} -> ${toSpec}: input ${slot + 1} of '${to}' is already connected to '${slots[slot]}'`);
      slots[slot] = from;
    }
    const problems: string[] = [];
    for (const l of layers) {
      if (isInputLayer(l)) continue;
      const slots = this.#sources.get(l.name)!;
      slots.forEach((s, i) => {
        if (!s) problems.push(l.numInputs === 1 ? `layer '${l.name}' (${l.type}) is not connected to anything upstream` : `input ${i + 1} of ${l.numInputs} of layer '${l.name}' (${l.type}) is not connected`);
      });
    }
    if (problems.length) throw new TypeError(`network wiring: ${problems.join('; ')}`);
  }

  /** The layer and output index a source ('name' or 'name/outN', as sourcesOf and outputNames give them) names. */
  outputRef(spec: string): { layer: string; out: number } {
    return this.#ref(spec);
  }

  /** The layer and output index a connection's `from` (or a network output) names. */
  #ref(spec: string): { layer: string; out: number } {
    if (this.#byName.has(spec)) return { layer: spec, out: 0 };
    const m = /^(.*)\/out(\d+)$/.exec(spec);
    if (m && this.#byName.has(m[1]!)) return { layer: m[1]!, out: Number(m[2]) - 1 };
    return { layer: spec, out: 0 };
  }

  /** Splits a connection's `to` into the layer name and its optional 'inN' slot. */
  #target(toSpec: string): [string, string | undefined] {
    if (this.#byName.has(toSpec)) return [toSpec, undefined];
    const m = /^(.*)\/(in\d+)$/.exec(toSpec);
    return m && this.#byName.has(m[1]!) ? [m[1]!, m[2]!] : [toSpec, undefined];
  }

  #outputs(layers: Layer[], requested?: readonly string[]): string[] {
    if (requested && requested.length) {
      for (const o of requested) if (!this.#byName.has(this.#ref(o).layer)) throw new TypeError(`outputs: there is no layer named '${o}'`);
      return [...requested];
    }
    const sinks = this.#sinks(layers);
    if (sinks.length > 1) {
      throw new TypeError(`network wiring: the outputs of layers ${sinks.map((s) => `'${s}'`).join(', ')} are not used: connect them, or name the network's outputs with \`outputs: [...]\``);
    }
    return sinks;
  }

  #sort(layers: Layer[]): Layer[] {
    const order: Layer[] = [];
    const state = new Map<string, 'visiting' | 'done'>();
    const visit = (name: string, path: string[]) => {
      const s = state.get(name);
      if (s === 'done') return;
      if (s === 'visiting') throw new TypeError(`network wiring: a cycle runs through ${[...path.slice(path.indexOf(name)), name].map((n) => `'${n}'`).join(' -> ')}`);
      state.set(name, 'visiting');
      for (const src of this.#sources.get(name)!) visit(this.#ref(src).layer, [...path, name]);
      state.set(name, 'done');
      order.push(this.#byName.get(name)!);
    };
    for (const l of layers) visit(l.name, []);
    return order;
  }

  #build(): void {
    if (this.layers.some((l) => l.shapeFromValues)) { this.#probeBuild(); return; }
    for (const layer of this.layers) this.#buildLayer(layer, this.#inputShapes(layer));
  }

  /** The per-observation shapes feeding `layer` (null where unknown). */
  #inputShapes(layer: Layer): (Shape | null)[] {
    return this.#sources.get(layer.name)!.map((s) => {
      const r = this.#ref(s);
      return this.#byName.get(r.layer)!.builtOutputShapes[r.out] ?? null;
    });
  }

  #buildLayer(layer: Layer, inputs: (Shape | null)[]): void {
    const srcs = this.#sources.get(layer.name)!;
    const unknown = inputs.findIndex((s) => s === null);
    if (unknown >= 0 && !layer.shapeFromValues) {
      throw new LayerError(layer.name, layer.type, `the shape of its input '${srcs[unknown]}' is not known before the network runs (it depends on values, not only on shapes)`);
    }
    try {
      layer.build(inputs as Shape[]);
    } catch (err) {
      if (err instanceof LayerError && srcs.length) {
        err.message += ` (inputs: ${srcs.map((s, i) => `'${s}' gives ${inputs[i] ? shapeStr(inputs[i]!) : 'an unknown shape'}`).join(', ')})`;
      }
      throw err;
    }
  }

  /**
   * Shape inference for networks with value-dependent layers: runs zero-filled probe batches
   * (batch 1, then batch 2) through the network. A dimension that follows the batch size is the
   * batch dimension; tensors where none does (shape tensors, constants) keep their full shape.
   * A value-dependent layer whose probe fails (its inputs are only valid for real data) gets
   * unknown shapes; ordinary layers still need known shapes and say so. Values that are not
   * tensors (a TensorSequence) have no shape: unknown too.
   */
  #probeBuild(): void {
    const batched = this.inputLayers.every((l) => l.batched);
    const passes: (Map<string, (number[] | null)[] | null>)[] = [];
    for (const batch of batched ? [1, 2] : [0]) {
      const full = new Map<string, (number[] | null)[] | null>();
      const values = new Map<string, (Tensor | null)[]>();
      const made: Tensor[] = [];
      try {
        for (const layer of this.layers) {
          const srcs = this.#sources.get(layer.name)!.map((s) => this.#ref(s));
          if (batch <= 1) {
            // First pass: build with the shapes known so far (batched tensors lose their leading 1).
            this.#buildLayer(layer, layer.shapeFromValues ? srcs.map((r) => this.#probedShape(full, r, batched)) : this.#inputShapes(layer));
          }
          let outs: (Tensor | null)[];
          if (layer.isInput) {
            const shape = layer.builtOutputShape!;
            outs = [layer.valueInput ? null : zeros(batch ? [batch, ...shape] : [...shape], { dtype: (layer as { dtype?: DType }).dtype ?? 'float32' })];
          } else {
            const args = srcs.map((r) => values.get(r.layer)?.[r.out] ?? null);
            outs = new Array(layer.numOutputs).fill(null);
            if (args.every((a) => a !== null)) {
              try {
                // tidy: the layer's temporaries are freed here, as in forward.
                const r = tidy(() => noGrad(() => layer.forward(args as Tensor[], { training: false })));
                outs = Array.isArray(r) ? r : [r];
              } catch (err) {
                if (!layer.shapeFromValues) throw err;
              }
            }
          }
          made.push(...outs.filter((t): t is Tensor => t !== null));
          values.set(layer.name, outs);
          full.set(layer.name, outs.every((t) => t !== null) ? outs.map((t) => (t instanceof Tensor ? [...t.shape] : null)) : null);
          if (layer.shapeFromValues && batch <= 1) layer.setOutputShapes(outs.map((t) => (t instanceof Tensor ? (batched && t.ndim > 0 && t.shape[0] === 1 ? t.shape.slice(1) : [...t.shape]) : null)));
        }
      } finally {
        for (const t of made) t.dispose();
      }
      passes.push(full);
    }
    if (!batched) return;
    // Second pass: a tensor is batched when its leading dimension followed the batch (1 -> 2).
    for (const layer of this.layers) {
      if (!layer.shapeFromValues) continue;
      const one = passes[0]!.get(layer.name);
      const two = passes[1]!.get(layer.name);
      layer.setOutputShapes(layer.builtOutputShapes.map((_, i) => {
        const a = one?.[i];
        const b = two?.[i];
        if (!a || !b) return null;
        const followsBatch = a.length > 0 && a.length === b.length && a[0] === 1 && b[0] === 2 && a.slice(1).every((d, k) => d === b[k + 1]);
        return followsBatch ? a.slice(1) : a;
      }));
    }
  }

  #probedShape(full: Map<string, (number[] | null)[] | null>, r: { layer: string; out: number }, batched: boolean): Shape | null {
    const src = this.#byName.get(r.layer)!;
    if (!src.shapeFromValues) return src.builtOutputShapes[r.out] ?? null;
    const s = full.get(r.layer)?.[r.out];
    return s ? (batched && s.length > 0 && s[0] === 1 ? s.slice(1) : s) : null;
  }

  layer(name: string): Layer {
    const l = this.#byName.get(name);
    if (!l) throw new RangeError(`no layer named '${name}'; layers: ${this.layers.map((x) => x.name).join(', ')}`);
    return l;
  }

  /** The layers feeding `name`, in input-slot order. */
  sourcesOf(name: string): string[] {
    this.layer(name);
    return [...this.#sources.get(name)!];
  }

  get inputLayers(): Layer[] {
    return this.inputNames.map((n) => this.#byName.get(n)!);
  }

  /** Per-observation input shape of the first input layer. */
  get inputShape(): Shape {
    return this.inputLayers[0]?.builtOutputShape ?? [];
  }

  get outputShape(): Shape {
    const r = this.#ref(this.outputNames[0]!);
    return this.#byName.get(r.layer)!.builtOutputShapes[r.out] ?? [];
  }

  /**
   * Runs the network. `inputs`: one tensor for one input layer, an array in inputNames order,
   * or an object by input name. Returns the output tensor, or an array for several outputs.
   * Intermediate activations are freed as soon as no later layer needs them. Imported ONNX
   * graphs also take and give TensorSequences (and ONNX optionals) where the file says so.
   */
  forward(inputs: Tensor | TensorSequence | Tensor[] | Record<string, Tensor>, options: { training?: boolean; outputs?: readonly string[] } = {}): Tensor | Tensor[] {
    const training = options.training ?? false;
    const wanted = options.outputs ? [...options.outputs] : this.outputNames;
    const wantedRefs = wanted.map((w) => { const r = this.#ref(w); this.layer(r.layer); return r; });
    const given = new Map<string, Tensor>();
    if (Array.isArray(inputs)) {
      if (inputs.length !== this.inputNames.length) throw new RangeError(`forward: the network has ${this.inputNames.length} inputs (${this.inputNames.join(', ')}), got ${inputs.length} tensors`);
      inputs.forEach((t, i) => given.set(this.inputNames[i]!, t));
    } else if (inputs instanceof Tensor || inputs instanceof TensorSequence) {
      if (this.inputNames.length !== 1) throw new RangeError(`forward: the network has ${this.inputNames.length} inputs (${this.inputNames.join(', ')}): pass an array or an object by name`);
      given.set(this.inputNames[0]!, inputs as Tensor);
    } else {
      for (const n of this.inputNames) {
        const t = (inputs as Record<string, Tensor>)[n];
        if (!t) throw new RangeError(`forward: missing input '${n}'`);
        given.set(n, t);
      }
    }
    // Only run what the wanted outputs depend on.
    const needed = new Set<string>();
    const mark = (n: string) => { if (!needed.has(n)) { needed.add(n); for (const s of this.#sources.get(n)!) mark(this.#ref(s).layer); } };
    wantedRefs.forEach((r) => mark(r.layer));
    const remaining = new Map<string, number>();
    for (const l of this.layers) if (needed.has(l.name)) for (const s of this.#sources.get(l.name)!) { const n = this.#ref(s).layer; remaining.set(n, (remaining.get(n) ?? 0) + 1); }
    const keepOut = new Set(wantedRefs.map((r) => r.layer));
    // Each layer's outputs (one tensor, or several for a multi-output layer), freed once no later layer needs them.
    const values = new Map<string, Tensor[]>();
    const free = (name: string, keep: (i: number) => boolean = () => false) => {
      values.get(name)!.forEach((t, i) => { if (!keep(i) && !t.isDisposed) t.dispose(); });
    };
    try {
      for (const layer of this.layers) {
        if (!needed.has(layer.name)) continue;
        const srcs = this.#sources.get(layer.name)!.map((s) => this.#ref(s));
        const args = isInputLayer(layer) ? [given.get(layer.name)!] : srcs.map((r) => values.get(r.layer)![r.out]!);
        // tidy: a layer's own temporaries (normalized input, flattened or padded copies) are freed here too.
        const out = tidy(() => layer.forward(args, { training }));
        values.set(layer.name, Array.isArray(out) ? out : [out]);
        for (const { layer: s } of srcs) {
          const left = remaining.get(s)! - 1;
          remaining.set(s, left);
          if (left === 0 && !keepOut.has(s)) { free(s); values.delete(s); }
        }
      }
    } catch (err) {
      for (const name of values.keys()) free(name);
      throw err;
    }
    const outs = wantedRefs.map((r) => values.get(r.layer)![r.out]!);
    const kept = new Set(outs);
    for (const name of keepOut) free(name, (i) => kept.has(values.get(name)![i]!));
    return outs.length === 1 ? outs[0]! : outs;
  }

  /** Learnable parameters with their state-dict names and per-layer factors. */
  parameters(): ParameterInfo[] {
    const out: ParameterInfo[] = [];
    for (const l of this.layers) {
      for (const [k, t] of l.params) out.push({ name: `${l.name}.${k}`, tensor: t, layer: l, learnRateFactor: l.learnRateFactor, l2Factor: l.l2Factor });
    }
    return out;
  }

  /** Parameters and buffers by PyTorch-style state-dict name (the network's own tensors, not copies). */
  stateDict(): Record<string, Tensor> {
    const out: Record<string, Tensor> = {};
    for (const l of this.layers) {
      for (const [k, t] of l.params) out[`${l.name}.${k}`] = t;
      for (const [k, t] of l.buffers) out[`${l.name}.${k}`] = t;
    }
    return out;
  }

  /**
   * Copies values into the network's tensors. Reports every problem at once: missing and
   * unexpected names, shape and dtype mismatches. `stripPrefix` ('module.' from DataParallel)
   * is removed from every given name that starts with it.
   *
   * Even when strict, two kinds of buffer may be absent, since PyTorch state dicts need not hold
   * them; they keep their values and are listed in `kept`: batch norm's `num_batches_tracked`
   * (PyTorch before 0.4.1 had none, and PyTorch's own loader fills it in), and the input layers'
   * normalization buffers (PyTorch normalizes outside the model; here they come from the input
   * layer's options). Given names are never ignored: unexpected ones are reported.
   */
  loadStateDict(
    values: Record<string, Tensor>,
    { strict = true, source = 'state dict', stripPrefix }: { strict?: boolean; source?: string; stripPrefix?: string } = {},
  ): { loaded: string[]; kept: string[] } {
    const own = this.stateDict();
    const problems: string[] = [];
    const given = new Map<string, Tensor>();
    for (const [raw, v] of Object.entries(values)) {
      const name = stripPrefix && raw.startsWith(stripPrefix) ? raw.slice(stripPrefix.length) : raw;
      if (given.has(name)) problems.push(`'${raw}' and another given name both become '${name}' after stripping '${stripPrefix}'`);
      given.set(name, v);
    }
    const optional = new Set<string>();
    for (const l of this.layers) {
      if (l.isInput) for (const k of l.buffers.keys()) optional.add(`${l.name}.${k}`);
      if (l.type === 'batchNorm' && l.buffers.has('num_batches_tracked')) optional.add(`${l.name}.num_batches_tracked`);
    }
    const loaded: string[] = [], kept: string[] = [];
    for (const [name, t] of Object.entries(own)) {
      const v = given.get(name);
      if (!v) {
        if (optional.has(name)) kept.push(name);
        else if (strict) problems.push(`missing '${name}' (expected ${shapeStr(t.shape)} ${t.dtype})`);
        continue;
      }
      if (shapeStr(v.shape) !== shapeStr(t.shape)) problems.push(`'${name}': expected shape ${shapeStr(t.shape)}, got ${shapeStr(v.shape)}`);
      else if (v.dtype !== t.dtype) problems.push(`'${name}': expected dtype ${t.dtype}, got ${v.dtype}`);
      else loaded.push(name);
    }
    if (strict) for (const [name, v] of given) if (!(name in own)) problems.push(`unexpected '${name}' (${shapeStr(v.shape)} ${v.dtype})`);
    if (problems.length) throw new RangeError(`${source} does not fit the network: ${problems.join('; ')}`);
    noGrad(() => {
      for (const name of loaded) own[name]!.copy_(given.get(name)!);
    });
    return { loaded, kept };
  }

  /**
   * Edits the layer graph in place: `change` replaces, removes, inserts, adds, connects and
   * disconnects layers on an editor (see NetworkEditor), then the network is rebuilt from the
   * result and shapes are inferred again. Kept layers keep their weights; new layers get fresh
   * ones; removed and replaced layers are disposed. If the result is not a valid network
   * (wiring, shapes: a kept layer whose weights no longer fit its new input), nothing changes
   * and the error names the layers. Layers given to an edit must be new: a layer and its
   * weights belong to one network, so editing one network never frees another's weights.
   *   net.edit((g) => { g.remove('dropout'); g.replace('fc8', fullyConnected({ outputSize: 5 })); });
   */
  edit(change: (editor: NetworkEditor) => void): this {
    this.#checkLive('edit');
    const before = { layers: [...this.layers], connections: this.#connections.map(([a, b]): [string, string] => [a, b]), outputs: [...this.outputNames] };
    // Outputs found by the wiring (the one layer nothing uses) are found again after the edit.
    const automatic = this.outputNames.length === 1 && this.#sinks(this.layers).join('\n') === this.outputNames.join('\n');
    const editor = new NetworkEditor(this.layers, this.#connections, this.outputNames, (l) => {
      const owner = owners.get(l)?.deref();
      return !!owner && owner !== this && !owner.#disposed;
    });
    change(editor);
    const { layers, connections, outputs } = editor.result();
    for (const l of editor.added) if (l instanceof ImageInput || l instanceof Conv2d) l.channelsLast = this.channelsLast;
    try {
      this.#install(layers, connections, editor.outputsSet || !automatic ? outputs : undefined);
      this.#build();
      if (this.#testTimeAugmentation === 'reflectX') this.testTimeAugmentation = 'reflectX';
    } catch (err) {
      for (const l of editor.added) l.dispose();
      this.#install(before.layers, before.connections, before.outputs);
      this.#build();
      if (err instanceof Error) {
        const stale = err instanceof LayerError && /already built for inputs/.test(err.message);
        err.message = `edit: ${err.message}${stale ? ' (its weights were made for its old input: replace that layer as well)' : ''}; the network is unchanged`;
      }
      throw err;
    }
    for (const l of editor.removed) { l.dispose(); owners.delete(l); }
    for (const l of editor.added) owners.set(l, new WeakRef(this));
    if (editor.classes !== undefined) this.classes = editor.classes ? [...editor.classes] : null;
    else if (this.classes && this.outputShape[this.outputShape.length - 1] !== this.classes.length) this.classes = null;
    return this;
  }

  /** Puts `layers` (one, or a chain) in the place of layer `name`; see edit. */
  replaceLayer(name: string, layers: Layer | readonly Layer[]): this {
    return this.edit((g) => g.replace(name, layers));
  }

  /** Removes layers, bridging a one-input layer's source to its consumers; see edit. */
  removeLayers(names: string | readonly string[]): this {
    return this.edit((g) => g.remove(names));
  }

  /** Inserts `layers` (a chain) after or before a layer; see edit. */
  insertLayers(layers: Layer | readonly Layer[], position: InsertPosition): this {
    return this.edit((g) => g.insert(layers, position));
  }

  /** Adds a chain of layers fed from `from` (a new branch, or a new output with setOutputs in edit). */
  addLayers(layers: Layer | readonly Layer[], from: string | readonly string[]): this {
    return this.edit((g) => g.add(layers, { from }));
  }

  /** An independent copy: same structure, copies of the weights and buffers, same options. */
  clone(): Network {
    this.#checkLive('clone');
    const copy = Network.fromConfig(this.config());
    try {
      copy.loadStateDict(this.stateDict(), { source: 'clone' });
    } catch (err) {
      copy.dispose();
      throw err;
    }
    return copy;
  }

  #checkLive(what: string): void {
    if (this.#disposed) throw new Error(`${what}: the network has been disposed`);
  }

  /** Layers whose output no other layer uses. */
  #sinks(layers: readonly Layer[]): string[] {
    const used = new Set([...this.#sources.values()].flat().map((s) => this.#ref(s).layer));
    return layers.filter((l) => !used.has(l.name)).map((l) => l.name);
  }

  /** Stops training of the named layers (or those matching `select`); learn-rate factor 0. */
  freeze(select: readonly string[] | ((layer: Layer) => boolean)): void {
    this.#select(select).forEach((l) => {
      l.learnRateFactor = 0;
      for (const p of l.params.values()) { p.zeroGrad(); p.requiresGrad = false; }
    });
  }

  unfreeze(select: readonly string[] | ((layer: Layer) => boolean), learnRateFactor = 1): void {
    this.setLearnRateFactor(select, learnRateFactor);
  }

  /** Per-layer learn-rate factor (0 freezes, as MATLAB's WeightLearnRateFactor). */
  setLearnRateFactor(select: readonly string[] | ((layer: Layer) => boolean), factor: number): void {
    if (!(factor >= 0)) throw new RangeError(`setLearnRateFactor: factor must be >= 0, got ${factor}`);
    this.#select(select).forEach((l) => {
      l.learnRateFactor = factor;
      for (const p of l.params.values()) {
        if (factor === 0) p.zeroGrad();
        p.requiresGrad = factor > 0;
      }
    });
  }

  #select(select: readonly string[] | ((layer: Layer) => boolean)): Layer[] {
    return typeof select === 'function' ? this.layers.filter(select) : select.map((n) => this.layer(n));
  }

  /** Moves every parameter and buffer to `device` ('cpu', 'cuda', …). */
  to(device: string): this {
    for (const l of this.layers) l.to(device);
    return this;
  }

  /** Where the parameters live ('cpu' for a network without parameters). */
  get device(): string {
    for (const l of this.layers) for (const p of l.params.values()) return p.device;
    return 'cpu';
  }

  get learnableCount(): number {
    return this.layers.reduce((a, l) => a + l.learnableCount, 0);
  }
  get trainableCount(): number {
    return this.layers.reduce((a, l) => a + (l.learnRateFactor > 0 ? l.learnableCount : 0), 0);
  }

  config(): NetworkConfig {
    return {
      format: 'dlkit-network',
      version: 1,
      layers: this.layers.map((l) => l.config()),
      connections: this.#connections.map(([a, b]) => [a, b]),
      outputs: [...this.outputNames],
      classes: this.classes ? [...this.classes] : null,
      channelsLast: this.channelsLast,
      ...(this.#testTimeAugmentation !== 'none' && { testTimeAugmentation: this.#testTimeAugmentation }),
    };
  }

  /** The layer table: name, type, output shape, learnables, with totals. */
  summary(): string {
    const isSeries = this.layers.every((l, i) => {
      const s = this.#sources.get(l.name)!;
      return i === 0 ? s.length === 0 || isInputLayer(l) : s.length === 1 && s[0] === this.layers[i - 1]!.name;
    });
    const rows = this.layers.map((l, i) => [
      String(i + 1), l.name, l.displayType, l.builtOutputShapes.map((s) => (s ? shapeStr(s) : '?')).join(' '),
      l.learnableCount ? l.learnableCount.toLocaleString('en-US') + (l.learnRateFactor === 0 ? ' (frozen)' : '') : '-',
      ...(isSeries ? [] : [this.#sources.get(l.name)!.join(', ') || '-']),
    ]);
    const head = ['#', 'name', 'type', 'output shape', 'learnables', ...(isSeries ? [] : ['inputs'])];
    const widths = head.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]!.length)));
    const line = (r: string[]) => r.map((v, c) => (c === 0 || c === 4 ? v.padStart(widths[c]!) : v.padEnd(widths[c]!))).join('  ').trimEnd();
    const rule = widths.map((w) => '-'.repeat(w)).join('  ');
    const total = this.learnableCount;
    const trainable = this.trainableCount;
    return [
      line(head), rule, ...rows.map(line), rule,
      `learnables: ${total.toLocaleString('en-US')} (${trainable.toLocaleString('en-US')} trainable)`,
      `input ${shapeStr(this.inputShape)} -> output ${shapeStr(this.outputShape)}${this.classes ? `, ${this.classes.length} classes` : ''}`,
      ...(this.#testTimeAugmentation === 'reflectX' ? ['test-time augmentation: reflectX (predictions average each image and its mirror image)'] : []),
    ].join('\n');
  }

  toString(): string {
    return this.summary();
  }

  dispose(): void {
    for (const l of this.layers) { l.dispose(); owners.delete(l); }
    this.#disposed = true;
  }

  [Symbol.dispose](): void {
    this.dispose();
  }
}
