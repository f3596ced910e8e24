export { Layer, LayerError, type Shape, type LayerOptions, type LayerConfig, type ForwardContext } from './layer.js';
export * from './layers/index.js';
export { NetworkEditor, type InsertPosition } from './network-editor.js';
export { Network, type Connection, type GraphSpec, type NetworkConfig, type NetworkOptions, type ParameterInfo } from './network.js';
export { registerLayer, layerFromConfig, layerTypes } from './registry.js';
export { type Initializer } from './init.js';
export * as functional from './functional/index.js';
export { InferencePlan, describeForInference, type InferenceRole, type InferencePlanInfo } from './inference-plan.js';
