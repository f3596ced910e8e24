// Recipes over the trained-network boxes: feature extraction and an SVM on the features.
export { activations, featureClassifier, type Activations, type ActivationsOptions, type FeatureClassifierOptions } from './features.js';
export { fitSVM, SVMModel, type SVMOptions } from './svm.js';
