"""One PyTorch measurement for `npm run bench -- train-step` (run by bench/train-step.ts).

The reference CNN as a PyTorch user writes it: nn.Sequential, SGD with momentum 0.9,
opt.zero_grad(), loss.item() every step.

  python3 bench/train_step.py [--steps 60] [--warmup 15] [--batch 128]
                              [--threads N]       (default: PyTorch's own default)
                              [--channels-last]   (model and input in torch.channels_last)

Progress goes to stderr, the result (one JSON line) to stdout.
"""
import argparse
import json
import os
import resource
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

p = argparse.ArgumentParser()
p.add_argument("--steps", type=int, default=60)
p.add_argument("--warmup", type=int, default=15)
p.add_argument("--batch", type=int, default=128)
p.add_argument("--threads", type=int, default=0)
p.add_argument("--channels-last", action="store_true")
a = p.parse_args()

if a.threads > 0:
    torch.set_num_threads(a.threads)
torch.manual_seed(0)

model = nn.Sequential(
    nn.Conv2d(1, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
    nn.Conv2d(32, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(2),
    nn.Flatten(),
    nn.Linear(64 * 7 * 7, 128), nn.ReLU(),
    nn.Linear(128, 10),
)
if a.channels_last:
    model = model.to(memory_format=torch.channels_last)
model.train()
opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)

batches = []
for i in range(4):
    x = torch.randn(a.batch, 1, 28, 28)
    if a.channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    batches.append((x, torch.randint(0, 10, (a.batch,))))


def machine_busy_seconds():
    """Busy CPU seconds of the whole machine (user, nice, system, irq, softirq, steal)."""
    try:
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:9]]
        return (v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) / os.sysconf("SC_CLK_TCK")
    except OSError:
        return float("nan")


def own_cpu_seconds():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def step(x, y):
    opt.zero_grad()
    loss = F.cross_entropy(model(x), y)
    loss.backward()
    opt.step()
    return loss.item()


loss = float("nan")
for i in range(a.warmup):
    loss = step(*batches[i % len(batches)])
times = []
ru0 = resource.getrusage(resource.RUSAGE_SELF)
busy0, own0 = machine_busy_seconds(), own_cpu_seconds()
start = time.perf_counter()
for i in range(a.steps):
    t0 = time.perf_counter()
    loss = step(*batches[i % len(batches)])
    times.append(time.perf_counter() - t0)
elapsed = time.perf_counter() - start
ru1 = resource.getrusage(resource.RUSAGE_SELF)
others = machine_busy_seconds() - busy0 - (own_cpu_seconds() - own0)

rss_kb = 0
with open("/proc/self/status") as f:
    for line in f:
        if line.startswith("VmRSS:"):
            rss_kb = int(line.split()[1])
print(json.dumps({
    "imgPerSec": a.steps * a.batch / elapsed,
    "stepMsMedian": statistics.median(times) * 1000,
    "stepMsP10": statistics.quantiles(times, n=10, method="inclusive")[0] * 1000,
    "stepMsP90": statistics.quantiles(times, n=10, method="inclusive")[-1] * 1000,
    "minorFaultsPerStep": (ru1.ru_minflt - ru0.ru_minflt) / a.steps,
    "userMsPerStep": (ru1.ru_utime - ru0.ru_utime) * 1000 / a.steps,
    "sysMsPerStep": (ru1.ru_stime - ru0.ru_stime) * 1000 / a.steps,
    "othersCpuPct": max(0.0, others / elapsed * 100),
    "threads": torch.get_num_threads(),
    "channelsLast": a.channels_last,
    "preload": os.environ.get("LD_PRELOAD", ""),
    "loss": loss,
    "rssMB": rss_kb / 1024,
    "torch": torch.__version__,
}))
