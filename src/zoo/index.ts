// Pretrained architectures and model import from every supported format.
export { importModel, detectFormat, type ImportModelOptions, type ImportedModel, type ModelFormat } from './import-model.js';
export { cifarResNet, CIFAR_RESNET_DEPTHS, CIFAR_RESNET_NORMALIZATION, type CifarResNetDepth, type CifarResNetOptions } from './cifar-resnet.js';
export { ARCHITECTURES, architecture } from './architectures.js';
export { ZOO, zooEntry, type ZooEntry, type WeightFile, type WeightFormat } from './weights.js';
export { pretrained, zooGet, zooList, weightChecks, loadZooWeights, type PretrainedOptions, type ZooGetOptions, type ZooGetResult, type ZooListing } from './pretrained.js';
export { dlkitHome, weightsDir, cachedWeightsPath } from './cache.js';
export { downloadFile, verifyFile, DownloadError, type DownloadOptions, type DownloadResult, type DownloadErrorCode, type Checksum, type FileExpectation } from './download.js';
