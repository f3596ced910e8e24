#!/usr/bin/python3
"""Records torchvision's definitions of the zoo's architectures, for test/zoo/architectures.test.ts.

    /usr/bin/python3 scripts/make-zoo-fixtures.py

Uses Debian's python3-torch (1.13) and python3-torchvision (0.14), single-threaded. Writes
fixtures/zoo.json:
  formula   how every state-dict tensor and input is filled (below); the test fills dlkit's the same way
  nets      per zoo name:
    published   the parameter count torchvision's weights metadata gives (num_params), where it has one
    counted     the parameters of the network built here (GoogLeNet: without the aux heads)
    keys        every state-dict entry of the torchvision network, in its order: "name shape"
                (GoogLeNet as its pretrained file: with aux1.* and aux2.*)
    output      for the smaller networks: logits on `batch` formula images of `size`, with the
                network built for `classes` classes, state dict filled by the formula

Nothing is random: the state dict's k-th tensor (in `keys` order; aux heads included, unused),
of n values, gets value[i] from s = sin((i % 1013) * 0.37 + k + (i % 97) * (i % 89) * 0.0123)
(float64, evaluated left to right, then float32). The product term keeps weight matrices from
being rank 2, as sin(i a + k) alone makes them; the remainders keep the arguments small, so
sin is fast and both sides compute it alike.
  num_batches_tracked 0; running_var 1 + 0.25 s; running_mean 0.1 s;
  weights with 2+ dims s * 2 / sqrt(fan_in), fan_in = n / shape[0];
  1-D weights (batch norm scale) 1 + 0.25 s; every other 1-D tensor (biases, bn shift) 0.1 s.
Input pixels (0-255 RGB, [N, 3, H, W] row-major, flat index j): 127.5 + 127.5 sin((j % 1013) * 0.173 + (j % 97) * (j % 89) * 0.0007).
The torchvision networks see them as their pretrained weights expect: x/255 normalized with
ImageNet's mean and std (GoogLeNet with transform_input=True, as torchvision builds it for its
weights); BVLC AlexNet sees BGR pixels minus (104, 117, 123).

BVLC AlexNet is written here from the layer list of the paper's Caffe model (conv1..fc8, LRN
across 5 channels with alpha 1e-4 and beta 0.75, 2-group conv2/4/5, ceil-mode 3/2 max pools);
torch's LocalResponseNorm divides alpha by the size, as Caffe's LRN does.
"""
import json
import math
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torchvision
from torchvision import models

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, 'fixtures', 'zoo.json')
MEAN, STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
CLASSES = 10  # the output checks use a 10-class head: the same network, a smaller fixture


class BvlcAlexNet(nn.Module):
    def __init__(self, num_classes=1000):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 96, 11, stride=4)
        self.conv2 = nn.Conv2d(96, 256, 5, padding=2, groups=2)
        self.conv3 = nn.Conv2d(256, 384, 3, padding=1)
        self.conv4 = nn.Conv2d(384, 384, 3, padding=1, groups=2)
        self.conv5 = nn.Conv2d(384, 256, 3, padding=1, groups=2)
        self.fc6 = nn.Linear(256 * 6 * 6, 4096)
        self.fc7 = nn.Linear(4096, 4096)
        self.fc8 = nn.Linear(4096, num_classes)
        self.lrn = nn.LocalResponseNorm(5, alpha=1e-4, beta=0.75, k=1.0)
        self.pool = nn.MaxPool2d(3, stride=2, ceil_mode=True)

    def forward(self, x):
        relu = torch.relu
        x = self.pool(self.lrn(relu(self.conv1(x))))
        x = self.pool(self.lrn(relu(self.conv2(x))))
        x = self.pool(relu(self.conv5(relu(self.conv4(relu(self.conv3(x)))))))
        x = relu(self.fc7(relu(self.fc6(x.flatten(1)))))
        return self.fc8(x)


# zoo name -> (builder(num_classes), weights enum or None, output check: (batch, size) or None)
NETS = {
    'alexnet': (lambda n: models.alexnet(num_classes=n), models.AlexNet_Weights, (2, 64)),
    'vgg16': (lambda n: models.vgg16(num_classes=n), models.VGG16_Weights, None),
    'vgg19': (lambda n: models.vgg19(num_classes=n), models.VGG19_Weights, None),
    'resnet18': (lambda n: models.resnet18(num_classes=n), models.ResNet18_Weights, (2, 64)),
    'resnet50': (lambda n: models.resnet50(num_classes=n), models.ResNet50_Weights, None),
    'googlenet': (lambda n: models.googlenet(num_classes=n, aux_logits=True, transform_input=True, init_weights=False), models.GoogLeNet_Weights, (2, 64)),
    'squeezenet1_0': (lambda n: models.squeezenet1_0(num_classes=n), models.SqueezeNet1_0_Weights, None),
    'squeezenet1_1': (lambda n: models.squeezenet1_1(num_classes=n), models.SqueezeNet1_1_Weights, (2, 64)),
    'mobilenet_v2': (lambda n: models.mobilenet_v2(num_classes=n), models.MobileNet_V2_Weights, (2, 64)),
    'bvlc-alexnet': (lambda n: BvlcAlexNet(n), None, (1, 227)),
}


def formula_value(name, shape, k):
    n = int(np.prod(shape)) if len(shape) else 1
    if name.endswith('num_batches_tracked'):
        return torch.zeros(shape, dtype=torch.int64)
    i = np.arange(n, dtype=np.float64)
    s = np.sin(np.mod(i, 1013) * 0.37 + k + np.mod(i, 97) * np.mod(i, 89) * 0.0123)
    if name.endswith('running_var'):
        v = 1 + 0.25 * s
    elif name.endswith('running_mean'):
        v = 0.1 * s
    elif len(shape) >= 2:
        v = s * 2 / math.sqrt(n / shape[0])
    elif name.endswith('weight'):
        v = 1 + 0.25 * s
    else:
        v = 0.1 * s
    return torch.from_numpy(v.astype(np.float32)).reshape(shape)


def pixels(batch, size):
    j = np.arange(batch * 3 * size * size, dtype=np.float64)
    return torch.from_numpy((127.5 + 127.5 * np.sin(np.mod(j, 1013) * 0.173 + np.mod(j, 97) * np.mod(j, 89) * 0.0007)).astype(np.float32)).reshape(batch, 3, size, size)


def model_input(name, x):
    if name == 'bvlc-alexnet':
        return x.flip(1) - torch.tensor([104.0, 117.0, 123.0]).view(1, 3, 1, 1)
    return (x / 255 - torch.tensor(MEAN).view(1, 3, 1, 1)) / torch.tensor(STD).view(1, 3, 1, 1)


def fill(model):
    sd = model.state_dict()
    filled = {k: formula_value(k, list(t.shape), i) for i, (k, t) in enumerate(sd.items())}
    model.load_state_dict(filled)


def main():
    if torch.__version__.split('.')[:2] != ['1', '13']:
        print(f'warning: expected torch 1.13 (the libtorch dlkit links), got {torch.__version__}', file=sys.stderr)
    torch.set_num_threads(1)
    torch.manual_seed(0)  # only torchvision's own initialization, overwritten by the formula
    nets = {}
    for name, (build, weights, check) in NETS.items():
        model = build(1000).eval()
        sd = model.state_dict()
        entry = {
            'counted': sum(p.numel() for k, p in model.named_parameters() if not k.startswith(('aux1.', 'aux2.'))),
            'keys': [f"{k} {','.join(map(str, t.shape))}" for k, t in sd.items()],
        }
        if weights is not None:
            entry['published'] = weights.DEFAULT.meta['num_params']
        del model, sd
        if check:
            batch, size = check
            model = build(CLASSES).eval()
            fill(model)
            with torch.no_grad():
                out = model(model_input(name, pixels(batch, size)))
            entry['output'] = {'batch': batch, 'size': size, 'classes': CLASSES, 'shape': list(out.shape),
                               'data': [float(f'{v:.8g}') for v in out.reshape(-1).tolist()]}
            del model
        nets[name] = entry
        print(f"{name}: {entry['counted']:,} parameters, {len(entry['keys'])} state-dict entries{', output ' + str(entry['output']['shape']) if check else ''}")
    head = {'generator': 'scripts/make-zoo-fixtures.py', 'torch': torch.__version__, 'torchvision': torchvision.__version__,
            'formula': 'see the script: s = sin((i % 1013) * 0.37 + k + (i % 97) * (i % 89) * 0.0123); pixels 127.5 + 127.5 sin((j % 1013) * 0.173 + (j % 97) * (j % 89) * 0.0007)'}
    with open(OUT, 'w') as f:
        json.dump({**head, 'nets': nets}, f, separators=(',', ':'))
        f.write('\n')
    print(f'{OUT}: {os.path.getsize(OUT) / 1024:.0f} KiB')


if __name__ == '__main__':
    main()
