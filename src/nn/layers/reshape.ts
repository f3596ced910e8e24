// Flatten: (C, H, W) -> (C*H*W), in PyTorch's (logical NCHW) order whatever the memory layout.
import type { Tensor } from '../../tensor/tensor.js';
import { Layer, type Shape } from '../layer.js';
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
