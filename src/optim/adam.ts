// Adam (L2 regularization coupled into the gradient) and AdamW (decoupled weight decay), as
// torch.optim.Adam and torch.optim.AdamW.
import { callOp, type Tensor } from '../tensor/tensor.js';
import { Optimizer, stateSlot, type ParamsSpec, type UpdateContext } from './optimizer.js';
import { checkBoolean, checkNumber, checkOptionNames } from './validate.js';

export interface AdamHyper {
  lr: number;
  beta1: number;
  beta2: number;
  epsilon: number;
  /** Weight decay: added to the gradient (Adam), or applied to the parameter directly (AdamW). */
  weightDecay: number;
  decoupledWeightDecay: boolean;
  amsgrad: boolean;
}

export interface AdamState {
  expAvg: Tensor;
  expAvgSq: Tensor;
  /** Only with amsgrad. */
  maxExpAvgSq: Tensor | null;
}

/**
 * One Adam/AdamW update of one parameter, in place on `param` and `state` (torch.optim's
 * `_single_tensor_adam` / `_single_tensor_adamw`, same operation order). `step` counts updates
 * of this parameter, 1 on the first.
 *
 *     AdamW: param *= 1 - lr * weightDecay          Adam: g = grad + weightDecay * param
 *     m = beta1 * m + (1 - beta1) * g
 *     v = beta2 * v + (1 - beta2) * g²               (amsgrad: vmax = max(vmax, v), used for v)
 *     param -= lr / (1 - beta1^step) * m / (sqrt(v) / sqrt(1 - beta2^step) + epsilon)
 *
 * Makes temporaries: call inside tidy and noGrad.
 */
export function adamUpdate(param: Tensor, grad: Tensor, state: AdamState, step: number, h: AdamHyper): void {
  let g = grad;
  if (h.weightDecay !== 0) {
    if (h.decoupledWeightDecay) param.mul_(1 - h.lr * h.weightDecay);
    else g = grad.add(param, h.weightDecay);
  }
  state.expAvg.mul_(h.beta1).add_(g, 1 - h.beta1);
  state.expAvgSq.mul_(h.beta2).addcmul_(g, g, 1 - h.beta2);
  const biasCorrection1 = 1 - h.beta1 ** step;
  const biasCorrection2 = 1 - h.beta2 ** step;
  const stepSize = h.lr / biasCorrection1;
  let v = state.expAvgSq;
  if (h.amsgrad) {
    const max = state.maxExpAvgSq!;
    callOp('maximum', 'out', max, state.expAvgSq, max); // max = maximum(max, v), in place
    v = max;
  }
  const denom = v.sqrt().div(Math.sqrt(biasCorrection2)).add_(h.epsilon);
  param.addcdiv_(state.expAvg, denom, -stepSize);
}

interface AdamCommonOptions {
  /** Base learn rate. Default 0.001. */
  learnRate?: number;
  /** Decay of the gradient's moving average (MATLAB's GradientDecayFactor), in [0, 1). Default 0.9. */
  beta1?: number;
  /** Decay of the squared gradient's moving average (MATLAB's SquaredGradientDecayFactor), in [0, 1). Default 0.999. */
  beta2?: number;
  /** Added to the denominator, > 0. Default 1e-8. */
  epsilon?: number;
  /** The AMSGrad variant (keeps the maximum of the squared-gradient average). Default false. */
  amsgrad?: boolean;
}

export interface AdamOptions extends AdamCommonOptions {
  /** L2 regularization added to the gradient (PyTorch Adam's weight_decay), scaled by each group's l2Factor. Default 0. */
  l2Regularization?: number;
}

export interface AdamWOptions extends AdamCommonOptions {
  /** Decoupled weight decay: param *= 1 - lr * weightDecay each step, scaled by each group's l2Factor. Default 0.01 (PyTorch's). */
  weightDecay?: number;
}

export type AdamSettings = Required<Omit<AdamOptions, 'learnRate'>>;
export type AdamWSettings = Required<Omit<AdamWOptions, 'learnRate'>>;

function common(where: string, o: Record<string, unknown>) {
  return {
    beta1: checkNumber(where, 'beta1', o.beta1 ?? 0.9, { min: 0, max: 1, maxOpen: true }),
    beta2: checkNumber(where, 'beta2', o.beta2 ?? 0.999, { min: 0, max: 1, maxOpen: true }),
    epsilon: checkNumber(where, 'epsilon', o.epsilon ?? 1e-8, { min: 0, minOpen: true }),
    amsgrad: checkBoolean(where, 'amsgrad', o.amsgrad ?? false),
  };
}

const COMMON = ['learnRate', 'beta1', 'beta2', 'epsilon', 'amsgrad'] as const;

function adamState(state: Map<string, Tensor>, param: Tensor, amsgrad: boolean): AdamState {
  return {
    expAvg: stateSlot(state, 'exp_avg', param),
    expAvgSq: stateSlot(state, 'exp_avg_sq', param),
    maxExpAvgSq: amsgrad ? stateSlot(state, 'max_exp_avg_sq', param) : null,
  };
}

const stateNames = (amsgrad: boolean) => (amsgrad ? ['exp_avg', 'exp_avg_sq', 'max_exp_avg_sq'] : ['exp_avg', 'exp_avg_sq']);

/** Adam: `new Adam(params | groups, { learnRate, beta1, beta2, epsilon, l2Regularization })`. */
export class Adam extends Optimizer<AdamSettings> {
  constructor(params: ParamsSpec, options?: AdamOptions) {
    const o = checkOptionNames('Adam', options, [...COMMON, 'l2Regularization'], {
      weightDecay: 'Adam couples weight decay into the gradient: use l2Regularization, or AdamW for decoupled weightDecay.',
    });
    const s: AdamSettings = { ...common('Adam', o), l2Regularization: checkNumber('Adam', 'l2Regularization', o.l2Regularization ?? 0, { min: 0 }) };
    super('Adam', params, (o.learnRate ?? 0.001) as number, s);
  }

  protected stateNames(): readonly string[] {
    return stateNames(this.options.amsgrad);
  }

  protected update(param: Tensor, grad: Tensor, state: Map<string, Tensor>, ctx: UpdateContext): void {
    const o = this.options;
    adamUpdate(param, grad, adamState(state, param, o.amsgrad), ctx.step, {
      lr: ctx.lr, beta1: o.beta1, beta2: o.beta2, epsilon: o.epsilon, amsgrad: o.amsgrad,
      weightDecay: o.l2Regularization * ctx.l2Factor, decoupledWeightDecay: false,
    });
  }
}

/** AdamW (decoupled weight decay): `new AdamW(params | groups, { learnRate, weightDecay, beta1, beta2, epsilon })`. */
export class AdamW extends Optimizer<AdamWSettings> {
  constructor(params: ParamsSpec, options?: AdamWOptions) {
    const o = checkOptionNames('AdamW', options, [...COMMON, 'weightDecay'], {
      l2Regularization: 'AdamW decouples weight decay from the gradient: use weightDecay (or Adam for L2 regularization).',
    });
    const s: AdamWSettings = { ...common('AdamW', o), weightDecay: checkNumber('AdamW', 'weightDecay', o.weightDecay ?? 0.01, { min: 0 }) };
    super('AdamW', params, (o.learnRate ?? 0.001) as number, s);
  }

  protected stateNames(): readonly string[] {
    return stateNames(this.options.amsgrad);
  }

  protected update(param: Tensor, grad: Tensor, state: Map<string, Tensor>, ctx: UpdateContext): void {
    const o = this.options;
    adamUpdate(param, grad, adamState(state, param, o.amsgrad), ctx.step, {
      lr: ctx.lr, beta1: o.beta1, beta2: o.beta2, epsilon: o.epsilon, amsgrad: o.amsgrad,
      weightDecay: o.weightDecay * ctx.l2Factor, decoupledWeightDecay: true,
    });
  }
}
