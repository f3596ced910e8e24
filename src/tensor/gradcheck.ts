// Finite-difference gradient checks: autograd's gradients against central differences, in
// float64 (as torch.autograd.gradcheck). Used by the tests of every differentiable op.
import { Tensor } from './tensor.js';
import { tensor } from './create.js';
import { tidy } from './memory.js';
import { noGrad, setGradEnabled } from './autograd.js';
import { isFloating } from './dtype.js';

export interface GradcheckOptions {
  /** Step of the central difference. */
  eps?: number;
  /** An element passes when |analytical - numerical| <= atol + rtol * |numerical|. */
  atol?: number;
  rtol?: number;
  /** Seed of the fixed pseudo-random output weights (see gradcheck). */
  seed?: number;
}

export interface GradcheckResult {
  /** Indices of the inputs checked (those with requiresGrad). */
  inputs: number[];
  /** Elements compared, over all checked inputs. */
  elements: number;
  /** Largest |analytical - numerical| seen. */
  maxAbsError: number;
}

/** What the checked function may return: a tensor, or arrays / plain objects of tensors. */
export type GradcheckOutput = Tensor | readonly GradcheckOutput[] | { readonly [name: string]: GradcheckOutput };

/** Thrown when a gradient element differs; names the input and the element. */
export class GradcheckError extends Error {
  constructor(
    message: string,
    readonly input: number,
    readonly element: number,
    readonly analytical: number,
    readonly numerical: number,
  ) {
    super(message);
    this.name = 'GradcheckError';
  }
}

/** mulberry32: a small seeded generator, so the output weights are the same on every run. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The floating-point tensors of an output, in a fixed order (integer outputs such as indices are skipped). */
function floatOutputs(out: GradcheckOutput, into: Tensor[] = []): Tensor[] {
  if (out instanceof Tensor) {
    if (isFloating(out.dtype)) into.push(out);
  } else if (Array.isArray(out)) {
    for (const o of out) floatOutputs(o, into);
  } else if (out && typeof out === 'object') {
    for (const o of Object.values(out)) floatOutputs(o as GradcheckOutput, into);
  }
  return into;
}

function indexOf(flat: number, shape: readonly number[]): number[] {
  const idx: number[] = [];
  for (let d = shape.length - 1; d >= 0; d--) {
    idx.unshift(flat % shape[d]!);
    flat = Math.floor(flat / shape[d]!);
  }
  return idx;
}

/**
 * Checks the gradients autograd computes for `fn` against central finite differences.
 *
 * Every input with requiresGrad set is checked (as torch.autograd.gradcheck); those must be
 * float64. The outputs are reduced to L = sum_k sum(output_k * w_k) with fixed pseudo-random
 * weights w in [-1, 1), so that one backward pass gives dL/dx for every input element x, and
 * each is compared with (L(x + eps) - L(x - eps)) / (2 eps). A wrong entry of the Jacobian
 * shows up unless the random weights cancel it exactly.
 *
 * The inputs are not modified and get no .grad: the check works on copies, and frees every
 * tensor it makes. `fn` should be deterministic (no dropout with p > 0). Throws a
 * GradcheckError naming the input index, the element (flat and as an index) and the
 * analytical and numerical values; returns a summary when every element passes.
 *
 * @example
 *   const x = dl.randn([3, 4], { dtype: 'float64', requiresGrad: true });
 *   dl.gradcheck((t) => t.tanh(), [x]);
 */
export function gradcheck(fn: (...inputs: Tensor[]) => GradcheckOutput, inputs: readonly Tensor[], options: GradcheckOptions = {}): GradcheckResult {
  const { eps = 1e-6, atol = 1e-5, rtol = 1e-3, seed = 0x5eed } = options;
  if (!(eps > 0)) throw new RangeError(`gradcheck: eps must be > 0, got ${eps}`);
  const checked = inputs.map((t, i) => (t.requiresGrad ? i : -1)).filter((i) => i >= 0);
  if (checked.length === 0) throw new TypeError('gradcheck: no input has requiresGrad set, so there is nothing to check');
  for (const i of checked) {
    const t = inputs[i]!;
    if (t.dtype !== 'float64') {
      throw new TypeError(`gradcheck: input ${i} is ${t.dtype} [${t.shape.join(', ')}]; finite differences need float64 (use .double())`);
    }
  }
  const base = new Map<number, Float64Array>(checked.map((i) => [i, inputs[i]!.dataSync() as Float64Array]));
  const shapes = inputs.map((t) => [...t.shape]);
  const rand = random(seed);
  let weights: Float64Array[] = [];

  // Analytical: one backward pass of L through fresh leaf copies of the checked inputs.
  const analytical = new Map<number, Float64Array>();
  const prevGrad = setGradEnabled(true);
  try {
    tidy(() => {
      const leaves = inputs.map((t, i) => (base.has(i) ? tensor(base.get(i)!, { shape: shapes[i]! }).requiresGrad_() : t));
      const outs = floatOutputs(fn(...leaves));
      if (outs.length === 0) throw new TypeError('gradcheck: fn returned no floating-point tensor');
      weights = outs.map((o) => Float64Array.from({ length: o.size }, () => rand() * 2 - 1));
      const loss = outs.map((o, k) => o.mul(tensor(weights[k]!, { shape: o.shape, dtype: o.dtype })).sum()).reduce((a, b) => a.add(b));
      if (!loss.requiresGrad) throw new TypeError('gradcheck: no output depends on an input with requiresGrad');
      loss.backward();
      for (const i of checked) {
        const g = leaves[i]!.grad;
        // An input the outputs do not use gets no gradient: its derivative is zero.
        analytical.set(i, g ? (g.dataSync() as Float64Array) : new Float64Array(base.get(i)!.length));
      }
    });
  } finally {
    setGradEnabled(prevGrad);
  }

  // Numerical: L at x +- eps, one element at a time; the other checked inputs as plain copies.
  const plain = new Map<number, Tensor>();
  let maxAbsError = 0;
  let elements = 0;
  try {
    for (const i of checked) plain.set(i, tensor(base.get(i)!, { shape: shapes[i]! }));
    const evaluate = (i: number, values: Float64Array): number =>
      noGrad(() => tidy(() => {
        const args = inputs.map((t, m) => (m === i ? tensor(values, { shape: shapes[i]! }) : plain.get(m) ?? t));
        const outs = floatOutputs(fn(...args));
        let total = 0;
        outs.forEach((o, k) => {
          const data = o.dataSync();
          const w = weights[k]!;
          for (let j = 0; j < w.length; j++) total += Number(data[j]) * w[j]!;
        });
        return total;
      }));

    for (const i of checked) {
      const x = Float64Array.from(base.get(i)!);
      const a = analytical.get(i)!;
      let worst: { j: number; excess: number; n: number } | null = null;
      let failures = 0;
      for (let j = 0; j < x.length; j++) {
        const orig = x[j]!;
        x[j] = orig + eps;
        const up = evaluate(i, x);
        x[j] = orig - eps;
        const down = evaluate(i, x);
        x[j] = orig;
        const n = (up - down) / (2 * eps);
        const err = Math.abs(a[j]! - n);
        maxAbsError = Math.max(maxAbsError, err);
        const excess = err - (atol + rtol * Math.abs(n));
        if (!(excess <= 0)) { // NaN fails too
          failures++;
          if (worst === null || !(excess <= worst.excess)) worst = { j, excess, n };
        }
      }
      elements += x.length;
      if (worst) {
        const { j, n } = worst;
        const shape = shapes[i]!;
        throw new GradcheckError(
          `gradcheck: gradient of input ${i} (shape [${shape.join(', ')}]) differs at element ${j} (index [${indexOf(j, shape).join(', ')}]): ` +
            `analytical ${a[j]}, numerical ${n}, |difference| ${Math.abs(a[j]! - n)} > atol ${atol} + rtol ${rtol} * |numerical|; ` +
            `${failures} of ${x.length} elements differ (eps ${eps})`,
          i, j, a[j]!, n,
        );
      }
    }
  } finally {
    for (const t of plain.values()) t.dispose();
  }
  return { inputs: checked, elements, maxAbsError };
}
