// Architectures by name, for loading a bare state dict (a PyTorch checkpoint holds weights, not
// the network): `dlkit import resnet20.th --arch cifar-resnet20`. The pretrained zoo adds its
// entries here.
import type { Network } from '../nn/network.js';
import { cifarResNet, CIFAR_RESNET_DEPTHS } from './cifar-resnet.js';

export const ARCHITECTURES: Record<string, { description: string; make(): Network }> = Object.fromEntries(
  CIFAR_RESNET_DEPTHS.map((depth) => [`cifar-resnet${depth}`, {
    description: `ResNet-${depth} for CIFAR-10 (He et al. 2016, option-A shortcuts; akamaster/pytorch_resnet_cifar10's state-dict names)`,
    make: () => cifarResNet({ depth }),
  }]),
);

export function architecture(name: string): Network {
  const a = ARCHITECTURES[name];
  if (!a) throw new RangeError(`unknown architecture '${name}'; known: ${Object.keys(ARCHITECTURES).join(', ')}`);
  return a.make();
}
