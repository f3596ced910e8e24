// Dropout: active only while training.
import type { Tensor } from '../../tensor/tensor.js';
import * as F from '../functional/index.js';
import { Layer, checkOption, type ForwardContext, type LayerOptions, type Shape } from '../layer.js';
import { checked } from '../layer.js';

export interface DropoutOptions extends LayerOptions {
  /** Probability of zeroing each element. */
  probability?: number;
}

export class Dropout extends Layer {
  readonly type = 'dropout';
  readonly probability: number;
  constructor(o: DropoutOptions = {}) {
    super(o);
    this.probability = o.probability ?? 0.5;
    checkOption('dropout', 'probability', this.probability, (v) => v >= 0 && v < 1, 'in [0, 1)');
  }
  outputShape([input]: Shape[]): Shape { return input!; }
  forward([x]: Tensor[], ctx: ForwardContext): Tensor {
    return ctx.training && this.probability > 0 ? F.dropout(x!, this.probability, true) : x!.clone();
  }
  protected options(): Record<string, unknown> { return { probability: this.probability }; }
}

export const dropout = (o: DropoutOptions = {}): Dropout => checked(new Dropout(o), o);
