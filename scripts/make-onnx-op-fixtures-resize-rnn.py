#!/usr/bin/python3
"""Writes fixtures/onnx-ops-resize-rnn.json: cases for the ONNX op handlers that the ONNX conformance data
doesn't cover (it has forward single-direction RNNs only, and RoiAlign with a fixed sampling ratio).

    /usr/bin/python3 scripts/make-onnx-op-fixtures.py

Uses Debian's python3-torch / python3-torchvision:
  rnn/*       torch.nn.RNN / GRU / LSTM, bidirectional, with initial states and packed
              sequences of different lengths (ONNX's sequence_lens); weights converted to ONNX's
              layout ([dirs, gates * hidden, in], gate order LSTM i,o,f,c, GRU z,r,h; PyTorch's
              GRU is ONNX's with linear_before_reset 1)
  roialign/*  torchvision.ops.roi_align (avg pooling; aligned=True is ONNX's half_pixel, False its
              output_half_pixel), sampling_ratio 0 (the adaptive grid, a different grid per ROI)

Each case: name, op, attrs (ONNX attributes), inputs (ONNX order, null for omitted), outputs.
"""
import json
import os

import numpy as np
import torch
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence
import torchvision

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, 'fixtures', 'onnx-ops-resize-rnn.json')


def enc(t):
    if t is None:
        return None
    a = t.detach().numpy() if isinstance(t, torch.Tensor) else np.asarray(t)
    dtype = {np.dtype('float32'): 'float32', np.dtype('int64'): 'int64'}[a.dtype]
    data = [float(repr(np.float32(v))) if dtype == 'float32' else int(v) for v in a.reshape(-1)]
    return {'shape': list(a.shape), 'dtype': dtype, 'data': data}


def rnd(*shape):
    return torch.round(torch.randn(*shape) * 1000) / 1000


# PyTorch's gate blocks in ONNX's order.
ORDER = {'LSTM': [0, 3, 1, 2], 'GRU': [1, 0, 2], 'RNN': [0]}


def onnx_weights(m, kind, dirs):
    g = len(ORDER[kind])
    W, R, B = [], [], []
    for d in range(dirs):
        sfx = '_reverse' if d else ''
        def reorder(t):
            return torch.cat([c for i in ORDER[kind] for c in [t.chunk(g, 0)[i]]], 0)
        W.append(reorder(getattr(m, 'weight_ih_l0' + sfx)))
        R.append(reorder(getattr(m, 'weight_hh_l0' + sfx)))
        B.append(torch.cat([reorder(getattr(m, 'bias_ih_l0' + sfx)), reorder(getattr(m, 'bias_hh_l0' + sfx))]))
    return torch.stack(W), torch.stack(R), torch.stack(B)


def rnn_case(kind, nonlinearity=None):
    seq, batch, inp, hid = 5, 3, 4, 3
    lens = [5, 2, 4]
    kw = {'nonlinearity': nonlinearity} if nonlinearity else {}
    m = getattr(torch.nn, kind)(inp, hid, bidirectional=True, **kw)
    with torch.no_grad():
        for p in m.parameters():
            p.copy_(rnd(*p.shape) * 0.5)
    x = rnd(seq, batch, inp)
    h0 = rnd(2, batch, hid)
    c0 = rnd(2, batch, hid)
    packed = pack_padded_sequence(x, torch.tensor(lens), enforce_sorted=False)
    with torch.no_grad():
        if kind == 'LSTM':
            out, (hn, cn) = m(packed, (h0, c0))
        else:
            out, hn = m(packed, h0)
            cn = None
    y, _ = pad_packed_sequence(out, total_length=seq)  # [seq, batch, 2 * hid]
    y = y.reshape(seq, batch, 2, hid).permute(0, 2, 1, 3)  # ONNX's [seq, dirs, batch, hid]
    W, R, B = onnx_weights(m, kind, 2)
    attrs = {'hidden_size': hid, 'direction': 'bidirectional'}
    if kind == 'GRU':
        attrs['linear_before_reset'] = 1
    if kind == 'RNN':
        attrs['activations'] = ['Relu' if nonlinearity == 'relu' else 'Tanh'] * 2
    inputs = [x, W, R, B, torch.tensor(lens, dtype=torch.int64), h0]
    outputs = [y, hn]
    if kind == 'LSTM':
        inputs += [c0, None]
        outputs.append(cn)
    return {'name': f'rnn/{kind}{"-" + nonlinearity if nonlinearity else ""}-bidirectional-sequence_lens', 'op': kind, 'attrs': attrs,
            'inputs': [enc(t) for t in inputs], 'outputs': [enc(t) for t in outputs]}


def roialign_case(aligned):
    x = rnd(2, 3, 9, 11)
    rois = torch.tensor([[0.5, 1.0, 7.3, 6.2], [2.0, 2.0, 3.1, 2.4], [-1.0, 0.0, 12.0, 10.0], [4.0, 3.0, 4.0, 3.0]])
    idx = torch.tensor([0, 1, 1, 0], dtype=torch.int64)
    boxes = torch.cat([idx.float()[:, None], rois], 1)
    y = torchvision.ops.roi_align(x, boxes, output_size=(3, 2), spatial_scale=0.8, sampling_ratio=0, aligned=aligned)
    attrs = {'output_height': 3, 'output_width': 2, 'spatial_scale': 0.800000011920929, 'sampling_ratio': 0,
             'coordinate_transformation_mode': 'half_pixel' if aligned else 'output_half_pixel'}
    return {'name': f'roialign/avg-adaptive-{"half_pixel" if aligned else "output_half_pixel"}', 'op': 'RoiAlign', 'attrs': attrs,
            'inputs': [enc(x), enc(rois), enc(idx)], 'outputs': [enc(y)]}


def main():
    torch.manual_seed(0)
    cases = [rnn_case('LSTM'), rnn_case('GRU'), rnn_case('RNN', 'tanh'), rnn_case('RNN', 'relu'), roialign_case(True), roialign_case(False)]
    with open(OUT, 'w') as f:
        json.dump({'generator': 'scripts/make-onnx-op-fixtures.py', 'torch': torch.__version__, 'cases': cases}, f, separators=(',', ':'))
        f.write('\n')
    print(f'wrote {len(cases)} cases to {OUT} ({os.path.getsize(OUT)} bytes)')


if __name__ == '__main__':
    main()
