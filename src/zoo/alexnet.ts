// AlexNet as torchvision 0.14 defines it (torchvision/models/alexnet.py: the "one weird trick"
// variant of Krizhevsky 2014, without LRN or groups), with its state-dict names:
//   features.0..12: conv 11×11/4 (64) → relu → maxpool 3/2 → conv 5×5 (192) → relu → maxpool →
//     conv 3×3 (384) → relu → conv 3×3 (256) → relu → conv 3×3 (256) → relu → maxpool
//   avgpool: adaptive average pool to 6×6 (so inputs other than 224×224 work)
//   classifier.0..6: dropout → linear 9216→4096 → relu → dropout → linear → relu → linear
// The BVLC Caffe AlexNet (LRN, grouped convolutions) is src/zoo/bvlc-alexnet.ts.
import type { Network } from '../nn/network.js';
import { conv2d } from '../nn/layers/conv.js';
import { relu } from '../nn/layers/activation.js';
import { maxPool2d, adaptiveAvgPool2d } from '../nn/layers/pooling.js';
import { dropout } from '../nn/layers/dropout.js';
import { fullyConnected } from '../nn/layers/linear.js';
import { GraphBuilder, imagenetInput, resolveClasses, resolveImageSize, type ZooOptions } from './builder.js';

/**
 * AlexNet, untrained; state-dict names are torchvision's, so `alexnet-owt-7be5be79.pth` loads
 * strictly. Input 'input': 0–255 RGB pixels [3, 224, 224], ImageNet-normalized. Output: logits
 * (layer 'classifier.6').
 */
export function alexnet(options: ZooOptions = {}): Network {
  const { numClasses, classes } = resolveClasses('alexnet', options);
  const imageSize = resolveImageSize('alexnet', options, 224);
  const g = new GraphBuilder(imagenetInput(imageSize));
  const f = (i: number) => `features.${i}`;
  let last = g.chain('input',
    conv2d({ name: f(0), filters: 64, kernelSize: 11, stride: 4, padding: 2 }), relu({ name: f(1) }), maxPool2d({ name: f(2), poolSize: 3, stride: 2 }),
    conv2d({ name: f(3), filters: 192, kernelSize: 5, padding: 2 }), relu({ name: f(4) }), maxPool2d({ name: f(5), poolSize: 3, stride: 2 }),
    conv2d({ name: f(6), filters: 384, kernelSize: 3, padding: 1 }), relu({ name: f(7) }),
    conv2d({ name: f(8), filters: 256, kernelSize: 3, padding: 1 }), relu({ name: f(9) }),
    conv2d({ name: f(10), filters: 256, kernelSize: 3, padding: 1 }), relu({ name: f(11) }), maxPool2d({ name: f(12), poolSize: 3, stride: 2 }),
    adaptiveAvgPool2d({ name: 'avgpool', outputSize: 6 }));
  last = g.chain(last,
    dropout({ name: 'classifier.0', probability: 0.5 }), fullyConnected({ name: 'classifier.1', outputSize: 4096 }), relu({ name: 'classifier.2' }),
    dropout({ name: 'classifier.3', probability: 0.5 }), fullyConnected({ name: 'classifier.4', outputSize: 4096 }), relu({ name: 'classifier.5' }),
    fullyConnected({ name: 'classifier.6', outputSize: numClasses }));
  return g.network(last, classes);
}
