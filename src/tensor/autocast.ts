// Mixed precision: run matrix products and convolutions in a 16-bit float type while weights,
// gradients and the optimizer stay float32 (PyTorch's torch.autocast). On CPUs with native
// bfloat16 instructions (AVX-512 BF16, AMX) oneDNN's bfloat16 convolutions are several times
// faster than float32 ones; elsewhere they are emulated and slower, so 'auto' only picks them
// where the hardware has them.
import { readFileSync } from 'node:fs';
import { native } from '../native/binding.js';
import { dtypeCode, type DType } from './dtype.js';

export type AutocastDType = Extract<DType, 'bfloat16'>;

/**
 * Runs `fn` with CPU autocast on: ops that autocast lists (convolutions, linear, matmul, …) run
 * in `dtype`, the others in float32. Synchronous only, like noGrad: the setting is per thread.
 * Compute losses from `out.to('float32')` and call backward outside the scope.
 */
export function autocast<T>(fn: () => T, { dtype = 'bfloat16', enabled = true }: { dtype?: AutocastDType; enabled?: boolean } = {}): T {
  if (dtype !== 'bfloat16') throw new TypeError(`autocast: dtype must be 'bfloat16' on the CPU, got '${String(dtype)}'`);
  const [wasOn, prevType] = native.setAutocast(enabled, dtypeCode(dtype));
  try {
    const r = fn();
    if (r instanceof Promise) throw new TypeError('autocast(fn): fn must be synchronous (the setting is per thread and would leak across await)');
    return r;
  } finally {
    native.setAutocast(wasOn, prevType);
  }
}

let bf16: boolean | undefined;

/** Whether this CPU has bfloat16 arithmetic in hardware (x86 AVX-512 BF16 or AMX-BF16; Linux only). */
export function cpuHasBfloat16(): boolean {
  if (bf16 === undefined) {
    try {
      const flags = /^flags\s*:(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? '';
      bf16 = /\b(avx512_bf16|amx_bf16)\b/.test(flags);
    } catch {
      bf16 = false;
    }
  }
  return bf16;
}
