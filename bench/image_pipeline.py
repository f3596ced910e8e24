"""PyTorch/torchvision measurements for `npm run bench -- image-pipeline` (run by bench/image-pipeline.ts).

pipeline: an image folder through torchvision's ImageFolder + DataLoader(num_workers=2) with
  RandomResizedCrop(224) + RandomHorizontalFlip + ToTensor + Normalize, batches of 64, one epoch.
    python3 bench/image_pipeline.py pipeline --dir D [--batch 64] [--size 224] [--workers 2]

cifar: the plain PyTorch recipe on CIFAR-10 stored as JPEG folders: ImageFolder + DataLoader(2
  workers), the reference CNN on 3 channels, SGD momentum 0.9 lr 0.05 weight decay 5e-4, batch 128,
  2 epochs, then test accuracy. Times everything from the first file listing to the accuracy.
    python3 bench/image_pipeline.py cifar --dir ../shared/data/cifar10 [--epochs 2]

Progress goes to stderr, the result (one JSON line) to stdout.
"""
import argparse
import json
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision
from torchvision import datasets, transforms

p = argparse.ArgumentParser()
p.add_argument("mode", choices=["pipeline", "cifar"])
p.add_argument("--dir", required=True)
p.add_argument("--batch", type=int, default=0)
p.add_argument("--size", type=int, default=224)
p.add_argument("--workers", type=int, default=2)
p.add_argument("--epochs", type=int, default=2)
a = p.parse_args()


def pipeline():
    start = time.perf_counter()
    tf = transforms.Compose([
        transforms.RandomResizedCrop(a.size),
        transforms.RandomHorizontalFlip(),
        transforms.ToTensor(),
        transforms.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225]),
    ])
    ds = datasets.ImageFolder(a.dir, transform=tf)
    loader = torch.utils.data.DataLoader(ds, batch_size=a.batch or 64, shuffle=True, num_workers=a.workers)
    n = 0
    for x, y in loader:
        n += x.shape[0]
    seconds = time.perf_counter() - start
    print(f"torchvision: {n} images in {seconds:.2f} s, {a.workers} workers", file=sys.stderr)
    return {"imagesPerSecond": n / seconds, "seconds": seconds, "images": n, "workers": a.workers}


def cifar():
    start = time.perf_counter()
    torch.manual_seed(0)
    norm = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616))])
    train = datasets.ImageFolder(f"{a.dir}/train", transform=norm)
    test = datasets.ImageFolder(f"{a.dir}/test", transform=norm)
    batch = a.batch or 128
    train_loader = torch.utils.data.DataLoader(train, batch_size=batch, shuffle=True, num_workers=a.workers)
    test_loader = torch.utils.data.DataLoader(test, batch_size=512, num_workers=a.workers)
    model = nn.Sequential(
        nn.Conv2d(3, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(64 * 8 * 8, 128), nn.ReLU(),
        nn.Linear(128, 10),
    )
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4)
    for epoch in range(a.epochs):
        model.train()
        for i, (x, y) in enumerate(train_loader):
            opt.zero_grad()
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
            if i % 100 == 0:
                print(f"pytorch cifar: epoch {epoch + 1} iteration {i} loss {loss.item():.3f} ({time.perf_counter() - start:.0f} s)", file=sys.stderr)
    train_seconds = time.perf_counter() - start
    model.eval()
    correct = 0
    n = 0
    with torch.no_grad():
        for x, y in test_loader:
            correct += (model(x).argmax(1) == y).sum().item()
            n += len(y)
    seconds = time.perf_counter() - start
    return {"accuracy": correct / n, "seconds": seconds, "trainSeconds": train_seconds, "epochs": a.epochs}


result = pipeline() if a.mode == "pipeline" else cifar()
result["torch"] = torch.__version__
result["torchvision"] = torchvision.__version__
result["threads"] = torch.get_num_threads()
print(json.dumps(result))
