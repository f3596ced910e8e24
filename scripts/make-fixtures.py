#!/usr/bin/python3
"""Writes the reference fixtures dlkit's numeric tests compare against.

    /usr/bin/python3 scripts/make-fixtures.py        (npm run fixtures)

Uses Debian's python3-torch (1.13, the same libtorch dlkit links). Writes
  fixtures/functional.json   every op of dlkit.functional, with its options
  fixtures/tensor-ops.json   Tensor methods and creation-side ops (matmul, reductions, indexing, ...)

Each case holds:
  name       unique, '<fn>/<variant>'
  fn         the dlkit function or method the test table calls
  torch      the PyTorch expression that produced the numbers (evaluated below, verbatim)
  options    the dlkit options for the call, with dlkit's (camelCase) names
  inputs     named tensors {shape, dtype, data (flat, row-major)}
  outputs    named results: 'out' for one tensor, 'values'/'indices' for named tuples,
             '0', '1', ... for lists, plus state a call updates in place (batchNorm's running stats)
  upstream   a fixed random gradient for every differentiable output
  grads      d/d input of sum(output * upstream) for every floating input PyTorch differentiates
  notDifferentiable   floating inputs PyTorch refuses to differentiate (class weights, running stats)

float32 values are written as the shortest decimal that reads back to the same float32, so
JSON -> Float32Array is exact. Inputs are rounded to 3 decimals to keep the files small.
"""
import json
import os
import sys
import warnings

import numpy as np
import torch
import torch.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT_DIR = os.path.join(ROOT, 'fixtures')
SEED = 0

DTYPES = {torch.float32: 'float32', torch.float64: 'float64', torch.int64: 'int64', torch.bool: 'bool'}


def f32(v):
    """The shortest decimal that reads back as the same float32."""
    return float(str(np.float32(v)))


def encode(t):
    t = t.detach()
    if t.dtype not in DTYPES:
        raise TypeError(f'no fixture dtype for {t.dtype}')
    flat = t.reshape(-1).tolist()
    if t.dtype == torch.float32:
        flat = [f32(v) for v in flat]
    return {'shape': list(t.shape), 'dtype': DTYPES[t.dtype], 'data': flat}


# ---- inputs: small, seeded, rounded to 3 decimals (exact in JSON) ----

def randn(*shape, scale=1.0, dtype=torch.float32):
    return (torch.round(torch.randn(tuple(shape), dtype=torch.float64) * scale * 1000) / 1000).to(dtype)


def rand(*shape, low=0.0, high=1.0, dtype=torch.float32):
    return (torch.round((torch.rand(tuple(shape), dtype=torch.float64) * (high - low) + low) * 1000) / 1000).to(dtype)


def distinct(*shape, dtype=torch.float32):
    """Shuffled, pairwise distinct values 0.01 apart (no ties for max, sort, pooling)."""
    n = int(np.prod(shape))
    return ((torch.randperm(n, dtype=torch.float64) - n // 2) * 0.01).reshape(shape).to(dtype)


def randint(low, high, *shape):
    return torch.randint(low, high, shape, dtype=torch.int64)


def named_outputs(out):
    if isinstance(out, torch.Tensor):
        return {'out': out}
    fields = getattr(type(out), '__match_args__', None) or getattr(out, '_fields', None)
    if fields:  # torch.return_types.max etc. (structseqs: values, indices)
        return {k: getattr(out, k) for k in fields}
    if isinstance(out, (tuple, list)):
        return {str(i): t for i, t in enumerate(out)}
    raise TypeError(f'cannot name outputs of type {type(out)}')


class Suite:
    def __init__(self, file, description):
        self.file = file
        self.description = description
        self.cases = []

    def case(self, name, fn, src, inputs, options=None, state=None):
        """Evaluates `src` (a PyTorch expression over the named inputs) and records the case.

        state: {output name: input name} for inputs the call updates in place (running stats).
        """
        if any(c['name'] == name for c in self.cases):
            raise ValueError(f'duplicate case {name}')
        encoded_inputs = {k: encode(v) for k, v in inputs.items()}  # before any in-place update
        floating = [k for k, v in inputs.items() if v.is_floating_point()]

        def run(grad_names):
            local = {k: v.clone().requires_grad_(k in grad_names) for k, v in inputs.items()}
            out = named_outputs(eval(src, {'torch': torch, 'F': F}, local))
            return local, out

        # Which floating inputs PyTorch differentiates (class weights and running stats it does not).
        differentiable, refused = [], []
        for k in floating:
            try:
                local, out = run({k})
                diff_outs = [o for o in out.values() if o.requires_grad]
                if diff_outs:
                    torch.autograd.grad(sum(o.sum() for o in diff_outs), [local[k]], allow_unused=False)
                    differentiable.append(k)
            except RuntimeError as e:
                if 'not differentiable' not in str(e) and 'not implemented' not in str(e):
                    raise
                refused.append(k)

        local, out = run(set(differentiable))
        for out_name, input_name in (state or {}).items():
            out[out_name] = local[input_name]
        upstream = {k: randn(*o.shape, dtype=o.dtype) for k, o in out.items() if o.requires_grad}
        grads = {}
        if upstream and differentiable:
            total = sum((out[k] * u).sum() for k, u in upstream.items())
            gs = torch.autograd.grad(total, [local[k] for k in differentiable])
            grads = {k: encode(g) for k, g in zip(differentiable, gs)}

        case = {'name': name, 'fn': fn, 'torch': src, 'options': options or {}, 'inputs': encoded_inputs,
                'outputs': {k: encode(o) for k, o in out.items()},
                'upstream': {k: encode(u) for k, u in upstream.items()}, 'grads': grads}
        if refused:
            case['notDifferentiable'] = refused
        self.cases.append(case)

    def write(self):
        os.makedirs(OUT_DIR, exist_ok=True)
        path = os.path.join(OUT_DIR, self.file)
        head = {'generator': 'scripts/make-fixtures.py', 'torch': torch.__version__, 'seed': SEED,
                'description': self.description}
        body = ',\n'.join(json.dumps(c, separators=(',', ':'), allow_nan=False) for c in self.cases)
        with open(path, 'w') as f:
            f.write(json.dumps(head, separators=(',', ':'))[:-1] + ',"cases":[\n' + body + '\n]}\n')
        print(f'{path}: {len(self.cases)} cases, {os.path.getsize(path) / 1024:.0f} KiB')


# ---- dlkit.functional ---------------------------------------------------------

def functional():
    s = Suite('functional.json', 'dlkit.functional against torch.nn.functional')
    c = s.case

    # conv1d: input (N, C, L), weight (out, C/groups, k)
    x = randn(2, 4, 9)
    c('conv1d/basic', 'conv1d', 'F.conv1d(input, weight, bias)',
      dict(input=x, weight=randn(6, 4, 3, scale=0.3), bias=randn(6)))
    c('conv1d/stride2-pad1-dilation2', 'conv1d', 'F.conv1d(input, weight, bias, stride=2, padding=1, dilation=2)',
      dict(input=x, weight=randn(6, 4, 3, scale=0.3), bias=randn(6)), {'stride': 2, 'padding': 1, 'dilation': 2})
    c('conv1d/same-even-kernel-nobias', 'conv1d', "F.conv1d(input, weight, None, padding='same')",
      dict(input=x, weight=randn(5, 4, 4, scale=0.3)), {'padding': 'same'})
    c('conv1d/groups2-valid', 'conv1d', "F.conv1d(input, weight, bias, padding='valid', groups=2)",
      dict(input=x, weight=randn(6, 2, 3, scale=0.3), bias=randn(6)), {'padding': 'valid', 'groups': 2})

    # conv2d: input (N, C, H, W), weight (out, C/groups, kH, kW)
    x = randn(2, 3, 6, 6)
    c('conv2d/basic', 'conv2d', 'F.conv2d(input, weight, bias)',
      dict(input=x, weight=randn(4, 3, 3, 3, scale=0.3), bias=randn(4)))
    c('conv2d/stride2-pad1', 'conv2d', 'F.conv2d(input, weight, bias, stride=2, padding=1)',
      dict(input=x, weight=randn(4, 3, 3, 3, scale=0.3), bias=randn(4)), {'stride': 2, 'padding': 1})
    c('conv2d/stride-padding-pairs', 'conv2d', 'F.conv2d(input, weight, bias, stride=[2, 1], padding=[0, 2])',
      dict(input=x, weight=randn(4, 3, 3, 2, scale=0.3), bias=randn(4)), {'stride': [2, 1], 'padding': [0, 2]})
    c('conv2d/same-dilation2-nobias', 'conv2d', "F.conv2d(input, weight, None, padding='same', dilation=2)",
      dict(input=x, weight=randn(4, 3, 3, 3, scale=0.3)), {'padding': 'same', 'dilation': 2})
    c('conv2d/same-even-kernel', 'conv2d', "F.conv2d(input, weight, bias, padding='same')",
      dict(input=x, weight=randn(2, 3, 2, 4, scale=0.3), bias=randn(2)), {'padding': 'same'})
    c('conv2d/groups3-nobias', 'conv2d', 'F.conv2d(input, weight, None, groups=3, padding=1)',
      dict(input=randn(1, 6, 5, 5), weight=randn(6, 2, 3, 3, scale=0.3)), {'groups': 3, 'padding': 1})
    c('conv2d/depthwise', 'conv2d', 'F.conv2d(input, weight, bias, groups=4)',
      dict(input=randn(2, 4, 5, 5), weight=randn(8, 1, 3, 3, scale=0.3), bias=randn(8)), {'groups': 4})

    # convTranspose2d: input (N, C, H, W), weight (C, out/groups, kH, kW)
    x = randn(2, 4, 3, 3)
    c('convTranspose2d/basic', 'convTranspose2d', 'F.conv_transpose2d(input, weight, bias)',
      dict(input=x, weight=randn(4, 3, 3, 3, scale=0.3), bias=randn(3)))
    c('convTranspose2d/stride2-pad1-outputPadding1', 'convTranspose2d',
      'F.conv_transpose2d(input, weight, bias, stride=2, padding=1, output_padding=1)',
      dict(input=x, weight=randn(4, 3, 3, 3, scale=0.3), bias=randn(3)), {'stride': 2, 'padding': 1, 'outputPadding': 1})
    c('convTranspose2d/groups2-dilation2-nobias', 'convTranspose2d',
      'F.conv_transpose2d(input, weight, None, stride=[1, 2], groups=2, dilation=2)',
      dict(input=x, weight=randn(4, 2, 2, 3, scale=0.3)), {'stride': [1, 2], 'groups': 2, 'dilation': 2})

    # pooling (distinct values: no ties)
    x = distinct(2, 3, 11)
    c('maxPool1d/k3', 'maxPool1d', 'F.max_pool1d(input, 3)', dict(input=x), {'kernelSize': 3})
    c('maxPool1d/k3-stride2-pad1', 'maxPool1d', 'F.max_pool1d(input, 3, stride=2, padding=1)',
      dict(input=x), {'kernelSize': 3, 'stride': 2, 'padding': 1})
    c('maxPool1d/k2-ceilMode', 'maxPool1d', 'F.max_pool1d(input, 2, ceil_mode=True)',
      dict(input=x), {'kernelSize': 2, 'ceilMode': True})
    c('maxPool1d/k3-dilation2', 'maxPool1d', 'F.max_pool1d(input, 3, stride=1, dilation=2)',
      dict(input=x), {'kernelSize': 3, 'stride': 1, 'dilation': 2})
    x = distinct(2, 3, 7, 7)
    c('maxPool2d/k2', 'maxPool2d', 'F.max_pool2d(input, 2)', dict(input=x), {'kernelSize': 2})
    c('maxPool2d/k3-stride2-pad1', 'maxPool2d', 'F.max_pool2d(input, 3, stride=2, padding=1)',
      dict(input=x), {'kernelSize': 3, 'stride': 2, 'padding': 1})
    c('maxPool2d/k2-ceilMode', 'maxPool2d', 'F.max_pool2d(input, 2, ceil_mode=True)',
      dict(input=x), {'kernelSize': 2, 'ceilMode': True})
    c('maxPool2d/k2x3-stride1x2', 'maxPool2d', 'F.max_pool2d(input, [2, 3], stride=[1, 2])',
      dict(input=x), {'kernelSize': [2, 3], 'stride': [1, 2]})
    c('maxPool2d/k2-dilation2-3d-input', 'maxPool2d', 'F.max_pool2d(input, 2, stride=1, dilation=2)',
      dict(input=distinct(3, 6, 6)), {'kernelSize': 2, 'stride': 1, 'dilation': 2})

    x = randn(2, 3, 10)
    c('avgPool1d/k3', 'avgPool1d', 'F.avg_pool1d(input, 3)', dict(input=x), {'kernelSize': 3})
    c('avgPool1d/k3-stride2-pad1', 'avgPool1d', 'F.avg_pool1d(input, 3, stride=2, padding=1)',
      dict(input=x), {'kernelSize': 3, 'stride': 2, 'padding': 1})
    c('avgPool1d/k3-stride2-pad1-excludePad', 'avgPool1d',
      'F.avg_pool1d(input, 3, stride=2, padding=1, count_include_pad=False)',
      dict(input=x), {'kernelSize': 3, 'stride': 2, 'padding': 1, 'countIncludePad': False})
    c('avgPool1d/k4-stride3-ceilMode', 'avgPool1d', 'F.avg_pool1d(input, 4, stride=3, ceil_mode=True)',
      dict(input=x), {'kernelSize': 4, 'stride': 3, 'ceilMode': True})
    x = randn(2, 3, 7, 7)
    c('avgPool2d/k2', 'avgPool2d', 'F.avg_pool2d(input, 2)', dict(input=x), {'kernelSize': 2})
    c('avgPool2d/k3-stride2-pad1', 'avgPool2d', 'F.avg_pool2d(input, 3, stride=2, padding=1)',
      dict(input=x), {'kernelSize': 3, 'stride': 2, 'padding': 1})
    c('avgPool2d/k3-stride2-pad1-excludePad', 'avgPool2d',
      'F.avg_pool2d(input, 3, stride=2, padding=1, count_include_pad=False)',
      dict(input=x), {'kernelSize': 3, 'stride': 2, 'padding': 1, 'countIncludePad': False})
    c('avgPool2d/k2-ceilMode-excludePad', 'avgPool2d', 'F.avg_pool2d(input, 2, ceil_mode=True, count_include_pad=False)',
      dict(input=x), {'kernelSize': 2, 'ceilMode': True, 'countIncludePad': False})
    c('avgPool2d/k3x2-divisorOverride', 'avgPool2d', 'F.avg_pool2d(input, [3, 2], divisor_override=4)',
      dict(input=x), {'kernelSize': [3, 2], 'divisorOverride': 4})

    x = randn(2, 3, 7, 5)
    c('adaptiveAvgPool2d/3x2', 'adaptiveAvgPool2d', 'F.adaptive_avg_pool2d(input, [3, 2])', dict(input=x), {'outputSize': [3, 2]})
    c('adaptiveAvgPool2d/1', 'adaptiveAvgPool2d', 'F.adaptive_avg_pool2d(input, 1)', dict(input=x), {'outputSize': 1})
    c('adaptiveAvgPool2d/upsample-8x6', 'adaptiveAvgPool2d', 'F.adaptive_avg_pool2d(input, [8, 6])', dict(input=x), {'outputSize': [8, 6]})
    x = distinct(2, 3, 7, 5)
    c('adaptiveMaxPool2d/3x2', 'adaptiveMaxPool2d', 'F.adaptive_max_pool2d(input, [3, 2])', dict(input=x), {'outputSize': [3, 2]})
    c('adaptiveMaxPool2d/2', 'adaptiveMaxPool2d', 'F.adaptive_max_pool2d(input, 2)', dict(input=x), {'outputSize': 2})
    c('globalAvgPool2d/basic', 'globalAvgPool2d', 'F.adaptive_avg_pool2d(input, 1)', dict(input=randn(2, 3, 4, 5)))

    # normalization
    bn = lambda c_: dict(runningMean=randn(c_, scale=0.1), runningVar=rand(c_, low=0.5, high=1.5))
    c('batchNorm/training-affine', 'batchNorm',
      'F.batch_norm(input, runningMean, runningVar, weight, bias, training=True, momentum=0.1, eps=1e-5)',
      dict(input=randn(4, 3, 3, 3, scale=2), weight=rand(3, low=0.5, high=1.5), bias=randn(3), **bn(3)),
      {'training': True, 'momentum': 0.1, 'eps': 1e-5}, state={'runningMean': 'runningMean', 'runningVar': 'runningVar'})
    c('batchNorm/training-3d-momentum0.3-eps1e-3', 'batchNorm',
      'F.batch_norm(input, runningMean, runningVar, training=True, momentum=0.3, eps=1e-3)',
      dict(input=randn(5, 4, 6), **bn(4)),
      {'training': True, 'momentum': 0.3, 'eps': 1e-3}, state={'runningMean': 'runningMean', 'runningVar': 'runningVar'})
    c('batchNorm/training-no-running-stats', 'batchNorm', 'F.batch_norm(input, None, None, weight, bias, training=True)',
      dict(input=randn(4, 3, 2, 2), weight=rand(3, low=0.5, high=1.5), bias=randn(3)), {'training': True})
    c('batchNorm/eval-affine', 'batchNorm', 'F.batch_norm(input, runningMean, runningVar, weight, bias, training=False)',
      dict(input=randn(4, 3, 2, 2), weight=rand(3, low=0.5, high=1.5), bias=randn(3), **bn(3)), {'training': False},
      state={'runningMean': 'runningMean', 'runningVar': 'runningVar'})  # unchanged in eval mode
    c('batchNorm/eval-default', 'batchNorm', 'F.batch_norm(input, runningMean, runningVar)',
      dict(input=randn(3, 4, 5), **bn(4)), {}, state={'runningMean': 'runningMean', 'runningVar': 'runningVar'})

    c('layerNorm/affine-last-dim', 'layerNorm', 'F.layer_norm(input, [6], weight, bias)',
      dict(input=randn(3, 4, 6, scale=2), weight=rand(6, low=0.5, high=1.5), bias=randn(6)), {'normalizedShape': [6]})
    c('layerNorm/no-affine-two-dims-eps1e-3', 'layerNorm', 'F.layer_norm(input, [4, 6], eps=1e-3)',
      dict(input=randn(3, 4, 6)), {'normalizedShape': [4, 6], 'eps': 1e-3})

    c('localResponseNorm/4d-size3-default', 'localResponseNorm', 'F.local_response_norm(input, 3)',
      dict(input=randn(2, 6, 3, 3, scale=3)), {'size': 3})
    c('localResponseNorm/4d-size5-alpha-beta-k', 'localResponseNorm', 'F.local_response_norm(input, 5, alpha=0.5, beta=0.6, k=2.0)',
      dict(input=randn(2, 6, 3, 3)), {'size': 5, 'alpha': 0.5, 'beta': 0.6, 'k': 2})
    c('localResponseNorm/3d-size2', 'localResponseNorm', 'F.local_response_norm(input, 2, alpha=0.3, beta=1.0, k=1.0)',
      dict(input=randn(2, 5, 4)), {'size': 2, 'alpha': 0.3, 'beta': 1, 'k': 1})

    # dropout: deterministic cases only (p > 0 while training is tested statistically in TS)
    c('dropout/eval-identity', 'dropout', 'F.dropout(input, p=0.5, training=False)', dict(input=randn(3, 5)), {'p': 0.5, 'training': False})
    c('dropout/p0-training', 'dropout', 'F.dropout(input, p=0.0, training=True)', dict(input=randn(3, 5)), {'p': 0, 'training': True})

    c('linear/bias', 'linear', 'F.linear(input, weight, bias)', dict(input=randn(4, 5), weight=randn(3, 5), bias=randn(3)))
    c('linear/3d-input-nobias', 'linear', 'F.linear(input, weight)', dict(input=randn(2, 3, 5), weight=randn(4, 5)))

    # activations
    x = randn(3, 8, scale=2)
    c('relu/basic', 'relu', 'F.relu(input)', dict(input=x))
    c('leakyRelu/default', 'leakyRelu', 'F.leaky_relu(input)', dict(input=x))
    c('leakyRelu/slope0.2', 'leakyRelu', 'F.leaky_relu(input, 0.2)', dict(input=x), {'negativeSlope': 0.2})
    c('elu/default', 'elu', 'F.elu(input)', dict(input=x))
    c('elu/alpha0.5', 'elu', 'F.elu(input, alpha=0.5)', dict(input=x), {'alpha': 0.5})
    c('gelu/none', 'gelu', 'F.gelu(input)', dict(input=x))
    c('gelu/tanh', 'gelu', "F.gelu(input, approximate='tanh')", dict(input=x), {'approximate': 'tanh'})
    c('sigmoid/basic', 'sigmoid', 'torch.sigmoid(input)', dict(input=x))
    c('tanh/basic', 'tanh', 'torch.tanh(input)', dict(input=x))
    c('clippedRelu/ceiling1', 'clippedRelu', 'F.hardtanh(input, 0.0, 1.0)', dict(input=x), {'ceiling': 1.0})
    c('softplus/default', 'softplus', 'F.softplus(input)', dict(input=x))
    c('softplus/beta2-threshold1', 'softplus', 'F.softplus(input, beta=2, threshold=1)', dict(input=x), {'beta': 2, 'threshold': 1})
    y = randn(2, 3, 4, scale=2)
    c('softmax/dim1', 'softmax', 'F.softmax(input, dim=1)', dict(input=x), {'dim': 1})
    c('softmax/3d-dim0', 'softmax', 'F.softmax(input, dim=0)', dict(input=y), {'dim': 0})
    c('softmax/3d-dim-1', 'softmax', 'F.softmax(input, dim=-1)', dict(input=y), {'dim': -1})
    c('logSoftmax/dim1', 'logSoftmax', 'F.log_softmax(input, dim=1)', dict(input=x), {'dim': 1})
    c('logSoftmax/3d-dim-2', 'logSoftmax', 'F.log_softmax(input, dim=-2)', dict(input=y), {'dim': -2})

    # losses
    logits = randn(5, 4, scale=2)
    target = torch.tensor([0, 3, 1, 1, 2])
    cls_w = rand(4, low=0.2, high=2)
    c('crossEntropy/plain', 'crossEntropy', 'F.cross_entropy(input, target)', dict(input=logits, target=target))
    c('crossEntropy/labelSmoothing0.1', 'crossEntropy', 'F.cross_entropy(input, target, label_smoothing=0.1)',
      dict(input=logits, target=target), {'labelSmoothing': 0.1})
    c('crossEntropy/class-weights', 'crossEntropy', 'F.cross_entropy(input, target, weight)',
      dict(input=logits, target=target, weight=cls_w))
    c('crossEntropy/ignoreIndex1', 'crossEntropy', 'F.cross_entropy(input, target, ignore_index=1)',
      dict(input=logits, target=target), {'ignoreIndex': 1})
    c('crossEntropy/default-ignoreIndex-100', 'crossEntropy', 'F.cross_entropy(input, target)',
      dict(input=logits, target=torch.tensor([0, -100, 1, -100, 2])))
    c('crossEntropy/reduction-none', 'crossEntropy', "F.cross_entropy(input, target, reduction='none')",
      dict(input=logits, target=target), {'reduction': 'none'})
    c('crossEntropy/weights-reduction-sum', 'crossEntropy', "F.cross_entropy(input, target, weight, reduction='sum')",
      dict(input=logits, target=target, weight=cls_w), {'reduction': 'sum'})
    c('crossEntropy/weights-smoothing-ignoreIndex', 'crossEntropy',
      'F.cross_entropy(input, target, weight, ignore_index=3, label_smoothing=0.2)',
      dict(input=logits, target=target, weight=cls_w), {'ignoreIndex': 3, 'labelSmoothing': 0.2})
    c('crossEntropy/spatial', 'crossEntropy', 'F.cross_entropy(input, target)',
      dict(input=randn(2, 4, 3), target=randint(0, 4, 2, 3)))
    c('crossEntropy/probability-target', 'crossEntropy', 'F.cross_entropy(input, target)',
      dict(input=logits, target=torch.round(F.softmax(randn(5, 4), 1) * 1000) / 1000))

    logp = torch.round(F.log_softmax(randn(5, 4, scale=2), 1) * 1000) / 1000
    c('nllLoss/plain', 'nllLoss', 'F.nll_loss(input, target)', dict(input=logp, target=target))
    c('nllLoss/weights-sum', 'nllLoss', "F.nll_loss(input, target, weight, reduction='sum')",
      dict(input=logp, target=target, weight=cls_w), {'reduction': 'sum'})
    c('nllLoss/weights-mean-ignoreIndex', 'nllLoss', 'F.nll_loss(input, target, weight, ignore_index=1)',
      dict(input=logp, target=target, weight=cls_w), {'ignoreIndex': 1})
    c('nllLoss/reduction-none', 'nllLoss', "F.nll_loss(input, target, reduction='none')",
      dict(input=logp, target=target), {'reduction': 'none'})

    a, b = randn(3, 4), randn(3, 4)
    c('mseLoss/mean', 'mseLoss', 'F.mse_loss(input, target)', dict(input=a, target=b))
    c('mseLoss/sum', 'mseLoss', "F.mse_loss(input, target, reduction='sum')", dict(input=a, target=b), {'reduction': 'sum'})
    c('mseLoss/none', 'mseLoss', "F.mse_loss(input, target, reduction='none')", dict(input=a, target=b), {'reduction': 'none'})

    z, p = randn(3, 4, scale=2), rand(3, 4)
    c('binaryCrossEntropyWithLogits/mean', 'binaryCrossEntropyWithLogits',
      'F.binary_cross_entropy_with_logits(input, target)', dict(input=z, target=p))
    c('binaryCrossEntropyWithLogits/posWeight', 'binaryCrossEntropyWithLogits',
      'F.binary_cross_entropy_with_logits(input, target, pos_weight=posWeight)',
      dict(input=z, target=p, posWeight=rand(4, low=0.5, high=3)))
    c('binaryCrossEntropyWithLogits/weight-posWeight-sum', 'binaryCrossEntropyWithLogits',
      "F.binary_cross_entropy_with_logits(input, target, weight, pos_weight=posWeight, reduction='sum')",
      dict(input=z, target=p, weight=rand(3, 1, low=0.5, high=2), posWeight=rand(4, low=0.5, high=3)), {'reduction': 'sum'})
    c('binaryCrossEntropyWithLogits/none', 'binaryCrossEntropyWithLogits',
      "F.binary_cross_entropy_with_logits(input, target, reduction='none')", dict(input=z, target=p), {'reduction': 'none'})
    return s


# ---- Tensor methods --------------------------------------------------------------

def tensor_ops():
    s = Suite('tensor-ops.json', 'dlkit Tensor methods and cat/stack/where against torch')
    c = s.case

    c('matmul/2d', 'matmul', 'self.matmul(other)', dict(self=randn(3, 4), other=randn(4, 5)))
    c('matmul/batched', 'matmul', 'self.matmul(other)', dict(self=randn(2, 3, 4), other=randn(2, 4, 5)))
    c('matmul/broadcast', 'matmul', 'self.matmul(other)', dict(self=randn(2, 1, 3, 4), other=randn(3, 4, 2)))
    c('matmul/vector-matrix', 'matmul', 'self.matmul(other)', dict(self=randn(4), other=randn(4, 5)))
    c('matmul/matrix-vector-float64', 'matmul', 'self.matmul(other)',
      dict(self=randn(3, 4, dtype=torch.float64), other=randn(4, dtype=torch.float64)))

    x = randn(3, 4, 5)
    c('sum/all', 'sum', 'self.sum()', dict(self=x))
    c('sum/dim1', 'sum', 'self.sum(1)', dict(self=x), {'dim': 1})
    c('sum/dims0,2-keepdim', 'sum', 'self.sum([0, 2], keepdim=True)', dict(self=x), {'dim': [0, 2], 'keepdim': True})
    c('sum/dim-1-float64', 'sum', 'self.sum(-1)', dict(self=randn(3, 4, dtype=torch.float64)), {'dim': -1})
    c('mean/all', 'mean', 'self.mean()', dict(self=x))
    c('mean/dim-1-keepdim', 'mean', 'self.mean(-1, keepdim=True)', dict(self=x), {'dim': -1, 'keepdim': True})
    c('mean/dims0,1', 'mean', 'self.mean([0, 1])', dict(self=x), {'dim': [0, 1]})

    d = distinct(3, 4, 5)
    c('max/all', 'max', 'self.max()', dict(self=d))
    c('max/dim1', 'max', 'self.max(1)', dict(self=d), {'dim': 1})
    c('max/dim-1-keepdim', 'max', 'self.max(-1, keepdim=True)', dict(self=d), {'dim': -1, 'keepdim': True})
    c('min/all', 'min', 'self.min()', dict(self=d))
    c('min/dim0', 'min', 'self.min(0)', dict(self=d), {'dim': 0})
    c('argmax/all', 'argmax', 'self.argmax()', dict(self=d))
    c('argmax/dim2', 'argmax', 'self.argmax(2)', dict(self=d), {'dim': 2})
    c('argmax/dim0-keepdim', 'argmax', 'self.argmax(0, keepdim=True)', dict(self=d), {'dim': 0, 'keepdim': True})

    c('std/all', 'std', 'self.std()', dict(self=x))
    c('std/dim1', 'std', 'self.std(1)', dict(self=x), {'dim': 1})
    c('std/dims0,2-biased-keepdim', 'std', 'self.std([0, 2], unbiased=False, keepdim=True)',
      dict(self=x), {'dim': [0, 2], 'unbiased': False, 'keepdim': True})
    c('var/all-biased', 'var', 'self.var(unbiased=False)', dict(self=x), {'unbiased': False})
    c('var/dim-1', 'var', 'self.var(-1)', dict(self=x), {'dim': -1})
    c('var/dim0-keepdim', 'var', 'self.var(0, keepdim=True)', dict(self=x), {'dim': 0, 'keepdim': True})

    c('topk/k3', 'topk', 'self.topk(3)', dict(self=d), {'k': 3})
    c('topk/k2-dim0-smallest', 'topk', 'self.topk(2, dim=0, largest=False)', dict(self=d), {'k': 2, 'dim': 0, 'largest': False})
    c('sort/last-dim', 'sort', 'self.sort()', dict(self=d))
    c('sort/dim0-descending', 'sort', 'self.sort(0, descending=True)', dict(self=d), {'dim': 0, 'descending': True})
    c('softmax/dim1', 'softmax', 'self.softmax(1)', dict(self=x), {'dim': 1})
    c('logSoftmax/dim-1', 'logSoftmax', 'self.log_softmax(-1)', dict(self=x), {'dim': -1})

    m = randn(3, 5)
    c('gather/dim1', 'gather', 'self.gather(1, index)', dict(self=m, index=randint(0, 5, 3, 4)), {'dim': 1})
    c('gather/dim0', 'gather', 'self.gather(0, index)', dict(self=m, index=randint(0, 3, 2, 5)), {'dim': 0})
    # scatter with a src tensor: indices unique along the dim (duplicates would make the result order-dependent)
    perm = torch.stack([torch.randperm(5)[:3] for _ in range(3)])
    c('scatter/src-dim1', 'scatter', 'self.scatter(1, index, src)', dict(self=m, index=perm, src=randn(3, 3)), {'dim': 1})
    c('scatter/value-dim0', 'scatter', 'self.scatter(0, index, 2.5)',
      dict(self=m, index=torch.tensor([[0, 1, 2, 0, 1]])), {'dim': 0, 'value': 2.5})
    c('scatterAdd/dim1-duplicates', 'scatterAdd', 'self.scatter_add(1, index, src)',
      dict(self=m, index=randint(0, 5, 3, 6), src=randn(3, 6)), {'dim': 1})
    c('indexSelect/dim0', 'indexSelect', 'self.index_select(0, index)', dict(self=m, index=torch.tensor([2, 0, 2])), {'dim': 0})
    c('indexSelect/dim1', 'indexSelect', 'self.index_select(1, index)', dict(self=m, index=torch.tensor([4, 1])), {'dim': 1})

    a, b, e = randn(2, 3), randn(2, 3), randn(4, 3)
    c('cat/dim0', 'cat', 'torch.cat([t0, t1, t2], 0)', dict(t0=a, t1=b, t2=e), {'dim': 0})
    c('cat/dim1', 'cat', 'torch.cat([t0, t1], 1)', dict(t0=a, t1=randn(2, 2)), {'dim': 1})
    c('stack/dim0', 'stack', 'torch.stack([t0, t1], 0)', dict(t0=a, t1=b), {'dim': 0})
    c('stack/dim-1', 'stack', 'torch.stack([t0, t1], -1)', dict(t0=a, t1=b), {'dim': -1})
    y = randn(4, 5)
    c('split/size2-dim1', 'split', 'self.split(2, 1)', dict(self=y), {'size': 2, 'dim': 1})
    c('split/sizes-dim0', 'split', 'self.split([1, 3], 0)', dict(self=y), {'size': [1, 3], 'dim': 0})
    c('chunk/3-dim1', 'chunk', 'self.chunk(3, 1)', dict(self=y), {'chunks': 3, 'dim': 1})

    # indexing: specs are numbers, 'start:stop:step' strings, {input: name} for index tensors, null
    x = randn(4, 5, 3)
    idx = torch.tensor([3, 0, 3])
    c('index/int', 'index', 'self[1]', dict(self=x), {'specs': [1]})
    c('index/negative-int-and-slice', 'index', 'self[-1, 1:4]', dict(self=x), {'specs': [-1, '1:4']})
    c('index/step-slice', 'index', 'self[::2, :, 1]', dict(self=x), {'specs': ['::2', ':', 1]})
    c('index/new-axis', 'index', 'self[None, 2, :, None]', dict(self=x), {'specs': [None, 2, ':', None]})
    c('index/int64-tensor', 'index', 'self[idx]', dict(self=x, idx=idx), {'specs': [{'input': 'idx'}]})
    c('index/slice-then-int64-tensor', 'index', 'self[1:3, idx2]', dict(self=x, idx2=torch.tensor([4, 0])),
      {'specs': ['1:3', {'input': 'idx2'}]})
    c('index/two-int64-tensors', 'index', 'self[i0, :, i2]',
      dict(self=x, i0=torch.tensor([0, 3, 1]), i2=torch.tensor([2, 2, 0])),
      {'specs': [{'input': 'i0'}, ':', {'input': 'i2'}]})
    c('index/int-then-tensor', 'index', 'self[0, :, idx3]', dict(self=x, idx3=torch.tensor([1, 0])),
      {'specs': [0, ':', {'input': 'idx3'}]})
    c('index/bool-mask-full', 'index', 'self[mask]', dict(self=x, mask=x > 0.3), {'specs': [{'input': 'mask'}]})
    c('index/bool-mask-rows', 'index', 'self[mask]', dict(self=x, mask=torch.tensor([True, False, True, True])),
      {'specs': [{'input': 'mask'}]})
    c('index/slice-then-bool-mask', 'index', 'self[:, mask]', dict(self=x, mask=torch.tensor([False, True, True, False, True])),
      {'specs': [':', {'input': 'mask'}]})

    # elementwise, broadcasting
    p, q = randn(3, 1, 4), randn(2, 4)
    c('add/broadcast', 'add', 'self + other', dict(self=p, other=q))
    c('add/alpha', 'add', 'torch.add(self, other, alpha=-0.5)', dict(self=p, other=q), {'alpha': -0.5})
    c('add/scalar', 'add', 'self + 2.5', dict(self=q), {'other': 2.5})
    c('sub/broadcast', 'sub', 'self - other', dict(self=p, other=q))
    c('mul/broadcast', 'mul', 'self * other', dict(self=p, other=randn(4)))
    c('mul/scalar', 'mul', 'self * -3', dict(self=q), {'other': -3})
    pos = rand(2, 4, low=0.5, high=2)
    c('div/broadcast', 'div', 'self / other', dict(self=p, other=pos))
    c('div/scalar', 'div', 'self / 4', dict(self=q), {'other': 4})
    c('pow/tensor-tensor', 'pow', 'self.pow(other)', dict(self=rand(3, 1, 4, low=0.5, high=2), other=randn(2, 4)))
    c('pow/scalar2', 'pow', 'self.pow(2)', dict(self=q), {'exponent': 2})
    c('pow/scalar0.5', 'pow', 'self.pow(0.5)', dict(self=pos), {'exponent': 0.5})

    r = torch.round(randn(3, 4) * 2) / 2  # halves: some elements compare equal
    s_ = torch.round(randn(4) * 2) / 2
    for op in ['eq', 'ne', 'lt', 'le', 'gt', 'ge']:
        c(f'{op}/broadcast', op, f'self.{op}(other)', dict(self=r, other=s_))
    c('lt/scalar', 'lt', 'self.lt(0.5)', dict(self=r), {'other': 0.5})
    c('eq/scalar', 'eq', 'self.eq(0)', dict(self=r), {'other': 0})

    c('where/broadcast', 'where', 'torch.where(cond, self, other)',
      dict(cond=randn(3, 4) > 0, self=randn(3, 4), other=randn(4)))
    c('clamp/min-max', 'clamp', 'self.clamp(-0.5, 0.75)', dict(self=m), {'min': -0.5, 'max': 0.75})
    c('clamp/min-only', 'clamp', 'self.clamp(min=0)', dict(self=m), {'min': 0})
    c('clamp/max-only', 'clamp', 'self.clamp(max=0.25)', dict(self=m), {'max': 0.25})
    return s


# ---- mixed precision ------------------------------------------------------------

def autocast_suite():
    """CPU autocast (bfloat16): the outputs of a small conv -> relu -> linear forward and the
    float32 gradients of its float32 weights, as torch.autocast('cpu') computes them."""
    x = randn(2, 3, 8, 8)
    w, b = randn(4, 3, 3, 3, scale=0.3), randn(4, scale=0.1)
    w2, b2 = randn(5, 4 * 8 * 8, scale=0.05), randn(5, scale=0.1)
    params = [t.clone().requires_grad_() for t in (w, b, w2, b2)]
    with torch.autocast('cpu', dtype=torch.bfloat16):
        h = F.conv2d(x, params[0], params[1], padding=1)
        out = F.linear(F.relu(h).flatten(1), params[2], params[3])
    upstream = randn(2, 5)
    (out.float() * upstream).sum().backward()
    case = {'name': 'autocast/conv-relu-linear', 'torch': "with torch.autocast('cpu', dtype=torch.bfloat16): F.linear(F.relu(F.conv2d(x, w, b, padding=1)).flatten(1), w2, b2)",
            'inputs': {k: encode(v) for k, v in dict(x=x, w=w, b=b, w2=w2, b2=b2, upstream=upstream).items()},
            'outputsDtype': {'conv': str(h.dtype), 'out': str(out.dtype)},
            'outputs': {'conv': encode(h.float()), 'out': encode(out.float())},
            'grads': {k: encode(p.grad) for k, p in zip(('w', 'b', 'w2', 'b2'), params)}}
    path = os.path.join(OUT_DIR, 'autocast.json')
    with open(path, 'w') as f:
        json.dump({'generator': 'scripts/make-fixtures.py', 'torch': torch.__version__, 'seed': SEED, 'cases': [case]}, f, separators=(',', ':'))
        f.write('\n')
    print(f'{path}: 1 case, {os.path.getsize(path) / 1024:.0f} KiB')


def main():
    if torch.__version__.split('.')[:2] != ['1', '13']:
        print(f'warning: expected torch 1.13 (the libtorch dlkit links), got {torch.__version__}', file=sys.stderr)
    # F.conv1d/conv2d with padding='same' and an even kernel warn that they pad a copy: expected.
    warnings.filterwarnings('ignore', message="Using padding='same'")
    torch.manual_seed(SEED)
    torch.set_num_threads(1)
    suites = [functional(), tensor_ops()]
    for suite in suites:
        suite.write()
    torch.manual_seed(SEED)
    autocast_suite()


if __name__ == '__main__':
    main()
