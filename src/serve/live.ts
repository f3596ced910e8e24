// Frames from a camera or a video file, read through Debian's `ffmpeg` as a child process, and
// classified as they come: the toolbox's webcam loop without a browser (`dlkit live`).
//
// ffmpeg writes the frames to its stdout as one image after another (`-f image2pipe`). Files
// default to PNG: lossless, so the classifier sees the frame exactly as ffmpeg decoded it (what
// `dlkit classify` on a PNG saved from the video sees), and a PNG is a sequence of length-prefixed
// chunks ending in IEND, so a frame's end is found without scanning its data. Cameras default to
// MJPEG: a camera is where frames/s matter, and a 320x240 JPEG is a ninth of the PNG's bytes and
// decodes in about half the time (measured: 17 vs 148 KiB, 6.5 vs 13-17 ms decode + resize on
// the loaded 2-core machine); its end is found by walking the JPEG's segments to EOI.
//
// Frames never pile up. A camera does not wait: while the consumer is busy, only the newest
// complete frame is kept and each older one it replaces is counted as dropped. A file waits: its
// reading pauses (ffmpeg blocks on the full pipe) until the consumer takes the next frame, so
// every frame arrives, as fast as the consumer goes — or at the file's own pace (`realtime`,
// ffmpeg's `-re`), and then, like a camera, the newest frame wins.
import { spawn, type ChildProcess } from 'node:child_process';
import type { ModelService, Prediction } from './model-service.js';

export type VideoSource = { file: string } | { camera: string };

export interface VideoFramesOptions {
  /** Frames per second out of ffmpeg (its `fps` filter: frames dropped or repeated); default the source's own rate. */
  fps?: number;
  /** Files: read at the file's own pace (ffmpeg's `-re`), dropping frames the consumer cannot keep up with (default false: every frame, as fast as consumed). Cameras are always real time. */
  realtime?: boolean;
  /** Stops the stream: the iteration ends and ffmpeg is killed. */
  signal?: AbortSignal;
  /** The ffmpeg executable (default `ffmpeg` on the PATH). */
  ffmpeg?: string;
  /** The image format through the pipe (default: 'png' for files, 'mjpeg' for cameras). */
  format?: 'png' | 'mjpeg';
}

export interface VideoFrame {
  /** The frame's number in ffmpeg's output, from 0; dropped frames leave gaps. */
  index: number;
  /** When it was shown: files (and cameras with `fps`), index / frame rate; cameras otherwise, since the first frame. */
  timeMs: number;
  /** One encoded image (PNG or JPEG, as `format` says). */
  image: Uint8Array;
  /** Frames dropped so far, when this one is handed out (the consumer was slower than the source). */
  dropped: number;
  /** `performance.now()` when the frame's last byte arrived (for latency from capture). */
  receivedAt: number;
}

const INSTALL_HINT = "install Debian's ffmpeg: apt-get install ffmpeg";

/** The frames of a video file or a camera, as they come (see the file's comment for the dropping policy). */
export function videoFrames(source: VideoSource, options: VideoFramesOptions = {}): VideoFrames {
  return new VideoFrames(source, options);
}

export class VideoFrames implements AsyncIterable<VideoFrame> {
  readonly source: VideoSource;
  readonly options: Readonly<VideoFramesOptions>;
  #child: ChildProcess | null = null;
  #dropped = 0;
  #frameRate: number | null = null;

  constructor(source: VideoSource, options: VideoFramesOptions = {}) {
    const { fps, format = defaultFormat(source) } = options;
    const file = 'file' in source ? source.file : undefined;
    const camera = 'camera' in source ? source.camera : undefined;
    if ((file === undefined) === (camera === undefined)) throw new TypeError('videoFrames: the source must be { file } or { camera }');
    if (typeof (file ?? camera) !== 'string' || (file ?? camera) === '') throw new TypeError(`videoFrames: source.${file !== undefined ? 'file' : 'camera'} must be a non-empty path, got ${JSON.stringify(file ?? camera)}`);
    if (fps !== undefined && !(Number.isFinite(fps) && fps > 0)) throw new RangeError(`videoFrames: option 'fps' must be a number > 0, got ${fps}`);
    if (format !== 'png' && format !== 'mjpeg') throw new RangeError(`videoFrames: option 'format' must be 'png' or 'mjpeg', got '${String(format)}'`);
    this.source = source;
    this.options = options;
  }

  /** What is read, as error messages name it. */
  get label(): string {
    return 'file' in this.source ? `video file '${this.source.file}'` : `camera '${this.source.camera}'`;
  }

  /** ffmpeg's process id while it runs (from the first `next()` until the stream ends). */
  get pid(): number | undefined {
    return this.#child?.pid;
  }

  /** Frames dropped so far. */
  get dropped(): number {
    return this.#dropped;
  }

  /** Frames per second: `fps`, else the source's as ffmpeg reports it (null until known). */
  get frameRate(): number | null {
    return this.options.fps ?? this.#frameRate;
  }

  /** ffmpeg's arguments for this source. */
  ffmpegArgs(): string[] {
    const { fps, realtime = false, format = defaultFormat(this.source) } = this.options;
    const args = ['-hide_banner', '-nostats', '-loglevel', 'info', '-nostdin'];
    if ('camera' in this.source) args.push('-f', 'v4l2', '-i', this.source.camera);
    else args.push(...(realtime ? ['-re'] : []), '-i', this.source.file);
    args.push('-map', '0:v:0', '-an', '-sn', '-dn');
    // Without a rate, one image per decoded frame (no duplication to a nominal rate).
    args.push(...(fps !== undefined ? ['-vf', `fps=${fps}`] : ['-fps_mode', 'passthrough']));
    if (format === 'png') args.push('-c:v', 'png', '-compression_level', '1');
    else args.push('-c:v', 'mjpeg', '-pix_fmt', 'yuvj420p', '-q:v', '3');
    args.push('-f', 'image2pipe', 'pipe:1');
    return args;
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<VideoFrame, void, undefined> {
    if (this.#child) throw new Error(`${this.label}: this stream is already being read; call videoFrames again for another pass`);
    const { signal, format = defaultFormat(this.source) } = this.options;
    if (signal?.aborted) return;
    const isCamera = 'camera' in this.source;
    const dropping = isCamera || this.options.realtime === true;
    const ffmpeg = this.options.ffmpeg ?? 'ffmpeg';
    // Its own process group: a terminal's Ctrl-C reaches only this process, which stops ffmpeg
    // itself; ffmpeg sharing the group would exit on the same SIGINT, and its exit could be seen
    // before the abort, as a failure. If this process dies, ffmpeg dies on the broken pipe.
    const child = spawn(ffmpeg, this.ffmpegArgs(), { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    this.#child = child;
    const splitter = new ImageStreamSplitter(format);
    let ready: VideoFrame[] = [];
    let produced = 0;
    let firstAt: number | null = null;
    let stderr = '';
    // The stream header (with the input's rate) is on stderr before ffmpeg writes any frame;
    // frames wait for it so that their times can come from the rate.
    let headerDone = false;
    let closed: { code: number | null; signal: NodeJS.Signals | null } | null = null;
    let failure: Error | null = null;
    let wake: (() => void) | null = null;
    const notify = () => { const w = wake; wake = null; w?.(); };

    child.stderr!.setEncoding('utf8').on('data', (text: string) => {
      stderr = (stderr + text).slice(-65536);
      if (!headerDone && /^Output #0/m.test(stderr)) {
        headerDone = true;
        const rate = /Stream #0:\d+[^\n]*: Video: [^\n]*?, ([\d.]+) fps,/.exec(stderr) ?? /Stream #0:\d+[^\n]*: Video: [^\n]*?, ([\d.]+) tbr,/.exec(stderr);
        if (rate) this.#frameRate = Number(rate[1]);
        notify();
      }
    });
    child.stdout!.on('data', (chunk: Buffer) => {
      let images: Uint8Array[];
      try {
        images = splitter.push(chunk);
      } catch (err) {
        failure ??= new Error(`${this.label}: ${(err as Error).message}`);
        child.kill('SIGKILL');
        notify();
        return;
      }
      for (const image of images) {
        const receivedAt = performance.now();
        firstAt ??= receivedAt;
        const index = produced++;
        const rate = this.frameRate;
        const timeMs = rate && (!isCamera || this.options.fps !== undefined) ? (index * 1000) / rate : receivedAt - firstAt;
        if (dropping && ready.length > 0) {
          this.#dropped += ready.length;
          ready = [];
        }
        ready.push({ index, timeMs, image, dropped: this.#dropped, receivedAt });
      }
      // A file waits for its consumer: ffmpeg blocks on the full pipe meanwhile.
      if (!dropping && ready.length > 0) child.stdout!.pause();
      if (images.length) notify();
    });
    child.once('error', (err: NodeJS.ErrnoException) => {
      failure ??= err.code === 'ENOENT'
        ? new Error(`${this.label}: ffmpeg not found ('${ffmpeg}'): ${INSTALL_HINT}`)
        : new Error(`${this.label}: could not start ffmpeg ('${ffmpeg}'): ${err.message}`);
      notify();
    });
    child.once('close', (code, sig) => {
      closed = { code, signal: sig };
      headerDone = true;
      notify();
    });
    const onAbort = () => notify();
    signal?.addEventListener('abort', onAbort);

    try {
      for (;;) {
        if (signal?.aborted) return;
        if (failure) throw failure;
        if (ready.length > 0 && headerDone) {
          const frame = ready.shift()!;
          frame.dropped = this.#dropped;
          if (ready.length === 0 && !closed) child.stdout!.resume();
          yield frame;
          continue;
        }
        if (closed) {
          const { code, signal: sig } = closed as { code: number | null; signal: NodeJS.Signals | null };
          if (code === 0) {
            if (splitter.pending > 0) throw new Error(`${this.label}: ffmpeg's output ended inside a frame (${splitter.pending} bytes of an incomplete image)`);
            return;
          }
          throw new Error(`${this.label}: ffmpeg failed (${code !== null ? `exit code ${code}` : `signal ${sig}`}): ${stderrTail(stderr)}`);
        }
        await new Promise<void>((resolve) => { wake = resolve; });
      }
    } finally {
      signal?.removeEventListener('abort', onAbort);
      // A child that never started (no pid) has nothing to kill or reap.
      if (!closed && child.pid !== undefined) {
        // Killed and waited for: Node reaps it on exit, so no zombie is left behind.
        const gone = new Promise<void>((resolve) => child.once('close', () => resolve()));
        child.stdout!.resume();
        child.kill('SIGKILL');
        await gone;
      }
      this.#child = null;
    }
  }
}

function defaultFormat(source: VideoSource): 'png' | 'mjpeg' {
  return 'camera' in source ? 'mjpeg' : 'png';
}

/** ffmpeg's last words, for an error message: its last few non-empty lines. */
function stderrTail(stderr: string): string {
  const lines = stderr.split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== '' && l !== 'Conversion failed!');
  return lines.slice(-2).join('; ') || '(no message)';
}

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/**
 * Splits a byte stream of images written one after another (ffmpeg's image2pipe) into the images.
 * PNG: the 8-byte signature, then chunks (4-byte big-endian length, 4-byte type, data, 4-byte CRC)
 * up to and including IEND. JPEG: SOI (FFD8), marker segments (FFxx with a 2-byte length; RSTn and
 * TEM without), entropy-coded data after each SOS (where FF is followed by 00 or RSTn), up to EOI
 * (FFD9) — parsed by segment, so a thumbnail's markers inside an APP segment are skipped.
 */
export class ImageStreamSplitter {
  readonly format: 'png' | 'mjpeg';
  #buf: Buffer = Buffer.alloc(0);
  /** Where parsing of the current image goes on (bytes before it are checked). */
  #pos = 0;
  #inScan = false;
  #offset = 0;

  constructor(format: 'png' | 'mjpeg') {
    this.format = format;
  }

  /** Bytes of an image not complete yet. */
  get pending(): number {
    return this.#buf.length;
  }

  /** Takes the next bytes; gives the images they complete, in order. */
  push(chunk: Uint8Array): Uint8Array[] {
    this.#buf = this.#buf.length ? Buffer.concat([this.#buf, chunk]) : Buffer.from(chunk);
    const out: Uint8Array[] = [];
    for (;;) {
      const end = this.format === 'png' ? this.#pngEnd() : this.#jpegEnd();
      if (end < 0) return out;
      // A copy, so that the image does not keep the whole read buffer alive.
      out.push(Uint8Array.prototype.slice.call(this.#buf, 0, end));
      this.#buf = this.#buf.subarray(end);
      this.#offset += end;
      this.#pos = 0;
      this.#inScan = false;
    }
  }

  #bad(what: string): never {
    throw new Error(`the stream of ${this.format === 'png' ? 'PNG' : 'JPEG'} images is corrupt at byte ${this.#offset + this.#pos}: ${what}`);
  }

  /** The end of the first complete PNG in the buffer, or -1. */
  #pngEnd(): number {
    const b = this.#buf;
    if (this.#pos === 0) {
      if (b.length < 8) {
        if (!PNG_SIGNATURE.slice(0, b.length).every((v, i) => b[i] === v)) this.#bad('expected a PNG signature');
        return -1;
      }
      if (!PNG_SIGNATURE.every((v, i) => b[i] === v)) this.#bad(`expected a PNG signature, got bytes ${b.subarray(0, 8).toString('hex')}`);
      this.#pos = 8;
    }
    while (this.#pos + 8 <= b.length) {
      const length = b.readUInt32BE(this.#pos);
      if (length > 0x7fffffff) this.#bad(`chunk length ${length} exceeds 2^31 - 1`);
      const type = b.toString('latin1', this.#pos + 4, this.#pos + 8);
      if (!/^[A-Za-z]{4}$/.test(type)) this.#bad(`invalid chunk type ${JSON.stringify(type)}`);
      const next = this.#pos + 12 + length;
      if (next > b.length) return -1;
      this.#pos = next;
      if (type === 'IEND') return next;
    }
    return -1;
  }

  /** The end of the first complete JPEG in the buffer, or -1. */
  #jpegEnd(): number {
    const b = this.#buf;
    if (this.#pos === 0) {
      if (b.length < 2) {
        if (b.length === 1 && b[0] !== 0xff) this.#bad('expected a JPEG start-of-image marker (FFD8)');
        return -1;
      }
      if (b[0] !== 0xff || b[1] !== 0xd8) this.#bad(`expected a JPEG start-of-image marker (FFD8), got ${b.subarray(0, 2).toString('hex')}`);
      this.#pos = 2;
    }
    for (;;) {
      if (this.#inScan) {
        // Entropy-coded data: runs until a marker other than stuffing (FF00) and RSTn.
        let i = this.#pos;
        for (;;) {
          i = b.indexOf(0xff, i);
          if (i < 0 || i + 1 >= b.length) {
            this.#pos = i < 0 ? b.length : i;
            return -1;
          }
          const m = b[i + 1]!;
          if (m === 0x00 || (m >= 0xd0 && m <= 0xd7) || m === 0xff) { i += m === 0xff ? 1 : 2; continue; }
          break;
        }
        this.#pos = i;
        this.#inScan = false;
      }
      // A marker: FF (fill FFs allowed), then its code.
      let i = this.#pos;
      if (i >= b.length) return -1;
      if (b[i] !== 0xff) this.#bad(`expected a marker, got byte ${b[i]!.toString(16)}`);
      while (i < b.length && b[i] === 0xff) i++;
      if (i >= b.length) return -1;
      const m = b[i]!;
      if (m === 0xd9) return i + 1;
      if (m === 0xd8) this.#bad('a start-of-image marker inside an image');
      if ((m >= 0xd0 && m <= 0xd7) || m === 0x01) { this.#pos = i + 1; continue; }
      if (i + 3 > b.length) return -1;
      const length = b.readUInt16BE(i + 1);
      if (length < 2) this.#bad(`segment FF${m.toString(16)} with length ${length}`);
      const next = i + 1 + length;
      if (next > b.length) return -1;
      this.#pos = next;
      if (m === 0xda) this.#inScan = true;
    }
  }
}

export interface LiveFrameReport {
  index: number;
  timeMs: number;
  predictions: Prediction[];
  /** From the frame's arrival to its answer: waiting for the model, decoding, inference. */
  latencyMs: number;
  /** Frames classified per second, over the last few frames. */
  fps: number;
  /** Frames dropped so far. */
  dropped: number;
}

export interface LiveSummary {
  frames: number;
  dropped: number;
  /** Frames classified per second, from the start to the last answer. */
  meanFps: number;
}

export interface LiveClassifyOptions extends Omit<VideoFramesOptions, 'signal'> {
  /** Labels per frame (default 5). */
  topK?: number;
  /** Stops: the frame in flight is abandoned, ffmpeg killed, the summary returned. */
  signal?: AbortSignal;
  /** Told after each classified frame. */
  onFrame?: (report: LiveFrameReport) => void;
}

/** Frames over which `fps` is averaged. */
const FPS_WINDOW = 10;

/**
 * Classifies the frames of `source` through `service` as they come, one in flight at a time:
 * a model slower than a camera makes the camera's frames drop (the newest is classified next),
 * never a queue. Ends at the end of a file, or when `signal` fires.
 */
export async function liveClassify(service: Pick<ModelService, 'classifyImage'>, source: VideoSource | VideoFrames, options: LiveClassifyOptions = {}): Promise<LiveSummary> {
  const { topK = 5, signal, onFrame, ...videoOptions } = options;
  const frames = source instanceof VideoFrames ? source : videoFrames(source, { ...videoOptions, signal });
  const start = performance.now();
  const answeredAt: number[] = [];
  let count = 0;
  let last = start;
  for await (const frame of frames) {
    let result;
    try {
      result = await service.classifyImage(frame.image, { topK, signal });
    } catch (err) {
      if (signal?.aborted) break;
      throw new Error(`${frames.label}, frame ${frame.index}: ${(err as Error).message}`, { cause: err });
    }
    last = performance.now();
    count++;
    answeredAt.push(last);
    if (answeredAt.length > FPS_WINDOW + 1) answeredAt.shift();
    const span = (answeredAt.at(-1)! - answeredAt[0]!) / 1000;
    const fps = answeredAt.length > 1 && span > 0 ? (answeredAt.length - 1) / span : count / Math.max((last - start) / 1000, 1e-9);
    onFrame?.({ index: frame.index, timeMs: frame.timeMs, predictions: result.predictions, latencyMs: last - frame.receivedAt, fps, dropped: frames.dropped });
    if (signal?.aborted) break;
  }
  const seconds = (last - start) / 1000;
  return { frames: count, dropped: frames.dropped, meanFps: count > 0 && seconds > 0 ? count / seconds : 0 };
}
