// The deterministic state-dict filling of scripts/make-zoo-fixtures.py, so that tests compare
// dlkit's zoo networks with torchvision's on the same weights without shipping any: the k-th
// tensor of the fixture's key list (n values) gets value[i] from
// s = sin((i % 1013) * 0.37 + k + (i % 97) * (i % 89) * 0.0123) (float64, evaluated left to right
// as numpy does, then float32).
import * as dl from '../../src/index.js';

/** One fixture key entry, "name d0,d1,...", as name and shape. */
export function parseKey(entry: string): { name: string; shape: number[] } {
  const [name, dims = ''] = entry.split(' ');
  return { name: name!, shape: dims === '' ? [] : dims.split(',').map(Number) };
}

export function formulaValues(name: string, shape: readonly number[], k: number): Float32Array {
  const n = shape.reduce((a, b) => a * b, 1);
  const out = new Float32Array(n);
  const fanScale = shape.length >= 2 ? 2 / Math.sqrt(n / shape[0]!) : 0;
  for (let i = 0; i < n; i++) {
    const s = Math.sin((i % 1013) * 0.37 + k + (i % 97) * (i % 89) * 0.0123);
    if (name.endsWith('running_var')) out[i] = 1 + 0.25 * s;
    else if (name.endsWith('running_mean')) out[i] = 0.1 * s;
    else if (shape.length >= 2) out[i] = s * fanScale;
    else if (name.endsWith('weight')) out[i] = 1 + 0.25 * s;
    else out[i] = 0.1 * s;
  }
  return out;
}

/** The fixture's state dict filled by the formula (the caller disposes the tensors). */
export function formulaStateDict(keys: readonly string[]): Record<string, dl.Tensor> {
  const out: Record<string, dl.Tensor> = {};
  keys.forEach((entry, k) => {
    const { name, shape } = parseKey(entry);
    out[name] = name.endsWith('num_batches_tracked')
      ? dl.tensor(new BigInt64Array(shape.reduce((a, b) => a * b, 1)), { shape })
      : dl.tensor(formulaValues(name, shape, k), { shape });
  });
  return out;
}

/** The fixture's input pixels: 127.5 + 127.5 sin((j % 1013) * 0.173 + (j % 97) * (j % 89) * 0.0007) over [N, 3, H, W] (RGB, 0–255). */
export function formulaPixels(batch: number, size: number): dl.Tensor {
  const n = batch * 3 * size * size;
  const data = new Float32Array(n);
  for (let j = 0; j < n; j++) data[j] = 127.5 + 127.5 * Math.sin((j % 1013) * 0.173 + (j % 97) * (j % 89) * 0.0007);
  return dl.tensor(data, { shape: [batch, 3, size, size] });
}
