"""One PyTorch measurement for `npm run bench -- op-overhead` (run by bench/op-overhead.ts).

  python3 bench/op_overhead.py [--calls 100000]

µs per call of a tiny op on 1-element tensors: `a + b` (a new tensor, freed when the name is
rebound) and the in-place `a.add_(b)`. Result: one JSON line on stdout.
"""
import argparse
import json
import os
import resource
import time

import torch

p = argparse.ArgumentParser()
p.add_argument("--calls", type=int, default=100_000)
a_ = p.parse_args()
calls = a_.calls

a = torch.tensor([1.0])
b = torch.tensor([1e-6])


def new_tensor(n):
    t0 = time.perf_counter()
    for _ in range(n):
        c = torch.add(a, b)
        del c
    return (time.perf_counter() - t0) * 1e6 / n


def in_place(n):
    t0 = time.perf_counter()
    for _ in range(n):
        a.add_(b)
    return (time.perf_counter() - t0) * 1e6 / n


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


new_tensor(calls // 10)
in_place(calls // 10)
busy0, own0, t0 = machine_busy_seconds(), own_cpu_seconds(), time.perf_counter()
us_new = new_tensor(calls)
us_in_place = in_place(calls)
others = machine_busy_seconds() - busy0 - (own_cpu_seconds() - own0)
others_pct = max(0.0, others / (time.perf_counter() - t0) * 100)
print(json.dumps({"usNew": us_new, "usInPlace": us_in_place, "othersCpuPct": others_pct, "threads": torch.get_num_threads(), "torch": torch.__version__}))
