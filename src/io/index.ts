// Files in and out: the safetensors format (dlkit's model files are safetensors), PyTorch checkpoints (read only).
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
export {
  loadTorchScript, decodeTorchScript, isTorchScriptFile, inspectTorchFile, inspectTorchBytes, liveTorchScriptModules,
  TorchScriptModule, TorchScriptError,
  type TorchScriptOptions, type TorchScriptOutput, type TorchFileInfo, type TorchFileKind,
} from './torchscript.js';
export { importCaffe, CAFFE_LAYER_TYPES, type CaffeImportOptions, type CaffeLayerHandler, type CaffeLayerContext } from './caffe/import.js';
export { CaffeError, parseNetText } from './caffe/schema.js';
export { parseTextFormat, TextFormatError } from './caffe/text-format.js';
export {
  readTorchCheckpoint, readStateDict, loadStateDict, loadPickle, CheckpointError, STATE_DICT_KEYS,
  type StateDictOptions, type StateDictReading, type CheckpointFormat,
} from './pytorch/checkpoint.js';
export { unpickle, PickleError, type PyGlobal, type UnpickleOptions, type UnpickleResult } from './pytorch/pickle.js';
