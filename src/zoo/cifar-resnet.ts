// The CIFAR-10 ResNets of He et al. 2016 (section 4.2) as dlkit graphs whose state-dict names are
// those of the widely used PyTorch definition (akamaster/pytorch_resnet_cifar10), so its
// published checkpoints load by name once DataParallel's 'module.' prefix is stripped:
//   conv1 (3→16, 3×3) → bn1 → relu → layer1..layer3 (n basic blocks each, 16/32/64 channels,
//   the first block of layer2 and layer3 with stride 2) → global average pool → linear
// A basic block: conv1 (3×3, stride s) → bn1 → relu → conv2 (3×3) → bn2, plus the shortcut, → relu.
// The shortcut is the identity, or where the block changes size the paper's option A: every
// second pixel, with zero channels added half before and half after (subsamplePad2d).
import { CIFAR10_CLASSES } from '../data/cifar.js';
import { Network, type Connection } from '../nn/network.js';
import type { Layer } from '../nn/layer.js';
import { imageInput } from '../nn/layers/input.js';
import { conv2d } from '../nn/layers/conv.js';
import { batchNorm } from '../nn/layers/normalization.js';
import { relu } from '../nn/layers/activation.js';
import { addition } from '../nn/layers/combine.js';
import { globalAvgPool2d } from '../nn/layers/pooling.js';
import { fullyConnected } from '../nn/layers/linear.js';
import { subsamplePad2d } from '../nn/layers/subsample.js';

export const CIFAR_RESNET_DEPTHS = [20, 32, 44, 56, 110] as const;
export type CifarResNetDepth = (typeof CIFAR_RESNET_DEPTHS)[number];

/**
 * The input normalization the published networks were trained with: torchvision's
 * Normalize(mean, std) on pixels scaled to [0, 1] (the ImageNet statistics).
 */
export const CIFAR_RESNET_NORMALIZATION = { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] } as const;

export interface CifarResNetOptions {
  depth: CifarResNetDepth;
  /** Default 10; the class names are CIFAR-10's when 10, else '0', '1', …. */
  numClasses?: number;
  classes?: readonly string[];
}

/**
 * A CIFAR ResNet of depth 6n + 2 (n = 3, 5, 7, 9, 18), untrained. Its input layer ('input')
 * takes 0–255 pixels [3, 32, 32] and normalizes them as the published weights expect
 * (zscore with mean and std scaled by 255: (x − 255·m) / (255·s) = (x/255 − m) / s). Output:
 * logits (layer 'linear'). Load a checkpoint with `pretrained('resnet20-cifar10', { weights: file })`,
 * or by hand (the network copies the tensors; dispose the map after):
 *   const sd = await loadStateDict(file);
 *   net.loadStateDict(sd, { stripPrefix: 'module.' }); dispose(Object.values(sd));
 */
export function cifarResNet(options: CifarResNetOptions): Network {
  const { depth } = options ?? ({} as CifarResNetOptions);
  if (!CIFAR_RESNET_DEPTHS.includes(depth)) {
    throw new RangeError(`cifarResNet: option 'depth' must be one of ${CIFAR_RESNET_DEPTHS.join(', ')} (6n + 2), got ${JSON.stringify(depth)}`);
  }
  const numClasses = options.numClasses ?? options.classes?.length ?? 10;
  if (!Number.isInteger(numClasses) || numClasses < 1) throw new RangeError(`cifarResNet: option 'numClasses' must be a positive integer, got ${JSON.stringify(options.numClasses)}`);
  if (options.classes && options.classes.length !== numClasses) {
    throw new RangeError(`cifarResNet: option 'classes' has ${options.classes.length} names, numClasses is ${numClasses}`);
  }
  const classes = options.classes ?? (numClasses === 10 ? CIFAR10_CLASSES : Array.from({ length: numClasses }, (_, i) => String(i)));
  const n = (depth - 2) / 6;

  const layers: Layer[] = [];
  const connections: Connection[] = [];
  const add = (layer: Layer, from: string | string[]) => {
    layers.push(layer);
    for (const f of typeof from === 'string' ? [from] : from) connections.push([f, layer.name]);
    return layer.name;
  };
  const conv = (name: string, filters: number, stride: number) => conv2d({ name, filters, kernelSize: 3, stride, padding: 1, bias: false });

  layers.push(imageInput({
    name: 'input', inputSize: [3, 32, 32], normalization: 'zscore',
    mean: CIFAR_RESNET_NORMALIZATION.mean.map((m) => m * 255), std: CIFAR_RESNET_NORMALIZATION.std.map((s) => s * 255),
  }));
  let last = add(conv('conv1', 16, 1), 'input');
  last = add(batchNorm({ name: 'bn1' }), last);
  last = add(relu({ name: 'relu' }), last);
  let channels = 16;
  [16, 32, 64].forEach((planes, stage) => {
    for (let b = 0; b < n; b++) {
      const p = `layer${stage + 1}.${b}`;
      const stride = stage > 0 && b === 0 ? 2 : 1;
      const input = last;
      let h = add(conv(`${p}.conv1`, planes, stride), input);
      h = add(batchNorm({ name: `${p}.bn1` }), h);
      h = add(relu({ name: `${p}.relu1` }), h);
      h = add(conv(`${p}.conv2`, planes, 1), h);
      h = add(batchNorm({ name: `${p}.bn2` }), h);
      let shortcut = input;
      if (stride !== 1 || channels !== planes) {
        const extra = planes - channels;
        shortcut = add(subsamplePad2d({ name: `${p}.shortcut`, stride, padChannels: [Math.floor(extra / 2), extra - Math.floor(extra / 2)] }), input);
      }
      h = add(addition({ name: `${p}.add` }), [h, shortcut]);
      last = add(relu({ name: `${p}.relu2` }), h);
      channels = planes;
    }
  });
  last = add(globalAvgPool2d({ name: 'avgpool' }), last);
  add(fullyConnected({ name: 'linear', outputSize: numClasses }), last);
  return Network.graph({ layers, connections, outputs: ['linear'], classes });
}
