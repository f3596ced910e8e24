#!/usr/bin/python3
"""Writes the PyTorch checkpoint files dlkit's checkpoint reader is tested on.

    /usr/bin/python3 scripts/make-checkpoint-fixtures.py

Uses Debian's python3-torch (1.13). Writes into fixtures/checkpoints/:
  zip-p2.pt, zip-p4.pt     torch.save (zip format, PyTorch >= 1.6) of OBJ, pickle protocols 2 and 4
  legacy-p2.pt             torch.save(..., _use_new_zipfile_serialization=False) of OBJ (the pre-1.6 format)
  values-p0.pkl … -p5.pkl  plain pickles of VALUES (no torch), one per pickle protocol
  expected.json            what each file holds, in the encoding described at `expect()`
  evil.pkl                 a pickle whose load would run os.system('touch MARKER')
  evil-zip.pt, evil-legacy.pt   checkpoints holding a tensor and that same payload
  load-from-bytes.pt       a checkpoint calling torch.storage._load_from_bytes (torch.load on bytes)
  training.pt              a training checkpoint: {'model': a module's state_dict() (with its _metadata),
                           'epoch', 'optimizer': SGD-with-momentum state (tensors under int keys)}
  mixed.pt                 a state dict with entries that are not tensors
  qtensor.pt, complex.pt   a quantized tensor, a complex tensor (dlkit has neither)
  missing-storage.pt       zip-p2.pt without its first storage record

The malicious files are only *built*: pickle.dumps of an object whose __reduce__ names
os.system writes the bytes that would call it, and nothing here loads them.
"""
import io
import json
import math
import os
import pickle
import zipfile
from collections import OrderedDict

import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, 'fixtures', 'checkpoints')
MARKER = '/tmp/dlkit-pickle-payload-ran'

DTYPES = {
    torch.float32: 'float32', torch.float64: 'float64', torch.float16: 'float16', torch.bfloat16: 'bfloat16',
    torch.int64: 'int64', torch.int32: 'int32', torch.int16: 'int16', torch.int8: 'int8', torch.uint8: 'uint8',
    torch.bool: 'bool',
}


def make_obj():
    g = torch.Generator().manual_seed(0)
    base = torch.arange(24, dtype=torch.float32).reshape(4, 6) * 0.5 - 3
    r = torch.randn(2, 3, generator=g, dtype=torch.float64)
    tensors = OrderedDict()
    tensors['float32'] = r.float()
    tensors['float64'] = r * 1e-3
    tensors['float16'] = torch.tensor([0.5, -2.0, 65504.0, 1e-4]).half()
    tensors['bfloat16'] = torch.tensor([[1.5, -3.25], [1e30, -1e-30]]).bfloat16()
    tensors['int64'] = torch.tensor([-(2 ** 40), 0, 2 ** 40 + 3])
    tensors['int32'] = torch.tensor([[-(2 ** 31), 2 ** 31 - 1]], dtype=torch.int32)
    tensors['int16'] = torch.tensor([-32768, 7, 32767], dtype=torch.int16)
    tensors['int8'] = torch.tensor([-128, 0, 127], dtype=torch.int8)
    tensors['uint8'] = torch.tensor([0, 200, 255], dtype=torch.uint8)
    tensors['bool'] = torch.tensor([True, False, True])
    tensors['scalar'] = torch.tensor(3.5)
    tensors['empty'] = torch.zeros(0, 3)
    # Views: every one of these shares `base`'s storage.
    tensors['base'] = base
    tensors['row'] = base[1]                    # offset 6
    tensors['transposed'] = base.t()            # strides (1, 6)
    tensors['strided'] = base[::2, 1::2]        # offset 1, strides (12, 2)
    tensors['param'] = torch.nn.Parameter(torch.randn(3, generator=g))
    return OrderedDict([
        ('tensors', tensors),
        ('epoch', 7),
        ('nested', {
            'list': [1, 2.5, 'three', None, True, torch.ones(2)],
            'tuple': (1, (2, 'x')),
            'od': OrderedDict([('b', 1), ('a', torch.zeros(1, dtype=torch.int64))]),
            'big': 2 ** 70, 'neg': -5, 'bytes': b'\x00\x01ab', 'text': 'h\u00e9llo \u2713',
        }),
    ])


shared = [1, 2]
VALUES = {
    'ints': [0, 1, -1, 255, 256, 65535, 65536, -(2 ** 31), 2 ** 31 - 1, 2 ** 53, -(2 ** 63), 2 ** 64, -(2 ** 100)],
    'floats': [0.0, -0.0, 1.5, -2.25e-300, 1e308, math.inf, -math.inf],
    'strings': ['', 'ascii', 'h\u00e9llo \u2713 \U0001F600', 'a\nb\\c'],
    'bytes': [b'', b'\x00\xff\x80abc', bytearray(b'xy')],
    'bools': [True, False, None],
    'tuples': [(), (1,), (1, 2), (1, 2, 3), (1, 2, 3, 4)],
    'set': {3, 1, 2},
    'frozenset': frozenset({'a'}),
    'dicts': {'k': {'inner': [1]}, 5: 'int key', 'od': OrderedDict([('z', 1), ('y', 2)])},
    'same_twice': [shared, shared],
    'long_list': list(range(1200)),
}


def expect(v):
    """JSON for a value: tensors {'tensor': {dtype, shape, values}}, bytes {'bytes': [...]},
    sets {'set': [...]}, ints from 2^53 on (not safe in JS) {'int': 'digits'}, non-finite floats {'float': 'inf'},
    dicts and OrderedDicts as objects (keys as strings), lists and tuples as arrays."""
    if isinstance(v, torch.Tensor):
        t = v.detach()
        values = t.float().reshape(-1).tolist() if t.dtype == torch.bfloat16 else t.reshape(-1).tolist()
        return {'tensor': {'dtype': DTYPES[t.dtype], 'shape': list(t.shape), 'values': values,
                           'parameter': isinstance(v, torch.nn.Parameter)}}
    if isinstance(v, bool) or v is None or isinstance(v, str):
        return v
    if isinstance(v, int):
        return v if abs(v) < 2 ** 53 else {'int': str(v)}
    if isinstance(v, float):
        return v if math.isfinite(v) else {'float': str(v)}
    if isinstance(v, (bytes, bytearray)):
        return {'bytes': list(v)}
    if isinstance(v, (set, frozenset)):
        return {'set': sorted(expect(x) for x in v)}
    if isinstance(v, dict):
        return {str(k): expect(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [expect(x) for x in v]
    raise TypeError(type(v))


class Payload:
    """Pickles as a call of os.system; pickling it only writes the bytes of that call."""
    def __reduce__(self):
        return (os.system, ('touch ' + MARKER,))


class LoadFromBytes:
    def __reduce__(self):
        buf = io.BytesIO()
        torch.save(torch.zeros(2), buf)
        return (torch.storage._load_from_bytes, (buf.getvalue(),))


def save(obj, name, **kw):
    torch.save(obj, os.path.join(OUT, name), **kw)


def main():
    os.makedirs(OUT, exist_ok=True)
    obj = make_obj()
    save(obj, 'zip-p2.pt')
    save(obj, 'zip-p4.pt', pickle_protocol=4)
    save(obj, 'legacy-p2.pt', _use_new_zipfile_serialization=False)
    # Reading back through torch proves the expectations describe what torch itself loads.
    for name in ['zip-p2.pt', 'zip-p4.pt', 'legacy-p2.pt']:
        assert expect(torch.load(os.path.join(OUT, name))) == expect(obj), name
    for p in range(6):
        with open(os.path.join(OUT, f'values-p{p}.pkl'), 'wb') as f:
            pickle.dump(VALUES, f, protocol=p)

    torch.manual_seed(0)
    module = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 1), torch.nn.BatchNorm2d(2))
    opt = torch.optim.SGD(module.parameters(), lr=0.1, momentum=0.9)
    module(torch.randn(2, 1, 3, 3)).sum().backward()
    opt.step()
    training = {'model': module.state_dict(), 'epoch': 3, 'optimizer': opt.state_dict()}
    save(training, 'training.pt')
    save({'w': torch.ones(2), 'step': 5, 'note': 'x'}, 'mixed.pt')

    with open(os.path.join(OUT, 'evil.pkl'), 'wb') as f:
        f.write(pickle.dumps(Payload(), protocol=2))
    save({'weight': torch.ones(2), 'payload': Payload()}, 'evil-zip.pt')
    save({'weight': torch.ones(2), 'payload': Payload()}, 'evil-legacy.pt', _use_new_zipfile_serialization=False)
    save({'weight': torch.ones(2), 'storage': LoadFromBytes()}, 'load-from-bytes.pt')
    save({'q': torch.quantize_per_tensor(torch.tensor([0.1, 0.2]), 0.1, 0, torch.qint8)}, 'qtensor.pt')
    save({'c': torch.tensor([1 + 2j, 3 - 1j], dtype=torch.complex64)}, 'complex.pt')

    with zipfile.ZipFile(os.path.join(OUT, 'zip-p2.pt')) as src, \
            zipfile.ZipFile(os.path.join(OUT, 'missing-storage.pt'), 'w', zipfile.ZIP_STORED) as dst:
        for info in src.infolist():
            if not info.filename.endswith('/data/0'):
                dst.writestr(info, src.read(info))

    with open(os.path.join(OUT, 'expected.json'), 'w') as f:
        json.dump({'marker': MARKER, 'checkpoint': expect(obj), 'values': expect(VALUES),
                   'training': {'model': expect(training['model']), 'epoch': 3}}, f, indent=1)
        f.write('\n')
    print('wrote', ', '.join(sorted(os.listdir(OUT))))


if __name__ == '__main__':
    main()
