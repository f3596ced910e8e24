// ONNX in and out: the schema, import into dlkit networks, the op table.
export { importONNX, importONNXModel, MIN_OPSET, type ImportOnnxOptions } from './import.js';
export { OnnxNode, onnxNode, type OnnxNodeOptions, type OnnxSlot } from './node-layer.js';
export { supportedOps, type OpHandler } from './ops/index.js';
export { EmptyOptional, OnnxOptionalInput, onnxOptionalInput, type OnnxValue } from './values.js';
export {
  OnnxError, decodeModel, decodeTensor, encodeModel, tensorFromProto, tensorToProto, onnxSchema, OnnxType,
  type ModelProto, type TensorProto, type NodeProto, type GraphProto,
} from './proto.js';
