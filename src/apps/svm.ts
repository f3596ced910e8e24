// Multiclass SVM training on features (LIBSVM's C-SVC): one-vs-one over binary machines, linear
// and RBF kernels, Platt scaling fitted on 5-fold cross-validated decision values, and coupling of
// the pairwise probabilities. The kernel matrix is computed once on the engine (one matmul over
// all observations: the cost that dominates on 4,096-dimensional deep features), then each binary
// problem is solved by LIBSVM's SMO (second-order working-set selection, Fan, Chen & Lin 2005) in
// plain arithmetic over that matrix. docs/notes.md "Feature extraction + SVM" gives the
// measurements behind solving here instead of through a WASM LIBSVM.
import type { Tensor } from '../tensor/tensor.js';
import { tensor } from '../tensor/create.js';
import { tidy, keep, dispose } from '../tensor/memory.js';
import { noGrad } from '../tensor/autograd.js';
import {
  SvmClassifier, SVM_KERNELS, svmDecision, svmPairs, svmPairProbabilities, svmCoupledProbabilities, svmVoteScores,
  type SvmKernel, type SvmPooling,
} from '../nn/layers/svm.js';

export interface SVMOptions {
  /** 'rbf' (default, as scikit-learn's SVC) or 'linear'. */
  kernel?: SvmKernel;
  /** Box constraint (default 1). */
  C?: number;
  /** RBF width; 'scale' (default, scikit-learn's): 1 / (D var(X)) of the (standardized) features; 'auto': 1 / D. */
  gamma?: number | 'scale' | 'auto';
  /** Standardize each feature to zero mean and unit variance first (default true). */
  standardize?: boolean;
  /** Fit Platt's sigmoids so the SVM gives class probabilities (default true; costs 5 more trainings per pair). */
  probability?: boolean;
  /** SMO stopping tolerance on the KKT gap (default 1e-3, LIBSVM's and scikit-learn's). */
  tolerance?: number;
  /** SMO iterations per binary problem (default max(10^7, 100 n), LIBSVM's). */
  maxIterations?: number;
  /** Class names by label index (default: '0', '1', …). */
  classes?: readonly string[];
  /** Seed of the cross-validation folds for Platt scaling (default 0). */
  seed?: number;
}

const KNOWN = ['kernel', 'C', 'gamma', 'standardize', 'probability', 'tolerance', 'maxIterations', 'classes', 'seed'];
/** The kernel matrix is held in float64: refuse sizes whose matrix would not fit comfortably. */
const MAX_OBSERVATIONS = 16384;

/** One binary machine: decision f(x) = sum_i coef_i k(x_i, x) + intercept, over observations `index`. */
interface BinaryMachine {
  index: number[];
  coef: number[];
  intercept: number;
  probA: number;
  probB: number;
  iterations: number;
}

/** A trained multiclass SVM. Holds tensors: dispose it (or hand its values to a layer with toLayer). */
export class SVMModel {
  constructor(
    readonly kernel: SvmKernel,
    /** 0 for the linear kernel. */
    readonly gamma: number,
    readonly classes: string[],
    readonly buffers: Map<string, Tensor>,
    readonly hasProbabilities: boolean,
    /** SMO iterations per binary machine, pairs in svmPairs order. */
    readonly iterations: number[],
  ) {}

  get numClasses(): number { return this.classes.length; }
  get numFeatures(): number { return this.buffers.get('mean')!.shape[0]!; }
  get numSupportVectors(): number { return this.buffers.get('support_vectors')?.shape[0] ?? 0; }

  #check(x: Tensor, what: string): Tensor {
    const x2 = x.ndim > 2 ? x.flatten(1) : x;
    if (x2.ndim !== 2 || x2.shape[1] !== this.numFeatures) {
      throw new RangeError(`SVM ${what}: expected features of shape [N, ${this.numFeatures}], got [${x.shape.join(', ')}]`);
    }
    return x2.to({ dtype: 'float32', device: this.buffers.get('mean')!.device });
  }

  /** One-vs-one decision values [N, K(K-1)/2], pairs (0,1), (0,2), …; positive votes for the pair's first class. */
  decisionFunction(x: Tensor): Tensor {
    return tidy(() => noGrad(() => {
      const z = this.#check(x, 'decisionFunction').sub(this.buffers.get('mean')!).div(this.buffers.get('scale')!);
      return svmDecision(z, this.kernel, this.gamma, this.buffers);
    }));
  }

  /** scikit-learn's 'ovr' decision function [N, K]; its argmax is the one-vs-one vote. */
  scores(x: Tensor): Tensor {
    return tidy(() => svmVoteScores(this.decisionFunction(x), this.numClasses));
  }

  /** Class probabilities [N, K] (needs `probability`). */
  predictProbabilities(x: Tensor): Tensor {
    if (!this.hasProbabilities) throw new RangeError('SVM predictProbabilities: the SVM was trained with probability: false');
    return tidy(() => svmCoupledProbabilities(svmPairProbabilities(this.decisionFunction(x), this.buffers.get('prob_a')!, this.buffers.get('prob_b')!), this.numClasses));
  }

  /** Predicted class index per observation: the largest probability, or the vote without probabilities (LIBSVM's svm_predict_probability / svm_predict). */
  predict(x: Tensor): Int32Array {
    return tidy(() => {
      const s = this.hasProbabilities ? this.predictProbabilities(x) : this.scores(x);
      return Int32Array.from(s.argmax(1).dataSync() as BigInt64Array, Number);
    });
  }

  /**
   * A layer computing this SVM (its own copies of the buffers). `pooling` is applied to the
   * layer's input before flattening (the feature layer's raw output); 'probabilities' output
   * needs the SVM trained with probability.
   */
  toLayer({ name = 'svm', pooling = 'none', output }: { name?: string; pooling?: SvmPooling; output?: 'probabilities' | 'scores' } = {}): SvmClassifier {
    const out = output ?? (this.hasProbabilities ? 'probabilities' : 'scores');
    if (out === 'probabilities' && !this.hasProbabilities) throw new RangeError("SVM toLayer: output 'probabilities' needs an SVM trained with probability: true");
    return new SvmClassifier({
      name, kernel: this.kernel, numClasses: this.numClasses, pooling, output: out,
      ...(this.kernel === 'rbf' && { gamma: this.gamma, numSupportVectors: this.numSupportVectors }),
    });
  }

  /** The layer's state-dict values under `<layerName>.<buffer>` (copies owned by the caller are not made: these are the model's own tensors). */
  stateFor(layer: SvmClassifier): Record<string, Tensor> {
    const out: Record<string, Tensor> = {};
    for (const [k, t] of this.buffers) if (k !== 'prob_a' && k !== 'prob_b' || layer.output === 'probabilities') out[`${layer.name}.${k}`] = t;
    return out;
  }

  dispose(): void {
    dispose([...this.buffers.values()]);
    this.buffers.clear();
  }

  [Symbol.dispose](): void { this.dispose(); }
}

function labelArray(labels: Int32Array | readonly number[] | Tensor, n: number): Int32Array {
  const arr = 'dataSync' in (labels as object)
    ? Int32Array.from((labels as Tensor).dataSync() as ArrayLike<number | bigint>, Number)
    : Int32Array.from(labels as ArrayLike<number>);
  if (arr.length !== n) throw new RangeError(`fitSVM: ${arr.length} labels for ${n} observations`);
  for (let i = 0; i < n; i++) {
    if (!Number.isInteger(arr[i]) || arr[i]! < 0) throw new RangeError(`fitSVM: labels must be class indices >= 0, got ${arr[i]} at observation ${i}`);
  }
  return arr;
}

function checkOptions(o: SVMOptions): Required<Omit<SVMOptions, 'classes' | 'maxIterations'>> & Pick<SVMOptions, 'classes' | 'maxIterations'> {
  const unknown = Object.keys(o).filter((k) => !KNOWN.includes(k));
  if (unknown.length) throw new RangeError(`fitSVM: unknown option${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `'${k}'`).join(', ')}; known: ${KNOWN.join(', ')}`);
  const kernel = o.kernel ?? 'rbf';
  if (!SVM_KERNELS.includes(kernel)) throw new RangeError(`fitSVM: option 'kernel' must be one of ${SVM_KERNELS.join(', ')}, got ${JSON.stringify(o.kernel)}`);
  const C = o.C ?? 1;
  if (typeof C !== 'number' || !(C > 0) || !Number.isFinite(C)) throw new RangeError(`fitSVM: option 'C' must be a number > 0, got ${JSON.stringify(o.C)}`);
  const gamma = o.gamma ?? 'scale';
  if (gamma !== 'scale' && gamma !== 'auto' && !(typeof gamma === 'number' && gamma > 0 && Number.isFinite(gamma))) {
    throw new RangeError(`fitSVM: option 'gamma' must be 'scale', 'auto' or a number > 0, got ${JSON.stringify(o.gamma)}`);
  }
  const tolerance = o.tolerance ?? 1e-3;
  if (typeof tolerance !== 'number' || !(tolerance > 0)) throw new RangeError(`fitSVM: option 'tolerance' must be a number > 0, got ${JSON.stringify(o.tolerance)}`);
  if (o.maxIterations !== undefined && !(Number.isInteger(o.maxIterations) && o.maxIterations >= 1)) throw new RangeError(`fitSVM: option 'maxIterations' must be a positive integer, got ${JSON.stringify(o.maxIterations)}`);
  for (const k of ['standardize', 'probability'] as const) {
    if (o[k] !== undefined && typeof o[k] !== 'boolean') throw new RangeError(`fitSVM: option '${k}' must be true or false, got ${JSON.stringify(o[k])}`);
  }
  const seed = o.seed ?? 0;
  if (!Number.isSafeInteger(seed)) throw new RangeError(`fitSVM: option 'seed' must be a whole number, got ${JSON.stringify(o.seed)}`);
  return { kernel, C, gamma, tolerance, standardize: o.standardize ?? true, probability: o.probability ?? true, seed, classes: o.classes, maxIterations: o.maxIterations };
}

/**
 * Trains a multiclass SVM on `features` [N, D] (any float dtype; more dimensions are flattened)
 * with class indices `labels` (0 … K-1; K from `classes` when given, else the largest label + 1).
 */
export function fitSVM(features: Tensor, labels: Int32Array | readonly number[] | Tensor, options: SVMOptions = {}): SVMModel {
  const o = checkOptions(options);
  const n = features.shape[0] ?? 0;
  if (features.ndim < 2 || n === 0) throw new RangeError(`fitSVM: expected features of shape [N, D] with N >= 2, got [${features.shape.join(', ')}]`);
  if (n > MAX_OBSERVATIONS) throw new RangeError(`fitSVM: ${n} observations; the kernel matrix (N x N, float64) is limited to N <= ${MAX_OBSERVATIONS}`);
  const y = labelArray(labels, n);
  const k = o.classes ? o.classes.length : Math.max(...y) + 1;
  const counts = new Array<number>(k).fill(0);
  for (const v of y) {
    if (v >= k) throw new RangeError(`fitSVM: label ${v} is out of range for ${k} classes (${o.classes!.join(', ')})`);
    counts[v]!++;
  }
  const classes = o.classes ? [...o.classes] : Array.from({ length: k }, (_, i) => String(i));
  const empty = counts.flatMap((c, i) => (c === 0 ? [`'${classes[i]}'`] : []));
  if (k < 2 || empty.length) throw new RangeError(`fitSVM: every class needs observations; ${k < 2 ? 'only one class' : `none for ${empty.join(', ')}`}`);

  const made: Tensor[] = [];
  try {
    // Standardization and the kernel matrix, in float64 on the engine.
    const { mean, scale, z, gamma, gram } = tidy(() => noGrad(() => {
      const x = features.flatten(1).to({ dtype: 'float64', device: 'cpu' });
      const d = x.shape[1]!;
      const mu = o.standardize ? x.mean(0) : x.sum(0).mul(0);
      // Population standard deviation (scikit-learn's StandardScaler); constant features keep scale 1.
      const sd = o.standardize ? x.sub(mu).square().mean(0).sqrt() : x.sum(0).mul(0).add(1);
      const sdSafe = sd.add(sd.eq(0).to({ dtype: 'float64' }));
      const zz = x.sub(mu).div(sdSafe);
      const g = o.kernel === 'linear' ? 0 : o.gamma === 'scale' ? 1 / (d * (zz.square().mean().item() - zz.mean().item() ** 2) || 1) : o.gamma === 'auto' ? 1 / d : o.gamma;
      let K = zz.matmul(zz.t());
      if (o.kernel === 'rbf') {
        const sq = zz.square().sum(1);
        K = sq.unsqueeze(1).add(sq.unsqueeze(0)).sub(K.mul(2)).clamp(0, null).mul(-g).exp();
      }
      return { mean: keep(mu.float()), scale: keep(sdSafe.float()), z: keep(zz), gamma: g, gram: new Float64Array((K.contiguous().dataSync() as Float64Array)) };
    }));
    made.push(mean, scale, z);

    const byClass = Array.from({ length: k }, () => [] as number[]);
    y.forEach((v, i) => byClass[v]!.push(i));
    const pairs = svmPairs(k);
    const machines: BinaryMachine[] = pairs.map(([a, b]) => {
      const index = [...byClass[a]!, ...byClass[b]!];
      const sign = index.map((i) => (y[i] === a ? 1 : -1));
      const m = solveBinary(gram, n, index, sign, o.C, o.tolerance, o.maxIterations);
      let probA = 0, probB = 0;
      if (o.probability) [probA, probB] = plattByCrossValidation(gram, n, index, sign, o.C, o.tolerance, o.maxIterations, o.seed);
      return { ...m, probA, probB };
    });

    const buffers = new Map<string, Tensor>([['mean', mean], ['scale', scale]]);
    const p = pairs.length;
    tidy(() => noGrad(() => {
      if (o.kernel === 'linear') {
        // Primal weights w = sum_i coef_i z_i of each machine: (P, N) @ (N, D).
        const dense = new Float64Array(p * n);
        machines.forEach((m, r) => m.index.forEach((i, t) => { dense[r * n + i] = m.coef[t]!; }));
        buffers.set('coef', keep(tensor(dense, { shape: [p, n] }).matmul(z).float()));
      } else {
        // The support vectors of every machine, shared: (S, D), and dense dual coefficients (P, S).
        const used = [...new Set(machines.flatMap((m) => m.index.filter((_, t) => m.coef[t] !== 0)))].sort((a, b) => a - b);
        const col = new Map(used.map((i, c) => [i, c]));
        const dense = new Float32Array(p * used.length);
        machines.forEach((m, r) => m.index.forEach((i, t) => { if (m.coef[t] !== 0) dense[r * used.length + col.get(i)!] = m.coef[t]!; }));
        const idx = tensor(BigInt64Array.from(used, BigInt));
        buffers.set('support_vectors', keep(z.indexSelect(0, idx).float()));
        buffers.set('dual_coef', keep(tensor(dense, { shape: [p, Math.max(used.length, 1)] })));
      }
      buffers.set('intercept', keep(tensor(Float32Array.from(machines, (m) => m.intercept))));
      if (o.probability) {
        buffers.set('prob_a', keep(tensor(Float32Array.from(machines, (m) => m.probA))));
        buffers.set('prob_b', keep(tensor(Float32Array.from(machines, (m) => m.probB))));
      }
    }));
    z.dispose();
    return new SVMModel(o.kernel, gamma, classes, buffers, o.probability, machines.map((m) => m.iterations));
  } catch (err) {
    for (const t of made) if (!t.isDisposed) t.dispose();
    throw err;
  }
}

/**
 * LIBSVM's Solver for C-SVC on the observations `index` of the kernel matrix `gram` (n x n) with
 * signs `y`: min 1/2 a^T Q a - 1^T a, 0 <= a <= C, y^T a = 0, Q_ij = y_i y_j K_ij. Working sets by
 * second-order selection (LIBSVM's select_working_set), no shrinking; the intercept is LIBSVM's
 * -rho (the mean of y_i G_i over free vectors, else the middle of the feasible interval).
 */
function solveBinary(gram: Float64Array, n: number, index: readonly number[], ySigns: readonly number[], C: number, eps: number, maxIterations?: number): { index: number[]; coef: number[]; intercept: number; iterations: number } {
  const l = index.length;
  const TAU = 1e-12;
  // Q = y_i y_j K_ij of this problem, dense and contiguous: the loops below read whole rows of it.
  const Q = new Float64Array(l * l);
  const y = Float64Array.from(ySigns);
  for (let a = 0; a < l; a++) {
    const row = index[a]! * n, ya = y[a]!;
    for (let b = 0; b < l; b++) Q[a * l + b] = ya * y[b]! * gram[row + index[b]!]!;
  }
  const QD = new Float64Array(l);
  for (let a = 0; a < l; a++) QD[a] = Q[a * l + a]!;
  const alpha = new Float64Array(l);
  const G = new Float64Array(l).fill(-1);
  // 0: at the lower bound, 1: free, 2: at the upper bound (LIBSVM's alpha_status).
  const status = new Uint8Array(l);
  const setStatus = (t: number) => { status[t] = alpha[t]! >= C ? 2 : alpha[t]! <= 0 ? 0 : 1; };
  const maxIter = maxIterations ?? Math.max(10_000_000, 100 * l);
  let iter = 0;
  while (iter < maxIter) {
    // Working set: i maximizes -y_t G_t over I_up; j minimizes the second-order objective decrease over I_low.
    let Gmax = -Infinity, Gmax2 = -Infinity, i = -1, j = -1, objMin = Infinity;
    for (let t = 0; t < l; t++) {
      if (y[t] === 1) { if (status[t] !== 2 && -G[t]! >= Gmax) { Gmax = -G[t]!; i = t; } } else if (status[t] !== 0 && G[t]! >= Gmax) { Gmax = G[t]!; i = t; }
    }
    if (i < 0) break;
    const rowI = i * l, yi = y[i]!, qdi = QD[i]!;
    for (let t = 0; t < l; t++) {
      let gradDiff: number;
      if (y[t] === 1) {
        if (status[t] === 0) continue;
        gradDiff = Gmax + G[t]!;
        if (G[t]! >= Gmax2) Gmax2 = G[t]!;
      } else {
        if (status[t] === 2) continue;
        gradDiff = Gmax - G[t]!;
        if (-G[t]! >= Gmax2) Gmax2 = -G[t]!;
      }
      if (gradDiff > 0) {
        // K_ii + K_jj - 2 K_ij, with K_ij = y_i y_t Q_it.
        let quad = qdi + QD[t]! - 2 * yi * y[t]! * Q[rowI + t]!;
        if (quad <= 0) quad = TAU;
        const obj = -(gradDiff * gradDiff) / quad;
        if (obj <= objMin) { j = t; objMin = obj; }
      }
    }
    if (Gmax + Gmax2 < eps || j < 0) break;
    iter++;
    const qij = Q[rowI + j]!;
    const oldAi = alpha[i]!, oldAj = alpha[j]!;
    let ai = oldAi, aj = oldAj;
    if (yi !== y[j]) {
      let quad = qdi + QD[j]! + 2 * qij;
      if (quad <= 0) quad = TAU;
      const delta = (-G[i]! - G[j]!) / quad;
      const diff = ai - aj;
      ai += delta; aj += delta;
      if (diff > 0) { if (aj < 0) { aj = 0; ai = diff; } } else if (ai < 0) { ai = 0; aj = -diff; }
      if (diff > 0) { if (ai > C) { ai = C; aj = C - diff; } } else if (aj > C) { aj = C; ai = C + diff; }
    } else {
      let quad = qdi + QD[j]! - 2 * qij;
      if (quad <= 0) quad = TAU;
      const delta = (G[i]! - G[j]!) / quad;
      const sum = ai + aj;
      ai -= delta; aj += delta;
      if (sum > C) { if (ai > C) { ai = C; aj = sum - C; } } else if (aj < 0) { aj = 0; ai = sum; }
      if (sum > C) { if (aj > C) { aj = C; ai = sum - C; } } else if (ai < 0) { ai = 0; aj = sum; }
    }
    alpha[i] = ai; alpha[j] = aj;
    setStatus(i); setStatus(j);
    const dAi = ai - oldAi, dAj = aj - oldAj;
    const rowJ = j * l;
    for (let t = 0; t < l; t++) G[t] = G[t]! + Q[rowI + t]! * dAi + Q[rowJ + t]! * dAj;
  }
  let ub = Infinity, lb = -Infinity, sumFree = 0, nFree = 0;
  for (let t = 0; t < l; t++) {
    const yG = y[t]! * G[t]!;
    if (status[t] === 2) { if (y[t] === -1) ub = Math.min(ub, yG); else lb = Math.max(lb, yG); }
    else if (status[t] === 0) { if (y[t] === 1) ub = Math.min(ub, yG); else lb = Math.max(lb, yG); }
    else { nFree++; sumFree += yG; }
  }
  const rho = nFree > 0 ? sumFree / nFree : (ub + lb) / 2;
  return { index: [...index], coef: Array.from(alpha, (a, t) => a * y[t]!), intercept: -rho, iterations: iter };
}

/** A reproducible permutation (mulberry32 of `seed`). */
function permutation(l: number, seed: number): number[] {
  let s = (seed ^ 0x5bd1e995) >>> 0;
  const rand = () => {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const p = Array.from({ length: l }, (_, i) => i);
  for (let i = l - 1; i > 0; i--) { const r = Math.floor(rand() * (i + 1)); [p[i], p[r]] = [p[r]!, p[i]!]; }
  return p;
}

/** LIBSVM's svm_binary_svc_probability: decision values from 5-fold cross-validation, then Platt's sigmoid. */
function plattByCrossValidation(gram: Float64Array, n: number, index: readonly number[], y: readonly number[], C: number, eps: number, maxIterations: number | undefined, seed: number): [number, number] {
  const l = index.length, folds = 5;
  const perm = permutation(l, seed);
  const dec = new Float64Array(l);
  for (let f = 0; f < folds; f++) {
    const begin = Math.floor((f * l) / folds), end = Math.floor(((f + 1) * l) / folds);
    const test = perm.slice(begin, end);
    const train = [...perm.slice(0, begin), ...perm.slice(end)];
    const pos = train.filter((t) => y[t] === 1).length;
    if (pos === 0 || pos === train.length) {
      // One class only in the training part: LIBSVM gives its sign as the decision value.
      for (const t of test) dec[t] = pos === 0 ? -1 : 1;
      continue;
    }
    const m = solveBinary(gram, n, train.map((t) => index[t]!), train.map((t) => y[t]!), C, eps, maxIterations);
    for (const t of test) {
      let v = m.intercept;
      const row = index[t]! * n;
      m.index.forEach((i, s) => { if (m.coef[s] !== 0) v += m.coef[s]! * gram[row + i]!; });
      dec[t] = v;
    }
  }
  return sigmoidTrain(dec, y);
}

/** Platt's sigmoid 1 / (1 + exp(A f + B)) by Newton's method with backtracking (Lin, Lin & Weng 2007; LIBSVM's sigmoid_train). */
function sigmoidTrain(dec: Float64Array, y: readonly number[]): [number, number] {
  const l = dec.length;
  const prior1 = y.filter((v) => v === 1).length, prior0 = l - prior1;
  const hi = (prior1 + 1) / (prior1 + 2), lo = 1 / (prior0 + 2);
  const target = y.map((v) => (v === 1 ? hi : lo));
  const objective = (A: number, B: number) => {
    let f = 0;
    for (let i = 0; i < l; i++) {
      const fApB = dec[i]! * A + B;
      f += fApB >= 0 ? target[i]! * fApB + Math.log1p(Math.exp(-fApB)) : (target[i]! - 1) * fApB + Math.log1p(Math.exp(fApB));
    }
    return f;
  };
  let A = 0, B = Math.log((prior0 + 1) / (prior1 + 1));
  let fval = objective(A, B);
  for (let iter = 0; iter < 100; iter++) {
    let h11 = 1e-12, h22 = 1e-12, h21 = 0, g1 = 0, g2 = 0;
    for (let i = 0; i < l; i++) {
      const fApB = dec[i]! * A + B;
      const [p, q] = fApB >= 0 ? [Math.exp(-fApB) / (1 + Math.exp(-fApB)), 1 / (1 + Math.exp(-fApB))] : [1 / (1 + Math.exp(fApB)), Math.exp(fApB) / (1 + Math.exp(fApB))];
      const d2 = p * q;
      h11 += dec[i]! * dec[i]! * d2; h22 += d2; h21 += dec[i]! * d2;
      const d1 = target[i]! - p;
      g1 += dec[i]! * d1; g2 += d1;
    }
    if (Math.abs(g1) < 1e-5 && Math.abs(g2) < 1e-5) break;
    const det = h11 * h22 - h21 * h21;
    const dA = -(h22 * g1 - h21 * g2) / det, dB = -(-h21 * g1 + h11 * g2) / det;
    const gd = g1 * dA + g2 * dB;
    let step = 1;
    while (step >= 1e-10) {
      const nA = A + step * dA, nB = B + step * dB;
      const nf = objective(nA, nB);
      if (nf < fval + 1e-4 * step * gd) { A = nA; B = nB; fval = nf; break; }
      step /= 2;
    }
    if (step < 1e-10) break;
  }
  return [A, B];
}
