// Ready-made recipes: a network for an input size and class count, with training options that
// suit it. `dlkit train` uses them; they are also a starting point for your own.
import type { Layer } from '../nn/layer.js';
import { Network } from '../nn/network.js';
import * as nn from '../nn/layers/index.js';
import type { TrainingOptionsInput } from './options.js';
import type { ImageAugmenterOptions } from '../data/augment.js';

export const PRESETS = ['quick', 'default', 'best'] as const;
export type PresetName = (typeof PRESETS)[number];

export interface Preset {
  description: string;
  network(inputSize: readonly number[], classes: readonly string[]): Network;
  options: TrainingOptionsInput;
  /** Random transforms for image training data of size [H, W] (`dlkit train` applies them unless --augment says otherwise). */
  augment?(size: readonly [number, number]): ImageAugmenterOptions;
}

/**
 * conv 3x3 → batch norm → (max pool) → ReLU. No conv bias: batch norm's shift replaces it. The
 * pool comes before the ReLU (the same function, as max and ReLU commute) so the ReLU and its
 * gradient touch a quarter of the values: ~4% faster per step here.
 */
const convBlock = (filters: number, pool = false): Layer[] => [
  nn.conv2d({ filters, kernelSize: 3, padding: 'same', bias: false }), nn.batchNorm(),
  ...(pool ? [nn.maxPool2d({ poolSize: 2 })] : []), nn.relu(),
];

/** A compact CNN for small images (28x28, 32x32): two or three conv stages, then a classifier. */
function smallCnn(inputSize: readonly number[], classes: readonly string[], widths: number[], { dropout = 0, hidden = 128, double = false, last = 0 } = {}): Network {
  const layers: Layer[] = [nn.imageInput({ inputSize, normalization: 'zscore' })];
  for (const w of widths) {
    if (double) layers.push(...convBlock(w));
    layers.push(...convBlock(w, true));
  }
  // One more conv at the smallest resolution: +20% time per epoch, ~+0.5% accuracy on Fashion-MNIST.
  if (last) layers.push(...convBlock(last));
  if (dropout) layers.push(nn.dropout({ probability: dropout }));
  layers.push(nn.fullyConnected({ outputSize: hidden }), nn.relu());
  if (dropout) layers.push(nn.dropout({ probability: dropout }));
  layers.push(nn.fullyConnected({ outputSize: classes.length }));
  return Network.series(layers, { classes });
}

export const presets: Record<PresetName, Preset> = {
  quick: {
    description: 'a small CNN, 1 epoch: a smoke test',
    network: (s, c) => smallCnn(s, c, [16, 32], { hidden: 64 }),
    options: { solver: 'sgdm', initialLearnRate: 0.05, maxEpochs: 1, miniBatchSize: 128, learnRateSchedule: 'one-cycle', l2Regularization: 5e-4 },
  },
  default: {
    // Measured on 2 cores with bfloat16 (docs/notes.md): 93.2% after 6 epochs in ~85 s.
    description: 'conv 32, conv 64, conv 64, fc 128 (batch norm, ReLU), one-cycle SGD with momentum, label smoothing, 6 epochs, bfloat16 where the CPU has it',
    network: (s, c) => smallCnn(s, c, [32, 64], { hidden: 128, last: 64 }),
    options: { solver: 'sgdm', initialLearnRate: 0.1, maxEpochs: 6, miniBatchSize: 128, learnRateSchedule: 'one-cycle', l2Regularization: 5e-4, labelSmoothing: 0.1, precision: 'auto' },
  },
  best: {
    // Sized to finish in about 10 minutes on 2 cores with bfloat16.
    description: 'conv 32, 2x conv 64, 2x conv 128, fc 256 with dropout, flips and shifted crops, one-cycle SGD, 16 epochs',
    network: (s, c) => smallCnn(s, c, [32, 64, 128], { hidden: 256, dropout: 0.3, double: true }),
    options: { solver: 'sgdm', initialLearnRate: 0.1, maxEpochs: 16, miniBatchSize: 128, learnRateSchedule: 'one-cycle', l2Regularization: 5e-4, labelSmoothing: 0.1, precision: 'auto' },
    augment: ([h, w]) => ({ reflectX: true, resize: 'random-crop', cropPadding: Math.max(1, Math.round(Math.min(h, w) / 14)) }),
  },
};

export function preset(name: string): Preset {
  const p = presets[name as PresetName];
  if (!p) throw new RangeError(`unknown preset '${name}': choose one of ${PRESETS.join(', ')}`);
  return p;
}
