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
  /** Learned per-channel weight and bias (default true); Caffe's BatchNorm has none (a Scale layer follows). */
  affine?: boolean;
}

export class BatchNorm extends Layer {
  readonly type = 'batchNorm';
  readonly epsilon: number;
  readonly momentum: number;
  readonly affine: boolean;

  constructor(o: BatchNormOptions = {}) {
    super(o);
    this.epsilon = o.epsilon ?? 1e-5;
    this.momentum = o.momentum ?? 0.1;
    this.affine = o.affine ?? true;
    if (typeof this.affine !== 'boolean') throw new RangeError(`batchNorm: option 'affine' must be true or false, got ${JSON.stringify(o.affine)}`);
    checkOption('batchNorm', 'epsilon', this.epsilon, (v) => v > 0, '> 0');
    checkOption('batchNorm', 'momentum', this.momentum, (v) => v >= 0 && v <= 1, 'in [0, 1]');
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
    return {
      params: (this.affine ? { weight: ones([c]), bias: zeros([c]) } : {}) as Record<string, Tensor>,
      buffers: { running_mean: zeros([c]), running_var: ones([c]), num_batches_tracked: tensor(0, { dtype: 'int64' }) },
    };
  }

  forward([x]: Tensor[], ctx: ForwardContext): Tensor {
    // A frozen batch norm (learn-rate factor 0) normalizes with its running statistics and
    // leaves them alone, as Keras does: fine-tuning on a small data set would otherwise replace a
    // pretrained backbone's statistics with those of a few small batches.
    const training = ctx.training && this.learnRateFactor > 0;
    if (training) this.buffers.get('num_batches_tracked')!.add_(1);
    return F.batchNorm(x!, {
      weight: this.params.get('weight'), bias: this.params.get('bias'),
      runningMean: this.buffers.get('running_mean'), runningVar: this.buffers.get('running_var'),
      training, momentum: this.momentum, eps: this.epsilon,
    });
  }

  protected options(): Record<string, unknown> {
    return { epsilon: this.epsilon, momentum: this.momentum, affine: this.affine ? undefined : false };
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
  /**
   * 'across' (default): the window runs over `size` neighbouring channels. 'within': over a
   * size x size spatial window in each channel (Caffe's WITHIN_CHANNEL), zero padded, so that
   * b = a / (k + alpha/size^2 * sum a^2)^beta.
   */
  region?: 'across' | 'within';
}

/** Local response normalization, across channels as AlexNet and GoogLeNet use it, or within each channel. */
export class LocalResponseNorm extends Layer {
  readonly type = 'localResponseNorm';
  readonly size: number;
  readonly alpha: number;
  readonly beta: number;
  readonly k: number;
  readonly region: 'across' | 'within';

  constructor(o: LocalResponseNormOptions = {}) {
    super(o);
    this.region = o.region ?? 'across';
    if (this.region !== 'across' && this.region !== 'within') throw new RangeError(`localResponseNorm: option 'region' must be 'across' or 'within', got ${JSON.stringify(o.region)}`);
    this.size = o.size ?? 5;
    this.alpha = o.alpha ?? 1e-4;
    this.beta = o.beta ?? 0.75;
    this.k = o.k ?? 1;
    checkOption('localResponseNorm', 'size', this.size, (v) => Number.isInteger(v) && v >= 1, 'a positive integer');
    for (const [k, v] of [['alpha', this.alpha], ['beta', this.beta], ['k', this.k]] as const) checkOption('localResponseNorm', k, v, Number.isFinite, 'a finite number');
  }

  outputShape([input]: Shape[]): Shape {
    if (this.region === 'within') {
      this.expectRank(input!, 3, '(C, H, W)');
      if (this.size % 2 !== 1) this.error(`region 'within' needs an odd size (the window is centred), got ${this.size}`);
    } else {
      this.expectRank(input!, [2, 3], '(C, L) or (C, H, W)');
    }
    return input!;
  }

  forward([x]: Tensor[]): Tensor {
    if (this.region === 'within') {
      // Mean of squares over the size x size window, the zero padding counted (Caffe's AVE pooling).
      const avg = F.avgPool2d(x!.mul(x!), this.size, { stride: 1, padding: (this.size - 1) / 2, countIncludePad: true });
      return x!.div(avg.mul(this.alpha).add(this.k).pow(this.beta));
    }
    return F.localResponseNorm(x!, this.size, { alpha: this.alpha, beta: this.beta, k: this.k });
  }

  protected options(): Record<string, unknown> {
    return { size: this.size, alpha: this.alpha, beta: this.beta, k: this.k, region: this.region === 'across' ? undefined : this.region };
  }
}

export const batchNorm = (o: BatchNormOptions = {}): BatchNorm => checked(new BatchNorm(o), o);
export const layerNorm = (o: LayerNormOptions = {}): LayerNorm => checked(new LayerNorm(o), o);
export const localResponseNorm = (o: LocalResponseNormOptions = {}): LocalResponseNorm => checked(new LocalResponseNorm(o), o);
