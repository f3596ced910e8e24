// augmentedImageDatastore over in-memory 8-bit images (tensorDatastore, fashionMnist): the same
// transforms as image folders, reproducible per (seed, epoch, observation), and the errors.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as dl from '../../src/index.js';
import { noLeaks } from '../helpers.js';

const N = 40, H = 6, W = 8;

/** N images whose pixel (y, x) of image n is 3n + 7y + x + 1 (all distinct per image, never 0). */
function images(channels = 1): dl.TensorDatastore {
  const data = new Uint8Array(N * channels * H * W);
  for (let n = 0; n < N; n++) for (let c = 0; c < channels; c++) for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) {
    data[((n * channels + c) * H + y) * W + x] = 3 * n + 7 * y + x + 1 + 40 * c;
  }
  const labels = Int32Array.from({ length: N }, (_, n) => n % 4);
  return dl.tensorDatastore(dl.tensor(data, { shape: [N, channels, H, W] }), dl.tensor(labels), { own: true, classes: ['a', 'b', 'c', 'd'] });
}

async function collect(ds: dl.Datastore, options: dl.BatchOptions): Promise<{ x: number[][]; y: number[] }> {
  const x: number[][] = [], y: number[] = [];
  for await (const b of ds.batches(options)) {
    const plane = b.x.shape.slice(1).reduce((a, c) => a * c, 1);
    const v = b.x.dataSync() as Float32Array;
    for (let i = 0; i < b.x.shape[0]!; i++) x.push(Array.from(v.subarray(i * plane, (i + 1) * plane)));
    y.push(...Array.from(b.y!.dataSync() as BigInt64Array, Number));
    dl.dispose([b.x, b.y!]);
  }
  return { x, y };
}

const original = (n: number, c = 0) => Array.from({ length: H * W }, (_, i) => 3 * n + 7 * Math.floor(i / W) + (i % W) + 1 + 40 * c);
const mirrored = (n: number) => Array.from({ length: H * W }, (_, i) => 3 * n + 7 * Math.floor(i / W) + (W - 1 - (i % W)) + 1);

test('reflectX: every observation is itself or its left-right mirror, both occur, labels follow', async () => {
  const base = images();
  await noLeaks(async () => {
    const aug = dl.augmentedImageDatastore([H, W], base, { reflectX: true, seed: 3 });
    assert.ok(aug instanceof dl.AugmentedTensorDatastore);
    assert.deepEqual([...aug.inputShape], [1, H, W]);
    const { x, y } = await collect(aug, { batchSize: 16 });
    let flipped = 0;
    x.forEach((img, n) => {
      const same = img.every((v, i) => v === original(n)[i]);
      const mirror = img.every((v, i) => v === mirrored(n)[i]);
      assert.ok(same || mirror, `image ${n} is neither itself nor its mirror`);
      if (mirror) flipped++;
    });
    assert.ok(flipped > 5 && flipped < N - 5, `${flipped} of ${N} mirrored; expected about half`);
    assert.deepEqual(y, Array.from({ length: N }, (_, n) => n % 4));
  });
  base.dispose();
});

test('draws are a function of (seed, epoch, observation): same epoch same images in any order, next epoch new ones', async () => {
  const base = images();
  const aug = dl.augmentedImageDatastore([H, W], base, { resize: 'random-crop', cropPadding: 2, reflectX: true });
  const a = await collect(aug, { batchSize: 8, seed: 5, epoch: 0 });
  const b = await collect(aug, { batchSize: 8, seed: 5, epoch: 0 });
  assert.deepEqual(a, b);
  const shuffled = await collect(aug, { batchSize: 8, seed: 5, epoch: 0, shuffle: true });
  // The shuffled pass shows the same augmented image for the same observation (found by label and content).
  const key = (img: number[]) => img.join(',');
  assert.deepEqual(new Set(shuffled.x.map(key)), new Set(a.x.map(key)));
  const next = await collect(aug, { batchSize: 8, seed: 5, epoch: 1 });
  assert.notDeepEqual(next.x, a.x, 'epoch 1 draws afresh');
  base.dispose();
});

test("random-crop with cropPadding shifts the image by at most the padding and fills with 'fill'", async () => {
  const base = images();
  const aug = dl.augmentedImageDatastore([H, W], base, { resize: 'random-crop', cropPadding: 2, fill: 0, seed: 1 });
  const { x } = await collect(aug, { batchSize: N });
  let shifted = 0;
  x.forEach((img, n) => {
    // Find the shift (dx, dy) in [-2, 2]^2 that explains the image: in-image pixels equal the
    // original's at (y + dy, x + dx), outside pixels are the fill.
    let found = false;
    for (let dy = -2; dy <= 2 && !found; dy++) for (let dx = -2; dx <= 2 && !found; dx++) {
      found = img.every((v, i) => {
        const sy = Math.floor(i / W) + dy, sx = (i % W) + dx;
        return sy >= 0 && sy < H && sx >= 0 && sx < W ? v === 3 * n + 7 * sy + sx + 1 : v === 0;
      });
      if (found && (dx || dy)) shifted++;
    }
    assert.ok(found, `image ${n} is not a shift of the original within the padding`);
  });
  assert.ok(shifted > N / 2, `only ${shifted} of ${N} images moved`);
  base.dispose();
});

test('padded crops with both flips on 3-channel images are exact pixel copies, also when later steps follow', async () => {
  const base = images(3);
  const options = { resize: 'random-crop', cropPadding: 2, reflectX: true, reflectY: true, fill: [5, 6, 7], seed: 4 } as const;
  // erasing with probability 0 sends the crop through the float HWC path that later steps use.
  for (const extra of [{}, { erasing: { probability: 0 } }]) {
    const { x } = await collect(dl.augmentedImageDatastore([H, W], base, { ...options, ...extra }), { batchSize: N });
    const seen = new Set<string>();
    x.forEach((img, n) => {
      let found = '';
      for (let dy = -2; dy <= 2; dy++) for (let dx = -2; dx <= 2; dx++) for (const fy of [false, true]) for (const fx of [false, true]) {
        const ok = img.every((v, i) => {
          const c = Math.floor(i / (H * W)), y = Math.floor(i / W) % H, xx = i % W;
          const sy = (fy ? H - 1 - y : y) + dy, sx = (fx ? W - 1 - xx : xx) + dx;
          return sy >= 0 && sy < H && sx >= 0 && sx < W ? v === 3 * n + 7 * sy + sx + 1 + 40 * c : v === options.fill[c];
        });
        if (ok) found = `${fx},${fy}`;
      }
      assert.ok(found, `image ${n} (${JSON.stringify(extra)}) is not a flipped shift of the original`);
      seen.add(found);
    });
    assert.equal(seen.size, 4, `every flip combination occurs (${[...seen].join(' ')})`);
  }
  base.dispose();
});

test('3-channel images keep their channels through augmentation (CHW in, CHW out)', async () => {
  const base = images(3);
  const aug = dl.augmentedImageDatastore([H, W], base, { seed: 2 });
  const { x } = await collect(aug, { batchSize: 10 });
  x.forEach((img, n) => assert.deepEqual(img, [...original(n, 0), ...original(n, 1), ...original(n, 2)]));
  base.dispose();
});

test('augmented in-memory images train a network through trainNetwork', async () => {
  const base = images();
  const aug = dl.augmentedImageDatastore([H, W], base, { reflectX: true });
  const net = dl.Network.series([
    dl.nn.imageInput({ inputSize: [1, H, W] }), dl.nn.conv2d({ filters: 4, kernelSize: 3, padding: 'same' }), dl.nn.relu(),
    dl.nn.fullyConnected({ outputSize: 4 }),
  ]);
  const { history } = await dl.trainNetwork(aug, net, { maxEpochs: 2, miniBatchSize: 8, seed: 1, verbose: false });
  assert.equal(history.training.length, 2 * 5);
  assert.ok(history.training.every((r) => Number.isFinite(r.loss)));
  net.dispose();
  base.dispose();
});

test('errors: float data, non-image shapes and unknown options are named', () => {
  const floats = dl.tensorDatastore(dl.rand([4, 1, 5, 5]), null, { own: true });
  assert.throws(() => dl.augmentedImageDatastore([5, 5], floats, { reflectX: true }), /must be stored as uint8 \(raw 0–255 pixels\), got float32/);
  floats.dispose();
  const vectors = dl.tensorDatastore(dl.zeros([4, 10], { dtype: 'uint8' }), null, { own: true });
  assert.throws(() => dl.augmentedImageDatastore([5, 5], vectors), /must be images \[C, H, W\] with 1 or 3 channels, got \[10\]/);
  vectors.dispose();
  const base = images();
  assert.throws(() => dl.augmentedImageDatastore([H, W], base, { flip: true } as dl.ImageAugmenterOptions), /unknown option 'flip'/);
  base.dispose();
});
