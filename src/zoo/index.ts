// Pretrained architectures and model import from every supported format.
export { importModel, detectFormat, type ImportModelOptions, type ImportedModel, type ModelFormat } from './import-model.js';
export { cifarResNet, CIFAR_RESNET_DEPTHS, CIFAR_RESNET_NORMALIZATION, type CifarResNetDepth, type CifarResNetOptions } from './cifar-resnet.js';
export { ARCHITECTURES, architecture } from './architectures.js';
export { type Architecture, type InputNormalization } from './architectures.js';
export { alexnet } from './alexnet.js';
export { vgg16, vgg19, VGG_CONFIGS } from './vgg.js';
export { resnet18, resnet50, RESNET_LAYERS } from './resnet.js';
export { googlenet, loadGoogLeNetStateDict, GOOGLENET_AUX_PREFIXES, GOOGLENET_NORMALIZATION, type GoogLeNetOptions } from './googlenet.js';
export { squeezenet1_0, squeezenet1_1, FIRE_LAYOUT } from './squeezenet.js';
export { mobilenetV2, MOBILENET_V2_SETTING } from './mobilenet.js';
export { bvlcAlexnet, bvlcAlexnetPrototxt, loadCaffeWeights, BVLC_ALEXNET_PREPROCESSING } from './bvlc-alexnet.js';
export { imagenetClasses, imagenetClassesFile, IMAGENET_NORMALIZATION } from './imagenet.js';
export { type ZooOptions } from './builder.js';
export { ZOO, zooEntry, type ZooEntry, type WeightFile, type WeightFormat } from './weights.js';
export { pretrained, zooGet, zooList, weightChecks, loadZooWeights, type PretrainedOptions, type ZooGetOptions, type ZooGetResult, type ZooListing } from './pretrained.js';
export { dlkitHome, weightsDir, cachedWeightsPath } from './cache.js';
export { downloadFile, verifyFile, DownloadError, type DownloadOptions, type DownloadResult, type DownloadErrorCode, type Checksum, type FileExpectation } from './download.js';
export { openNetwork, type OpenNetworkOptions } from './open-network.js';
