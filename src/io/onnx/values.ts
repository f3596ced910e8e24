// The values an imported ONNX graph passes between nodes besides tensors: sequences of tensors
// (TensorSequence, src/tensor/sequence.ts) and optionals. An optional that holds a value is that
// value itself; an empty one is an EmptyOptional. Graph inputs of optional type enter through an
// onnxOptionalInput layer.
import { Layer, checked, type LayerOptions, type Shape } from '../../nn/layer.js';
import { registerLayer } from '../../nn/registry.js';
import { callOp, Tensor } from '../../tensor/tensor.js';
import { TensorSequence } from '../../tensor/sequence.js';

/** An ONNX optional without a value (Optional() with only a type, a None test input). */
export class EmptyOptional {
  #disposed = false;
  get isDisposed(): boolean { return this.#disposed; }
  dispose(): void { this.#disposed = true; }
  toString(): string { return 'EmptyOptional'; }
}

export type OnnxValue = Tensor | TensorSequence | EmptyOptional;

/** A new value with the same contents: an alias of a tensor, a sequence of aliases. */
export function cloneValue(v: OnnxValue): OnnxValue {
  if (v instanceof Tensor) return callOp<Tensor>('alias', '', v);
  if (v instanceof TensorSequence) return new TensorSequence(v.tensors.map((t) => callOp<Tensor>('alias', '', t)), v.dtype);
  return new EmptyOptional();
}

/** 'a float32 tensor [2, 3]', 'a sequence of 3 float32 tensors', 'an empty optional'. */
export function describeValue(v: unknown): string {
  if (v instanceof Tensor) return `a ${v.dtype} tensor [${v.shape.join(', ')}]`;
  if (v instanceof TensorSequence) return `a sequence of ${v.length} ${v.dtype} tensors`;
  if (v instanceof EmptyOptional) return 'an empty optional';
  return v === undefined ? 'missing' : String(v);
}

export interface OnnxOptionalInputOptions extends LayerOptions {
  /** What the optional holds when it holds something. */
  element: 'tensor' | 'sequence';
}

/** Input of an ONNX optional: a tensor or a TensorSequence (as `element` says), or an EmptyOptional. */
export class OnnxOptionalInput extends Layer {
  readonly type = 'onnxOptionalInput';
  override readonly isInput = true;
  override readonly valueInput = true;
  override readonly batched = false;
  readonly element: 'tensor' | 'sequence';
  constructor(o: OnnxOptionalInputOptions) {
    super(o);
    if (o.element !== 'tensor' && o.element !== 'sequence') throw new RangeError(`onnxOptionalInput: option 'element' must be 'tensor' or 'sequence', got ${JSON.stringify(o.element)}`);
    this.element = o.element;
  }
  outputShape(): Shape { return []; }
  forward([x]: Tensor[]): Tensor {
    const v = x as unknown as OnnxValue;
    const ok = v instanceof EmptyOptional || (this.element === 'tensor' ? v instanceof Tensor : v instanceof TensorSequence);
    if (!ok) this.error(`expected an optional ${this.element} (a ${this.element === 'tensor' ? 'Tensor' : 'TensorSequence'} or an EmptyOptional), got ${describeValue(v)}`);
    return cloneValue(v) as Tensor;
  }
  protected options(): Record<string, unknown> { return { element: this.element }; }
}

export const onnxOptionalInput = (o: OnnxOptionalInputOptions): OnnxOptionalInput => checked(new OnnxOptionalInput(o), o);

registerLayer('onnxOptionalInput', (o) => new OnnxOptionalInput(o as unknown as OnnxOptionalInputOptions));
