// Pooling (aten::max_pool1d/2d, avg_pool2d, adaptive pools).
import { callOp, checkTensor, type Tensor } from '../../tensor/tensor.js';

export interface PoolOptions {
  /** Defaults to the kernel size, as PyTorch. */
  stride?: number | number[];
  padding?: number | number[];
  dilation?: number | number[];
  ceilMode?: boolean;
}

function check(name: string, input: Tensor, dims: number[]): void {
  checkTensor(name, 'input', input);
  if (!dims.includes(input.ndim)) {
    throw new RangeError(`${name}: input must be ${dims.join('-D or ')}-D, got shape [${input.shape.join(', ')}]`);
  }
}

export function maxPool1d(input: Tensor, kernelSize: number, o: PoolOptions = {}): Tensor {
  check('maxPool1d', input, [2, 3]);
  return callOp('max_pool1d', '', input, kernelSize, o.stride ?? [], o.padding ?? 0, o.dilation ?? 1, o.ceilMode ?? false);
}

export function maxPool2d(input: Tensor, kernelSize: number | number[], o: PoolOptions = {}): Tensor {
  check('maxPool2d', input, [3, 4]);
  return callOp('max_pool2d', '', input, kernelSize, o.stride ?? [], o.padding ?? 0, o.dilation ?? 1, o.ceilMode ?? false);
}

export interface AvgPoolOptions {
  stride?: number | number[];
  padding?: number | number[];
  ceilMode?: boolean;
  countIncludePad?: boolean;
  divisorOverride?: number;
}

export function avgPool1d(input: Tensor, kernelSize: number, o: AvgPoolOptions = {}): Tensor {
  check('avgPool1d', input, [2, 3]);
  return callOp('avg_pool1d', '', input, kernelSize, o.stride ?? [], o.padding ?? 0, o.ceilMode ?? false, o.countIncludePad ?? true);
}

export function avgPool2d(input: Tensor, kernelSize: number | number[], o: AvgPoolOptions = {}): Tensor {
  check('avgPool2d', input, [3, 4]);
  return callOp('avg_pool2d', '', input, kernelSize, o.stride ?? [], o.padding ?? 0, o.ceilMode ?? false, o.countIncludePad ?? true, o.divisorOverride ?? null);
}

export function adaptiveAvgPool2d(input: Tensor, outputSize: number | [number, number]): Tensor {
  check('adaptiveAvgPool2d', input, [3, 4]);
  return callOp('adaptive_avg_pool2d', '', input, outputSize);
}

export function adaptiveMaxPool2d(input: Tensor, outputSize: number | [number, number]): Tensor {
  check('adaptiveMaxPool2d', input, [3, 4]);
  const [out, indices] = callOp<[Tensor, Tensor]>('adaptive_max_pool2d', '', input, outputSize);
  indices.dispose();
  return out;
}

/** Mean over all spatial positions: (N, C, H, W) -> (N, C, 1, 1). */
export function globalAvgPool2d(input: Tensor): Tensor {
  return adaptiveAvgPool2d(input, 1);
}
