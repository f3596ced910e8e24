// One entry point for every format a model arrives in: ONNX, Caffe (prototxt + caffemodel),
// PyTorch checkpoints (a state dict loaded into a named architecture) and TorchScript. The
// format is told from the file's contents where it can be, its extension otherwise. The CLI's
// `dlkit import` and the benchmarks call this, so the rules live once.
import { existsSync, openSync, readSync, closeSync } from 'node:fs';
import path from 'node:path';
import type { Network } from '../nn/network.js';
import { importONNX } from '../io/onnx/import.js';
import { inspectTorchFile, loadTorchScript, type TorchScriptModule } from '../io/torchscript.js';
import { importCaffe } from '../io/caffe/import.js';

export type ModelFormat = 'onnx' | 'caffe' | 'checkpoint' | 'torchscript' | 'safetensors';

export interface ImportModelOptions {
  /** Class names in output order. */
  classes?: readonly string[];
  /** ONNX: sizes for dynamic non-batch dimensions, by input name. */
  inputSizes?: Record<string, readonly number[]>;
  /** Caffe: one observation's [C, H, W] when the prototxt declares no input shape. */
  inputSize?: readonly number[];
  /** Caffe preprocessing kept outside the deploy file: pixels (0-255) become (bgr(x) - mean) * scale. */
  scale?: number;
  mean?: readonly number[];
  meanFile?: string;
  bgr?: boolean;
}

export type ImportedModel =
  | { format: Exclude<ModelFormat, 'torchscript'>; network: Network }
  | { format: 'torchscript'; module: TorchScriptModule };

function head(file: string, n: number): Buffer {
  const fd = openSync(file, 'r');
  try {
    const buf = Buffer.alloc(n);
    const got = readSync(fd, buf, 0, n, 0);
    return buf.subarray(0, got);
  } finally {
    closeSync(fd);
  }
}

/** Which format `files` hold, or an error saying what was found and what is accepted. */
export function detectFormat(files: readonly string[]): ModelFormat {
  for (const f of files) if (!existsSync(f)) throw new Error(`${f}: no such file`);
  const ext = (f: string) => path.extname(f).toLowerCase();
  if (files.length === 2 && files.some((f) => ext(f) === '.prototxt') && files.some((f) => ext(f) === '.caffemodel')) return 'caffe';
  if (files.length !== 1) {
    throw new Error(`expected one model file (.onnx, .pt/.pth/.th/.bin) or a Caffe pair (deploy.prototxt weights.caffemodel), got ${files.length} files: ${files.join(', ')}`);
  }
  const file = files[0]!;
  if (ext(file) === '.onnx') return 'onnx';
  if (ext(file) === '.safetensors') return 'safetensors';
  if (['.pt', '.pth', '.th', '.bin', '.ckpt', '.tar'].includes(ext(file)) || head(file, 4).readUInt32LE(0) === 0x04034b50) {
    const info = inspectTorchFile(file);
    if (info.kind === 'torchscript') return 'torchscript';
    if (info.kind === 'checkpoint' || info.kind === 'legacy-checkpoint') return 'checkpoint';
    throw new Error(`${file}: not a PyTorch checkpoint or TorchScript module${info.problem ? ` (${info.problem})` : ''}`);
  }
  if (ext(file) === '.prototxt' || ext(file) === '.caffemodel') {
    throw new Error(`${file}: a Caffe network needs both files: deploy.prototxt weights.caffemodel`);
  }
  throw new Error(`${file}: unknown model format; expected .onnx, .prototxt + .caffemodel, .pt/.pth/.th/.bin (PyTorch) or .safetensors`);
}

/** Imports a model from any supported format. */
export async function importModel(files: readonly string[], options: ImportModelOptions = {}): Promise<ImportedModel> {
  const format = detectFormat(files);
  switch (format) {
    case 'onnx':
      return { format, network: importONNX(files[0]!, { classes: options.classes, inputSizes: options.inputSizes }) };
    case 'caffe': {
      const prototxt = files.find((f) => path.extname(f).toLowerCase() === '.prototxt')!;
      const weights = files.find((f) => path.extname(f).toLowerCase() === '.caffemodel')!;
      const { scale, mean, meanFile, bgr, classes, inputSize } = options;
      const given = Object.fromEntries(Object.entries({ scale, mean, meanFile, bgr, classes, inputSize }).filter(([, v]) => v !== undefined));
      return { format, network: await importCaffe(prototxt, weights, given) };
    }
    case 'torchscript':
      return { format, module: await loadTorchScript(files[0]!, { classes: options.classes }) };
    default:
      throw new Error(`${files.join(' ')}: importing ${format} files is not wired up yet`);
  }
}
