// Input layers: where data enters, and where input normalization lives (so a saved model
// classifies raw images correctly).
import { callOp, type Tensor } from '../../tensor/tensor.js';
import { TensorSequence } from '../../tensor/sequence.js';
import { tensor } from '../../tensor/create.js';
import { keep, tidy } from '../../tensor/memory.js';
import { Layer, shapeStr, type ForwardContext, type LayerOptions, type Shape } from '../layer.js';
import { checked } from '../layer.js';
import type { DType } from '../../tensor/dtype.js';

export type Normalization = 'none' | 'zerocenter' | 'zscore' | 'rescale-zero-one';
export const NORMALIZATIONS: readonly Normalization[] = ['none', 'zerocenter', 'zscore', 'rescale-zero-one'];

export interface ImageInputOptions extends LayerOptions {
  /** One observation as [channels, height, width]. */
  inputSize: readonly number[];
  /**
   * 'zerocenter' subtracts the per-channel mean, 'zscore' also divides by the per-channel
   * standard deviation (both from the training data unless given), 'rescale-zero-one' divides
   * by 255. Default 'zerocenter' as MATLAB's imageInputLayer.
   */
  normalization?: Normalization;
  mean?: readonly number[];
  std?: readonly number[];
  /**
   * Multiplies after the normalization: Caffe's deploy-time `(x - mean) * scale` (e.g.
   * 0.00390625 = 1/256, or 0.017 for MobileNet). Default 1.
   */
  scale?: number;
  /**
   * Reverses the channel order before anything else: RGB images into a network trained on BGR
   * (Caffe's, through OpenCV). `mean` and `std` are then in the network's (BGR) order.
   */
  bgr?: boolean;
}

export class ImageInput extends Layer {
  readonly type = 'imageInput';
  override readonly isInput = true;
  readonly inputSize: number[];
  readonly normalization: Normalization;
  mean: number[] | null;
  std: number[] | null;
  readonly scale: number;
  readonly bgr: boolean;
  /** Lay 4-D inputs out channels-last (faster convolutions on CPU); set by the network. */
  channelsLast = false;

  constructor(o: ImageInputOptions) {
    super(o);
    if (!Array.isArray(o.inputSize) || o.inputSize.length !== 3 || o.inputSize.some((d) => !Number.isInteger(d) || d < 1)) {
      throw new RangeError(`imageInput: option 'inputSize' must be [channels, height, width] of positive integers, got ${JSON.stringify(o.inputSize)}`);
    }
    this.inputSize = [...o.inputSize];
    this.normalization = o.normalization ?? 'zerocenter';
    if (!NORMALIZATIONS.includes(this.normalization)) {
      throw new RangeError(`imageInput: option 'normalization' must be one of ${NORMALIZATIONS.join(', ')}, got ${JSON.stringify(o.normalization)}`);
    }
    const c = this.inputSize[0]!;
    for (const [k, v] of [['mean', o.mean], ['std', o.std]] as const) {
      if (v !== undefined && (v.length !== c && v.length !== 1)) {
        throw new RangeError(`imageInput: option '${k}' must have 1 or ${c} values (one per channel), got ${v.length}`);
      }
    }
    this.mean = o.mean ? [...o.mean] : null;
    this.std = o.std ? [...o.std] : null;
    this.scale = o.scale ?? 1;
    if (typeof this.scale !== 'number' || !Number.isFinite(this.scale) || this.scale === 0) {
      throw new RangeError(`imageInput: option 'scale' must be a finite non-zero number, got ${JSON.stringify(o.scale)}`);
    }
    this.bgr = o.bgr ?? false;
    if (typeof this.bgr !== 'boolean') throw new RangeError(`imageInput: option 'bgr' must be true or false, got ${JSON.stringify(o.bgr)}`);
    if (this.bgr && c !== 3) throw new RangeError(`imageInput: option 'bgr' needs 3 channels, inputSize is ${JSON.stringify(this.inputSize)}`);
  }

  /** True when the statistics this normalization needs are still missing. */
  get needsStatistics(): boolean {
    return (this.normalization === 'zerocenter' && !this.mean) || (this.normalization === 'zscore' && (!this.mean || !this.std));
  }

  /** Sets the statistics (per channel) and rebuilds the normalization buffers. */
  setStatistics(mean: readonly number[], std: readonly number[]): void {
    this.mean = [...mean];
    this.std = [...std];
    if (!this.isBuilt) return;
    const fresh = tidy(() => this.normalizationBuffers());
    for (const [k, t] of Object.entries(fresh)) {
      this.buffers.get(k)?.dispose();
      this.buffers.set(k, keep(t));
    }
  }

  outputShape(inputs: Shape[]): Shape {
    return this.inputSize;
  }

  protected override createParams(): { buffers?: Record<string, Tensor> } {
    return { buffers: this.normalizationBuffers() };
  }

  private normalizationBuffers(): Record<string, Tensor> {
    const c = this.inputSize[0]!;
    const perChannel = (v: number[] | null, fill: number) => tensor(v ? (v.length === 1 ? Array(c).fill(v[0]) : v) : Array(c).fill(fill)).reshape(c, 1, 1);
    const out: Record<string, Tensor> = {};
    if (this.normalization === 'zerocenter' || this.normalization === 'zscore') out.mean = perChannel(this.mean, 0);
    if (this.normalization === 'zscore') out.std = perChannel(this.std, 1);
    return out;
  }

  /** Checks a batch against the declared input size; names both shapes in full. */
  checkInput(x: Tensor): void {
    const got = x.shape.slice(1);
    if (x.ndim !== 4 || got.some((d, i) => d !== this.inputSize[i])) {
      this.error(`expected input of shape [N, ${this.inputSize.join(', ')}], got ${shapeStr(x.shape)}`);
    }
  }

  forward([x]: Tensor[], _ctx: ForwardContext): Tensor {
    this.checkInput(x!);
    let h = x!.dtype === 'float32' ? x! : x!.float();
    if (this.bgr) h = h.flip(1);
    const mean = this.buffers.get('mean');
    const std = this.buffers.get('std');
    if (this.normalization === 'rescale-zero-one') h = h.div(255);
    if (mean) h = h.sub(mean);
    if (std) h = h.div(std);
    if (this.scale !== 1) h = h.mul(this.scale);
    if (this.channelsLast) h = h.toChannelsLast();
    return h === x ? x!.clone() : h;
  }

  protected options(): Record<string, unknown> {
    // The buffers are the truth once built (a loaded state dict or checkpoint writes them).
    const fromBuffer = (k: string) => {
      const b = this.buffers.get(k);
      return b ? Array.from(b.dataSync() as Float32Array) : undefined;
    };
    return {
      inputSize: this.inputSize, normalization: this.normalization,
      mean: fromBuffer('mean') ?? this.mean ?? undefined, std: fromBuffer('std') ?? this.std ?? undefined,
      // Written only when set, so files stay as they were for networks without them.
      scale: this.scale === 1 ? undefined : this.scale, bgr: this.bgr || undefined,
    };
  }
}

export const imageInput = (o: ImageInputOptions): ImageInput => checked(new ImageInput(o), o);

export interface FeatureInputOptions extends LayerOptions {
  /** Number of features per observation. */
  inputSize: number;
}

/** Input of plain feature vectors [N, features]. */
export class FeatureInput extends Layer {
  readonly type = 'featureInput';
  override readonly isInput = true;
  readonly inputSize: number;
  constructor(o: FeatureInputOptions) {
    super(o);
    if (!Number.isInteger(o.inputSize) || o.inputSize < 1) throw new RangeError(`featureInput: option 'inputSize' must be a positive integer, got ${JSON.stringify(o.inputSize)}`);
    this.inputSize = o.inputSize;
  }
  outputShape(): Shape { return [this.inputSize]; }
  forward([x]: Tensor[]): Tensor {
    if (x!.ndim !== 2 || x!.shape[1] !== this.inputSize) this.error(`expected input of shape [N, ${this.inputSize}], got ${shapeStr(x!.shape)}`);
    return x!.dtype === 'float32' ? x!.clone() : x!.float();
  }
  protected options(): Record<string, unknown> { return { inputSize: this.inputSize }; }
}

export const featureInput = (o: FeatureInputOptions): FeatureInput => checked(new FeatureInput(o), o);

export interface SequenceInputOptions extends LayerOptions {
  /** One observation as [channels, length] (e.g. [1, 8000] for a second of 8 kHz audio). */
  inputSize: readonly number[];
}

/** Input of 1-D signals [N, C, L], for conv1d and 1-D pooling. */
export class SequenceInput extends Layer {
  readonly type = 'sequenceInput';
  override readonly isInput = true;
  readonly inputSize: number[];
  constructor(o: SequenceInputOptions) {
    super(o);
    if (!Array.isArray(o.inputSize) || o.inputSize.length !== 2 || o.inputSize.some((d) => !Number.isInteger(d) || d < 1)) {
      throw new RangeError(`sequenceInput: option 'inputSize' must be [channels, length] of positive integers, got ${JSON.stringify(o.inputSize)}`);
    }
    this.inputSize = [...o.inputSize];
  }
  outputShape(): Shape { return this.inputSize; }
  forward([x]: Tensor[]): Tensor {
    if (x!.ndim !== 3 || x!.shape[1] !== this.inputSize[0] || x!.shape[2] !== this.inputSize[1]) {
      this.error(`expected input of shape [N, ${this.inputSize.join(', ')}], got ${shapeStr(x!.shape)}`);
    }
    return x!.dtype === 'float32' ? x!.clone() : x!.float();
  }
  protected options(): Record<string, unknown> { return { inputSize: this.inputSize }; }
}

export const sequenceInput = (o: SequenceInputOptions): SequenceInput => checked(new SequenceInput(o), o);

export interface TensorInputOptions extends LayerOptions {
  /** One observation's shape, or the whole tensor's when `batched` is false. */
  inputSize: readonly number[];
  /** The element type the input is given in; default float32. */
  dtype?: DType;
  /** False for inputs without a batch dimension (fixed-shape graphs such as ONNX operator tests). Default true. */
  batched?: boolean;
}

const TENSOR_INPUT_DTYPES: readonly DType[] = ['float32', 'float64', 'float16', 'bfloat16', 'int8', 'int16', 'int32', 'int64', 'uint8', 'bool'];

/**
 * Input of tensors of any rank and dtype, passed through unchanged (an imported graph's
 * inputs: token ids, masks, shape tensors). With `batched` the leading dimension is the batch.
 */
export class TensorInput extends Layer {
  readonly type = 'tensorInput';
  override readonly isInput = true;
  override readonly batched: boolean;
  readonly inputSize: number[];
  readonly dtype: DType;
  constructor(o: TensorInputOptions) {
    super(o);
    if (!Array.isArray(o.inputSize) || o.inputSize.some((d) => !Number.isInteger(d) || d < 0)) {
      throw new RangeError(`tensorInput: option 'inputSize' must be an array of non-negative integers, got ${JSON.stringify(o.inputSize)}`);
    }
    if (o.dtype !== undefined && !TENSOR_INPUT_DTYPES.includes(o.dtype)) {
      throw new RangeError(`tensorInput: option 'dtype' must be one of ${TENSOR_INPUT_DTYPES.join(', ')}, got ${JSON.stringify(o.dtype)}`);
    }
    this.inputSize = [...o.inputSize];
    this.dtype = o.dtype ?? 'float32';
    this.batched = o.batched ?? true;
  }
  outputShape(): Shape { return this.inputSize; }
  forward([x]: Tensor[]): Tensor {
    const expected = this.batched ? ['N', ...this.inputSize] : this.inputSize;
    const got = this.batched ? x!.shape.slice(1) : x!.shape;
    if (x!.ndim !== expected.length || got.some((d, i) => d !== this.inputSize[i])) {
      this.error(`expected input of shape [${expected.join(', ')}], got ${shapeStr(x!.shape)}`);
    }
    if (x!.dtype !== this.dtype) this.error(`expected ${this.dtype} input, got ${x!.dtype}`);
    return callOp('alias', '', x!);
  }
  protected options(): Record<string, unknown> { return { inputSize: this.inputSize, dtype: this.dtype, batched: this.batched }; }
}

export const tensorInput = (o: TensorInputOptions): TensorInput => checked(new TensorInput(o), o);

export interface TensorSequenceInputOptions extends LayerOptions {
  /** The elements' type; default float32. */
  dtype?: DType;
}

/**
 * Input of a TensorSequence (an imported ONNX graph's sequence-typed input): any number of
 * tensors of one dtype, of any shapes. Passed on as a new sequence of aliases, so the network
 * never frees the caller's tensors. Its output has no shape known before the network runs.
 */
export class TensorSequenceInput extends Layer {
  readonly type = 'tensorSequenceInput';
  override readonly isInput = true;
  override readonly valueInput = true;
  override readonly batched = false;
  readonly dtype: DType;
  constructor(o: TensorSequenceInputOptions = {}) {
    super(o);
    if (o.dtype !== undefined && !TENSOR_INPUT_DTYPES.includes(o.dtype)) {
      throw new RangeError(`tensorSequenceInput: option 'dtype' must be one of ${TENSOR_INPUT_DTYPES.join(', ')}, got ${JSON.stringify(o.dtype)}`);
    }
    this.dtype = o.dtype ?? 'float32';
  }
  outputShape(): Shape { return []; }
  forward([x]: Tensor[]): Tensor {
    const seq = x as unknown as TensorSequence;
    if (!(seq instanceof TensorSequence)) this.error(`expected a TensorSequence, got ${x instanceof Object ? x.constructor.name : typeof x}${x && 'shape' in x ? ` of shape ${shapeStr(x.shape)}` : ''}`);
    if (seq.dtype !== this.dtype) this.error(`expected a sequence of ${this.dtype} tensors, got ${seq.dtype}`);
    // The network passes layer outputs around as tensors; a sequence is one value among them.
    return new TensorSequence(seq.tensors.map((t) => callOp<Tensor>('alias', '', t)), seq.dtype) as unknown as Tensor;
  }
  protected options(): Record<string, unknown> { return { dtype: this.dtype }; }
}

export const tensorSequenceInput = (o: TensorSequenceInputOptions = {}): TensorSequenceInput => checked(new TensorSequenceInput(o), o);
