// SqueezeNet 1.0 and 1.1 (Iandola et al. 2016; 1.1 from the authors' repository: 2.4× less
// computation, the same accuracy) as torchvision 0.14 defines them
// (torchvision/models/squeezenet.py), with its state-dict names:
//   features.0 conv (1.0: 7×7/2, 96; 1.1: 3×3/2, 64) → features.1 relu → max pools (3/2, ceil
//   mode) and fire modules at torchvision's indices (FIRE_LAYOUT) →
//   classifier.0 dropout (0.5) → classifier.1 conv 1×1 (numClasses) → classifier.2 relu →
//   classifier.3 global average pool → flatten
// A fire module <name>: squeeze (1×1) → squeeze_activation, then expand1x1 (1×1) and
// expand3x3 (3×3, padding 1), each with its relu, concatenated.
import type { Network } from '../nn/network.js';
import { conv2d } from '../nn/layers/conv.js';
import { relu } from '../nn/layers/activation.js';
import { concatenation } from '../nn/layers/combine.js';
import { maxPool2d, globalAvgPool2d } from '../nn/layers/pooling.js';
import { dropout } from '../nn/layers/dropout.js';
import { flatten } from '../nn/layers/reshape.js';
import { GraphBuilder, imagenetInput, resolveClasses, resolveImageSize, type ZooOptions } from './builder.js';

/** features.3 onwards: 'M' a max pool, else a fire module's [squeeze, expand1x1, expand3x3] channels (torchvision's). */
export const FIRE_LAYOUT = {
  '1_0': [[16, 64, 64], [16, 64, 64], [32, 128, 128], 'M', [32, 128, 128], [48, 192, 192], [48, 192, 192], [64, 256, 256], 'M', [64, 256, 256]],
  '1_1': [[16, 64, 64], [16, 64, 64], 'M', [32, 128, 128], [32, 128, 128], 'M', [48, 192, 192], [48, 192, 192], [64, 256, 256], [64, 256, 256]],
} as const satisfies Record<string, readonly (readonly [number, number, number] | 'M')[]>;

function squeezenet(version: keyof typeof FIRE_LAYOUT, options: ZooOptions): Network {
  const what = `squeezenet${version}`;
  const { numClasses, classes } = resolveClasses(what, options);
  const imageSize = resolveImageSize(what, options, 224);
  const g = new GraphBuilder(imagenetInput(imageSize));
  const pool = (i: number) => maxPool2d({ name: `features.${i}`, poolSize: 3, stride: 2, ceilMode: true });
  let last = g.chain('input',
    version === '1_0' ? conv2d({ name: 'features.0', filters: 96, kernelSize: 7, stride: 2 }) : conv2d({ name: 'features.0', filters: 64, kernelSize: 3, stride: 2 }),
    relu({ name: 'features.1' }), pool(2));
  FIRE_LAYOUT[version].forEach((entry, k) => {
    const i = k + 3;
    if (entry === 'M') { last = g.add(pool(i), last); return; }
    const [s, e1, e3] = entry;
    const p = `features.${i}`;
    const squeezed = g.chain(last, conv2d({ name: `${p}.squeeze`, filters: s, kernelSize: 1 }), relu({ name: `${p}.squeeze_activation` }));
    const a = g.chain(squeezed, conv2d({ name: `${p}.expand1x1`, filters: e1, kernelSize: 1 }), relu({ name: `${p}.expand1x1_activation` }));
    const b = g.chain(squeezed, conv2d({ name: `${p}.expand3x3`, filters: e3, kernelSize: 3, padding: 1 }), relu({ name: `${p}.expand3x3_activation` }));
    last = g.add(concatenation({ name: `${p}.cat` }), [a, b]);
  });
  last = g.chain(last,
    dropout({ name: 'classifier.0', probability: 0.5 }), conv2d({ name: 'classifier.1', filters: numClasses, kernelSize: 1 }),
    relu({ name: 'classifier.2' }), globalAvgPool2d({ name: 'classifier.3' }), flatten({ name: 'flatten' }));
  return g.network(last, classes);
}

/**
 * SqueezeNet 1.0, untrained; torchvision's state-dict names (`squeezenet1_0-b66bff10.pth` loads
 * strictly). Input 'input': 0–255 RGB pixels [3, 224, 224], ImageNet-normalized. Output: the
 * pooled class scores ('flatten'), non-negative (the last convolution has a relu).
 */
export const squeezenet1_0 = (options: ZooOptions = {}): Network => squeezenet('1_0', options);
/** SqueezeNet 1.1, as squeezenet1_0 (`squeezenet1_1-b8a52dc0.pth`). */
export const squeezenet1_1 = (options: ZooOptions = {}): Network => squeezenet('1_1', options);
