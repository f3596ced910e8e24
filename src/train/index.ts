export { trainNetwork, trainingStep, validationMetrics, channelStatistics, resolvePrecision, notLearning, NOT_LEARNING_RATIO, NOT_LEARNING_MARGIN, TrainingDivergedError, type TrainingResult, type TrainingHistory, type TrainingRecord, type ValidationRecord } from './trainer.js';
export { parseTrainingOptions, trainingOptionsSchema, type TrainingOptions, type TrainingOptionsInput, type IterationInfo, type TrainingWarning, type TrainingLossFunction } from './options.js';
export { predict, classify, activations, topK, type Classification, type InferenceInput, type InferenceOptions } from './inference.js';
export { evaluate, scorePredictions, formatEvaluation, saveConfusionChart, saveMisclassifiedGrid, type Evaluation, type ClassMetrics } from './metrics.js';
export { saveCheckpoint, loadCheckpoint, type CheckpointInfo, type TrainingPosition } from './checkpoint.js';
export { trainingProgressOption, confusionOption, renderSvg, savePng, saveHtml, chartHtml } from './charts.js';
export { startProgressServer, type ProgressServer } from './progress-server.js';
export { presets, preset, presetAugmentation, PRESETS, type Preset, type PresetName } from './presets.js';
export { chooseBatchAndLearnRate, chooseEpochs, fitPresetToData, learnRateScaling, scaleLearnRate, type BatchChoice, type BatchChoiceInput, type FittedOptions, type LearnRateScaling } from './fit-to-data.js';
