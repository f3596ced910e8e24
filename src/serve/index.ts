export { ModelService, topOf, defaultModelName, DEFAULT_PIXEL_LIMIT, type ModelInfo, type ModelServiceOptions, type ClassifyOptions, type ClassifyResult, type Prediction } from './model-service.js';
export { DynamicBatcher, DEFAULT_BATCHING, type BatchingOptions, type BatchReport } from './batcher.js';
export { QueueFullError, RequestTimeoutError, InputError, ServiceClosedError, RequestAbortedError } from './errors.js';
export { videoFrames, VideoFrames, ImageStreamSplitter, liveClassify, type VideoSource, type VideoFramesOptions, type VideoFrame, type LiveClassifyOptions, type LiveFrameReport, type LiveSummary } from './live.js';
