// Normalization: batch norm, layer norm, local response (cross-channel) norm.
import { callOp, checkTensor, type Tensor } from '../../tensor/tensor.js';
import { tidy } from '../../tensor/memory.js';
import { avgPool2d } from './pooling.js';

export interface BatchNormOptions {
  runningMean?: Tensor | null;
  runningVar?: Tensor | null;
  weight?: Tensor | null;
  bias?: Tensor | null;
  /** Use batch statistics and update the running ones (training), or use the running ones. */
  training?: boolean;
  momentum?: number;
  eps?: number;
}

/** Batch normalization over the channel dimension (dim 1). Running statistics are updated in place. */
export function batchNorm(input: Tensor, o: BatchNormOptions = {}): Tensor {
  const training = o.training ?? false;
  checkTensor('batchNorm', 'input', input);
  if (!training && (!o.runningMean || !o.runningVar)) {
    throw new TypeError('batchNorm: runningMean and runningVar are required when training is false');
  }
  if (input.ndim < 2) throw new RangeError(`batchNorm: input must be at least 2-D (N, C, ...), got shape [${input.shape.join(', ')}]`);
  const c = input.shape[1]!;
  for (const [name, t] of [['weight', o.weight], ['bias', o.bias], ['runningMean', o.runningMean], ['runningVar', o.runningVar]] as const) {
    if (t) checkTensor('batchNorm', name, t);
    if (t && (t.ndim !== 1 || t.shape[0] !== c)) {
      throw new RangeError(`batchNorm: ${name} must have shape [${c}] for input [${input.shape.join(', ')}], got [${t.shape.join(', ')}]`);
    }
  }
  return callOp('batch_norm', '', input, o.weight ?? null, o.bias ?? null, o.runningMean ?? null, o.runningVar ?? null,
    training, o.momentum ?? 0.1, o.eps ?? 1e-5, true);
}

/** Layer normalization over the trailing `normalizedShape` dimensions. */
export function layerNorm(input: Tensor, normalizedShape: readonly number[], weight?: Tensor | null, bias?: Tensor | null, eps = 1e-5): Tensor {
  checkTensor('layerNorm', 'input', input);
  const tail = input.shape.slice(input.ndim - normalizedShape.length);
  if (tail.length !== normalizedShape.length || tail.some((d, i) => d !== normalizedShape[i])) {
    throw new RangeError(`layerNorm: input shape [${input.shape.join(', ')}] does not end with normalizedShape [${normalizedShape.join(', ')}]`);
  }
  return callOp('layer_norm', '', input, [...normalizedShape], weight ?? null, bias ?? null, eps, true);
}

export interface LocalResponseNormOptions {
  alpha?: number;
  beta?: number;
  k?: number;
}

/**
 * Local response normalization across channels (AlexNet/GoogLeNet):
 * b_c = a_c / (k + alpha/n * sum_{c' in window} a_c'^2)^beta. Same composition as PyTorch's
 * F.local_response_norm, which has no single ATen op.
 */
export function localResponseNorm(input: Tensor, size: number, o: LocalResponseNormOptions = {}): Tensor {
  const { alpha = 1e-4, beta = 0.75, k = 1 } = o;
  checkTensor('localResponseNorm', 'input', input);
  if (input.ndim < 3) throw new RangeError(`localResponseNorm: input must be at least 3-D (N, C, ...), got shape [${input.shape.join(', ')}]`);
  return tidy(() => {
    const [n, c] = input.shape as [number, number];
    const rest = input.shape.slice(2);
    const spatial = rest.reduce((a, b) => a * b, 1);
    // (N, 1, C, S): average the squares over a window of `size` channels, zero padded.
    const sq = input.mul(input).reshape([n, 1, c, spatial]);
    const padded = callOp<Tensor>('constant_pad_nd', '', sq, [0, 0, Math.floor(size / 2), Math.floor((size - 1) / 2)], 0);
    const avg = avgPool2d(padded, [size, 1], { stride: 1 }).reshape([n, c, ...rest]);
    const div = avg.mul(alpha).add(k).pow(beta);
    return input.div(div);
  });
}
