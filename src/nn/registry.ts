// Layer types by name, so a model file's architecture (a list of layer configs) can be rebuilt.
import { Layer, checked, type LayerConfig } from './layer.js';
import * as L from './layers/index.js';

type Factory = (options: Record<string, unknown>) => Layer;

const factories = new Map<string, Factory>();

/** Registers a layer type (dlkit's own are registered here; add yours the same way). */
export function registerLayer(type: string, factory: Factory): void {
  factories.set(type, factory);
}

const builtins: [string, Factory][] = [
  ['imageInput', (o) => new L.ImageInput(o as unknown as L.ImageInputOptions)],
  ['featureInput', (o) => new L.FeatureInput(o as unknown as L.FeatureInputOptions)],
  ['sequenceInput', (o) => new L.SequenceInput(o as unknown as L.SequenceInputOptions)],
  ['tensorInput', (o) => new L.TensorInput(o as unknown as L.TensorInputOptions)],
  ['conv1d', (o) => new L.Conv1d(o as unknown as L.ConvLayerOptions)],
  ['conv2d', (o) => new L.Conv2d(o as unknown as L.ConvLayerOptions)],
  ['convTranspose2d', (o) => new L.ConvTranspose2d(o as unknown as L.ConvTransposeLayerOptions)],
  ['fullyConnected', (o) => new L.FullyConnected(o as unknown as L.FullyConnectedOptions)],
  ['batchNorm', (o) => new L.BatchNorm(o)],
  ['layerNorm', (o) => new L.LayerNorm(o)],
  ['localResponseNorm', (o) => new L.LocalResponseNorm(o)],
  ['relu', (o) => new L.ReLU(o)],
  ['leakyRelu', (o) => new L.LeakyReLU(o)],
  ['elu', (o) => new L.ELU(o)],
  ['gelu', (o) => new L.GELU(o)],
  ['clippedRelu', (o) => new L.ClippedReLU(o as unknown as L.ClippedReluOptions)],
  ['tanh', (o) => new L.Tanh(o)],
  ['sigmoid', (o) => new L.Sigmoid(o)],
  ['softmax', (o) => new L.Softmax(o)],
  ['dropout', (o) => new L.Dropout(o)],
  ['maxPool1d', (o) => new L.MaxPool1d(o as unknown as L.PoolLayerOptions)],
  ['maxPool2d', (o) => new L.MaxPool2d(o as unknown as L.PoolLayerOptions)],
  ['avgPool1d', (o) => new L.AvgPool1d(o as unknown as L.PoolLayerOptions)],
  ['avgPool2d', (o) => new L.AvgPool2d(o as unknown as L.PoolLayerOptions)],
  ['globalAvgPool2d', (o) => new L.GlobalAvgPool2d(o)],
  ['adaptiveAvgPool2d', (o) => new L.AdaptiveAvgPool2d(o as unknown as L.AdaptiveAvgPool2dOptions)],
  ['flatten', (o) => new L.Flatten(o)],
  ['concatenation', (o) => new L.Concatenation(o)],
  ['addition', (o) => new L.Addition(o)],
  ['reshape', (o) => new L.Reshape(o as unknown as L.ReshapeOptions)],
  ['slice', (o) => new L.Slice(o as unknown as L.SliceOptions)],
  ['scale', (o) => new L.Scale(o)],
  ['bias', (o) => new L.Bias(o)],
  ['elementwise', (o) => new L.Elementwise(o)],
  ['power', (o) => new L.Power(o)],
  ['subsamplePad2d', (o) => new L.SubsamplePad2d(o)],
  ['svmClassifier', (o) => new L.SvmClassifier(o as unknown as L.SvmClassifierOptions)],
  ['tensorSequenceInput', (o) => new L.TensorSequenceInput(o as unknown as L.TensorSequenceInputOptions)],
];
for (const [type, factory] of builtins) registerLayer(type, factory);

/** The registered layer types. */
export function layerTypes(): string[] {
  return [...factories.keys()];
}

/** Rebuilds a layer from its config. */
export function layerFromConfig(config: LayerConfig): Layer {
  const factory = factories.get(config.type);
  if (!factory) throw new TypeError(`unknown layer type '${config.type}' (layer '${config.name}'); known types: ${[...factories.keys()].join(', ')}`);
  const { type: _type, learnRateFactor, l2Factor, ...options } = config;
  const layer = checked(factory(options), options);
  if (typeof learnRateFactor === 'number') layer.learnRateFactor = learnRateFactor;
  if (typeof l2Factor === 'number') layer.l2Factor = l2Factor;
  return layer;
}
