// The ready-made recipes: each builds a network for the sizes `dlkit train` meets, its options pass
// the schema, and its transforms are valid augmenter options for that size.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as dl from '../../src/index.js';

const classes = Array.from({ length: 10 }, (_, i) => `c${i}`);

test('every preset builds a network for 1x28x28 and 3x32x32 images with 10 outputs, and its options validate', () => {
  const before = dl.memory().liveTensors;
  for (const name of dl.PRESETS) {
    const recipe = dl.preset(name);
    assert.doesNotThrow(() => dl.parseTrainingOptions(recipe.options, `preset '${name}'`), name);
    for (const size of [[1, 28, 28], [3, 32, 32]]) {
      const net = recipe.network(size, classes);
      assert.deepEqual([...net.inputShape], size, `${name} ${size}`);
      assert.deepEqual([...net.outputShape], [10], `${name} ${size}`);
      net.dispose();
    }
  }
  assert.equal(dl.memory().liveTensors, before);
});

test("the best preset: 1-pixel shifts and flips on 28x28, shifts that scale with the image size, test-time flips", () => {
  const best = dl.preset('best');
  assert.ok(best.augment);
  const at28 = best.augment([28, 28]);
  assert.deepEqual(at28, { resize: 'random-crop', cropPadding: 1, reflectX: true });
  assert.equal(best.augment([32, 32])!.cropPadding, 1);
  assert.equal(best.augment([224, 224])!.cropPadding, 8);
  assert.equal(best.augment([8, 8])!.cropPadding, 1, 'never less than a pixel');
  // The options are accepted by the augmenter itself (it rejects padding on other resize modes).
  assert.doesNotThrow(() => dl.resolveAugmenter(at28, 28, 28, 1));
  assert.equal(best.testTimeAugmentation, 'reflectX');
  assert.equal(dl.parseTrainingOptions(best.options).maxEpochs, 20);
});

test('preset: an unknown name is an error that lists the known ones', () => {
  assert.throws(() => dl.preset('huge'), /unknown preset 'huge': choose one of quick, default, best/);
});

test("presetAugmentation: an --augment list replaces the preset's transforms, 'none' turns them off, a bad list names the known ones", () => {
  const best = dl.preset('best');
  assert.deepEqual(dl.presetAugmentation(best, undefined, [28, 28]), best.augment!([28, 28]));
  assert.equal(dl.presetAugmentation(best, 'none', [28, 28]), undefined);
  assert.deepEqual(dl.presetAugmentation(best, 'flip', [28, 28]), { reflectX: true });
  assert.equal(dl.presetAugmentation(dl.preset('default'), undefined, [28, 28]), undefined, 'the default preset has no transforms');
  assert.throws(() => dl.presetAugmentation(best, 'spin', [28, 28]), /spin.*flip/s);
});
