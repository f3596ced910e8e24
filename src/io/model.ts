// dlkit's model file: one self-describing .safetensors file. Weights as tensors; in the
// metadata the architecture (layer configs, connections), class names and input normalization
// (part of the input layer's config and buffers) — enough to rebuild the network with no
// other file. No pickle, no code runs on load. Writes are atomic.
import { readFileSync } from 'node:fs';
import { Network, type NetworkConfig } from '../nn/network.js';
import { tidy } from '../tensor/memory.js';
import { loadSafetensors, saveSafetensors, SafetensorsError } from './safetensors.js';
// Imported ONNX networks are saved as onnxNode layers: loading one needs the layer type and its op handlers registered.
import './onnx/node-layer.js';
import './onnx/ops/index.js';
import './onnx/inference.js';

export const MODEL_FORMAT = 'dlkit-model';

function dlkitVersion(): string {
  try {
    return JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')).version as string;
  } catch {
    return 'unknown';
  }
}

/** Saves the network (architecture, classes, normalization, weights) to `file` atomically. */
export async function saveModel(network: Network, file: string, extraMetadata: Record<string, string> = {}): Promise<void> {
  await saveSafetensors(file, network.stateDict(), {
    ...extraMetadata,
    format: MODEL_FORMAT,
    format_version: '1',
    network: JSON.stringify(network.config()),
    dlkit_version: dlkitVersion(),
  });
}

/** Rebuilds a network from a model file, checking every weight's name, shape and dtype. */
export async function loadModel(file: string): Promise<Network> {
  const { tensors, metadata } = await loadSafetensors(file);
  try {
    if (metadata.format !== MODEL_FORMAT) {
      throw new SafetensorsError(file, [`not a dlkit model: metadata 'format' is ${JSON.stringify(metadata.format)}, expected '${MODEL_FORMAT}'`]);
    }
    let config: NetworkConfig;
    try {
      config = JSON.parse(metadata.network ?? '');
    } catch {
      throw new SafetensorsError(file, ["metadata 'network' is not valid JSON"]);
    }
    let network: Network;
    try {
      network = Network.fromConfig(config);
    } catch (err) {
      throw new SafetensorsError(file, [`the architecture cannot be rebuilt: ${(err as Error).message}`], err);
    }
    try {
      network.loadStateDict(tensors, { source: `model file ${file}` });
    } catch (err) {
      network.dispose();
      throw err;
    }
    return network;
  } finally {
    tidy(() => Object.values(tensors).forEach((t) => t.dispose()));
  }
}
