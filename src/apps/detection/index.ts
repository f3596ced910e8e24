// Object detection: non-maximum suppression, average precision, boxes drawn on images, and
// precision–recall charts.
export { boxIoU, nms, batchedNms, type BoxesInput } from './nms.js';
export { evaluateDetections, averagePrecision, formatDetectionEvaluation, COCO_IOU_THRESHOLDS, type Detection, type GroundTruth, type ApInterpolation, type DetectionEvaluationOptions, type DetectionEvaluation, type ClassDetectionEvaluation } from './metrics.js';
export { drawDetections, DETECTION_COLORS, type DrawableDetections, type DrawOptions } from './draw.js';
export { precisionRecallChart, precisionRecallOption } from './pr-chart.js';
