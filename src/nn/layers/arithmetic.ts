// Arithmetic layers: elementwise joins of several same-shaped inputs (weighted sum, product,
// maximum) and the power function (shift + scale * x)^power.
import type { Tensor } from '../../tensor/tensor.js';
import { Layer, checkOption, shapeStr, type LayerOptions, type Shape } from '../layer.js';
import { checked } from '../layer.js';

export const ELEMENTWISE_OPERATIONS = ['sum', 'prod', 'max'] as const;
export type ElementwiseOperation = (typeof ELEMENTWISE_OPERATIONS)[number];

export interface ElementwiseOptions extends LayerOptions {
  operation?: ElementwiseOperation;
  numInputs?: number;
  /** 'sum' only: one factor per input (y = sum of c_i * x_i); all 1 by default. */
  coefficients?: readonly number[];
}

/** Joins inputs of the same shape elementwise: weighted sum, product or maximum. */
export class Elementwise extends Layer {
  readonly type = 'elementwise';
  readonly operation: ElementwiseOperation;
  override readonly numInputs: number;
  readonly coefficients: number[] | null;
  constructor(o: ElementwiseOptions = {}) {
    super(o);
    this.operation = o.operation ?? 'sum';
    if (!ELEMENTWISE_OPERATIONS.includes(this.operation)) {
      throw new RangeError(`elementwise: option 'operation' must be one of ${ELEMENTWISE_OPERATIONS.join(', ')}, got ${JSON.stringify(o.operation)}`);
    }
    this.numInputs = o.numInputs ?? 2;
    checkOption('elementwise', 'numInputs', this.numInputs, (v) => Number.isInteger(v) && v >= 2, 'an integer >= 2');
    this.coefficients = o.coefficients ? [...o.coefficients] : null;
    if (this.coefficients) {
      if (this.operation !== 'sum') throw new RangeError(`elementwise: option 'coefficients' applies only to operation 'sum', got operation '${this.operation}'`);
      if (this.coefficients.length !== this.numInputs) throw new RangeError(`elementwise: option 'coefficients' must have one value per input (${this.numInputs}), got ${this.coefficients.length}`);
      this.coefficients.forEach((c) => checkOption('elementwise', 'coefficients', c, Number.isFinite, 'finite numbers'));
    }
  }
  outputShape(inputs: Shape[]): Shape {
    const first = inputs[0]!;
    inputs.forEach((s, i) => {
      if (shapeStr(s) !== shapeStr(first)) this.error(`inputs must have the same shape: input 1 is ${shapeStr(first)}, input ${i + 1} is ${shapeStr(s)}`);
    });
    return first;
  }
  forward(inputs: Tensor[]): Tensor {
    const c = this.coefficients;
    // The network's tidy scope frees the partial results.
    let acc = c && c[0] !== 1 ? inputs[0]!.mul(c[0]!) : inputs[0]!;
    for (let i = 1; i < inputs.length; i++) {
      const x = inputs[i]!;
      if (this.operation === 'sum') acc = acc.add(x, c ? c[i]! : 1);
      else if (this.operation === 'prod') acc = acc.mul(x);
      else acc = acc.maximum(x);
    }
    return acc;
  }
  protected options(): Record<string, unknown> {
    return { operation: this.operation, numInputs: this.numInputs, coefficients: this.coefficients ?? undefined };
  }
}

export interface PowerOptions extends LayerOptions {
  power?: number;
  scale?: number;
  shift?: number;
}

/** y = (shift + scale * x)^power, elementwise (Caffe's Power layer). */
export class Power extends Layer {
  readonly type = 'power';
  readonly power: number;
  readonly scale: number;
  readonly shift: number;
  constructor(o: PowerOptions = {}) {
    super(o);
    this.power = o.power ?? 1;
    this.scale = o.scale ?? 1;
    this.shift = o.shift ?? 0;
    for (const k of ['power', 'scale', 'shift'] as const) checkOption('power', k, this[k], Number.isFinite, 'a finite number');
  }
  outputShape([input]: Shape[]): Shape { return input!; }
  forward([x]: Tensor[]): Tensor {
    let y = this.scale === 1 ? x! : x!.mul(this.scale);
    if (this.shift !== 0) y = y.add(this.shift);
    if (this.power !== 1) y = y.pow(this.power);
    return y === x ? x!.clone() : y;
  }
  protected options(): Record<string, unknown> { return { power: this.power, scale: this.scale, shift: this.shift }; }
}

export const elementwise = (o: ElementwiseOptions = {}): Elementwise => checked(new Elementwise(o), o);
export const power = (o: PowerOptions = {}): Power => checked(new Power(o), o);
