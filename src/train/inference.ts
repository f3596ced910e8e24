// Using a trained network: raw outputs, class labels with scores, and the activations of any
// named layer (feature extraction).
import type { Tensor } from '../tensor/tensor.js';
import { tidy } from '../tensor/memory.js';
import type { Network } from '../nn/network.js';
import { InferencePlan } from '../nn/inference-plan.js';
import { mapBatches, classifyOutputs, type InferenceInput, type Classification } from '../data/batch-inference.js';

export type { InferenceInput, Classification };

/** Runs the network in inference mode over `data` in batches; returns the concatenated output of `layer` (default: the output). */
async function run(network: Network, data: InferenceInput, layer: string | undefined, batchSize: number): Promise<Tensor> {
  // A layer's activations are the image's own, from the network itself.
  if (layer) return mapBatches(data, batchSize, network.device, (input) => network.forward(input, { training: false, outputs: [layer] }) as Tensor);
  // Predictions go through the inference plan (batch norm folded, channels-last weights), compiled
  // once per call so that they always see the network's current weights.
  const plan = new InferencePlan(network, { channelsLast: network.channelsLast });
  try {
    return await mapBatches(data, batchSize, network.device, (input) => plan.infer(input));
  } finally {
    plan.dispose();
  }
}

export interface InferenceOptions {
  miniBatchSize?: number;
}

/** The network's raw outputs for every observation, [N, ...outputShape] (averaged over its test-time augmentation, if any). */
export async function predict(network: Network, data: InferenceInput, options: InferenceOptions = {}): Promise<Tensor> {
  return run(network, data, undefined, options.miniBatchSize ?? 128);
}

/** Activations of the named layer for every observation, [N, ...layerOutputShape]. */
export async function activations(network: Network, data: InferenceInput, layerName: string, options: InferenceOptions = {}): Promise<Tensor> {
  network.layer(layerName);
  return run(network, data, layerName, options.miniBatchSize ?? 128);
}

/** Predicted classes and their probabilities. */
export async function classify(network: Network, data: InferenceInput, options: InferenceOptions = {}): Promise<Classification> {
  const out = await predict(network, data, options);
  return classifyOutputs(out, network.classes, network.outputsProbabilities);
}

/** Top-k classes with probabilities for each observation; a network without class names gets its output indices as labels. */
export function topK(scores: Tensor, classes: readonly string[], k: number): { label: string; score: number }[][] {
  return tidy(() => {
    const { values, indices } = scores.topk(Math.min(k, scores.shape[1]!), { dim: 1 });
    const v = values.dataSync() as Float32Array;
    const ix = indices.dataSync() as BigInt64Array;
    const kk = values.shape[1]!;
    return Array.from({ length: scores.shape[0]! }, (_, r) =>
      Array.from({ length: kk }, (_, c) => {
        const i = Number(ix[r * kk + c]);
        return { label: classes[i] ?? String(i), score: v[r * kk + c]! };
      }));
  });
}

