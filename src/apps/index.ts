// Applications built on training: transfer learning, feature extraction and an SVM on the features.
export { transferLearn, prepareTransfer, findHead, setInputSize, TRANSFER_TRAINING, type TransferOptions, type TransferSetup } from './transfer.js';
export { activations, featureClassifier, type Activations, type ActivationsOptions, type FeatureClassifierOptions } from './features.js';
export { fitSVM, SVMModel, type SVMOptions } from './svm.js';
export * from './detection/index.js';
