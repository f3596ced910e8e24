# The plain PyTorch recipe on Fashion-MNIST, for `npm run bench -- fashion-mnist`:
# the engine issue's reference CNN, SGD momentum 0.9, lr 0.05, weight decay 5e-4, batch 128,
# inputs scaled to [0, 1] and standardized with the data set's mean/std, no augmentation.
# PyTorch as a user runs it (its default thread count). After every epoch it evaluates the test
# set; stderr gets progress, the last stdout line is JSON: [{epoch, time, accuracy}, ...].
import gzip, json, sys, time
import numpy as np
import torch, torch.nn as nn, torch.nn.functional as F

folder = '/usr/share/datasets/fashion-mnist'
epochs = int(sys.argv[1]) if len(sys.argv) > 1 else 6

def idx(name, offset):
    with gzip.open(f'{folder}/{name}.gz') as f:
        return np.frombuffer(f.read(), np.uint8, offset=offset)

xtr = torch.tensor(idx('train-images-idx3-ubyte', 16).reshape(-1, 1, 28, 28).copy())
ytr = torch.tensor(idx('train-labels-idx1-ubyte', 8).astype(np.int64))
xte = torch.tensor(idx('t10k-images-idx3-ubyte', 16).reshape(-1, 1, 28, 28).copy())
yte = torch.tensor(idx('t10k-labels-idx1-ubyte', 8).astype(np.int64))
prep = lambda x: (x.float() / 255 - 0.2860) / 0.3530

torch.manual_seed(0)
net = nn.Sequential(
    nn.Conv2d(1, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
    nn.Conv2d(32, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(2),
    nn.Flatten(), nn.Linear(3136, 128), nn.ReLU(), nn.Linear(128, 10))
opt = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4)
results = []
start = time.time()
for epoch in range(epochs):
    net.train()
    perm = torch.randperm(len(xtr))
    for i in range(0, len(xtr) - 127, 128):
        b = perm[i:i + 128]
        opt.zero_grad()
        loss = F.cross_entropy(net(prep(xtr[b])), ytr[b])
        loss.backward()
        opt.step()
    net.eval()
    with torch.no_grad():
        correct = sum((net(prep(xte[i:i + 1000])).argmax(1) == yte[i:i + 1000]).sum().item() for i in range(0, len(xte), 1000))
    acc = correct / len(xte)
    results.append({'epoch': epoch + 1, 'time': time.time() - start, 'accuracy': acc})
    print(f'pytorch epoch {epoch + 1}: test accuracy {acc:.4f} at {time.time() - start:.1f} s', file=sys.stderr, flush=True)
print(json.dumps(results))
