// Training options: validated by a schema; every error names the option, what it accepts
// (the range or the choices) and the value given, and all problems are reported at once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as dl from '../../src/index.js';
import { syntheticData, tinyCnn } from './synthetic.js';

/** The message of the error `fn` throws (asserting it throws a RangeError or TypeError). */
function messageOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof RangeError || err instanceof TypeError, `expected a RangeError or TypeError, got ${(err as Error).name}`);
    return (err as Error).message;
  }
  assert.fail('expected an error');
}

const parse = (o: unknown) => () => dl.parseTrainingOptions(o);

test('defaults: an empty object, undefined and null give the documented defaults', () => {
  for (const input of [{}, undefined, null]) {
    const o = dl.parseTrainingOptions(input);
    assert.equal(o.solver, 'sgdm');
    assert.equal(o.maxEpochs, 30);
    assert.equal(o.miniBatchSize, 128);
    assert.equal(o.momentum, 0.9);
    assert.equal(o.learnRateSchedule, 'none');
    assert.equal(o.gradientThreshold, Infinity);
    assert.equal(o.validationPatience, Infinity);
    assert.equal(o.plots, 'none');
    assert.equal(o.initialLearnRate, undefined, 'the solver picks its own default rate');
  }
  // Infinity is the documented "off" value of both, so it is accepted when given explicitly too.
  const o = dl.parseTrainingOptions({ gradientThreshold: Infinity, validationPatience: Infinity });
  assert.equal(o.gradientThreshold, Infinity);
  assert.equal(o.validationPatience, Infinity);
});

test('an unknown option is named, with a did-you-mean hint for typos and common aliases', () => {
  assert.equal(messageOf(parse({ maxEpoch: 3 })), "trainNetwork: unknown option 'maxEpoch' (did you mean 'maxEpochs'?)");
  assert.equal(messageOf(parse({ learningRate: 0.1 })), "trainNetwork: unknown option 'learningRate' (did you mean 'initialLearnRate'?)");
  assert.match(messageOf(parse({ batchSize: 32 })), /unknown option 'batchSize' \(did you mean 'miniBatchSize'\?\)/);
  assert.match(messageOf(parse({ validationPatients: 3 })), /did you mean 'validationPatience'/);
  assert.match(messageOf(parse({ solvr: 'adam' })), /did you mean 'solver'/);
  // Nothing close: named without a guess.
  assert.equal(messageOf(parse({ zzzzzzzzzzzzzz: 1 })), "trainNetwork: unknown option 'zzzzzzzzzzzzzz'");
});

test('an out-of-range value names the option, the bound and the value', () => {
  const cases: [Record<string, unknown>, string][] = [
    [{ initialLearnRate: -1 }, "option 'initialLearnRate' must be > 0, got -1"],
    [{ initialLearnRate: 0 }, "option 'initialLearnRate' must be > 0, got 0"],
    [{ momentum: 1.5 }, "option 'momentum' must be <= 1, got 1.5"],
    [{ maxEpochs: 0 }, "option 'maxEpochs' must be >= 1, got 0"],
    [{ miniBatchSize: -8 }, "option 'miniBatchSize' must be >= 1, got -8"],
    [{ l2Regularization: -0.1 }, "option 'l2Regularization' must be >= 0, got -0.1"],
    [{ learnRateDropFactor: 2 }, "option 'learnRateDropFactor' must be <= 1, got 2"],
    [{ validationPatience: 0 }, "option 'validationPatience' must be >= 1, got 0"],
    [{ gradientThreshold: 0 }, "option 'gradientThreshold' must be > 0, got 0"],
    [{ labelSmoothing: 2 }, "option 'labelSmoothing' must be <= 1, got 2"],
    [{ plotsPort: 70000 }, "option 'plotsPort' must be <= 65535, got 70000"],
    [{ seed: -1 }, "option 'seed' must be >= 0, got -1"],
    [{ maxEpochs: Infinity }, "option 'maxEpochs' must be a finite number, got Infinity"],
    [{ initialLearnRate: NaN }, "option 'initialLearnRate' must be a finite number, got NaN"],
    [{ checkpointPath: '' }, "option 'checkpointPath' must be a non-empty string, got ''"],
  ];
  for (const [input, expected] of cases) assert.equal(messageOf(parse(input)), `trainNetwork: ${expected}`, JSON.stringify(input));
});

test('a bad choice lists the choices', () => {
  assert.equal(messageOf(parse({ solver: 'sgd' })), "trainNetwork: option 'solver' must be one of 'sgdm', 'adam', 'adamw', 'rmsprop', got 'sgd'");
  assert.equal(messageOf(parse({ learnRateSchedule: 'step' })), "trainNetwork: option 'learnRateSchedule' must be one of 'none', 'piecewise', 'cosine', 'one-cycle', got 'step'");
  assert.equal(messageOf(parse({ plots: true })), "trainNetwork: option 'plots' must be one of 'none', 'training-progress', got true");
  assert.equal(messageOf(parse({ executionEnvironment: 'cuda' })), "trainNetwork: option 'executionEnvironment' must be one of 'auto', 'cpu', 'gpu', got 'cuda'");
  assert.equal(messageOf(parse({ precision: 'bf16' })), "trainNetwork: option 'precision' must be one of 'auto', 'float32', 'bfloat16-mixed', got 'bf16'");
  assert.equal(messageOf(parse({ shuffle: 'always' })), "trainNetwork: option 'shuffle' must be one of 'every-epoch', 'once', 'never', got 'always'");
});

test('a wrong type names the option, the type wanted and the value', () => {
  const cases: [Record<string, unknown>, string][] = [
    [{ maxEpochs: '3' }, "option 'maxEpochs' must be a number, got '3'"],
    [{ maxEpochs: 2.5 }, "option 'maxEpochs' must be a whole number, got 2.5"],
    [{ verbose: 'yes' }, "option 'verbose' must be a boolean, got 'yes'"],
    [{ resume: 3 }, "option 'resume' must be a string, got 3"],
    [{ validationPatience: 2.5 }, "option 'validationPatience' must be a whole number >= 1 or Infinity, got 2.5"],
    [{ gradientThreshold: 'big' }, "option 'gradientThreshold' must be a number > 0 or Infinity, got 'big'"],
    [{ validationData: { size: 3 } }, "option 'validationData' must be a datastore, got an object"],
    [{ onIteration: 3 }, "option 'onIteration' must be a function, got 3"],
  ];
  for (const [input, expected] of cases) assert.equal(messageOf(parse(input)), `trainNetwork: ${expected}`, JSON.stringify(input));
  // Not an object at all.
  assert.match(messageOf(parse(5)), /^trainNetwork: options must be an object .*got 5$/);
  assert.match(messageOf(parse([1])), /^trainNetwork: options must be an object .*got an array$/);
});

test('several problems are reported at once, each naming its option', () => {
  const msg = messageOf(parse({ miniBatchSize: 0, solver: 'adagrad', fooBar: 1, momentum: -1 }));
  assert.ok(msg.startsWith('trainNetwork: '), msg);
  const parts = msg.slice('trainNetwork: '.length).split('; ');
  assert.equal(parts.length, 4, msg);
  assert.ok(parts.includes("option 'miniBatchSize' must be >= 1, got 0"), msg);
  assert.ok(parts.includes("option 'solver' must be one of 'sgdm', 'adam', 'adamw', 'rmsprop', got 'adagrad'"), msg);
  assert.ok(parts.includes("option 'momentum' must be >= 0, got -1"), msg);
  assert.ok(parts.includes("unknown option 'fooBar'"), msg);
});

test('trainNetwork validates its options before training, and a batch larger than the data is named', async () => {
  const data = syntheticData(16, 1);
  const net = tinyCnn();
  try {
    await assert.rejects(dl.trainNetwork(data, net, { maxEpoch: 1 } as dl.TrainingOptionsInput), /^RangeError: trainNetwork: unknown option 'maxEpoch' \(did you mean 'maxEpochs'\?\)$/);
    await assert.rejects(dl.trainNetwork(data, net, { miniBatchSize: 32, verbose: false }),
      (err: Error) => err instanceof RangeError && /option 'miniBatchSize' \(32\) is larger than the training data \(16 observations\)/.test(err.message));
  } finally {
    net.dispose();
    data.dispose();
  }
});
