// The server's Prometheus metrics, on prom-client with a registry of their own (never the global
// one: several servers in one process, as in the tests, each count their own requests).
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { BatchReport } from './batcher.js';
import type { ModelService } from './model-service.js';

export interface ServeMetricsOptions {
  /** Also the process' own metrics (CPU, memory, event-loop lag, handles; prom-client's defaults). Default true. */
  processMetrics?: boolean;
}

/**
 * The counters of one server. Created before the models start, so that each model's batches can
 * be observed from the start: pass `onBatch: (r) => metrics.observeBatch(name, r)` (or
 * `metrics.batchObserver(name)`) to `ModelService.start`, then `{ metrics }` to `startServer`.
 */
export class ServeMetrics {
  readonly registry = new Registry();
  readonly requests: Counter<'model' | 'route' | 'status'>;
  readonly requestDuration: Histogram<'model'>;
  readonly batchSize: Histogram<'model'>;
  readonly inferenceDuration: Histogram<'model'>;
  readonly #services = new Set<ModelService>();

  constructor(options: ServeMetricsOptions = {}) {
    const registers = [this.registry];
    this.requests = new Counter({ name: 'dlkit_requests_total', help: 'HTTP requests answered, by model, route and status code', labelNames: ['model', 'route', 'status'], registers });
    this.requestDuration = new Histogram({
      name: 'dlkit_request_duration_seconds', help: 'Time from a classification request arriving to its answer', labelNames: ['model'], registers,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    });
    this.batchSize = new Histogram({ name: 'dlkit_batch_size', help: 'Requests per forward pass', labelNames: ['model'], registers, buckets: [1, 2, 4, 8, 16, 32, 64, 128] });
    this.inferenceDuration = new Histogram({
      name: 'dlkit_inference_duration_seconds', help: 'Time of one forward pass (one batch)', labelNames: ['model'], registers,
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    });
    const services = this.#services;
    new Gauge({
      name: 'dlkit_queue_depth', help: 'Requests waiting for a batch, read at scrape time', labelNames: ['model'], registers,
      collect() {
        this.reset();
        for (const s of services) this.set({ model: s.info.name }, s.queueDepth);
      },
    });
    if (options.processMetrics ?? true) collectDefaultMetrics({ register: this.registry });
  }

  /** Records one forward pass of `model` (what ModelService's onBatch reports). */
  observeBatch(model: string, report: BatchReport): void {
    this.batchSize.observe({ model }, report.size);
    this.inferenceDuration.observe({ model }, report.runMs / 1000);
  }

  /** An `onBatch` callback for ModelService.start that records `model`'s batches. */
  batchObserver(model: string): (report: BatchReport) => void {
    return (report) => this.observeBatch(model, report);
  }

  /** Services whose queue depth the gauge reads (the server adds its own). */
  track(service: ModelService): void {
    this.#services.add(service);
  }

  /** The Prometheus text exposition of every metric. */
  text(): Promise<string> {
    return this.registry.metrics();
  }
}

/** The metrics for a server: see ServeMetrics. */
export function createMetrics(options: ServeMetricsOptions = {}): ServeMetrics {
  return new ServeMetrics(options);
}
