// RMSProp, as torch.optim.RMSprop (MATLAB's 'rmsprop' solver is the momentum-0 case).
import { callOp, type Tensor } from '../tensor/tensor.js';
import { Optimizer, stateSlot, type ParamsSpec, type UpdateContext } from './optimizer.js';
import { aliased, checkBoolean, checkNumber, checkOptionNames } from './validate.js';

export interface RMSPropHyper {
  lr: number;
  /** Decay of the squared-gradient average. */
  alpha: number;
  epsilon: number;
  /** L2 penalty coupled into the gradient (PyTorch's weight_decay). */
  weightDecay: number;
  momentum: number;
  centered: boolean;
}

export interface RMSPropState {
  squareAvg: Tensor;
  /** Only when centered. */
  gradAvg: Tensor | null;
  /** Only with momentum > 0. */
  momentumBuffer: Tensor | null;
}

/**
 * One RMSProp update of one parameter, in place on `param` and `state` (torch.optim.rmsprop's
 * `_single_tensor_rmsprop`, same operation order):
 *
 *     g = grad + weightDecay * param
 *     sq = alpha * sq + (1 - alpha) * g²
 *     avg = sqrt(sq) + epsilon                  (centered: sqrt(sq - ga²) + epsilon, ga = alpha * ga + (1 - alpha) * g)
 *     momentum > 0:  buf = momentum * buf + g / avg;  param -= lr * buf
 *     otherwise:     param -= lr * g / avg
 *
 * Makes temporaries: call inside tidy and noGrad.
 */
export function rmspropUpdate(param: Tensor, grad: Tensor, state: RMSPropState, h: RMSPropHyper): void {
  const g = h.weightDecay !== 0 ? grad.add(param, h.weightDecay) : grad;
  state.squareAvg.mul_(h.alpha).addcmul_(g, g, 1 - h.alpha);
  let avg: Tensor;
  if (h.centered) {
    const ga = state.gradAvg!;
    ga.mul_(h.alpha).add_(g, 1 - h.alpha);
    avg = callOp<Tensor>('addcmul', '', state.squareAvg, ga, ga, -1).sqrt().add_(h.epsilon);
  } else {
    avg = state.squareAvg.sqrt().add_(h.epsilon);
  }
  if (h.momentum > 0) {
    const buf = state.momentumBuffer!;
    buf.mul_(h.momentum).addcdiv_(g, avg);
    param.add_(buf, -h.lr);
  } else {
    param.addcdiv_(g, avg, -h.lr);
  }
}

export interface RMSPropOptions {
  /** Base learn rate. Default 0.001 (MATLAB's rmsprop default; PyTorch's is 0.01). */
  learnRate?: number;
  /** Decay of the squared-gradient average, in [0, 1). Default 0.99. Same as `alpha` (PyTorch's name). */
  squaredGradientDecayFactor?: number;
  /** PyTorch's name for squaredGradientDecayFactor. */
  alpha?: number;
  /** Added to the denominator, > 0. Default 1e-8. */
  epsilon?: number;
  /** Momentum in [0, 1]. Default 0 (plain RMSProp). */
  momentum?: number;
  /** Normalize by the variance estimate instead of the second moment. Default false. */
  centered?: boolean;
  /** L2 regularization added to the gradient (PyTorch's weight_decay), scaled by each group's l2Factor. Default 0. */
  l2Regularization?: number;
}

export interface RMSPropSettings {
  squaredGradientDecayFactor: number;
  epsilon: number;
  momentum: number;
  centered: boolean;
  l2Regularization: number;
}

const RMSPROP_OPTIONS = ['learnRate', 'squaredGradientDecayFactor', 'alpha', 'epsilon', 'momentum', 'centered', 'l2Regularization'] as const;

/** RMSProp: `new RMSProp(params | groups, { learnRate, squaredGradientDecayFactor, epsilon, momentum })`. */
export class RMSProp extends Optimizer<RMSPropSettings> {
  constructor(params: ParamsSpec, options?: RMSPropOptions) {
    const o = checkOptionNames('RMSProp', options, RMSPROP_OPTIONS);
    const decay = aliased('RMSProp', o, 'squaredGradientDecayFactor', 'alpha') ?? 0.99;
    const s: RMSPropSettings = {
      squaredGradientDecayFactor: checkNumber('RMSProp', o.alpha !== undefined ? 'alpha' : 'squaredGradientDecayFactor', decay, { min: 0, max: 1, maxOpen: true }),
      epsilon: checkNumber('RMSProp', 'epsilon', o.epsilon ?? 1e-8, { min: 0, minOpen: true }),
      momentum: checkNumber('RMSProp', 'momentum', o.momentum ?? 0, { min: 0, max: 1 }),
      centered: checkBoolean('RMSProp', 'centered', o.centered ?? false),
      l2Regularization: checkNumber('RMSProp', 'l2Regularization', o.l2Regularization ?? 0, { min: 0 }),
    };
    super('RMSProp', params, (o.learnRate ?? 0.001) as number, s);
  }

  protected stateNames(): readonly string[] {
    const o = this.options;
    return ['square_avg', ...(o.momentum > 0 ? ['momentum_buffer'] : []), ...(o.centered ? ['grad_avg'] : [])];
  }

  protected update(param: Tensor, grad: Tensor, state: Map<string, Tensor>, ctx: UpdateContext): void {
    const o = this.options;
    rmspropUpdate(param, grad, {
      squareAvg: stateSlot(state, 'square_avg', param),
      gradAvg: o.centered ? stateSlot(state, 'grad_avg', param) : null,
      momentumBuffer: o.momentum > 0 ? stateSlot(state, 'momentum_buffer', param) : null,
    }, {
      lr: ctx.lr, alpha: o.squaredGradientDecayFactor, epsilon: o.epsilon, momentum: o.momentum, centered: o.centered,
      weightDecay: o.l2Regularization * ctx.l2Factor,
    });
  }
}
