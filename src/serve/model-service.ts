// One served model: a worker thread that holds the network, a dynamic batcher in front of it,
// and image decoding on the main thread's side (sharp works in libuv's thread pool, so images
// are decoded while the worker runs the previous batch). The HTTP server, the webcam stream and
// `dlkit live` all classify through this.
import { Worker } from 'node:worker_threads';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Network } from '../nn/network.js';
import { saveModel } from '../io/model.js';
import { decodeImage, ImageReadError } from '../data/image-decode.js';
import { hwcToChw } from '../data/image-ops.js';
import { isZooName } from '../zoo/open-network.js';
import { zooGet, type PretrainedOptions } from '../zoo/pretrained.js';
import { DynamicBatcher, type BatchingOptions, type BatchReport } from './batcher.js';
import { InputError, ServiceClosedError } from './errors.js';
import type { LoadedInfo, WorkerInit, WorkerReply, WorkerRequest } from './worker-protocol.js';

export interface Prediction {
  label: string;
  score: number;
}

export interface ModelInfo {
  /** The name requests use. */
  name: string;
  /** Class names in output order. */
  classes: string[];
  /** One image as the model takes it: [channels, height, width]. */
  inputSize: [number, number, number];
  parameters: number;
  /** Where it came from: the zoo name or file given (never sent to clients as a path to open). */
  source: string;
  /** Whether the network itself ends in softmax (its ONNX export then gives probabilities, else logits). */
  outputsProbabilities: boolean;
}

export interface ModelServiceOptions extends BatchingOptions {
  /** The name requests use (default: the zoo name, or the file name without its extension). */
  name?: string;
  /** Zoo models: a local weight file instead of the cache; where the cache is. */
  weights?: string;
  home?: string;
  /** Zoo models: download progress when the weights are not cached yet. */
  onProgress?: PretrainedOptions['onProgress'];
  /** Refuse images with more pixels than this before decoding them (default 40 megapixels). */
  limitInputPixels?: number;
  /** Told after every forward pass (metrics). */
  onBatch?: (report: BatchReport) => void;
}

export interface ClassifyOptions {
  /** How many labels to answer, best first (default 5, at most the class count). */
  topK?: number;
  /** The caller gave up (a client that disconnected): the request leaves the queue. */
  signal?: AbortSignal;
}

export interface ClassifyResult {
  predictions: Prediction[];
  /** Where the time went, ms: decoding, waiting for a batch, the batch's forward pass. */
  timings: { decodeMs: number; queueMs: number; inferenceMs: number; batchSize: number };
}

export const DEFAULT_PIXEL_LIMIT = 40_000_000;

/** The default name of a model: its zoo name, or its file's name without the extension. */
export function defaultModelName(spec: string | readonly string[]): string {
  const first = typeof spec === 'string' ? spec : spec[0]!;
  if (isZooName(first)) return first;
  return path.basename(first).replace(/\.[^.]+$/, '');
}

export class ModelService {
  readonly info: ModelInfo;
  readonly #worker: Worker;
  readonly #batcher: DynamicBatcher<Uint8Array, Float32Array>;
  readonly #pending = new Map<number, { resolve: (s: any) => void; reject: (e: Error) => void }>();
  #onnx: Promise<Uint8Array> | null = null;
  readonly #pixelLimit: number;
  #nextId = 0;
  #closed: Promise<void> | null = null;
  #workerError: Error | null = null;

  private constructor(worker: Worker, info: ModelInfo, options: ModelServiceOptions) {
    this.#worker = worker;
    this.info = info;
    this.#pixelLimit = options.limitInputPixels ?? DEFAULT_PIXEL_LIMIT;
    this.#batcher = new DynamicBatcher(info.name, (inputs) => this.#runBatch(inputs), options, options.onBatch);
    worker.on('message', (msg: WorkerReply) => {
      if (msg.type !== 'result' && msg.type !== 'error' && msg.type !== 'onnx') return;
      const p = this.#pending.get(msg.id);
      this.#pending.delete(msg.id);
      if (msg.type === 'result') p?.resolve(msg.scores);
      else if (msg.type === 'onnx') p?.resolve(msg.bytes);
      else p?.reject(new Error(`model '${info.name}': inference failed: ${msg.message}`));
    });
    const fail = (err: Error) => {
      this.#workerError = err;
      for (const p of this.#pending.values()) p.reject(err);
      this.#pending.clear();
    };
    worker.on('error', (err) => fail(new Error(`model '${info.name}': the inference thread failed: ${err.message}`)));
    worker.on('exit', (code) => { if (!this.#closed) fail(new Error(`model '${info.name}': the inference thread exited (code ${code})`)); });
  }

  /**
   * Opens `model` — a zoo name, a dlkit model file, importable files, or a Network (copied: the
   * caller keeps and may dispose its own) — in its own inference thread.
   */
  static async start(model: string | readonly string[] | Network, options: ModelServiceOptions = {}): Promise<ModelService> {
    let tmp: string | null = null;
    let spec: string | string[];
    let label: string;
    const workerOptions: WorkerInit['options'] = {};
    if (model instanceof Network) {
      tmp = mkdtempSync(path.join(tmpdir(), 'dlkit-serve-'));
      spec = path.join(tmp, 'model.safetensors');
      await saveModel(model, spec);
      label = options.name ?? 'model';
    } else {
      spec = typeof model === 'string' ? model : [...model];
      label = options.name ?? defaultModelName(spec);
      const first = typeof spec === 'string' ? spec : spec[0]!;
      if (isZooName(first)) {
        // Downloads happen here, where progress can be reported; the worker opens the file.
        workerOptions.weights = options.weights ?? (await zooGet(first, { home: options.home, onProgress: options.onProgress })).file;
      }
    }
    const init: WorkerInit = { spec, options: workerOptions, label };
    const worker = new Worker(new URL('./inference-worker.js', import.meta.url), { workerData: init, name: `dlkit-serve-${label}` });
    let loaded: LoadedInfo;
    try {
      loaded = await new Promise<LoadedInfo>((resolve, reject) => {
        const onMessage = (msg: WorkerReply) => {
          if (msg.type === 'ready') resolve(msg.info);
          else if (msg.type === 'failed') reject(new Error(`model '${label}': ${msg.message}`));
          else return;
          worker.off('message', onMessage);
        };
        worker.on('message', onMessage);
        worker.once('error', (err) => reject(new Error(`model '${label}': the inference thread failed while loading: ${err.message}`)));
        worker.once('exit', (code) => reject(new Error(`model '${label}': the inference thread exited while loading (code ${code})`)));
      });
    } catch (err) {
      await worker.terminate();
      throw err;
    } finally {
      if (tmp) rmSync(tmp, { recursive: true, force: true });
    }
    const source = model instanceof Network ? '(in-memory network)' : typeof spec === 'string' ? spec : spec.join(' + ');
    return new ModelService(worker, { name: label, classes: loaded.classes, inputSize: loaded.inputSize, parameters: loaded.parameters, source, outputsProbabilities: loaded.outputsProbabilities }, options);
  }

  /** Requests waiting for a batch. */
  get queueDepth(): number {
    return this.#batcher.queueDepth;
  }

  /** Requests in the forward pass now running. */
  get inFlight(): number {
    return this.#batcher.inFlight;
  }

  get batching(): Required<BatchingOptions> {
    return this.#batcher.options;
  }

  /**
   * Classifies one encoded image (JPEG, PNG, WebP, GIF, TIFF, AVIF bytes), decoded and resized as
   * the datastores decode for training. Bad bytes reject with an InputError naming the problem.
   */
  async classifyImage(bytes: Uint8Array, options: ClassifyOptions = {}): Promise<ClassifyResult> {
    const t0 = performance.now();
    const pixels = await this.decode(bytes);
    const decodeMs = performance.now() - t0;
    const r = await this.classifyPixels(pixels, options);
    r.timings.decodeMs = decodeMs;
    return r;
  }

  /** Decodes an encoded image to the model's input: uint8 [C, H, W]. */
  async decode(bytes: Uint8Array): Promise<Uint8Array> {
    if (this.#closed) throw new ServiceClosedError(this.info.name);
    const [c, h, w] = this.info.inputSize;
    if (bytes.length === 0) throw new InputError('empty body: expected the bytes of an image (JPEG, PNG or WebP)');
    let img;
    try {
      img = await decodeImage(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length), {
        channels: c as 1 | 3, alpha: 'flatten', limitInputPixels: this.#pixelLimit, failOn: 'error',
        resize: { kind: 'exact', width: w, height: h, fit: 'fill' },
      });
    } catch (err) {
      if (err instanceof ImageReadError) throw new InputError(`the body is not a usable image: ${err.message}`);
      throw err;
    }
    const chw = new Uint8Array(c * h * w);
    hwcToChw(img.data, w, h, c, chw);
    return chw;
  }

  /** Classifies pixels already at the model's input size: uint8 [C, H, W] in 0–255. */
  async classifyPixels(pixels: Uint8Array, options: ClassifyOptions = {}): Promise<ClassifyResult> {
    const [c, h, w] = this.info.inputSize;
    if (pixels.length !== c * h * w) throw new InputError(`expected ${c * h * w} pixel values ([${c}, ${h}, ${w}]), got ${pixels.length}`);
    const k = options.topK ?? 5;
    if (!Number.isInteger(k) || k < 1) throw new InputError(`topK must be a positive integer, got ${JSON.stringify(options.topK)}`);
    if (this.#closed) throw new ServiceClosedError(this.info.name);
    const r = await this.#batcher.submit(pixels, options.signal);
    return { predictions: topOf(r.output, this.info.classes, k), timings: { decodeMs: 0, queueMs: r.queueMs, inferenceMs: r.runMs, batchSize: r.batchSize } };
  }

  #runBatch(inputs: Uint8Array[]): Promise<Float32Array[]> {
    if (this.#workerError) return Promise.reject(this.#workerError);
    const size = inputs[0]!.length;
    const batch = new Uint8Array(size * inputs.length);
    inputs.forEach((p, i) => batch.set(p, i * size));
    const id = this.#nextId++;
    const classes = this.info.classes.length;
    return new Promise<Float32Array>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      const msg: WorkerRequest = { type: 'run', id, pixels: batch, n: inputs.length };
      this.#worker.postMessage(msg, [batch.buffer]);
    }).then((scores) => inputs.map((_, i) => scores.subarray(i * classes, (i + 1) * classes)));
  }

  /**
   * The model as ONNX bytes (exported once, then cached), for running it in a browser with
   * onnxruntime-web. Its input is float32 [N, C, H, W] pixels in 0–255 (normalization is inside);
   * its output is probabilities when `info.outputsProbabilities`, logits otherwise.
   */
  onnxModel(): Promise<Uint8Array> {
    if (this.#closed) return Promise.reject(new ServiceClosedError(this.info.name));
    this.#onnx ??= new Promise<Uint8Array>((resolve, reject) => {
      const id = this.#nextId++;
      this.#pending.set(id, { resolve, reject });
      this.#worker.postMessage({ type: 'onnx', id } satisfies WorkerRequest);
    });
    this.#onnx.catch(() => { this.#onnx = null; });
    return this.#onnx;
  }

  /** Answers everything queued and running, then stops the thread. Idempotent. */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      await this.#batcher.drain();
      const exited = new Promise<void>((resolve) => this.#worker.once('exit', () => resolve()));
      this.#worker.postMessage({ type: 'close' } satisfies WorkerRequest);
      const timer = setTimeout(() => void this.#worker.terminate(), 5000);
      await exited;
      clearTimeout(timer);
    })();
    return this.#closed;
  }
}

/** The k best classes of one row of probabilities, best first. */
export function topOf(scores: Float32Array, classes: readonly string[], k: number): Prediction[] {
  const order = Array.from(scores.keys()).sort((a, b) => scores[b]! - scores[a]!);
  return order.slice(0, Math.min(k, order.length)).map((i) => ({ label: classes[i] ?? String(i), score: scores[i]! }));
}
