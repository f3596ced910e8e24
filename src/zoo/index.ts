// Known architectures (the pretrained networks' shapes, with their input normalization and classes).
export { cifarResNet, CIFAR_RESNET_DEPTHS, CIFAR_RESNET_NORMALIZATION, type CifarResNetDepth, type CifarResNetOptions } from './cifar-resnet.js';
