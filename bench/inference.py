"""PyTorch's side of `npm run bench -- inference` (run by bench/inference.ts).

  python3 bench/inference.py --onnx OUT.onnx [--threads 2] [--reps 30]

Builds torchvision's ResNet-18 with seeded weights (torch.manual_seed(0); no download), in eval
mode, writes it to ONNX (opset 13, dynamic batch) for dlkit and ONNX Runtime to import, then
times PyTorch eager inference (no_grad) at batch 1 and 32, 224x224. Result: one JSON line.
"""
import argparse
import json
import statistics
import time

import torch
import torchvision

p = argparse.ArgumentParser()
p.add_argument("--onnx", required=True)
p.add_argument("--threads", type=int, default=2)
p.add_argument("--reps", type=int, default=30)
args = p.parse_args()

torch.set_num_threads(args.threads)
torch.manual_seed(0)
model = torchvision.models.resnet18(weights=None).eval()
# Non-trivial batch-norm statistics, as a trained network has (fresh ones are 0 and 1).
with torch.no_grad():
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.1, 0.1)
            m.running_var.uniform_(0.5, 1.5)

x1 = torch.randn(1, 3, 224, 224)
torch.onnx.export(model, x1, args.onnx, opset_version=13, input_names=["input"], output_names=["logits"],
                  dynamic_axes={"input": {0: "N"}, "logits": {0: "N"}})


def timed(batch, reps):
    x = torch.randn(batch, 3, 224, 224)
    with torch.no_grad():
        for _ in range(3):
            model(x)
        ts = []
        for _ in range(reps):
            t0 = time.perf_counter()
            model(x)
            ts.append((time.perf_counter() - t0) * 1000)
    return statistics.median(ts)


with torch.no_grad():
    ref = model(x1)
print(json.dumps({
    "torch": torch.__version__,
    "b1_ms": timed(1, args.reps),
    "b32_ms": timed(32, max(5, args.reps // 6)),
    "input": x1.flatten().tolist()[:16],
    "logits": ref.flatten().tolist()[:10],
}))
