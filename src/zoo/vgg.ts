// VGG-16 and VGG-19 (Simonyan & Zisserman 2015, configurations D and E, without batch norm) as
// torchvision 0.14 defines them (torchvision/models/vgg.py), with its state-dict names:
//   features.i: per configuration entry a 3×3 convolution (padding 1) and its relu, or a 2×2
//     max pool (stride 2), numbered in sequence
//   avgpool: adaptive average pool to 7×7 (so inputs other than 224×224 work)
//   classifier.0..6: linear 25088→4096 → relu → dropout → linear → relu → dropout → linear
import type { Network } from '../nn/network.js';
import { conv2d } from '../nn/layers/conv.js';
import { relu } from '../nn/layers/activation.js';
import { maxPool2d, adaptiveAvgPool2d } from '../nn/layers/pooling.js';
import { dropout } from '../nn/layers/dropout.js';
import { fullyConnected } from '../nn/layers/linear.js';
import { GraphBuilder, imagenetInput, resolveClasses, resolveImageSize, type ZooOptions } from './builder.js';

/** Output channels of each convolution; 'M' a max pool (torchvision's cfgs 'D' and 'E'). */
export const VGG_CONFIGS = {
  vgg16: [64, 64, 'M', 128, 128, 'M', 256, 256, 256, 'M', 512, 512, 512, 'M', 512, 512, 512, 'M'],
  vgg19: [64, 64, 'M', 128, 128, 'M', 256, 256, 256, 256, 'M', 512, 512, 512, 512, 'M', 512, 512, 512, 512, 'M'],
} as const satisfies Record<string, readonly (number | 'M')[]>;

function vgg(which: keyof typeof VGG_CONFIGS, options: ZooOptions): Network {
  const { numClasses, classes } = resolveClasses(which, options);
  const imageSize = resolveImageSize(which, options, 224);
  const g = new GraphBuilder(imagenetInput(imageSize));
  let last = 'input';
  let i = 0;
  for (const v of VGG_CONFIGS[which]) {
    if (v === 'M') last = g.add(maxPool2d({ name: `features.${i++}`, poolSize: 2, stride: 2 }), last);
    else last = g.chain(last, conv2d({ name: `features.${i++}`, filters: v, kernelSize: 3, padding: 1 }), relu({ name: `features.${i++}` }));
  }
  last = g.chain(last,
    adaptiveAvgPool2d({ name: 'avgpool', outputSize: 7 }),
    fullyConnected({ name: 'classifier.0', outputSize: 4096 }), relu({ name: 'classifier.1' }), dropout({ name: 'classifier.2', probability: 0.5 }),
    fullyConnected({ name: 'classifier.3', outputSize: 4096 }), relu({ name: 'classifier.4' }), dropout({ name: 'classifier.5', probability: 0.5 }),
    fullyConnected({ name: 'classifier.6', outputSize: numClasses }));
  return g.network(last, classes);
}

/**
 * VGG-16, untrained; torchvision's state-dict names (`vgg16-397923af.pth` loads strictly).
 * Input 'input': 0–255 RGB pixels [3, 224, 224], ImageNet-normalized. Output: logits ('classifier.6').
 */
export const vgg16 = (options: ZooOptions = {}): Network => vgg('vgg16', options);
/** VGG-19, as vgg16 with four convolutions in each of the last three stages (`vgg19-dcbb9e9d.pth`). */
export const vgg19 = (options: ZooOptions = {}): Network => vgg('vgg19', options);
