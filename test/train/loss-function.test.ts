// trainNetwork's lossFunction: a task's loss in place of cross-entropy on class indices. A
// least-squares fit through it learns the line, no accuracy is reported, and a loss that is not a
// scalar is an error naming the option and the shape.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as dl from '../../src/index.js';
import type { Batch, BatchOptions, Datastore } from '../../src/data/datastore.js';
import { noLeaks } from '../helpers.js';

/** 64 points of y = 3x - 1 (x in [-1, 1]) as a datastore whose targets are float tensors. */
function lineData(): Datastore {
  const xs = Float32Array.from({ length: 64 }, (_, i) => -1 + (2 * i) / 63);
  const make = (idx: number[]): Datastore => ({
    size: idx.length, inputShape: [1], classes: ['y'], source: 'line',
    async *batches({ batchSize }: BatchOptions): AsyncGenerator<Batch> {
      for (let i = 0; i < idx.length; i += batchSize) {
        const part = idx.slice(i, i + batchSize);
        yield {
          x: dl.tensor(Float32Array.from(part, (k) => xs[k]!), { shape: [part.length, 1] }),
          y: dl.tensor(Float32Array.from(part, (k) => 3 * xs[k]! - 1), { shape: [part.length, 1] }),
        };
      }
    },
    subset: (i) => make(i.map((k) => idx[k]!)),
    labels: () => null,
    split: () => { throw new Error('not needed'); },
  });
  return make([...xs.keys()]);
}

const mse = (out: dl.Tensor, y: dl.Tensor) => out.sub(y).square().mean();

test('lossFunction: a least-squares fit learns y = 3x - 1; accuracy is NaN, validation reports the task loss', async () => {
  await noLeaks(async () => {
    dl.manualSeed(0);
    const net = dl.Network.series([dl.nn.featureInput({ name: 'in', inputSize: 1 }), dl.nn.fullyConnected({ name: 'fc', outputSize: 1 })]);
    const data = lineData();
    const r = await dl.trainNetwork(data, net, {
      solver: 'adam', initialLearnRate: 0.05, maxEpochs: 60, miniBatchSize: 16, lossFunction: mse, verbose: false, validationData: data, validationFrequency: 100,
    });
    const w = net.stateDict()['fc.weight']!.item();
    const b = net.stateDict()['fc.bias']!.item();
    assert.ok(Math.abs(w - 3) < 0.05 && Math.abs(b + 1) < 0.05, `fitted ${w}x + ${b}`);
    assert.ok(r.history.training.at(-1)!.loss < 1e-3, `final loss ${r.history.training.at(-1)!.loss}`);
    assert.ok(r.history.training.every((t) => Number.isNaN(t.accuracy)), 'no accuracy for a task loss');
    const v = r.history.validation.at(-1)!;
    assert.ok(v.loss < 1e-3 && Number.isNaN(v.accuracy), JSON.stringify(v));
    net.dispose();
  });
});

test('lossFunction: a loss that is not a scalar, or not a function, is an error naming the option', async () => {
  await noLeaks(async () => {
    const net = dl.Network.series([dl.nn.featureInput({ name: 'in', inputSize: 1 }), dl.nn.fullyConnected({ name: 'fc', outputSize: 1 })]);
    await assert.rejects(
      dl.trainNetwork(lineData(), net, { maxEpochs: 1, miniBatchSize: 16, verbose: false, lossFunction: (out, y) => out.sub(y).square() }),
      /option 'lossFunction' must return a scalar tensor, got shape \[16, 1\]/,
    );
    await assert.rejects(
      dl.trainNetwork(lineData(), net, { maxEpochs: 1, miniBatchSize: 16, verbose: false, lossFunction: 'mse' as unknown as dl.TrainingLossFunction }),
      /lossFunction/,
    );
    net.dispose();
  });
});
