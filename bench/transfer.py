"""The transfer benchmark's PyTorch side (bench/transfer.ts starts it): the CIFAR-10 ResNet-20
of ../shared/data/pretrained fine-tuned on the ants/bees photos, or the same architecture
trained from scratch, with the recipe dlkit's side uses (src/apps/transfer.ts TRANSFER_TRAINING):
SGD with momentum 0.9, weight decay 5e-4, cosine decay over the epochs, batch 32, random
horizontal flips, a new linear head; learn rate 0.01 (fine-tuning) or 0.05 (from scratch).
Images are resized to size×size (PIL bilinear) and normalized as the published weights expect.
Prints one JSON line: {"mode", "accuracy", "seconds"}.
"""
import argparse
import json
import os
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image


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
    def __init__(self, n, classes=10):
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


MEAN = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
STD = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)


def load_folder(folder, size, classes):
    xs, ys = [], []
    for label, c in enumerate(classes):
        d = os.path.join(folder, c)
        for f in sorted(os.listdir(d)):
            if f.startswith('.'):
                continue
            img = Image.open(os.path.join(d, f)).convert('RGB').resize((size, size), Image.BILINEAR)
            xs.append(np.asarray(img, dtype=np.float32))
            ys.append(label)
    x = torch.from_numpy(np.stack(xs)).permute(0, 3, 1, 2) / 255.0
    return (x - MEAN) / STD, torch.tensor(ys)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--data', required=True)
    ap.add_argument('--weights', required=True)
    ap.add_argument('--mode', choices=['finetune', 'scratch'], default='finetune')
    ap.add_argument('--epochs', type=int, default=30)
    ap.add_argument('--size', type=int, default=64)
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--threads', type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    classes = sorted(d for d in os.listdir(os.path.join(a.data, 'train')) if not d.startswith('.'))
    xtr, ytr = load_folder(os.path.join(a.data, 'train'), a.size, classes)
    xva, yva = load_folder(os.path.join(a.data, 'val'), a.size, classes)

    model = ResNet(3)
    if a.mode == 'finetune':
        sd = torch.load(a.weights, map_location='cpu')['state_dict']
        model.load_state_dict({k.replace('module.', '', 1): v for k, v in sd.items()})
    model.linear = nn.Linear(64, len(classes))
    lr = 0.01 if a.mode == 'finetune' else 0.05
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9, weight_decay=5e-4)
    batch = 32
    steps_per_epoch = (len(ytr) + batch - 1) // batch
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=a.epochs * steps_per_epoch)
    start = time.perf_counter()
    for _ in range(a.epochs):
        model.train()
        order = torch.randperm(len(ytr))
        for i in range(0, len(ytr), batch):
            idx = order[i:i + batch]
            x = xtr[idx]
            flip = torch.rand(len(idx)) < 0.5
            x[flip] = x[flip].flip(-1)
            loss = F.cross_entropy(model(x), ytr[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
    model.eval()
    with torch.no_grad():
        acc = (model(xva).argmax(1) == yva).float().mean().item()
    print(json.dumps({'mode': a.mode, 'accuracy': acc, 'seconds': time.perf_counter() - start, 'torch': torch.__version__}))


if __name__ == '__main__':
    main()
