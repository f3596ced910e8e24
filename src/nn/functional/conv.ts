// Convolutions (aten::conv1d / conv2d / conv_transpose2d).
import { callOp, checkTensor, type Tensor } from '../../tensor/tensor.js';

export interface ConvOptions {
  stride?: number | number[];
  /** Zero padding per side, or 'same' (output size = input size, stride 1) or 'valid' (none). */
  padding?: number | number[] | 'same' | 'valid';
  dilation?: number | number[];
  groups?: number;
}

function checkConv(name: string, input: Tensor, weight: Tensor, spatial: number, groups: number): void {
  checkTensor(name, 'input', input);
  checkTensor(name, 'weight', weight);
  const want = spatial + 2;
  if (input.ndim !== want) {
    throw new RangeError(`${name}: input must be ${want}-D (N, C, ${spatial === 1 ? 'L' : 'H, W'}), got shape [${input.shape.join(', ')}]`);
  }
  if (weight.ndim !== want) {
    throw new RangeError(`${name}: weight must be ${want}-D (out, in/groups, ${spatial === 1 ? 'k' : 'kH, kW'}), got shape [${weight.shape.join(', ')}]`);
  }
  const inChannels = input.shape[1]!;
  if (inChannels !== weight.shape[1]! * groups) {
    throw new RangeError(`${name}: input has ${inChannels} channels (shape [${input.shape.join(', ')}]) but weight [${weight.shape.join(', ')}] with groups=${groups} expects ${weight.shape[1]! * groups}`);
  }
}

function conv(name: 'conv1d' | 'conv2d', spatial: number, input: Tensor, weight: Tensor, bias: Tensor | null | undefined, o: ConvOptions): Tensor {
  const groups = o.groups ?? 1;
  checkConv(name, input, weight, spatial, groups);
  const { stride = 1, padding = 0, dilation = 1 } = o;
  if (typeof padding === 'string') {
    return callOp(name, 'padding', input, weight, bias ?? null, stride, padding, dilation, groups);
  }
  return callOp(name, '', input, weight, bias ?? null, stride, padding, dilation, groups);
}

/** 1-D convolution: input (N, C, L), weight (out, C/groups, k). */
export function conv1d(input: Tensor, weight: Tensor, bias?: Tensor | null, options: ConvOptions = {}): Tensor {
  return conv('conv1d', 1, input, weight, bias, options);
}

/** 2-D convolution: input (N, C, H, W), weight (out, C/groups, kH, kW). */
export function conv2d(input: Tensor, weight: Tensor, bias?: Tensor | null, options: ConvOptions = {}): Tensor {
  return conv('conv2d', 2, input, weight, bias, options);
}

export interface ConvTransposeOptions {
  stride?: number | number[];
  padding?: number | number[];
  outputPadding?: number | number[];
  dilation?: number | number[];
  groups?: number;
}

/** Transposed 2-D convolution: input (N, C, H, W), weight (C, out/groups, kH, kW). */
export function convTranspose2d(input: Tensor, weight: Tensor, bias?: Tensor | null, o: ConvTransposeOptions = {}): Tensor {
  const groups = o.groups ?? 1;
  checkTensor('convTranspose2d', 'input', input);
  checkTensor('convTranspose2d', 'weight', weight);
  if (input.ndim !== 4 || weight.ndim !== 4) {
    throw new RangeError(`convTranspose2d: input and weight must be 4-D, got input [${input.shape.join(', ')}] and weight [${weight.shape.join(', ')}]`);
  }
  if (input.shape[1] !== weight.shape[0]) {
    throw new RangeError(`convTranspose2d: input has ${input.shape[1]} channels (shape [${input.shape.join(', ')}]) but weight [${weight.shape.join(', ')}] expects ${weight.shape[0]}`);
  }
  return callOp('conv_transpose2d', 'input', input, weight, bias ?? null, o.stride ?? 1, o.padding ?? 0, o.outputPadding ?? 0, groups, o.dilation ?? 1);
}
