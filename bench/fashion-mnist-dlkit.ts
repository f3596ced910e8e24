// The dlkit side of `npm run bench -- fashion-mnist`: a preset trained with trainNetwork, the
// test set evaluated after every epoch (as validation data). The last stdout line is JSON.
import * as dl from '../src/index.js';

const presetName = process.argv[2] ?? 'default';
const epochs = process.argv[3] ? Number(process.argv[3]) : undefined;
const seed = Number(process.argv[4] ?? 0);
const augmentList = process.argv[5] || undefined; // --augment: replaces the preset's transforms
const recipe = dl.preset(presetName);
const images = await dl.fashionMnist('train');
const test = await dl.fashionMnist('test');
// The preset's augmentation, as `dlkit train` applies it (or the --augment list).
let augment: dl.ImageAugmenterOptions | undefined;
try {
  augment = dl.presetAugmentation(recipe, augmentList, [28, 28]);
} catch (err) {
  process.stderr.write(`fashion-mnist: ${(err as Error).message}\n`);
  process.exit(2);
}
const train = augment ? dl.augmentedImageDatastore([28, 28], images, augment) : images;
dl.manualSeed(seed); // the same initial weights every run for a seed (trainNetwork's seed covers the rest)
const network = recipe.network(train.inputShape, train.classes!);
// With any training transforms (the preset's or an --augment list) goes the preset's test-time
// augmentation; `dlkit train` adds it only to the preset's own.
if (augment && recipe.testTimeAugmentation) network.testTimeAugmentation = recipe.testTimeAugmentation;
process.stderr.write(`dlkit preset '${presetName}': augmentation ${augment ? dl.describeAugmenter(augment) : 'none'}, test-time augmentation ${network.testTimeAugmentation}\n`);
const perEpoch = Math.floor(train.size / (recipe.options.miniBatchSize ?? 128));
const rss: number[] = [];
const { history } = await dl.trainNetwork(train, network, {
  ...recipe.options,
  ...(epochs && { maxEpochs: epochs }),
  seed,
  validationData: test,
  validationFrequency: perEpoch,
  verbose: false,
  onIteration: (info) => {
    if (info.iteration % perEpoch === 0) {
      rss.push(process.memoryUsage.rss());
      process.stderr.write(`dlkit epoch ${info.epoch}: test accuracy ${info.validationAccuracy?.toFixed(4)} at ${info.elapsed.toFixed(1)} s, rss ${(rss.at(-1)! / 2 ** 20).toFixed(0)} MB\n`);
    }
  },
});
const results = history.validation.map((v, i) => ({ epoch: v.epoch, time: v.time, accuracy: v.accuracy, rssMB: (rss[i] ?? NaN) / 2 ** 20 }));
console.log(JSON.stringify(results));
