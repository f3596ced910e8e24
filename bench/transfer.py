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
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'scripts'))
from cifar_resnet import ResNet  # noqa: E402


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
