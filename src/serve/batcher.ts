// Dynamic batching, as TorchServe and Triton do it: requests that arrive while the model is busy
// (or, with maxDelayMs, within a few milliseconds of each other) run as one forward pass, and
// each gets its own rows back. By default an idle model starts at once: under load requests pile
// up during each forward pass and batch by themselves, and a lone client pays no waiting time
// (docs/notes.md, "Serving": what a waiting window cost a lone client in `npm run bench -- serve`). One batch runs at a time per model: a second concurrent batch would only split the
// same cores. The queue is bounded: past it a request is refused at once (QueueFullError), so
// under overload latency stays bounded instead of a backlog growing.
import { QueueFullError, RequestTimeoutError, ServiceClosedError, RequestAbortedError } from './errors.js';

export interface BatchingOptions {
  /** Most requests in one forward pass (default 16). */
  maxBatchSize?: number;
  /** How long the first request of a batch waits for others when the model is idle (default 0: it starts at once). */
  maxDelayMs?: number;
  /** Most requests waiting (not yet running) before new ones are refused (default 64). */
  maxQueue?: number;
  /** Per-request limit on waiting plus running, in ms (default 10,000). */
  timeoutMs?: number;
}

export const DEFAULT_BATCHING: Required<BatchingOptions> = { maxBatchSize: 16, maxDelayMs: 0, maxQueue: 64, timeoutMs: 10_000 };

/** What the batcher reports after each batch (for metrics). */
export interface BatchReport {
  size: number;
  /** Time the forward pass took, ms. */
  runMs: number;
}

interface Pending<I, O> {
  input: I;
  enqueuedAt: number;
  resolve: (o: { output: O; queueMs: number; runMs: number; batchSize: number }) => void;
  reject: (e: Error) => void;
  settled: boolean;
  timer: NodeJS.Timeout;
  cleanup: () => void;
}

export class DynamicBatcher<I, O> {
  readonly options: Required<BatchingOptions>;
  #queue: Pending<I, O>[] = [];
  #running = 0; // requests in the batch now running
  #busy = false;
  #timer: NodeJS.Timeout | null = null;
  #closing = false;
  #idle: (() => void)[] = [];

  /** `run` takes a batch of inputs and gives one output per input, in order. */
  constructor(
    readonly model: string,
    private readonly run: (inputs: I[]) => Promise<O[]>,
    options: BatchingOptions = {},
    private readonly onBatch?: (r: BatchReport) => void,
  ) {
    // Only the batching fields (a caller may pass a larger options object), each defaulted.
    const d = DEFAULT_BATCHING;
    this.options = { maxBatchSize: options.maxBatchSize ?? d.maxBatchSize, maxDelayMs: options.maxDelayMs ?? d.maxDelayMs, maxQueue: options.maxQueue ?? d.maxQueue, timeoutMs: options.timeoutMs ?? d.timeoutMs };
    const o = this.options;
    for (const key of ['maxBatchSize', 'maxQueue', 'timeoutMs'] as const) {
      if (!Number.isInteger(o[key]) || o[key] < 1) throw new RangeError(`batching option '${key}' must be a positive integer, got ${JSON.stringify(o[key])}`);
    }
    if (!(o.maxDelayMs >= 0) || !Number.isFinite(o.maxDelayMs)) throw new RangeError(`batching option 'maxDelayMs' must be a number ≥ 0, got ${JSON.stringify(o.maxDelayMs)}`);
  }

  /** Requests waiting to run. */
  get queueDepth(): number {
    return this.#queue.length;
  }

  /** Requests in the batch that is running now. */
  get inFlight(): number {
    return this.#running;
  }

  /** Queues one input; resolves with its output, or rejects (queue full, timeout, abort, closing). */
  submit(input: I, signal?: AbortSignal): Promise<{ output: O; queueMs: number; runMs: number; batchSize: number }> {
    if (this.#closing) return Promise.reject(new ServiceClosedError(this.model));
    if (signal?.aborted) return Promise.reject(new RequestAbortedError(this.model));
    if (this.#queue.length >= this.options.maxQueue) {
      // A hint for the client: roughly how long the queue ahead takes to drain at one batch per forward.
      return Promise.reject(new QueueFullError(this.model, this.options.maxQueue, 1));
    }
    return new Promise((resolve, reject) => {
      const p: Pending<I, O> = {
        input, enqueuedAt: performance.now(), resolve, reject, settled: false,
        timer: setTimeout(() => this.#fail(p, new RequestTimeoutError(this.model, this.options.timeoutMs)), this.options.timeoutMs),
        cleanup: () => {},
      };
      if (signal) {
        const onAbort = () => this.#fail(p, new RequestAbortedError(this.model));
        signal.addEventListener('abort', onAbort, { once: true });
        p.cleanup = () => signal.removeEventListener('abort', onAbort);
      }
      this.#queue.push(p);
      this.#schedule();
    });
  }

  /** Stops taking requests and resolves once every queued and running request has been answered. */
  async drain(): Promise<void> {
    this.#closing = true;
    if (this.#queue.length === 0 && !this.#busy) return;
    await new Promise<void>((resolve) => this.#idle.push(resolve));
  }

  #fail(p: Pending<I, O>, err: Error): void {
    if (p.settled) return;
    p.settled = true;
    clearTimeout(p.timer);
    p.cleanup();
    // A request still waiting leaves the queue (it costs nothing); one already running is
    // computed with its batch and its rows are dropped.
    const i = this.#queue.indexOf(p);
    if (i >= 0) this.#queue.splice(i, 1);
    p.reject(err);
    this.#checkIdle();
  }

  #schedule(): void {
    if (this.#busy || this.#queue.length === 0) return;
    const wait = this.#queue[0]!.enqueuedAt + this.options.maxDelayMs - performance.now();
    if (this.#queue.length >= this.options.maxBatchSize || wait <= 0 || this.#closing) {
      if (this.#timer) { clearTimeout(this.#timer); this.#timer = null; }
      void this.#runBatch();
    } else if (!this.#timer) {
      this.#timer = setTimeout(() => { this.#timer = null; this.#schedule(); }, wait);
    }
  }

  async #runBatch(): Promise<void> {
    const batch = this.#queue.splice(0, this.options.maxBatchSize);
    this.#busy = true;
    this.#running = batch.length;
    const start = performance.now();
    try {
      const outputs = await this.run(batch.map((p) => p.input));
      const runMs = performance.now() - start;
      this.onBatch?.({ size: batch.length, runMs });
      batch.forEach((p, i) => {
        if (p.settled) return;
        p.settled = true;
        clearTimeout(p.timer);
        p.cleanup();
        p.resolve({ output: outputs[i]!, queueMs: start - p.enqueuedAt, runMs, batchSize: batch.length });
      });
    } catch (err) {
      for (const p of batch) {
        if (p.settled) continue;
        p.settled = true;
        clearTimeout(p.timer);
        p.cleanup();
        p.reject(err as Error);
      }
    } finally {
      this.#busy = false;
      this.#running = 0;
      this.#schedule();
      this.#checkIdle();
    }
  }

  #checkIdle(): void {
    if (this.#busy || this.#queue.length > 0) return;
    for (const resolve of this.#idle.splice(0)) resolve();
  }
}
