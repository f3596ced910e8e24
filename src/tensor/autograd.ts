// Autograd switches. Gradients themselves live on tensors (requiresGrad, backward, grad).
import { native } from '../native/binding.js';

/**
 * Runs `fn` with gradient recording off (inference, optimizer updates). Synchronous only:
 * libtorch's grad mode is per thread, and an `await` inside would leak the setting.
 */
export function noGrad<T>(fn: () => T): T {
  const prev = native.setGradEnabled(false);
  try {
    const r = fn();
    if (r instanceof Promise) throw new TypeError('noGrad(fn): fn must be synchronous (grad mode is per thread and would leak across await)');
    return r;
  } finally {
    native.setGradEnabled(prev);
  }
}

export function isGradEnabled(): boolean {
  return native.isGradEnabled();
}

export function setGradEnabled(on: boolean): boolean {
  return native.setGradEnabled(on);
}
