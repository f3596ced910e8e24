#!/usr/bin/python3
"""Writes the ONNX fixtures dlkit's ONNX round-trip test imports.

    /usr/bin/python3 scripts/make-onnx-fixtures.py

Uses Debian's python3-torch (1.13) and its torch.onnx exporter. Writes
  fixtures/onnx/resnet-small.onnx    a small ResNet-shaped CNN (conv-bn-relu stem, max pool,
                                     two basic blocks, the second with a strided 1x1 projection,
                                     global average pool, linear), seeded weights and batch-norm
                                     statistics, exported in eval mode at opset 13 with a dynamic
                                     batch axis ('batch') on the input and the output
  fixtures/onnx/resnet-small.json    {input: {shape, data}, output: {shape, data}}: a batch of 3
                                     inputs (rounded to 3 decimals, exact in JSON) and PyTorch's
                                     outputs for it; the first observation alone is the batch-1 case

float32 values are written as the shortest decimal that reads back to the same float32.
"""
import json
import os

import numpy as np
import torch
import torch.nn as nn

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT_DIR = os.path.join(ROOT, 'fixtures', 'onnx')
SEED = 0


def f32(v):
    """The shortest decimal that reads back as the same float32."""
    return float(str(np.float32(v)))


def encode(t):
    t = t.detach().to(torch.float32)
    return {'shape': list(t.shape), 'data': [f32(v) for v in t.reshape(-1).tolist()]}


class Block(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU()
        self.down = None
        if stride != 1 or cin != cout:
            self.down = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        y = self.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return self.relu(y + (x if self.down is None else self.down(x)))


class SmallResNet(nn.Module):
    def __init__(self, classes=10):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 8, 3, 1, 1, bias=False), nn.BatchNorm2d(8), nn.ReLU())
        self.pool = nn.MaxPool2d(3, 2, 1)
        self.layer1 = Block(8, 8, 1)
        self.layer2 = Block(8, 16, 2)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(16, classes)

    def forward(self, x):
        x = self.layer2(self.layer1(self.pool(self.stem(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def main():
    torch.manual_seed(SEED)
    model = SmallResNet()
    # Batch-norm statistics and affine parameters other than 0 and 1, so the export must carry them.
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.copy_(torch.randn(m.num_features) * 0.2)
                m.running_var.copy_(torch.rand(m.num_features) + 0.5)
                m.weight.copy_(torch.rand(m.num_features) + 0.5)
                m.bias.copy_(torch.randn(m.num_features) * 0.2)
    model.eval()
    x = torch.round(torch.randn(3, 3, 16, 16) * 1000) / 1000
    with torch.no_grad():
        y = model(x)
    os.makedirs(OUT_DIR, exist_ok=True)
    onnx_file = os.path.join(OUT_DIR, 'resnet-small.onnx')
    torch.onnx.export(
        model, x[:1], onnx_file, opset_version=13, input_names=['input'], output_names=['output'],
        dynamic_axes={'input': {0: 'batch'}, 'output': {0: 'batch'}}, do_constant_folding=True,
    )
    with open(os.path.join(OUT_DIR, 'resnet-small.json'), 'w') as f:
        json.dump({'input': encode(x), 'output': encode(y)}, f, separators=(',', ':'))
        f.write('\n')
    for name in ('resnet-small.onnx', 'resnet-small.json'):
        print(f'{name}: {os.path.getsize(os.path.join(OUT_DIR, name))} bytes')


if __name__ == '__main__':
    main()
