// Files in and out: the safetensors format (dlkit's model files are safetensors), PyTorch checkpoints (read only).
export {
  saveSafetensors, loadSafetensors, encodeSafetensors, decodeSafetensors, readSafetensorsHeader, parseSafetensorsHeader,
  SafetensorsError, MAX_HEADER_BYTES,
  type SafetensorsEntry, type SafetensorsHeader, type SafetensorsContents, type TensorSpec, type DecodeOptions, type SaveOptions,
} from './safetensors.js';
export { saveModel, loadModel, MODEL_FORMAT } from './model.js';
export {
  readTorchCheckpoint, readStateDict, loadStateDict, loadPickle, CheckpointError, STATE_DICT_KEYS,
  type StateDictOptions, type StateDictReading, type CheckpointFormat,
} from './pytorch/checkpoint.js';
export { unpickle, PickleError, type PyGlobal, type UnpickleOptions, type UnpickleResult } from './pytorch/pickle.js';
