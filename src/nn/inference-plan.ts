// The inference path: a network compiled once into a flat plan of steps for fast prediction.
// What it does that `Network.forward` cannot (forward must stay trainable and editable):
//  - batch norm folded into the convolution before it (w' = w * g / sqrt(v + eps),
//    b' = (b - m) * g / sqrt(v + eps) + beta), the ReLU after it applied in place;
//  - convolution weights stored channels-last, the input converted once, so oneDNN reads its
//    preferred layout and no step converts back and forth;
//  - no autograd bookkeeping, no per-layer scopes: each step frees what no later step needs.
// Layers are recognised through `describeForInference` adapters (dlkit's own here, imported ONNX
// nodes register theirs), so any layer type can take part; the rest run their own forward.
import { Tensor, callOp } from '../tensor/tensor.js';
import { noGrad } from '../tensor/autograd.js';
import { tidy, keep } from '../tensor/memory.js';
import type { Layer } from './layer.js';
import type { Network } from './network.js';
import { Conv2d } from './layers/conv.js';
import { BatchNorm } from './layers/normalization.js';

/** What the plan needs to know of a layer to fuse it. */
export type InferenceRole =
  | { kind: 'conv'; weight: Tensor; bias: Tensor | null; stride: number[]; padding: number[]; dilation: number[]; groups: number }
  | { kind: 'batchNorm'; mean: Tensor; variance: Tensor; weight: Tensor | null; bias: Tensor | null; eps: number }
  | { kind: 'relu' }
  /** y = flatten(x) w^T + b, the weight's columns in (C, H, W) order for 4-D inputs. */
  | { kind: 'linear'; weight: Tensor; bias: Tensor | null }
  | null;

const describers = new Map<string, (layer: Layer) => InferenceRole>();

/** Lets a layer type take part in fusion (the ONNX importer registers its nodes' Conv, BatchNormalization, Relu). */
export function describeForInference(type: string, describe: (layer: Layer) => InferenceRole): void {
  describers.set(type, describe);
}

const roleOf = (layer: Layer): InferenceRole => describers.get(layer.type)?.(layer) ?? null;

describeForInference('conv2d', (l) => {
  const c = l as Conv2d;
  const pads = c.pads(c.inputShapes![0]!.slice(1));
  if (pads.some(([b, e]) => b !== e)) return null; // asymmetric 'same' padding: the layer pads its input itself
  return { kind: 'conv', weight: c.params.get('weight')!, bias: c.params.get('bias') ?? null, stride: c.stride, padding: pads.map(([b]) => b), dilation: c.dilation, groups: c.groups };
});
describeForInference('batchNorm', (l) => {
  const b = l as BatchNorm;
  return { kind: 'batchNorm', mean: b.buffers.get('running_mean')!, variance: b.buffers.get('running_var')!, weight: b.params.get('weight') ?? null, bias: b.params.get('bias') ?? null, eps: b.epsilon };
});
describeForInference('relu', () => ({ kind: 'relu' }));
describeForInference('fullyConnected', (l) => ({ kind: 'linear', weight: l.params.get('weight')!, bias: l.params.get('bias') ?? null }));

interface Step {
  /** The layer whose output this step produces (the last of a fused run). */
  name: string;
  inputs: { layer: string; out: number }[];
  run(inputs: Tensor[]): Tensor[];
}

export interface InferencePlanInfo {
  steps: number;
  /** Convolutions with a batch norm folded in. */
  foldedBatchNorms: number;
  /** ReLUs applied in place on a convolution's output. */
  fusedRelus: number;
}

/** A network compiled for inference (see the file comment). Dispose it to free the folded weights. */
export class InferencePlan {
  readonly #steps: Step[];
  readonly #owned: Tensor[];
  readonly #network: Network;
  readonly info: InferencePlanInfo;

  constructor(network: Network, { channelsLast = true }: { channelsLast?: boolean } = {}) {
    this.#network = network;
    const consumers = new Map<string, string[]>();
    for (const l of network.layers) for (const s of network.sourcesOf(l.name)) {
      const src = network.outputRef(s).layer;
      consumers.set(src, [...(consumers.get(src) ?? []), l.name]);
    }
    const outputs = new Set(network.outputNames.map((o) => network.outputRef(o).layer));
    /** The single consumer of `name` when fusing into it is safe (nothing else reads `name`). */
    const only = (name: string): Layer | null => {
      const c = consumers.get(name) ?? [];
      return c.length === 1 && !outputs.has(name) ? network.layer(c[0]!) : null;
    };
    const owned: Tensor[] = [];
    const steps: Step[] = [];
    const fusedAway = new Set<string>();
    let folded = 0, relus = 0;
    noGrad(() => {
      for (const layer of network.layers) {
        if (fusedAway.has(layer.name)) continue;
        const inputs = layer.isInput ? [] : network.sourcesOf(layer.name).map((s) => network.outputRef(s));
        const role = roleOf(layer);
        if (role?.kind === 'conv' && role.weight.ndim === 4) {
          let { weight, bias } = role;
          let last = layer;
          const next = only(layer.name);
          const bn = next ? roleOf(next) : null;
          const made: Tensor[] = [];
          if (next && bn?.kind === 'batchNorm') {
            // Fold in float64, then back to the weight's dtype: folding rounds once, not per term.
            const f = tidy(() => {
              const inv = callOp<Tensor>('rsqrt', '', bn.variance.double().add(bn.eps));
              const g = bn.weight ? bn.weight.double().mul(inv) : inv;
              const w = weight.double().mul(g.reshape([-1, 1, 1, 1]));
              const b0 = bias ? bias.double() : callOp<Tensor>('zeros_like', '', bn.mean.double());
              let b = b0.sub(bn.mean.double()).mul(g);
              if (bn.bias) b = b.add(bn.bias.double());
              return [keep(w.to(weight.dtype)), keep(b.to(weight.dtype))] as const;
            });
            weight = f[0]; bias = f[1];
            made.push(weight, bias);
            fusedAway.add(next.name);
            last = next;
            folded++;
          }
          const after = only(last.name);
          const relu = after && roleOf(after)?.kind === 'relu';
          if (relu) { fusedAway.add(after!.name); last = after!; relus++; }
          if (channelsLast) {
            // contiguous() hands back the tensor itself when it already has the layout: own only copies.
            const cl = weight.contiguous('channelsLast');
            if (cl !== weight) { made.push(keep(cl)); weight = cl; }
          }
          owned.push(...made);
          const w = weight, b = bias;
          const { stride, padding, dilation, groups } = role;
          steps.push({
            name: last.name, inputs,
            run: ([x]) => {
              const xin = channelsLast && !x!.isContiguous('channelsLast') ? x!.contiguous('channelsLast') : x!;
              const y = callOp<Tensor>('convolution', '', xin, w, b, stride, padding, dilation, false, [0, 0], groups);
              if (xin !== x) xin.dispose();
              if (relu) callOp('relu_', '', y);
              return [y];
            },
          });
          continue;
        }
        if (role?.kind === 'linear') {
          // A channels-last feature map is read in its memory order (H, W, C): permute the weight's
          // columns to match once here, not on every call as the trainable layer must.
          const { weight, bias } = role;
          const shape = layer.inputShapes?.[0];
          let hwc: Tensor | null = null;
          if (channelsLast && shape && shape.length === 3) {
            const [c, h, w] = shape as [number, number, number];
            hwc = keep(tidy(() => weight.view(weight.shape[0]!, c, h, w).permute(0, 2, 3, 1).reshape(weight.shape[0]!, h * w * c).contiguous()));
            owned.push(hwc);
          }
          steps.push({
            name: layer.name, inputs,
            run: ([x]) => tidy(() => {
              const n = x!.shape[0]!;
              const useHwc = hwc !== null && x!.ndim === 4 && x!.isContiguous('channelsLast');
              const flat = useHwc ? x!.permute(0, 2, 3, 1).reshape(n, -1) : x!.reshape(n, -1);
              const w = useHwc ? hwc! : weight;
              // One observation: a matrix-vector product. BLAS's matrix product with one row is
              // ~4x slower here (263 against 63 us for 3136 -> 128 features).
              if (n === 1) {
                const v = bias ? callOp<Tensor>('addmv', '', bias, w, flat.reshape(-1)) : callOp<Tensor>('mv', '', w, flat.reshape(-1));
                return [v.unsqueeze(0)];
              }
              return [callOp<Tensor>('linear', '', flat, w, bias)];
            }),
          });
          continue;
        }
        if (role?.kind === 'relu' && !layer.isInput) {
          steps.push({ name: layer.name, inputs, run: ([x]) => [callOp<Tensor>('relu', '', x!)] });
          continue;
        }
        steps.push({
          name: layer.name, inputs,
          run: (xs) => {
            const out = tidy(() => layer.forward(xs, { training: false }));
            return Array.isArray(out) ? out : [out];
          },
        });
      }
    });
    this.#steps = steps;
    this.#owned = owned;
    this.info = { steps: steps.length, foldedBatchNorms: folded, fusedRelus: relus };
  }

  /**
   * The network's predictions for a batch of its one input, averaged over its test-time
   * augmentation as Network.infer does ('reflectX': the batch and its mirror image).
   */
  infer(x: Tensor): Tensor {
    const once = (t: Tensor) => this.forward(t) as Tensor;
    if (this.#network.testTimeAugmentation === 'none') return once(x);
    return tidy(() => once(x).add(once(x.flip(-1))).mul_(0.5));
  }

  /** The network's outputs for a batch (one input tensor, or one per input layer). */
  forward(inputs: Tensor | Tensor[]): Tensor | Tensor[] {
    const net = this.#network;
    const given = inputs instanceof Tensor ? [inputs] : inputs;
    if (given.length !== net.inputNames.length) throw new RangeError(`forward: the network has ${net.inputNames.length} inputs (${net.inputNames.join(', ')}), got ${given.length} tensors`);
    const wanted = net.outputNames.map((o) => net.outputRef(o));
    const remaining = new Map<string, number>();
    for (const s of this.#steps) for (const r of s.inputs) remaining.set(r.layer, (remaining.get(r.layer) ?? 0) + 1);
    for (const w of wanted) remaining.set(w.layer, Infinity);
    const values = new Map<string, Tensor[]>();
    return noGrad(() => {
      try {
        for (const step of this.#steps) {
          const inputIndex = net.inputNames.indexOf(step.name);
          const args = inputIndex >= 0 ? [given[inputIndex]!] : step.inputs.map((r) => values.get(r.layer)![r.out]!);
          values.set(step.name, step.run(args));
          for (const r of step.inputs) {
            const left = remaining.get(r.layer)! - 1;
            remaining.set(r.layer, left);
            if (left === 0) { for (const t of values.get(r.layer)!) t.dispose(); values.delete(r.layer); }
          }
        }
        const outs = wanted.map((r) => values.get(r.layer)![r.out]!);
        const keepSet = new Set(outs);
        for (const [, ts] of values) for (const t of ts) if (!keepSet.has(t) && !t.isDisposed) t.dispose();
        values.clear();
        return outs.length === 1 ? outs[0]! : outs;
      } catch (err) {
        for (const [, ts] of values) for (const t of ts) if (!t.isDisposed) t.dispose();
        throw err;
      }
    });
  }

  dispose(): void {
    for (const t of this.#owned) if (!t.isDisposed) t.dispose();
    this.#owned.length = 0;
  }

  [Symbol.dispose](): void {
    this.dispose();
  }
}
