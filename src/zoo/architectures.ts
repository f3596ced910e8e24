// Architectures by name, for loading a bare state dict (a PyTorch checkpoint holds weights, not
// the network): `dlkit import resnet20.th --arch cifar-resnet20`; and for the pretrained zoo,
// whose weights registry (src/zoo/weights.ts) and transfer learning read each entry's input size,
// normalization and class-name source from here.
import type { Network } from '../nn/network.js';
import { cifarResNet, CIFAR_RESNET_DEPTHS, CIFAR_RESNET_NORMALIZATION } from './cifar-resnet.js';
import { alexnet } from './alexnet.js';
import { vgg16, vgg19 } from './vgg.js';
import { resnet18, resnet50 } from './resnet.js';
import { googlenet, GOOGLENET_AUX_PREFIXES, GOOGLENET_NORMALIZATION } from './googlenet.js';
import { squeezenet1_0, squeezenet1_1 } from './squeezenet.js';
import { mobilenetV2 } from './mobilenet.js';
import { bvlcAlexnet, BVLC_ALEXNET_PREPROCESSING } from './bvlc-alexnet.js';
import { IMAGENET_NORMALIZATION } from './imagenet.js';
import type { ZooOptions } from './builder.js';

/** How an architecture's input layer turns 0–255 RGB pixels into what its weights expect. */
export type InputNormalization =
  /** (x/255 − mean) / std per channel (torchvision's Normalize), RGB. */
  | { kind: 'zscore'; mean: readonly number[]; std: readonly number[] }
  /** x − mean per channel (0–255 scale), after reversing RGB to BGR when bgr (Caffe models). */
  | { kind: 'zerocenter'; mean: readonly number[]; bgr: boolean };

export interface Architecture {
  description: string;
  /** An untrained network; `numClasses` other than the source's (or `classes`) for a new head. */
  make(options?: ZooOptions): Network;
  /** [C, H, W] the network is defined at (and its pretrained weights were trained at). */
  inputSize: readonly [number, number, number];
  /** Whether other input sizes work (global or adaptive pooling before the classifier). */
  anyInputSize: boolean;
  normalization: InputNormalization;
  /** Where the default class names come from. */
  classes: 'imagenet' | 'cifar10';
  /** Where the weights' state-dict names come from. */
  source: 'torchvision' | 'caffe' | 'akamaster/pytorch_resnet_cifar10';
  /** State-dict name prefixes of the published weights that the network does not have (GoogLeNet's auxiliary heads): leave them out when loading. */
  dropPrefixes?: readonly string[];
}

const zscore = (n: { mean: readonly number[]; std: readonly number[] }): InputNormalization => ({ kind: 'zscore', mean: n.mean, std: n.std });
const imagenet = (description: string, make: (o?: ZooOptions) => Network, extra: Partial<Architecture> = {}): Architecture => ({
  description, make, inputSize: [3, 224, 224], anyInputSize: true, normalization: zscore(IMAGENET_NORMALIZATION), classes: 'imagenet', source: 'torchvision', ...extra,
});

export const ARCHITECTURES: Record<string, Architecture> = {
  ...Object.fromEntries(CIFAR_RESNET_DEPTHS.map((depth) => [`cifar-resnet${depth}`, {
    description: `ResNet-${depth} for CIFAR-10 (He et al. 2016, option-A shortcuts; akamaster/pytorch_resnet_cifar10's state-dict names)`,
    make: (o: ZooOptions = {}) => {
      if (o.imageSize !== undefined) throw new RangeError(`cifar-resnet${depth}: option 'imageSize' is not supported (the network is defined at 32×32; replace its input layer for other sizes)`);
      return cifarResNet({ depth, numClasses: o.numClasses, classes: o.classes });
    },
    inputSize: [3, 32, 32], anyInputSize: true, normalization: zscore(CIFAR_RESNET_NORMALIZATION), classes: 'cifar10', source: 'akamaster/pytorch_resnet_cifar10',
  } satisfies Architecture])),
  alexnet: imagenet('AlexNet (torchvision: the one-GPU variant, no LRN or groups; 61.1M parameters)', alexnet),
  vgg16: imagenet('VGG-16 (Simonyan & Zisserman 2015, configuration D, no batch norm; 138.4M parameters)', vgg16),
  vgg19: imagenet('VGG-19 (configuration E, no batch norm; 143.7M parameters)', vgg19),
  resnet18: imagenet('ResNet-18 (He et al. 2016, basic blocks; 11.7M parameters)', resnet18),
  resnet50: imagenet('ResNet-50 (bottleneck blocks, stride on the 3×3 convolution: v1.5; 25.6M parameters)', resnet50),
  googlenet: imagenet('GoogLeNet (Inception v1, Szegedy et al. 2015; torchvision, without the auxiliary heads; 6.6M parameters)', googlenet,
    { normalization: zscore(GOOGLENET_NORMALIZATION), dropPrefixes: GOOGLENET_AUX_PREFIXES }),
  squeezenet1_0: imagenet('SqueezeNet 1.0 (Iandola et al. 2016; 1.25M parameters)', squeezenet1_0),
  squeezenet1_1: imagenet('SqueezeNet 1.1 (2.4× less computation than 1.0; 1.24M parameters)', squeezenet1_1),
  mobilenet_v2: imagenet('MobileNetV2 (Sandler et al. 2018, width 1.0; 3.5M parameters)', mobilenetV2),
  'bvlc-alexnet': {
    description: 'BVLC AlexNet (Caffe: LRN and grouped convolutions, 227×227 BGR input; 61.0M parameters)',
    make: bvlcAlexnet,
    inputSize: BVLC_ALEXNET_PREPROCESSING.inputSize, anyInputSize: false,
    normalization: { kind: 'zerocenter', mean: BVLC_ALEXNET_PREPROCESSING.mean, bgr: BVLC_ALEXNET_PREPROCESSING.bgr },
    classes: 'imagenet', source: 'caffe',
  },
};

/** An untrained network of a registered architecture. */
export function architecture(name: string, options?: ZooOptions): Network {
  const a = Object.prototype.hasOwnProperty.call(ARCHITECTURES, name) ? ARCHITECTURES[name] : undefined;
  if (!a) throw new RangeError(`unknown architecture '${name}'; known: ${Object.keys(ARCHITECTURES).join(', ')}`);
  return a.make(options);
}
