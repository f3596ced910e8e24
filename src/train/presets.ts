// Ready-made recipes: a network for an input size and class count, with training options that
// suit it. `dlkit train` uses them; they are also a starting point for your own.
import type { Layer } from '../nn/layer.js';
import { Network } from '../nn/network.js';
import * as nn from '../nn/layers/index.js';
import type { TrainingOptionsInput } from './options.js';

export const PRESETS = ['quick', 'default', 'best'] as const;
export type PresetName = (typeof PRESETS)[number];

export interface Preset {
  description: string;
  network(inputSize: readonly number[], classes: readonly string[]): Network;
  options: TrainingOptionsInput;
}

const convBlock = (filters: number): Layer[] => [
  nn.conv2d({ filters, kernelSize: 3, padding: 'same' }), nn.batchNorm(), nn.relu(),
];

/** A compact CNN for small images (28x28, 32x32): two or three conv stages, then a classifier. */
function smallCnn(inputSize: readonly number[], classes: readonly string[], widths: number[], { dropout = 0, hidden = 128, double = false } = {}): Network {
  const layers: Layer[] = [nn.imageInput({ inputSize, normalization: 'zscore' })];
  for (const w of widths) {
    layers.push(...convBlock(w));
    if (double) layers.push(...convBlock(w));
    layers.push(nn.maxPool2d({ poolSize: 2 }));
  }
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
    description: 'the reference CNN (conv 32, conv 64, fc 128), one-cycle SGD with momentum, label smoothing',
    network: (s, c) => smallCnn(s, c, [32, 64], { hidden: 128 }),
    options: { solver: 'sgdm', initialLearnRate: 0.1, maxEpochs: 5, miniBatchSize: 128, learnRateSchedule: 'one-cycle', l2Regularization: 5e-4, labelSmoothing: 0.1 },
  },
  best: {
    // Sized to finish in about 10 minutes on 2 cores (~28 s per epoch); a wider net (two convs
    // per stage) costs ~4x per epoch. Not yet tuned to its 94.5% goal (docs/status.md).
    description: 'the reference CNN with a wider classifier and dropout, one-cycle SGD, 15 epochs',
    network: (s, c) => smallCnn(s, c, [32, 64], { hidden: 256, dropout: 0.25 }),
    options: { solver: 'sgdm', initialLearnRate: 0.1, maxEpochs: 15, miniBatchSize: 128, learnRateSchedule: 'one-cycle', l2Regularization: 5e-4, labelSmoothing: 0.1 },
  },
};

export function preset(name: string): Preset {
  const p = presets[name as PresetName];
  if (!p) throw new RangeError(`unknown preset '${name}': choose one of ${PRESETS.join(', ')}`);
  return p;
}
