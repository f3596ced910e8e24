#!/usr/bin/python3
"""Records what PyTorch computes with the real CIFAR-10 ResNets, for test/zoo/cifar-resnet.test.ts.

    /usr/bin/python3 scripts/make-cifar-resnet-fixtures.py

Needs ../shared/data (pretrained/resnet-cifar10/*.th and cifar10/test). Uses Debian's
python3-torch (1.13) and PIL. Writes fixtures/cifar-resnet.json:
  images    the test images used (relative to cifar10/test): the first PER_CLASS of each class
  classes   the class folders, sorted (the label order)
  nets      per file: sha256, best_prec1, every state-dict entry's shape and sum, and the logits
            of every image (float32, shortest decimal) with their top-1 labels

The architecture is written here from the README's description (not imported from the
checkpoint's repository): conv1, bn1, three stages of basic blocks, option-A shortcuts
(x[:, :, ::2, ::2] with zero channels half before and half after), global average pooling, linear.
Images: PIL decodes each JPEG, ToTensor scales to [0, 1], Normalize(mean, std) as in the README.
"""
import hashlib
import json
import os

import numpy as np
import torch
from PIL import Image
from cifar_resnet import ResNet

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.path.join(os.path.dirname(ROOT), 'shared', 'data')
if not os.path.isdir(SHARED):
    SHARED = '/work/shared/data'
PRETRAINED = os.path.join(SHARED, 'pretrained', 'resnet-cifar10')
TEST = os.path.join(SHARED, 'cifar10', 'test')
OUT = os.path.join(ROOT, 'fixtures', 'cifar-resnet.json')
FILES = {'resnet20': ('resnet20-12fca82f.th', 3), 'resnet32': ('resnet32-d509ac18.th', 5)}
PER_CLASS = 20
MEAN, STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


def f32(v):
    return float(str(np.float32(v)))


def main():
    classes = sorted(os.listdir(TEST))
    images = [f'{c}/{name}' for c in classes for name in sorted(os.listdir(os.path.join(TEST, c)))[:PER_CLASS]]
    mean = torch.tensor(MEAN).view(3, 1, 1)
    std = torch.tensor(STD).view(3, 1, 1)
    batch = []
    for rel in images:
        with Image.open(os.path.join(TEST, rel)) as im:
            px = torch.from_numpy(np.asarray(im.convert('RGB'), dtype=np.uint8).copy()).permute(2, 0, 1).float() / 255
        batch.append((px - mean) / std)
    x = torch.stack(batch)

    nets = {}
    for key, (name, n) in FILES.items():
        path = os.path.join(PRETRAINED, name)
        with open(path, 'rb') as f:
            sha = hashlib.sha256(f.read()).hexdigest()
        ckpt = torch.load(path, map_location='cpu')
        sd = {k[len('module.'):]: v for k, v in ckpt['state_dict'].items()}
        model = ResNet(n)
        missing, unexpected = model.load_state_dict(sd, strict=False)
        assert not unexpected and all(k.endswith('num_batches_tracked') for k in missing), (missing, unexpected)
        model.eval()
        with torch.no_grad():
            logits = model(x)
        nets[key] = {
            'file': name, 'sha256': sha, 'best_prec1': float(ckpt['best_prec1']),
            'entries': {k: {'shape': list(v.shape), 'sum': float(v.double().sum())} for k, v in ckpt['state_dict'].items()},
            'logits': [[f32(v) for v in row] for row in logits.tolist()],
            'labels': logits.argmax(1).tolist(),
        }
        correct = sum(int(classes[l] == images[i].split('/')[0]) for i, l in enumerate(nets[key]['labels']))
        print(f'{key}: {correct}/{len(images)} of the fixture images correct')
    with open(OUT, 'w') as f:
        json.dump({'perClass': PER_CLASS, 'mean': MEAN, 'std': STD, 'classes': classes, 'images': images, 'nets': nets}, f)
        f.write('\n')
    print('wrote', OUT, os.path.getsize(OUT), 'bytes')


if __name__ == '__main__':
    main()
