"""One PyTorch measurement for `npm run bench -- op-overhead` (run by bench/op-overhead.ts).

  python3 bench/op_overhead.py [--calls 100000]

µs per call of a tiny op on 1-element tensors: `a + b` (a new tensor, freed when the name is
rebound) and the in-place `a.add_(b)`. Result: one JSON line on stdout.
"""
import argparse
import json
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


new_tensor(calls // 10)
in_place(calls // 10)
us_new = new_tensor(calls)
us_in_place = in_place(calls)
print(json.dumps({"usNew": us_new, "usInPlace": us_in_place, "threads": torch.get_num_threads(), "torch": torch.__version__}))
