// A CenterNet-style detector ("Objects as Points", Zhou et al. 2019) trained TTFNet's way (see
// targets.ts): one output map at stride 4 holding, per cell, a heatmap logit per class (an
// object's centre is a peak) and the distances from the cell's centre to the four sides of the
// box it belongs to. Anchor-free: nothing to estimate from the training boxes, no IoU matching,
// and the peaks replace most of the box NMS. Chosen over a YOLO-style anchor head for that
// simplicity on small data, and because one stride-4 map resolves small objects (platelets)
// without a feature pyramid.
//
// The network is an ordinary dlkit graph network (so summary, training, saving, ONNX export and
// editing all work on it): a backbone to some stride, transposed convolutions up to stride 4, and
// a head of two convolutions whose output has classes + 4 channels.
import { Network } from '../../nn/network.js';
import type { Layer } from '../../nn/layer.js';
import * as nn from '../../nn/layers/index.js';
import { noGrad } from '../../tensor/autograd.js';
import { tidy } from '../../tensor/memory.js';
import { setInputSize } from '../transfer.js';

/** What a detector file records beside its network. */
export interface DetectorConfig {
  kind: 'centernet';
  /** Class names, in heatmap-channel order. */
  classes: string[];
  /** [height, width] the images are stretched to. */
  inputSize: [number, number];
  /** Input pixels per output cell. */
  stride: number;
}

/** The output channels: [0, C) heatmap logits, then the distances to the left, top, right and bottom sides (loss.ts). */
export const REGRESSION_CHANNELS = 4;

/** Prior probability of an object at a cell: the heatmap bias starts at its logit, so the focal loss starts small (RetinaNet's prior). */
const HEATMAP_PRIOR = 0.1;

export interface ScratchBackboneOptions {
  /** Channels of the first stage; each later stage doubles them (default 32). */
  width?: number;
}

function convBnRelu(name: string, filters: number, stride = 1, kernelSize = 3): Layer[] {
  return [
    nn.conv2d({ name: `${name}.conv`, filters, kernelSize, stride, padding: 'same', bias: false }),
    nn.batchNorm({ name: `${name}.bn` }),
    nn.relu({ name: `${name}.relu` }),
  ];
}

/** A 2x upsampling step: a 4x4 transposed convolution of stride 2, batch norm, ReLU. */
function upsample(name: string, filters: number): Layer[] {
  return [
    nn.convTranspose2d({ name: `${name}.deconv`, filters, kernelSize: 4, stride: 2, padding: 1, bias: false }),
    nn.batchNorm({ name: `${name}.bn` }),
    nn.relu({ name: `${name}.relu` }),
  ];
}

/** Layers in a chain: the connections between consecutive layers. */
function chain(layers: readonly Layer[], from?: string): [string, string][] {
  const c: [string, string][] = [];
  layers.forEach((l, i) => {
    const prev = i === 0 ? from : layers[i - 1]!.name;
    if (prev !== undefined) c.push([prev, l.name]);
  });
  return c;
}

/**
 * A CenterNet built from scratch for `inputSize` ([H, W], both multiples of 32): a stride-2 stem
 * convolution, then four stages of two 3x3 convolutions (strides 4, 8, 16, 32; width, 2x, 4x,
 * 8x channels) and three upsampling steps back to stride 4, each adding the stage of the same
 * stride (a small U-Net/FPN: position from the early stages, context from the deep ones). The
 * high-resolution end is kept thin, where a convolution costs the most per channel: about half a
 * GMAC per 240x320 image at width 32, against four times that with two full-width convolutions at
 * stride 2.
 */
export function centerNetFromScratch(classes: readonly string[], inputSize: readonly [number, number], { width = 32 }: ScratchBackboneOptions = {}): Network {
  checkInputSize(inputSize, 32);
  if (!Number.isInteger(width) || width < 4) throw new RangeError(`detector: option 'width' must be a whole number >= 4, got ${width}`);
  const layers: Layer[] = [nn.imageInput({ name: 'input', inputSize: [3, inputSize[0], inputSize[1]], normalization: 'rescale-zero-one' })];
  const connections: [string, string][] = [];
  let from = 'input';
  const append = (ls: Layer[]) => {
    layers.push(...ls);
    connections.push(...chain(ls, from));
    from = ls.at(-1)!.name;
    return from;
  };
  append(convBnRelu('stem', Math.max(4, width / 2), 2));
  const stages: string[] = [];
  for (let i = 0; i < 4; i++) {
    const filters = width * 2 ** i;
    stages.push(append([...convBnRelu(`stage${i + 1}.0`, filters, 2), ...convBnRelu(`stage${i + 1}.1`, filters)]));
  }
  // Back up from stride 32: 16, 8, 4.
  for (let i = 2; i >= 0; i--) {
    const filters = width * 2 ** i;
    const name = `up${4 * 2 ** i}`;
    const up = upsample(name, filters);
    const lateral = convBnRelu(`${name}.lateral`, filters, 1, 1);
    const sum = nn.addition({ name: `${name}.add` });
    layers.push(...up, ...lateral, sum);
    connections.push(...chain(up, from), ...chain(lateral, stages[i]!), [up.at(-1)!.name, sum.name], [lateral.at(-1)!.name, sum.name]);
    from = sum.name;
  }
  return withHead(layers, connections, from, classes, width);
}

/**
 * A CenterNet on a classification network's features: `backbone` cut after `featureLayer` (the
 * layers it does not feed on removed: pooling, classifier), its input resized to `inputSize` when
 * given (possible for any fully convolutional part: the error names a layer that depends on the
 * size), then transposed convolutions up to stride 4 and the head. The backbone's layers and
 * weights are taken over: the backbone is consumed, do not use it afterwards.
 */
export function centerNetOnBackbone(backbone: Network, featureLayer: string, classes: readonly string[], { headChannels = 64, inputSize }: { headChannels?: number; inputSize?: readonly [number, number] } = {}): Network {
  backbone.layer(featureLayer); // names the layer in the error when it does not exist
  const keep = new Set<string>();
  const visit = (name: string) => {
    if (keep.has(name)) return;
    keep.add(name);
    for (const s of backbone.sourcesOf(name)) visit(s);
  };
  visit(featureLayer);
  const drop = backbone.layers.map((l) => l.name).filter((n) => !keep.has(n));
  backbone.edit((e) => {
    e.setOutputs([featureLayer]);
    if (drop.length > 0) e.remove(drop, { bridge: false });
  });
  if (inputSize) {
    checkInputSize(inputSize, 4);
    setInputSize(backbone, inputSize);
  }
  const [, inH, inW] = backbone.inputShape as [number, number, number];
  const featureShape = backbone.outputShape;
  const stride = inH / featureShape[1]!;
  if (![4, 8, 16, 32].includes(stride) || inH % stride !== 0 || inW % stride !== 0 || inW / featureShape[2]! !== stride) {
    throw new RangeError(`centerNetOnBackbone: layer '${featureLayer}' gives features of shape [${featureShape.join(', ')}] for input [${backbone.inputShape.join(', ')}]: stride ${stride}; a detector needs a stride of 4, 8, 16 or 32 that divides the input size`);
  }
  const neck: Layer[] = [];
  for (let s = stride, i = 0; s > 4; s /= 2, i++) {
    neck.push(...upsample(`neck.up${i}`, headChannels * Math.max(1, s / 8)));
  }
  const head = headLayers(classes, headChannels);
  backbone.edit((e) => {
    e.add([...neck, ...head], { from: featureLayer });
    e.setOutputs([head.at(-1)!.name]);
    e.classes = [...classes];
  });
  initHeatmapBias(backbone, classes.length);
  return backbone;
}

function headLayers(classes: readonly string[], channels: number): Layer[] {
  return [
    nn.conv2d({ name: 'head.conv', filters: channels, kernelSize: 3, padding: 'same' }),
    nn.relu({ name: 'head.relu' }),
    nn.conv2d({ name: 'head.out', filters: classes.length + REGRESSION_CHANNELS, kernelSize: 1 }),
  ];
}

function withHead(layers: Layer[], connections: [string, string][], from: string, classes: readonly string[], channels: number): Network {
  const head = headLayers(classes, channels);
  layers.push(...head);
  connections.push(...chain(head, from));
  const net = Network.graph({ layers, connections, outputs: [head.at(-1)!.name], classes: [...classes] });
  initHeatmapBias(net, classes.length);
  return net;
}

function initHeatmapBias(net: Network, classes: number): void {
  const bias = net.stateDict()['head.out.bias']!;
  tidy(() => noGrad(() => {
    bias.slice(0, 0, classes).fill_(Math.log(HEATMAP_PRIOR / (1 - HEATMAP_PRIOR)));
    // Distances start at one DISTANCE_UNIT (16 input pixels): boxes of a typical size, rather than
    // ReLU's dead zone at zero where the box loss has no gradient.
    bias.slice(0, classes, classes + REGRESSION_CHANNELS).fill_(1);
  }));
}

function checkInputSize(size: readonly number[], multiple: number): void {
  if (size.length !== 2 || size.some((d) => !Number.isInteger(d) || d < multiple || d % multiple !== 0)) {
    throw new RangeError(`detector: option 'inputSize' must be [height, width], whole multiples of ${multiple}, got [${size.join(', ')}]`);
  }
}

/** The stride of a detector network: input height over output height. */
export function outputStride(net: Network): number {
  return net.inputShape[1]! / net.outputShape[1]!;
}
