// MobileNetV2 (Sandler et al. 2018) as torchvision 0.14 defines it
// (torchvision/models/mobilenetv2.py, width 1.0), with its state-dict names:
//   features.0: conv 3×3/2 (32) → bn → relu6 (torchvision's Conv2dNormActivation: .0, .1, .2)
//   features.1..17: inverted residual blocks (MOBILENET_V2_SETTING), each <name>.conv.*:
//     expansion ≠ 1: conv.0 (1×1 expand, bn, relu6) → conv.1 (3×3 depthwise/s, bn, relu6) →
//       conv.2 (1×1 project) → conv.3 (bn)
//     expansion 1: conv.0 (3×3 depthwise) → conv.1 (1×1 project) → conv.2 (bn)
//     plus the input where stride is 1 and the channels stay the same
//   features.18: conv 1×1 (1280) → bn → relu6
//   global average pool → classifier.0 dropout (0.2) → classifier.1 linear
import type { Network } from '../nn/network.js';
import { conv2d } from '../nn/layers/conv.js';
import { batchNorm } from '../nn/layers/normalization.js';
import { clippedRelu } from '../nn/layers/activation.js';
import { addition } from '../nn/layers/combine.js';
import { globalAvgPool2d } from '../nn/layers/pooling.js';
import { dropout } from '../nn/layers/dropout.js';
import { fullyConnected } from '../nn/layers/linear.js';
import { GraphBuilder, imagenetInput, resolveClasses, resolveImageSize, type ZooOptions } from './builder.js';

/** [expansion t, output channels c, blocks n, first stride s] per stage (torchvision's inverted_residual_setting). */
export const MOBILENET_V2_SETTING = [[1, 16, 1, 1], [6, 24, 2, 2], [6, 32, 3, 2], [6, 64, 4, 2], [6, 96, 3, 1], [6, 160, 3, 2], [6, 320, 1, 1]] as const;

/**
 * MobileNetV2, untrained; torchvision's state-dict names (`mobilenet_v2-b0353104.pth` loads
 * strictly). Input 'input': 0–255 RGB pixels [3, 224, 224], ImageNet-normalized. Output: logits
 * ('classifier.1').
 */
export function mobilenetV2(options: ZooOptions = {}): Network {
  const { numClasses, classes } = resolveClasses('mobilenetV2', options);
  const imageSize = resolveImageSize('mobilenetV2', options, 224);
  const g = new GraphBuilder(imagenetInput(imageSize));
  /** Conv2dNormActivation: <name>.0 conv (no bias), .1 bn, .2 relu6. */
  const cna = (from: string, name: string, filters: number, kernelSize: number, stride = 1, groups = 1) => g.chain(from,
    conv2d({ name: `${name}.0`, filters, kernelSize, stride, padding: (kernelSize - 1) / 2, groups, bias: false }),
    batchNorm({ name: `${name}.1` }), clippedRelu({ name: `${name}.2`, ceiling: 6 }));
  let last = cna('input', 'features.0', 32, 3, 2);
  let channels = 32;
  let i = 1;
  for (const [t, c, n, s] of MOBILENET_V2_SETTING) {
    for (let b = 0; b < n; b++) {
      const stride = b === 0 ? s : 1;
      const p = `features.${i++}.conv`;
      const hidden = channels * t;
      let h = last;
      let k = 0;
      if (t !== 1) h = cna(h, `${p}.${k++}`, hidden, 1);
      h = cna(h, `${p}.${k++}`, hidden, 3, stride, hidden);
      h = g.chain(h, conv2d({ name: `${p}.${k++}`, filters: c, kernelSize: 1, bias: false }), batchNorm({ name: `${p}.${k++}` }));
      last = stride === 1 && channels === c ? g.add(addition({ name: `features.${i - 1}.add` }), [last, h]) : h;
      channels = c;
    }
  }
  last = cna(last, `features.${i}`, 1280, 1);
  last = g.chain(last, globalAvgPool2d({ name: 'avgpool' }), dropout({ name: 'classifier.0', probability: 0.2 }),
    fullyConnected({ name: 'classifier.1', outputSize: numClasses }));
  return g.network(last, classes);
}
