// Using a trained network: raw outputs, class labels with scores, and the activations of any
// named layer (feature extraction).
import type { Tensor } from '../tensor/tensor.js';
import { cat } from '../tensor/create.js';
import { noGrad } from '../tensor/autograd.js';
import { tidy, keep, dispose } from '../tensor/memory.js';
import type { Network } from '../nn/network.js';
import type { Datastore } from '../data/datastore.js';

export type InferenceInput = Tensor | Datastore;

async function* batchesOf(data: InferenceInput, batchSize: number): AsyncGenerator<Tensor> {
  if ('batches' in data && typeof data.batches === 'function') {
    for await (const b of data.batches({ batchSize })) {
      b.y?.dispose();
      yield b.x;
    }
    return;
  }
  const x = data as Tensor;
  const n = x.shape[0] ?? 0;
  for (let i = 0; i < n; i += batchSize) yield x.slice(0, i, Math.min(i + batchSize, n));
}

/** Runs the network in inference mode over `data` in batches; returns the concatenated output of `layer` (default: the output). */
async function run(network: Network, data: InferenceInput, layer: string | undefined, batchSize: number): Promise<Tensor> {
  const parts: Tensor[] = [];
  try {
    for await (const x of batchesOf(data, batchSize)) {
      parts.push(keep(tidy(() => noGrad(() => {
        const device = network.device;
        const input = x.device === device ? x : x.to({ device });
        // Predictions follow the network's test-time augmentation; a layer's activations are the image's own.
        const out = layer ? network.forward(input, { training: false, outputs: [layer] }) as Tensor : network.infer(input);
        x.dispose();
        return out.device === 'cpu' ? out.contiguous() : out.cpu();
      }))));
    }
    if (parts.length === 0) throw new RangeError('no observations to run the network on');
    return parts.length === 1 ? parts[0]! : cat(parts, 0);
  } finally {
    if (parts.length > 1) dispose(parts);
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

export interface Classification {
  /** Predicted class name per observation. */
  labels: string[];
  /** Predicted class index per observation. */
  indices: Int32Array;
  /** Class probabilities, [N, classes] (softmax of the outputs unless the network ends in softmax). */
  scores: Tensor;
}

/** Predicted classes and their probabilities. */
export async function classify(network: Network, data: InferenceInput, options: InferenceOptions = {}): Promise<Classification> {
  const out = await predict(network, data, options);
  const endsInSoftmax = network.layer(network.outputNames[0]!).type === 'softmax';
  const scores = endsInSoftmax ? out : tidy(() => out.softmax(1));
  if (scores !== out) out.dispose();
  const indices = Int32Array.from(tidy(() => scores.argmax(1).dataSync() as BigInt64Array), Number);
  const classes = network.classes ?? Array.from({ length: scores.shape[1]! }, (_, i) => String(i));
  return { labels: Array.from(indices, (i) => classes[i]!), indices, scores };
}

/** Top-k classes with probabilities for each observation. */
export function topK(scores: Tensor, classes: readonly string[], k: number): { label: string; score: number }[][] {
  return tidy(() => {
    const { values, indices } = scores.topk(Math.min(k, scores.shape[1]!), { dim: 1 });
    const v = values.dataSync() as Float32Array;
    const ix = indices.dataSync() as BigInt64Array;
    const kk = values.shape[1]!;
    return Array.from({ length: scores.shape[0]! }, (_, r) =>
      Array.from({ length: kk }, (_, c) => ({ label: classes[Number(ix[r * kk + c])]!, score: v[r * kk + c]! })));
  });
}

