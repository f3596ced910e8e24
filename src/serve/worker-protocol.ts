// Messages between a ModelService (main thread) and its inference worker.
import type { OpenNetworkOptions } from '../zoo/open-network.js';

export interface WorkerInit {
  /** What openNetwork opens: a zoo name, a model file, or importable files. */
  spec: string | string[];
  /** Only the plain-data options (no callbacks cross threads). */
  options: Pick<OpenNetworkOptions, 'weights' | 'home' | 'classes' | 'inputSize' | 'inputSizes'>;
  /** How errors name the model. */
  label: string;
}

export interface LoadedInfo {
  classes: string[];
  inputSize: [number, number, number];
  parameters: number;
  testTimeAugmentation: string;
  /** Whether the network's own output is already probabilities (it ends in softmax); otherwise scores are its softmax. */
  outputsProbabilities: boolean;
}

export type WorkerRequest =
  | { type: 'run'; id: number; pixels: Uint8Array; n: number }
  /** The network as an ONNX model (for running it in a browser). */
  | { type: 'onnx'; id: number }
  | { type: 'close' };

export type WorkerReply =
  | { type: 'ready'; info: LoadedInfo }
  | { type: 'failed'; message: string }
  | { type: 'result'; id: number; scores: Float32Array }
  | { type: 'onnx'; id: number; bytes: Uint8Array }
  | { type: 'error'; id: number; message: string };
