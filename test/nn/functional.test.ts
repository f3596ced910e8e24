// dlkit.functional against PyTorch: forward values, dtypes and gradients for every fixture
// case in fixtures/functional.json (written by scripts/make-fixtures.py). One table maps each
// fixture's function name to a dlkit call; options arrive with dlkit's names.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as dl from '../../src/index.js';
import type { functional } from '../../src/index.js';
import { noLeaks } from '../helpers.js';
import { checkCase, loadFixtures, type Entry, type Inputs } from '../tensor/fixture.js';

const F = dl.functional;
type ConvOptions = functional.ConvOptions;
type PoolOptions = functional.PoolOptions;
type AvgPoolOptions = functional.AvgPoolOptions;

const TABLE: Record<string, Entry> = {
  conv1d: { call: (x: Inputs, o: ConvOptions) => F.conv1d(x.input!, x.weight!, x.bias, o) },
  conv2d: { call: (x: Inputs, o: ConvOptions) => F.conv2d(x.input!, x.weight!, x.bias, o) },
  convTranspose2d: { call: (x: Inputs, o: functional.ConvTransposeOptions) => F.convTranspose2d(x.input!, x.weight!, x.bias, o) },
  maxPool1d: { call: (x: Inputs, { kernelSize, ...o }: PoolOptions & { kernelSize: number }) => F.maxPool1d(x.input!, kernelSize, o) },
  maxPool2d: { call: (x: Inputs, { kernelSize, ...o }: PoolOptions & { kernelSize: number | number[] }) => F.maxPool2d(x.input!, kernelSize, o) },
  avgPool1d: { call: (x: Inputs, { kernelSize, ...o }: AvgPoolOptions & { kernelSize: number }) => F.avgPool1d(x.input!, kernelSize, o) },
  avgPool2d: { call: (x: Inputs, { kernelSize, ...o }: AvgPoolOptions & { kernelSize: number | number[] }) => F.avgPool2d(x.input!, kernelSize, o) },
  adaptiveAvgPool2d: { call: (x: Inputs, o: { outputSize: number | [number, number] }) => F.adaptiveAvgPool2d(x.input!, o.outputSize) },
  adaptiveMaxPool2d: { call: (x: Inputs, o: { outputSize: number | [number, number] }) => F.adaptiveMaxPool2d(x.input!, o.outputSize) },
  globalAvgPool2d: { call: (x: Inputs) => F.globalAvgPool2d(x.input!) },
  // The running statistics are updated in place: return them so the fixture's values after
  // the call (training) or unchanged ones (eval) are checked too.
  batchNorm: {
    call: (x: Inputs, o: functional.BatchNormOptions) => {
      const out = F.batchNorm(x.input!, { ...o, weight: x.weight, bias: x.bias, runningMean: x.runningMean, runningVar: x.runningVar });
      return x.runningMean ? { out, runningMean: x.runningMean, runningVar: x.runningVar! } : out;
    },
  },
  layerNorm: { call: (x: Inputs, o: { normalizedShape: number[]; eps?: number }) => F.layerNorm(x.input!, o.normalizedShape, x.weight, x.bias, o.eps) },
  localResponseNorm: {
    call: (x: Inputs, { size, ...o }: functional.LocalResponseNormOptions & { size: number }) => F.localResponseNorm(x.input!, size, o),
  },
  dropout: { call: (x: Inputs, o: { p: number; training: boolean }) => F.dropout(x.input!, o.p, o.training) },
  linear: { call: (x: Inputs) => F.linear(x.input!, x.weight!, x.bias) },
  relu: { call: (x: Inputs) => F.relu(x.input!) },
  leakyRelu: { call: (x: Inputs, o: { negativeSlope?: number }) => F.leakyRelu(x.input!, o.negativeSlope) },
  elu: { call: (x: Inputs, o: { alpha?: number }) => F.elu(x.input!, o.alpha) },
  gelu: { call: (x: Inputs, o: { approximate?: 'none' | 'tanh' }) => F.gelu(x.input!, o.approximate) },
  sigmoid: { call: (x: Inputs) => F.sigmoid(x.input!) },
  tanh: { call: (x: Inputs) => F.tanh(x.input!) },
  clippedRelu: { call: (x: Inputs, o: { ceiling: number }) => F.clippedRelu(x.input!, o.ceiling) },
  softplus: { call: (x: Inputs, o: { beta?: number; threshold?: number }) => F.softplus(x.input!, o.beta, o.threshold) },
  softmax: { call: (x: Inputs, o: { dim: number }) => F.softmax(x.input!, o.dim) },
  logSoftmax: { call: (x: Inputs, o: { dim: number }) => F.logSoftmax(x.input!, o.dim) },
  crossEntropy: { call: (x: Inputs, o: functional.CrossEntropyOptions) => F.crossEntropy(x.input!, x.target!, { ...o, weight: x.weight }) },
  nllLoss: { call: (x: Inputs, o: functional.CrossEntropyOptions) => F.nllLoss(x.input!, x.target!, { ...o, weight: x.weight }) },
  mseLoss: { call: (x: Inputs, o: { reduction?: 'none' | 'mean' | 'sum' }) => F.mseLoss(x.input!, x.target!, o.reduction) },
  binaryCrossEntropyWithLogits: {
    call: (x: Inputs, o: functional.BceOptions) => F.binaryCrossEntropyWithLogits(x.input!, x.target!, { ...o, weight: x.weight, posWeight: x.posWeight }),
  },
};

const fixtures = loadFixtures('functional.json');

test('the table and the fixtures cover every function of dlkit.functional', () => {
  const fns = new Set(fixtures.cases.map((c) => c.fn));
  const exported = Object.keys(F).filter((k) => typeof (F as Record<string, unknown>)[k] === 'function');
  assert.deepEqual(exported.filter((k) => !(k in TABLE)), [], 'functions without a table entry');
  assert.deepEqual(Object.keys(TABLE).filter((k) => !fns.has(k)), [], 'table entries without a fixture case');
  assert.deepEqual([...fns].filter((k) => !(k in TABLE)), [], 'fixture functions without a table entry');
});

for (const c of fixtures.cases) {
  test(`${c.name}: ${c.torch}`, () => checkCase(c, TABLE[c.fn]));
}

// Dropout with p > 0 is random: check its statistics instead of values.
test('dropout while training zeroes a fraction p and scales survivors by 1/(1-p)', async () => {
  await noLeaks(() => {
    dl.manualSeed(1234);
    const n = 200_000;
    for (const p of [0.1, 0.5, 0.8]) {
      dl.tidy(() => {
        const x = dl.ones([n]).requiresGrad_();
        const y = F.dropout(x, p, true);
        const values = y.dataSync() as Float32Array;
        let zeros = 0;
        for (const v of values) {
          if (v === 0) zeros++;
          else assert.ok(Math.abs(v - 1 / (1 - p)) <= 1e-6 / (1 - p), `survivor ${v}, expected ${1 / (1 - p)}`);
        }
        // Binomial(n, p): 6 standard deviations is ~0.0013 at p=0.5; a wrong p is off by far more.
        const sd = Math.sqrt((p * (1 - p)) / n);
        assert.ok(Math.abs(zeros / n - p) < 6 * sd, `p=${p}: zeroed fraction ${zeros / n}`);
        // The gradient is the same mask and scale: d(sum y)/dx = y / x = y here.
        y.sum().backward();
        assert.deepEqual(x.grad!.dataSync(), values);
        x.dispose();
      });
    }
  });
});

test('dropout keeps the input dtype (bfloat16 under mixed precision) and its mask is fresh each call', async () => {
  await noLeaks(() => dl.tidy(() => {
    const x = dl.ones([4096]).to('bfloat16');
    const a = F.dropout(x, 0.25, true);
    const b = F.dropout(x, 0.25, true);
    assert.equal(a.dtype, 'bfloat16');
    const va = a.float().dataSync() as Float32Array;
    const vb = b.float().dataSync() as Float32Array;
    assert.ok(va.every((v) => v === 0 || Math.abs(v - 4 / 3) < 0.01), 'survivors are scaled by 1/(1-p)');
    assert.ok(va.some((v, i) => (v === 0) !== (vb[i] === 0)), 'two calls draw different masks');
  }));
});

test('dropout with p=1 zeroes everything; p outside [0, 1] is rejected', async () => {
  await noLeaks(() => dl.tidy(() => {
    const y = F.dropout(dl.ones([100]), 1, true);
    assert.equal(y.abs().sum().item(), 0);
    assert.throws(() => F.dropout(dl.ones([2]), 1.5), /dropout: p must be in \[0, 1\], got 1.5/);
  }));
});
