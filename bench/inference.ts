// `npm run bench -- inference`: inference latency, dlkit against ONNX Runtime (onnxruntime-node)
// and PyTorch eager, same threads, same run: torchvision's ResNet-18 (seeded weights, written to
// ONNX by Debian's PyTorch) imported into dlkit, at batch 1 and 32 (224x224), and the default
// preset's small CNN at batch 1. Options: --threads N (default: all cores) --reps N.
// Last line: `inference: resnet18 b1 dlkit <ms> ort <ms> pytorch <ms>; b32 dlkit <ms> ort <ms>
// pytorch <ms>; small b1 dlkit <ms> ort <ms>`.
import path from 'node:path';
import os from 'node:os';
import { mkdtempSync, rmSync } from 'node:fs';
import { PYTHON, distBench, pyBench, fmt, intOption, parseOptions, progress, runJson, table, untunedEnv } from './common.js';

interface Py { torch: string; b1_ms: number; b32_ms: number }
interface Side { dlkit: number; ort: number; maxDiff: number }
interface Dl { b1: Side; b32: Side; small: Side; threads: number }

export async function run(argv: string[]): Promise<void> {
  const { opts } = parseOptions(argv);
  const threads = intOption(opts, 'threads', os.availableParallelism());
  const reps = intOption(opts, 'reps', 30);
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'dlkit-bench-inference-'));
  try {
    const onnx = path.join(tmp, 'resnet18.onnx');
    progress(`PyTorch ${PYTHON}: ResNet-18 (seeded), written to ONNX, eager timings, ${threads} threads`);
    const py = await runJson<Py>(PYTHON, [path.join(pyBench, 'inference.py'), '--onnx', onnx, '--threads', String(threads), '--reps', String(reps)], untunedEnv());
    progress('dlkit and ONNX Runtime on the same file');
    const d = await runJson<Dl>(process.execPath, [path.join(distBench, 'inference-dlkit.js'), '--onnx', onnx, '--threads', String(threads), '--reps', String(reps)], process.env);
    const r = (a: number, b: number) => fmt(a / b, 2);
    console.log(table([
      ['model', 'batch', 'dlkit ms', 'ort ms', 'pytorch ms', 'dlkit/ort', 'max |dlkit - ort|'],
      ['resnet18', '1', fmt(d.b1.dlkit, 2), fmt(d.b1.ort, 2), fmt(py.b1_ms, 2), r(d.b1.dlkit, d.b1.ort), d.b1.maxDiff.toExponential(1)],
      ['resnet18', '32', fmt(d.b32.dlkit, 1), fmt(d.b32.ort, 1), fmt(py.b32_ms, 1), r(d.b32.dlkit, d.b32.ort), d.b32.maxDiff.toExponential(1)],
      ['small CNN', '1', fmt(d.small.dlkit, 3), fmt(d.small.ort, 3), '-', r(d.small.dlkit, d.small.ort), d.small.maxDiff.toExponential(1)],
    ]));
    console.log(`PyTorch ${py.torch}; ${threads} threads each; medians of ${reps} runs (batch 32: ${Math.max(5, Math.floor(reps / 6))})`);
    console.log(`inference: resnet18 b1 dlkit ${fmt(d.b1.dlkit, 2)} ort ${fmt(d.b1.ort, 2)} pytorch ${fmt(py.b1_ms, 2)}; b32 dlkit ${fmt(d.b32.dlkit, 1)} ort ${fmt(d.b32.ort, 1)} pytorch ${fmt(py.b32_ms, 1)}; small b1 dlkit ${fmt(d.small.dlkit, 3)} ort ${fmt(d.small.ort, 3)}`);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
