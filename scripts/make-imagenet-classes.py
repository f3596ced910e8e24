#!/usr/bin/python3
"""Writes data/imagenet-classes.txt: the 1,000 ImageNet-1k class names in output order, one per line,
as torchvision's pretrained classifiers number them (torchvision.models._meta._IMAGENET_CATEGORIES).

    /usr/bin/python3 scripts/make-imagenet-classes.py

Read by imagenetClasses() in src/zoo/imagenet.ts. The names are unique (torchvision already tells
apart the two WordNet 'crane's and 'maillot's: 'crane bird', 'maillot tank suit').
"""
import os

from torchvision.models._meta import _IMAGENET_CATEGORIES

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, 'data', 'imagenet-classes.txt')


def main():
    names = list(_IMAGENET_CATEGORIES)
    if len(names) != 1000 or len(set(names)) != 1000 or any('\n' in n or n != n.strip() or not n for n in names):
        raise ValueError(f'unexpected category list: {len(names)} names')
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, 'w') as f:
        f.write('\n'.join(names) + '\n')
    print(f'{OUT}: {len(names)} names')


if __name__ == '__main__':
    main()
