// A detector: a CenterNet network and what it was trained for (classes, input size, stride), in
// one dlkit model file (the network as every model file holds it, the detector's settings in the
// metadata). `detect` runs it on files or tensors and returns boxes in each image's own pixels.
import sharp from 'sharp';
import type { Network } from '../../nn/network.js';
import type { Tensor } from '../../tensor/tensor.js';
import { stack } from '../../tensor/create.js';
import { tidy, dispose } from '../../tensor/memory.js';
import { noGrad } from '../../tensor/autograd.js';
import { readImage } from '../../data/image.js';
import { loadModel, saveModel } from '../../io/model.js';
import { readSafetensorsHeader } from '../../io/safetensors.js';
import { centerNetFromScratch, centerNetOnBackbone, outputStride, type DetectorConfig } from './centernet.js';
import { decodeDetections } from './decode.js';
import type { Detection } from './metrics.js';
import { batchedNms } from './nms.js';

export interface DetectOptions {
  /** Lowest score kept (default 0.3; evaluation uses 0.01 to trace the whole precision-recall curve). */
  threshold?: number;
  /** Class-wise non-maximum suppression: boxes of one class overlapping more than this are merged (default 0.5). */
  nmsIoU?: number;
  /** Most detections per image (default 100). */
  maxDetections?: number;
  /** Images per forward pass (default 8). */
  batchSize?: number;
}

/** One image's detections, in its own pixels, with class names. */
export interface ImageDetections extends Detection {
  /** Class names of `labels`. */
  classNames: string[];
  /** [height, width] of the image the boxes refer to. */
  imageSize: [number, number];
  /** The file, when detections were asked for files. */
  file?: string;
}

export interface CreateDetectorOptions {
  /** Class names of the objects to find. */
  classes: readonly string[];
  /** [height, width] images are stretched to (multiples of 32; default [256, 256], or the backbone's input size). */
  inputSize?: readonly [number, number];
  /**
   * A classification network whose features the detector uses; consumed (do not use it
   * afterwards). When create throws, the backbone (perhaps already cut) is still the caller's to
   * dispose. Default: a network built from scratch.
   */
  backbone?: Network;
  /** The backbone's layer whose output feeds the detection head (its later layers are removed). Needed with `backbone`. */
  featureLayer?: string;
  /** Channels of the from-scratch network's first stage (default 32). */
  width?: number;
}

export const DETECTOR_METADATA_KEY = 'detector';

/** Whether `file` is a detector's model file (false for any other file, readable or not). */
export async function isDetectorFile(file: string): Promise<boolean> {
  try {
    return (await readSafetensorsHeader(file)).metadata?.[DETECTOR_METADATA_KEY] !== undefined;
  } catch {
    return false;
  }
}

/** The longer side of the input size suggested for a data set (pixels). */
export const SUGGESTED_LONGER_SIDE = 320;

/**
 * An input size for a detector on `data`: the images' median aspect ratio, the longer side 320
 * (or the images' own, when smaller), each side a multiple of 32 (the from-scratch network downsamples 32 times). A stride-4 map at 320 pixels
 * still gives objects of 8 pixels two cells, and a training step stays affordable on a CPU.
 */
export function suggestDetectorInputSize(data: { images: readonly { width: number; height: number }[] }): [number, number] {
  const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? SUGGESTED_LONGER_SIDE;
  const h = median(data.images.map((i) => i.height));
  const w = median(data.images.map((i) => i.width));
  const scale = Math.min(1, SUGGESTED_LONGER_SIDE / Math.max(h, w));
  const round = (d: number) => Math.max(32, Math.round((d * scale) / 32) * 32);
  return [round(h), round(w)];
}

export class Detector {
  private constructor(readonly network: Network, readonly config: DetectorConfig) {}

  /** A new, untrained detector. */
  static create(options: CreateDetectorOptions): Detector {
    const classes = [...options.classes];
    if (classes.length === 0 || new Set(classes).size !== classes.length) throw new RangeError(`Detector.create: option 'classes' must be distinct class names, got [${classes.join(', ')}]`);
    let network: Network;
    if (options.backbone) {
      if (!options.featureLayer) throw new TypeError("Detector.create: option 'featureLayer' is needed with 'backbone': the layer whose output feeds the detection head");
      network = centerNetOnBackbone(options.backbone, options.featureLayer, classes, { ...(options.inputSize && { inputSize: options.inputSize }) });
    } else {
      network = centerNetFromScratch(classes, options.inputSize ?? [256, 256], { ...(options.width !== undefined && { width: options.width }) });
    }
    const [, h, w] = network.inputShape as [number, number, number];
    return new Detector(network, { kind: 'centernet', classes, inputSize: [h, w], stride: outputStride(network) });
  }

  /** Wraps a loaded network with its detector settings (checked against each other). */
  static fromNetwork(network: Network, config: DetectorConfig, source = 'the network'): Detector {
    if (config.kind !== 'centernet') throw new TypeError(`${source}: detector kind '${String(config.kind)}' is not known (known: centernet)`);
    const [, h, w] = network.inputShape;
    if (h !== config.inputSize[0] || w !== config.inputSize[1]) throw new RangeError(`${source}: the detector's input size [${config.inputSize.join(', ')}] differs from its network's input [${network.inputShape.join(', ')}]`);
    if (outputStride(network) !== config.stride) throw new RangeError(`${source}: the detector's stride ${config.stride} differs from its network's (${outputStride(network)})`);
    return new Detector(network, config);
  }

  get classes(): readonly string[] { return this.config.classes; }
  get inputSize(): readonly [number, number] { return this.config.inputSize; }

  /** Saves the detector as one dlkit model file (atomic write). */
  async save(file: string): Promise<void> {
    await saveModel(this.network, file, { [DETECTOR_METADATA_KEY]: JSON.stringify(this.config) });
  }

  /** Loads a detector saved by `save`; a classifier's model file is refused by name. */
  static async load(file: string): Promise<Detector> {
    const header = await readSafetensorsHeader(file);
    const raw = header.metadata?.[DETECTOR_METADATA_KEY];
    if (raw === undefined) throw new TypeError(`${file}: not a detector (a dlkit model file without detector settings: a classifier? use classify for it)`);
    let config: DetectorConfig;
    try {
      config = JSON.parse(raw) as DetectorConfig;
    } catch {
      throw new TypeError(`${file}: metadata '${DETECTOR_METADATA_KEY}' is not valid JSON`);
    }
    const network = await loadModel(file);
    try {
      return Detector.fromNetwork(network, config, file);
    } catch (err) {
      network.dispose();
      throw err;
    }
  }

  /**
   * Detections for a batch already at the input size: x float32 [N, 3, H, W] raw 0–255. Boxes in
   * input pixels.
   */
  detectBatch(x: Tensor, options: DetectOptions = {}): Detection[] {
    const { threshold = 0.3, nmsIoU = 0.5, maxDetections = 100 } = options;
    const [, c, h, w] = x.shape;
    if (x.ndim !== 4 || c !== 3 || h !== this.inputSize[0] || w !== this.inputSize[1]) {
      throw new RangeError(`detect: images must be [N, 3, ${this.inputSize.join(', ')}] at the detector's input size, got [${x.shape.join(', ')}]`);
    }
    const out = tidy(() => noGrad(() => this.network.forward(x.device === this.network.device ? x : x.to({ device: this.network.device }), { training: false }) as Tensor));
    try {
      return decodeDetections(out, this.classes.length, this.config.stride, { maxDetections, scoreThreshold: threshold }).map((d) => {
        const keep = batchedNms(d.boxes, d.scores, d.labels, nmsIoU);
        return pick(d, keep);
      });
    } finally {
      out.dispose();
    }
  }

  dispose(): void {
    this.network.dispose();
  }
}

function pick(d: Detection, keep: ArrayLike<number>): Detection {
  const boxes = new Float32Array(keep.length * 4);
  const scores = new Float32Array(keep.length);
  const labels = new Int32Array(keep.length);
  for (let i = 0; i < keep.length; i++) {
    const j = keep[i]!;
    boxes.set(d.boxes.subarray(j * 4, j * 4 + 4), i * 4);
    scores[i] = d.scores[j]!;
    labels[i] = d.labels[j]!;
  }
  return { boxes, scores, labels };
}

/** Boxes from input pixels to an image of [height, width], clipped to it. */
export function scaleDetection(d: Detection, from: readonly [number, number], to: readonly [number, number]): Detection {
  const sy = to[0] / from[0];
  const sx = to[1] / from[1];
  const boxes = new Float32Array(d.boxes.length);
  for (let i = 0; i < d.boxes.length; i += 4) {
    boxes[i] = Math.min(Math.max(d.boxes[i]! * sx, 0), to[1]);
    boxes[i + 1] = Math.min(Math.max(d.boxes[i + 1]! * sy, 0), to[0]);
    boxes[i + 2] = Math.min(Math.max(d.boxes[i + 2]! * sx, 0), to[1]);
    boxes[i + 3] = Math.min(Math.max(d.boxes[i + 3]! * sy, 0), to[0]);
  }
  return { boxes, scores: d.scores, labels: d.labels };
}

/** An image file's displayed size [height, width] (EXIF orientation applied, as the decoder does). */
async function imageSize(file: string): Promise<[number, number]> {
  let meta: sharp.Metadata;
  try {
    meta = await sharp(file).metadata();
  } catch (err) {
    throw new Error(`${file}: cannot read as an image: ${(err as Error).message}`);
  }
  if (!meta.width || !meta.height) throw new Error(`${file}: cannot read the image's size`);
  return (meta.orientation ?? 1) >= 5 ? [meta.width, meta.height] : [meta.height, meta.width];
}

/**
 * Boxes, scores and labels for each image file, in the file's own pixels: each image stretched
 * to the detector's input size (as in training), detected, the boxes scaled back.
 */
export async function detect(detector: Detector, images: readonly string[], options: DetectOptions = {}): Promise<ImageDetections[]> {
  const batchSize = options.batchSize ?? 8;
  const [h, w] = detector.inputSize;
  const results: ImageDetections[] = [];
  for (let i = 0; i < images.length; i += batchSize) {
    const files = images.slice(i, i + batchSize);
    const [sizes, pixels] = await Promise.all([Promise.all(files.map(imageSize)), Promise.all(files.map((f) => readImage(f, { size: [3, h, w] })))]);
    const x = tidy(() => stack(pixels, 0));
    dispose(pixels);
    try {
      detector.detectBatch(x, options).forEach((d, j) => {
        const scaled = scaleDetection(d, [h, w], sizes[j]!);
        results.push({ ...scaled, classNames: [...scaled.labels].map((l) => detector.classes[l]!), imageSize: sizes[j]!, file: files[j]! });
      });
    } finally {
      x.dispose();
    }
  }
  return results;
}
