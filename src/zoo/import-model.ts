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
import { readStateDict } from '../io/pytorch/checkpoint.js';
import type { Tensor } from '../tensor/tensor.js';
import { architecture } from './architectures.js';

export type ModelFormat = 'onnx' | 'caffe' | 'checkpoint' | 'torchscript' | 'safetensors';

export interface ImportModelOptions {
  /** Class names in output order. */
  classes?: readonly string[];
  /** ONNX: sizes for dynamic non-batch dimensions, by input name. */
  inputSizes?: Record<string, readonly number[]>;
  /** Caffe: one observation's [C, H, W] when the prototxt declares no input shape. */
  inputSize?: readonly number[];
  /**
   * Preprocessing kept outside the model file, stored in its image input: pixels (0-255) become
   * (bgr(x) - mean) / std * scale. Caffe: mean, scale, bgr (or a mean file); ONNX: mean, std, scale, bgr.
   */
  scale?: number;
  mean?: readonly number[];
  std?: readonly number[];
  meanFile?: string;
  bgr?: boolean;
  /** Checkpoints: the architecture the state dict is loaded into (see ARCHITECTURES); without it you get the tensors. */
  arch?: string;
  /** Checkpoints: the top-level key holding the state dict (default: state_dict, model_state_dict, model, else the top level). */
  key?: string;
  /** Checkpoints: a prefix stripped from every name (default: 'module.' when every name has it, as DataParallel saves). */
  stripPrefix?: string;
}

export type ImportedModel =
  | { format: Exclude<ModelFormat, 'torchscript'>; network: Network }
  /** A checkpoint read without an architecture: its tensors (the caller owns them) and what else it held. */
  | { format: 'state-dict'; tensors: Record<string, Tensor>; key: string | null; extras: Record<string, unknown>; skipped: { name: string; what: string }[] }
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
  const magic = head(file, 4);
  const isZip = magic.length === 4 && magic.readUInt32LE(0) === 0x04034b50;
  if (['.pt', '.pth', '.th', '.bin', '.ckpt', '.tar'].includes(ext(file)) || isZip) {
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
    case 'onnx': {
      const { mean, std, scale, bgr } = options;
      const norm = mean || std || scale !== undefined || bgr ? { mean, std, scale, bgr } : undefined;
      return { format, network: importONNX(files[0]!, { classes: options.classes, inputSizes: options.inputSizes, imageNormalization: norm }) };
    }
    case 'caffe': {
      const prototxt = files.find((f) => path.extname(f).toLowerCase() === '.prototxt')!;
      const weights = files.find((f) => path.extname(f).toLowerCase() === '.caffemodel')!;
      const { scale, mean, meanFile, bgr, classes, inputSize } = options;
      if (options.std) throw new RangeError('std: Caffe networks have no per-channel std; give scale (one factor for every channel)');
      const given = Object.fromEntries(Object.entries({ scale, mean, meanFile, bgr, classes, inputSize }).filter(([, v]) => v !== undefined));
      return { format, network: await importCaffe(prototxt, weights, given) };
    }
    case 'checkpoint': {
      const r = await readStateDict(files[0]!, { key: options.key });
      const names = Object.keys(r.tensors);
      const prefix = options.stripPrefix ?? (names.length > 0 && names.every((n) => n.startsWith('module.')) ? 'module.' : undefined);
      if (!options.arch) {
        const tensors = prefix ? Object.fromEntries(Object.entries(r.tensors).map(([k, t]) => [k.startsWith(prefix) ? k.slice(prefix.length) : k, t])) : r.tensors;
        return { format: 'state-dict', tensors, key: r.key, extras: (r as { extras?: Record<string, unknown> }).extras ?? {}, skipped: r.skipped };
      }
      try {
        const network = architecture(options.arch);
        try {
          network.loadStateDict(r.tensors, { stripPrefix: prefix, source: files[0]! });
        } catch (err) {
          network.dispose();
          throw err;
        }
        if (options.classes) network.classes = [...options.classes];
        return { format, network };
      } finally {
        for (const t of Object.values(r.tensors)) t.dispose();
      }
    }
    case 'torchscript':
      return { format, module: await loadTorchScript(files[0]!, { classes: options.classes }) };
    default:
      throw new Error(`${files.join(' ')}: importing ${format} files is not wired up yet`);
  }
}
