#!/usr/bin/python3
"""Writes the Caffe import fixtures: small prototxt/caffemodel pairs and OpenCV's outputs on them.

    /usr/bin/python3 scripts/make-caffe-fixtures.py

Needs Debian's python3-opencv (cv2.dnn.readNetFromCaffe, an importer independent of dlkit's),
python3-protobuf and protobuf-compiler (protoc compiles proto/caffe/caffe.proto to Python in a
temporary folder; Caffe itself is not needed). Writes fixtures/caffe/:

  <net>.prototxt, <net>.caffemodel   the networks below, weights drawn from a seeded generator
  mean.binaryproto                   a mean image (BlobProto [1, 3, H, W]) for the mean-file option
  synset_words.txt                   class names in synset_words.txt's style
  outputs.json                       for each net: the input shape, the preprocessing given to
                                     dlkit, and OpenCV's outputs (by layer name, flat row-major)

Nets (few channels, small inputs, so each file stays small):
  alexnet      AlexNet's shape: grouped convolutions, LRN across channels, max pooling whose
               output size needs Caffe's ceil rounding, in-place ReLU and Dropout, InnerProduct,
               Softmax; `input:` + `input_dim`; mean, scale and BGR preprocessing.
  googlenet    GoogLeNet's stem and one inception block (names with '/'), an Input layer, AVE
               pooling with padding and ceil rounding, a global AVE pooling.
  squeezenet   SqueezeNet 1.1's shape: fire modules (squeeze, two expands, Concat), `input_shape`,
               global_pooling, mean file.
  lenet_v1     the legacy V1 format (`layers`, enum types, blobs_lr), blobs in the legacy
               num/channels/height/width form, MAX pooling, TanH.
  blocks       BatchNorm (with its scale factor blob) + Scale with bias, Bias, Eltwise SUM with
               coefficients / PROD / MAX, Slice, Power, Deconvolution, dilated convolution,
               LRN WITHIN_CHANNEL, ReLU with negative_slope, Sigmoid, Flatten, Reshape, Split,
               InnerProduct.

Inputs are pixels 0-255 from the MINSTD generator (x = x * 48271 mod 2^31-1, pixel = x mod 256,
seeded per net), so the test rebuilds them in TypeScript without a data file.
"""
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import cv2

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, 'fixtures', 'caffe')
PROTO = os.path.join(ROOT, 'proto', 'caffe', 'caffe.proto')


def load_caffe_pb2():
    tmp = tempfile.mkdtemp(prefix='caffe-proto-')
    subprocess.run(['protoc', f'--proto_path={os.path.dirname(PROTO)}', f'--python_out={tmp}', PROTO], check=True)
    sys.path.insert(0, tmp)
    import caffe_pb2  # noqa: E402
    return caffe_pb2


pb = load_caffe_pb2()
from google.protobuf import text_format  # noqa: E402


def minstd_pixels(n, seed):
    out = np.empty(n, dtype=np.float32)
    x = seed
    for i in range(n):
        x = (x * 48271) % 2147483647
        out[i] = x % 256
    return out


# ---- the networks ----------------------------------------------------------------------------

ALEXNET = '''name: "AlexNetTiny"
input: "data"
input_dim: 2
input_dim: 3
input_dim: 71
input_dim: 71
layer { name: "conv1" type: "Convolution" bottom: "data" top: "conv1"
  param { lr_mult: 1 decay_mult: 1 } param { lr_mult: 2 decay_mult: 0 }
  convolution_param { num_output: 8 kernel_size: 11 stride: 4 } }
layer { name: "relu1" type: "ReLU" bottom: "conv1" top: "conv1" }
layer { name: "norm1" type: "LRN" bottom: "conv1" top: "norm1"
  lrn_param { local_size: 5 alpha: 0.0001 beta: 0.75 } }
layer { name: "pool1" type: "Pooling" bottom: "norm1" top: "pool1"
  pooling_param { pool: MAX kernel_size: 3 stride: 2 } }
layer { name: "conv2" type: "Convolution" bottom: "pool1" top: "conv2"
  convolution_param { num_output: 8 pad: 2 kernel_size: 5 group: 2 } }
layer { name: "relu2" type: "ReLU" bottom: "conv2" top: "conv2" }
layer { name: "norm2" type: "LRN" bottom: "conv2" top: "norm2"
  lrn_param { local_size: 5 alpha: 0.0001 beta: 0.75 } }
layer { name: "pool2" type: "Pooling" bottom: "norm2" top: "pool2"
  pooling_param { pool: MAX kernel_size: 3 stride: 2 } }
layer { name: "conv3" type: "Convolution" bottom: "pool2" top: "conv3"
  convolution_param { num_output: 12 pad: 1 kernel_size: 3 } }
layer { name: "relu3" type: "ReLU" bottom: "conv3" top: "conv3" }
layer { name: "conv4" type: "Convolution" bottom: "conv3" top: "conv4"
  convolution_param { num_output: 12 pad: 1 kernel_size: 3 group: 2 } }
layer { name: "relu4" type: "ReLU" bottom: "conv4" top: "conv4" }
layer { name: "conv5" type: "Convolution" bottom: "conv4" top: "conv5"
  convolution_param { num_output: 8 pad: 1 kernel_size: 3 group: 2 } }
layer { name: "relu5" type: "ReLU" bottom: "conv5" top: "conv5" }
layer { name: "pool5" type: "Pooling" bottom: "conv5" top: "pool5"
  pooling_param { pool: MAX kernel_size: 3 stride: 2 } }
layer { name: "fc6" type: "InnerProduct" bottom: "pool5" top: "fc6" inner_product_param { num_output: 16 } }
layer { name: "relu6" type: "ReLU" bottom: "fc6" top: "fc6" }
layer { name: "drop6" type: "Dropout" bottom: "fc6" top: "fc6" dropout_param { dropout_ratio: 0.5 } }
layer { name: "fc7" type: "InnerProduct" bottom: "fc6" top: "fc7" inner_product_param { num_output: 16 } }
layer { name: "relu7" type: "ReLU" bottom: "fc7" top: "fc7" }
layer { name: "drop7" type: "Dropout" bottom: "fc7" top: "fc7" dropout_param { dropout_ratio: 0.5 } }
layer { name: "fc8" type: "InnerProduct" bottom: "fc7" top: "fc8" inner_product_param { num_output: 10 } }
layer { name: "prob" type: "Softmax" bottom: "fc8" top: "prob" }
'''

GOOGLENET = '''name: "GoogLeNetTiny"
layer { name: "data" type: "Input" top: "data" input_param { shape: { dim: 2 dim: 3 dim: 40 dim: 40 } } }
layer { name: "conv1/7x7_s2" type: "Convolution" bottom: "data" top: "conv1/7x7_s2"
  convolution_param { num_output: 8 pad: 3 kernel_size: 7 stride: 2 weight_filler { type: "xavier" } bias_filler { type: "constant" value: 0.2 } } }
layer { name: "conv1/relu_7x7" type: "ReLU" bottom: "conv1/7x7_s2" top: "conv1/7x7_s2" }
layer { name: "pool1/3x3_s2" type: "Pooling" bottom: "conv1/7x7_s2" top: "pool1/3x3_s2"
  pooling_param { pool: MAX kernel_size: 3 stride: 2 } }
layer { name: "pool1/norm1" type: "LRN" bottom: "pool1/3x3_s2" top: "pool1/norm1"
  lrn_param { local_size: 5 alpha: 0.0001 beta: 0.75 } }
layer { name: "conv2/3x3_reduce" type: "Convolution" bottom: "pool1/norm1" top: "conv2/3x3_reduce"
  convolution_param { num_output: 8 kernel_size: 1 } }
layer { name: "conv2/relu_3x3_reduce" type: "ReLU" bottom: "conv2/3x3_reduce" top: "conv2/3x3_reduce" }
layer { name: "conv2/3x3" type: "Convolution" bottom: "conv2/3x3_reduce" top: "conv2/3x3"
  convolution_param { num_output: 12 pad: 1 kernel_size: 3 } }
layer { name: "conv2/relu_3x3" type: "ReLU" bottom: "conv2/3x3" top: "conv2/3x3" }
layer { name: "conv2/norm2" type: "LRN" bottom: "conv2/3x3" top: "conv2/norm2"
  lrn_param { local_size: 5 alpha: 0.0001 beta: 0.75 } }
layer { name: "pool2/3x3_s2" type: "Pooling" bottom: "conv2/norm2" top: "pool2/3x3_s2"
  pooling_param { pool: AVE kernel_size: 3 stride: 2 pad: 1 } }
layer { name: "inception_3a/1x1" type: "Convolution" bottom: "pool2/3x3_s2" top: "inception_3a/1x1"
  convolution_param { num_output: 4 kernel_size: 1 } }
layer { name: "inception_3a/relu_1x1" type: "ReLU" bottom: "inception_3a/1x1" top: "inception_3a/1x1" }
layer { name: "inception_3a/3x3_reduce" type: "Convolution" bottom: "pool2/3x3_s2" top: "inception_3a/3x3_reduce"
  convolution_param { num_output: 6 kernel_size: 1 } }
layer { name: "inception_3a/relu_3x3_reduce" type: "ReLU" bottom: "inception_3a/3x3_reduce" top: "inception_3a/3x3_reduce" }
layer { name: "inception_3a/3x3" type: "Convolution" bottom: "inception_3a/3x3_reduce" top: "inception_3a/3x3"
  convolution_param { num_output: 8 pad: 1 kernel_size: 3 } }
layer { name: "inception_3a/relu_3x3" type: "ReLU" bottom: "inception_3a/3x3" top: "inception_3a/3x3" }
layer { name: "inception_3a/5x5_reduce" type: "Convolution" bottom: "pool2/3x3_s2" top: "inception_3a/5x5_reduce"
  convolution_param { num_output: 2 kernel_size: 1 } }
layer { name: "inception_3a/relu_5x5_reduce" type: "ReLU" bottom: "inception_3a/5x5_reduce" top: "inception_3a/5x5_reduce" }
layer { name: "inception_3a/5x5" type: "Convolution" bottom: "inception_3a/5x5_reduce" top: "inception_3a/5x5"
  convolution_param { num_output: 4 pad: 2 kernel_size: 5 } }
layer { name: "inception_3a/relu_5x5" type: "ReLU" bottom: "inception_3a/5x5" top: "inception_3a/5x5" }
layer { name: "inception_3a/pool" type: "Pooling" bottom: "pool2/3x3_s2" top: "inception_3a/pool"
  pooling_param { pool: MAX kernel_size: 3 stride: 1 pad: 1 } }
layer { name: "inception_3a/pool_proj" type: "Convolution" bottom: "inception_3a/pool" top: "inception_3a/pool_proj"
  convolution_param { num_output: 4 kernel_size: 1 } }
layer { name: "inception_3a/relu_pool_proj" type: "ReLU" bottom: "inception_3a/pool_proj" top: "inception_3a/pool_proj" }
layer { name: "inception_3a/output" type: "Concat"
  bottom: "inception_3a/1x1" bottom: "inception_3a/3x3" bottom: "inception_3a/5x5" bottom: "inception_3a/pool_proj"
  top: "inception_3a/output" }
layer { name: "pool5/7x7_s1" type: "Pooling" bottom: "inception_3a/output" top: "pool5/7x7_s1"
  pooling_param { pool: AVE kernel_size: 5 stride: 1 } }
layer { name: "pool5/drop_7x7_s1" type: "Dropout" bottom: "pool5/7x7_s1" top: "pool5/7x7_s1" dropout_param { dropout_ratio: 0.4 } }
layer { name: "loss3/classifier" type: "InnerProduct" bottom: "pool5/7x7_s1" top: "loss3/classifier"
  inner_product_param { num_output: 10 } }
layer { name: "prob" type: "Softmax" bottom: "loss3/classifier" top: "prob" }
'''

SQUEEZENET = '''name: "SqueezeNetTiny"
input: "data"
input_shape { dim: 1 dim: 3 dim: 35 dim: 35 }
layer { name: "conv1" type: "Convolution" bottom: "data" top: "conv1" convolution_param { num_output: 8 kernel_size: 3 stride: 2 } }
layer { name: "relu_conv1" type: "ReLU" bottom: "conv1" top: "conv1" }
layer { name: "pool1" type: "Pooling" bottom: "conv1" top: "pool1" pooling_param { pool: MAX kernel_size: 3 stride: 2 } }
layer { name: "fire2/squeeze1x1" type: "Convolution" bottom: "pool1" top: "fire2/squeeze1x1" convolution_param { num_output: 4 kernel_size: 1 } }
layer { name: "fire2/relu_squeeze1x1" type: "ReLU" bottom: "fire2/squeeze1x1" top: "fire2/squeeze1x1" }
layer { name: "fire2/expand1x1" type: "Convolution" bottom: "fire2/squeeze1x1" top: "fire2/expand1x1" convolution_param { num_output: 6 kernel_size: 1 } }
layer { name: "fire2/relu_expand1x1" type: "ReLU" bottom: "fire2/expand1x1" top: "fire2/expand1x1" }
layer { name: "fire2/expand3x3" type: "Convolution" bottom: "fire2/squeeze1x1" top: "fire2/expand3x3" convolution_param { num_output: 6 pad: 1 kernel_size: 3 } }
layer { name: "fire2/relu_expand3x3" type: "ReLU" bottom: "fire2/expand3x3" top: "fire2/expand3x3" }
layer { name: "fire2/concat" type: "Concat" bottom: "fire2/expand1x1" bottom: "fire2/expand3x3" top: "fire2/concat" }
layer { name: "fire3/squeeze1x1" type: "Convolution" bottom: "fire2/concat" top: "fire3/squeeze1x1" convolution_param { num_output: 4 kernel_size: 1 } }
layer { name: "fire3/relu_squeeze1x1" type: "ReLU" bottom: "fire3/squeeze1x1" top: "fire3/squeeze1x1" }
layer { name: "fire3/expand1x1" type: "Convolution" bottom: "fire3/squeeze1x1" top: "fire3/expand1x1" convolution_param { num_output: 6 kernel_size: 1 } }
layer { name: "fire3/relu_expand1x1" type: "ReLU" bottom: "fire3/expand1x1" top: "fire3/expand1x1" }
layer { name: "fire3/expand3x3" type: "Convolution" bottom: "fire3/squeeze1x1" top: "fire3/expand3x3" convolution_param { num_output: 6 pad: 1 kernel_size: 3 } }
layer { name: "fire3/relu_expand3x3" type: "ReLU" bottom: "fire3/expand3x3" top: "fire3/expand3x3" }
layer { name: "fire3/concat" type: "Concat" bottom: "fire3/expand1x1" bottom: "fire3/expand3x3" top: "fire3/concat" }
layer { name: "pool3" type: "Pooling" bottom: "fire3/concat" top: "pool3" pooling_param { pool: MAX kernel_size: 3 stride: 2 } }
layer { name: "drop9" type: "Dropout" bottom: "pool3" top: "pool3" dropout_param { dropout_ratio: 0.5 } }
layer { name: "conv10" type: "Convolution" bottom: "pool3" top: "conv10" convolution_param { num_output: 10 kernel_size: 1 } }
layer { name: "relu_conv10" type: "ReLU" bottom: "conv10" top: "conv10" }
layer { name: "pool10" type: "Pooling" bottom: "conv10" top: "pool10" pooling_param { pool: AVE global_pooling: true } }
layer { name: "prob" type: "Softmax" bottom: "pool10" top: "prob" }
'''

LENET_V1 = '''name: "LeNetV1"
input: "data"
input_dim: 2
input_dim: 1
input_dim: 20
input_dim: 20
layers { name: "conv1" type: CONVOLUTION bottom: "data" top: "conv1" blobs_lr: 1 blobs_lr: 2
  convolution_param { num_output: 6 kernel_size: 5 stride: 1 } }
layers { name: "pool1" type: POOLING bottom: "conv1" top: "pool1" pooling_param { pool: MAX kernel_size: 2 stride: 2 } }
layers { name: "tanh1" type: TANH bottom: "pool1" top: "pool1" }
layers { name: "conv2" type: CONVOLUTION bottom: "pool1" top: "conv2" blobs_lr: 1 blobs_lr: 2
  convolution_param { num_output: 8 kernel_size: 3 } }
layers { name: "relu2" type: RELU bottom: "conv2" top: "conv2" }
layers { name: "ip1" type: INNER_PRODUCT bottom: "conv2" top: "ip1" blobs_lr: 1 blobs_lr: 2 inner_product_param { num_output: 12 } }
layers { name: "relu3" type: RELU bottom: "ip1" top: "ip1" }
layers { name: "ip2" type: INNER_PRODUCT bottom: "ip1" top: "ip2" inner_product_param { num_output: 5 } }
layers { name: "prob" type: SOFTMAX bottom: "ip2" top: "prob" }
'''

BLOCKS = '''# Caffe layers beyond the classic classifiers, one after another.
name: "Blocks"
layer { name: "data" type: "Input" top: "data" input_param { shape { dim: 2 dim: 3 dim: 12 dim: 12 } } }
layer { name: "conv1" type: "Convolution" bottom: "data" top: "conv1"
  convolution_param { num_output: 6 kernel_h: 3 kernel_w: 5 pad_h: 1 pad_w: 2 bias_term: false } }
layer { name: "bn1" type: "BatchNorm" bottom: "conv1" top: "conv1" batch_norm_param { use_global_stats: true eps: 0.001 } }
layer { name: "scale1" type: "Scale" bottom: "conv1" top: "conv1" scale_param { bias_term: true } }
layer { name: "relu1" type: "ReLU" bottom: "conv1" top: "conv1" relu_param { negative_slope: 0.1 } }
layer { name: "split1" type: "Split" bottom: "conv1" top: "conv1_a" top: "conv1_b" }
layer { name: "slice1" type: "Slice" bottom: "conv1_a" top: "s1" top: "s2" top: "s3" slice_param { axis: 1 slice_point: 1 slice_point: 3 } }
layer { name: "pow1" type: "Power" bottom: "s2" top: "pow1" power_param { power: 2 scale: 0.5 shift: 1 } }
layer { name: "sig1" type: "Sigmoid" bottom: "s3" top: "sig1" }
layer { name: "cat1" type: "Concat" bottom: "s1" bottom: "pow1" bottom: "sig1" top: "cat1" }
layer { name: "sum1" type: "Eltwise" bottom: "cat1" bottom: "conv1_b" top: "sum1" eltwise_param { operation: SUM coeff: 0.5 coeff: -1.5 } }
layer { name: "prod1" type: "Eltwise" bottom: "sum1" bottom: "conv1_b" top: "prod1" eltwise_param { operation: PROD } }
layer { name: "max1" type: "Eltwise" bottom: "prod1" bottom: "sum1" top: "max1" eltwise_param { operation: MAX } }
layer { name: "bias1" type: "Bias" bottom: "max1" top: "bias1" }
layer { name: "tanh1" type: "TanH" bottom: "bias1" top: "bias1" }
layer { name: "norm1" type: "LRN" bottom: "bias1" top: "norm1" lrn_param { local_size: 3 alpha: 0.5 beta: 0.75 norm_region: WITHIN_CHANNEL } }
layer { name: "conv2" type: "Convolution" bottom: "norm1" top: "conv2"
  convolution_param { num_output: 4 kernel_size: 3 dilation: 2 pad: 2 stride: 2 group: 2 } }
layer { name: "deconv1" type: "Deconvolution" bottom: "conv2" top: "deconv1"
  convolution_param { num_output: 4 kernel_size: 4 stride: 2 pad: 1 } }
layer { name: "pool1" type: "Pooling" bottom: "deconv1" top: "pool1" pooling_param { pool: AVE kernel_size: 3 stride: 2 pad: 1 } }
layer { name: "reshape1" type: "Reshape" bottom: "pool1" top: "reshape1" reshape_param { shape { dim: 0 dim: 2 dim: -1 dim: 7 } } }
layer { name: "flat1" type: "Flatten" bottom: "reshape1" top: "flat1" }
layer { name: "ip1" type: "InnerProduct" bottom: "flat1" top: "ip1" inner_product_param { num_output: 7 } }
'''

NETS = {
    # name: (prototxt, seed, preprocessing for dlkit, intermediate outputs to record)
    'alexnet': (ALEXNET, 11, {'mean': [104, 117, 123], 'scale': 0.0078125, 'bgr': True}, ['fc8', 'prob']),
    'googlenet': (GOOGLENET, 12, {'scale': 0.00390625}, ['inception_3a/output', 'loss3/classifier', 'prob']),
    'squeezenet': (SQUEEZENET, 13, {'meanFile': 'mean.binaryproto', 'scale': 0.01}, ['fire2/concat', 'pool10', 'prob']),
    'lenet_v1': (LENET_V1, 14, {'scale': 0.00390625}, ['ip2', 'prob']),
    'blocks': (BLOCKS, 15, {'scale': 0.00390625}, ['cat1', 'norm1', 'deconv1', 'pool1', 'ip1']),
}


# ---- shapes (to size the blobs) --------------------------------------------------------------

def hw(param, base, default):
    if param.HasField(base + '_h') or param.HasField(base + '_w'):
        return [getattr(param, base + '_h'), getattr(param, base + '_w')]
    field = 'kernel_size' if base == 'kernel' else base
    v = getattr(param, field)
    v = list(v) if hasattr(v, '__len__') else ([v] if param.HasField(field) else [])
    if not v:
        return [default, default]
    return [v[0], v[0]] if len(v) == 1 else [v[0], v[1]]


def infer(net, layers, input_shapes):
    """Blob shapes with the batch axis, for the layer types the fixtures use."""
    shapes = dict(input_shapes)
    V1 = pb.V1LayerParameter
    v1_names = {V1.CONVOLUTION: 'Convolution', V1.POOLING: 'Pooling', V1.INNER_PRODUCT: 'InnerProduct', V1.RELU: 'ReLU',
                V1.TANH: 'TanH', V1.SOFTMAX: 'Softmax'}
    blob_shapes = {}
    for l in layers:
        t = l.type if isinstance(l.type, str) else v1_names[l.type]
        ins = [shapes[b] for b in l.bottom]
        s = ins[0] if ins else None
        if t == 'Input':
            for top, sh in zip(l.top, l.input_param.shape):
                shapes[top] = list(sh.dim)
            continue
        if t in ('Convolution', 'Deconvolution'):
            p = l.convolution_param
            k, pad, st = hw(p, 'kernel', None), hw(p, 'pad', 0), hw(p, 'stride', 1)
            d = list(p.dilation) or [1]
            d = [d[0], d[0]] if len(d) == 1 else d
            g = p.group
            if t == 'Convolution':
                out = [(s[2 + i] + 2 * pad[i] - (d[i] * (k[i] - 1) + 1)) // st[i] + 1 for i in range(2)]
                blob_shapes[l.name] = [[p.num_output, s[1] // g] + k] + ([[p.num_output]] if p.bias_term else [])
            else:
                out = [st[i] * (s[2 + i] - 1) + d[i] * (k[i] - 1) + 1 - 2 * pad[i] for i in range(2)]
                blob_shapes[l.name] = [[s[1], p.num_output // g] + k] + ([[p.num_output]] if p.bias_term else [])
            shapes[l.top[0]] = [s[0], p.num_output] + out
        elif t == 'Pooling':
            p = l.pooling_param
            if p.global_pooling:
                shapes[l.top[0]] = [s[0], s[1], 1, 1]
                continue
            k, pad, st = hw(p, 'kernel', None), hw(p, 'pad', 0), hw(p, 'stride', 1)
            out = []
            for i in range(2):
                o = -(-(s[2 + i] + 2 * pad[i] - k[i]) // st[i]) + 1
                if pad[i] and (o - 1) * st[i] >= s[2 + i] + pad[i]:
                    o -= 1
                out.append(o)
            shapes[l.top[0]] = [s[0], s[1]] + out
        elif t == 'InnerProduct':
            n = l.inner_product_param.num_output
            blob_shapes[l.name] = [[n, int(np.prod(s[1:]))], [n]]
            shapes[l.top[0]] = [s[0], n]
        elif t == 'BatchNorm':
            blob_shapes[l.name] = [[s[1]], [s[1]], [1]]
            shapes[l.top[0]] = s
        elif t == 'Scale':
            blob_shapes[l.name] = [[s[1]]] + ([[s[1]]] if l.scale_param.bias_term else [])
            shapes[l.top[0]] = s
        elif t == 'Bias':
            blob_shapes[l.name] = [[s[1]]]
            shapes[l.top[0]] = s
        elif t == 'Concat':
            shapes[l.top[0]] = [s[0], sum(x[1] for x in ins)] + s[2:]
        elif t == 'Split':
            for top in l.top:
                shapes[top] = s
        elif t == 'Slice':
            pts = [0] + list(l.slice_param.slice_point) + [s[1]]
            for i, top in enumerate(l.top):
                shapes[top] = [s[0], pts[i + 1] - pts[i]] + s[2:]
        elif t == 'Reshape':
            dims = list(l.reshape_param.shape.dim)
            dims = [s[i] if d == 0 else d for i, d in enumerate(dims)]
            if -1 in dims:
                dims[dims.index(-1)] = int(np.prod(s)) // -int(np.prod(dims))
            shapes[l.top[0]] = dims
        elif t == 'Flatten':
            shapes[l.top[0]] = [s[0], int(np.prod(s[1:]))]
        else:  # shape-preserving
            shapes[l.top[0]] = s
    return blob_shapes


def write_net(name, text, seed):
    rng = np.random.default_rng(seed)
    net = pb.NetParameter()
    text_format.Merge(text, net)  # protobuf's own text parser: the prototxt is valid as written
    v1 = len(net.layers) > 0
    layers = net.layers if v1 else net.layer
    inputs = {}
    if len(net.input_shape):
        inputs = {b: list(s.dim) for b, s in zip(net.input, net.input_shape)}
    elif len(net.input_dim):
        inputs = {b: list(net.input_dim[4 * i:4 * i + 4]) for i, b in enumerate(net.input)}
    blob_shapes = infer(net, layers, inputs)
    model = pb.NetParameter()
    model.CopyFrom(net)
    for l in (model.layers if v1 else model.layer):
        for i, shape in enumerate(blob_shapes.get(l.name, [])):
            fan_in = int(np.prod(shape[1:])) if len(shape) > 1 else 1
            if l.type == 'BatchNorm':
                # mean, variance (> 0) and the scale factor Caffe divides both by.
                vals = [rng.normal(0, 0.5, shape), rng.uniform(0.5, 2.0, shape), np.array([0.9])][i] * (0.9 if i < 2 else 1)
            elif l.type == 'Deconvolution' and i == 0:
                vals = rng.normal(0, np.sqrt(2.0 / (shape[1] * shape[2] * shape[3])), shape)
            elif len(shape) == 1:
                vals = rng.normal(0, 0.3, shape) + (1.0 if l.type == 'Scale' and i == 0 else 0.0)
            else:
                vals = rng.normal(0, np.sqrt(2.0 / fan_in), shape)
            b = l.blobs.add()
            if v1:
                # Blobs as Caffe wrote them before BlobShape: 4-D num/channels/height/width.
                legacy = [1] * (4 - len(shape)) + list(shape)
                b.num, b.channels, b.height, b.width = legacy
            else:
                b.shape.dim.extend(shape)
            b.data.extend(vals.astype(np.float32).ravel().tolist())
    with open(os.path.join(OUT, f'{name}.prototxt'), 'w') as f:
        f.write(text)
    with open(os.path.join(OUT, f'{name}.caffemodel'), 'wb') as f:
        f.write(model.SerializeToString())
    return net, inputs


def opencv_files(name):
    """The files OpenCV reads: OpenCV 4.6 has no Caffe 'Bias' layer, so each Bias is handed to it as
    the equivalent Scale with factor 1 and bias_term (the checked-in files keep the Bias)."""
    proto, model = os.path.join(OUT, f'{name}.prototxt'), os.path.join(OUT, f'{name}.caffemodel')
    net = pb.NetParameter()
    with open(proto) as f:
        text_format.Merge(f.read(), net)
    if not any(l.type == 'Bias' for l in net.layer):
        return proto, model
    weights = pb.NetParameter()
    with open(model, 'rb') as f:
        weights.ParseFromString(f.read())
    for msg in (net, weights):
        for l in msg.layer:
            if l.type != 'Bias':
                continue
            l.type = 'Scale'
            l.scale_param.bias_term = True
            if len(l.blobs):
                bias = pb.BlobProto()
                bias.CopyFrom(l.blobs[0])
                del l.blobs[:]
                one = l.blobs.add()
                one.shape.CopyFrom(bias.shape)
                one.data.extend([1.0] * len(bias.data))
                l.blobs.add().CopyFrom(bias)
    tmp = tempfile.mkdtemp(prefix='caffe-opencv-')
    proto, model = os.path.join(tmp, f'{name}.prototxt'), os.path.join(tmp, f'{name}.caffemodel')
    with open(proto, 'w') as f:
        f.write(text_format.MessageToString(net))
    with open(model, 'wb') as f:
        f.write(weights.SerializeToString())
    return proto, model


def input_shape_of(net, inputs):
    if inputs:
        return list(inputs.values())[0]
    for l in net.layer:
        if l.type == 'Input':
            return list(l.input_param.shape[0].dim)
    raise ValueError('no input')


def main():
    os.makedirs(OUT, exist_ok=True)
    # Mean image: a per-channel level plus a seeded ripple (its per-channel average is what dlkit keeps).
    mh = mw = 40
    rng = np.random.default_rng(5)
    mean_img = (np.array([104.0, 117.0, 123.0])[:, None, None] + rng.normal(0, 8, (3, mh, mw))).astype(np.float32)
    blob = pb.BlobProto()
    blob.shape.dim.extend([1, 3, mh, mw])
    blob.data.extend(mean_img.ravel().tolist())
    with open(os.path.join(OUT, 'mean.binaryproto'), 'wb') as f:
        f.write(blob.SerializeToString())
    with open(os.path.join(OUT, 'synset_words.txt'), 'w') as f:
        for i in range(10):
            f.write(f'n{1440764 + i:08d} class {i}, the {i}th\n')

    results = {}
    for name, (text, seed, pre, record) in NETS.items():
        net_param, inputs = write_net(name, text, seed)
        shape = input_shape_of(net_param, inputs)
        pixels = minstd_pixels(int(np.prod(shape)), seed).reshape(shape)  # the RGB input dlkit gets
        # Caffe's preprocessing, done here the way Caffe's deploy users do it.
        x = pixels.copy()
        if pre.get('bgr'):
            x = x[:, ::-1]
        if 'mean' in pre:
            x = x - np.array(pre['mean'], dtype=np.float32)[None, :, None, None]
        if 'meanFile' in pre:
            x = x - mean_img.mean(axis=(1, 2)).astype(np.float32)[None, :, None, None]
        x = (x * pre.get('scale', 1.0)).astype(np.float32)
        net = cv2.dnn.readNetFromCaffe(*opencv_files(name))
        net.setPreferableBackend(cv2.dnn.DNN_BACKEND_OPENCV)
        net.setPreferableTarget(cv2.dnn.DNN_TARGET_CPU)
        net.enableFusion(False)
        net.setInput(np.ascontiguousarray(x))
        outs = net.forward(record)
        results[name] = {
            'inputShape': [int(d) for d in shape],
            'seed': seed,
            'options': pre,
            'outputs': {n: {'shape': list(o.shape), 'data': [float(f'{v:.9g}') for v in o.astype(np.float32).ravel()]} for n, o in zip(record, outs)},
        }
        print(f'{name}: ' + ', '.join(f'{n} {list(o.shape)}' for n, o in zip(record, outs)))
    results['_meta'] = {
        'opencv': cv2.__version__,
        'script': 'scripts/make-caffe-fixtures.py',
        'meanFileChannelMeans': [float(v) for v in mean_img.mean(axis=(1, 2))],
    }
    with open(os.path.join(OUT, 'outputs.json'), 'w') as f:
        json.dump(results, f, separators=(',', ':'))
        f.write('\n')


if __name__ == '__main__':
    main()
