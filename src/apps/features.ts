// Feature extraction (the activations of a named layer as rows for a classic classifier) and the
// network that puts a trained SVM behind a feature network: cut at the feature layer, the SVM
// layer after it, one network and so one model file.
import type { Tensor } from '../tensor/tensor.js';
import { Network, type Connection } from '../nn/network.js';
import type { Layer } from '../nn/layer.js';
import { layerFromConfig } from '../nn/registry.js';
import { SVM_POOLINGS, type SvmPooling } from '../nn/layers/svm.js';
import { mapBatches, type InferenceInput } from '../data/batch-inference.js';
import type { SVMModel } from './svm.js';

export interface ActivationsOptions {
  /** 'rows' (default): [N, D] float32, one row per observation; 'channels': the layer's output as it is, [N, ...shape]. */
  outputAs?: 'rows' | 'channels';
  /** Global pooling over every dimension after the channels (for 'channels' the pooled dimensions stay, of size 1); default 'none'. */
  pooling?: SvmPooling;
  /** Observations per forward pass (default 64). */
  miniBatchSize?: number;
  /** Called after each batch with the observations done and the total. */
  onProgress?: (done: number, total: number) => void;
}

export interface Activations {
  /** float32, on the CPU; the caller disposes it. */
  features: Tensor;
  /** Class index per observation when the data is a labeled datastore, else null. */
  labels: Int32Array | null;
  /** The datastore's class names, else null. */
  classes: string[] | null;
}

const isDatastore = (d: InferenceInput): d is Exclude<InferenceInput, Tensor> => 'batches' in d && typeof d.batches === 'function';

/** Global pooling of [N, C, ...] over the dimensions after C; keepdim leaves them at size 1. */
function pool(x: Tensor, pooling: SvmPooling, keepdim: boolean): Tensor {
  if (pooling === 'none' || x.ndim <= 2) return x;
  const flat = x.flatten(2); // (N, C, positions)
  const p = pooling === 'avg' ? flat.mean(2) : flat.max(2).values; // (N, C)
  return keepdim ? p.view(...x.shape.slice(0, 2), ...x.shape.slice(2).map(() => 1)) : p;
}

/**
 * The activations of `layer` ('name', or 'name/outN' for a multi-output layer) for every
 * observation of `data`, the network in inference mode (no test-time augmentation: the
 * features are the image's own).
 */
export async function activations(network: Network, data: InferenceInput, layer: string, options: ActivationsOptions = {}): Promise<Activations> {
  const known = ['outputAs', 'pooling', 'miniBatchSize', 'onProgress'];
  const unknown = Object.keys(options).filter((k) => !known.includes(k));
  if (unknown.length) throw new RangeError(`activations: unknown option${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `'${k}'`).join(', ')}; known: ${known.join(', ')}`);
  const { outputAs = 'rows', pooling = 'none', miniBatchSize = 64, onProgress } = options;
  if (outputAs !== 'rows' && outputAs !== 'channels') throw new RangeError(`activations: option 'outputAs' must be 'rows' or 'channels', got ${JSON.stringify(outputAs)}`);
  if (!SVM_POOLINGS.includes(pooling)) throw new RangeError(`activations: option 'pooling' must be one of ${SVM_POOLINGS.join(', ')}, got ${JSON.stringify(pooling)}`);
  if (!Number.isSafeInteger(miniBatchSize) || miniBatchSize < 1) throw new RangeError(`activations: option 'miniBatchSize' must be a whole number >= 1, got ${JSON.stringify(miniBatchSize)}`);
  const ref = network.outputRef(layer);
  try {
    network.layer(ref.layer);
  } catch {
    throw new RangeError(`activations: the network has no layer '${layer}'; layers: ${network.layers.map((l) => `'${l.name}'`).join(', ')}`);
  }
  const total = isDatastore(data) ? data.size : (data.shape[0] ?? 0);
  const features = await mapBatches(data, miniBatchSize, network.device, (x) => {
    const out = network.forward(x, { training: false, outputs: [layer] }) as Tensor;
    const pooled = pool(out, pooling, outputAs === 'channels');
    const rows = outputAs === 'rows' && pooled.ndim !== 2 ? pooled.reshape(pooled.shape[0]!, -1) : pooled;
    return rows.dtype === 'float32' ? rows : rows.float();
  }, onProgress && ((done) => onProgress(done, total)));
  return {
    features,
    labels: isDatastore(data) ? data.labels() : null,
    classes: isDatastore(data) && data.classes ? [...data.classes] : null,
  };
}

export interface FeatureClassifierOptions {
  /** Pooling of the feature layer's output before the SVM, as given to `activations` (default 'none'). */
  pooling?: SvmPooling;
  /** Name of the SVM layer (default 'svm'). */
  name?: string;
  /** 'probabilities' (default when the SVM has them) or 'scores'. */
  output?: 'probabilities' | 'scores';
}

/**
 * A new network: `network`'s layers up to `layer` (what `layer` depends on: configs rebuilt and
 * weights copied, so the source network is untouched and stays usable), then the SVM as an
 * svmClassifier layer, with the SVM's class names. Save it with saveModel; classify and evaluate
 * use it as any classifier.
 */
export function featureClassifier(network: Network, layer: string, svm: SVMModel, options: FeatureClassifierOptions = {}): Network {
  const { pooling = 'none', name = 'svm' } = options;
  const ref = network.outputRef(layer);
  network.layer(ref.layer);
  if (network.layers.some((l) => l.name === name)) throw new RangeError(`featureClassifier: the network already has a layer named '${name}': choose another name for the SVM layer`);
  // What the feature layer depends on, in the network's order.
  const needed = new Set<string>();
  const mark = (n: string) => {
    if (needed.has(n)) return;
    needed.add(n);
    for (const s of network.sourcesOf(n)) mark(network.outputRef(s).layer);
  };
  mark(ref.layer);
  const kept = network.layers.filter((l) => needed.has(l.name));
  const connections: Connection[] = [];
  for (const l of kept) {
    if (l.isInput) continue;
    network.sourcesOf(l.name).forEach((s, i) => connections.push([s, l.numInputs > 1 ? `${l.name}/in${i + 1}` : l.name]));
  }
  const svmLayer = svm.toLayer({ name, pooling, ...(options.output && { output: options.output }) });
  connections.push([layer, name]);
  const layers: Layer[] = [];
  let net: Network;
  try {
    for (const l of kept) layers.push(layerFromConfig(JSON.parse(JSON.stringify(l.config()))));
    net = Network.graph({ layers: [...layers, svmLayer], connections, outputs: [name], classes: svm.classes, channelsLast: network.channelsLast });
  } catch (err) {
    for (const l of [...layers, svmLayer]) l.dispose();
    throw err;
  }
  const features = net.layer(name).inputShapes![0]!;
  const d = (net.layer(name) as ReturnType<SVMModel['toLayer']>).featureCount(features);
  if (d !== svm.numFeatures) {
    net.dispose();
    throw new RangeError(`featureClassifier: layer '${layer}' gives ${d} features per observation (output [${features.join(', ')}], pooling '${pooling}'), the SVM was trained on ${svm.numFeatures}`);
  }
  const values: Record<string, Tensor> = {};
  for (const l of kept) {
    for (const [k, t] of l.params) values[`${l.name}.${k}`] = t;
    for (const [k, t] of l.buffers) values[`${l.name}.${k}`] = t;
  }
  Object.assign(values, svm.stateFor(net.layer(name) as ReturnType<SVMModel['toLayer']>));
  try {
    net.loadStateDict(values, { source: 'featureClassifier' });
  } catch (err) {
    net.dispose();
    throw err;
  }
  return net;
}
