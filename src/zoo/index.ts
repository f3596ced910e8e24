// Pretrained architectures and model import from every supported format.
export { importModel, detectFormat, type ImportModelOptions, type ImportedModel, type ModelFormat } from './import-model.js';
