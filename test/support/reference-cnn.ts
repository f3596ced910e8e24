// The engine issue's reference CNN, written with the low-level API only (no layers):
// Conv 1->32 3x3 pad 1, BN, ReLU, MaxPool 2; Conv 32->64 3x3 pad 1, BN, ReLU, MaxPool 2;
// Flatten; Linear 3136->128, ReLU; Linear 128->10; SGD momentum 0.9. Used by the training
// and memory tests and by bench/train-step.
import * as dl from '../../src/index.js';
import type { Tensor } from '../../src/index.js';

const F = dl.functional;

export interface ReferenceCnn {
  params: Tensor[];
  buffers: Tensor[];
  step(x: Tensor, y: Tensor): number;
  /** Training-mode forward pass only (for tests that check shapes). */
  forward(x: Tensor, training: boolean): Tensor;
  dispose(): void;
}

export interface ReferenceCnnOptions {
  lr?: number;
  momentum?: number;
  /** Lay activations and weights out as NHWC (faster convolutions on CPU). */
  channelsLast?: boolean;
  /** Read the loss back every step (a sync point; the benchmark turns it off). */
  readLoss?: boolean;
}

/** Kaiming-uniform initialization as PyTorch's Conv2d/Linear defaults (bound = 1/sqrt(fan_in)). */
function uniformParam(shape: number[], fanIn: number): Tensor {
  const bound = 1 / Math.sqrt(fanIn);
  return dl.tidy(() => dl.rand(shape).mul(2 * bound).sub(bound)).requiresGrad_();
}

export function referenceCnn(options: ReferenceCnnOptions = {}): ReferenceCnn {
  const { lr = 0.05, momentum = 0.9, channelsLast = true, readLoss = true } = options;
  const layout = (t: Tensor) => {
    if (!channelsLast) return t;
    const c = dl.noGrad(() => t.toChannelsLast()).requiresGrad_();
    t.dispose();
    return c;
  };
  const conv1w = layout(uniformParam([32, 1, 3, 3], 9));
  const conv1b = uniformParam([32], 9);
  const bn1w = dl.ones([32]).requiresGrad_();
  const bn1b = dl.zeros([32]).requiresGrad_();
  const conv2w = layout(uniformParam([64, 32, 3, 3], 32 * 9));
  const conv2b = uniformParam([64], 32 * 9);
  const bn2w = dl.ones([64]).requiresGrad_();
  const bn2b = dl.zeros([64]).requiresGrad_();
  const fc1w = uniformParam([128, 3136], 3136);
  const fc1b = uniformParam([128], 3136);
  const fc2w = uniformParam([10, 128], 128);
  const fc2b = uniformParam([10], 128);
  const params = [conv1w, conv1b, bn1w, bn1b, conv2w, conv2b, bn2w, bn2b, fc1w, fc1b, fc2w, fc2b];
  const buffers = [dl.zeros([32]), dl.ones([32]), dl.zeros([64]), dl.ones([64])];
  const [rm1, rv1, rm2, rv2] = buffers as [Tensor, Tensor, Tensor, Tensor];
  const velocity = params.map((p) => dl.zerosLike(p)); // keeps p's memory format

  const forward = (x: Tensor, training: boolean): Tensor => {
    const input = channelsLast ? x.toChannelsLast() : x;
    let h = F.conv2d(input, conv1w, conv1b, { padding: 1 });
    h = F.batchNorm(h, { weight: bn1w, bias: bn1b, runningMean: rm1, runningVar: rv1, training });
    h = F.maxPool2d(F.relu(h), 2);
    h = F.conv2d(h, conv2w, conv2b, { padding: 1 });
    h = F.batchNorm(h, { weight: bn2w, bias: bn2b, runningMean: rm2, runningVar: rv2, training });
    h = F.maxPool2d(F.relu(h), 2);
    h = h.flatten(1); // (N, 64*7*7)
    h = F.relu(F.linear(h, fc1w, fc1b));
    return F.linear(h, fc2w, fc2b); // (N, 10)
  };

  const step = (x: Tensor, y: Tensor): number => {
    let loss = NaN;
    dl.tidy(() => {
      const out = forward(x, true);
      const l = F.crossEntropy(out, y);
      for (const p of params) p.zeroGrad();
      l.backward();
      dl.noGrad(() => {
        params.forEach((p, i) => {
          const v = velocity[i]!;
          v.mul_(momentum).add_(p.grad!);
          p.add_(v, -lr);
        });
      });
      if (readLoss) loss = l.item();
    });
    return loss;
  };

  return {
    params,
    buffers,
    step,
    forward,
    dispose: () => dl.dispose([params, buffers, velocity]),
  };
}

/**
 * A fixed synthetic 10-class problem: each class has its own random 28x28 template (drawn from
 * `problemSeed`); a sample is its class template at a random brightness plus strong noise,
 * so a CNN learns it over a few hundred steps but not in a handful. Deterministic per seed.
 */
export function syntheticBatch(batch: number, seed: number, problemSeed = 7): { x: Tensor; y: Tensor } {
  const xorshift = (s0: number) => {
    let s = s0 >>> 0 || 1;
    return () => { s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0; return s / 4294967296; };
  };
  const gauss = (rnd: () => number) => Math.sqrt(-2 * Math.log(rnd() + 1e-12)) * Math.cos(2 * Math.PI * rnd());
  const trnd = xorshift(problemSeed * 7919);
  const templates = Array.from({ length: 10 }, () => Float32Array.from({ length: 784 }, () => (trnd() < 0.25 ? 1 : 0)));
  const rnd = xorshift(seed * 104729 + 1);
  const x = new Float32Array(batch * 784);
  const y = new BigInt64Array(batch);
  for (let i = 0; i < batch; i++) {
    const c = Math.floor(rnd() * 10);
    y[i] = BigInt(c);
    const scale = 0.5 + rnd();
    const t = templates[c]!;
    for (let p = 0; p < 784; p++) x[i * 784 + p] = t[p]! * scale + gauss(rnd) * 0.8;
  }
  return { x: dl.tensor(x, { shape: [batch, 1, 28, 28] }), y: dl.tensor(y) };
}
