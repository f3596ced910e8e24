// A trained multiclass SVM as a layer (one-vs-one over K(K-1)/2 binary SVMs, as LIBSVM), so a
// feature network and its classifier are one network and one model file. The model lives in
// buffers: standardization, the binary machines (primal weights 'coef' for the linear kernel, as
// scikit-learn's coef_; support vectors and dual coefficients for RBF), intercepts and Platt's
// sigmoids. Training is in src/apps/svm.ts; this file only evaluates.
//
// Output 'probabilities': class probabilities from Platt-scaled pairwise probabilities coupled as
// LIBSVM does (Wu, Lin & Weng 2004, method 2), so `classify` and top-K work on its output.
// Output 'scores': scikit-learn's one-vs-rest-shaped decision values (votes plus a confidence in
// (-1/3, 1/3)), whose argmax is the one-vs-one vote winner.
import type { Tensor } from '../../tensor/tensor.js';
import { callOp } from '../../tensor/tensor.js';
import { tensor, zeros, ones } from '../../tensor/create.js';
import { Layer, checkOption, checked, type LayerOptions, type Shape } from '../layer.js';

export const SVM_KERNELS = ['linear', 'rbf'] as const;
export type SvmKernel = (typeof SVM_KERNELS)[number];
export const SVM_POOLINGS = ['none', 'avg', 'max'] as const;
export type SvmPooling = (typeof SVM_POOLINGS)[number];
export const SVM_OUTPUTS = ['probabilities', 'scores'] as const;
export type SvmOutput = (typeof SVM_OUTPUTS)[number];

/** LIBSVM's clamp of the pairwise probabilities before coupling. */
const MIN_PROB = 1e-7;

export interface SvmClassifierOptions extends LayerOptions {
  kernel: SvmKernel;
  /** RBF width: k(x, s) = exp(-gamma |x - s|^2) on the standardized features. */
  gamma?: number;
  numClasses: number;
  /** RBF only: rows of the support-vector buffer (all binary machines share them). */
  numSupportVectors?: number;
  /** Global pooling over the dimensions after the first before flattening (default 'none'). */
  pooling?: SvmPooling;
  /** Default 'probabilities' (needs Platt's sigmoids: prob_a, prob_b). */
  output?: SvmOutput;
}

/** The class pairs (i < j) of one-vs-one, in LIBSVM's order: (0,1), (0,2), …, (1,2), … */
export function svmPairs(numClasses: number): [number, number][] {
  const pairs: [number, number][] = [];
  for (let i = 0; i < numClasses; i++) for (let j = i + 1; j < numClasses; j++) pairs.push([i, j]);
  return pairs;
}

export class SvmClassifier extends Layer {
  readonly type = 'svmClassifier';
  readonly kernel: SvmKernel;
  readonly gamma: number | undefined;
  readonly numClasses: number;
  readonly numSupportVectors: number | undefined;
  readonly pooling: SvmPooling;
  readonly output: SvmOutput;

  constructor(o: SvmClassifierOptions) {
    super(o);
    const what = `svmClassifier${o.name ? ` '${o.name}'` : ''}`;
    if (!SVM_KERNELS.includes(o.kernel)) throw new RangeError(`${what}: option 'kernel' must be one of ${SVM_KERNELS.join(', ')}, got ${JSON.stringify(o.kernel)}`);
    this.kernel = o.kernel;
    checkOption(what, 'numClasses', o.numClasses, (v) => Number.isInteger(v) && v >= 2, 'an integer >= 2');
    this.numClasses = o.numClasses;
    if (o.kernel === 'rbf') {
      checkOption(what, 'gamma', o.gamma, (v) => v > 0 && Number.isFinite(v), 'a number > 0 for the rbf kernel');
      checkOption(what, 'numSupportVectors', o.numSupportVectors, (v) => Number.isInteger(v) && v >= 1, 'a positive integer for the rbf kernel');
    } else if (o.gamma !== undefined || o.numSupportVectors !== undefined) {
      throw new RangeError(`${what}: options 'gamma' and 'numSupportVectors' are for the rbf kernel only (kernel is 'linear')`);
    }
    this.gamma = o.gamma;
    this.numSupportVectors = o.numSupportVectors;
    this.pooling = o.pooling ?? 'none';
    if (!SVM_POOLINGS.includes(this.pooling)) throw new RangeError(`${what}: option 'pooling' must be one of ${SVM_POOLINGS.join(', ')}, got ${JSON.stringify(o.pooling)}`);
    this.output = o.output ?? 'probabilities';
    if (!SVM_OUTPUTS.includes(this.output)) throw new RangeError(`${what}: option 'output' must be one of ${SVM_OUTPUTS.join(', ')}, got ${JSON.stringify(o.output)}`);
  }

  /** classify uses the outputs as they are (no softmax) when they are probabilities. */
  override get outputsProbabilities(): boolean {
    return this.output === 'probabilities';
  }

  get numPairs(): number {
    return (this.numClasses * (this.numClasses - 1)) / 2;
  }

  /** Features per observation after pooling and flattening. */
  featureCount(input: Shape): number {
    if (input.length === 0) this.error('expected at least one feature per observation, got a scalar');
    return this.pooling === 'none' || input.length === 1 ? input.reduce((a, b) => a * b, 1) : input[0]!;
  }

  outputShape([input]: Shape[]): Shape {
    this.featureCount(input!);
    return [this.numClasses];
  }

  protected override createParams([input]: Shape[]): { buffers: Record<string, Tensor> } {
    const d = this.featureCount(input!), p = this.numPairs;
    const buffers: Record<string, Tensor> = { mean: zeros([d]), scale: ones([d]), intercept: zeros([p]) };
    if (this.kernel === 'linear') buffers.coef = zeros([p, d]);
    else {
      buffers.support_vectors = zeros([this.numSupportVectors!, d]);
      buffers.dual_coef = zeros([p, this.numSupportVectors!]);
    }
    if (this.output === 'probabilities') {
      buffers.prob_a = zeros([p]);
      buffers.prob_b = zeros([p]);
    }
    return { buffers };
  }

  /** Pooled, flattened, standardized features: [N, D]. */
  features(x: Tensor): Tensor {
    let f = x;
    if (this.pooling !== 'none' && x.ndim > 2) {
      const flat = x.flatten(2); // (N, C, positions)
      f = this.pooling === 'avg' ? flat.mean(2) : flat.max(2).values;
    }
    if (f.ndim > 2) f = f.flatten(1);
    return f.sub(this.buffers.get('mean')!).div(this.buffers.get('scale')!);
  }

  /** The K(K-1)/2 binary decision values [N, P] (positive: the pair's first class). */
  decision(x: Tensor): Tensor {
    return svmDecision(this.features(x), this.kernel, this.gamma ?? 0, this.buffers);
  }

  forward([x]: Tensor[]): Tensor {
    const dec = this.decision(x!);
    if (this.output === 'scores') return svmVoteScores(dec, this.numClasses);
    return svmCoupledProbabilities(svmPairProbabilities(dec, this.buffers.get('prob_a')!, this.buffers.get('prob_b')!), this.numClasses);
  }

  protected options(): Record<string, unknown> {
    return {
      kernel: this.kernel, numClasses: this.numClasses, pooling: this.pooling, output: this.output,
      ...(this.kernel === 'rbf' && { gamma: this.gamma, numSupportVectors: this.numSupportVectors }),
    };
  }
}

/** Decision values [N, P] of standardized features `z` [N, D]. */
export function svmDecision(z: Tensor, kernel: SvmKernel, gamma: number, buffers: ReadonlyMap<string, Tensor>): Tensor {
  const intercept = buffers.get('intercept')!;
  if (kernel === 'linear') return z.matmul(buffers.get('coef')!.t()).add(intercept);
  const sv = buffers.get('support_vectors')!; // (S, D)
  // |z - s|^2 = |z|^2 - 2 z.s + |s|^2, clamped at 0 against rounding.
  const d2 = z.square().sum(1, true).add(sv.square().sum(1).unsqueeze(0)).sub(z.matmul(sv.t()).mul(2)).clamp(0, null);
  return d2.mul(-gamma).exp().matmul(buffers.get('dual_coef')!.t()).add(intercept);
}

/** P(first class of the pair | the pair) [N, P]: Platt's sigmoid 1 / (1 + exp(A f + B)), clamped as LIBSVM. */
export function svmPairProbabilities(dec: Tensor, probA: Tensor, probB: Tensor): Tensor {
  return dec.mul(probA).add(probB).neg().sigmoid().clamp(MIN_PROB, 1 - MIN_PROB);
}

/** Index map from [r (P), 1 - r (P), 0] to the K x K matrix R with R[i][j] = P(i | i or j). */
function pairwiseIndex(k: number): number[] {
  const p = (k * (k - 1)) / 2;
  const idx = new Array<number>(k * k).fill(2 * p);
  svmPairs(k).forEach(([i, j], n) => { idx[i * k + j] = n; idx[j * k + i] = p + n; });
  return idx;
}

/** R [N, K, K] from pairwise probabilities r [N, P]; zero on the diagonal. */
export function svmPairMatrix(r: Tensor, k: number): Tensor {
  const n = r.shape[0]!;
  const padded = callOp<Tensor>('cat', '', [r, r.neg().add(1), zeros([n, 1], { dtype: r.dtype, device: r.device })], 1);
  const idx = tensor(BigInt64Array.from(pairwiseIndex(k), BigInt), { device: r.device });
  return padded.indexSelect(1, idx).view(n, k, k);
}

/**
 * Class probabilities [N, K] from pairwise ones: min_p sum_{i<j} (R_ji p_i - R_ij p_j)^2 with
 * sum(p) = 1 (LIBSVM's multiclass_probability solves the same problem iteratively). With
 * Q = diag(colsum(R∘R)) - R∘R^T and sum(p) = 1 the optimum satisfies (Q + 11^T) p ∝ 1, and
 * Q + 11^T is positive definite, so one batched solve gives p.
 */
export function svmCoupledProbabilities(r: Tensor, k: number): Tensor {
  if (k === 2) return callOp<Tensor>('cat', '', [r, r.neg().add(1)], 1);
  const R = svmPairMatrix(r, k); // (N, K, K)
  const sq = R.square();
  const n = r.shape[0]!;
  const diag = callOp<Tensor>('diag_embed', '', sq.sum(1), 0, -2, -1);
  const M = diag.sub(R.mul(R.transpose(1, 2))).add(1);
  const u = callOp<Tensor>('linalg_solve', '', M, ones([n, k, 1], { dtype: r.dtype, device: r.device }), true).squeeze(2);
  return u.div(u.sum(1, true));
}

/**
 * scikit-learn's 'ovr' decision function from one-vs-one values [N, P]: votes per class plus
 * sum_conf / (3 (|sum_conf| + 1)), where sum_conf adds each pair's value to its first class and
 * subtracts it from its second.
 */
export function svmVoteScores(dec: Tensor, k: number): Tensor {
  const pairs = svmPairs(k);
  // (P, K) signed incidence: +1 for the first class, -1 for the second.
  const inc = new Float32Array(pairs.length * k);
  pairs.forEach(([i, j], n) => { inc[n * k + i] = 1; inc[n * k + j] = -1; });
  const incidence = tensor(inc, { shape: [pairs.length, k], dtype: dec.dtype, device: dec.device });
  const votesFirst = dec.gt(0).to({ dtype: dec.dtype }); // 1 where the first class wins
  const plus = incidence.clamp(0, null), minus = incidence.neg().clamp(0, null);
  const votes = votesFirst.matmul(plus).add(votesFirst.neg().add(1).matmul(minus));
  const conf = dec.matmul(incidence);
  return votes.add(conf.div(conf.abs().add(1).mul(3)));
}

export const svmClassifier = (o: SvmClassifierOptions): SvmClassifier => checked(new SvmClassifier(o), o);
