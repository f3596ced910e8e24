// Imported ONNX nodes in the inference plan (src/nn/inference-plan.ts): Conv with its weights
// held, BatchNormalization in inference mode and Relu are described so the plan can fold batch
// norm into the convolution and apply the ReLU in place, as ONNX Runtime's graph optimizer does.
import { describeForInference } from '../../nn/inference-plan.js';
import type { Layer } from '../../nn/layer.js';
import type { Tensor } from '../../tensor/tensor.js';
import type { OnnxNode } from './node-layer.js';

/** The tensor an input slot holds (an initializer), or null when it is wired or absent. */
function held(node: OnnxNode, slot: number): Tensor | null {
  const s = node.slots[slot];
  if (!s || !('held' in s)) return null;
  return node.params.get(s.held) ?? node.buffers.get(s.held) ?? null;
}

describeForInference('onnxNode', (layer: Layer) => {
  const n = layer as OnnxNode;
  if (n.domain) return null;
  const a = n.attributes;
  if (n.op === 'Relu') return { kind: 'relu' };
  if (n.op === 'Conv') {
    const w = held(n, 0) === null ? held(n, 1) : null;
    if (!w || w.ndim !== 4 || (n.slots[2] && !held(n, 2))) return null;
    const autoPad = (a.auto_pad as string | undefined) ?? 'NOTSET';
    if (autoPad !== 'NOTSET' && autoPad !== 'VALID') return null;
    const p = autoPad === 'VALID' ? [0, 0, 0, 0] : ((a.pads as number[] | undefined) ?? [0, 0, 0, 0]);
    if (p[0] !== p[2] || p[1] !== p[3]) return null;
    return {
      kind: 'conv', weight: w, bias: held(n, 2), stride: (a.strides as number[] | undefined) ?? [1, 1],
      padding: [p[0]!, p[1]!], dilation: (a.dilations as number[] | undefined) ?? [1, 1], groups: (a.group as number | undefined) ?? 1,
    };
  }
  if (n.op === 'Gemm') {
    // y = x W^T + b (PyTorch's Linear as exported): the plan's linear step.
    const w = held(n, 1);
    const c = held(n, 2);
    if (!w || w.ndim !== 2 || (n.slots[2] && (!c || c.ndim !== 1)) || a.transA || a.transB !== 1 || (a.alpha ?? 1) !== 1 || (a.beta ?? 1) !== 1) return null;
    return { kind: 'linear', weight: w, bias: c };
  }
  if (n.op === 'BatchNormalization') {
    if (a.training_mode === 1 || n.numOutputs > 1) return null;
    const [scale, bias, mean, variance] = [1, 2, 3, 4].map((i) => held(n, i));
    if (!scale || !bias || !mean || !variance) return null;
    return { kind: 'batchNorm', mean, variance, weight: scale, bias, eps: (a.epsilon as number | undefined) ?? 1e-5 };
  }
  return null;
});
