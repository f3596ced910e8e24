// Layers that rearrange values without computing: flatten ((C, H, W) -> (C*H*W), in PyTorch's
// logical NCHW order whatever the memory layout), reshape, slice.
import type { Tensor } from '../../tensor/tensor.js';
import { Layer, checkOption, shapeStr, type Shape } from '../layer.js';
import { checked } from '../layer.js';

export class Flatten extends Layer {
  readonly type = 'flatten';
  outputShape([input]: Shape[]): Shape {
    return [input!.reduce((a, b) => a * b, 1)];
  }
  forward([x]: Tensor[]): Tensor {
    return x!.flatten(1);
  }
  protected options(): Record<string, unknown> { return {}; }
}

export const flatten = (o: { name?: string } = {}): Flatten => checked(new Flatten(o), o);

export interface ReshapeOptions {
  name?: string;
  /** The per-observation output shape (no batch dimension); one entry may be -1 (inferred). */
  shape: readonly number[];
}

/** Reshapes each observation to `shape` (values in logical row-major order, as PyTorch's reshape). */
export class Reshape extends Layer {
  readonly type = 'reshape';
  readonly shape: number[];
  constructor(o: ReshapeOptions) {
    super(o);
    if (!Array.isArray(o.shape) || o.shape.some((d) => !Number.isInteger(d) || (d < 1 && d !== -1)) || o.shape.filter((d) => d === -1).length > 1) {
      throw new RangeError(`reshape: option 'shape' must be positive integers with at most one -1, got ${JSON.stringify(o.shape)}`);
    }
    this.shape = [...o.shape];
  }
  outputShape([input]: Shape[]): Shape {
    const count = input!.reduce((a, b) => a * b, 1);
    const known = this.shape.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
    const out = this.shape.map((d) => (d === -1 ? count / known : d));
    if (out.reduce((a, b) => a * b, 1) !== count || out.some((d) => !Number.isInteger(d))) {
      this.error(`cannot reshape ${shapeStr(input!)} (${count} values) to ${shapeStr(this.shape)}`);
    }
    return out;
  }
  forward([x]: Tensor[]): Tensor {
    return x!.reshape([x!.shape[0]!, ...this.builtOutputShape!]);
  }
  protected options(): Record<string, unknown> { return { shape: this.shape }; }
}

export interface SliceOptions {
  name?: string;
  /** Dimension of the batched tensor; 1 (channels) by default. */
  dim?: number;
  start: number;
  /** Exclusive. */
  end: number;
}

/** Keeps positions [start, end) along one dimension (one output of Caffe's Slice, ONNX's Slice on one axis). */
export class Slice extends Layer {
  readonly type = 'slice';
  readonly dim: number;
  readonly start: number;
  readonly end: number;
  constructor(o: SliceOptions) {
    super(o);
    this.dim = o.dim ?? 1;
    checkOption('slice', 'dim', this.dim, (v) => Number.isInteger(v) && v >= 1, 'an integer >= 1 (dim 0 is the batch)');
    checkOption('slice', 'start', o.start, (v) => Number.isInteger(v) && v >= 0, 'an integer >= 0');
    checkOption('slice', 'end', o.end, (v) => Number.isInteger(v) && v > o.start, `an integer > start (${o.start})`);
    this.start = o.start;
    this.end = o.end;
  }
  outputShape([input]: Shape[]): Shape {
    const d = this.dim - 1;
    if (d >= input!.length) this.error(`dim ${this.dim} is out of range for input of shape ${shapeStr(input!)}`);
    if (this.end > input![d]!) this.error(`[${this.start}, ${this.end}) is out of range along dim ${this.dim} of input ${shapeStr(input!)}`);
    const out = [...input!];
    out[d] = this.end - this.start;
    return out;
  }
  forward([x]: Tensor[]): Tensor {
    return x!.slice(this.dim, this.start, this.end);
  }
  protected options(): Record<string, unknown> { return { dim: this.dim, start: this.start, end: this.end }; }
}

export const reshape = (o: ReshapeOptions): Reshape => checked(new Reshape(o), o);
export const slice = (o: SliceOptions): Slice => checked(new Slice(o), o);
