// Datastores: where training and evaluation read their observations from.
export type { Batch, BatchOptions, Datastore, SplitOptions } from './datastore.js';
export { tensorDatastore, TensorDatastore, type TensorDatastoreOptions } from './tensor-datastore.js';
export {
  readIdx, decodeIdx, idxDatastore, fashionMnist, mnist,
  FASHION_MNIST_CLASSES, MNIST_CLASSES, FASHION_MNIST_FOLDER, IDX_IMAGES_MAGIC, IDX_LABELS_MAGIC,
  type IdxData, type IdxType, type IdxArray, type IdxSplit, type IdxDatastoreOptions,
} from './idx.js';
export { readImage, type ReadImageOptions } from './image.js';
export {
  imageDatastore, ImageDatastore, IMAGE_EXTENSIONS,
  type ImageDatastoreOptions, type SplitEachLabelOptions,
} from './image-datastore.js';
export {
  augmentedImageDatastore, AugmentedImageDatastore, parseAugmentList, resolveAugmenter, describeAugmenter,
  type ImageAugmenterOptions, type ResizeMode,
} from './augment.js';
export { AugmentedTensorDatastore } from './tensor-augment.js';
export { defaultWorkers, type BadFile, type PipelineStats } from './image-pipeline.js';
export type { FailOn } from './image-decode.js';
export { cifar10Binary, CIFAR10_CLASSES } from './cifar.js';
export { openDatastore, type OpenOptions } from './open.js';
export {
  readVOC, readCOCO, readYOLO,
  type BoxedImage, type BoxProblem, type BoxTable, type ReadBoxesOptions, type ReadVOCOptions, type ReadCOCOOptions, type ReadYOLOOptions,
} from './box-labels.js';
export {
  BoxDatastore,
  type BoxBatch, type BoxBatchOptions, type BoxDatastoreOptions, type LabelCount, type BoxSizeStatistics, type Spread, type BoxPipelineStats,
} from './box-datastore.js';
export type { BoxAugmentation } from './box-augment.js';
export { openBoxDatastore, hasVocSplit, type OpenBoxDatastoreOptions } from './box-open.js';
export { readTextTable, readTextFolder, type TextTable, type ReadTextTableOptions, type ReadTextFolderOptions } from './text.js';
export {
  Vocabulary, tokenize, PAD_ID, UNK_ID, PAD_TOKEN, UNK_TOKEN,
  type TokenizerOptions, type VocabularyOptions, type EncodeOptions, type Encoded, type VocabularyJSON,
} from './tokenizer.js';
export { textDatastore, TextDatastore, type TextDatastoreOptions, type TextBatch } from './text-datastore.js';
