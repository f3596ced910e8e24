// Gradient clipping, as torch.nn.utils.clip_grad_norm_ / clip_grad_value_.
import { Tensor, callOp } from '../tensor/tensor.js';
import { tidy } from '../tensor/memory.js';
import { noGrad } from '../tensor/autograd.js';
import { stack } from '../tensor/create.js';
import { checkBoolean, checkNumber, show } from './validate.js';

function gradsOf(where: string, params: Iterable<Tensor>): Tensor[] {
  if (params === null || typeof params !== 'object' || typeof (params as Iterable<Tensor>)[Symbol.iterator] !== 'function') {
    throw new TypeError(`${where}: params must be an array of tensors, got ${show(params)}`);
  }
  const grads: Tensor[] = [];
  let i = 0;
  for (const p of params) {
    if (!(p instanceof Tensor)) throw new TypeError(`${where}: params[${i}] must be a Tensor, got ${show(p)}`);
    const g = p.grad;
    if (g !== null) grads.push(g);
    i++;
  }
  return grads;
}

export interface ClipGradNormOptions {
  /** Order of the norm: 2 (default), any p > 0, or Infinity (largest absolute value). */
  normType?: number;
  /** Throw when the total norm is NaN or infinite instead of scaling by it. Default false. */
  errorIfNonfinite?: boolean;
}

/**
 * Scales the gradients of `params` in place so that their global norm (the norm of all
 * gradients together, as if concatenated) is at most `maxNorm`. Parameters without a gradient
 * are ignored. Returns the total norm before clipping (maxNorm Infinity only measures it). As
 * torch.nn.utils.clip_grad_norm_: the scale is maxNorm / (norm + 1e-6), applied when below 1;
 * a NaN norm makes every gradient NaN, unless errorIfNonfinite.
 */
export function clipGradNorm(params: Iterable<Tensor>, maxNorm: number, options: ClipGradNormOptions = {}): number {
  const where = 'clipGradNorm';
  if (maxNorm !== Infinity) checkNumber(where, 'maxNorm', maxNorm, { min: 0 }); // Infinity: only measure
  const normType = options.normType ?? 2;
  if (normType !== Infinity) checkNumber(where, 'normType', normType, { min: 0, minOpen: true });
  const errorIfNonfinite = checkBoolean(where, 'errorIfNonfinite', options.errorIfNonfinite ?? false);
  const grads = gradsOf(where, params);
  if (grads.length === 0) return 0;
  return noGrad(() => tidy(() => {
    // One norm per gradient, then the norm of those norms: the norm of everything together.
    const norms = grads.map((g) => callOp<Tensor>('linalg_vector_norm', '', g, normType, null, false, null));
    const total = norms.length === 1 ? norms[0]!.item() : callOp<Tensor>('linalg_vector_norm', '', stack(norms), normType, null, false, null).item();
    if (!Number.isFinite(total) && errorIfNonfinite) {
      throw new RangeError(`${where}: the total norm of order ${normType} of the gradients is ${total}; set errorIfNonfinite: false to scale by it anyway`);
    }
    const coef = maxNorm / (total + 1e-6);
    if (coef < 1 || Number.isNaN(coef)) for (const g of grads) g.mul_(coef);
    return total;
  }));
}

/** Clamps every gradient of `params` in place to [-clipValue, clipValue] (torch.nn.utils.clip_grad_value_). */
export function clipGradValue(params: Iterable<Tensor>, clipValue: number): void {
  const where = 'clipGradValue';
  if (clipValue !== Infinity) checkNumber(where, 'clipValue', clipValue, { min: 0 });
  const grads = gradsOf(where, params);
  noGrad(() => { for (const g of grads) g.clamp_(-clipValue, clipValue); });
}
