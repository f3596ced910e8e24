// Weight initializers. Seeded through manualSeed (libtorch's generator).
import { randn, rand, zeros, type Tensor } from '../tensor/index.js';
import { tidy } from '../tensor/memory.js';

/**
 * - 'he': normal with std sqrt(2 / fanIn) (He et al. 2015), the default for ReLU networks;
 * - 'glorot': uniform in ±sqrt(6 / (fanIn + fanOut)) (Glorot & Bengio 2010, MATLAB's default);
 * - 'pytorch': uniform in ±1/sqrt(fanIn), as torch.nn's Conv/Linear reset_parameters;
 * - 'narrow-normal': normal with std 0.01; 'zeros'.
 */
export type Initializer = 'he' | 'glorot' | 'pytorch' | 'narrow-normal' | 'zeros';
export const INITIALIZERS: readonly Initializer[] = ['he', 'glorot', 'pytorch', 'narrow-normal', 'zeros'];

export function initWeight(shape: number[], fanIn: number, fanOut: number, how: Initializer): Tensor {
  return tidy(() => {
    switch (how) {
      case 'he': return randn(shape).mul(Math.sqrt(2 / fanIn));
      case 'glorot': {
        const bound = Math.sqrt(6 / (fanIn + fanOut));
        return rand(shape).mul(2 * bound).sub(bound);
      }
      case 'pytorch': {
        const bound = 1 / Math.sqrt(fanIn);
        return rand(shape).mul(2 * bound).sub(bound);
      }
      case 'narrow-normal': return randn(shape).mul(0.01);
      case 'zeros': return zeros(shape);
    }
  });
}

/** Biases start at zero, except with the 'pytorch' scheme (uniform in ±1/sqrt(fanIn)). */
export function initBias(size: number, fanIn: number, how: Initializer): Tensor {
  return how === 'pytorch' ? initWeight([size], fanIn, size, 'pytorch') : zeros([size]);
}
