// The loop every predictor shares (dlkit networks in train/, TorchScript modules in io/): run a
// function over the observations in batches and gather the outputs, then turn outputs into labels.
import type { Tensor } from '../tensor/tensor.js';
import { cat } from '../tensor/create.js';
import { noGrad } from '../tensor/autograd.js';
import { tidy, keep, dispose } from '../tensor/memory.js';
import type { Datastore } from './datastore.js';

/** Observations to run a model on: a batch tensor [N, ...], or a datastore (its labels are ignored). */
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

/**
 * Runs `fn` without autograd over `data` in batches of `batchSize`, each batch moved to `device`
 * first; returns the outputs concatenated along dim 0, on the CPU. `onBatch` is told the number
 * of observations done after each batch.
 */
export async function mapBatches(data: InferenceInput, batchSize: number, device: string, fn: (x: Tensor) => Tensor, onBatch?: (done: number) => void): Promise<Tensor> {
  let done = 0;
  const parts: Tensor[] = [];
  try {
    for await (const x of batchesOf(data, batchSize)) {
      parts.push(keep(tidy(() => noGrad(() => {
        // The batch is ours (a slice or the datastore's), also when fn throws.
        try {
          const input = x.device === device ? x : x.to({ device });
          const out = fn(input);
          return out.device === 'cpu' ? out.contiguous() : out.cpu();
        } finally {
          x.dispose();
        }
      }))));
      done += parts[parts.length - 1]!.shape[0] ?? 0;
      onBatch?.(done);
    }
    if (parts.length === 0) throw new RangeError('no observations to run the network on');
    return parts.length === 1 ? parts[0]! : cat(parts, 0);
  } finally {
    if (parts.length > 1) dispose(parts);
  }
}

export interface Classification {
  /** Predicted class name per observation. */
  labels: string[];
  /** Predicted class index per observation. */
  indices: Int32Array;
  /** Class probabilities, [N, classes] (softmax of the outputs unless the network ends in softmax). */
  scores: Tensor;
}

/**
 * Labels from a model's outputs [N, classes]; takes ownership of `out`. `outputsAreProbabilities`:
 * the model ends in softmax, so its outputs are used as scores as they are.
 */
export function classifyOutputs(out: Tensor, classes: readonly string[] | null, outputsAreProbabilities: boolean): Classification {
  if (out.ndim !== 2 || (classes && classes.length !== out.shape[1])) {
    const shape = `[${out.shape.join(', ')}]`;
    out.dispose();
    throw new RangeError(classes
      ? `classify: ${classes.length} class names for outputs of shape ${shape}; expected [N, ${classes.length}]`
      : `classify: expected outputs of shape [N, classes], got ${shape}`);
  }
  const scores = outputsAreProbabilities ? out : tidy(() => out.softmax(1));
  if (scores !== out) out.dispose();
  const indices = Int32Array.from(tidy(() => scores.argmax(1).dataSync() as BigInt64Array), Number);
  const names = classes ?? Array.from({ length: scores.shape[1]! }, (_, i) => String(i));
  return { labels: Array.from(indices, (i) => names[i]!), indices, scores };
}
