"""The detection benchmark's peer: torchvision's SSDlite320 (MobileNetV3-Large backbone), from
scratch (no pretrained weights), trained on a Pascal VOC folder's trainval split within a
wall-clock budget, then run on the test split. Writes one JSON line: the test detections (boxes
in the files' pixels, 0-based labels) for the TypeScript side to score with the same metric code
as dlkit, plus the training time and detection speed.

Why SSDlite320: it is torchvision's lightest detector, the only one whose training step fits a
2-core CPU budget of minutes (FCOS/RetinaNet/Faster R-CNN on ResNet-50 FPN at 800 px manage a
few images per second here). Recipe after torchvision's reference for it (SGD with momentum,
weight decay 4e-5, cosine schedule, horizontal flips), the learning rate scaled to the batch.

Usage: detection_peer.py --data DIR --minutes M [--batch 16] [--threads 2] [--seed 0]
"""
import argparse
import json
import math
import os
import sys
import time
import xml.etree.ElementTree as ET

import torch
import torchvision
from PIL import Image
from torchvision.models.detection import ssdlite320_mobilenet_v3_large
import torchvision.transforms.functional as TF


def read_split(root, split, classes=None):
    ids = [l.strip() for l in open(os.path.join(root, 'ImageSets', 'Main', f'{split}.txt')) if l.strip()]
    items = []
    for i in ids:
        tree = ET.parse(os.path.join(root, 'Annotations', f'{i}.xml')).getroot()
        w = int(tree.find('size/width').text)
        h = int(tree.find('size/height').text)
        boxes, names = [], []
        for obj in tree.findall('object'):
            b = obj.find('bndbox')
            x1, y1, x2, y2 = (float(b.find(k).text) for k in ('xmin', 'ymin', 'xmax', 'ymax'))
            # VOC is 1-based inclusive; skip the degenerate or out-of-image boxes dlkit also skips.
            x1, y1 = x1 - 1, y1 - 1
            if not (x2 > x1 and y2 > y1) or x1 < -0.5 or y1 < -0.5 or x2 > w + 0.5 or y2 > h + 0.5:
                continue
            boxes.append([max(x1, 0), max(y1, 0), min(x2, w), min(y2, h)])
            names.append(obj.find('name').text.strip())
        items.append((os.path.join(root, 'JPEGImages', f'{i}.jpg'), boxes, names))
    if classes is None:
        classes = sorted({n for _, _, ns in items for n in ns})
    return items, classes


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--data', required=True)
    p.add_argument('--minutes', type=float, required=True)
    p.add_argument('--batch', type=int, default=16)
    p.add_argument('--threads', type=int, default=2)
    p.add_argument('--seed', type=int, default=0)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    train, classes = read_split(a.data, 'trainval')
    test, _ = read_split(a.data, 'test', classes)
    # Images decoded once (as dlkit's pixel cache does), kept as uint8 tensors.
    def load(items):
        out = []
        for f, boxes, names in items:
            img = TF.pil_to_tensor(Image.open(f).convert('RGB'))
            out.append((img, torch.tensor(boxes, dtype=torch.float32).reshape(-1, 4), torch.tensor([classes.index(n) + 1 for n in names], dtype=torch.int64)))
        return out
    t_load = time.time()
    train_data = load(train)
    test_data = load(test)
    load_s = time.time() - t_load
    model = ssdlite320_mobilenet_v3_large(weights=None, weights_backbone=None, num_classes=len(classes) + 1)
    lr = 0.15 * a.batch / 192  # the reference's 0.15 at batch 24 x 8 GPUs, scaled linearly
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9, weight_decay=4e-5)
    budget = a.minutes * 60
    g = torch.Generator().manual_seed(a.seed)

    def batches():
        order = torch.randperm(len(train_data), generator=g).tolist()
        for i in range(0, len(order) - a.batch + 1, a.batch):
            imgs, targets = [], []
            for k in order[i:i + a.batch]:
                img, boxes, labels = train_data[k]
                img = img.float() / 255
                if torch.rand(1, generator=g).item() < 0.5:
                    img = img.flip(-1)
                    w = img.shape[-1]
                    boxes = torch.stack([w - boxes[:, 2], boxes[:, 1], w - boxes[:, 0], boxes[:, 3]], 1) if len(boxes) else boxes
                imgs.append(img)
                targets.append({'boxes': boxes, 'labels': labels})
            yield imgs, targets

    model.train()
    t0 = time.time()
    epochs = None
    epoch = 0
    iters_per_epoch = len(train_data) // a.batch
    it = 0
    stop = False
    while not stop:
        for imgs, targets in batches():
            # Cosine over the iterations the budget allows (known after the first epoch; constant before).
            if epochs is not None:
                total = epochs * iters_per_epoch
                for group in opt.param_groups:
                    group['lr'] = lr * 0.5 * (1 + math.cos(math.pi * min(it, total) / total))
            losses = model(imgs, targets)
            loss = sum(losses.values())
            opt.zero_grad()
            loss.backward()
            opt.step()
            it += 1
            if not math.isfinite(loss.item()):
                print(json.dumps({'error': f'loss became {loss.item()} at iteration {it}'}))
                return
            if time.time() - t0 > budget:
                stop = True
                break
        epoch += 1
        if epochs is None:
            epochs = max(1, int(budget / (time.time() - t0)))
        print(f'  torchvision epoch {epoch}/{epochs} loss {loss.item():.3f} {time.time() - t0:.0f} s', file=sys.stderr, flush=True)
        if epoch >= epochs:
            stop = True
    train_s = time.time() - t0
    model.eval()
    model.score_thresh = 0.01
    model.detections_per_img = 100
    dets = []
    t1 = time.time()
    with torch.inference_mode():
        for i in range(0, len(test_data), 8):
            imgs = [img.float() / 255 for img, _, _ in test_data[i:i + 8]]
            for (f, _, _), out in zip(test[i:i + 8], model(imgs)):
                dets.append({'file': f, 'boxes': out['boxes'].flatten().tolist(), 'scores': out['scores'].tolist(), 'labels': (out['labels'] - 1).tolist()})
    detect_s = time.time() - t1
    print(json.dumps({'model': 'ssdlite320_mobilenet_v3_large', 'classes': classes, 'epochs': epoch, 'iterations': it, 'trainSeconds': train_s, 'loadSeconds': load_s,
                      'imagesPerSecond': len(test_data) / detect_s, 'detections': dets}))


if __name__ == '__main__':
    main()
