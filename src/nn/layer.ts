// The layer base class. A layer is built once its input shapes are known (Keras-style shape
// inference: in-channels and in-features are never typed by hand), holds its learnable
// parameters and buffers under PyTorch's state-dict names, and runs one functional call.
import type { Tensor } from '../tensor/tensor.js';
import { keep, tidy } from '../tensor/memory.js';
import { noGrad } from '../tensor/autograd.js';

/** The shape of ONE observation (no batch dimension), e.g. [3, 224, 224] for C, H, W. */
export type Shape = readonly number[];

export const shapeStr = (s: Shape): string => `[${s.join(', ')}]`;

/** An error about a layer: names the layer, its type and what was expected versus found. */
export class LayerError extends Error {
  constructor(readonly layer: string, readonly layerType: string, message: string) {
    super(`layer '${layer}' (${layerType}): ${message}`);
    this.name = 'LayerError';
  }
}

export interface ForwardContext {
  training: boolean;
}

/** Options every layer takes. */
export interface LayerOptions {
  /** Unique within a network; defaults to `<type>_<n>` (conv2d_1, relu_2, …). */
  name?: string;
}

/** A JSON-safe description of a layer: its type and constructor options. */
export interface LayerConfig {
  type: string;
  name: string;
  [option: string]: unknown;
}

export abstract class Layer {
  /** Stable type name used in model files and summaries (conv2d, batchNorm, …). */
  abstract readonly type: string;
  /** What summary() shows as the type (an imported ONNX node shows its op: 'onnx:Conv'). */
  get displayType(): string {
    return this.type;
  }
  name: string;
  /** Learnable parameters by state-dict suffix ('weight', 'bias'). */
  readonly params = new Map<string, Tensor>();
  /** Non-learned state by state-dict suffix ('running_mean', 'running_var', …). */
  readonly buffers = new Map<string, Tensor>();
  /** Multiplies the solver's learn rate for this layer's parameters; 0 freezes them. */
  learnRateFactor = 1;
  /** Multiplies l2Regularization for this layer's parameters. */
  l2Factor = 1;
  /** Input layers start a network: data enters there. */
  readonly isInput: boolean = false;
  /** How many inputs the layer takes (addition/concatenation take several). */
  readonly numInputs: number = 1;
  /** How many tensors `forward` returns (an imported ONNX Split or TopK gives several). */
  readonly numOutputs: number = 1;
  /**
   * True for layers whose output shape depends on input values, not only on input shapes
   * (imported ONNX nodes: Reshape to a computed shape). A network holding one infers shapes by
   * running a small probe batch through itself, and gives such layers null for unknown shapes.
   */
  readonly shapeFromValues: boolean = false;
  /**
   * For input layers that take something other than a tensor (a TensorSequence, an ONNX
   * optional): the shape probe has no zero value for them, so what they feed has unknown shapes.
   */
  readonly valueInput: boolean = false;
  /** True for layers whose outputs are class probabilities (softmax, a trained SVM): classify applies no softmax after them. */
  get outputsProbabilities(): boolean {
    return false;
  }
  /** For input layers: false when the input has no batch dimension (a fixed-shape ONNX graph). */
  readonly batched: boolean = true;
  #inputShapes: Shape[] | null = null;
  #outputShape: Shape | null = null;
  #outputShapes: (Shape | null)[] | null = null;
  #created = false;

  constructor(options: LayerOptions = {}) {
    this.name = options.name ?? '';
  }

  /** Per-observation output shape for the given input shapes; throws a LayerError when they don't fit. */
  abstract outputShape(inputs: Shape[]): Shape;

  /** Creates parameters for these input shapes. Layers with parameters override `createParams`. */
  build(inputs: Shape[]): Shape {
    const out = this.outputShape(inputs);
    // Value-dependent layers (shapeFromValues) may be given null for a shape not known before running.
    const known = (s: Shape | null | undefined): s is Shape => Array.isArray(s);
    if (this.#created && this.params.size > 0 && !this.shapeFromValues && inputs.every(known) && this.#inputShapes!.every(known)
      && this.weightShapeKey(inputs) !== this.weightShapeKey(this.#inputShapes!)) {
      this.error(`already built for inputs ${this.#inputShapes!.map(shapeStr).join(', ')}, now given ${inputs.map(shapeStr).join(', ')}`);
    }
    if (!this.#created) {
      this.#created = true;
      tidy(() => {
        const made = this.createParams(inputs);
        // A layer whose config says learnRateFactor 0 (frozen, then saved) stays frozen.
        for (const [k, t] of Object.entries(made.params ?? {})) this.params.set(k, keep(t.requiresGrad_(this.learnRateFactor > 0)));
        for (const [k, t] of Object.entries(made.buffers ?? {})) this.buffers.set(k, keep(t));
      });
    }
    this.#inputShapes = inputs.map((s) => (known(s) ? [...s] : (null as unknown as Shape)));
    this.#outputShape = out;
    return out;
  }

  /**
   * What of the input shapes the parameters' shapes depend on: a built layer given inputs with
   * another key cannot keep its weights. Default: the whole shapes; per-channel layers
   * (convolutions, batch norm) override it with the channel count, so a network's input size
   * can change under them.
   */
  protected weightShapeKey(inputs: Shape[]): string {
    return inputs.map(shapeStr).join(' ');
  }

  /** Override to create parameters (they are kept and made trainable by `build`). */
  protected createParams(_inputs: Shape[]): { params?: Record<string, Tensor>; buffers?: Record<string, Tensor> } {
    return {};
  }

  /** One tensor, or `numOutputs` tensors for a multi-output layer. */
  abstract forward(inputs: Tensor[], ctx: ForwardContext): Tensor | Tensor[];

  /** Constructor options that rebuild this layer (saved in model files). */
  protected abstract options(): Record<string, unknown>;

  config(): LayerConfig {
    const cfg: LayerConfig = { type: this.type, name: this.name, ...this.options() };
    if (this.learnRateFactor !== 1) cfg.learnRateFactor = this.learnRateFactor;
    if (this.l2Factor !== 1) cfg.l2Factor = this.l2Factor;
    return cfg;
  }

  get inputShapes(): Shape[] | null {
    return this.#inputShapes;
  }
  get builtOutputShape(): Shape | null {
    return this.#outputShapes ? this.#outputShapes[0] ?? null : this.#outputShape;
  }
  /** Every output's shape (one entry for single-output layers); null where it is unknown. */
  get builtOutputShapes(): (Shape | null)[] {
    return this.#outputShapes ?? [this.#outputShape];
  }
  /** For shapeFromValues layers: the per-observation output shapes a probe run found. */
  setOutputShapes(shapes: (Shape | null)[]): void {
    this.#outputShapes = shapes.map((s) => (s ? [...s] : null));
  }
  get isBuilt(): boolean {
    return this.#outputShape !== null;
  }
  /** Number of learnable values. */
  get learnableCount(): number {
    let n = 0;
    for (const p of this.params.values()) n += p.size;
    return n;
  }

  protected error(message: string): never {
    throw new LayerError(this.name || '(unnamed)', this.type, message);
  }

  /** Checks the input rank: `expectRank(inputs[0], 3, '(C, H, W)')`. */
  protected expectRank(shape: Shape, ranks: number | number[], what: string): void {
    const ok = Array.isArray(ranks) ? ranks : [ranks];
    if (!ok.includes(shape.length)) {
      this.error(`expected ${ok.join(' or ')}-D input ${what} per observation, found ${shape.length}-D. Full shape received: ${shapeStr(shape)}`);
    }
  }

  /** A short description for printing: conv2d_1: Conv2d(filters=32, kernelSize=3). */
  toString(): string {
    const opts = Object.entries(this.options())
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
      .join(', ');
    return `${this.name}: ${this.type}(${opts})`;
  }

  /** Moves parameters and buffers to a device ('cpu', 'cuda', 'cuda:1'); a no-op when already there. */
  to(device: string): void {
    for (const map of [this.params, this.buffers]) {
      for (const [k, t] of map) {
        if (t.device === device || (device === 'cuda' && t.device.startsWith('cuda'))) continue;
        const moved = keep(tidy(() => noGrad(() => t.to({ device }))));
        if (map === this.params) moved.requiresGrad_(t.requiresGrad);
        t.dispose();
        map.set(k, moved);
      }
    }
  }

  dispose(): void {
    for (const t of this.params.values()) t.dispose();
    for (const t of this.buffers.values()) t.dispose();
    this.params.clear();
    this.buffers.clear();
    this.#inputShapes = null;
    this.#outputShape = null;
    this.#outputShapes = null;
    this.#created = false;
  }
}

/**
 * Rejects options a layer does not know (a misspelled `strides: 2` would otherwise be ignored
 * silently). The known ones are those its config() reports, plus the ones every layer takes.
 */
export function checked<L extends Layer>(layer: L, given: object | undefined): L {
  const known = new Set([...Object.keys(layer.config()), 'name', 'learnRateFactor', 'l2Factor']);
  const unknown = Object.keys(given ?? {}).filter((k) => !known.has(k));
  if (unknown.length) {
    throw new RangeError(`${layer.type}${layer.name ? ` '${layer.name}'` : ''}: unknown option${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `'${k}'`).join(', ')}; known: ${[...known].filter((k) => k !== 'type').join(', ')}`);
  }
  return layer;
}

/** Spreads a number to `n` items, or checks an array has `n` items. */
export function tuple(v: number | readonly number[], n: number, what: string): number[] {
  if (typeof v === 'number') return Array(n).fill(v);
  if (!Array.isArray(v)) throw new RangeError(`${what}: expected a number or ${n} numbers, got ${JSON.stringify(v) ?? String(v)}`);
  if (v.length !== n) throw new RangeError(`${what}: expected ${n} numbers, got ${v.length}: [${v.join(', ')}]`);
  return [...v];
}

/** Checks a numeric option; the message names the layer and the option. */
export function checkOption(layer: string, option: string, value: unknown, test: (v: number) => boolean, expected: string): void {
  if (typeof value !== 'number' || !test(value)) {
    throw new RangeError(`${layer}: option '${option}' must be ${expected}, got ${typeof value === 'number' ? String(value) : JSON.stringify(value)}`);
  }
}
