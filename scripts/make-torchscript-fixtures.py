#!/usr/bin/python3
"""Writes the TorchScript fixtures dlkit's loadTorchScript tests compare against.

    /usr/bin/python3 scripts/make-torchscript-fixtures.py

Uses Debian's python3-torch (1.13, the same libtorch dlkit links). Writes, in fixtures/torchscript/:
  scripted.pt     a small CNN through torch.jit.script, with control flow in forward (a loop over
                  blocks and a data-dependent branch), saved with extra files classes.json and
                  dlkit.json (input size and normalization)
  traced.pt       another small CNN through torch.jit.trace (batch norm, buffers)
  tuple.pt        a scripted module returning a tuple (logits, features), plus an exported
                  method returning an int
  dict.pt         a scripted module returning a dict str -> tensor
  checkpoint.pt   a plain torch.save state dict (a zip that is not TorchScript), for the error tests
  expected.json   for each module: its seeded input, its outputs, and its state dict
                  (names, shapes, values), as PyTorch computes them in eval mode

float32 values are written as the shortest decimal that reads back to the same float32, so
JSON -> Float32Array is exact. Inputs are rounded to 3 decimals.
"""
import json
import os
from typing import Dict, Tuple

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT_DIR = os.path.join(ROOT, 'fixtures', 'torchscript')
CLASSES = ['circle', 'square', 'triangle', 'star']


def f32(v):
    """The shortest decimal that reads back as the same float32."""
    return float(str(np.float32(v)))


def encode(t):
    t = t.detach()
    flat = t.reshape(-1).tolist()
    if t.dtype == torch.float32:
        flat = [f32(v) for v in flat]
    return {'shape': list(t.shape), 'dtype': str(t.dtype).replace('torch.', ''), 'data': flat}


def rounded_input(*shape, scale=1.0):
    return torch.round(torch.randn(shape, dtype=torch.float64) * scale * 1000).float() / 1000


class Block(nn.Module):
    def __init__(self, c: int):
        super().__init__()
        self.conv = nn.Conv2d(c, c, 3, padding=1)

    def forward(self, x):
        return F.relu(self.conv(x)) + x


class ScriptedCNN(nn.Module):
    """Control flow that tracing could not record: a loop over blocks and a branch on the data."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(1, 4, 3, padding=1)
        self.blocks = nn.ModuleList([Block(4), Block(4)])
        self.head = nn.Linear(4 * 4 * 4, len(CLASSES))

    def forward(self, x):
        h = F.max_pool2d(F.relu(self.stem(x)), 2)  # (N, 4, 4, 4) from (N, 1, 8, 8)
        for block in self.blocks:
            h = block(h)
        if bool(h.mean() > 1.0):
            h = h * 0.5
        return self.head(torch.flatten(h, 1))


class TracedCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 6, 3)
        self.bn = nn.BatchNorm2d(6)
        self.conv2 = nn.Conv2d(6, 8, 3, stride=2)
        self.fc = nn.Linear(8, 3)

    def forward(self, x):
        h = F.relu(self.bn(self.conv1(x)))       # (N, 6, 8, 8) from (N, 3, 10, 10)
        h = F.relu(self.conv2(h))                # (N, 8, 3, 3)
        return self.fc(F.adaptive_avg_pool2d(h, 1).flatten(1))


class TupleOut(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Linear(5, 3)
        self.classifier = nn.Linear(3, 2)

    def forward(self, x) -> Tuple[torch.Tensor, torch.Tensor]:
        f = torch.tanh(self.features(x))
        return self.classifier(f), f

    @torch.jit.export
    def batch_size(self, x) -> int:
        """A method whose result is not a tensor (dlkit refuses it by type)."""
        return x.shape[0]


class DictOut(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Linear(5, 4)

    def forward(self, x) -> Dict[str, torch.Tensor]:
        h = self.body(x)
        return {'logits': h, 'probs': torch.softmax(h, 1)}


def main():
    os.makedirs(OUT_DIR, exist_ok=True)
    torch.manual_seed(0)
    expected = {}

    def record(name, module, example, make, extra=None):
        module.eval()
        with torch.no_grad():
            if isinstance(module, TracedCNN):
                # Give batch norm non-trivial statistics so that eval mode matters.
                module.bn.running_mean.uniform_(-0.5, 0.5)
                module.bn.running_var.uniform_(0.5, 2.0)
            m = make(module, example)
            out = m(example)
        path = os.path.join(OUT_DIR, f'{name}.pt')
        torch.jit.save(m, path, _extra_files=extra or {})
        if isinstance(out, torch.Tensor):
            outputs = encode(out)
        elif isinstance(out, tuple):
            outputs = [encode(o) for o in out]
        else:
            outputs = {k: encode(v) for k, v in out.items()}
        expected[name] = {
            'file': f'{name}.pt',
            'input': encode(example),
            'output': outputs,
            'stateDict': {k: encode(v) for k, v in m.state_dict().items()},
            'parameters': [k for k, _ in m.named_parameters()],
        }
        print(f'{path}: {os.path.getsize(path)} bytes')

    script = lambda m, x: torch.jit.script(m)
    trace = lambda m, x: torch.jit.trace(m, x)
    record('scripted', ScriptedCNN(), rounded_input(3, 1, 8, 8, scale=50) + 100, script, {
        'classes.json': json.dumps(CLASSES),
        # dlkit's own options, read by loadTorchScript when the caller does not give them.
        'dlkit.json': json.dumps({'inputSize': [1, 8, 8], 'normalization': 'zscore', 'mean': [100.0], 'std': [50.0]}),
    })
    # 'output' is forward on the raw input; 'normalizedOutput' what predict gives (its dlkit.json normalization first).
    raw = expected['scripted']['input']
    x = torch.tensor(raw['data']).reshape(raw['shape'])
    m = torch.jit.load(os.path.join(OUT_DIR, 'scripted.pt')).eval()
    with torch.no_grad():
        expected['scripted']['normalizedOutput'] = encode(m((x - 100.0) / 50.0))
    record('traced', TracedCNN(), rounded_input(2, 3, 10, 10), trace)
    record('tuple', TupleOut(), rounded_input(4, 5), script)
    record('dict', DictOut(), rounded_input(4, 5), script)

    torch.save(ScriptedCNN().state_dict(), os.path.join(OUT_DIR, 'checkpoint.pt'))
    with open(os.path.join(OUT_DIR, 'expected.json'), 'w') as f:
        json.dump({'classes': CLASSES, 'torch': torch.__version__, 'modules': expected}, f)
    print(f"{os.path.join(OUT_DIR, 'expected.json')}: {os.path.getsize(os.path.join(OUT_DIR, 'expected.json'))} bytes")


if __name__ == '__main__':
    main()
