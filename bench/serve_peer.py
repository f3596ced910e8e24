"""The Python server of `npm run bench -- serve`: what a user would write to serve a PyTorch model.

  python3 bench/serve_peer.py --model cnn|resnet18 --weights FILE --port N
  python3 bench/serve_peer.py --model resnet18 --weights OUT.pth --write-weights

FastAPI + uvicorn (Debian's python3-fastapi, python3-uvicorn), PyTorch eager, one process and one
worker as uvicorn starts by default. The route and the answer mirror dlkit serve's:
POST /v1/models/<name>/classify with the image's bytes as the body → {"model", "predictions":
[{"label", "score"}]} (top 5). Images are decoded by Pillow and resized to the model's input size
(bilinear), as torchvision's transforms do.

The same weights as dlkit's: `cnn` is the default preset's CIFAR-10 network rebuilt from the dlkit
model file (its architecture in the metadata, its tensors by name; the file format is
safetensors: an 8-byte header length, a JSON header, raw little-endian data); `resnet18` is
torchvision's ResNet-18 loading the .pth file dlkit also loads.
"""
import argparse
import io
import json
import struct

import numpy as np
import torch
import torch.nn as nn
import torchvision
import uvicorn
from fastapi import FastAPI, HTTPException, Request
from PIL import Image

DTYPES = {"F32": np.float32, "F64": np.float64, "I64": np.int64, "I32": np.int32}


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    meta = header.pop("__metadata__", {})
    tensors = {}
    for name, h in header.items():
        a, b = h["data_offsets"]
        arr = np.frombuffer(data[a:b], dtype=DTYPES[h["dtype"]]).reshape(h["shape"])
        tensors[name] = torch.from_numpy(arr.copy())
    return tensors, meta


class Normalize(nn.Module):
    def __init__(self, mean, std):
        super().__init__()
        self.register_buffer("mean", mean.reshape(1, -1, 1, 1))
        self.register_buffer("std", std.reshape(1, -1, 1, 1))

    def forward(self, x):
        return (x - self.mean) / self.std


def cnn_from_dlkit(path):
    """The layer types of dlkit's default preset, in order, with dlkit's weights."""
    tensors, meta = read_safetensors(path)
    config = json.loads(meta["network"])
    layers, channels, classes = [], None, config.get("classes")
    flat = False
    for l in config["layers"]:
        t, name = l["type"], l["name"]
        if t == "imageInput":
            channels, h, w = l["inputSize"]
            mean = tensors.get(f"{name}.mean", torch.zeros(channels)).float().flatten()
            std = tensors.get(f"{name}.std", torch.ones(channels)).float().flatten()
            layers.append(Normalize(mean, std))
            size = (channels, h, w)
        elif t == "conv2d":
            wt = tensors[f"{name}.weight"]
            conv = nn.Conv2d(wt.shape[1], wt.shape[0], tuple(l["kernelSize"]), stride=tuple(l["stride"]), padding="same", bias=l["bias"])
            conv.weight.data = wt
            if l["bias"]:
                conv.bias.data = tensors[f"{name}.bias"]
            layers.append(conv)
        elif t == "maxPool2d":
            layers.append(nn.MaxPool2d(tuple(l["poolSize"]), stride=tuple(l["stride"])))
        elif t == "batchNorm":
            wt = tensors[f"{name}.weight"]
            bn = nn.BatchNorm2d(wt.shape[0], eps=l["epsilon"])
            bn.weight.data, bn.bias.data = wt, tensors[f"{name}.bias"]
            bn.running_mean.data, bn.running_var.data = tensors[f"{name}.running_mean"], tensors[f"{name}.running_var"]
            layers.append(bn)
        elif t == "relu":
            layers.append(nn.ReLU(inplace=True))
        elif t == "fullyConnected":
            if not flat:
                layers.append(nn.Flatten())
                flat = True
            wt = tensors[f"{name}.weight"]
            fc = nn.Linear(wt.shape[1], wt.shape[0])
            fc.weight.data, fc.bias.data = wt, tensors[f"{name}.bias"]
            layers.append(fc)
        else:
            raise SystemExit(f"{path}: layer type {t} is not in the default preset")
    return nn.Sequential(*layers).eval(), size, classes


def resnet18(path):
    model = torchvision.models.resnet18(weights=None)
    model.load_state_dict(torch.load(path, map_location="cpu"))
    mean = torch.tensor([0.485, 0.456, 0.406]) * 255
    std = torch.tensor([0.229, 0.224, 0.225]) * 255
    return nn.Sequential(Normalize(mean, std), model).eval(), (3, 224, 224), [str(i) for i in range(1000)]


p = argparse.ArgumentParser()
p.add_argument("--model", choices=["cnn", "resnet18"], required=True)
p.add_argument("--weights", required=True)
p.add_argument("--name", default="model")
p.add_argument("--port", type=int)
p.add_argument("--write-weights", action="store_true", help="resnet18: write seeded weights to --weights and exit")
args = p.parse_args()

if args.write_weights:
    torch.manual_seed(0)
    net = torchvision.models.resnet18(weights=None)
    with torch.no_grad():  # non-trivial batch-norm statistics, as a trained network has
        for m in net.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.uniform_(-0.1, 0.1)
                m.running_var.uniform_(0.5, 1.5)
    torch.save(net.state_dict(), args.weights)
    print(json.dumps({"weights": args.weights}))
    raise SystemExit(0)

model, (C, H, W), CLASSES = cnn_from_dlkit(args.weights) if args.model == "cnn" else resnet18(args.weights)
app = FastAPI()


@app.get("/healthz")
def healthz():
    return {"status": "ok"}


@app.post("/v1/models/{name}/classify")
async def classify(name: str, request: Request):
    if name != args.name:
        raise HTTPException(404, f"no model {name}")
    body = await request.body()
    try:
        img = Image.open(io.BytesIO(body)).convert("RGB" if C == 3 else "L").resize((W, H), Image.BILINEAR)
    except Exception as e:
        raise HTTPException(400, f"not an image: {e}")
    x = torch.from_numpy(np.asarray(img, dtype=np.float32).reshape(H, W, C)).permute(2, 0, 1).unsqueeze(0)
    with torch.inference_mode():
        probs = model(x).softmax(1)[0]
    top = probs.topk(5)
    return {"model": name, "predictions": [{"label": CLASSES[i], "score": float(s)} for s, i in zip(top.values, top.indices)]}


uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning")
