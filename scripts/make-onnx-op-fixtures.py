#!/usr/bin/python3
"""Writes fixtures/onnx-ops.json: PyTorch-made expectations for ONNX op handlers on the cases the
ONNX conformance data does not cover (one-sided and resized DFTs, complex STFT, int8 per-axis
quantization with ties, ScatterND max with duplicates, column-major MaxPool indices in 3-D,
Unique along an axis in first-occurrence order).

    /usr/bin/python3 scripts/make-onnx-op-fixtures.py

Each case: name, op, attrs (ONNX attributes), opset, inputs (list of {shape, dtype, data} or null
for an omitted optional input), outputs (list of {shape, dtype, data}), and torch (how the
expected values were made, for the reader).
"""
import json
import os

import numpy as np
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, 'fixtures', 'onnx-ops.json')
DTYPES = {torch.float32: 'float32', torch.float64: 'float64', torch.int64: 'int64', torch.int8: 'int8', torch.uint8: 'uint8'}


def enc(t):
    t = torch.as_tensor(t)
    data = t.reshape(-1).tolist()
    if t.dtype == torch.float32:
        data = [float(np.format_float_positional(np.float32(v), unique=True, trim='-')) for v in data]
    return {'shape': list(t.shape), 'dtype': DTYPES[t.dtype], 'data': data}


def onnx_complex(c):
    """A complex tensor as ONNX's [..., 2] float32."""
    return torch.view_as_real(c).to(torch.float32)


cases = []


def case(name, op, inputs, outputs, torch_expr, attrs=None, opset=17):
    cases.append({'name': name, 'op': op, 'opset': opset, 'attrs': attrs or {},
                  'inputs': [None if i is None else enc(i) for i in inputs],
                  'outputs': [enc(o) for o in outputs], 'torch': torch_expr})


torch.manual_seed(0)
x = torch.round(torch.randn(2, 8, 1) * 1000) / 1000
case('DFT/onesided', 'DFT', [x], [onnx_complex(torch.fft.rfft(x[..., 0].double(), dim=1))],
     'torch.fft.rfft(x[..., 0], dim=1)', {'axis': 1, 'onesided': 1})
case('DFT/dft_length-pads', 'DFT', [x, torch.tensor(11)], [onnx_complex(torch.fft.fft(x[..., 0].double(), n=11, dim=1))],
     'torch.fft.fft(x[..., 0], n=11, dim=1)', {'axis': 1})
case('DFT/dft_length-trims', 'DFT', [x, torch.tensor(5)], [onnx_complex(torch.fft.fft(x[..., 0].double(), n=5, dim=1))],
     'torch.fft.fft(x[..., 0], n=5, dim=1)', {'axis': 1})
spec = torch.fft.rfft(x[..., 0].double(), dim=1)
case('DFT/inverse-onesided', 'DFT', [onnx_complex(spec)], [torch.fft.irfft(spec, n=8, dim=1).unsqueeze(-1).float()],
     'torch.fft.irfft(X, n=8, dim=1)', {'axis': 1, 'inverse': 1, 'onesided': 1})
xc = torch.round(torch.randn(1, 3, 5, 2) * 1000) / 1000
case('DFT/complex-axis2', 'DFT', [xc], [onnx_complex(torch.fft.fft(torch.view_as_complex(xc.double()), dim=2))],
     'torch.fft.fft(view_as_complex(x), dim=2)', {'axis': 2})

sig = torch.round(torch.randn(2, 20, 2) * 1000) / 1000
win = torch.hann_window(8, periodic=True)
frames = torch.view_as_complex(sig.double()).unfold(1, 8, 3) * win.double()
case('STFT/complex-window', 'STFT', [sig, torch.tensor(3), win, torch.tensor(8)], [onnx_complex(torch.fft.fft(frames, dim=-1))],
     'fft(view_as_complex(x).unfold(1, 8, 3) * hann_window(8), dim=-1)', {'onesided': 0})

q = torch.tensor([[2.5, 3.5, -2.5, -3.5, 300.0], [1.25, -1.25, 0.75, -500.0, 10.0]])
scales = torch.tensor([1.0, 0.5])
zeros = torch.tensor([0, -3], dtype=torch.int8)
expected = torch.quantize_per_channel(q, scales.double(), zeros.long(), 0, torch.qint8).int_repr()
case('QuantizeLinear/int8-axis0-ties', 'QuantizeLinear', [q, scales, zeros], [expected],
     'torch.quantize_per_channel(x, scales, zeros, 0, torch.qint8).int_repr()', {'axis': 0}, opset=13)

data = torch.arange(12, dtype=torch.float32).reshape(3, 4)
idx = torch.tensor([[1], [1], [0]])
upd = torch.tensor([[5.0, 0, 9, 1], [2, 8, 0, 7], [3, 3, 3, 3]])
want = data.clone()
for i in range(idx.shape[0]):
    want[idx[i, 0]] = torch.maximum(want[idx[i, 0]], upd[i])
case('ScatterND/max-duplicates', 'ScatterND', [data, idx, upd], [want], 'max over every update in order', {'reduction': 'max'}, opset=18)

xp = torch.randn(1, 2, 4, 4, 4)
y, ind = torch.nn.functional.max_pool3d(xp, 2, 2, return_indices=True)
d_, h_, w_ = ind // 16, (ind // 4) % 4, ind % 4
col = d_ + h_ * 4 + w_ * 16 + torch.arange(2).reshape(1, 2, 1, 1, 1) * 64
case('MaxPool/3d-storage-order-1', 'MaxPool', [xp], [y, col], 'max_pool3d indices, column-major (first spatial axis fastest)',
     {'kernel_shape': [2, 2, 2], 'strides': [2, 2, 2], 'storage_order': 1}, opset=12)

u = torch.tensor([[3.0, 1, 3, 2, 1], [0, 5, 0, 4, 5]])
vals, first, inv, counts = np.unique(u.numpy(), return_index=True, return_inverse=True, return_counts=True, axis=1)
order = np.argsort(first)
rank = np.argsort(order)
case('Unique/axis1-unsorted', 'Unique', [u],
     [u[:, torch.tensor(first[order])], torch.tensor(first[order]), torch.tensor(rank[inv]), torch.tensor(counts[order])],
     'np.unique(x, axis=1), reordered by first occurrence', {'axis': 1, 'sorted': 0}, opset=11)

with open(OUT, 'w') as f:
    json.dump({'generator': 'scripts/make-onnx-op-fixtures.py', 'torch': torch.__version__, 'cases': cases}, f, separators=(',', ':'))
print(f'wrote {OUT}: {len(cases)} cases, {os.path.getsize(OUT)} bytes')
