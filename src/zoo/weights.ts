// The pretrained zoo's catalog: which weight file each model name loads, where its authors
// publish it, how big it is, how to check it, and how its tensors map onto the dlkit
// architecture (ARCHITECTURES key). Every number here comes from a published source named in
// the entry's `checks` text; where no full hash is published (torchvision), the file name's
// SHA-256 prefix is checked, as torch.hub's check_hash does, and the size is checked against
// torchvision's `_file_size` (MiB rounded to 3 decimals: os.path.getsize / 1024 / 1024).

/** One weight file: where it comes from and what it must be. */
export interface WeightFile {
  /** The file's name in the cache and on its server. */
  file: string;
  /** The official download address. */
  url: string;
  /** Exact size in bytes, when published; null when only `sizeMiB` is. */
  size: number | null;
  /** Size in MiB rounded to 3 decimals (torchvision's `_file_size`); checked when `size` is null. */
  sizeMiB?: number;
  /** Full SHA-256 (hex). */
  sha256?: string;
  /** The leading hex digits of the SHA-256 (torch-hub file names), when no full hash is published. */
  sha256Prefix?: string;
  /** Full SHA-1 (hex): what the BVLC model readmes publish. */
  sha1?: string;
  /** Where the size and checksum come from, and which checks apply. */
  checks: string;
}

export type WeightFormat = 'checkpoint' | 'caffe';

export interface ZooEntry {
  name: string;
  /** The ARCHITECTURES key the weights load into. */
  architecture: string;
  description: string;
  /** 'checkpoint': a torch.save state dict (restricted unpickler); 'caffe': a binary .caffemodel. */
  format: WeightFormat;
  weights: WeightFile;
  license: string;
  /** Who trained and publishes the weights (a page to read about them). */
  source: string;
  /** Removed from the start of every state-dict name ('module.' from DataParallel). */
  stripPrefix?: string;
  /** State-dict names starting with one of these are not loaded (heads the architecture omits). */
  dropPrefixes?: readonly string[];
}

const TORCHVISION_LICENSE = 'BSD-3-Clause (torchvision); torchvision says pretrained weights may carry terms of the data set they were trained on (ImageNet)';
const TORCHVISION_SOURCE = 'https://pytorch.org/vision/stable/models.html';
const torchvisionChecks = (mib: number) =>
  `SHA-256 prefix from the file name (torch.hub's check_hash; torchvision publishes no full hash); size ${mib} MiB from torchvision's weight metadata (_file_size), checked to its rounding`;

function torchvision(name: string, architecture: string, description: string, file: string, sizeMiB: number, extra: Partial<ZooEntry> = {}): ZooEntry {
  const prefix = /-([0-9a-f]{8,})\.pth$/.exec(file)![1]!;
  return {
    name, architecture, description, format: 'checkpoint',
    weights: { file, url: `https://download.pytorch.org/models/${file}`, size: null, sizeMiB, sha256Prefix: prefix, checks: torchvisionChecks(sizeMiB) },
    license: TORCHVISION_LICENSE, source: TORCHVISION_SOURCE, ...extra,
  };
}

const AKAMASTER = 'https://github.com/akamaster/pytorch_resnet_cifar10';
function cifar(depth: number, file: string, size: number, sha256: string, error: string): ZooEntry {
  return {
    name: `resnet${depth}-cifar10`, architecture: `cifar-resnet${depth}`,
    description: `ResNet-${depth} for CIFAR-10 (He et al. 2016, option-A shortcuts), 32x32 input; published test error ${error}`,
    format: 'checkpoint',
    weights: {
      file, url: `${AKAMASTER}/raw/master/pretrained_models/${file}`, size, sha256,
      checks: `size and SHA-256 of the file in ${AKAMASTER} (pretrained_models/, commit d5489e8), whose name carries the hash's first 8 digits`,
    },
    license: 'BSD-2-Clause', source: AKAMASTER, stripPrefix: 'module.',
  };
}

/** Every zoo model by name. */
export const ZOO: Readonly<Record<string, ZooEntry>> = Object.freeze(Object.fromEntries(([
  torchvision('alexnet', 'alexnet', 'AlexNet (torchvision, "one weird trick" variant), ImageNet-1k, 224x224; top-1 56.5%', 'alexnet-owt-7be5be79.pth', 233.087),
  torchvision('vgg16', 'vgg16', 'VGG-16 (torchvision), ImageNet-1k, 224x224; top-1 71.6%', 'vgg16-397923af.pth', 527.796),
  torchvision('vgg19', 'vgg19', 'VGG-19 (torchvision), ImageNet-1k, 224x224; top-1 72.4%', 'vgg19-dcbb9e9d.pth', 548.051),
  torchvision('resnet18', 'resnet18', 'ResNet-18 (torchvision IMAGENET1K_V1), ImageNet-1k, 224x224; top-1 69.8%', 'resnet18-f37072fd.pth', 44.661),
  torchvision('resnet50', 'resnet50', 'ResNet-50 (torchvision IMAGENET1K_V1), ImageNet-1k, 224x224; top-1 76.1%', 'resnet50-0676ba61.pth', 97.781),
  torchvision('googlenet', 'googlenet', 'GoogLeNet / Inception v1 (torchvision, ported from TensorFlow), ImageNet-1k, 224x224; top-1 69.8%', 'googlenet-1378be20.pth', 49.731,
    // The auxiliary classifiers only serve training; the inference architecture has none.
    { dropPrefixes: ['aux1.', 'aux2.'] }),
  torchvision('squeezenet1_0', 'squeezenet1_0', 'SqueezeNet 1.0 (torchvision), ImageNet-1k, 224x224; top-1 58.1%', 'squeezenet1_0-b66bff10.pth', 4.778),
  torchvision('squeezenet1_1', 'squeezenet1_1', 'SqueezeNet 1.1 (torchvision), ImageNet-1k, 224x224; top-1 58.2%', 'squeezenet1_1-b8a52dc0.pth', 4.729),
  torchvision('mobilenet_v2', 'mobilenet_v2', 'MobileNetV2 (torchvision IMAGENET1K_V1), ImageNet-1k, 224x224; top-1 71.9%', 'mobilenet_v2-b0353104.pth', 13.555),
  {
    name: 'bvlc-alexnet', architecture: 'bvlc-alexnet',
    description: 'BVLC AlexNet (Caffe model zoo: LRN, grouped convolutions), ImageNet-1k, 227x227, BGR mean-subtracted; top-1 57.1%',
    format: 'caffe',
    weights: {
      file: 'bvlc_alexnet.caffemodel', url: 'http://dl.caffe.berkeleyvision.org/bvlc_alexnet.caffemodel', size: null,
      sha1: '9116a64c0fbe4459d18f4bb6b56d647b63920377',
      checks: 'SHA-1 from the model readme (BVLC/caffe models/bvlc_alexnet/readme.md); no size is published',
    },
    license: 'unrestricted use (BVLC model readme)', source: 'https://github.com/BVLC/caffe/tree/master/models/bvlc_alexnet',
  },
  cifar(20, 'resnet20-12fca82f.th', 1099231, '12fca82f0bebc4135bf1f32f6e3710e61d5108578464b84fd6d7f5c1b04036c8', '8.27%'),
  cifar(32, 'resnet32-d509ac18.th', 1890043, 'd509ac1820d7f25398913559d7e81a13229b1e7adc5648e3bfa5e22dc137f850', '7.37%'),
  cifar(44, 'resnet44-014dd654.th', 2680855, '014dd6541728a1c700b1642ab640e211dc6eb8ed507d70697458dc8f8a0ae2e4', '6.90%'),
  cifar(56, 'resnet56-4bfd9763.th', 3471733, '4bfd97631478d6b638d2764fd2baff3edb1d7d82252d54439343b6596b9b5367', '6.61%'),
] satisfies ZooEntry[]).map((e) => [e.name, Object.freeze(e)])));

/** The catalog entry for `name`, or an error listing the known names. */
export function zooEntry(name: string): ZooEntry {
  const e = Object.prototype.hasOwnProperty.call(ZOO, name) ? ZOO[name] : undefined;
  if (!e) throw new RangeError(`unknown zoo model '${name}'; known: ${Object.keys(ZOO).join(', ')}`);
  return e;
}
