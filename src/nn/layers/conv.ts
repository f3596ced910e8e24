// Convolution layers: conv1d, conv2d, convTranspose2d. In-channels are inferred from the input.
import type { Tensor } from '../../tensor/tensor.js';
import { callOp } from '../../tensor/tensor.js';
import * as F from '../functional/index.js';
import { initBias, initWeight, INITIALIZERS, type Initializer } from '../init.js';
import { Layer, checkOption, shapeStr, tuple, type LayerOptions, type Shape } from '../layer.js';
import { checked } from '../layer.js';

export interface ConvLayerOptions extends LayerOptions {
  /** Number of output channels. */
  filters: number;
  kernelSize: number | readonly number[];
  stride?: number | readonly number[];
  /** Zero padding per side, or 'same' (output size = ceil(input / stride)). */
  padding?: number | readonly number[] | 'same';
  dilation?: number | readonly number[];
  groups?: number;
  bias?: boolean;
  weightsInitializer?: Initializer;
}

const positive = (v: number) => Number.isInteger(v) && v >= 1;

abstract class ConvNd extends Layer {
  abstract readonly spatial: number;
  readonly filters: number;
  readonly kernelSize: number[];
  readonly stride: number[];
  readonly padding: number[] | 'same';
  readonly dilation: number[];
  readonly groups: number;
  readonly bias: boolean;
  readonly weightsInitializer: Initializer;
  /** Keep the weight channels-last (set by the network for 2-D convolutions on CPU). */
  channelsLast = false;

  constructor(readonly typeName: string, spatial: number, o: ConvLayerOptions) {
    super(o);
    const what = `${typeName}${o.name ? ` '${o.name}'` : ''}`;
    checkOption(what, 'filters', o.filters, positive, 'a positive integer');
    this.filters = o.filters;
    this.kernelSize = tuple(o.kernelSize, spatial, `${what}: option 'kernelSize'`);
    this.stride = tuple(o.stride ?? 1, spatial, `${what}: option 'stride'`);
    this.dilation = tuple(o.dilation ?? 1, spatial, `${what}: option 'dilation'`);
    this.padding = o.padding === 'same' ? 'same' : tuple(o.padding ?? 0, spatial, `${what}: option 'padding'`);
    for (const [k, v] of [['kernelSize', this.kernelSize], ['stride', this.stride], ['dilation', this.dilation]] as const) {
      v.forEach((x) => checkOption(what, k, x, positive, 'positive integers'));
    }
    if (this.padding !== 'same') this.padding.forEach((x) => checkOption(what, 'padding', x, (p) => Number.isInteger(p) && p >= 0, "integers >= 0 or 'same'"));
    this.groups = o.groups ?? 1;
    checkOption(what, 'groups', this.groups, positive, 'a positive integer');
    if (this.filters % this.groups !== 0) throw new RangeError(`${what}: filters (${this.filters}) must be divisible by groups (${this.groups})`);
    this.bias = o.bias ?? true;
    this.weightsInitializer = o.weightsInitializer ?? 'he';
    if (!INITIALIZERS.includes(this.weightsInitializer)) throw new RangeError(`${what}: option 'weightsInitializer' must be one of ${INITIALIZERS.join(', ')}, got ${JSON.stringify(o.weightsInitializer)}`);
  }

  /** Per spatial dim: [padBefore, padAfter]. */
  pads(sizes: readonly number[]): [number, number][] {
    return sizes.map((n, i) => {
      if (this.padding !== 'same') return [this.padding[i]!, this.padding[i]!];
      const s = this.stride[i]!;
      const k = (this.kernelSize[i]! - 1) * this.dilation[i]! + 1;
      const total = Math.max((Math.ceil(n / s) - 1) * s + k - n, 0);
      return [Math.floor(total / 2), total - Math.floor(total / 2)];
    });
  }

  outputShape([input]: Shape[]): Shape {
    this.expectRank(input!, this.spatial + 1, this.spatial === 1 ? '(C, L)' : '(C, H, W)');
    const [c, ...sizes] = input!;
    if (c! % this.groups !== 0) this.error(`input channels (${c}) must be divisible by groups (${this.groups}); input shape ${shapeStr(input!)}`);
    const pads = this.pads(sizes);
    const out = sizes.map((n, i) => {
      const k = (this.kernelSize[i]! - 1) * this.dilation[i]! + 1;
      return Math.floor((n + pads[i]![0] + pads[i]![1] - k) / this.stride[i]!) + 1;
    });
    if (out.some((d) => d < 1)) {
      this.error(`kernel ${shapeStr(this.kernelSize)} (dilation ${shapeStr(this.dilation)}) does not fit input ${shapeStr(input!)} with padding ${JSON.stringify(this.padding)}: output would be ${shapeStr(out)}`);
    }
    return [this.filters, ...out];
  }

  protected override weightShapeKey([input]: Shape[]): string {
    return String(input![0]);
  }

  protected override createParams([input]: Shape[]): { params: Record<string, Tensor> } {
    const inPerGroup = input![0]! / this.groups;
    const area = this.kernelSize.reduce((a, b) => a * b, 1);
    let weight = initWeight([this.filters, inPerGroup, ...this.kernelSize], inPerGroup * area, (this.filters / this.groups) * area, this.weightsInitializer);
    if (this.channelsLast && this.spatial === 2) weight = weight.toChannelsLast();
    const params: Record<string, Tensor> = { weight };
    if (this.bias) params.bias = initBias(this.filters, inPerGroup * area, this.weightsInitializer);
    return { params };
  }

  /** Explicit padding numbers for the functional call, padding the input first when 'same' is asymmetric. */
  protected padInput(x: Tensor): { x: Tensor; padding: number[] } {
    const pads = this.pads(x.shape.slice(2));
    if (pads.every(([a, b]) => a === b)) return { x, padding: pads.map(([a]) => a) };
    // F.pad order: last dim first, (before, after) pairs.
    const flat = [...pads].reverse().flatMap(([a, b]) => [a, b]);
    return { x: callOp('constant_pad_nd', '', x, flat, 0), padding: pads.map(() => 0) };
  }

  protected options(): Record<string, unknown> {
    return {
      filters: this.filters, kernelSize: this.kernelSize, stride: this.stride, padding: this.padding, dilation: this.dilation,
      groups: this.groups, bias: this.bias, weightsInitializer: this.weightsInitializer,
    };
  }
}

export class Conv2d extends ConvNd {
  readonly type = 'conv2d';
  readonly spatial = 2;
  constructor(o: ConvLayerOptions) { super('conv2d', 2, o); }
  forward([input]: Tensor[]): Tensor {
    const { x, padding } = this.padInput(input!);
    return F.conv2d(x, this.params.get('weight')!, this.params.get('bias') ?? null, { stride: this.stride, padding, dilation: this.dilation, groups: this.groups });
  }
}

export class Conv1d extends ConvNd {
  readonly type = 'conv1d';
  readonly spatial = 1;
  constructor(o: ConvLayerOptions) { super('conv1d', 1, o); }
  forward([input]: Tensor[]): Tensor {
    const { x, padding } = this.padInput(input!);
    return F.conv1d(x, this.params.get('weight')!, this.params.get('bias') ?? null, { stride: this.stride, padding, dilation: this.dilation, groups: this.groups });
  }
}

export interface ConvTransposeLayerOptions extends LayerOptions {
  filters: number;
  kernelSize: number | readonly number[];
  stride?: number | readonly number[];
  padding?: number | readonly number[];
  outputPadding?: number | readonly number[];
  dilation?: number | readonly number[];
  groups?: number;
  bias?: boolean;
  weightsInitializer?: Initializer;
}

export class ConvTranspose2d extends Layer {
  readonly type = 'convTranspose2d';
  readonly filters: number;
  readonly kernelSize: number[];
  readonly stride: number[];
  readonly padding: number[];
  readonly outputPadding: number[];
  readonly dilation: number[];
  readonly groups: number;
  readonly bias: boolean;
  readonly weightsInitializer: Initializer;

  constructor(o: ConvTransposeLayerOptions) {
    super(o);
    const what = `convTranspose2d${o.name ? ` '${o.name}'` : ''}`;
    checkOption(what, 'filters', o.filters, positive, 'a positive integer');
    this.filters = o.filters;
    this.kernelSize = tuple(o.kernelSize, 2, `${what}: option 'kernelSize'`);
    this.stride = tuple(o.stride ?? 1, 2, `${what}: option 'stride'`);
    this.padding = tuple(o.padding ?? 0, 2, `${what}: option 'padding'`);
    this.outputPadding = tuple(o.outputPadding ?? 0, 2, `${what}: option 'outputPadding'`);
    this.dilation = tuple(o.dilation ?? 1, 2, `${what}: option 'dilation'`);
    for (const [k, v] of [['kernelSize', this.kernelSize], ['stride', this.stride], ['dilation', this.dilation]] as const) {
      v.forEach((x) => checkOption(what, k, x, positive, 'positive integers'));
    }
    for (const [k, v] of [['padding', this.padding], ['outputPadding', this.outputPadding]] as const) {
      v.forEach((x) => checkOption(what, k, x, (p) => Number.isInteger(p) && p >= 0, 'integers >= 0'));
    }
    this.groups = o.groups ?? 1;
    checkOption(what, 'groups', this.groups, positive, 'a positive integer');
    if (this.filters % this.groups !== 0) throw new RangeError(`${what}: filters (${this.filters}) must be divisible by groups (${this.groups})`);
    this.outputPadding.forEach((p, i) => {
      if (p >= Math.max(this.stride[i]!, this.dilation[i]!)) throw new RangeError(`${what}: outputPadding (${p}) must be smaller than stride or dilation (${this.stride[i]}, ${this.dilation[i]})`);
    });
    this.bias = o.bias ?? true;
    this.weightsInitializer = o.weightsInitializer ?? 'he';
    if (!INITIALIZERS.includes(this.weightsInitializer)) throw new RangeError(`${what}: option 'weightsInitializer' must be one of ${INITIALIZERS.join(', ')}, got ${JSON.stringify(o.weightsInitializer)}`);
  }

  outputShape([input]: Shape[]): Shape {
    this.expectRank(input!, 3, '(C, H, W)');
    const [c, ...sizes] = input!;
    if (c! % this.groups !== 0) this.error(`input channels (${c}) must be divisible by groups (${this.groups})`);
    const out = sizes.map((n, i) => (n - 1) * this.stride[i]! - 2 * this.padding[i]! + this.dilation[i]! * (this.kernelSize[i]! - 1) + this.outputPadding[i]! + 1);
    if (out.some((d) => d < 1)) this.error(`output would be ${shapeStr(out)} for input ${shapeStr(input!)}`);
    return [this.filters, ...out];
  }

  protected override weightShapeKey([input]: Shape[]): string {
    return String(input![0]);
  }

  protected override createParams([input]: Shape[]): { params: Record<string, Tensor> } {
    const inC = input![0]!;
    const area = this.kernelSize[0]! * this.kernelSize[1]!;
    const outPerGroup = this.filters / this.groups;
    // PyTorch's fan_in for transposed weights [in, out/groups, kH, kW] is out/groups * area.
    const weight = initWeight([inC, outPerGroup, ...this.kernelSize], outPerGroup * area, (inC / this.groups) * area, this.weightsInitializer);
    const params: Record<string, Tensor> = { weight };
    if (this.bias) params.bias = initBias(this.filters, outPerGroup * area, this.weightsInitializer);
    return { params };
  }

  forward([x]: Tensor[]): Tensor {
    return F.convTranspose2d(x!, this.params.get('weight')!, this.params.get('bias') ?? null, {
      stride: this.stride, padding: this.padding, outputPadding: this.outputPadding, dilation: this.dilation, groups: this.groups,
    });
  }

  protected options(): Record<string, unknown> {
    return {
      filters: this.filters, kernelSize: this.kernelSize, stride: this.stride, padding: this.padding, outputPadding: this.outputPadding,
      dilation: this.dilation, groups: this.groups, bias: this.bias, weightsInitializer: this.weightsInitializer,
    };
  }
}

export const conv2d = (o: ConvLayerOptions): Conv2d => checked(new Conv2d(o), o);
export const conv1d = (o: ConvLayerOptions): Conv1d => checked(new Conv1d(o), o);
export const convTranspose2d = (o: ConvTransposeLayerOptions): ConvTranspose2d => checked(new ConvTranspose2d(o), o);
