// Activation layers: shape-preserving, no parameters.
import type { Tensor } from '../../tensor/tensor.js';
import * as F from '../functional/index.js';
import { Layer, checkOption, type LayerOptions, type Shape } from '../layer.js';
import { checked } from '../layer.js';

abstract class Activation extends Layer {
  outputShape([input]: Shape[]): Shape {
    return input!;
  }
  protected options(): Record<string, unknown> {
    return {};
  }
}

export class ReLU extends Activation {
  readonly type = 'relu';
  forward([x]: Tensor[]): Tensor { return F.relu(x!); }
}

export interface LeakyReluOptions extends LayerOptions {
  /** Slope for negative inputs. */
  scale?: number;
}
export class LeakyReLU extends Activation {
  readonly type = 'leakyRelu';
  readonly scale: number;
  constructor(o: LeakyReluOptions = {}) {
    super(o);
    this.scale = o.scale ?? 0.01;
    checkOption('leakyRelu', 'scale', this.scale, Number.isFinite, 'a finite number');
  }
  forward([x]: Tensor[]): Tensor { return F.leakyRelu(x!, this.scale); }
  protected override options() { return { scale: this.scale }; }
}

export interface EluOptions extends LayerOptions {
  alpha?: number;
}
export class ELU extends Activation {
  readonly type = 'elu';
  readonly alpha: number;
  constructor(o: EluOptions = {}) {
    super(o);
    this.alpha = o.alpha ?? 1;
    checkOption('elu', 'alpha', this.alpha, (v) => v > 0, '> 0');
  }
  forward([x]: Tensor[]): Tensor { return F.elu(x!, this.alpha); }
  protected override options() { return { alpha: this.alpha }; }
}

export interface GeluOptions extends LayerOptions {
  approximate?: 'none' | 'tanh';
}
export class GELU extends Activation {
  readonly type = 'gelu';
  readonly approximate: 'none' | 'tanh';
  constructor(o: GeluOptions = {}) {
    super(o);
    this.approximate = o.approximate ?? 'none';
    if (this.approximate !== 'none' && this.approximate !== 'tanh') throw new RangeError(`gelu: option 'approximate' must be 'none' or 'tanh', got ${JSON.stringify(o.approximate)}`);
  }
  forward([x]: Tensor[]): Tensor { return F.gelu(x!, this.approximate); }
  protected override options() { return { approximate: this.approximate }; }
}

export interface ClippedReluOptions extends LayerOptions {
  /** The output's upper bound (6: PyTorch's ReLU6, as in MobileNetV2). */
  ceiling: number;
}
/** min(max(x, 0), ceiling) (MATLAB's clippedReluLayer; ReLU6 with ceiling 6). */
export class ClippedReLU extends Activation {
  readonly type = 'clippedRelu';
  readonly ceiling: number;
  constructor(o: ClippedReluOptions) {
    super(o);
    this.ceiling = o?.ceiling;
    checkOption(`clippedRelu${o?.name ? ` '${o.name}'` : ''}`, 'ceiling', this.ceiling, (v) => Number.isFinite(v) && v > 0, 'a finite number > 0');
  }
  forward([x]: Tensor[]): Tensor { return F.clippedRelu(x!, this.ceiling); }
  protected override options() { return { ceiling: this.ceiling }; }
}

export class Tanh extends Activation {
  readonly type = 'tanh';
  forward([x]: Tensor[]): Tensor { return F.tanh(x!); }
}

export class Sigmoid extends Activation {
  readonly type = 'sigmoid';
  forward([x]: Tensor[]): Tensor { return F.sigmoid(x!); }
}

/** Softmax over the channel/feature dimension (dim 1 of the batch). */
export class Softmax extends Activation {
  readonly type = 'softmax';
  override get outputsProbabilities(): boolean { return true; }
  forward([x]: Tensor[]): Tensor { return F.softmax(x!, 1); }
}

export const relu = (o: LayerOptions = {}): ReLU => checked(new ReLU(o), o);
export const leakyRelu = (o: LeakyReluOptions = {}): LeakyReLU => checked(new LeakyReLU(o), o);
export const elu = (o: EluOptions = {}): ELU => checked(new ELU(o), o);
export const gelu = (o: GeluOptions = {}): GELU => checked(new GELU(o), o);
export const clippedRelu = (o: ClippedReluOptions): ClippedReLU => checked(new ClippedReLU(o), o);
export const tanh = (o: LayerOptions = {}): Tanh => checked(new Tanh(o), o);
export const sigmoid = (o: LayerOptions = {}): Sigmoid => checked(new Sigmoid(o), o);
export const softmax = (o: LayerOptions = {}): Softmax => checked(new Softmax(o), o);
