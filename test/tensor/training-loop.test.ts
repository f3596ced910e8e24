// The engine issue's reference CNN, trained with the low-level API (no layers, no trainer):
// it must learn, and a long tidy-scoped loop must hold resident memory flat.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as dl from '../../src/index.js';
import { referenceCnn, syntheticBatch } from '../support/reference-cnn.js';

test('the reference CNN learns a synthetic 10-class problem in 200 steps', () => {
  const start = dl.memory().liveTensors;
  dl.manualSeed(1);
  const net = referenceCnn({ lr: 0.02 });
  const losses: number[] = [];
  for (let step = 0; step < 200; step++) {
    const { x, y } = syntheticBatch(128, step + 1);
    losses.push(net.step(x, y));
    dl.dispose([x, y]);
  }
  const first = losses.slice(0, 5).reduce((a, b) => a + b) / 5;
  const last = losses.slice(-10).reduce((a, b) => a + b) / 10;
  // Chance level is ln(10) = 2.30; a net that learns ends far below it.
  assert.ok(first > 1.8, `initial loss ${first.toFixed(3)} should be near chance (2.3)`);
  assert.ok(last < 0.15, `loss after 200 steps ${last.toFixed(3)} should be below 0.15 (started at ${first.toFixed(3)})`);
  // Held-out accuracy on fresh samples of the same problem.
  const { x, y } = syntheticBatch(512, 100_000);
  const acc = dl.tidy(() => dl.noGrad(() => net.forward(x, false).argmax(1).eq(y).float().mean().item()));
  assert.ok(acc > 0.9, `held-out accuracy ${acc.toFixed(3)} should exceed 0.9`);
  dl.dispose([x, y]);
  net.dispose();
  assert.equal(dl.memory().liveTensors, start);
});

test('2,000 tidy-scoped training steps keep resident memory flat', () => {
  const start = dl.memory().liveTensors;
  dl.manualSeed(2);
  const net = referenceCnn({ lr: 0.01, readLoss: false });
  const batches = Array.from({ length: 8 }, (_, i) => syntheticBatch(32, i + 1));
  let rssAt100 = 0;
  for (let step = 1; step <= 2000; step++) {
    const { x, y } = batches[step % batches.length]!;
    net.step(x, y);
    if (step === 100) rssAt100 = process.memoryUsage.rss();
  }
  const rssAt2000 = process.memoryUsage.rss();
  const growth = (rssAt2000 - rssAt100) / rssAt100;
  const mb = (b: number) => (b / 2 ** 20).toFixed(1);
  assert.ok(growth < 0.1, `RSS grew ${(growth * 100).toFixed(1)}% from step 100 (${mb(rssAt100)} MB) to step 2000 (${mb(rssAt2000)} MB)`);
  net.dispose();
  dl.dispose(batches);
  assert.equal(dl.memory().liveTensors, start, 'every tensor made by the loop was freed');
});
