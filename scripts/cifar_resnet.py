"""The CIFAR-10 ResNets (He et al. 2016, option-A shortcuts) in PyTorch, written from the
README of ../shared/data/pretrained/resnet-cifar10 (not imported from the checkpoints'
repository): conv1, bn1, three stages of basic blocks (16/32/64 channels, the first block of
stages 2 and 3 with stride 2), option-A shortcuts (x[:, :, ::2, ::2] with zero channels half
before and half after), global average pooling, linear. Its state-dict names are the published
checkpoints' (after 'module.'). Shared by the fixture scripts and bench/transfer.py.
"""
import torch.nn as nn
import torch.nn.functional as F


class Block(nn.Module):
    def __init__(self, cin, planes, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.pad = (planes - cin) // 2 if (stride != 1 or cin != planes) else None

    def forward(self, x):
        out = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        short = x if self.pad is None else F.pad(x[:, :, ::2, ::2], (0, 0, 0, 0, self.pad, self.pad))
        return F.relu(out + short)


class ResNet(nn.Module):
    """Depth 6n + 2: n = 3 is ResNet-20, 5 ResNet-32, …"""

    def __init__(self, n=3, classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        cin = 16
        for i, planes in enumerate([16, 32, 64]):
            blocks = []
            for b in range(n):
                blocks.append(Block(cin, planes, 2 if i > 0 and b == 0 else 1))
                cin = planes
            setattr(self, f'layer{i + 1}', nn.Sequential(*blocks))
        self.linear = nn.Linear(64, classes)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        return self.linear(F.adaptive_avg_pool2d(x, 1).flatten(1))
