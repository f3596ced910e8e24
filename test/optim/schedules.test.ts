// Learn-rate schedules: exact values, PyTorch's OneCycleLR and CosineAnnealingLR
// (fixtures/optim.json), warm-up, and argument checks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as dl from '../../src/index.js';
import { loadOptimFixture } from './fixture.js';

const { constant, piecewise, cosine, oneCycle, warmup, sampleSchedule } = dl.optim;
const fx = loadOptimFixture();

const at = (iteration: number, iterationsPerEpoch: number, maxEpochs: number) =>
  ({ iteration, epoch: Math.floor(iteration / iterationsPerEpoch), iterationsPerEpoch, maxEpochs });

test('constant: factor 1 everywhere', () => {
  assert.deepEqual(sampleSchedule(constant(), { iterationsPerEpoch: 2, maxEpochs: 3 }), [1, 1, 1, 1, 1, 1]);
});

test('piecewise: dropFactor ^ floor(epoch / dropPeriod), exactly', () => {
  const s = piecewise({ dropFactor: 0.5, dropPeriod: 2 });
  // Per iteration, 2 iterations per epoch: epochs 0,0,1,1,2,2,3,3,4,4,5,5.
  assert.deepEqual(sampleSchedule(s, { iterationsPerEpoch: 2, maxEpochs: 6 }), [1, 1, 1, 1, 0.5, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.25]);
  const d = piecewise(); // MATLAB's defaults: 0.1 every 10 epochs
  assert.deepEqual([0, 9, 10, 19, 20].map((epoch) => d({ iteration: epoch, epoch, iterationsPerEpoch: 1, maxEpochs: 30 })), [1, 1, 0.1, 0.1, 0.1 ** 2]);
});

for (const c of fx.schedules) {
  test(`${c.name} matches torch.optim.lr_scheduler over ${c.learnRates.length} iterations`, () => {
    const s = c.schedule === 'oneCycle' ? oneCycle(c.options) : cosine(c.options);
    const lrs = sampleSchedule(s, c).map((f) => f * c.baseLearnRate);
    assert.equal(lrs.length, c.learnRates.length);
    // Doubles on both sides; PyTorch's CosineAnnealingLR is recursive and OneCycleLR works in
    // absolute rates (dlkit in factors), so the last few bits may differ: 1e-12 relative.
    lrs.forEach((lr, i) => {
      const e = c.learnRates[i]!;
      assert.ok(Math.abs(lr - e) <= 1e-15 + 1e-12 * Math.abs(e), `iteration ${i}: got ${lr}, PyTorch ${e}`);
    });
  });
}

test('oneCycle: start, peak and end values; stays at the end value past the run', () => {
  const s = oneCycle({ maxFactor: 2, divFactor: 10, finalDivFactor: 100, pctStart: 0.25 });
  const f = sampleSchedule(s, { iterationsPerEpoch: 10, maxEpochs: 2 }); // 20 iterations, peak at 0.25 * 20 - 1 = 4
  assertAlmost(f[0]!, 0.2);
  assert.equal(f[4], 2);
  assert.equal(Math.max(...f), 2);
  assertAlmost(f[19]!, 0.2 / 100);
  assertAlmost(s(at(25, 10, 2)), 0.2 / 100);
  for (let i = 1; i <= 4; i++) assert.ok(f[i]! > f[i - 1]!, 'rises to the peak');
  for (let i = 5; i < 20; i++) assert.ok(f[i]! < f[i - 1]!, 'falls after it');
});

test('cosine: from 1 to minFactor per iteration over the whole run', () => {
  const s = cosine({ minFactor: 0.1 });
  assert.equal(s(at(0, 5, 4)), 1);
  assertAlmost(s(at(10, 5, 4)), 0.55); // halfway: (1 + 0.1) / 2
  assertAlmost(s(at(20, 5, 4)), 0.1);
});

test('warmup: linear ramp (iteration + 1) / W times the inner schedule, then the inner schedule unchanged', () => {
  assert.deepEqual(sampleSchedule(warmup(constant(), { iterations: 4 }), { iterationsPerEpoch: 3, maxEpochs: 2 }), [0.25, 0.5, 0.75, 1, 1, 1]);
  // In epochs: 1 epoch of 4 iterations; the piecewise drop still happens at epoch 1.
  const s = warmup(piecewise({ dropFactor: 0.5, dropPeriod: 1 }), { epochs: 1 });
  assert.deepEqual(sampleSchedule(s, { iterationsPerEpoch: 4, maxEpochs: 3 }), [0.25, 0.5, 0.75, 1, 0.5, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.25]);
  // Fractional epochs round up to whole iterations: 0.5 × 3 = 1.5 → 2.
  assert.deepEqual(sampleSchedule(warmup(constant(), { epochs: 0.5 }), { iterationsPerEpoch: 3, maxEpochs: 1 }), [0.5, 1, 1]);
  // Zero length: the inner schedule itself (so a trainer can pass warmupEpochs: 0).
  const c = cosine();
  assert.deepEqual(sampleSchedule(warmup(c, { epochs: 0 }), { iterationsPerEpoch: 3, maxEpochs: 2 }), sampleSchedule(c, { iterationsPerEpoch: 3, maxEpochs: 2 }));
  // Over a cosine: the product, continuous at the end of the warm-up.
  const w = warmup(c, { iterations: 5 });
  assertAlmost(w(at(2, 10, 2)), c(at(2, 10, 2)) * 3 / 5);
  assert.equal(w(at(5, 10, 2)), c(at(5, 10, 2)));
});

test('schedule arguments are checked, naming the argument, the range and the value', () => {
  const cases: [() => unknown, RegExp][] = [
    [() => piecewise({ dropFactor: 2 }), /^RangeError: piecewise: dropFactor must be a number in \[0, 1\], got 2$/],
    [() => piecewise({ dropPeriod: 0.5 }), /^RangeError: piecewise: dropPeriod must be an integer >= 1, got 0\.5$/],
    [() => cosine({ minFactor: -0.1 }), /^RangeError: cosine: minFactor must be a number in \[0, 1\], got -0\.1$/],
    [() => oneCycle({ pctStart: 1.5 }), /^RangeError: oneCycle: pctStart must be a number in \[0, 1\], got 1\.5$/],
    [() => oneCycle({ divFactor: 0 }), /^RangeError: oneCycle: divFactor must be a number > 0, got 0$/],
    [() => oneCycle({ anneal: 'exp' as never }), /^RangeError: oneCycle: anneal must be 'cos' or 'linear', got "exp"$/],
    [() => warmup(constant(), {}), /^TypeError: warmup: give exactly one of epochs or iterations, got neither$/],
    [() => warmup(constant(), { epochs: 1, iterations: 3 }), /^TypeError: warmup: give exactly one of epochs or iterations, got epochs 1 and iterations 3$/],
    [() => warmup(constant(), { iterations: 2.5 }), /^RangeError: warmup: iterations must be an integer >= 0, got 2\.5$/],
    [() => warmup(undefined as never, { iterations: 2 }), /^TypeError: warmup: inner must be a schedule/],
    [() => cosine()({ iteration: 0, epoch: 0, iterationsPerEpoch: 0, maxEpochs: 3 }), /^RangeError: cosine: state\.iterationsPerEpoch must be an integer >= 1, got 0$/],
    [() => oneCycle()({ iteration: -1, epoch: 0, iterationsPerEpoch: 5, maxEpochs: 3 }), /^RangeError: oneCycle: state\.iteration must be an integer >= 0, got -1$/],
  ];
  for (const [fn, message] of cases) assert.throws(fn, (e: Error) => { assert.match(`${e.name}: ${e.message}`, message); return true; });
});

test('a schedule drives an optimizer: learnRate = base × factor each iteration', () => {
  const p = dl.zeros([1]).requiresGrad_();
  const opt = new dl.optim.SGDM([p], { learnRate: 0.1 });
  const schedule = warmup(cosine(), { iterations: 2 });
  const base = 0.1;
  const seen: number[] = [];
  for (let iteration = 0; iteration < 6; iteration++) {
    opt.learnRate = base * schedule(at(iteration, 3, 2));
    seen.push(opt.learnRate);
  }
  assertAlmost(seen[0]!, 0.05);
  assertAlmost(seen[3]!, 0.05); // cosine halfway
  opt.dispose();
  p.dispose();
});

function assertAlmost(actual: number, expected: number, tol = 1e-12): void {
  assert.ok(Math.abs(actual - expected) <= tol, `got ${actual}, expected ${expected}`);
}
