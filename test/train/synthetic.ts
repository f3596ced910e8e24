// Small synthetic image data for the training tests: 8x8 single-channel images with raw
// 0–255 values, four classes, each a bright 3x3 blob in one quadrant (position jittered by one
// pixel) over uniform noise. A tiny CNN learns it in a few epochs; chance is 25%.
import * as dl from '../../src/index.js';
import { prng } from '../support/random.js';

export const CLASSES = ['top-left', 'top-right', 'bottom-left', 'bottom-right'] as const;


export interface SyntheticArrays {
  pixels: Uint8Array; // [n, 1, size, size]
  labels: Uint8Array; // [n]
  size: number;
}

export function syntheticArrays(n: number, seed: number, { size = 8, noise = 90 } = {}): SyntheticArrays {
  const random = prng(seed);
  const pixels = new Uint8Array(n * size * size);
  const labels = new Uint8Array(n);
  const half = size / 2;
  for (let i = 0; i < n; i++) {
    const label = i % 4; // balanced classes
    labels[i] = label;
    const img = pixels.subarray(i * size * size, (i + 1) * size * size);
    for (let p = 0; p < img.length; p++) img[p] = Math.floor(random() * noise);
    const r0 = (label >> 1) * half + Math.floor(random() * (half - 2));
    const c0 = (label & 1) * half + Math.floor(random() * (half - 2));
    for (let r = r0; r < r0 + 3; r++) for (let c = c0; c < c0 + 3; c++) img[r * size + c] = 160 + Math.floor(random() * 96);
  }
  return { pixels, labels, size };
}

/** A labeled in-memory datastore over synthetic images; dispose() frees its tensors. */
export function syntheticData(n: number, seed: number, options: { size?: number; noise?: number } = {}): dl.TensorDatastore {
  const { pixels, labels, size } = syntheticArrays(n, seed, options);
  const x = dl.tensor(pixels, { shape: [n, 1, size, size] });
  const y = dl.tensor(labels);
  return dl.tensorDatastore(x, y, { classes: [...CLASSES], own: true, source: `synthetic(${n}, seed ${seed})` });
}

/**
 * A tiny CNN for [1, 8, 8] inputs: conv 8 → relu → max pool → fc. No batch norm and no dropout
 * unless asked, so runs are deterministic and validation loss depends on the weights alone.
 */
export function tinyCnn({ classes = CLASSES.length, normalization = 'rescale-zero-one', batchNorm = false, filters = 8, inputSize = [1, 8, 8] }: {
  classes?: number; normalization?: dl.nn.Normalization; batchNorm?: boolean; filters?: number; inputSize?: number[];
} = {}): dl.Network {
  return dl.Network.series([
    dl.nn.imageInput({ inputSize, normalization, name: 'input' }),
    dl.nn.conv2d({ filters, kernelSize: 3, padding: 'same', name: 'conv' }),
    ...(batchNorm ? [dl.nn.batchNorm({ name: 'bn' })] : []),
    dl.nn.relu({ name: 'relu' }),
    dl.nn.maxPool2d({ poolSize: 2, name: 'pool' }),
    dl.nn.fullyConnected({ outputSize: classes, name: 'fc' }),
  ]);
}

/** Copies of every state-dict tensor's values, by name. */
export function weights(network: dl.Network): Record<string, Float32Array> {
  const out: Record<string, Float32Array> = {};
  for (const [k, t] of Object.entries(network.stateDict())) out[k] = Float32Array.from(t.dataSync() as ArrayLike<number | bigint>, Number);
  return out;
}

/** Largest absolute difference between two weight sets (same names). */
export function maxDifference(a: Record<string, Float32Array>, b: Record<string, Float32Array>): { diff: number; at: string } {
  let diff = 0;
  let at = '';
  for (const k of Object.keys(a)) {
    const x = a[k]!;
    const y = b[k];
    if (!y || y.length !== x.length) return { diff: Infinity, at: k };
    for (let i = 0; i < x.length; i++) {
      const d = Math.abs(x[i]! - y[i]!);
      if (!(d <= diff)) { diff = Number.isNaN(d) ? Infinity : d; at = `${k}[${i}]`; }
    }
  }
  return { diff, at };
}
