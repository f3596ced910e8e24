// Loss functions.
import { callOp, checkTensor, type Tensor } from '../../tensor/tensor.js';
import { Reduction, type ReductionName } from '../../tensor/dtype.js';

export interface CrossEntropyOptions {
  /** Per-class weights, shape [C]. */
  weight?: Tensor | null;
  reduction?: ReductionName;
  ignoreIndex?: number;
  labelSmoothing?: number;
}

function checkClassTarget(name: string, input: Tensor, target: Tensor): void {
  checkTensor(name, 'input', input);
  checkTensor(name, 'target', target);
  if (target.dtype !== 'int64' && !(target.dtype.startsWith('float') && target.shape.length === input.shape.length)) {
    throw new TypeError(`${name}: target must hold class indices as int64 (or class probabilities shaped like the input), got ${target.dtype} [${target.shape.join(', ')}]`);
  }
  if (target.dtype === 'int64') {
    const want = [input.shape[0], ...input.shape.slice(2)];
    if (input.ndim === 1 ? target.ndim !== 0 : target.shape.length !== want.length || target.shape.some((d, i) => d !== want[i])) {
      throw new RangeError(`${name}: input [${input.shape.join(', ')}] needs target shape [${want.join(', ')}], got [${target.shape.join(', ')}]`);
    }
  }
}

/** Cross-entropy from logits (N, C, …) and class indices (N, …). */
export function crossEntropy(input: Tensor, target: Tensor, o: CrossEntropyOptions = {}): Tensor {
  checkClassTarget('crossEntropy', input, target);
  const smoothing = o.labelSmoothing ?? 0;
  if (!(smoothing >= 0 && smoothing <= 1)) throw new RangeError(`crossEntropy: labelSmoothing must be in [0, 1], got ${smoothing}`);
  return callOp('cross_entropy_loss', '', input, target, o.weight ?? null, Reduction[o.reduction ?? 'mean'], o.ignoreIndex ?? -100, smoothing);
}

/** Negative log-likelihood from log-probabilities (N, C, …) and class indices. */
export function nllLoss(input: Tensor, target: Tensor, o: Omit<CrossEntropyOptions, 'labelSmoothing'> = {}): Tensor {
  checkClassTarget('nllLoss', input, target);
  return callOp('nll_loss_nd', '', input, target, o.weight ?? null, Reduction[o.reduction ?? 'mean'], o.ignoreIndex ?? -100);
}

function checkSameShape(name: string, input: Tensor, target: Tensor): void {
  checkTensor(name, 'input', input);
  checkTensor(name, 'target', target);
  if (input.shape.length !== target.shape.length || input.shape.some((d, i) => d !== target.shape[i])) {
    throw new RangeError(`${name}: input [${input.shape.join(', ')}] and target [${target.shape.join(', ')}] must have the same shape`);
  }
}

export function mseLoss(input: Tensor, target: Tensor, reduction: ReductionName = 'mean'): Tensor {
  checkSameShape('mseLoss', input, target);
  return callOp('mse_loss', '', input, target, Reduction[reduction]);
}

export interface BceOptions {
  weight?: Tensor | null;
  posWeight?: Tensor | null;
  reduction?: ReductionName;
}

/** Binary cross-entropy on logits (numerically stable sigmoid + BCE). */
export function binaryCrossEntropyWithLogits(input: Tensor, target: Tensor, o: BceOptions = {}): Tensor {
  checkSameShape('binaryCrossEntropyWithLogits', input, target);
  return callOp('binary_cross_entropy_with_logits', '', input, target, o.weight ?? null, o.posWeight ?? null, Reduction[o.reduction ?? 'mean']);
}
