// Transfer learning: a pretrained network gets a new classification head for the new task's
// classes, optionally a frozen backbone and a faster-learning head, and another input size
// where its layers allow it (convolutions up to a global pooling do); then it trains on the
// new data with trainNetwork. The CLI's `dlkit transfer` and the transfer benchmark call this.
import type { Layer, Shape } from '../nn/layer.js';
import { shapeStr } from '../nn/layer.js';
import type { Network } from '../nn/network.js';
import { layerFromConfig } from '../nn/registry.js';
import { fullyConnected } from '../nn/layers/linear.js';
import type { Datastore } from '../data/datastore.js';
import { trainNetwork, type TrainingResult } from '../train/trainer.js';
import type { TrainingOptionsInput } from '../train/options.js';

export interface TransferOptions {
  /** The new task's class names, in output order (default: the training data's). */
  classes?: readonly string[];
  /** The layer to replace with the new head; default: the last learnable layer before the output (see findHead). */
  head?: string;
  /**
   * 'none' (default): every layer trains. 'backbone': only the new head and what follows it
   * train; frozen batch norms keep their statistics. Or the names of the layers to freeze.
   */
  freeze?: 'none' | 'backbone' | readonly string[];
  /** Learn-rate factor of the new head (MATLAB's WeightLearnRateFactor of the new layer). Default 1. */
  headLearnRateFactor?: number;
  /** A new input size, [C, H, W] or [H, W] (channels kept): the image input is replaced and every shape inferred again. */
  inputSize?: readonly number[];
}

export interface TransferSetup {
  /** The name of the new head layer (the old head's name). */
  head: string;
  /** What the old head was: its type and output shape. */
  replaced: string;
  /** Layers frozen (with learnable parameters). */
  frozen: string[];
  /** The input size before and after, when it changed. */
  inputSize?: { from: Shape; to: Shape };
}

/**
 * The classification head: walking back from the network's (first) output through layers
 * without parameters (softmax, flatten, dropout, pooling), the first layer with parameters.
 * Throws, naming the layers, when the walk meets a layer with several inputs first.
 */
export function findHead(network: Network): { head: Layer; after: Layer[] } {
  const after: Layer[] = [];
  let name = network.outputRef(network.outputNames[0]!).layer;
  for (;;) {
    const layer = network.layer(name);
    if (layer.params.size > 0) return { head: layer, after };
    const sources = network.sourcesOf(name);
    if (layer.isInput || sources.length !== 1) {
      const walked = [...after, layer].map((l) => `'${l.name}' (${l.displayType})`).join(' <- ');
      throw new RangeError(`findHead: no learnable layer on a single path back from the output (${walked}); name the layer to replace with the option 'head'`);
    }
    after.push(layer);
    name = network.outputRef(sources[0]!).layer;
  }
}

/** A fresh head like `old` with `n` outputs: a fully connected layer, or a convolution with n filters (SqueezeNet's 1×1 classifier). */
function newHead(old: Layer, n: number): Layer {
  if (old.type === 'fullyConnected') return layerFromConfig({ ...old.config(), outputSize: n, learnRateFactor: 1 });
  if (old.type === 'conv2d' || old.type === 'conv1d') return layerFromConfig({ ...old.config(), filters: n, groups: 1, learnRateFactor: 1 });
  // Imported heads (an ONNX Gemm or MatMul) on one feature vector per observation.
  if ((old.inputShapes?.[0]?.length ?? 0) === 1) return fullyConnected({ name: old.name, outputSize: n });
  throw new RangeError(`transfer: the head '${old.name}' (${old.displayType}, input ${shapeStr(old.inputShapes?.[0] ?? [])}) is not a fully connected layer or a convolution; replace it yourself with network.replaceLayer, or name another layer with the option 'head'`);
}

/** A new image input for `size` ([C, H, W] or [H, W]), or null when the network already takes it. */
function inputLayerFor(network: Network, size: readonly number[] | undefined): { layer: Layer; to: Shape } | null {
  if (size === undefined) return null;
  const input = network.inputLayers[0];
  if (!input || network.inputLayers.length !== 1 || input.type !== 'imageInput') {
    throw new RangeError(`option 'inputSize' needs a network with one image input; this one has ${network.inputLayers.map((l) => `'${l.name}' (${l.type})`).join(', ') || 'none'}`);
  }
  const from = network.inputShape;
  const to = size.length === 2 ? [from[0]!, ...size] : [...size];
  if (to.length !== 3 || !to.every((d) => Number.isInteger(d) && d >= 1)) throw new RangeError(`option 'inputSize' must be [C, H, W] or [H, W] whole numbers >= 1, got ${JSON.stringify(size)}`);
  if (to[0] !== from[0]) throw new RangeError(`option 'inputSize' ${shapeStr(to)} changes the channels (${from[0]} -> ${to[0]}); the first convolution's weights need ${from[0]}`);
  return shapeStr(to) === shapeStr(from) ? null : { layer: layerFromConfig({ ...input.config(), inputSize: to }), to };
}

/**
 * Gives an image network another input size ([C, H, W] or [H, W]), in place, keeping every
 * weight: possible where nothing between the input and a global pooling (or an adaptive one)
 * depends on the image size. Where something does, the error names that layer.
 */
export function setInputSize(network: Network, size: readonly number[]): Network {
  const resized = inputLayerFor(network, size);
  if (resized) network.edit((g) => g.replace(network.inputLayers[0]!.name, resized.layer));
  return network;
}

/**
 * Prepares `network` (edited in place) for a new task: a new head with one output per class,
 * the class names, freezing and learn-rate factors, and the input size.
 */
export function prepareTransfer(network: Network, options: TransferOptions & { classes: readonly string[] }): TransferSetup {
  const { classes, freeze = 'none', headLearnRateFactor = 1 } = options;
  if (!Array.isArray(classes) || classes.length < 2) throw new RangeError(`transfer: option 'classes' must list at least 2 class names, got ${JSON.stringify(classes)}`);
  if (!(headLearnRateFactor > 0)) throw new RangeError(`transfer: option 'headLearnRateFactor' must be > 0, got ${headLearnRateFactor}`);
  const old = options.head !== undefined ? network.layer(options.head) : findHead(network).head;
  if (old.params.size === 0) throw new RangeError(`transfer: option 'head' names '${old.name}' (${old.displayType}), which has no learnable parameters`);
  const replaced = `${old.displayType} ${shapeStr(old.builtOutputShape ?? [])}`;
  const head = newHead(old, classes.length);
  const setup: TransferSetup = { head: head.name, replaced, frozen: [] };
  const resized = inputLayerFor(network, options.inputSize);
  if (resized) setup.inputSize = { from: network.inputShape, to: resized.to };
  network.edit((g) => {
    if (resized) g.replace(network.inputLayers[0]!.name, resized.layer);
    g.replace(old.name, head);
    g.classes = classes;
  });
  if (headLearnRateFactor !== 1) network.setLearnRateFactor([head.name], headLearnRateFactor);
  const trainable = new Set([head.name, ...findHead(network).after.map((l) => l.name)]);
  const toFreeze = freeze === 'none' ? [] : freeze === 'backbone' ? network.layers.filter((l) => !trainable.has(l.name)).map((l) => l.name) : [...freeze];
  if (toFreeze.length) {
    for (const n of toFreeze) network.layer(n);
    network.freeze(toFreeze);
  }
  setup.frozen = toFreeze.filter((n) => network.layer(n).params.size > 0);
  return setup;
}

/**
 * Training options for fine-tuning on a few hundred images: SGD with momentum at a low rate,
 * cosine decay, batch 32 (at most the data's size). Any option given to transferLearn wins.
 */
export const TRANSFER_TRAINING: TrainingOptionsInput = {
  solver: 'sgdm', initialLearnRate: 0.01, momentum: 0.9, maxEpochs: 30, miniBatchSize: 32,
  learnRateSchedule: 'cosine', l2Regularization: 5e-4,
};

/**
 * Transfer learning in one call: prepares `network` (in place) for the training data's classes
 * and input size (see prepareTransfer; the data's image size wins over the network's when they
 * differ and `inputSize` is not given), then trains it with trainNetwork and TRANSFER_TRAINING
 * overridden by `training`.
 */
export async function transferLearn(
  network: Network, trainData: Datastore, options: TransferOptions & { training?: TrainingOptionsInput } = {},
): Promise<TrainingResult & { setup: TransferSetup }> {
  const classes = options.classes ?? trainData.classes;
  if (!classes) throw new RangeError(`transferLearn: ${trainData.source} has no class names; give the option 'classes'`);
  const dataShape = trainData.inputShape;
  let inputSize = options.inputSize;
  if (inputSize === undefined && dataShape.length === 3 && shapeStr(dataShape) !== shapeStr(network.inputShape)) inputSize = dataShape;
  const setup = prepareTransfer(network, { ...options, classes, ...(inputSize && { inputSize }) });
  if (shapeStr(trainData.inputShape) !== shapeStr(network.inputShape)) {
    throw new RangeError(`transferLearn: the training data's observations are ${shapeStr(trainData.inputShape)}, the network takes ${shapeStr(network.inputShape)}`);
  }
  const training: TrainingOptionsInput = { ...TRANSFER_TRAINING, ...options.training };
  training.miniBatchSize = Math.min(training.miniBatchSize ?? 32, trainData.size);
  const result = await trainNetwork(trainData, network, training);
  return { ...result, setup };
}
