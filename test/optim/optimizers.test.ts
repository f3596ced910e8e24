// Optimizers against torch.optim (fixtures/optim.json), checkpoints, frozen parameters,
// validation messages, gradient clipping and leaks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as dl from '../../src/index.js';
import type { Tensor } from '../../src/index.js';
import { assertClose, noLeaks } from '../helpers.js';
import { loadOptimFixture, type OptimizerCase, type Solver } from './fixture.js';

const { SGDM, Adam, AdamW, RMSProp, clipGradNorm, clipGradValue } = dl.optim;
const fx = loadOptimFixture();
const { shapes, initial, grads } = fx.optimizers;

// float32 throughout. dlkit runs PyTorch's single-tensor update with the same ATen ops in the
// same order and the same double-precision scalars: against Debian's libtorch 1.13 every case
// is bit-identical. atol 1e-6 / rtol 1e-5 leaves room for another libtorch's kernels, no more.
const TOL = { atol: 1e-6, rtol: 1e-5 };

function makeParams(): Tensor[] {
  return initial.map((v, i) => dl.tensor(Float32Array.from(v), { shape: shapes[i] }).requiresGrad_());
}

function makeOptimizer(solver: Solver, params: Tensor[], options: Record<string, unknown>, groups: OptimizerCase['groups']): dl.optim.Optimizer {
  const spec = groups ? groups.map((g) => ({ ...g, params: g.params.map((i) => params[i]!) })) : params;
  switch (solver) {
    case 'sgdm': return new SGDM(spec, options);
    case 'adam': return new Adam(spec, options);
    case 'adamw': return new AdamW(spec, options);
    case 'rmsprop': return new RMSProp(spec, options);
  }
}

/** Gives each parameter the fixture's gradient for `step` (none where the case skips it). */
function setGrads(params: Tensor[], step: number, skip: [number, number][] = []): void {
  params.forEach((p, i) => {
    p.zeroGrad();
    if (skip.some(([s, j]) => s === step && j === i)) return;
    using g = dl.tensor(Float32Array.from(grads[step]![i]!), { shape: shapes[i] });
    p.backward(g); // a leaf's backward with an explicit gradient sets .grad to it
  });
}

const values = (params: Tensor[]) => params.map((p) => Array.from(p.dataSync() as Float32Array));

for (const c of fx.optimizers.cases) {
  test(`${c.name}: 3 steps match torch.optim`, () => noLeaks(() => {
    const params = makeParams();
    const opt = makeOptimizer(c.solver, params, c.options, c.groups);
    for (let step = 0; step < c.after.length; step++) {
      setGrads(params, step, c.skip);
      opt.step();
      params.forEach((p, i) => assertClose(p, c.after[step]![i]!, { ...TOL, shape: shapes[i] }));
    }
    opt.dispose();
    dl.dispose(params);
  }));

  test(`${c.name}: save after step 1, load into a new optimizer, continue = uninterrupted`, () => noLeaks(() => {
    // Uninterrupted run.
    const ref = makeParams();
    const refOpt = makeOptimizer(c.solver, ref, c.options, c.groups);
    for (let step = 0; step < 3; step++) { setGrads(ref, step, c.skip); refOpt.step(); }

    const params = makeParams();
    const first = makeOptimizer(c.solver, params, c.options, c.groups);
    setGrads(params, 0, c.skip);
    first.step();
    const saved = first.stateDict();
    first.dispose();
    const state = JSON.parse(JSON.stringify(saved.state)) as Record<string, unknown>; // it is JSON
    const second = makeOptimizer(c.solver, params, c.options, c.groups);
    second.loadStateDict({ tensors: saved.tensors, state });
    dl.dispose(saved.tensors); // the optimizer copied them
    for (let step = 1; step < 3; step++) { setGrads(params, step, c.skip); second.step(); }
    assert.deepEqual(values(params), values(ref), 'identical to the uninterrupted run');
    second.dispose();
    refOpt.dispose();
    dl.dispose([params, ref]);
  }));
}

test('state dict: PyTorch state names, group.param.name keys, shapes and steps in the JSON state', () => noLeaks(() => {
  const params = makeParams();
  const opt = new Adam([{ params: [params[0]!], name: 'conv1', lrFactor: 2 }, { params: [params[1]!, params[2]!] }], { learnRate: 0.01 });
  setGrads(params, 0, [[0, 2]]);
  opt.step();
  const sd = opt.stateDict();
  assert.deepEqual(Object.keys(sd.tensors).sort(), ['0.0.exp_avg', '0.0.exp_avg_sq', '1.0.exp_avg', '1.0.exp_avg_sq']);
  assert.deepEqual(sd.state, {
    optimizer: 'Adam',
    learnRate: 0.01,
    options: { beta1: 0.9, beta2: 0.999, epsilon: 1e-8, amsgrad: false, l2Regularization: 0 },
    groups: [
      { name: 'conv1', lrFactor: 2, l2Factor: 1, params: [{ shape: [3, 4], step: 1 }] },
      { lrFactor: 1, l2Factor: 1, params: [{ shape: [4], step: 1 }, { shape: [2, 3], step: 0 }] },
    ],
  });
  // Copies: disposing them leaves the optimizer's state intact.
  dl.dispose(sd.tensors);
  assert.equal(opt.paramState(params[0]!)!.tensors.get('exp_avg')!.isDisposed, false);
  opt.dispose();
  dl.dispose(params);
}));

test('loadStateDict names every mismatch and changes nothing when one is found', () => noLeaks(() => {
  const params = makeParams();
  const opt = new SGDM(params, { learnRate: 0.1 });
  setGrads(params, 0);
  opt.step();
  const sd = opt.stateDict();

  // Another model: parameter 1 has a different shape.
  const other = [dl.zeros([3, 4]).requiresGrad_(), dl.zeros([5]).requiresGrad_(), dl.zeros([2, 3]).requiresGrad_()];
  const wrong = new SGDM(other, { learnRate: 0.1 });
  assert.throws(() => wrong.loadStateDict(sd), (e: Error) => {
    assert.match(e.message, /^SGDM\.loadStateDict: the state dict does not fit this optimizer:/);
    assert.match(e.message, /group 0 parameter 1 has shape \[5\] but \[4\] in the state dict/);
    assert.match(e.message, /'0\.1\.momentum_buffer' has shape \[4\], expected \[5\] \(the shape of group 0 parameter 1\)/);
    return true;
  });
  assert.equal(wrong.paramState(other[0]!)!.tensors.size, 0, 'nothing was loaded');
  wrong.dispose();

  const adam = new Adam(params);
  assert.throws(() => adam.loadStateDict(sd), /^Error: Adam\.loadStateDict: the state dict was saved by "SGDM", not Adam$/);
  adam.dispose();

  const again = new SGDM(params, { learnRate: 0.1 });
  const { ['0.2.momentum_buffer']: dropped, ...rest } = sd.tensors;
  assert.throws(() => again.loadStateDict({ tensors: rest, state: sd.state }), /'0\.2\.momentum_buffer' is missing \(the parameter has had 1 steps\)/);
  const noMomentum = new SGDM(params, { learnRate: 0.1, momentum: 0 });
  assert.throws(() => noMomentum.loadStateDict(sd), /'0\.0\.momentum_buffer' is not state of SGDM with these options \(expected no state tensors\)/);
  again.dispose();
  noMomentum.dispose();
  opt.dispose();
  dl.dispose([dropped, sd.tensors, other, params]);
}));

test('frozen parameters, parameters without a gradient and lrFactor 0 are left alone', () => noLeaks(() => {
  const params = makeParams();
  const [a, b, c] = params as [Tensor, Tensor, Tensor];
  const before = values(params);
  const opt = new Adam([{ params: [a, b] }, { params: [c], lrFactor: 0 }], { learnRate: 0.1 });
  setGrads(params, 0, [[0, 1]]); // b has no gradient
  a.requiresGrad_(false); // a has one, but is frozen
  opt.step();
  const after = values(params);
  assert.deepEqual(after[0], before[0], 'frozen parameter unchanged');
  assert.deepEqual(after[1], before[1], 'parameter without a gradient unchanged');
  assert.deepEqual(after[2], before[2], 'lrFactor 0 parameter unchanged');
  assert.equal(opt.paramState(a)!.step, 0);
  assert.equal(opt.paramState(a)!.tensors.size, 0, 'no state for a frozen parameter');
  assert.equal(opt.paramState(b)!.step, 0);
  assert.equal(opt.paramState(c)!.step, 1, 'lrFactor 0 still updates the moment estimates, as PyTorch with lr 0');
  // Unfrozen, it trains.
  a.requiresGrad_(true);
  setGrads(params, 1);
  opt.step();
  assert.notDeepEqual(values(params)[0], before[0]);
  opt.dispose();
  dl.dispose(params);
}));

test('learnRate: the base rate times each group lrFactor; the setter validates', () => noLeaks(() => {
  const a = dl.tensor([1, 1]).requiresGrad_();
  const b = dl.tensor([1, 1]).requiresGrad_();
  const opt = new SGDM([{ params: [a] }, { params: [b], lrFactor: 0.5 }], { learnRate: 0.1, momentum: 0 });
  const grad = () => { for (const p of [a, b]) { p.zeroGrad(); using g = dl.tensor([1, 2]); p.backward(g); } };
  grad();
  opt.step();
  assertClose(a, [0.9, 0.8], { atol: 1e-7, rtol: 0 });
  assertClose(b, [0.95, 0.9], { atol: 1e-7, rtol: 0 });
  opt.learnRate = 0;
  grad();
  opt.step();
  assertClose(a, [0.9, 0.8], { atol: 1e-7, rtol: 0 });
  assert.equal(opt.learnRate, 0);
  assert.throws(() => { opt.learnRate = -1; }, /^RangeError: SGDM: learnRate must be a number >= 0, got -1$/);
  assert.throws(() => { opt.learnRate = NaN; }, /^TypeError: SGDM: learnRate must be a number >= 0, got NaN$/);
  opt.zeroGrad();
  assert.equal(a.grad, null);
  assert.equal(b.grad, null);
  opt.dispose();
  dl.dispose([a, b]);
}));

test('a step keeps only state tensors, also inside tidy; dispose frees them', () => {
  const params = makeParams();
  const start = dl.memory().liveTensors;
  const opt = new RMSProp(params, { momentum: 0.9, centered: true, l2Regularization: 1e-3 });
  assert.equal(dl.memory().liveTensors, start, 'construction allocates nothing');
  setGrads(params, 0);
  for (const p of params) void p.grad; // the gradient's handle, owned by the parameter
  const withGrads = dl.memory().liveTensors;
  dl.tidy(() => opt.step()); // state made inside a caller's tidy must survive it
  assert.equal(dl.memory().liveTensors, withGrads + 3 * 3, 'square_avg, grad_avg, momentum_buffer per parameter');
  for (let i = 0; i < 20; i++) opt.step();
  assert.equal(dl.memory().liveTensors, withGrads + 3 * 3, 'no growth over steps');
  for (const p of params) assert.equal(opt.paramState(p)!.step, 21);
  opt.dispose();
  assert.equal(dl.memory().liveTensors, withGrads);
  assert.equal(opt.isDisposed, true);
  assert.throws(() => opt.step(), /^Error: RMSProp\.step: this optimizer was disposed$/);
  opt.zeroGrad();
  assert.equal(dl.memory().liveTensors, start);
  dl.dispose(params);
});

test('every solver: 50 steps under tidy leave exactly the state tensors', () => {
  for (const [make, perParam] of [
    [(p: Tensor[]) => new SGDM(p, { nesterov: true, l2Regularization: 1e-4 }), 1],
    [(p: Tensor[]) => new Adam(p, { amsgrad: true, l2Regularization: 1e-2 }), 3],
    [(p: Tensor[]) => new AdamW(p), 2],
    [(p: Tensor[]) => new RMSProp(p), 1],
  ] as const) {
    const params = makeParams();
    setGrads(params, 0);
    for (const p of params) void p.grad; // the gradient's handle, owned by the parameter
    const base = dl.memory().liveTensors;
    const opt = make(params);
    for (let i = 0; i < 50; i++) dl.tidy(() => opt.step());
    assert.equal(dl.memory().liveTensors, base + perParam * params.length, `${opt.name}: live tensors`);
    opt.dispose();
    assert.equal(dl.memory().liveTensors, base, `${opt.name}: dispose frees its state`);
    dl.dispose(params);
  }
});

test('state tensors follow the parameter dtype (float64)', () => noLeaks(() => {
  const p = dl.tensor([1, 2, 3], { dtype: 'float64' }).requiresGrad_();
  using g = dl.tensor([0.5, 0.5, 0.5], { dtype: 'float64' });
  p.backward(g);
  const opt = new Adam([p], { learnRate: 0.1 });
  opt.step();
  assert.equal(opt.paramState(p)!.tensors.get('exp_avg')!.dtype, 'float64');
  assert.equal(p.dtype, 'float64');
  opt.dispose();
  p.dispose();
}));

test('invalid settings name the option, the expected range and the value', () => noLeaks(() => {
  const params = makeParams();
  const cases: [() => unknown, RegExp][] = [
    [() => new SGDM(params, { momentum: 1.5 }), /^RangeError: SGDM: momentum must be a number in \[0, 1\], got 1\.5$/],
    [() => new SGDM(params, { learnRate: -0.1 }), /^RangeError: SGDM: learnRate must be a number >= 0, got -0\.1$/],
    [() => new SGDM(params, { l2Regularization: '1e-4' as never }), /^TypeError: SGDM: l2Regularization must be a number >= 0, got "1e-4"$/],
    [() => new SGDM(params, { nesterov: true, momentum: 0 }), /^RangeError: SGDM: nesterov needs momentum > 0 and dampening 0, got momentum 0 and dampening 0$/],
    [() => new SGDM(params, { momentun: 0.9 } as never), /^TypeError: SGDM: unknown option 'momentun'; expected learnRate, momentum, dampening, nesterov, l2Regularization$/],
    [() => new Adam(params, { beta1: 1 }), /^RangeError: Adam: beta1 must be a number in \[0, 1\), got 1$/],
    [() => new Adam(params, { beta2: -0.1 }), /^RangeError: Adam: beta2 must be a number in \[0, 1\), got -0\.1$/],
    [() => new Adam(params, { epsilon: 0 }), /^RangeError: Adam: epsilon must be a number > 0, got 0$/],
    [() => new Adam(params, { weightDecay: 0.1 } as never), /Adam: unknown option 'weightDecay'.*use l2Regularization, or AdamW/],
    [() => new AdamW(params, { l2Regularization: 0.1 } as never), /AdamW: unknown option 'l2Regularization'.*use weightDecay/],
    [() => new AdamW(params, { weightDecay: -1 }), /^RangeError: AdamW: weightDecay must be a number >= 0, got -1$/],
    [() => new RMSProp(params, { squaredGradientDecayFactor: 1 }), /^RangeError: RMSProp: squaredGradientDecayFactor must be a number in \[0, 1\), got 1$/],
    [() => new RMSProp(params, { alpha: 2 }), /^RangeError: RMSProp: alpha must be a number in \[0, 1\), got 2$/],
    [() => new RMSProp(params, { alpha: 0.9, squaredGradientDecayFactor: 0.99 }), /RMSProp: squaredGradientDecayFactor and alpha are the same option; got squaredGradientDecayFactor 0\.99 and alpha 0\.9/],
    [() => new RMSProp(params, { momentum: -0.5 }), /^RangeError: RMSProp: momentum must be a number in \[0, 1\], got -0\.5$/],
    [() => new SGDM([]), /^Error: SGDM: got no parameters to optimize$/],
    [() => new SGDM([{ params: [params[0]!], lrFactor: -1, name: 'fc1' }]), /^RangeError: SGDM: group 0 \('fc1'\) lrFactor must be a number >= 0, got -1$/],
    [() => new SGDM([{ params: [params[0]!] }, { params: [params[1]!], l2Factor: Infinity }]), /^TypeError: SGDM: group 1 l2Factor must be a number >= 0, got Infinity$/],
    [() => new SGDM([{ params: [params[0]!], lr: 0.1 } as never]), /^TypeError: SGDM: group 0: unknown key 'lr'; expected params, lrFactor, l2Factor, name$/],
    [() => new SGDM([{ params: [params[0]!] }, { params: [params[1]!, params[0]!] }]), /^Error: SGDM: group 1 parameter 1 is also group 0 parameter 0; a parameter may appear only once$/],
    [() => new SGDM(params[0] as never), /^TypeError: SGDM: params must be an array of tensors or of parameter groups/],
  ];
  for (const [fn, message] of cases) assert.throws(fn, (e: Error) => { assert.match(`${e.name}: ${e.message}`, message); return true; });

  const ints = dl.tensor([1, 2], { dtype: 'int64' });
  assert.throws(() => new SGDM([ints]), /SGDM: group 0 parameter 0 must have a floating-point dtype, got int64/);
  const nonLeaf = dl.tidy(() => params[0]!.mul(2));
  assert.throws(() => new Adam([nonLeaf]), /Adam: group 0 parameter 0 is not a leaf tensor/);
  dl.dispose([ints, nonLeaf, params]);
}));

test('defaults: sgdm momentum 0.9 and learn rate 0.01; adam/rmsprop 1e-3; adamw weight decay 0.01; no weight decay otherwise', () => noLeaks(() => {
  const params = makeParams();
  const all = [new SGDM(params), new Adam(params), new AdamW(params), new RMSProp(params)];
  const [sgdm, adam, adamw, rmsprop] = all as [dl.optim.SGDM, dl.optim.Adam, dl.optim.AdamW, dl.optim.RMSProp];
  assert.deepEqual(sgdm.options, { momentum: 0.9, dampening: 0, nesterov: false, l2Regularization: 0 });
  assert.deepEqual(adam.options, { beta1: 0.9, beta2: 0.999, epsilon: 1e-8, amsgrad: false, l2Regularization: 0 });
  assert.deepEqual(adamw.options, { beta1: 0.9, beta2: 0.999, epsilon: 1e-8, amsgrad: false, weightDecay: 0.01 });
  assert.deepEqual(rmsprop.options, { squaredGradientDecayFactor: 0.99, epsilon: 1e-8, momentum: 0, centered: false, l2Regularization: 0 });
  assert.deepEqual(all.map((o) => o.learnRate), [0.01, 0.001, 0.001, 0.001]);
  assert.equal(new RMSProp(params, { alpha: 0.9 }).options.squaredGradientDecayFactor, 0.9);
  assert.match(sgdm.toString(), /^SGDM\(learnRate: 0\.01, momentum: 0\.9, dampening: 0, nesterov: false, l2Regularization: 0; 3 parameters\)\n  group 0: 3 parameters$/);
  for (const o of all) o.dispose();
  dl.dispose(params);
}));

test('clipGradNorm: global L2 norm, scaled to maxNorm, returns the norm before clipping', () => noLeaks(() => {
  const a = dl.zeros([2]).requiresGrad_();
  const b = dl.zeros([1, 1]).requiresGrad_();
  const c = dl.zeros([3]).requiresGrad_(); // no gradient: ignored
  const setGrads = () => {
    for (const [p, g] of [[a, [3, 4]], [b, [[12]]]] as const) { p.zeroGrad(); using t = dl.tensor(g as never); p.backward(t); }
  };
  setGrads();
  // By hand: sqrt(3² + 4² + 12²) = sqrt(169) = 13.
  assert.equal(clipGradNorm([a, b, c], 100), 13);
  assertClose(a.grad!, [3, 4], { atol: 0, rtol: 0 }); // below maxNorm: untouched
  const norm = clipGradNorm([a, b, c], 6.5);
  assert.equal(norm, 13);
  const scale = 6.5 / (13 + 1e-6); // torch.nn.utils.clip_grad_norm_'s coefficient
  assertClose(a.grad!, [3 * scale, 4 * scale], { atol: 1e-7, rtol: 1e-6 });
  assertClose(b.grad!, [12 * scale], { atol: 1e-7, rtol: 1e-6 });
  assertClose([clipGradNorm([a, b], Infinity)], [6.5], { atol: 1e-5, rtol: 0 }); // Infinity: measure only
  assert.equal(c.grad, null);

  setGrads();
  assert.equal(clipGradNorm([a, b], 1, { normType: Infinity }), 12);
  assertClose(a.grad!, [3 / 12, 4 / 12], { atol: 1e-6, rtol: 1e-5 });
  setGrads();
  assertClose([clipGradNorm([a, b], 100, { normType: 1 })], [19], { atol: 1e-5, rtol: 0 });
  assert.equal(clipGradNorm([c], 1), 0, 'no gradients: norm 0');

  setGrads();
  clipGradValue([a, b, c], 3.5);
  assert.deepEqual(a.grad!.toArray(), [3, 3.5]);
  assert.deepEqual(b.grad!.toArray(), [[3.5]]);

  assert.throws(() => clipGradNorm([a], -1), /^RangeError: clipGradNorm: maxNorm must be a number >= 0, got -1$/);
  assert.throws(() => clipGradNorm([a], 1, { normType: 0 }), /clipGradNorm: normType must be a number > 0, got 0/);
  assert.throws(() => clipGradValue([a], NaN), /clipGradValue: clipValue must be a number >= 0, got NaN/);
  assert.throws(() => clipGradNorm([a, 3 as never], 1), /clipGradNorm: params\[1\] must be a Tensor, got 3/);
  dl.dispose([a, b, c]);
}));

test('clipGradNorm with a non-finite gradient: NaN like PyTorch, or an error when asked', () => noLeaks(() => {
  const a = dl.zeros([2]).requiresGrad_();
  using g = dl.tensor([Infinity, 1]);
  a.backward(g);
  assert.throws(() => clipGradNorm([a], 1, { errorIfNonfinite: true }), /clipGradNorm: the total norm of order 2 of the gradients is Infinity/);
  assert.equal(clipGradNorm([a], 1), Infinity);
  a.dispose();
}));
