// Pooling layers: max and average (1-D and 2-D), global average, adaptive average.
import type { Tensor } from '../../tensor/tensor.js';
import * as F from '../functional/index.js';
import { Layer, checkOption, shapeStr, tuple, type LayerOptions, type Shape } from '../layer.js';
import { checked } from '../layer.js';

export interface PoolLayerOptions extends LayerOptions {
  poolSize: number | readonly number[];
  /** Defaults to poolSize (non-overlapping). */
  stride?: number | readonly number[];
  padding?: number | readonly number[];
  ceilMode?: boolean;
}

abstract class PoolNd extends Layer {
  readonly poolSize: number[];
  readonly stride: number[];
  readonly padding: number[];
  readonly ceilMode: boolean;

  constructor(what: string, readonly spatial: number, o: PoolLayerOptions) {
    super(o);
    this.poolSize = tuple(o.poolSize, spatial, `${what}: option 'poolSize'`);
    this.stride = tuple(o.stride ?? this.poolSize, spatial, `${what}: option 'stride'`);
    this.padding = tuple(o.padding ?? 0, spatial, `${what}: option 'padding'`);
    this.ceilMode = o.ceilMode ?? false;
    this.poolSize.forEach((v) => checkOption(what, 'poolSize', v, (x) => Number.isInteger(x) && x >= 1, 'positive integers'));
    this.stride.forEach((v) => checkOption(what, 'stride', v, (x) => Number.isInteger(x) && x >= 1, 'positive integers'));
    this.padding.forEach((v, i) => checkOption(what, 'padding', v, (x) => Number.isInteger(x) && x >= 0 && x <= this.poolSize[i]! / 2, `integers in [0, poolSize/2]`));
  }

  outputShape([input]: Shape[]): Shape {
    this.expectRank(input!, this.spatial + 1, this.spatial === 1 ? '(C, L)' : '(C, H, W)');
    const [c, ...sizes] = input!;
    const out = sizes.map((n, i) => {
      const span = n + 2 * this.padding[i]! - this.poolSize[i]!;
      let o = (this.ceilMode ? Math.ceil(span / this.stride[i]!) : Math.floor(span / this.stride[i]!)) + 1;
      // PyTorch: the last window must start inside the input or left padding.
      if (this.ceilMode && (o - 1) * this.stride[i]! >= n + this.padding[i]!) o--;
      return o;
    });
    if (out.some((d) => d < 1)) this.error(`pool ${shapeStr(this.poolSize)} does not fit input ${shapeStr(input!)}: output would be ${shapeStr(out)}`);
    return [c!, ...out];
  }

  protected options(): Record<string, unknown> {
    return { poolSize: this.poolSize, stride: this.stride, padding: this.padding, ceilMode: this.ceilMode };
  }
}

export class MaxPool2d extends PoolNd {
  readonly type = 'maxPool2d';
  constructor(o: PoolLayerOptions) { super('maxPool2d', 2, o); }
  forward([x]: Tensor[]): Tensor {
    return F.maxPool2d(x!, this.poolSize, { stride: this.stride, padding: this.padding, ceilMode: this.ceilMode });
  }
}

export class AvgPool2d extends PoolNd {
  readonly type = 'avgPool2d';
  constructor(o: PoolLayerOptions) { super('avgPool2d', 2, o); }
  forward([x]: Tensor[]): Tensor {
    return F.avgPool2d(x!, this.poolSize, { stride: this.stride, padding: this.padding, ceilMode: this.ceilMode });
  }
}

export class MaxPool1d extends PoolNd {
  readonly type = 'maxPool1d';
  constructor(o: PoolLayerOptions) { super('maxPool1d', 1, o); }
  forward([x]: Tensor[]): Tensor {
    return F.maxPool1d(x!, this.poolSize[0]!, { stride: this.stride, padding: this.padding, ceilMode: this.ceilMode });
  }
}

export class AvgPool1d extends PoolNd {
  readonly type = 'avgPool1d';
  constructor(o: PoolLayerOptions) { super('avgPool1d', 1, o); }
  forward([x]: Tensor[]): Tensor {
    return F.avgPool1d(x!, this.poolSize[0]!, { stride: this.stride, padding: this.padding, ceilMode: this.ceilMode });
  }
}

/** Averages each channel over all positions: (C, H, W) -> (C, 1, 1). */
export class GlobalAvgPool2d extends Layer {
  readonly type = 'globalAvgPool2d';
  outputShape([input]: Shape[]): Shape {
    this.expectRank(input!, 3, '(C, H, W)');
    return [input![0]!, 1, 1];
  }
  forward([x]: Tensor[]): Tensor { return F.globalAvgPool2d(x!); }
  protected options(): Record<string, unknown> { return {}; }
}

export interface AdaptiveAvgPool2dOptions extends LayerOptions {
  /** [H, W] of the output (one number: square). */
  outputSize: number | readonly number[];
}

/**
 * Averages over windows that tile the input into outputSize cells (PyTorch's
 * AdaptiveAvgPool2d): output cell i along a dim of n inputs and o outputs covers
 * [floor(i n / o), ceil((i + 1) n / o)). Any input size works, smaller than the output included
 * (windows then repeat inputs), which is why AlexNet and VGG end their features with it.
 */
export class AdaptiveAvgPool2d extends Layer {
  readonly type = 'adaptiveAvgPool2d';
  readonly outputSize: number[];
  constructor(o: AdaptiveAvgPool2dOptions) {
    super(o);
    const what = `adaptiveAvgPool2d${o?.name ? ` '${o.name}'` : ''}`;
    this.outputSize = tuple(o?.outputSize, 2, `${what}: option 'outputSize'`);
    this.outputSize.forEach((v) => checkOption(what, 'outputSize', v, (x) => Number.isInteger(x) && x >= 1, 'positive integers'));
  }
  outputShape([input]: Shape[]): Shape {
    this.expectRank(input!, 3, '(C, H, W)');
    return [input![0]!, ...this.outputSize];
  }
  forward([x]: Tensor[]): Tensor { return F.adaptiveAvgPool2d(x!, this.outputSize as [number, number]); }
  protected options(): Record<string, unknown> { return { outputSize: this.outputSize }; }
}

export const maxPool2d = (o: PoolLayerOptions): MaxPool2d => checked(new MaxPool2d(o), o);
export const avgPool2d = (o: PoolLayerOptions): AvgPool2d => checked(new AvgPool2d(o), o);
export const maxPool1d = (o: PoolLayerOptions): MaxPool1d => checked(new MaxPool1d(o), o);
export const avgPool1d = (o: PoolLayerOptions): AvgPool1d => checked(new AvgPool1d(o), o);
export const globalAvgPool2d = (o: LayerOptions = {}): GlobalAvgPool2d => checked(new GlobalAvgPool2d(o), o);
export const adaptiveAvgPool2d = (o: AdaptiveAvgPool2dOptions): AdaptiveAvgPool2d => checked(new AdaptiveAvgPool2d(o), o);
