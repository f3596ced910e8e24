// The multiclass SVM: a separable problem (every point right), overlapping ones against
// scikit-learn's SVC with the same C and gamma (fixtures/svm.json, scripts/make-svm-fixtures.py),
// the svmClassifier layer against the model it came from, its model-file round trip, and
// option errors.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as dl from '../../src/index.js';
import { Network, nn, type Tensor } from '../../src/index.js';
import { assertClose, noLeaks } from '../helpers.js';
import { prng } from '../support/random.js';
import * as ort from 'onnxruntime-node';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
interface Case {
  name: string; kernel: 'linear' | 'rbf'; C: number; gamma: number | 'scale'; standardize: boolean; classes: number;
  sklearn_gamma: number; n_support: number;
  train: { x: number[]; y: number[]; shape: number[] }; test: { x: number[]; y: number[]; shape: number[] };
  decision: number[]; predicted: number[]; proba: number[];
}
const CASES = (JSON.parse(readFileSync(path.join(ROOT, 'fixtures', 'svm.json'), 'utf8')) as { cases: Case[] }).cases;
const tmp = mkdtempSync(path.join(os.tmpdir(), 'dlkit-svm-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** k blobs in d dims, centres `gap` apart along their own axis: linearly separable for a large gap. */
function separable(k: number, d: number, nPer: number, gap: number, seed: number): { x: Tensor; y: number[] } {
  const r = prng(seed);
  const normal = () => Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
  const values: number[] = [], y: number[] = [];
  for (let c = 0; c < k; c++) for (let i = 0; i < nPer; i++) {
    for (let j = 0; j < d; j++) values.push((j === c ? gap : 0) + 0.5 * normal());
    y.push(c);
  }
  return { x: dl.tensor(Float32Array.from(values), { shape: [k * nPer, d] }), y };
}

const agreement = (a: ArrayLike<number>, b: ArrayLike<number>) => Array.from(a).filter((v, i) => v === b[i]).length / a.length;

for (const kernel of ['linear', 'rbf'] as const) {
  test(`fitSVM ${kernel}: a separable 3-class problem is classified 100% right, train and held-out; probabilities sum to 1`, () => noLeaks(() => {
    const train = separable(3, 5, 30, 6, 1), held = separable(3, 5, 20, 6, 2);
    const m = dl.fitSVM(train.x, train.y, { kernel, classes: ['a', 'b', 'c'] });
    try {
      assert.equal(agreement(m.predict(train.x), train.y), 1, 'training points');
      assert.equal(agreement(m.predict(held.x), held.y), 1, 'held-out points');
      dl.tidy(() => {
        const p = m.predictProbabilities(held.x);
        assert.deepEqual(p.shape, [60, 3]);
        assertClose(p.sum(1), new Array(60).fill(1), { atol: 1e-5, rtol: 0 });
        assert.ok(p.min().item() >= 0, 'no negative probability');
        // Every held-out point is far inside its class: a confident probability for it.
        assert.ok(p.max(1).values.min().item() > 0.8, `smallest winning probability ${p.max(1).values.min().item()}`);
      });
    } finally {
      m.dispose();
      dl.dispose([train.x, held.x]);
    }
  }));
}

for (const c of CASES) {
  test(`fitSVM matches scikit-learn's SVC on ${c.name} (${c.kernel}, C ${c.C}, gamma ${c.gamma}${c.standardize ? ', standardized' : ''}): gamma, support vectors, decision values, >= 98% same predictions`, () => noLeaks(() => {
    const x = dl.tensor(Float32Array.from(c.train.x), { shape: c.train.shape });
    const xt = dl.tensor(Float32Array.from(c.test.x), { shape: c.test.shape });
    const m = dl.fitSVM(x, c.train.y, { kernel: c.kernel, C: c.C, gamma: c.gamma, standardize: c.standardize });
    try {
      if (c.kernel === 'rbf') {
        assert.ok(Math.abs(m.gamma - c.sklearn_gamma) <= 1e-9 * c.sklearn_gamma, `gamma ${m.gamma} vs scikit-learn's ${c.sklearn_gamma}`);
        assert.equal(m.numSupportVectors, c.n_support, 'support vectors');
      }
      dl.tidy(() => {
        const dec = m.decisionFunction(xt);
        assert.deepEqual(dec.shape, [c.test.shape[0], (c.classes * (c.classes - 1)) / 2]);
        // SMO stops at a KKT gap of 1e-3 (tolerance, as scikit-learn): decision values agree to about that.
        assertClose(dec, c.decision, { atol: 5e-3, rtol: 5e-3 });
      });
      const pred = m.predict(xt);
      assert.ok(agreement(pred, c.predicted) >= 0.98, `predictions agree on ${agreement(pred, c.predicted)}`);
      assert.ok(agreement(pred, c.test.y) >= 0.5, 'better than chance on the held-out labels');
      dl.tidy(() => {
        // scikit-learn's Platt folds are random: the probabilities agree only loosely.
        const p = m.predictProbabilities(xt).dataSync() as Float32Array;
        const mean = p.reduce((a, v, i) => a + Math.abs(v - c.proba[i]!), 0) / p.length;
        assert.ok(mean < 0.03, `mean |p - p_sklearn| ${mean}`);
      });
    } finally {
      m.dispose();
      dl.dispose([x, xt]);
    }
  }));
}

test('svmClassifier layer: gives the model\'s probabilities and vote scores in a network; saveModel -> loadModel gives the same outputs', () => noLeaks(async () => {
  const c = CASES.find((k) => k.name === 'rbf-4class')!;
  const x = dl.tensor(Float32Array.from(c.train.x), { shape: c.train.shape });
  const xt = dl.tensor(Float32Array.from(c.test.x), { shape: c.test.shape });
  const m = dl.fitSVM(x, c.train.y, { kernel: 'rbf', C: c.C, classes: ['w', 'x', 'y', 'z'] });
  const d = c.train.shape[1]!;
  const build = (output: 'probabilities' | 'scores') => {
    const layer = m.toLayer({ output });
    const net = Network.series([nn.featureInput({ name: 'in', inputSize: d }), layer], { classes: m.classes });
    net.loadStateDict(m.stateFor(layer));
    return net;
  };
  const probs = build('probabilities'), scores = build('scores');
  const file = path.join(tmp, 'svm.safetensors');
  try {
    dl.tidy(() => {
      assertClose(probs.forward(xt) as Tensor, m.predictProbabilities(xt).dataSync() as Float32Array, { atol: 1e-6, rtol: 1e-5 });
      assertClose(scores.forward(xt) as Tensor, m.scores(xt).dataSync() as Float32Array, { atol: 1e-6, rtol: 1e-5 });
      const votes = Int32Array.from((scores.forward(xt) as Tensor).argmax(1).dataSync() as BigInt64Array, Number);
      assert.ok(agreement(votes, c.predicted) >= 0.98, 'the vote scores\' argmax is scikit-learn\'s prediction');
    });
    const cls = await dl.classify(probs, xt);
    assert.deepEqual(cls.indices, m.predict(xt), 'classify: the largest probability');
    dl.tidy(() => assertClose(cls.scores, m.predictProbabilities(xt).dataSync() as Float32Array, { atol: 1e-6, rtol: 1e-5 }));
    cls.scores.dispose();
    await dl.saveModel(probs, file);
    const loaded = await dl.loadModel(file);
    try {
      assert.deepEqual(loaded.classes, ['w', 'x', 'y', 'z']);
      dl.tidy(() => assert.deepEqual((loaded.forward(xt) as Tensor).dataSync(), (probs.forward(xt) as Tensor).dataSync(), 'outputs after the round trip'));
    } finally {
      loaded.dispose();
    }
  } finally {
    probs.dispose();
    scores.dispose();
    m.dispose();
    dl.dispose([x, xt]);
  }
}));

test('fitSVM and svmClassifier: bad options and data are errors naming the option and the value', () => noLeaks(() => {
  const x = dl.tidy(() => dl.randn([6, 3]));
  try {
    assert.throws(() => dl.fitSVM(x, [0, 1, 0, 1, 0, 1], { kernel: 'poly' as 'rbf' }), /fitSVM: option 'kernel' must be one of linear, rbf, got "poly"/);
    assert.throws(() => dl.fitSVM(x, [0, 1, 0, 1, 0, 1], { C: 0 }), /fitSVM: option 'C' must be a number > 0, got 0/);
    assert.throws(() => dl.fitSVM(x, [0, 1, 0, 1, 0, 1], { gamma: -1 }), /fitSVM: option 'gamma' must be 'scale', 'auto' or a number > 0, got -1/);
    assert.throws(() => dl.fitSVM(x, [0, 1, 0, 1, 0, 1], { Cost: 1 } as dl.SVMOptions), /fitSVM: unknown option 'Cost'/);
    assert.throws(() => dl.fitSVM(x, [0, 1, 0], {}), /fitSVM: 3 labels for 6 observations/);
    assert.throws(() => dl.fitSVM(x, [0, 0, 0, 0, 0, 0], {}), /fitSVM: every class needs observations; only one class/);
    assert.throws(() => dl.fitSVM(x, [0, 2, 0, 2, 0, 2], {}), /fitSVM: every class needs observations; none for '1'/);
    const m = dl.fitSVM(x, [0, 1, 0, 1, 0, 1], { kernel: 'linear', probability: false });
    try {
      dl.tidy(() => assert.throws(() => m.decisionFunction(dl.zeros([2, 4])), /SVM decisionFunction: expected features of shape \[N, 3\], got \[2, 4\]/));
      assert.throws(() => m.predictProbabilities(x), /trained with probability: false/);
      assert.throws(() => m.toLayer({ output: 'probabilities' }), /output 'probabilities' needs an SVM trained with probability: true/);
    } finally {
      m.dispose();
    }
    assert.throws(() => nn.layerFromConfig({ type: 'svmClassifier', name: 'bad', kernel: 'rbf', numClasses: 3, numSupportVectors: 4 }), /svmClassifier 'bad': option 'gamma' must be a number > 0 for the rbf kernel, got undefined/);
    assert.throws(() => nn.layerFromConfig({ type: 'svmClassifier', name: 'bad', kernel: 'linear', numClasses: 1 }), /option 'numClasses' must be an integer >= 2, got 1/);
  } finally {
    x.dispose();
  }
}));

test('svmClassifier exports to ONNX: onnxruntime gives dlkit\'s vote scores (RBF, 4 classes, avg pooling) and two-class probabilities (linear, max pooling)', () => noLeaks(async () => {
  const c4 = CASES.find((k) => k.name === 'rbf-4class')!, c2 = CASES.find((k) => k.name === 'rbf-2class-raw')!;
  const setups = [
    { c: c4, kernel: 'rbf' as const, pooling: 'avg' as const, output: 'scores' as const },
    { c: c2, kernel: 'linear' as const, pooling: 'max' as const, output: 'probabilities' as const },
  ];
  for (const { c, kernel, pooling, output } of setups) {
    const d = c.train.shape[1]!;
    // Each feature as a 1x2 map holding it twice: pooling (avg or max) gives the feature back.
    const x = dl.tidy(() => dl.tensor(Float32Array.from(c.train.x), { shape: c.train.shape }));
    const xt = dl.tidy(() => dl.tensor(Float32Array.from(c.test.x), { shape: [c.test.shape[0]!, d, 1, 1] }).expand(c.test.shape[0]!, d, 1, 2).contiguous());
    const m = dl.fitSVM(x, c.train.y, { kernel, C: c.C });
    const layer = m.toLayer({ pooling, output });
    const net = Network.series([nn.imageInput({ name: 'in', inputSize: [d, 1, 2], normalization: 'none' }), layer], { classes: m.classes });
    net.loadStateDict(m.stateFor(layer));
    const file = path.join(tmp, `svm-${kernel}.onnx`);
    try {
      await dl.exportONNX(net, file);
      const session = await ort.InferenceSession.create(file);
      const res = await session.run({ in: new ort.Tensor('float32', xt.dataSync() as Float32Array, [...xt.shape]) });
      const got = res[session.outputNames[0]!]!;
      assert.deepEqual([...got.dims], [c.test.shape[0], m.numClasses]);
      dl.tidy(() => assertClose(got.data as Float32Array, (net.forward(xt) as Tensor).dataSync() as Float32Array, { atol: 1e-4, rtol: 1e-4 }));
      await session.release();
    } finally {
      net.dispose();
      m.dispose();
      dl.dispose([x, xt]);
    }
  }
  const x = dl.tidy(() => dl.tensor(Float32Array.from(c4.train.x), { shape: c4.train.shape }));
  const m = dl.fitSVM(x, c4.train.y, {});
  const layer = m.toLayer();
  const net = Network.series([nn.featureInput({ name: 'in', inputSize: c4.train.shape[1]! }), layer]);
  try {
    net.loadStateDict(m.stateFor(layer));
    await assert.rejects(dl.exportONNX(net, path.join(tmp, 'svm-4.onnx')), /exportONNX: layer 'svm' \(svmClassifier\) couples the probabilities of 4 classes by a linear solve, which ONNX has no operator for; export an SVM with output 'scores'/);
  } finally {
    net.dispose();
    m.dispose();
    x.dispose();
  }
}));
