// Stochastic gradient descent with momentum, as torch.optim.SGD.
import type { Tensor } from '../tensor/tensor.js';
import { Optimizer, type ParamsSpec, type UpdateContext } from './optimizer.js';
import { checkBoolean, checkNumber, checkOptionNames } from './validate.js';

export interface SGDMHyper {
  lr: number;
  momentum: number;
  dampening: number;
  nesterov: boolean;
  /** L2 penalty coupled into the gradient (PyTorch's weight_decay). */
  weightDecay: number;
}

/**
 * One SGD update of one parameter, in place (torch.optim.sgd's `_single_tensor_sgd`):
 *
 *     d   = grad + weightDecay * param
 *     buf = d on the first step, else momentum * buf + (1 - dampening) * d
 *     d   = nesterov ? d + momentum * buf : buf        (when momentum > 0)
 *     param -= lr * d
 *
 * `buf` is the momentum buffer, null before the first step. Returns the buffer to keep (a new
 * tensor on the first step; null when momentum is 0). Makes temporaries: call inside tidy and noGrad.
 */
export function sgdmUpdate(param: Tensor, grad: Tensor, buf: Tensor | null, h: SGDMHyper): Tensor | null {
  let d = h.weightDecay !== 0 ? grad.add(param, h.weightDecay) : grad;
  if (h.momentum !== 0) {
    if (buf === null) buf = d.clone();
    else buf.mul_(h.momentum).add_(d, 1 - h.dampening);
    d = h.nesterov ? d.add(buf, h.momentum) : buf;
  }
  param.add_(d, -h.lr);
  return h.momentum !== 0 ? buf : null;
}

export interface SGDMOptions {
  /** Base learn rate. Default 0.01 (MATLAB's sgdm default; PyTorch has none). */
  learnRate?: number;
  /** Momentum in [0, 1]. Default 0.9. */
  momentum?: number;
  /** Dampening of the gradient added to the momentum buffer, in [0, 1]. Default 0. */
  dampening?: number;
  /** Nesterov momentum (needs momentum > 0 and dampening 0). Default false. */
  nesterov?: boolean;
  /**
   * L2 regularization added to the gradient (PyTorch's weight_decay), scaled by each group's
   * l2Factor. Default 0 (PyTorch's default; MATLAB's trainingOptions uses 1e-4).
   */
  l2Regularization?: number;
}

export type SGDMSettings = Required<Omit<SGDMOptions, 'learnRate'>>;

const SGDM_OPTIONS = ['learnRate', 'momentum', 'dampening', 'nesterov', 'l2Regularization'] as const;

function settings(options: SGDMOptions | undefined): [number, SGDMSettings] {
  const o = checkOptionNames('SGDM', options, SGDM_OPTIONS);
  const s: SGDMSettings = {
    momentum: checkNumber('SGDM', 'momentum', o.momentum ?? 0.9, { min: 0, max: 1 }),
    dampening: checkNumber('SGDM', 'dampening', o.dampening ?? 0, { min: 0, max: 1 }),
    nesterov: checkBoolean('SGDM', 'nesterov', o.nesterov ?? false),
    l2Regularization: checkNumber('SGDM', 'l2Regularization', o.l2Regularization ?? 0, { min: 0 }),
  };
  if (s.nesterov && (s.momentum === 0 || s.dampening !== 0)) {
    throw new RangeError(`SGDM: nesterov needs momentum > 0 and dampening 0, got momentum ${s.momentum} and dampening ${s.dampening}`);
  }
  return [(o.learnRate ?? 0.01) as number, s];
}

/** SGD with momentum: `new SGDM(params | groups, { learnRate, momentum, l2Regularization, nesterov })`. */
export class SGDM extends Optimizer<SGDMSettings> {
  constructor(params: ParamsSpec, options?: SGDMOptions) {
    const [lr, s] = settings(options);
    super('SGDM', params, lr, s);
  }

  protected stateNames(): readonly string[] {
    return this.options.momentum !== 0 ? ['momentum_buffer'] : [];
  }

  protected update(param: Tensor, grad: Tensor, state: Map<string, Tensor>, ctx: UpdateContext): void {
    const o = this.options;
    const buf = sgdmUpdate(param, grad, state.get('momentum_buffer') ?? null, {
      lr: ctx.lr, momentum: o.momentum, dampening: o.dampening, nesterov: o.nesterov, weightDecay: o.l2Regularization * ctx.l2Factor,
    });
    if (buf !== null) state.set('momentum_buffer', buf);
  }
}
