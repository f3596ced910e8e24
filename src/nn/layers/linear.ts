// Fully connected layer. Inputs with several dimensions per observation are flattened first
// (MATLAB's fullyConnectedLayer), so a conv stack can feed it directly.
import type { Tensor } from '../../tensor/tensor.js';
import * as F from '../functional/index.js';
import { initBias, initWeight, INITIALIZERS, type Initializer } from '../init.js';
import { Layer, checkOption, type LayerOptions, type Shape } from '../layer.js';
import { checked } from '../layer.js';

export interface FullyConnectedOptions extends LayerOptions {
  outputSize: number;
  bias?: boolean;
  weightsInitializer?: Initializer;
}

export class FullyConnected extends Layer {
  readonly type = 'fullyConnected';
  readonly outputSize: number;
  readonly bias: boolean;
  readonly weightsInitializer: Initializer;

  constructor(o: FullyConnectedOptions) {
    super(o);
    const what = `fullyConnected${o.name ? ` '${o.name}'` : ''}`;
    checkOption(what, 'outputSize', o.outputSize, (v) => Number.isInteger(v) && v >= 1, 'a positive integer');
    this.outputSize = o.outputSize;
    this.bias = o.bias ?? true;
    this.weightsInitializer = o.weightsInitializer ?? 'he';
    if (!INITIALIZERS.includes(this.weightsInitializer)) throw new RangeError(`${what}: option 'weightsInitializer' must be one of ${INITIALIZERS.join(', ')}, got ${JSON.stringify(o.weightsInitializer)}`);
  }

  outputShape([input]: Shape[]): Shape {
    if (input!.length === 0) this.error('expected at least one feature per observation, got a scalar');
    return [this.outputSize];
  }

  protected override weightShapeKey([input]: Shape[]): string {
    return String(input!.reduce((a, b) => a * b, 1));
  }

  protected override createParams([input]: Shape[]): { params: Record<string, Tensor> } {
    const inFeatures = input!.reduce((a, b) => a * b, 1);
    const params: Record<string, Tensor> = { weight: initWeight([this.outputSize, inFeatures], inFeatures, this.outputSize, this.weightsInitializer) };
    if (this.bias) params.bias = initBias(this.outputSize, inFeatures, this.weightsInitializer);
    return { params };
  }

  forward([x]: Tensor[]): Tensor {
    const weight = this.params.get('weight')!, bias = this.params.get('bias') ?? null;
    if (x!.ndim === 4 && !x!.isContiguous() && x!.isContiguous('channelsLast')) {
      // A channels-last feature map (a conv stack's output) is read in its memory order (H, W, C)
      // and the weight's columns are permuted to match: the same product. Flattening in (C, H, W)
      // order would copy the activations, and its gradient would come back in the other layout,
      // which made the ReLU before this layer 10x slower backward (7.7 of ~110 ms a step).
      const [n, c, h, w] = x!.shape as [number, number, number, number];
      const wHWC = weight.view(this.outputSize, c, h, w).permute(0, 2, 3, 1).reshape(this.outputSize, h * w * c);
      return F.linear(x!.permute(0, 2, 3, 1).reshape(n, h * w * c), wHWC, bias);
    }
    const flat = x!.ndim > 2 ? x!.flatten(1) : x!; // (N, features)
    return F.linear(flat, weight, bias);
  }

  protected options(): Record<string, unknown> {
    return { outputSize: this.outputSize, bias: this.bias, weightsInitializer: this.weightsInitializer };
  }
}

export const fullyConnected = (o: FullyConnectedOptions): FullyConnected => checked(new FullyConnected(o), o);
