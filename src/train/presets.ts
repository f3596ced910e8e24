// Ready-made recipes: a network for an input size and class count, with training options that
// suit it. `dlkit train` uses them; they are also a starting point for your own.
import type { Layer } from '../nn/layer.js';
import { Network, type TestTimeAugmentation } from '../nn/network.js';
import * as nn from '../nn/layers/index.js';
import type { TrainingOptionsInput } from './options.js';
import { parseAugmentList, type ImageAugmenterOptions } from '../data/augment.js';

export const PRESETS = ['quick', 'default', 'best'] as const;
export type PresetName = (typeof PRESETS)[number];

export interface Preset {
  description: string;
  network(inputSize: readonly number[], classes: readonly string[]): Network;
  options: TrainingOptionsInput;
  /**
   * Random transforms for image training data of size [H, W] and `observations` images (`dlkit
   * train` applies them unless --augment says otherwise); undefined: none for such data.
   */
  augment?(size: readonly [number, number], observations?: number): ImageAugmenterOptions | undefined;
  /**
   * On a small data set, train for more epochs than `options.maxEpochs`, until this many
   * observations were seen (`dlkit train` and fitPresetToData; unset: the preset's epochs always).
   */
  minObservationsSeen?: number;
  /** For networks trained with `augment`'s transforms: the test-time augmentation that matches them. */
  testTimeAugmentation?: TestTimeAugmentation;
}

/**
 * conv 3x3 → (max pool) → batch norm → ReLU. No conv bias: batch norm's shift replaces it. The
 * pool comes first so batch norm, the ReLU and their gradients touch a quarter of the values:
 * on the default Fashion-MNIST net 3,470 → 4,050 img/s at batch 128 (4,940 at 256), with the
 * same accuracy (docs/notes.md).
 */
const convBlock = (filters: number, pool = false): Layer[] => [
  nn.conv2d({ filters, kernelSize: 3, padding: 'same', bias: false }),
  ...(pool ? [nn.maxPool2d({ poolSize: 2 })] : []), nn.batchNorm(), nn.relu(),
];

/**
 * A compact CNN for small images (28x28, 32x32): conv stages that each end by halving the
 * resolution (`stages`: the filter counts of each stage's convs), then a classifier.
 */
function smallCnn(inputSize: readonly number[], classes: readonly string[], stages: number[][], { dropout = 0, hidden = 128, last = 0 } = {}): Network {
  const layers: Layer[] = [nn.imageInput({ inputSize, normalization: 'zscore' })];
  for (const stage of stages) stage.forEach((w, i) => layers.push(...convBlock(w, i === stage.length - 1)));
  // One more conv at the smallest resolution: +20% time per epoch, ~+0.5% accuracy on Fashion-MNIST.
  if (last) layers.push(...convBlock(last));
  if (dropout) layers.push(nn.dropout({ probability: dropout }));
  layers.push(nn.fullyConnected({ outputSize: hidden }), nn.relu());
  if (dropout) layers.push(nn.dropout({ probability: dropout }));
  layers.push(nn.fullyConnected({ outputSize: classes.length }));
  return Network.series(layers, { classes });
}

/**
 * A CNN for larger images (48x48 and up, photos): stages of conv → max pool → batch norm → ReLU
 * until the map is about 4x4 (4 stages at 64x64), doubling the filters up to 256, then a global
 * average pool and the classifier. The pool replaces smallCnn's fully connected layer on the
 * flattened map, which at 64x64 would hold 2.1M of the weights and overfit a few hundred images.
 */
function photoCnn(inputSize: readonly number[], classes: readonly string[]): Network {
  const side = Math.min(inputSize[1] ?? 0, inputSize[2] ?? 0);
  const stages = Math.max(4, Math.min(6, Math.floor(Math.log2(side / 4))));
  const layers: Layer[] = [nn.imageInput({ inputSize, normalization: 'zscore' })];
  for (let i = 0; i < stages; i++) layers.push(...convBlock(Math.min(256, 32 * 2 ** i), true));
  layers.push(nn.globalAvgPool2d(), nn.fullyConnected({ outputSize: classes.length }));
  return Network.series(layers, { classes });
}

/** Images from this side up get photoCnn in the default preset; smaller ones (Fashion-MNIST, CIFAR-10) smallCnn. */
export const PHOTO_MIN_SIDE = 48;

/** Data sets smaller than this get the default preset's augmentation at any image size. */
export const SMALL_DATA_SET = 5000;

const isPhoto = (inputSize: readonly number[]): boolean => inputSize.length === 3 && Math.min(inputSize[1]!, inputSize[2]!) >= PHOTO_MIN_SIDE;

export const presets: Record<PresetName, Preset> = {
  quick: {
    description: 'a small CNN, 1 epoch: a smoke test',
    network: (s, c) => smallCnn(s, c, [[16], [32]], { hidden: 64 }),
    options: { solver: 'sgdm', initialLearnRate: 0.05, maxEpochs: 1, miniBatchSize: 128, learnRateSchedule: 'one-cycle', l2Regularization: 5e-4 },
  },
  default: {
    // Measured on 2 cores with bfloat16 (docs/notes.md): 93.1% after 6 epochs in ~80 s (3 seeds).
    description: 'conv 32, conv 64, conv 64, fc 128 (batch norm, ReLU), one-cycle SGD with momentum, batch 256, label smoothing, 6 epochs, bfloat16 where the CPU has it; images of 48x48 and up: conv 32-64-128-256 stages with pooling, global average pool, flips',
    // Images of 48x48 and up: photoCnn, with flips (ants/bees at 64x64: docs/notes.md, "Small data").
    network: (s, c) => (isPhoto(s) ? photoCnn(s, c) : smallCnn(s, c, [[32], [64]], { hidden: 128, last: 64 })),
    options: { solver: 'sgdm', initialLearnRate: 0.4, maxEpochs: 6, miniBatchSize: 256, learnRateSchedule: 'one-cycle', l2Regularization: 5e-4, labelSmoothing: 0.1, precision: 'auto' },
    // Flips only: on ants/bees, flips gave 72.5-76.5% over 3 seeds, flips with shifts of 1/8 of
    // the side 68.0-72.5%, none 69.3-76.5%.
    augment: ([h, w], observations) => (Math.min(h, w) >= PHOTO_MIN_SIDE || (observations !== undefined && observations < SMALL_DATA_SET) ? { reflectX: true } : undefined),
    minObservationsSeen: 7500,
  },
  best: {
    // 20 epochs, 1-pixel shifts and flips: 94.50-94.70% with test-time flips in 9 runs over 4 seeds, 8.5-9.5 min
    // on 2 cores with bfloat16 in a normal hour, up to 11.5 in a slow one (docs/notes.md, "Best preset, seventh session").
    // No dropout: the net underfits at this budget (dropout 0.25 cost ~0.2% in one run).
    description: 'conv 32, 2x conv 64, conv 128, fc 256 (batch norm, ReLU), 1-pixel shifts and horizontal flips in training, flips at test time, one-cycle SGD with momentum, batch 256, label smoothing, 20 epochs, bfloat16 where the CPU has it',
    network: (s, c) => smallCnn(s, c, [[32], [64, 64]], { hidden: 256, last: 128 }),
    options: { solver: 'sgdm', initialLearnRate: 0.2, maxEpochs: 20, miniBatchSize: 256, learnRateSchedule: 'one-cycle', l2Regularization: 5e-4, labelSmoothing: 0.1, precision: 'auto' },
    // Shifts of 1 pixel per 28 (2-pixel shifts cost accuracy at this budget: 93.4% vs 93.7% on a
    // 48/96 net). With shifts the net still gains after 18 epochs, where flips alone had stopped.
    augment: ([h, w]) => ({ resize: 'random-crop', cropPadding: Math.max(1, Math.round(Math.min(h, w) / 28)), reflectX: true }),
    // Predictions average each image and its mirror image: +0.15 to +0.5% test accuracy over 5 runs (docs/notes.md).
    testTimeAugmentation: 'reflectX',
    minObservationsSeen: 7500,
  },
};

export function preset(name: string): Preset {
  const p = presets[name as PresetName];
  if (!p) throw new RangeError(`unknown preset '${name}': choose one of ${PRESETS.join(', ')}`);
  return p;
}

/**
 * The training transforms for `observations` images of size [H, W]: a list in `dlkit train --augment` syntax
 * when given, else the preset's own; 'none' turns them off. (The CLI and the benchmarks share it.)
 */
export function presetAugmentation(recipe: Preset, list: string | undefined, size: readonly [number, number], observations?: number): ImageAugmenterOptions | undefined {
  if (list === 'none') return undefined;
  return list === undefined ? recipe.augment?.(size, observations) : parseAugmentList(list, size);
}
