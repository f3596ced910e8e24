// Layers that join branches of a graph: concatenation (Inception) and addition (ResNet).
import type { Tensor } from '../../tensor/tensor.js';
import { cat } from '../../tensor/create.js';
import { Layer, checkOption, shapeStr, type LayerOptions, type Shape } from '../layer.js';
import { checked } from '../layer.js';

export interface ConcatenationOptions extends LayerOptions {
  numInputs?: number;
  /** Dimension of the batched tensor to join along; 1 (channels) by default. */
  dim?: number;
}

export class Concatenation extends Layer {
  readonly type = 'concatenation';
  override readonly numInputs: number;
  readonly dim: number;
  constructor(o: ConcatenationOptions = {}) {
    super(o);
    this.numInputs = o.numInputs ?? 2;
    this.dim = o.dim ?? 1;
    checkOption('concatenation', 'numInputs', this.numInputs, (v) => Number.isInteger(v) && v >= 2, 'an integer >= 2');
    checkOption('concatenation', 'dim', this.dim, (v) => Number.isInteger(v) && v >= 1, 'an integer >= 1 (dim 0 is the batch)');
  }
  outputShape(inputs: Shape[]): Shape {
    const d = this.dim - 1; // per-observation dimension
    const first = inputs[0]!;
    if (d >= first.length) this.error(`dim ${this.dim} is out of range for inputs of shape ${shapeStr(first)}`);
    inputs.forEach((s, i) => {
      if (s.length !== first.length || s.some((v, j) => j !== d && v !== first[j])) {
        this.error(`inputs must match except along dim ${this.dim}: input 1 is ${shapeStr(first)}, input ${i + 1} is ${shapeStr(s)}`);
      }
    });
    const out = [...first];
    out[d] = inputs.reduce((a, s) => a + s[d]!, 0);
    return out;
  }
  forward(inputs: Tensor[]): Tensor { return cat(inputs, this.dim); }
  protected options(): Record<string, unknown> { return { numInputs: this.numInputs, dim: this.dim }; }
}

export interface AdditionOptions extends LayerOptions {
  numInputs?: number;
}

export class Addition extends Layer {
  readonly type = 'addition';
  override readonly numInputs: number;
  constructor(o: AdditionOptions = {}) {
    super(o);
    this.numInputs = o.numInputs ?? 2;
    checkOption('addition', 'numInputs', this.numInputs, (v) => Number.isInteger(v) && v >= 2, 'an integer >= 2');
  }
  outputShape(inputs: Shape[]): Shape {
    const first = inputs[0]!;
    inputs.forEach((s, i) => {
      if (shapeStr(s) !== shapeStr(first)) this.error(`inputs must have the same shape: input 1 is ${shapeStr(first)}, input ${i + 1} is ${shapeStr(s)}`);
    });
    return first;
  }
  forward(inputs: Tensor[]): Tensor {
    let sum = inputs[0]!.add(inputs[1]!);
    for (let i = 2; i < inputs.length; i++) {
      const next = sum.add(inputs[i]!);
      sum.dispose();
      sum = next;
    }
    return sum;
  }
  protected options(): Record<string, unknown> { return { numInputs: this.numInputs }; }
}

export const concatenation = (o: ConcatenationOptions = {}): Concatenation => checked(new Concatenation(o), o);
export const addition = (o: AdditionOptions = {}): Addition => checked(new Addition(o), o);
