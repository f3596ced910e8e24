// Checkpoints: network and optimizer state plus where training stood (epoch, iteration,
// history, shuffle seed), in one safetensors file written atomically. Resuming continues the
// same schedule and data order from that point.
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { loadSafetensors, saveSafetensors } from '../io/safetensors.js';
import type { Tensor } from '../tensor/tensor.js';
import { dispose } from '../tensor/memory.js';
import type { Network, NetworkConfig } from '../nn/network.js';
import type { Optimizer, OptimizerStateDict } from '../optim/optimizer.js';
import type { TrainingHistory } from './trainer.js';

export const CHECKPOINT_FORMAT = 'dlkit-checkpoint';

export interface TrainingPosition {
  /** 0-based epoch being trained. */
  epoch: number;
  /** Iterations of that epoch already done. */
  iterationInEpoch: number;
  /** Global iterations done. */
  iteration: number;
}

export interface CheckpointInfo {
  position: TrainingPosition;
  history: TrainingHistory;
  shuffleSeed: number;
  miniBatchSize: number;
  solver: string;
  elapsed: number;
  network: NetworkConfig;
  optimizer: Record<string, unknown>;
}

export function checkpointFile(folder: string, position: TrainingPosition): string {
  return path.join(folder, `checkpoint-epoch${position.epoch + (position.iterationInEpoch ? 1 : 0)}-iter${position.iteration}.safetensors`);
}

export async function saveCheckpoint(file: string, network: Network, optimizer: Optimizer, info: Omit<CheckpointInfo, 'network' | 'optimizer'>): Promise<void> {
  // The folder may not exist yet (a new checkpointPath, or 'checkpoints' on Ctrl-C).
  await mkdir(path.dirname(path.resolve(file)), { recursive: true });
  const opt: OptimizerStateDict = optimizer.stateDict();
  try {
    const tensors: Record<string, Tensor> = {};
    for (const [k, t] of Object.entries(network.stateDict())) tensors[`network.${k}`] = t;
    for (const [k, t] of Object.entries(opt.tensors)) tensors[`optimizer.${k}`] = t;
    const meta: CheckpointInfo = { ...info, network: network.config(), optimizer: opt.state };
    await saveSafetensors(file, tensors, { format: CHECKPOINT_FORMAT, checkpoint: JSON.stringify(meta) });
  } finally {
    dispose(opt.tensors);
  }
}

/** Loads a checkpoint into `network` and `optimizer` (same architecture and solver) and returns where training stood. */
export async function loadCheckpoint(file: string, network: Network, optimizer: Optimizer): Promise<CheckpointInfo> {
  const { tensors, metadata } = await loadSafetensors(file);
  try {
    if (metadata.format !== CHECKPOINT_FORMAT) throw new TypeError(`${file} is not a dlkit checkpoint (metadata 'format' is ${JSON.stringify(metadata.format)})`);
    const info = JSON.parse(metadata.checkpoint ?? 'null') as CheckpointInfo;
    if (!info) throw new TypeError(`${file}: checkpoint metadata is missing`);
    const theirs = JSON.stringify(info.network.layers.map((l) => [l.type, l.name]));
    const ours = JSON.stringify(network.config().layers.map((l) => [l.type, l.name]));
    if (theirs !== ours) throw new TypeError(`${file}: the checkpoint was made for a different network (layers ${theirs}, this network has ${ours})`);
    const net: Record<string, Tensor> = {};
    const opt: Record<string, Tensor> = {};
    for (const [k, t] of Object.entries(tensors)) {
      if (k.startsWith('network.')) net[k.slice(8)] = t;
      else if (k.startsWith('optimizer.')) opt[k.slice(10)] = t;
    }
    network.loadStateDict(net, { source: `checkpoint ${file}` });
    optimizer.loadStateDict({ tensors: opt, state: info.optimizer });
    return info;
  } finally {
    dispose(tensors);
  }
}
