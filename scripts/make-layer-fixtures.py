#!/usr/bin/python3
"""Writes fixtures/layers.json: every dlkit layer type against PyTorch, for test/nn/layers.test.ts.

    /usr/bin/python3 scripts/make-layer-fixtures.py

Uses Debian's python3-torch (1.13, the same libtorch dlkit links), single-threaded, seed 0.

Each case holds:
  name       unique, '<layer type>/<variant>'
  layer      the dlkit layer config (type, name 'layer', constructor options), as layerFromConfig takes it
  torch      the PyTorch expression that produced the output (evaluated below, verbatim), over the
             inputs x0, x1, ... and the parameters/buffers by their state-dict suffix
  training   whether the layer runs in training mode (batch norm)
  inputs     the input batch(es), one per input of the layer: {shape, data (flat, row-major)}
  params     the layer's parameters and buffers by dlkit's state-dict suffix (weight, bias,
             running_mean, running_var, num_batches_tracked, imageInput's mean/std [C,1,1]);
             the test loads them as 'layer.<suffix>'
  output     the expected output
  after      buffers after the call, when it updates them (batch norm in training)
  upstream   a fixed gradient for the output
  grads      {inputs: [...], params: {suffix: ...}}: d/d of sum(output * upstream)

Tensors are float32 unless they carry "dtype" (num_batches_tracked is int64). Inputs and
parameters are rounded to 3 decimals (exact in 8 digits), every float is written with 8
significant digits.
"""
import json
import os
import sys

import torch
import torch.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, 'fixtures', 'layers.json')
SEED = 0
LEARNABLE = ('weight', 'bias')


def encode(t):
    t = t.detach()
    if t.dtype == torch.int64:
        return {'shape': list(t.shape), 'dtype': 'int64', 'data': t.reshape(-1).tolist()}
    if t.dtype != torch.float32:
        raise TypeError(f'no fixture encoding for {t.dtype}')
    return {'shape': list(t.shape), 'data': [float(f'{v:.8g}') for v in t.reshape(-1).tolist()]}


def randn(*shape, scale=1.0):
    return (torch.round(torch.randn(shape, dtype=torch.float64) * scale * 1000) / 1000).float()


def rand(*shape, low=0.0, high=1.0):
    return (torch.round((torch.rand(shape, dtype=torch.float64) * (high - low) + low) * 1000) / 1000).float()


def distinct(*shape):
    """Shuffled values 0.01 apart: no ties for max pooling."""
    n = 1
    for d in shape:
        n *= d
    return ((torch.randperm(n, dtype=torch.float64) - n // 2) * 0.01).reshape(shape).float()


def pixels(*shape):
    return torch.randint(0, 256, shape).float()


CASES = []


def case(name, layer, src, inputs, params=None, training=False):
    """Evaluates `src` over x0, x1, ... and the params; records output, buffers after and gradients."""
    if any(c['name'] == name for c in CASES):
        raise ValueError(f'duplicate case {name}')
    params = params or {}
    xs = [x.clone().requires_grad_(True) for x in inputs]
    local = {f'x{i}': x for i, x in enumerate(xs)}
    learn = {}
    for k, v in params.items():
        local[k] = v.clone()
        if k in LEARNABLE:
            local[k].requires_grad_(True)
            learn[k] = local[k]
    out = eval(src, {'torch': torch, 'F': F, 'svm_couple': svm_couple, 'svm_votes': svm_votes, 'svm_rbf': svm_rbf}, local)
    upstream = randn(*out.shape)
    gs = torch.autograd.grad((out * upstream).sum(), xs + list(learn.values()))
    entry = {
        'name': name, 'layer': {'type': name.split('/')[0], 'name': 'layer', **layer}, 'torch': src, 'training': training,
        'inputs': [encode(x) for x in inputs], 'params': {k: encode(v) for k, v in params.items()},
        'output': encode(out), 'upstream': encode(upstream),
        'grads': {'inputs': [encode(g) for g in gs[:len(xs)]], 'params': {k: encode(g) for k, g in zip(learn, gs[len(xs):])}},
    }
    if training and 'running_mean' in params:
        # F.batch_norm updates the running statistics in place; nn.BatchNorm2d also counts the batch.
        entry['after'] = {'running_mean': encode(local['running_mean']), 'running_var': encode(local['running_var']),
                          'num_batches_tracked': encode(params['num_batches_tracked'] + 1)}
    CASES.append(entry)


def svm_rbf(z, sv, gamma):
    """exp(-gamma |z - s|^2) for every row of z and every support vector s."""
    return torch.exp(-gamma * torch.cdist(z.double(), sv.double()).pow(2)).float()


def svm_pairs(k):
    return [(i, j) for i in range(k) for j in range(i + 1, k)]


def svm_couple(dec, prob_a, prob_b, k):
    """LIBSVM's probabilities: Platt's sigmoid per pair, clamped, coupled by solving
    [Q 1; 1^T 0] [p; b] = [0; 1] (Wu, Lin & Weng 2004, method 2), per observation."""
    r = torch.clamp(1 / (1 + torch.exp(dec * prob_a + prob_b)), 1e-7, 1 - 1e-7)
    if k == 2:
        return torch.stack([r[:, 0], 1 - r[:, 0]], 1)
    n = dec.shape[0]
    R = [[None] * k for _ in range(k)]
    for m, (i, j) in enumerate(svm_pairs(k)):
        R[i][j], R[j][i] = r[:, m], 1 - r[:, m]
    A = torch.zeros(n, k + 1, k + 1, dtype=torch.float64)
    rows = []
    for t in range(k):
        row = []
        for j in range(k):
            if j == t:
                row.append(sum(R[s][t].double() ** 2 for s in range(k) if s != t))
            else:
                row.append(-(R[j][t] * R[t][j]).double())
        rows.append(torch.stack(row + [torch.ones(n, dtype=torch.float64)], 1))
    rows.append(torch.cat([torch.ones(n, k, dtype=torch.float64), torch.zeros(n, 1, dtype=torch.float64)], 1))
    A = torch.stack(rows, 1)
    rhs = torch.zeros(n, k + 1, 1, dtype=torch.float64)
    rhs[:, k, 0] = 1
    return torch.linalg.solve(A, rhs)[:, :k, 0].float()


def svm_votes(dec, k):
    """scikit-learn's 'ovr' decision function from one-vs-one values: votes + conf / (3 (|conf| + 1))."""
    votes = [torch.zeros(dec.shape[0]) for _ in range(k)]
    conf = [torch.zeros(dec.shape[0]) for _ in range(k)]
    for m, (i, j) in enumerate(svm_pairs(k)):
        win = (dec[:, m] > 0).float()
        votes[i] = votes[i] + win
        votes[j] = votes[j] + 1 - win
        conf[i] = conf[i] + dec[:, m]
        conf[j] = conf[j] - dec[:, m]
    v, c = torch.stack(votes, 1), torch.stack(conf, 1)
    return v + c / (3 * (c.abs() + 1))


def same_pads(n, k, s, d=1):
    """dlkit's (TensorFlow/MATLAB) 'same': total = max((ceil(n/s)-1)*s + k_eff - n, 0), before = floor(total/2)."""
    k_eff = (k - 1) * d + 1
    total = max((-(-n // s) - 1) * s + k_eff - n, 0)
    return total // 2, total - total // 2


def build():
    # ---- input layers ----
    x = pixels(2, 3, 4, 4)
    mean, std = torch.tensor([[[120.5]], [[110.25]], [[99.75]]]), torch.tensor([[[60.5]], [[58.25]], [[61.0]]])
    case('imageInput/zscore', {'inputSize': [3, 4, 4], 'normalization': 'zscore', 'mean': mean.reshape(-1).tolist(), 'std': std.reshape(-1).tolist()},
         '(x0 - mean) / std', [x], {'mean': mean, 'std': std})
    case('imageInput/zerocenter', {'inputSize': [3, 4, 4], 'normalization': 'zerocenter'}, 'x0 - mean', [x], {'mean': mean})
    case('imageInput/rescale-zero-one', {'inputSize': [3, 4, 4], 'normalization': 'rescale-zero-one'}, 'x0 / 255', [x])
    case('imageInput/none', {'inputSize': [3, 4, 4], 'normalization': 'none'}, 'x0.clone()', [x])
    case('featureInput/basic', {'inputSize': 5}, 'x0.clone()', [randn(3, 5)])
    case('sequenceInput/basic', {'inputSize': [2, 7]}, 'x0.clone()', [randn(3, 2, 7)])

    # ---- convolutions ----
    x = randn(2, 4, 9)
    case('conv1d/basic', {'filters': 5, 'kernelSize': 3}, 'F.conv1d(x0, weight, bias)',
         [x], {'weight': randn(5, 4, 3, scale=0.3), 'bias': randn(5)})
    case('conv1d/stride2-pad2-dilation2', {'filters': 3, 'kernelSize': 3, 'stride': 2, 'padding': 2, 'dilation': 2},
         'F.conv1d(x0, weight, bias, stride=2, padding=2, dilation=2)', [x], {'weight': randn(3, 4, 3, scale=0.3), 'bias': randn(3)})
    assert same_pads(9, 4, 2) == (1, 2)
    case('conv1d/same-stride2', {'filters': 3, 'kernelSize': 4, 'stride': 2, 'padding': 'same'},
         'F.conv1d(F.pad(x0, (1, 2)), weight, bias, stride=2)', [x], {'weight': randn(3, 4, 4, scale=0.3), 'bias': randn(3)})
    case('conv1d/groups2-nobias', {'filters': 6, 'kernelSize': 3, 'groups': 2, 'bias': False},
         'F.conv1d(x0, weight, None, groups=2)', [x], {'weight': randn(6, 2, 3, scale=0.3)})

    x = randn(2, 3, 6, 6)
    case('conv2d/basic-pad1', {'filters': 4, 'kernelSize': 3, 'padding': 1}, 'F.conv2d(x0, weight, bias, padding=1)',
         [x], {'weight': randn(4, 3, 3, 3, scale=0.3), 'bias': randn(4)})
    assert same_pads(6, 3, 2) == (0, 1)
    case('conv2d/same-stride2-even', {'filters': 4, 'kernelSize': 3, 'stride': 2, 'padding': 'same'},
         'F.conv2d(F.pad(x0, (0, 1, 0, 1)), weight, bias, stride=2)', [x], {'weight': randn(4, 3, 3, 3, scale=0.3), 'bias': randn(4)})
    assert same_pads(7, 4, 2) == (1, 2) and same_pads(5, 3, 2) == (1, 1)
    case('conv2d/same-stride2-odd-rect', {'filters': 2, 'kernelSize': [4, 3], 'stride': 2, 'padding': 'same'},
         'F.conv2d(F.pad(x0, (1, 1, 1, 2)), weight, bias, stride=2)', [randn(2, 3, 7, 5)],
         {'weight': randn(2, 3, 4, 3, scale=0.3), 'bias': randn(2)})
    assert same_pads(6, 3, 1, 2) == (2, 2)
    case('conv2d/same-dilation2', {'filters': 3, 'kernelSize': 3, 'dilation': 2, 'padding': 'same'},
         'F.conv2d(x0, weight, bias, padding=2, dilation=2)', [x], {'weight': randn(3, 3, 3, 3, scale=0.3), 'bias': randn(3)})
    case('conv2d/groups2-nobias', {'filters': 6, 'kernelSize': 3, 'groups': 2, 'bias': False},
         'F.conv2d(x0, weight, None, groups=2)', [randn(2, 4, 5, 5)], {'weight': randn(6, 2, 3, 3, scale=0.3)})
    case('conv2d/rect-stride-pad-pairs', {'filters': 3, 'kernelSize': [2, 3], 'stride': [1, 2], 'padding': [1, 0]},
         'F.conv2d(x0, weight, bias, stride=[1, 2], padding=[1, 0])', [x], {'weight': randn(3, 3, 2, 3, scale=0.3), 'bias': randn(3)})

    x = randn(2, 4, 3, 3)
    case('convTranspose2d/stride2-pad1-outputPadding1', {'filters': 3, 'kernelSize': 3, 'stride': 2, 'padding': 1, 'outputPadding': 1},
         'F.conv_transpose2d(x0, weight, bias, stride=2, padding=1, output_padding=1)', [x],
         {'weight': randn(4, 3, 3, 3, scale=0.3), 'bias': randn(3)})
    case('convTranspose2d/groups2-dilation2-nobias', {'filters': 4, 'kernelSize': 2, 'stride': [1, 2], 'groups': 2, 'dilation': 2, 'bias': False},
         'F.conv_transpose2d(x0, weight, None, stride=[1, 2], groups=2, dilation=2)', [x], {'weight': randn(4, 2, 2, 2, scale=0.3)})

    # ---- fully connected ----
    case('fullyConnected/3d-input', {'outputSize': 5}, 'F.linear(x0.flatten(1), weight, bias)',
         [randn(2, 3, 2, 2)], {'weight': randn(5, 12, scale=0.3), 'bias': randn(5)})
    case('fullyConnected/1d-input', {'outputSize': 4}, 'F.linear(x0, weight, bias)', [randn(3, 6)], {'weight': randn(4, 6, scale=0.3), 'bias': randn(4)})
    case('fullyConnected/nobias', {'outputSize': 2, 'bias': False}, 'F.linear(x0, weight)', [randn(3, 6)], {'weight': randn(2, 6, scale=0.3)})

    # ---- normalization ----
    def bn(c):
        return {'weight': rand(c, low=0.5, high=1.5), 'bias': randn(c, scale=0.5), 'running_mean': randn(c, scale=0.2),
                'running_var': rand(c, low=0.5, high=2.0), 'num_batches_tracked': torch.tensor(3)}
    x = randn(4, 3, 3, 3, scale=2.0) + 0.5
    case('batchNorm/training', {'epsilon': 1e-3, 'momentum': 0.2},
         'F.batch_norm(x0, running_mean, running_var, weight, bias, training=True, momentum=0.2, eps=1e-3)', [x], bn(3), training=True)
    case('batchNorm/eval', {}, 'F.batch_norm(x0, running_mean, running_var, weight, bias, training=False, eps=1e-5)', [x], bn(3))
    case('batchNorm/training-features', {}, 'F.batch_norm(x0, running_mean, running_var, weight, bias, training=True, momentum=0.1, eps=1e-5)',
         [randn(5, 4)], bn(4), training=True)

    case('layerNorm/whole-observation', {}, 'F.layer_norm(x0, [3, 2, 3], weight, bias, eps=1e-5)', [randn(2, 3, 2, 3)],
         {'weight': rand(3, 2, 3, low=0.5, high=1.5), 'bias': randn(3, 2, 3, scale=0.5)})
    case('layerNorm/last-dim', {'normalizedShape': [4], 'epsilon': 1e-3}, 'F.layer_norm(x0, [4], weight, bias, eps=1e-3)', [randn(2, 3, 2, 4)],
         {'weight': rand(4, low=0.5, high=1.5), 'bias': randn(4, scale=0.5)})
    case('layerNorm/features', {}, 'F.layer_norm(x0, [6], weight, bias)', [randn(3, 6)],
         {'weight': rand(6, low=0.5, high=1.5), 'bias': randn(6, scale=0.5)})

    x = randn(2, 6, 3, 3)
    case('localResponseNorm/size3', {'size': 3, 'alpha': 0.2, 'beta': 0.75, 'k': 2},
         'F.local_response_norm(x0, 3, alpha=0.2, beta=0.75, k=2.0)', [x])
    case('localResponseNorm/even-size4', {'size': 4, 'alpha': 0.5, 'beta': 0.6, 'k': 1.5},
         'F.local_response_norm(x0, 4, alpha=0.5, beta=0.6, k=1.5)', [x])
    case('localResponseNorm/sequence', {'size': 2, 'alpha': 0.3, 'beta': 1.0, 'k': 1},
         'F.local_response_norm(x0, 2, alpha=0.3, beta=1.0, k=1.0)', [randn(2, 5, 6)])

    # ---- activations ----
    img, feat = randn(2, 3, 4, 4, scale=2.0), randn(3, 7, scale=2.0)
    case('relu/image', {}, 'F.relu(x0)', [img])
    case('leakyRelu/scale0.2', {'scale': 0.2}, 'F.leaky_relu(x0, 0.2)', [feat])
    case('elu/alpha0.7', {'alpha': 0.7}, 'F.elu(x0, 0.7)', [img])
    case('gelu/exact', {'approximate': 'none'}, "F.gelu(x0, approximate='none')", [feat])
    case('gelu/tanh', {'approximate': 'tanh'}, "F.gelu(x0, approximate='tanh')", [img])
    case('tanh/image', {}, 'torch.tanh(x0)', [img])
    case('sigmoid/features', {}, 'torch.sigmoid(x0)', [feat])
    case('softmax/features', {}, 'F.softmax(x0, dim=1)', [feat])
    case('softmax/image-channels', {}, 'F.softmax(x0, dim=1)', [randn(2, 4, 2, 3, scale=2.0)])
    case('dropout/eval', {'probability': 0.3}, 'F.dropout(x0, 0.3, training=False)', [img])

    # ---- pooling (distinct values: no ties) ----
    x = distinct(2, 3, 6, 6)
    case('maxPool2d/2', {'poolSize': 2}, 'F.max_pool2d(x0, 2)', [x])
    case('maxPool2d/3-stride2-pad1-ceil', {'poolSize': 3, 'stride': 2, 'padding': 1, 'ceilMode': True},
         'F.max_pool2d(x0, 3, stride=2, padding=1, ceil_mode=True)', [x])
    case('maxPool2d/rect-overlapping', {'poolSize': [2, 3], 'stride': [2, 1]}, 'F.max_pool2d(x0, [2, 3], stride=[2, 1])', [x])
    case('avgPool2d/2', {'poolSize': 2}, 'F.avg_pool2d(x0, 2)', [x])
    case('avgPool2d/3-stride2-pad1-ceil', {'poolSize': 3, 'stride': 2, 'padding': 1, 'ceilMode': True},
         'F.avg_pool2d(x0, 3, stride=2, padding=1, ceil_mode=True)', [x])
    x = distinct(2, 3, 11)
    case('maxPool1d/3-stride2-pad1', {'poolSize': 3, 'stride': 2, 'padding': 1}, 'F.max_pool1d(x0, 3, stride=2, padding=1)', [x])
    case('maxPool1d/2-ceil', {'poolSize': 2, 'ceilMode': True}, 'F.max_pool1d(x0, 2, ceil_mode=True)', [x])
    case('avgPool1d/3-stride2-pad1-ceil', {'poolSize': 3, 'stride': 2, 'padding': 1, 'ceilMode': True},
         'F.avg_pool1d(x0, 3, stride=2, padding=1, ceil_mode=True)', [x])
    case('globalAvgPool2d/basic', {}, 'F.adaptive_avg_pool2d(x0, 1)', [randn(2, 3, 4, 5)])

    # ---- reshaping and joining ----
    case('flatten/image', {}, 'x0.flatten(1)', [randn(2, 3, 2, 3)])
    case('concatenation/channels', {}, 'torch.cat([x0, x1], 1)', [randn(2, 2, 3, 3), randn(2, 3, 3, 3)])
    case('concatenation/width-3-inputs', {'numInputs': 3, 'dim': 3}, 'torch.cat([x0, x1, x2], 3)',
         [randn(2, 2, 3, 1), randn(2, 2, 3, 2), randn(2, 2, 3, 3)])
    case('concatenation/features', {}, 'torch.cat([x0, x1], 1)', [randn(3, 4), randn(3, 2)])
    case('addition/image', {}, 'x0 + x1', [randn(2, 3, 3, 3), randn(2, 3, 3, 3)])
    case('addition/features-3-inputs', {'numInputs': 3}, 'x0 + x1 + x2', [randn(3, 4), randn(3, 4), randn(3, 4)])

    # ---- inputs added later (kept last so earlier cases keep their random draws) ----
    case('tensorInput/batched', {'inputSize': [2, 3]}, 'x0.clone()', [randn(4, 2, 3)])

    # ---- layers Caffe import needs (appended: the cases above keep their random draws) ----
    mean = torch.tensor([[[104.0]], [[117.0]], [[123.0]]])
    case('imageInput/caffe-bgr-scale', {'inputSize': [3, 4, 4], 'normalization': 'zerocenter', 'mean': [104.0, 117.0, 123.0], 'scale': 0.017, 'bgr': True},
         '(x0.flip(1) - mean) * 0.017', [pixels(2, 3, 4, 4)], {'mean': mean})
    case('batchNorm/eval-no-affine', {'affine': False}, 'F.batch_norm(x0, running_mean, running_var, None, None, training=False, eps=1e-5)',
         [randn(2, 3, 3, 3)], {k: v for k, v in bn(3).items() if k not in LEARNABLE})
    x = randn(2, 6, 4, 5)
    # An independent spelling of the within-channel window sum: a depthwise 3x3 box filter over the zero-padded squares.
    case('localResponseNorm/within', {'size': 3, 'alpha': 0.5, 'beta': 0.75, 'k': 1, 'region': 'within'},
         'x0 / (1 + 0.5 / 9 * F.conv2d(F.pad(x0 * x0, (1, 1, 1, 1)), torch.ones(6, 1, 3, 3), groups=6)) ** 0.75', [x])
    case('scale/image-bias', {'bias': True}, 'x0 * weight.view(1, -1, 1, 1) + bias.view(1, -1, 1, 1)', [randn(2, 3, 3, 4)],
         {'weight': rand(3, low=0.5, high=1.5), 'bias': randn(3, scale=0.5)})
    case('scale/features', {}, 'x0 * weight', [randn(3, 5)], {'weight': randn(5)})
    case('bias/image', {}, 'x0 + bias.view(1, -1, 1, 1)', [randn(2, 3, 3, 4)], {'bias': randn(3)})
    case('elementwise/sum-coefficients', {'operation': 'sum', 'numInputs': 3, 'coefficients': [0.5, -1.5, 2.0]}, '0.5 * x0 - 1.5 * x1 + 2.0 * x2',
         [randn(2, 3, 2, 2), randn(2, 3, 2, 2), randn(2, 3, 2, 2)])
    case('elementwise/prod', {'operation': 'prod'}, 'x0 * x1', [randn(3, 4), randn(3, 4)])
    case('elementwise/max', {'operation': 'max', 'numInputs': 3}, 'torch.maximum(torch.maximum(x0, x1), x2)',
         [distinct(2, 2, 3, 3), distinct(2, 2, 3, 3) + 0.005, distinct(2, 2, 3, 3) - 0.0025])
    case('power/square-shift-scale', {'power': 2, 'scale': 0.5, 'shift': 1}, '(1 + 0.5 * x0) ** 2', [randn(2, 3, 3, 3)])
    case('power/sqrt', {'power': 0.5, 'scale': 0.3, 'shift': 2}, '(2 + 0.3 * x0) ** 0.5', [rand(3, 4)])
    case('reshape/image-to-sequence', {'shape': [6, 6]}, 'x0.reshape(2, 6, 6)', [randn(2, 3, 3, 4)])
    case('reshape/features-inferred', {'shape': [-1, 2]}, 'x0.reshape(3, 4, 2)', [randn(3, 8)])
    case('slice/channels', {'dim': 1, 'start': 1, 'end': 3}, 'x0[:, 1:3]', [randn(2, 4, 3, 3)])
    case('slice/width', {'dim': 3, 'start': 0, 'end': 2}, 'x0[:, :, :, 0:2]', [randn(2, 2, 3, 4)])
    # ---- subsampling with zero channels added (ResNet's option-A shortcut) ----
    case('subsamplePad2d/resnet-option-a', {'stride': 2, 'padChannels': [2, 2]},
         'F.pad(x0[:, :, ::2, ::2], (0, 0, 0, 0, 2, 2))', [randn(2, 3, 5, 6)])
    case('subsamplePad2d/uneven', {'stride': [1, 3], 'padChannels': [0, 1]},
         'F.pad(x0[:, :, :, ::3], (0, 0, 0, 0, 0, 1))', [randn(2, 2, 4, 7)])
    # ---- a trained SVM's decision function (src/nn/layers/svm.ts): the coupling solved here as
    # LIBSVM's bordered system, not the layer's (Q + 11^T) form ----
    case('svmClassifier/linear-probabilities', {'kernel': 'linear', 'numClasses': 3},
         'svm_couple(((x0 - mean) / scale) @ coef.t() + intercept, prob_a, prob_b, 3)', [randn(4, 5)],
         {'mean': randn(5, scale=0.3), 'scale': rand(5, low=0.5, high=2), 'coef': randn(3, 5, scale=0.5),
          'intercept': randn(3, scale=0.3), 'prob_a': rand(3, low=-3, high=-0.5), 'prob_b': randn(3, scale=0.2)})
    case('svmClassifier/rbf-scores-avgpool', {'kernel': 'rbf', 'gamma': 0.4, 'numClasses': 4, 'numSupportVectors': 6, 'pooling': 'avg', 'output': 'scores'},
         'svm_votes(svm_rbf((x0.mean((2, 3)) - mean) / scale, support_vectors, 0.4) @ dual_coef.t() + intercept, 4)', [randn(3, 3, 2, 3)],
         {'mean': randn(3, scale=0.2), 'scale': rand(3, low=0.5, high=1.5), 'support_vectors': randn(6, 3),
          'dual_coef': randn(6, 6), 'intercept': randn(6, scale=0.3)})
    case('svmClassifier/rbf-probabilities-maxpool-2class', {'kernel': 'rbf', 'gamma': 0.25, 'numClasses': 2, 'numSupportVectors': 4, 'pooling': 'max'},
         'svm_couple(svm_rbf((x0.amax((2, 3)) - mean) / scale, support_vectors, 0.25) @ dual_coef.t() + intercept, prob_a, prob_b, 2)', [distinct(3, 2, 2, 2)],
         {'mean': randn(2, scale=0.2), 'scale': rand(2, low=0.5, high=1.5), 'support_vectors': randn(4, 2),
          'dual_coef': randn(1, 4), 'intercept': randn(1, scale=0.3), 'prob_a': rand(1, low=-3, high=-0.5), 'prob_b': randn(1, scale=0.2)})
    case('svmClassifier/rbf-probabilities-4class', {'kernel': 'rbf', 'gamma': 0.2, 'numClasses': 4, 'numSupportVectors': 5},
         'svm_couple(svm_rbf((x0 - mean) / scale, support_vectors, 0.2) @ dual_coef.t() + intercept, prob_a, prob_b, 4)', [randn(5, 4)],
         {'mean': randn(4, scale=0.2), 'scale': rand(4, low=0.5, high=1.5), 'support_vectors': randn(5, 4),
          'dual_coef': randn(6, 5), 'intercept': randn(6, scale=0.3), 'prob_a': rand(6, low=-3, high=-0.5), 'prob_b': randn(6, scale=0.2)})
    # ---- layers the pretrained zoo needs (appended: the cases above keep their random draws) ----
    # Values end in 5 in the fourth decimal: none sits on a kink (0 or the ceiling).
    case('clippedRelu/relu6', {'ceiling': 6}, 'F.relu6(x0)', [randn(2, 3, 4, 4, scale=4.0) + 0.0005])
    case('clippedRelu/features', {'ceiling': 2.5}, 'F.hardtanh(x0, 0.0, 2.5)', [randn(3, 7, scale=2.0) + 0.0005])
    x = randn(2, 3, 7, 5)
    case('adaptiveAvgPool2d/uneven-cells', {'outputSize': [3, 2]}, 'F.adaptive_avg_pool2d(x0, [3, 2])', [x])
    case('adaptiveAvgPool2d/larger-than-input', {'outputSize': 6}, 'F.adaptive_avg_pool2d(x0, 6)', [randn(2, 2, 3, 4)])
    case('adaptiveAvgPool2d/divides', {'outputSize': [2, 2]}, 'F.adaptive_avg_pool2d(x0, 2)', [randn(2, 3, 4, 6)])
    # GoogLeNet and SqueezeNet: ceil mode without padding, and stride 1 with padding (inception's pool branch).
    x = distinct(2, 3, 8, 8)
    case('maxPool2d/3-stride2-ceil-nopad', {'poolSize': 3, 'stride': 2, 'ceilMode': True}, 'F.max_pool2d(x0, 3, stride=2, ceil_mode=True)', [x])
    case('maxPool2d/3-stride1-pad1-ceil', {'poolSize': 3, 'stride': 1, 'padding': 1, 'ceilMode': True},
         'F.max_pool2d(x0, 3, stride=1, padding=1, ceil_mode=True)', [x])


def main():
    if torch.__version__.split('.')[:2] != ['1', '13']:
        print(f'warning: expected torch 1.13 (the libtorch dlkit links), got {torch.__version__}', file=sys.stderr)
    torch.manual_seed(SEED)
    torch.set_num_threads(1)
    build()
    head = {'generator': 'scripts/make-layer-fixtures.py', 'torch': torch.__version__, 'seed': SEED,
            'description': 'every dlkit layer type against PyTorch: output, updated buffers, gradients of inputs and parameters'}
    body = ',\n'.join(json.dumps(c, separators=(',', ':'), allow_nan=False) for c in CASES)
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, 'w') as f:
        f.write(json.dumps(head, separators=(',', ':'))[:-1] + ',"cases":[\n' + body + '\n]}\n')
    print(f'{OUT}: {len(CASES)} cases, {os.path.getsize(OUT) / 1024:.0f} KiB')


if __name__ == '__main__':
    main()
