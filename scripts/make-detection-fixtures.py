#!/usr/bin/python3
"""Writes the reference fixtures dlkit's detection tests compare against.

    /usr/bin/python3 scripts/make-detection-fixtures.py
    /usr/bin/python3 scripts/make-detection-fixtures.py --odm DIR --review DIR   (also the AP examples)

Uses Debian's python3-torchvision (0.14). Writes
  fixtures/detection/nms.json   torchvision.ops.box_iou, nms and batched_nms on seeded random boxes
                                (clusters, tied scores) and degenerate cases (identical boxes,
                                zero-area boxes, empty input, thresholds 0 and 1)

With --odm (a checkout of github.com/rafaelpadilla/Object-Detection-Metrics, MIT licence) and
--review (a checkout of github.com/rafaelpadilla/review_object_detection_metrics, MIT licence) it
also converts their published DATA (never their code) into
  fixtures/detection/padilla-worked-example.json   the README's 7 images / 15 truths / 24
        detections, its TP/FP table at IoU 0.3, and the APs that review_object_detection_metrics'
        tests/test_eval_pascal.py asserts at IoU 0.1/0.3/0.5/0.75 (all-point and 11-point)
  fixtures/detection/coco-sample.json   tests/test_coco_eval: 100 COCO val2014 images, 830 truths,
        734 detections, and the AP/AP50/AP75 that pycocotools gives on them (test_eval_coco.py)
Boxes are stored as x1,y1,x2,y2 (converted from the sources' x,y,w,h).

float32 values are written as the shortest decimal that reads back to the same float32, so
JSON -> Float32Array is exact.
"""
import argparse
import glob
import json
import os

import numpy as np
import torch
from torchvision.ops import batched_nms, box_iou, nms

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT_DIR = os.path.join(ROOT, 'fixtures', 'detection')
SEED = 0


def f32(v):
    """The shortest decimal that reads back as the same float32."""
    return float(str(np.float32(v)))


def flat32(t):
    return [f32(v) for v in t.reshape(-1).tolist()]


def random_boxes(n, size=100.0, clusters=0, gen=None):
    """x1,y1,x2,y2 boxes, coordinates rounded to 2 decimals; with clusters, boxes jitter around
    a few centres so that many overlap (what a detector's raw candidates look like)."""
    if clusters:
        centres = torch.rand(clusters, 2, generator=gen, dtype=torch.float64) * size
        which = torch.randint(0, clusters, (n,), generator=gen)
        c = centres[which] + torch.randn(n, 2, generator=gen, dtype=torch.float64) * size * 0.03
    else:
        c = torch.rand(n, 2, generator=gen, dtype=torch.float64) * size
    wh = torch.rand(n, 2, generator=gen, dtype=torch.float64) * size * 0.2 + size * 0.02
    b = torch.cat([c - wh / 2, c + wh / 2], 1)
    return (torch.round(b * 100) / 100).to(torch.float32)


def tied_scores(n, gen, decimals=1):
    """Scores rounded to few decimals so that many tie: the tie order is part of what is checked."""
    s = torch.rand(n, generator=gen, dtype=torch.float64)
    return (torch.round(s * 10 ** decimals) / 10 ** decimals).to(torch.float32)


def nms_fixtures():
    gen = torch.Generator().manual_seed(SEED)
    out = {'boxIoU': [], 'nms': [], 'batchedNms': []}

    def add_iou(name, a, b):
        out['boxIoU'].append({'name': name, 'k': a.shape[0], 'm': b.shape[0], 'a': flat32(a), 'b': flat32(b), 'iou': flat32(box_iou(a, b))})

    def add_nms(name, boxes, scores, thr):
        keep = nms(boxes, scores, thr)
        out['nms'].append({'name': name, 'iouThreshold': thr, 'boxes': flat32(boxes), 'scores': flat32(scores), 'keep': keep.tolist()})

    def add_batched(name, boxes, scores, labels, thr):
        keep = batched_nms(boxes, scores, labels, thr)
        out['batchedNms'].append({'name': name, 'iouThreshold': thr, 'boxes': flat32(boxes), 'scores': flat32(scores), 'labels': labels.tolist(), 'keep': keep.tolist()})

    a = random_boxes(7, clusters=2, gen=gen)
    b = torch.cat([random_boxes(6, clusters=2, gen=gen), a[:1], torch.tensor([[200., 200., 210., 220.], [a[1, 0] + 1, a[1, 1] + 1, a[1, 2] - 1, a[1, 3] - 1]])])
    add_iou('random 7x9 (with an identical, a disjoint and a contained box)', a, b)
    add_iou('empty x 3', torch.zeros(0, 4), random_boxes(3, gen=gen))
    add_iou('zero-area against boxes', torch.tensor([[5., 5., 5., 15.], [0., 0., 0., 0.]]), torch.tensor([[0., 0., 10., 10.], [1., 1., 2., 2.]]))

    for n, clusters, thr in [(60, 0, 0.5), (300, 8, 0.3), (300, 8, 0.5), (300, 8, 0.7), (800, 20, 0.5)]:
        boxes = random_boxes(n, clusters=clusters, gen=gen)
        add_nms(f'random {n} boxes, {clusters or "no"} clusters, tied scores, IoU {thr}', boxes, tied_scores(n, gen), thr)
    boxes = random_boxes(100, clusters=5, gen=gen)
    add_nms('distinct scores, IoU 0.45', boxes, torch.rand(100, generator=gen), 0.45)
    same = torch.tensor([[10., 10., 20., 20.]]).repeat(5, 1)
    add_nms('identical boxes, identical scores (the first index wins)', same, torch.full((5,), 0.5), 0.5)
    add_nms('identical boxes, threshold 1 (IoU 1 is not > 1: all kept)', same, torch.tensor([0.1, 0.9, 0.5, 0.7, 0.3]), 1.0)
    add_nms('threshold 0 (any overlap suppresses; touching edges do not)', torch.tensor([[0., 0., 10., 10.], [10., 0., 20., 10.], [9., 9., 30., 30.], [50., 50., 60., 60.]]), torch.tensor([0.9, 0.8, 0.7, 0.6]), 0.0)
    zero = torch.tensor([[5., 5., 5., 5.], [5., 5., 5., 5.], [0., 0., 10., 10.], [5., 0., 5., 10.], [1., 1., 9., 9.]])
    add_nms('zero-area boxes (0/0 IoU never suppresses)', zero, torch.tensor([0.9, 0.8, 0.7, 0.6, 0.5]), 0.5)
    add_nms('one box', torch.tensor([[1., 2., 3., 4.]]), torch.tensor([0.3]), 0.5)
    add_nms('no boxes', torch.zeros(0, 4), torch.zeros(0), 0.5)

    for n, classes, clusters, thr in [(200, 4, 6, 0.5), (1050, 5, 15, 0.5)]:  # 1050*4 > 4000: torchvision's per-class path
        boxes = random_boxes(n, clusters=clusters, gen=gen)
        labels = torch.randint(0, classes, (n,), generator=gen)
        add_batched(f'random {n} boxes, {classes} classes, tied scores, IoU {thr}', boxes, tied_scores(n, gen), labels, thr)
    add_batched('identical boxes of different classes never suppress each other', same, torch.tensor([0.5, 0.5, 0.9, 0.1, 0.5]), torch.tensor([0, 1, 0, 1, 2]), 0.5)
    add_batched('no boxes', torch.zeros(0, 4), torch.zeros(0), torch.zeros(0, dtype=torch.int64), 0.5)
    return out


def read_lines(path):
    with open(path) as f:
        return [line.split() for line in f if line.strip()]


def xywh_to_xyxy(x, y, w, h):
    return [x, y, x + w, y + h]


def padilla_example(odm, review):
    names = sorted(os.path.basename(p) for p in glob.glob(os.path.join(odm, 'groundtruths', '*.txt')))
    images = []
    for name in names:
        gts = read_lines(os.path.join(odm, 'groundtruths', name))
        dets = read_lines(os.path.join(odm, 'detections', name))
        images.append({
            'image': name[:-4],
            'truths': [xywh_to_xyxy(*map(float, g[1:5])) for g in gts],
            'detections': [{'score': float(d[1]), 'box': xywh_to_xyxy(*map(float, d[2:6]))} for d in dets],
        })
    # The README's table 1 (detections A..Y, TP or FP at IoU 0.3), in the detection files' order.
    with open(os.path.join(odm, 'README.md')) as f:
        rows = [line for line in f.read().split('\n') if line.startswith('| Image ') and line.count('|') == 5]
    table = [[c.strip() for c in row.strip('|').split('|')] for row in rows]
    assert len(table) == 24, f'expected 24 rows in the README table, found {len(table)}'
    return {
        'source': 'github.com/rafaelpadilla/Object-Detection-Metrics (MIT licence), README "A practical example": '
                  'groundtruths/ and detections/ (x,y,w,h converted to x1,y1,x2,y2); expected APs from '
                  'github.com/rafaelpadilla/review_object_detection_metrics (MIT licence) tests/test_eval_pascal.py, '
                  'the README gives 24.56% (all-point) and 26.84% (11-point) at IoU 0.3. Both projects compute IoU '
                  'with the VOC devkit\'s inclusive-pixel convention (width = x2 - x1 + 1).',
        'class': 'person',
        'images': images,
        'tpAtIoU0.3': [{'image': int(t[0].split()[1]), 'detection': t[1], 'score': float(t[2].rstrip('%')) / 100, 'tp': t[3] == 'TP'} for t in table],
        'expected': {
            'voc-11-point': {'0.1': 0.3333333333, '0.3': 0.2683982683, '0.5': 0.0303030303, '0.75': 0.0},
            'voc-all-point': {'0.1': 0.3371980676, '0.3': 0.2456866804, '0.5': 0.0222222222, '0.75': 0.0},
        },
    }


def coco_sample(review):
    base = os.path.join(review, 'tests', 'test_coco_eval')
    with open(os.path.join(base, 'gts', 'sampled_gts_bbox_area.json')) as f:
        gts = json.load(f)
    with open(os.path.join(base, 'dets', 'sampled_bbox_results.json')) as f:
        dets = json.load(f)['annotations']
    assert not any(a.get('iscrowd', 0) for a in gts['annotations']), 'crowd truths are not converted'
    return {
        'source': 'github.com/rafaelpadilla/review_object_detection_metrics (MIT licence) tests/test_coco_eval '
                  '(100 COCO val2014 images; COCO annotations CC BY 4.0); expected values are those '
                  'tests/test_eval_coco.py asserts, obtained with pycocotools (area "all", maxDets 100)',
        'imageIds': sorted(i['id'] for i in gts['images']),
        'categories': [[c['id'], c['name']] for c in sorted(gts['categories'], key=lambda c: c['id'])],
        # [image id, category id, x1, y1, x2, y2]
        'truths': [[a['image_id'], a['category_id'], *[round(v, 4) for v in xywh_to_xyxy(*a['bbox'])]] for a in gts['annotations']],
        # [image id, category id, score, x1, y1, x2, y2]
        'detections': [[d['image_id'], d['category_id'], d['score'], *[round(v, 4) for v in xywh_to_xyxy(*d['bbox'])]] for d in dets],
        'expected': {'AP': 0.503647, 'AP50': 0.696973, 'AP75': 0.571667, 'tolerance': 1e-6},
    }


def write(name, obj):
    path = os.path.join(OUT_DIR, name)
    with open(path, 'w') as f:
        json.dump(obj, f, separators=(',', ':'))
        f.write('\n')
    print(f'{path}: {os.path.getsize(path)} bytes')


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--odm', help='checkout of rafaelpadilla/Object-Detection-Metrics')
    parser.add_argument('--review', help='checkout of rafaelpadilla/review_object_detection_metrics')
    args = parser.parse_args()
    os.makedirs(OUT_DIR, exist_ok=True)
    torch.manual_seed(SEED)
    write('nms.json', nms_fixtures())
    if args.odm and args.review:
        write('padilla-worked-example.json', padilla_example(args.odm, args.review))
        write('coco-sample.json', coco_sample(args.review))


if __name__ == '__main__':
    main()
