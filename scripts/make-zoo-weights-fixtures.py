#!/usr/bin/python3
"""Writes a torchvision-format weight file with seeded weights, for test/zoo/weights.test.ts.

    /usr/bin/python3 scripts/make-zoo-weights-fixtures.py

Uses Debian's python3-torch (1.13). The downloader tests serve this file from a local HTTP
server the way download.pytorch.org serves torchvision's: a bare state dict written by
torch.save in the zip format (no 'module.' prefix), named torch-hub style with the first 8 hex
digits of its SHA-256. The network is a CIFAR ResNet-20 (the smallest zoo architecture: about
1.1 MB of float32); its weights are PyTorch's default initialization under a fixed seed, with
the batch-norm statistics and affine parameters randomized too so that every tensor matters.

Writes fixtures/zoo/resnet20-seeded-<sha8>.pth and fixtures/zoo/weights.json:
  file, size, sha256   the weight file and its checksum
  input                how the test images are made: pixel[i] = 127.5 + 127.5 * sin(0.01 * i),
                       shape [2, 3, 32, 32], 0-255 as dlkit's image input takes them
  logits               PyTorch's outputs for them (float32, shortest decimal), [2, 10], after the
                       published networks' Normalize(mean, std) on pixels / 255
"""
import hashlib
import json
import os

import numpy as np
import torch
import torch.nn as nn
from cifar_resnet import ResNet

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, 'fixtures', 'zoo')
SEED = 13
MEAN, STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


def f32(v):
    return float(str(np.float32(v)))


def main():
    torch.manual_seed(SEED)
    model = ResNet()
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.weight.uniform_(0.5, 1.5)
                m.bias.normal_(0, 0.1)
                m.running_mean.normal_(0, 0.1)
                m.running_var.uniform_(0.5, 2.0)
                m.num_batches_tracked.fill_(1000)
    model.eval()
    os.makedirs(OUT, exist_ok=True)
    for f in os.listdir(OUT):
        if f.startswith('resnet20-seeded-') and f.endswith('.pth'):
            os.remove(os.path.join(OUT, f))
    tmp = os.path.join(OUT, 'resnet20-seeded.pth')
    torch.save(model.state_dict(), tmp)  # zip format (the default since PyTorch 1.6), as torchvision's files
    with open(tmp, 'rb') as f:
        data = f.read()
    sha = hashlib.sha256(data).hexdigest()
    name = f'resnet20-seeded-{sha[:8]}.pth'
    os.replace(tmp, os.path.join(OUT, name))

    shape = (2, 3, 32, 32)
    pixels = (127.5 + 127.5 * torch.sin(0.01 * torch.arange(int(np.prod(shape)), dtype=torch.float32))).reshape(shape)
    x = (pixels / 255 - torch.tensor(MEAN).view(1, 3, 1, 1)) / torch.tensor(STD).view(1, 3, 1, 1)
    with torch.no_grad():
        logits = model(x)
    with open(os.path.join(OUT, 'weights.json'), 'w') as f:
        json.dump({
            'file': name, 'size': len(data), 'sha256': sha, 'architecture': 'cifar-resnet20',
            'input': {'formula': '127.5 + 127.5 * sin(0.01 * i)', 'shape': list(shape)},
            'logits': [[f32(v) for v in row] for row in logits.tolist()],
        }, f, indent=1)
    print(f'{name}: {len(data)} bytes, sha256 {sha}')


if __name__ == '__main__':
    main()
