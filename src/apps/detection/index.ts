// Object detection: a CenterNet-style detector (built from scratch or on a classification
// network's features), its training, detection on files, evaluation; non-maximum suppression,
// average precision, boxes drawn on images, and precision–recall charts.
export { boxIoU, nms, batchedNms, type BoxesInput } from './nms.js';
export { evaluateDetections, averagePrecision, formatDetectionEvaluation, COCO_IOU_THRESHOLDS, type Detection, type GroundTruth, type ApInterpolation, type DetectionEvaluationOptions, type DetectionEvaluation, type ClassDetectionEvaluation } from './metrics.js';
export { drawDetections, DETECTION_COLORS, type DrawableDetections, type DrawOptions } from './draw.js';
export { precisionRecallChart, precisionRecallOption } from './pr-chart.js';
export { Detector, detect, isDetectorFile, scaleDetection, suggestDetectorInputSize, SUGGESTED_LONGER_SIDE, DETECTOR_METADATA_KEY, type CreateDetectorOptions, type DetectOptions, type ImageDetections } from './detector.js';
export { centerNetFromScratch, centerNetOnBackbone, outputStride, REGRESSION_CHANNELS, type DetectorConfig, type ScratchBackboneOptions } from './centernet.js';
export { encodeTargets, TARGET_EXTRA_CHANNELS, type TargetSpec } from './targets.js';
export { detectorLoss, detectorLossParts, predictedBoxes, DISTANCE_UNIT, type DetectorLossOptions, type DetectorLossParts } from './loss.js';
export { decodeDetections, type DecodeDetectionsOptions } from './decode.js';
export { trainDetector, DetectorTrainingData, DEFAULT_BOX_AUGMENTATION, type TrainDetectorOptions } from './train.js';
export { evaluateDetector, type EvaluateDetectorOptions, type DetectorEvaluation } from './evaluate.js';
