// ResNet-18 and ResNet-50 (He et al. 2016) as torchvision 0.14 defines them
// (torchvision/models/resnet.py), with its state-dict names:
//   conv1 (7×7/2, 64) → bn1 → relu → maxpool (3/2, padding 1) → layer1..layer4 → avgpool → fc
// layer1..4 have 64, 128, 256, 512 planes; the first block of layer2..4 has stride 2.
// BasicBlock (ResNet-18: 2, 2, 2, 2 blocks): conv1 3×3/s → bn1 → relu → conv2 3×3 → bn2.
// Bottleneck (ResNet-50: 3, 4, 6, 3 blocks; outputs 4 × planes): conv1 1×1 → bn1 → relu →
//   conv2 3×3/s → bn2 → relu → conv3 1×1 → bn3 (the stride on the 3×3: "ResNet v1.5").
// The shortcut is the identity, or where the size changes downsample.0 (1×1/s conv) →
// downsample.1 (bn); block output relu(residual + shortcut). torchvision reuses one ReLU module
// per block; dlkit layers are distinct, so they are named relu, relu2 (relu3) and relu_out.
import type { Network } from '../nn/network.js';
import { conv2d } from '../nn/layers/conv.js';
import { batchNorm } from '../nn/layers/normalization.js';
import { relu } from '../nn/layers/activation.js';
import { addition } from '../nn/layers/combine.js';
import { maxPool2d, globalAvgPool2d } from '../nn/layers/pooling.js';
import { fullyConnected } from '../nn/layers/linear.js';
import { GraphBuilder, imagenetInput, resolveClasses, resolveImageSize, type ZooOptions } from './builder.js';

export const RESNET_LAYERS = { resnet18: { block: 'basic', blocks: [2, 2, 2, 2] }, resnet50: { block: 'bottleneck', blocks: [3, 4, 6, 3] } } as const;

function resnet(which: keyof typeof RESNET_LAYERS, options: ZooOptions): Network {
  const { numClasses, classes } = resolveClasses(which, options);
  const imageSize = resolveImageSize(which, options, 224);
  const { block, blocks } = RESNET_LAYERS[which];
  const expansion = block === 'basic' ? 1 : 4;
  const g = new GraphBuilder(imagenetInput(imageSize));
  const conv = (name: string, filters: number, kernelSize: number, stride = 1) =>
    conv2d({ name, filters, kernelSize, stride, padding: (kernelSize - 1) / 2, bias: false });
  let last = g.chain('input', conv('conv1', 64, 7, 2), batchNorm({ name: 'bn1' }), relu({ name: 'relu' }),
    maxPool2d({ name: 'maxpool', poolSize: 3, stride: 2, padding: 1 }));
  let channels = 64;
  [64, 128, 256, 512].forEach((planes, stage) => {
    for (let b = 0; b < blocks[stage]!; b++) {
      const p = `layer${stage + 1}.${b}`;
      const stride = stage > 0 && b === 0 ? 2 : 1;
      const input = last;
      let h: string;
      if (block === 'basic') {
        h = g.chain(input, conv(`${p}.conv1`, planes, 3, stride), batchNorm({ name: `${p}.bn1` }), relu({ name: `${p}.relu` }),
          conv(`${p}.conv2`, planes, 3), batchNorm({ name: `${p}.bn2` }));
      } else {
        h = g.chain(input, conv(`${p}.conv1`, planes, 1), batchNorm({ name: `${p}.bn1` }), relu({ name: `${p}.relu` }),
          conv(`${p}.conv2`, planes, 3, stride), batchNorm({ name: `${p}.bn2` }), relu({ name: `${p}.relu2` }),
          conv(`${p}.conv3`, planes * expansion, 1), batchNorm({ name: `${p}.bn3` }));
      }
      let shortcut = input;
      if (stride !== 1 || channels !== planes * expansion) {
        shortcut = g.chain(input, conv(`${p}.downsample.0`, planes * expansion, 1, stride), batchNorm({ name: `${p}.downsample.1` }));
      }
      last = g.chain(g.add(addition({ name: `${p}.add` }), [h, shortcut]), relu({ name: `${p}.relu_out` }));
      channels = planes * expansion;
    }
  });
  last = g.chain(last, globalAvgPool2d({ name: 'avgpool' }), fullyConnected({ name: 'fc', outputSize: numClasses }));
  return g.network(last, classes);
}

/**
 * ResNet-18, untrained; torchvision's state-dict names (`resnet18-f37072fd.pth` loads strictly).
 * Input 'input': 0–255 RGB pixels [3, 224, 224], ImageNet-normalized (any size ≥ 32 works: the
 * pooling before fc is global). Output: logits ('fc').
 */
export const resnet18 = (options: ZooOptions = {}): Network => resnet('resnet18', options);
/** ResNet-50 (bottleneck blocks, v1.5), as resnet18 (`resnet50-0676ba61.pth` / `resnet50-11ad3fa6.pth`). */
export const resnet50 = (options: ZooOptions = {}): Network => resnet('resnet50', options);
