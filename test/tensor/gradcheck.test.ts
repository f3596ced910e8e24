// Finite-difference gradient checks (float64) of every differentiable op of dlkit.functional
// and of the differentiable Tensor methods, from one table; then gradcheck's own behaviour:
// it must fail on a wrong gradient, name the input and element, and leak nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as dl from '../../src/index.js';
import type { Tensor, GradcheckOutput } from '../../src/index.js';
import { noLeaks } from '../helpers.js';

const F = dl.functional;
const f64 = { dtype: 'float64' as const };

// ---- inputs: small float64 tensors; checked ones have requiresGrad ----
/** Standard normal * scale. */
const randn = (shape: number[], scale = 1): Tensor => dl.tidy(() => dl.randn(shape, f64).mul(scale)).requiresGrad_();
/** Normal values pushed at least `gap` away from `at` (kinks: relu at 0, clamp at its bounds). */
const awayFrom = (shape: number[], at = 0, gap = 0.1): Tensor =>
  dl.tidy(() => {
    const x = dl.randn(shape, f64);
    return x.sign().mul(x.abs().add(gap)).add(at);
  }).requiresGrad_();
/** Shuffled values 0.1 apart: no ties for max pooling, max, sort, topk. */
const distinct = (shape: number[]): Tensor => {
  const n = shape.reduce((a, b) => a * b, 1);
  return dl.tidy(() => dl.randperm(n, f64).sub(n / 2).mul(0.1).reshape(shape)).requiresGrad_();
};
const uniform = (shape: number[], low: number, high: number, requiresGrad = true): Tensor =>
  dl.tidy(() => dl.rand(shape, f64).mul(high - low).add(low)).requiresGrad_(requiresGrad);
/** Class indices (int64): not differentiable, passed through unchecked. */
const labels = (shape: number[], classes: number): Tensor => dl.randint(0, classes, shape);
/** Probability rows (softmax of normals), checked. */
const probabilities = (shape: number[]): Tensor => dl.tidy(() => dl.randn(shape, f64).softmax(-1)).requiresGrad_();
const constant = (t: Tensor): Tensor => t.requiresGrad_(false);

interface Case {
  /** The function of dlkit.functional (or 'Tensor.<method>') this case covers. */
  op: string;
  name: string;
  fn: (...t: Tensor[]) => GradcheckOutput;
  inputs: () => Tensor[];
}

const CASES: Case[] = [
  { op: 'conv1d', name: 'stride 2, padding 1, dilation 2', fn: (x, w, b) => F.conv1d(x, w, b, { stride: 2, padding: 1, dilation: 2 }), inputs: () => [randn([2, 2, 9]), randn([3, 2, 3]), randn([3])] },
  { op: 'conv1d', name: "padding 'same', groups 2", fn: (x, w) => F.conv1d(x, w, null, { padding: 'same', groups: 2 }), inputs: () => [randn([1, 4, 6]), randn([4, 2, 4])] },
  { op: 'conv2d', name: 'stride 2, padding 1', fn: (x, w, b) => F.conv2d(x, w, b, { stride: 2, padding: 1 }), inputs: () => [randn([1, 2, 5, 5]), randn([3, 2, 3, 3]), randn([3])] },
  { op: 'conv2d', name: "padding 'same', dilation 2, groups 2", fn: (x, w) => F.conv2d(x, w, null, { padding: 'same', dilation: 2, groups: 2 }), inputs: () => [randn([1, 4, 5, 5]), randn([2, 2, 3, 3])] },
  { op: 'convTranspose2d', name: 'stride 2, padding 1, outputPadding 1, groups 2', fn: (x, w, b) => F.convTranspose2d(x, w, b, { stride: 2, padding: 1, outputPadding: 1, groups: 2 }), inputs: () => [randn([1, 4, 3, 3]), randn([4, 1, 3, 3]), randn([2])] },
  { op: 'convTranspose2d', name: 'dilation 2', fn: (x, w) => F.convTranspose2d(x, w, null, { dilation: 2 }), inputs: () => [randn([1, 2, 3, 3]), randn([2, 2, 2, 2])] },
  { op: 'maxPool1d', name: 'k3 stride 2 padding 1 ceilMode', fn: (x) => F.maxPool1d(x, 3, { stride: 2, padding: 1, ceilMode: true }), inputs: () => [distinct([2, 2, 10])] },
  { op: 'maxPool2d', name: 'k3 stride 2 padding 1', fn: (x) => F.maxPool2d(x, 3, { stride: 2, padding: 1 }), inputs: () => [distinct([1, 2, 6, 6])] },
  { op: 'maxPool2d', name: 'k2 dilation 2 ceilMode', fn: (x) => F.maxPool2d(x, 2, { dilation: 2, ceilMode: true }), inputs: () => [distinct([1, 2, 7, 7])] },
  { op: 'avgPool1d', name: 'k3 stride 2 padding 1 excluding padding', fn: (x) => F.avgPool1d(x, 3, { stride: 2, padding: 1, countIncludePad: false }), inputs: () => [randn([2, 2, 9])] },
  { op: 'avgPool2d', name: 'k3 stride 2 padding 1 ceilMode', fn: (x) => F.avgPool2d(x, 3, { stride: 2, padding: 1, ceilMode: true }), inputs: () => [randn([1, 2, 6, 6])] },
  { op: 'avgPool2d', name: 'k2 divisorOverride 3', fn: (x) => F.avgPool2d(x, 2, { divisorOverride: 3 }), inputs: () => [randn([1, 2, 4, 4])] },
  { op: 'adaptiveAvgPool2d', name: '7x5 -> 3x2', fn: (x) => F.adaptiveAvgPool2d(x, [3, 2]), inputs: () => [randn([1, 2, 7, 5])] },
  { op: 'adaptiveMaxPool2d', name: '7x5 -> 3x2', fn: (x) => F.adaptiveMaxPool2d(x, [3, 2]), inputs: () => [distinct([1, 2, 7, 5])] },
  { op: 'globalAvgPool2d', name: '3x4', fn: (x) => F.globalAvgPool2d(x), inputs: () => [randn([2, 2, 3, 4])] },
  {
    op: 'batchNorm', name: 'training, affine, fresh running stats',
    fn: (x, w, b) => F.batchNorm(x, { weight: w, bias: b, training: true, runningMean: dl.zeros([3], f64), runningVar: dl.ones([3], f64) }),
    inputs: () => [randn([4, 3, 2, 2], 2), uniform([3], 0.5, 1.5), randn([3])],
  },
  { op: 'batchNorm', name: 'training, 3-D, no affine', fn: (x) => F.batchNorm(x, { training: true, eps: 1e-3 }), inputs: () => [randn([5, 2, 3])] },
  {
    op: 'batchNorm', name: 'eval, affine',
    fn: (x, w, b, m, v) => F.batchNorm(x, { weight: w, bias: b, runningMean: m, runningVar: v, training: false }),
    inputs: () => [randn([3, 3, 2]), uniform([3], 0.5, 1.5), randn([3]), constant(randn([3], 0.1)), uniform([3], 0.5, 1.5, false)],
  },
  { op: 'layerNorm', name: 'affine, last dim', fn: (x, w, b) => F.layerNorm(x, [5], w, b), inputs: () => [randn([3, 5], 2), uniform([5], 0.5, 1.5), randn([5])] },
  { op: 'layerNorm', name: 'no affine, two dims', fn: (x) => F.layerNorm(x, [3, 4], null, null, 1e-3), inputs: () => [randn([2, 3, 4])] },
  { op: 'localResponseNorm', name: '4-D size 3 alpha 0.5', fn: (x) => F.localResponseNorm(x, 3, { alpha: 0.5, beta: 0.75, k: 1 }), inputs: () => [randn([2, 5, 2, 2])] },
  { op: 'localResponseNorm', name: '3-D size 2', fn: (x) => F.localResponseNorm(x, 2, { alpha: 0.3, beta: 1, k: 2 }), inputs: () => [randn([2, 4, 3])] },
  { op: 'dropout', name: 'eval (identity)', fn: (x) => F.dropout(x, 0.5, false), inputs: () => [randn([3, 4])] },
  { op: 'dropout', name: 'p=0 while training', fn: (x) => F.dropout(x, 0, true), inputs: () => [randn([3, 4])] },
  { op: 'linear', name: 'with bias', fn: (x, w, b) => F.linear(x, w, b), inputs: () => [randn([3, 4]), randn([2, 4]), randn([2])] },
  { op: 'linear', name: '3-D input, no bias', fn: (x, w) => F.linear(x, w), inputs: () => [randn([2, 2, 4]), randn([3, 4])] },
  { op: 'relu', name: 'away from 0', fn: (x) => F.relu(x), inputs: () => [awayFrom([3, 5])] },
  { op: 'leakyRelu', name: 'slope 0.2', fn: (x) => F.leakyRelu(x, 0.2), inputs: () => [awayFrom([3, 5])] },
  { op: 'elu', name: 'alpha 0.5', fn: (x) => F.elu(x, 0.5), inputs: () => [awayFrom([3, 5])] },
  { op: 'gelu', name: 'exact', fn: (x) => F.gelu(x), inputs: () => [randn([3, 5], 2)] },
  { op: 'gelu', name: 'tanh approximation', fn: (x) => F.gelu(x, 'tanh'), inputs: () => [randn([3, 5], 2)] },
  { op: 'sigmoid', name: 'basic', fn: (x) => F.sigmoid(x), inputs: () => [randn([3, 5], 2)] },
  { op: 'tanh', name: 'basic', fn: (x) => F.tanh(x), inputs: () => [randn([3, 5], 2)] },
  { op: 'clippedRelu', name: 'ceiling 1', fn: (x) => F.clippedRelu(x, 1), inputs: () => [awayFrom([3, 5])] },
  { op: 'softplus', name: 'default', fn: (x) => F.softplus(x), inputs: () => [randn([3, 5], 2)] },
  { op: 'softplus', name: 'beta 2', fn: (x) => F.softplus(x, 2), inputs: () => [randn([3, 5], 2)] },
  { op: 'softmax', name: 'dim 1', fn: (x) => F.softmax(x, 1), inputs: () => [randn([3, 5])] },
  { op: 'logSoftmax', name: 'dim 0 of 3-D', fn: (x) => F.logSoftmax(x, 0), inputs: () => [randn([3, 2, 4])] },
  { op: 'crossEntropy', name: 'plain', fn: (x, t) => F.crossEntropy(x, t), inputs: () => [randn([4, 3], 2), labels([4], 3)] },
  {
    op: 'crossEntropy', name: 'class weights, labelSmoothing, ignoreIndex',
    fn: (x, t, w) => F.crossEntropy(x, t, { weight: w, labelSmoothing: 0.2, ignoreIndex: 0 }),
    inputs: () => [randn([6, 3], 2), dl.tensor([0, 1, 2, 1, 0, 2], { dtype: 'int64' }), uniform([3], 0.5, 2, false)],
  },
  { op: 'crossEntropy', name: 'spatial, reduction sum', fn: (x, t) => F.crossEntropy(x, t, { reduction: 'sum' }), inputs: () => [randn([2, 3, 4]), labels([2, 4], 3)] },
  { op: 'crossEntropy', name: 'probability targets (both checked)', fn: (x, t) => F.crossEntropy(x, t), inputs: () => [randn([4, 3]), probabilities([4, 3])] },
  { op: 'nllLoss', name: 'class weights, reduction none', fn: (x, t, w) => F.nllLoss(x, t, { weight: w, reduction: 'none' }), inputs: () => [randn([4, 3]), labels([4], 3), uniform([3], 0.5, 2, false)] },
  { op: 'nllLoss', name: 'ignoreIndex, mean', fn: (x, t) => F.nllLoss(x, t, { ignoreIndex: 1 }), inputs: () => [randn([5, 3]), dl.tensor([0, 1, 2, 2, 1], { dtype: 'int64' })] },
  { op: 'mseLoss', name: 'mean (input and target)', fn: (x, t) => F.mseLoss(x, t), inputs: () => [randn([3, 4]), randn([3, 4])] },
  { op: 'mseLoss', name: 'none', fn: (x, t) => F.mseLoss(x, t, 'none'), inputs: () => [randn([3, 4]), randn([3, 4])] },
  {
    op: 'binaryCrossEntropyWithLogits', name: 'weight, posWeight, sum (input and target)',
    fn: (x, t, w, pw) => F.binaryCrossEntropyWithLogits(x, t, { weight: w, posWeight: pw, reduction: 'sum' }),
    inputs: () => [randn([3, 4], 2), uniform([3, 4], 0, 1), uniform([3, 1], 0.5, 2, false), uniform([4], 0.5, 3, false)],
  },
  { op: 'binaryCrossEntropyWithLogits', name: 'mean', fn: (x, t) => F.binaryCrossEntropyWithLogits(x, t), inputs: () => [randn([3, 4], 2), uniform([3, 4], 0, 1, false)] },

  // Tensor methods with non-trivial backward formulas
  { op: 'Tensor.matmul', name: 'broadcast batched', fn: (a, b) => a.matmul(b), inputs: () => [randn([2, 1, 3, 4]), randn([3, 4, 2])] },
  { op: 'Tensor.std', name: 'dims 0,2 unbiased', fn: (x) => x.std([0, 2]), inputs: () => [randn([3, 4, 2])] },
  { op: 'Tensor.var', name: 'biased, keepdim', fn: (x) => x.var(1, { unbiased: false, keepdim: true }), inputs: () => [randn([3, 4])] },
  { op: 'Tensor.max', name: 'dim 1 (values and indices)', fn: (x) => x.max(1), inputs: () => [distinct([3, 5])] },
  { op: 'Tensor.topk', name: 'k 2 smallest', fn: (x) => x.topk(2, { largest: false }), inputs: () => [distinct([3, 5])] },
  { op: 'Tensor.sort', name: 'descending dim 0', fn: (x) => x.sort(0, true), inputs: () => [distinct([4, 3])] },
  { op: 'Tensor.pow', name: 'tensor exponent, broadcast', fn: (a, b) => a.pow(b), inputs: () => [uniform([3, 1], 0.5, 2), randn([4])] },
  { op: 'Tensor.div', name: 'broadcast', fn: (a, b) => a.div(b), inputs: () => [randn([2, 3]), uniform([3], 0.5, 2)] },
  { op: 'Tensor.clamp', name: 'away from the bounds', fn: (x) => x.clamp(-0.5, 0.5), inputs: () => [dl.tensor([-1.2, -0.3, 0.1, 0.45, 0.9, 2], { ...f64, requiresGrad: true })] },
  { op: 'Tensor.where', name: 'broadcast', fn: (c, a, b) => dl.where(c, a, b), inputs: () => [dl.tensor([[true, false, true], [false, false, true]]), randn([2, 3]), randn([3])] },
  { op: 'Tensor.index', name: 'slice, int64 index, bool mask', fn: (x, i, m) => x.index('1:', i, m), inputs: () => [randn([3, 4, 2]), dl.tensor([3, 0, 3], { dtype: 'int64' }), dl.tensor([true, false])] },
  { op: 'Tensor.gather', name: 'dim 1', fn: (x, i) => x.gather(1, i), inputs: () => [randn([3, 4]), dl.tensor([[0, 3], [1, 1], [2, 0]], { dtype: 'int64' })] },
  { op: 'Tensor.scatterAdd', name: 'duplicate indices', fn: (x, i, s) => x.scatterAdd(1, i, s), inputs: () => [randn([2, 4]), dl.tensor([[0, 0, 3], [1, 2, 1]], { dtype: 'int64' }), randn([2, 3])] },
  { op: 'Tensor.logSoftmax', name: 'dim -1', fn: (x) => x.logSoftmax(-1), inputs: () => [randn([3, 4])] },
  { op: 'cat/stack', name: 'cat then stack', fn: (a, b) => dl.stack([dl.cat([a, b], 1), dl.cat([b, a], 1)], 0), inputs: () => [randn([2, 2]), randn([2, 3])] },
];

test('the table covers every function of dlkit.functional', () => {
  const covered = new Set(CASES.map((c) => c.op));
  const missing = Object.keys(F).filter((k) => typeof (F as Record<string, unknown>)[k] === 'function' && !covered.has(k));
  assert.deepEqual(missing, [], 'functional ops without a gradcheck case');
});

CASES.forEach((c, i) => {
  test(`gradcheck ${c.op}: ${c.name}`, async () => {
    await noLeaks(() => {
      dl.manualSeed(1000 + i);
      const inputs = c.inputs();
      try {
        const r = dl.gradcheck(c.fn, inputs);
        const expected = inputs.filter((t) => t.requiresGrad).reduce((n, t) => n + t.size, 0);
        assert.equal(r.elements, expected);
        // Measured: at most ~2e-9 over the table (central differences, eps 1e-6, in float64).
        assert.ok(r.maxAbsError < 1e-6, `max error ${r.maxAbsError}`);
      } finally {
        dl.dispose(inputs);
      }
    });
  });
});

// ---- gradcheck itself ----

/** Functions whose autograd gradient is wrong on purpose: .detach() hides part of the graph. */
const WRONG: { name: string; fn: (...t: Tensor[]) => Tensor; inputs: () => Tensor[]; input: number; ratio?: number }[] = [
  // d(x * x)/dx is 2x, but detaching one factor makes autograd report x.
  { name: 'x * x.detach()', fn: (x) => x.mul(x.detach()), inputs: () => [awayFrom([3, 4])], input: 0, ratio: 2 },
  // A straight-through estimator: forward is round(x) (derivative 0), autograd says 1.
  { name: 'straight-through round', fn: (x) => x.add(x.round().sub(x).detach()), inputs: () => [dl.tensor([0.2, 1.3, -0.7, 2.1], { ...f64, requiresGrad: true })], input: 0, ratio: 0 },
  // The first input is right, the second wrong: the error must name input 1.
  { name: 'second input wrong', fn: (a, b) => a.mul(b).add(b.mul(b.detach())), inputs: () => [randn([2, 3]), awayFrom([2, 3])], input: 1 },
];

for (const w of WRONG) {
  test(`gradcheck fails on a wrong gradient: ${w.name}`, async () => {
    await noLeaks(() => {
      dl.manualSeed(7);
      const inputs = w.inputs();
      try {
        assert.throws(() => dl.gradcheck(w.fn, inputs), (e: unknown) => {
          assert.ok(e instanceof dl.GradcheckError, `expected a GradcheckError, got ${e}`);
          assert.equal(e.input, w.input);
          const shape = inputs[w.input]!.shape.join(', ');
          assert.match(e.message, new RegExp(`^gradcheck: gradient of input ${w.input} \\(shape \\[${shape}\\]\\) differs at element ${e.element} \\(index \\[[\\d, ]+\\]\\): analytical -?[\\d.e-]+, numerical -?[\\d.e-]+`));
          assert.match(e.message, /of \d+ elements differ/);
          if (w.ratio !== undefined) assert.ok(Math.abs(e.numerical - w.ratio * e.analytical) < 1e-6, `numerical ${e.numerical} vs ${w.ratio} * analytical ${e.analytical}`);
          return true;
        });
      } finally {
        dl.dispose(inputs);
      }
    });
  });
}

test('gradcheck passes the same wrong function once the tolerance allows it', async () => {
  // x * x.detach() is off by a factor of 2: rtol 0.6 of |numerical| covers the difference.
  await noLeaks(() => {
    const x = awayFrom([2, 2]);
    try {
      dl.gradcheck((t) => t.mul(t.detach()), [x], { rtol: 0.6 });
    } finally {
      x.dispose();
    }
  });
});

test('gradcheck rejects float32 inputs and calls with nothing to check', async () => {
  await noLeaks(() => {
    const x32 = dl.randn([3], { requiresGrad: true });
    const x64 = dl.randn([3], f64);
    try {
      assert.throws(() => dl.gradcheck((t) => t.exp(), [x32]), /gradcheck: input 0 is float32 \[3\]; finite differences need float64/);
      assert.throws(() => dl.gradcheck((t) => t.exp(), [x64]), /gradcheck: no input has requiresGrad set/);
      x64.requiresGrad_();
      assert.throws(() => dl.gradcheck((t) => t.argmax(), [x64]), /gradcheck: fn returned no floating-point tensor/);
    } finally {
      dl.dispose([x32, x64]);
    }
  });
});

test('gradcheck leaves its inputs untouched, without .grad, also inside noGrad', async () => {
  await noLeaks(() => {
    const x = randn([2, 3]);
    try {
      const before = Array.from(x.dataSync() as Float64Array);
      const r = dl.noGrad(() => dl.gradcheck((t) => t.sin().mul(t), [x]));
      assert.deepEqual(r.inputs, [0]);
      assert.equal(r.elements, 6);
      assert.equal(x.grad, null);
      assert.deepEqual(Array.from(x.dataSync() as Float64Array), before);
      assert.equal(dl.isGradEnabled(), true);
    } finally {
      x.dispose();
    }
  });
});

test('gradcheck frees everything when fn throws', async () => {
  await noLeaks(() => {
    const x = randn([2, 2]);
    try {
      let calls = 0;
      assert.throws(() => dl.gradcheck((t) => { if (++calls > 3) throw new Error('boom'); return t.exp(); }, [x]), /boom/);
    } finally {
      x.dispose();
    }
  });
});
