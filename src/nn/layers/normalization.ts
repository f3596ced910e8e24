// Normalization layers: batch norm, layer norm, local response (cross-channel) norm.
import type { Tensor } from '../../tensor/tensor.js';
import { ones, zeros, tensor } from '../../tensor/create.js';
import * as F from '../functional/index.js';
import { Layer, checkOption, shapeStr, type ForwardContext, type LayerOptions, type Shape } from '../layer.js';
import { checked } from '../layer.js';

export interface BatchNormOptions extends LayerOptions {
  epsilon?: number;
  /** Weight of the current batch in the running statistics (PyTorch's momentum). */
  momentum?: number;
}

export class BatchNorm extends Layer {
  readonly type = 'batchNorm';
  readonly epsilon: number;
  readonly momentum: number;

  constructor(o: BatchNormOptions = {}) {
    super(o);
    this.epsilon = o.epsilon ?? 1e-5;
    this.momentum = o.momentum ?? 0.1;
    checkOption('batchNorm', 'epsilon', this.epsilon, (v) => v > 0, '> 0');
    checkOption('batchNorm', 'momentum', this.momentum, (v) => v >= 0 && v <= 1, 'in [0, 1]');
  }

  outputShape([input]: Shape[]): Shape {
    if (input!.length < 1) this.error('expected (C) or (C, ...) per observation, got a scalar');
    return input!;
  }

  protected override createParams([input]: Shape[]) {
    const c = input![0]!;
    return {
      params: { weight: ones([c]), bias: zeros([c]) },
      buffers: { running_mean: zeros([c]), running_var: ones([c]), num_batches_tracked: tensor(0, { dtype: 'int64' }) },
    };
  }

  forward([x]: Tensor[], ctx: ForwardContext): Tensor {
    if (ctx.training) this.buffers.get('num_batches_tracked')!.add_(1);
    return F.batchNorm(x!, {
      weight: this.params.get('weight'), bias: this.params.get('bias'),
      runningMean: this.buffers.get('running_mean'), runningVar: this.buffers.get('running_var'),
      training: ctx.training, momentum: this.momentum, eps: this.epsilon,
    });
  }

  protected options(): Record<string, unknown> {
    return { epsilon: this.epsilon, momentum: this.momentum };
  }
}

export interface LayerNormOptions extends LayerOptions {
  epsilon?: number;
  /** Trailing dimensions to normalize over; defaults to the whole observation. */
  normalizedShape?: readonly number[];
}

export class LayerNorm extends Layer {
  readonly type = 'layerNorm';
  readonly epsilon: number;
  normalizedShape: number[] | null;

  constructor(o: LayerNormOptions = {}) {
    super(o);
    this.epsilon = o.epsilon ?? 1e-5;
    checkOption('layerNorm', 'epsilon', this.epsilon, (v) => v > 0, '> 0');
    this.normalizedShape = o.normalizedShape ? [...o.normalizedShape] : null;
  }

  outputShape([input]: Shape[]): Shape {
    const ns = this.normalizedShape ?? input!;
    const tail = input!.slice(input!.length - ns.length);
    if (ns.length > input!.length || tail.some((d, i) => d !== ns[i])) {
      this.error(`input ${shapeStr(input!)} does not end with normalizedShape ${shapeStr(ns)}`);
    }
    return input!;
  }

  protected override createParams([input]: Shape[]) {
    const ns = this.normalizedShape ?? [...input!];
    this.normalizedShape = ns;
    return { params: { weight: ones(ns), bias: zeros(ns) } };
  }

  forward([x]: Tensor[]): Tensor {
    return F.layerNorm(x!, this.normalizedShape!, this.params.get('weight'), this.params.get('bias'), this.epsilon);
  }

  protected options(): Record<string, unknown> {
    return { epsilon: this.epsilon, normalizedShape: this.normalizedShape ?? undefined };
  }
}

export interface LocalResponseNormOptions extends LayerOptions {
  /** Channels in the window (MATLAB's windowChannelSize). */
  size?: number;
  alpha?: number;
  beta?: number;
  k?: number;
}

/** Cross-channel (local response) normalization, as AlexNet and GoogLeNet use it. */
export class LocalResponseNorm extends Layer {
  readonly type = 'localResponseNorm';
  readonly size: number;
  readonly alpha: number;
  readonly beta: number;
  readonly k: number;

  constructor(o: LocalResponseNormOptions = {}) {
    super(o);
    this.size = o.size ?? 5;
    this.alpha = o.alpha ?? 1e-4;
    this.beta = o.beta ?? 0.75;
    this.k = o.k ?? 1;
    checkOption('localResponseNorm', 'size', this.size, (v) => Number.isInteger(v) && v >= 1, 'a positive integer');
    for (const [k, v] of [['alpha', this.alpha], ['beta', this.beta], ['k', this.k]] as const) checkOption('localResponseNorm', k, v, Number.isFinite, 'a finite number');
  }

  outputShape([input]: Shape[]): Shape {
    this.expectRank(input!, [2, 3], '(C, L) or (C, H, W)');
    return input!;
  }

  forward([x]: Tensor[]): Tensor {
    return F.localResponseNorm(x!, this.size, { alpha: this.alpha, beta: this.beta, k: this.k });
  }

  protected options(): Record<string, unknown> {
    return { size: this.size, alpha: this.alpha, beta: this.beta, k: this.k };
  }
}

export const batchNorm = (o: BatchNormOptions = {}): BatchNorm => checked(new BatchNorm(o), o);
export const layerNorm = (o: LayerNormOptions = {}): LayerNorm => checked(new LayerNorm(o), o);
export const localResponseNorm = (o: LocalResponseNormOptions = {}): LocalResponseNorm => checked(new LocalResponseNorm(o), o);
