// One way to name a network to start from, for `dlkit transfer`, `dlkit features` and the
// benchmarks: a zoo name (pretrained weights from the cache, downloaded when absent), a dlkit
// model file, or any file importModel reads (ONNX, Caffe, a checkpoint with its architecture).
import { existsSync } from 'node:fs';
import type { Network } from '../nn/network.js';
import { loadModel } from '../io/model.js';
import { importModel, detectFormat, type ImportModelOptions } from './import-model.js';
import { pretrained, type PretrainedOptions } from './pretrained.js';
import { ZOO } from './weights.js';

export interface OpenNetworkOptions extends PretrainedOptions, ImportModelOptions {}

/** Whether `spec` names a zoo model: a catalog name that is not also a file here (a file wins). */
export function isZooName(spec: string): boolean {
  return Object.hasOwn(ZOO, spec) && !existsSync(spec);
}

/**
 * The network `spec` names: a zoo model ('resnet18', 'resnet20-cifar10'; `weights` then names a
 * local weight file to use instead of the cache), a dlkit .safetensors model file, or files for
 * importModel (a Caffe model is its prototxt and caffemodel: pass both as `spec`).
 */
export async function openNetwork(spec: string | readonly string[], options: OpenNetworkOptions = {}): Promise<Network> {
  const files = typeof spec === 'string' ? [spec] : [...spec];
  const first = files[0];
  if (!first) throw new RangeError('openNetwork: name a zoo model or a model file');
  if (files.length === 1 && isZooName(first)) return pretrained(first, options);
  const missing = files.filter((f) => !existsSync(f));
  if (missing.length) {
    throw new RangeError(`${missing.join(', ')}: no such file, and ${missing.length > 1 ? 'they are' : 'it is'} not a zoo model (zoo models: ${Object.keys(ZOO).join(', ')})`);
  }
  if (files.length === 1 && detectFormat([first]) === 'safetensors') return loadModel(first);
  const imported = await importModel(files, options);
  if (imported.format === 'state-dict') {
    for (const t of Object.values(imported.tensors)) t.dispose();
    throw new RangeError(`${first}: a state dict, not a network: name its architecture (option 'arch', e.g. cifar-resnet20)`);
  }
  if (imported.format === 'torchscript') {
    imported.module.dispose();
    throw new RangeError(`${first}: a TorchScript module is code, not a dlkit network: export it to ONNX in PyTorch, or load its state dict with an architecture`);
  }
  return imported.network;
}
