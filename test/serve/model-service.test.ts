// The serving core: the dynamic batcher (batches, bounded queue, timeouts, aborts, drain) and a
// ModelService running a network in its own thread, answering what dl.classify answers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import * as dl from '../../src/index.js';
import { Network, nn } from '../../src/index.js';
import { noLeaks } from '../helpers.js';
import { SHARED_DATA } from '../support/shared-data.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A batcher over a fake model that doubles its inputs and records the batch sizes it saw. */
function doubling(options: dl.BatchingOptions, runMs = 20) {
  const sizes: number[] = [];
  const batcher = new dl.DynamicBatcher<number, number>('m', async (xs) => {
    sizes.push(xs.length);
    await sleep(runMs);
    return xs.map((x) => 2 * x);
  }, options);
  return { batcher, sizes };
}

test('batcher: concurrent requests run as batches of at most maxBatchSize, and each gets its own answer', async () => {
  const { batcher, sizes } = doubling({ maxBatchSize: 4, maxDelayMs: 5, maxQueue: 100 });
  const answers = await Promise.all(Array.from({ length: 10 }, (_, i) => batcher.submit(i)));
  assert.deepEqual(answers.map((a) => a.output), Array.from({ length: 10 }, (_, i) => 2 * i));
  assert.deepEqual(sizes, [4, 4, 2]);
  assert.deepEqual(answers.map((a) => a.batchSize), [4, 4, 4, 4, 4, 4, 4, 4, 2, 2]);
  assert.ok(answers[9]!.queueMs >= 30, `the last batch waited for two forward passes (${answers[9]!.queueMs.toFixed(1)} ms)`);
  // Alone, a request waits no longer than maxDelayMs for company.
  const t = performance.now();
  const one = await batcher.submit(7);
  assert.equal(one.batchSize, 1);
  assert.ok(performance.now() - t < 200);
});

test('batcher: past maxQueue a request is refused at once; a timeout and an abort take a request out of the queue', async () => {
  const { batcher } = doubling({ maxBatchSize: 1, maxDelayMs: 0, maxQueue: 2 }, 40);
  const running = batcher.submit(1); // runs at once
  await sleep(1);
  const queued = [batcher.submit(2), batcher.submit(3)];
  await assert.rejects(batcher.submit(4), (e: Error) => e instanceof dl.QueueFullError && /the queue is full \(2 requests waiting\); retry in 1 s/.test(e.message) && (e as dl.QueueFullError).retryAfterSeconds === 1);
  assert.equal(batcher.queueDepth, 2);
  assert.deepEqual([await running, ...(await Promise.all(queued))].map((a) => a.output), [2, 4, 6], 'the queue drains');

  // The timeout counts waiting and running: the running request times out mid-forward (its
  // rows are dropped), the queued one times out in the queue and never runs.
  const timed = doubling({ maxBatchSize: 1, maxDelayMs: 0, timeoutMs: 50 }, 100);
  const settled = await Promise.allSettled([timed.batcher.submit(1), timed.batcher.submit(2)]);
  for (const r of settled) assert.ok(r.status === 'rejected' && r.reason instanceof dl.RequestTimeoutError && /model 'm': no answer within 50 ms/.test(r.reason.message));
  await sleep(70);
  assert.deepEqual(timed.sizes, [1], 'the request that timed out in the queue never ran');

  const slow = doubling({ maxBatchSize: 1, maxDelayMs: 0 }, 30);
  const first = slow.batcher.submit(1);
  const ac = new AbortController();
  const second = slow.batcher.submit(2, ac.signal);
  await sleep(1);
  assert.equal(slow.batcher.queueDepth, 1);
  ac.abort();
  await assert.rejects(second, dl.RequestAbortedError);
  assert.equal(slow.batcher.queueDepth, 0, 'the aborted request left the queue');
  await first;
  assert.deepEqual(slow.sizes, [1]);
  await assert.rejects(slow.batcher.submit(3, AbortSignal.abort()), dl.RequestAbortedError);
});

test('batcher: drain answers everything queued and running, then refuses; a failed forward pass fails its batch only', async () => {
  const { batcher } = doubling({ maxBatchSize: 2, maxDelayMs: 1 }, 20);
  const pending = Array.from({ length: 5 }, (_, i) => batcher.submit(i));
  await batcher.drain();
  assert.deepEqual((await Promise.all(pending)).map((a) => a.output), [0, 2, 4, 6, 8]);
  await assert.rejects(batcher.submit(1), dl.ServiceClosedError);

  let calls = 0;
  const flaky = new dl.DynamicBatcher<number, number>('m', async (xs) => {
    if (calls++ === 0) throw new Error('out of memory');
    return xs;
  }, { maxBatchSize: 2, maxDelayMs: 0 });
  const [a, b] = [flaky.submit(1), flaky.submit(2)];
  await assert.rejects(a, /out of memory/);
  assert.equal((await b).output, 2, 'the next batch runs');
  assert.throws(() => new dl.DynamicBatcher('m', async (x) => x, { maxQueue: 0 }), /batching option 'maxQueue' must be a positive integer, got 0/);
  assert.throws(() => new dl.DynamicBatcher('m', async (x) => x, { maxDelayMs: -1 }), /'maxDelayMs' must be a number ≥ 0, got -1/);
});

/** A small trained-looking network: red versus blue images, 3×16×16. */
function colorNet(): Network {
  dl.manualSeed(0);
  return Network.series([
    nn.imageInput({ inputSize: [3, 16, 16], normalization: 'rescale-zero-one' }),
    nn.conv2d({ filters: 4, kernelSize: 3 }), nn.relu(), nn.globalAvgPool2d(), nn.fullyConnected({ outputSize: 3 }),
  ], { classes: ['red', 'green', 'blue'] });
}

async function png(r: number, g: number, b: number, w = 40, h = 30): Promise<Buffer> {
  return sharp({ create: { width: w, height: h, channels: 3, background: { r, g, b } } }).png().toBuffer();
}

test('ModelService: a network in its own thread answers what dl.classify answers, batches concurrent requests, names bad input; nothing leaks', async () => {
  await noLeaks(async () => {
    const net = colorNet();
    const service = await dl.ModelService.start(net, { name: 'colors', maxBatchSize: 8, maxDelayMs: 5 });
    try {
      assert.deepEqual(service.info.classes, ['red', 'green', 'blue']);
      assert.deepEqual(service.info.inputSize, [3, 16, 16]);
      assert.equal(service.info.name, 'colors');
      assert.equal(service.info.parameters, net.parameters().reduce((s, p) => s + p.tensor.size, 0));
      const images = await Promise.all([[250, 10, 10], [10, 240, 30], [20, 20, 230], [128, 128, 128]].map(([r, g, b]) => png(r!, g!, b!)));
      const answers = await Promise.all(images.flatMap((img) => [img, img, img].map((i) => service.classifyImage(i, { topK: 3 }))));
      assert.ok(answers.some((a) => a.timings.batchSize > 1), `concurrent requests were batched (sizes ${answers.map((a) => a.timings.batchSize)})`);
      for (const [i, img] of images.entries()) {
        // dl.classify on the same bytes decoded the way readImage decodes a file.
        const decoded = await service.decode(img);
        const batch = dl.tensor(decoded, { shape: [1, 3, 16, 16], dtype: 'float32' });
        const { scores } = await dl.classify(net, batch);
        const expected = dl.topK(scores, net.classes!, 3)[0]!;
        dl.dispose([batch, scores]);
        for (const a of answers.slice(3 * i, 3 * i + 3)) {
          assert.deepEqual(a.predictions.map((p) => p.label), expected.map((p) => p.label));
          a.predictions.forEach((p, j) => assert.ok(Math.abs(p.score - expected[j]!.score) < 1e-5, `${p.label}: ${p.score} vs ${expected[j]!.score}`));
        }
      }
      await assert.rejects(service.classifyImage(Buffer.from('hello, not an image')), (e: Error) => e instanceof dl.InputError && /not a usable image: not an image in a supported format/.test(e.message));
      await assert.rejects(service.classifyImage(new Uint8Array(0)), /empty body/);
      const truncated = (await sharp({ create: { width: 64, height: 64, channels: 3, background: 'red' } }).jpeg().toBuffer()).subarray(0, 200);
      await assert.rejects(service.classifyImage(truncated), dl.InputError);
      await assert.rejects(service.classifyPixels(new Uint8Array(10)), /expected 768 pixel values \(\[3, 16, 16\]\), got 10/);
      await assert.rejects(service.classifyImage(images[0]!, { topK: 0 }), /topK must be a positive integer, got 0/);
      const ok = await service.classifyImage(images[0]!, { topK: 10 });
      assert.equal(ok.predictions.length, 3, 'topK beyond the class count gives every class');
      const onnx = await service.onnxModel();
      assert.ok(onnx.length > 100 && onnx === await service.onnxModel(), 'ONNX bytes, exported once');
    } finally {
      await service.close();
      await service.close();
      net.dispose();
    }
    await assert.rejects(service.classifyImage(await png(1, 2, 3)), dl.ServiceClosedError);
  });
});

test('ModelService: a pixel limit refuses decompression bombs before decoding; a model that is no image classifier is refused by name', async () => {
  const net = colorNet();
  const service = await dl.ModelService.start(net, { limitInputPixels: 1000 });
  try {
    await assert.rejects(service.classifyImage(await png(1, 2, 3, 100, 100)), /image too large.*pixel limit/);
    assert.equal((await service.classifyImage(await png(1, 2, 3, 20, 20))).predictions.length, 3);
  } finally {
    await service.close();
    net.dispose();
  }
  const features = Network.series([nn.featureInput({ inputSize: 4 }), nn.fullyConnected({ outputSize: 2 })]);
  await assert.rejects(dl.ModelService.start(features, { name: 'table' }), /model 'table': .*a served model takes images \[channels, height, width\] with 1 or 3 channels; this one takes \[4\]/);
  features.dispose();
  await assert.rejects(dl.ModelService.start('/nonexistent/model.safetensors'), /\/nonexistent\/model\.safetensors: no such file/);
});

const weights = path.join(SHARED_DATA, 'pretrained', 'resnet-cifar10', 'resnet20-12fca82f.th');
const photos = path.join(SHARED_DATA, 'hymenoptera', 'val', 'bees');
const skip = existsSync(weights) && existsSync(photos) ? false : `${weights} or ${photos} not found: skipped`;

test('ModelService: the real CIFAR-10 ResNet-20 served from its zoo name gives dl.classify\'s labels on real photos', { skip }, async () => {
  const service = await dl.ModelService.start('resnet20-cifar10', { weights });
  const net = await dl.pretrained('resnet20-cifar10', { weights });
  try {
    assert.equal(service.info.name, 'resnet20-cifar10');
    assert.equal(service.info.classes.length, 10);
    const files = readdirSync(photos).sort().slice(0, 6).map((f) => path.join(photos, f));
    const served = await Promise.all(files.map((f) => service.classifyImage(readFileSync(f), { topK: 1 })));
    for (const [i, f] of files.entries()) {
      const img = await dl.readImage(f, { size: net.inputShape });
      const x = img.unsqueeze(0);
      const { labels, scores } = await dl.classify(net, x);
      assert.equal(served[i]!.predictions[0]!.label, labels[0], f);
      assert.ok(Math.abs(served[i]!.predictions[0]!.score - dl.tidy(() => scores.max().item())) < 1e-4, f);
      dl.dispose([img, x, scores]);
    }
  } finally {
    await service.close();
    net.dispose();
  }
});
