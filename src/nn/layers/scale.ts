// Per-channel affine layers: scale (multiply by a learned value per channel, optionally add a
// bias) and bias (add a learned value per channel). Caffe follows its parameter-free BatchNorm
// with Scale; ONNX graphs spell the same as Mul/Add by a [C, 1, 1] constant.
import type { Tensor } from '../../tensor/tensor.js';
import { ones, zeros } from '../../tensor/create.js';
import { Layer, type LayerOptions, type Shape } from '../layer.js';
import { checked } from '../layer.js';

/** Reshapes a per-channel [C] vector to broadcast over (N, C, ...) of rank `ndim`. */
const perChannel = (v: Tensor, ndim: number): Tensor => v.view([1, v.shape[0]!, ...Array(ndim - 2).fill(1)]);

export interface ScaleOptions extends LayerOptions {
  /** Also add a learned bias per channel (Caffe's bias_term). Default false. */
  bias?: boolean;
}

/** y = x * weight[c] (+ bias[c]) along the channel dimension. */
export class Scale extends Layer {
  readonly type = 'scale';
  readonly bias: boolean;
  constructor(o: ScaleOptions = {}) {
    super(o);
    this.bias = o.bias ?? false;
    if (typeof this.bias !== 'boolean') throw new RangeError(`scale: option 'bias' must be true or false, got ${JSON.stringify(o.bias)}`);
  }
  outputShape([input]: Shape[]): Shape {
    if (input!.length < 1) this.error('expected (C) or (C, ...) per observation, got a scalar');
    return input!;
  }
  protected override weightShapeKey([input]: Shape[]): string {
    return String(input![0]);
  }

  protected override createParams([input]: Shape[]) {
    const c = input![0]!;
    return { params: { weight: ones([c]), ...(this.bias && { bias: zeros([c]) }) } };
  }
  forward([x]: Tensor[]): Tensor {
    const y = x!.mul(perChannel(this.params.get('weight')!, x!.ndim));
    const b = this.params.get('bias');
    return b ? y.add(perChannel(b, x!.ndim)) : y;
  }
  protected options(): Record<string, unknown> { return { bias: this.bias }; }
}

/** y = x + bias[c] along the channel dimension. */
export class Bias extends Layer {
  readonly type = 'bias';
  outputShape([input]: Shape[]): Shape {
    if (input!.length < 1) this.error('expected (C) or (C, ...) per observation, got a scalar');
    return input!;
  }
  protected override weightShapeKey([input]: Shape[]): string {
    return String(input![0]);
  }

  protected override createParams([input]: Shape[]) {
    return { params: { bias: zeros([input![0]!]) } };
  }
  forward([x]: Tensor[]): Tensor {
    return x!.add(perChannel(this.params.get('bias')!, x!.ndim));
  }
  protected options(): Record<string, unknown> { return {}; }
}

export const scale = (o: ScaleOptions = {}): Scale => checked(new Scale(o), o);
export const bias = (o: LayerOptions = {}): Bias => checked(new Bias(o), o);
