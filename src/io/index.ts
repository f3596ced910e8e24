// Files in and out: the safetensors format (dlkit's model files are safetensors).
export {
  saveSafetensors, loadSafetensors, encodeSafetensors, decodeSafetensors, readSafetensorsHeader, parseSafetensorsHeader,
  SafetensorsError, MAX_HEADER_BYTES,
  type SafetensorsEntry, type SafetensorsHeader, type SafetensorsContents, type TensorSpec, type DecodeOptions, type SaveOptions,
} from './safetensors.js';
export { saveModel, loadModel, MODEL_FORMAT } from './model.js';
export {
  importONNX, importONNXModel, OnnxNode, OnnxError, supportedOps as supportedOnnxOps,
  type ImportOnnxOptions,
} from './onnx/index.js';
export { exportONNX, networkToOnnx, networkOpset, OnnxExportError, ONNX_EXPORT_OPSETS, OLDEST_RUNNABLE_OPSET, type ExportOnnxOptions, type OnnxExportContext, type OnnxLayerExport } from './onnx/export.js';
export { ONNX_EXPORT_LAYERS, registerOnnxExport, onnxExportTable, onnxOperatorUrl } from './onnx/export-layers.js';
