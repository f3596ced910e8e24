// Pretrained architectures and model import from every supported format.
export { importModel, detectFormat, type ImportModelOptions, type ImportedModel, type ModelFormat } from './import-model.js';
export { cifarResNet, CIFAR_RESNET_DEPTHS, CIFAR_RESNET_NORMALIZATION, type CifarResNetDepth, type CifarResNetOptions } from './cifar-resnet.js';
export { ARCHITECTURES, architecture } from './architectures.js';
