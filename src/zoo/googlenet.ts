// GoogLeNet (Inception v1, Szegedy et al. 2015) as torchvision 0.14 defines it
// (torchvision/models/googlenet.py), in its evaluation form (no auxiliary heads), with its
// state-dict names:
//   conv1 (7×7/2, 64) → maxpool1 → conv2 (1×1, 64) → conv3 (3×3, 192) → maxpool2 →
//   inception3a, 3b → maxpool3 → inception4a..4e → maxpool4 (2/2) → inception5a, 5b →
//   avgpool (global) → dropout (0.2) → fc
// Every max pool rounds up (ceil mode). A "conv" is torchvision's BasicConv2d: <name>.conv
// (no bias) → <name>.bn (eps 0.001) → relu. An inception block concatenates four branches:
//   branch1: 1×1 conv; branch2.0, .1: 1×1 then 3×3; branch3.0, .1: 1×1 then 3×3 (torchvision's
//   "known bug": the paper's 5×5 is 3×3, and its weights are made for that);
//   branch4.0 max pool 3/1 (padding 1) then branch4.1: 1×1 conv.
//
// The pretrained weights were ported from Caffe and expect pixels scaled to [-1, 1]: torchvision
// builds the network with transform_input=True, which turns its ImageNet-normalized input into
// (x/255 − 0.5) / 0.5. Here that is the input layer's own normalization (mean and std 127.5 on
// 0–255 pixels), the same values without the round trip. The pretrained file also holds the
// training-time auxiliary heads aux1.* and aux2.*, which torchvision drops after loading; load it
// with GOOGLENET_AUX_PREFIXES filtered out (see loadGoogLeNetStateDict).
import type { Network } from '../nn/network.js';
import type { Tensor } from '../tensor/tensor.js';
import { conv2d } from '../nn/layers/conv.js';
import { batchNorm } from '../nn/layers/normalization.js';
import { relu } from '../nn/layers/activation.js';
import { concatenation } from '../nn/layers/combine.js';
import { maxPool2d, globalAvgPool2d } from '../nn/layers/pooling.js';
import { dropout } from '../nn/layers/dropout.js';
import { fullyConnected } from '../nn/layers/linear.js';
import { GraphBuilder, imagenetInput, resolveClasses, resolveImageSize, type ZooOptions } from './builder.js';
import { IMAGENET_NORMALIZATION } from './imagenet.js';

/** State-dict prefixes of the auxiliary classifiers in torchvision's pretrained GoogLeNet file, which this network does not have. */
export const GOOGLENET_AUX_PREFIXES = ['aux1.', 'aux2.'] as const;

/** torchvision's transform_input: the input normalization the pretrained weights expect, (x/255 − 0.5) / 0.5. */
export const GOOGLENET_NORMALIZATION = { mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] } as const;

export interface GoogLeNetOptions extends ZooOptions {
  /**
   * torchvision's transform_input (default true, as for its pretrained weights): inputs are
   * normalized to [-1, 1]; false: with the ImageNet mean and std, for weights trained with
   * torchvision's default GoogLeNet(transform_input=False).
   */
  transformInput?: boolean;
}

/** [1×1, 3×3 reduce, 3×3, "5×5" reduce, "5×5", pool projection] output channels per inception block (torchvision's). */
const INCEPTION: Record<string, readonly [number, number, number, number, number, number]> = {
  inception3a: [64, 96, 128, 16, 32, 32], inception3b: [128, 128, 192, 32, 96, 64],
  inception4a: [192, 96, 208, 16, 48, 64], inception4b: [160, 112, 224, 24, 64, 64], inception4c: [128, 128, 256, 24, 64, 64],
  inception4d: [112, 144, 288, 32, 64, 64], inception4e: [256, 160, 320, 32, 128, 128],
  inception5a: [256, 160, 320, 32, 128, 128], inception5b: [384, 192, 384, 48, 128, 128],
};

/**
 * GoogLeNet, untrained; torchvision's state-dict names. Load `googlenet-1378be20.pth` with
 * loadGoogLeNetStateDict (strict, the aux heads' keys dropped). Input 'input': 0–255 RGB pixels
 * [3, 224, 224]. Output: logits ('fc').
 */
export function googlenet(options: GoogLeNetOptions = {}): Network {
  const { numClasses, classes } = resolveClasses('googlenet', options);
  const imageSize = resolveImageSize('googlenet', options, 224);
  const transformInput = options.transformInput ?? true;
  if (typeof transformInput !== 'boolean') throw new RangeError(`googlenet: option 'transformInput' must be true or false, got ${JSON.stringify(options.transformInput)}`);
  const g = new GraphBuilder(imagenetInput(imageSize, transformInput ? GOOGLENET_NORMALIZATION : IMAGENET_NORMALIZATION));
  const basic = (from: string, name: string, filters: number, kernelSize: number, stride = 1) => g.chain(from,
    conv2d({ name: `${name}.conv`, filters, kernelSize, stride, padding: (kernelSize - 1) / 2, bias: false }),
    batchNorm({ name: `${name}.bn`, epsilon: 1e-3 }), relu({ name: `${name}.relu` }));
  const pool = (from: string, name: string, poolSize = 3, stride = 2) => g.add(maxPool2d({ name, poolSize, stride, ceilMode: true }), from);
  const inception = (from: string, name: string) => {
    const [c1, c3r, c3, c5r, c5, proj] = INCEPTION[name]!;
    const b1 = basic(from, `${name}.branch1`, c1, 1);
    const b2 = basic(basic(from, `${name}.branch2.0`, c3r, 1), `${name}.branch2.1`, c3, 3);
    const b3 = basic(basic(from, `${name}.branch3.0`, c5r, 1), `${name}.branch3.1`, c5, 3);
    const p = g.add(maxPool2d({ name: `${name}.branch4.0`, poolSize: 3, stride: 1, padding: 1, ceilMode: true }), from);
    const b4 = basic(p, `${name}.branch4.1`, proj, 1);
    return g.add(concatenation({ name: `${name}.cat`, numInputs: 4 }), [b1, b2, b3, b4]);
  };
  let last = basic('input', 'conv1', 64, 7, 2);
  last = pool(last, 'maxpool1');
  last = basic(last, 'conv2', 64, 1);
  last = basic(last, 'conv3', 192, 3);
  last = pool(last, 'maxpool2');
  last = inception(inception(last, 'inception3a'), 'inception3b');
  last = pool(last, 'maxpool3');
  for (const b of ['inception4a', 'inception4b', 'inception4c', 'inception4d', 'inception4e']) last = inception(last, b);
  last = pool(last, 'maxpool4', 2, 2);
  last = inception(inception(last, 'inception5a'), 'inception5b');
  last = g.chain(last, globalAvgPool2d({ name: 'avgpool' }), dropout({ name: 'dropout', probability: 0.2 }),
    fullyConnected({ name: 'fc', outputSize: numClasses }));
  return g.network(last, classes);
}

/**
 * Loads torchvision's GoogLeNet state dict strictly, leaving out the auxiliary heads' tensors
 * (GOOGLENET_AUX_PREFIXES), as torchvision does after loading. Returns the names left out.
 */
export function loadGoogLeNetStateDict(network: Network, values: Record<string, Tensor>, options: { source?: string; stripPrefix?: string } = {}): { loaded: string[]; kept: string[]; dropped: string[] } {
  const strip = options.stripPrefix;
  const bare = (k: string) => (strip && k.startsWith(strip) ? k.slice(strip.length) : k);
  const dropped = Object.keys(values).filter((k) => GOOGLENET_AUX_PREFIXES.some((p) => bare(k).startsWith(p)));
  const drop = new Set(dropped);
  const kept = Object.fromEntries(Object.entries(values).filter(([k]) => !drop.has(k)));
  return { ...network.loadStateDict(kept, { source: options.source, stripPrefix: strip }), dropped };
}
