// BVLC AlexNet (Krizhevsky et al. 2012 as trained in Caffe: BVLC's bvlc_alexnet model) with the
// layer names of its Caffe deploy file, so that bvlc_alexnet.caffemodel's blobs load by name:
//   data (227×227 BGR, per-channel mean subtracted) → conv1 (11×11/4, 96) → relu1 → norm1 (LRN
//   across 5 channels) → pool1 (3/2) → conv2 (5×5, 256, 2 groups) → relu2 → norm2 → pool2 →
//   conv3 (3×3, 384) → relu3 → conv4 (3×3, 384, 2 groups) → relu4 → conv5 (3×3, 256, 2 groups)
//   → relu5 → pool5 → fc6 (4096) → relu6 → drop6 → fc7 (4096) → relu7 → drop7 → fc8
// Caffe's pooling rounds up (ceil mode) and its LRN divides alpha by the window size, as
// dlkit's (PyTorch's) does. The deploy file's final Softmax ('prob') is left out: the output is
// fc8's logits, as for the torchvision networks. The same network is BVLC_ALEXNET_PROTOTXT for
// the Caffe importer; the two are tested to build the same layers.
import type { Network } from '../nn/network.js';
import { shapeStr } from '../nn/layer.js';
import { imageInput } from '../nn/layers/input.js';
import { conv2d } from '../nn/layers/conv.js';
import { relu } from '../nn/layers/activation.js';
import { localResponseNorm } from '../nn/layers/normalization.js';
import { maxPool2d } from '../nn/layers/pooling.js';
import { dropout } from '../nn/layers/dropout.js';
import { fullyConnected } from '../nn/layers/linear.js';
import { tensor } from '../tensor/create.js';
import type { Tensor } from '../tensor/tensor.js';
import { blobShape, blobValues, CaffeError, readCaffemodel, type Msg } from '../io/caffe/schema.js';
import { GraphBuilder, resolveClasses, resolveImageSize, type ZooOptions } from './builder.js';

/** The preprocessing BVLC's models were trained with: BGR pixels 0–255 minus the ILSVRC 2012 per-channel mean (B, G, R). */
export const BVLC_ALEXNET_PREPROCESSING = { inputSize: [3, 227, 227], mean: [104, 117, 123], bgr: true } as const;

/**
 * BVLC AlexNet, untrained, with Caffe's layer names (state dict conv1.weight, conv1.bias, …,
 * fc8.bias). Input 'data': 0–255 RGB pixels [3, 227, 227], reversed to BGR with the mean
 * subtracted. Load `bvlc_alexnet.caffemodel` with loadCaffeWeights. Output: logits ('fc8').
 */
export function bvlcAlexnet(options: ZooOptions = {}): Network {
  const { numClasses, classes } = resolveClasses('bvlcAlexnet', options);
  const { mean, bgr } = BVLC_ALEXNET_PREPROCESSING;
  const [height, width] = resolveImageSize('bvlcAlexnet', options, 227);
  const g = new GraphBuilder(imageInput({ name: 'data', inputSize: [3, height, width], normalization: 'zerocenter', mean, bgr }));
  const lrn = (name: string) => localResponseNorm({ name, size: 5, alpha: 1e-4, beta: 0.75, k: 1 });
  const pool = (name: string) => maxPool2d({ name, poolSize: 3, stride: 2, ceilMode: true });
  const last = g.chain('data',
    conv2d({ name: 'conv1', filters: 96, kernelSize: 11, stride: 4 }), relu({ name: 'relu1' }), lrn('norm1'), pool('pool1'),
    conv2d({ name: 'conv2', filters: 256, kernelSize: 5, padding: 2, groups: 2 }), relu({ name: 'relu2' }), lrn('norm2'), pool('pool2'),
    conv2d({ name: 'conv3', filters: 384, kernelSize: 3, padding: 1 }), relu({ name: 'relu3' }),
    conv2d({ name: 'conv4', filters: 384, kernelSize: 3, padding: 1, groups: 2 }), relu({ name: 'relu4' }),
    conv2d({ name: 'conv5', filters: 256, kernelSize: 3, padding: 1, groups: 2 }), relu({ name: 'relu5' }), pool('pool5'),
    fullyConnected({ name: 'fc6', outputSize: 4096 }), relu({ name: 'relu6' }), dropout({ name: 'drop6', probability: 0.5 }),
    fullyConnected({ name: 'fc7', outputSize: 4096 }), relu({ name: 'relu7' }), dropout({ name: 'drop7', probability: 0.5 }),
    fullyConnected({ name: 'fc8', outputSize: numClasses }));
  return g.network(last, classes);
}

/**
 * The same network as a Caffe deploy file (text NetParameter) for importCaffe, which takes a
 * path: write it to a file and import with the preprocessing and class names, e.g.
 *   importCaffe(file, 'bvlc_alexnet.caffemodel', { mean: [104, 117, 123], bgr: true, classes: imagenetClasses() })
 * Written for dlkit from the architecture above (not BVLC's file); fc8 has `numClasses` outputs.
 */
export function bvlcAlexnetPrototxt(numClasses = 1000): string {
  const conv = (n: string, bottom: string, out: number, k: number, extra: string) =>
    `layer { name: "${n}" type: "Convolution" bottom: "${bottom}" top: "${n}"\n  convolution_param { num_output: ${out} kernel_size: ${k}${extra} } }`;
  const inplace = (n: string, type: string, blob: string, param = '') => `layer { name: "${n}" type: "${type}" bottom: "${blob}" top: "${blob}"${param} }`;
  const lrn = (n: string, bottom: string) => `layer { name: "${n}" type: "LRN" bottom: "${bottom}" top: "${n}"\n  lrn_param { local_size: 5 alpha: 0.0001 beta: 0.75 } }`;
  const pool = (n: string, bottom: string) => `layer { name: "${n}" type: "Pooling" bottom: "${bottom}" top: "${n}"\n  pooling_param { pool: MAX kernel_size: 3 stride: 2 } }`;
  const fc = (n: string, bottom: string, out: number) => `layer { name: "${n}" type: "InnerProduct" bottom: "${bottom}" top: "${n}"\n  inner_product_param { num_output: ${out} } }`;
  const drop = ' dropout_param { dropout_ratio: 0.5 }';
  return [
    'name: "BVLC AlexNet (dlkit)"',
    'layer { name: "data" type: "Input" top: "data" input_param { shape: { dim: 1 dim: 3 dim: 227 dim: 227 } } }',
    conv('conv1', 'data', 96, 11, ' stride: 4'), inplace('relu1', 'ReLU', 'conv1'), lrn('norm1', 'conv1'), pool('pool1', 'norm1'),
    conv('conv2', 'pool1', 256, 5, ' pad: 2 group: 2'), inplace('relu2', 'ReLU', 'conv2'), lrn('norm2', 'conv2'), pool('pool2', 'norm2'),
    conv('conv3', 'pool2', 384, 3, ' pad: 1'), inplace('relu3', 'ReLU', 'conv3'),
    conv('conv4', 'conv3', 384, 3, ' pad: 1 group: 2'), inplace('relu4', 'ReLU', 'conv4'),
    conv('conv5', 'conv4', 256, 3, ' pad: 1 group: 2'), inplace('relu5', 'ReLU', 'conv5'), pool('pool5', 'conv5'),
    fc('fc6', 'pool5', 4096), inplace('relu6', 'ReLU', 'fc6'), inplace('drop6', 'Dropout', 'fc6', drop),
    fc('fc7', 'fc6', 4096), inplace('relu7', 'ReLU', 'fc7'), inplace('drop7', 'Dropout', 'fc7', drop),
    fc('fc8', 'fc7', numClasses),
    '',
  ].join('\n');
}

/**
 * Loads a .caffemodel's blobs into a network whose layers carry the Caffe layer names (as
 * bvlcAlexnet's and the Caffe importer's do): blob 0 of layer L becomes 'L.weight', blob 1
 * 'L.bias' (Convolution and InnerProduct: Caffe's shapes are PyTorch's). Layers of the
 * caffemodel the network does not have (a training net's data or loss layers hold no blobs)
 * are ignored; every network parameter must be given, with its shape, else the error lists
 * each problem with the file's name.
 */
export function loadCaffeWeights(network: Network, caffemodel: string): { loaded: string[] } {
  const model = readCaffemodel(caffemodel);
  const own = network.stateDict();
  const values: Record<string, Tensor> = {};
  const problems: string[] = [];
  try {
    for (const l of [...(model.layer as Msg[]), ...(model.layers as Msg[])]) {
      const blobs = l.blobs as Msg[];
      const name = l.name as string;
      if (blobs.length > 2) { problems.push(`layer '${name}' has ${blobs.length} blobs, expected weights and at most a bias (batch norm and scale blobs are mapped by importCaffe, not here)`); continue; }
      if (!blobs.length || !(`${name}.weight` in own)) continue;
      blobs.forEach((blob, i) => {
        const key = `${name}.${i === 0 ? 'weight' : 'bias'}`;
        const target = own[key];
        const values_ = blobValues(blob);
        if (!target) { problems.push(`layer '${name}' has a bias blob, the network's layer has no bias`); return; }
        if (values_.length !== target.size) {
          problems.push(`'${key}': expected shape ${shapeStr(target.shape)} (${target.size} values), the caffemodel's blob is ${shapeStr(blobShape(blob))} (${values_.length} values)`);
          return;
        }
        values[key] = tensor(values_, { shape: target.shape });
      });
    }
    if (problems.length) throw new CaffeError(caffemodel, `does not fit the network: ${problems.join('; ')}`);
    const { loaded } = network.loadStateDict(values, { source: caffemodel });
    return { loaded };
  } finally {
    for (const t of Object.values(values)) t.dispose();
  }
}
