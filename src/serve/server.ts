// The HTTP inference server: a small JSON API over ModelServices on fastify (schema validation of
// the query, content-type parsers with a body limit, hooks for auth and CORS, multipart and
// WebSocket plugins). The models are fixed when the server starts: no route names a file or
// loads a model. Every error is JSON `{ error }` with a status that says whose fault it was.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import multipart from '@fastify/multipart';
import type { ModelService, ClassifyResult, Prediction } from './model-service.js';
import { InputError, QueueFullError, RequestAbortedError, RequestTimeoutError, ServiceClosedError } from './errors.js';
import { ServeMetrics } from './metrics.js';
import { registerWebcam } from './webcam.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The route needs no bearer token (health checks; the webcam page and its assets, which hold no data). */
    public?: boolean;
  }
}

export interface ServerOptions {
  /** Interface to listen on (default '127.0.0.1': loopback only). */
  host?: string;
  /** Port (default 8080; 0 picks a free one). */
  port?: number;
  /** A bearer token every route but health, readiness and the page requires. */
  token?: string;
  /** Origins allowed to call the API from a browser ('*' for any); absent: CORS off, no CORS headers. */
  cors?: readonly string[];
  /** Largest request body in bytes (a multipart batch: all its files together). Default 10 MiB. */
  bodyLimit?: number;
  /** Most images in one classify-batch request (default 32). */
  maxBatchImages?: number;
  /** Labels answered when a request has no `top` (default 5). */
  topK?: number;
  /** The webcam page at `/` and its WebSocket stream (default true). */
  page?: boolean;
  /** fastify's request log on stdout (default off). */
  logger?: boolean;
  /** Per-request limit in ms instead of each service's own timeoutMs. */
  requestTimeoutMs?: number;
  /** Counters to use (create them first to pass their batch observer to ModelService.start); default: new ones. */
  metrics?: ServeMetrics;
}

export interface InferenceServer {
  /** Where it listens, e.g. http://127.0.0.1:8080. */
  readonly url: string;
  readonly port: number;
  readonly app: FastifyInstance;
  readonly metrics: ServeMetrics;
  /** Stops accepting, answers what is in flight and queued, then closes the services. Idempotent. */
  close(): Promise<void>;
}

export const DEFAULT_SERVER_OPTIONS = { host: '127.0.0.1', port: 8080, bodyLimit: 10 * 1024 * 1024, maxBatchImages: 32, topK: 5, page: true, logger: false } as const;

const KNOWN_OPTIONS = ['host', 'port', 'token', 'cors', 'bodyLimit', 'maxBatchImages', 'topK', 'page', 'logger', 'requestTimeoutMs', 'metrics'];
// RFC 7230 token characters: valid in an Authorization header and in a WebSocket subprotocol name.
const TOKEN_CHARS = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** An answer with its status (and headers), thrown by the handlers and sent by the error handler. */
class HttpError extends Error {
  constructor(readonly status: number, message: string, readonly headers: Record<string, string> = {}) {
    super(message);
    this.name = 'HttpError';
  }
}

function positiveInteger(options: ServerOptions, key: 'bodyLimit' | 'maxBatchImages' | 'topK' | 'requestTimeoutMs'): void {
  const v = options[key];
  if (v !== undefined && (!Number.isInteger(v) || v < 1)) throw new RangeError(`startServer: option '${key}' must be a positive integer, got ${JSON.stringify(v)}`);
}

function validate(services: readonly ModelService[], options: ServerOptions): void {
  const unknown = Object.keys(options).filter((k) => !KNOWN_OPTIONS.includes(k));
  if (unknown.length) throw new TypeError(`startServer: unknown option${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `'${k}'`).join(', ')}; expected ${KNOWN_OPTIONS.join(', ')}`);
  if (!Array.isArray(services) || services.length === 0) throw new RangeError('startServer: expected at least one ModelService');
  const seen = new Set<string>();
  for (const s of services) {
    if (seen.has(s.info.name)) throw new RangeError(`startServer: two models are named '${s.info.name}'; give each its own name`);
    seen.add(s.info.name);
  }
  const { host, port, token, cors } = options;
  if (host !== undefined && (typeof host !== 'string' || host === '')) throw new TypeError(`startServer: option 'host' must be a non-empty string, got ${JSON.stringify(host)}`);
  if (port !== undefined && (!Number.isInteger(port) || port < 0 || port > 65535)) throw new RangeError(`startServer: option 'port' must be an integer from 0 to 65535, got ${JSON.stringify(port)}`);
  if (token !== undefined && (typeof token !== 'string' || !TOKEN_CHARS.test(token))) {
    throw new TypeError("startServer: option 'token' must be a non-empty string of letters, digits and !#$%&'*+.^_`|~- (it travels in a header and a WebSocket subprotocol), e.g. the output of `openssl rand -hex 32`");
  }
  if (cors !== undefined) {
    if (!Array.isArray(cors)) throw new TypeError(`startServer: option 'cors' must be a list of origins, got ${JSON.stringify(cors)}`);
    for (const o of cors) {
      if (o !== '*' && (typeof o !== 'string' || !/^https?:\/\/[^/\s]+$/.test(o))) throw new TypeError(`startServer: option 'cors': '${o}' is not an origin like http://localhost:3000 (scheme, host, optional port; no path) or '*'`);
    }
  }
  for (const key of ['bodyLimit', 'maxBatchImages', 'topK', 'requestTimeoutMs'] as const) positiveInteger(options, key);
  for (const key of ['page', 'logger'] as const) {
    if (options[key] !== undefined && typeof options[key] !== 'boolean') throw new TypeError(`startServer: option '${key}' must be true or false, got ${JSON.stringify(options[key])}`);
  }
  if (options.metrics !== undefined && !(options.metrics instanceof ServeMetrics)) throw new TypeError("startServer: option 'metrics' must come from createMetrics()");
}

/** Compares in constant time (the digests have equal lengths whatever the inputs). */
function sameToken(given: string, expected: Buffer): boolean {
  return timingSafeEqual(createHash('sha256').update(given).digest(), expected);
}

/** The token a request carries: `Authorization: Bearer <t>`, or for a WebSocket upgrade the subprotocol `bearer.<t>`. */
function tokenOf(request: FastifyRequest): string | undefined {
  const auth = request.headers.authorization;
  if (auth) {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(auth);
    return m ? m[1] : undefined;
  }
  if (request.headers.upgrade?.toLowerCase() === 'websocket') {
    const offered = String(request.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim());
    const p = offered.find((x) => x.startsWith('bearer.'));
    return p?.slice('bearer.'.length);
  }
  return undefined;
}

/** How an error is answered: status, message, headers. */
function answerFor(err: unknown, options: { bodyLimit: number; maxBatchImages: number }, contentType: string | undefined): HttpError {
  if (err instanceof HttpError) return err;
  if (err instanceof InputError) return new HttpError(400, err.message);
  if (err instanceof QueueFullError) return new HttpError(503, err.message, { 'retry-after': String(err.retryAfterSeconds) });
  if (err instanceof RequestTimeoutError) return new HttpError(504, err.message);
  if (err instanceof ServiceClosedError) return new HttpError(503, err.message);
  // Nobody reads it (the client went away); 499 as nginx logs it.
  if (err instanceof RequestAbortedError) return new HttpError(499, err.message);
  const e = err as Error & { code?: string; statusCode?: number; validation?: unknown };
  switch (e.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
    case 'FST_REQ_FILE_TOO_LARGE':
      return new HttpError(413, `the body is too large: the limit is ${options.bodyLimit} bytes (bodyLimit)`);
    case 'FST_FILES_LIMIT':
      return new HttpError(413, `too many files: at most ${options.maxBatchImages} images per batch request (maxBatchImages)`);
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_ERR_CTP_EMPTY_TYPE':
      return new HttpError(415, `${contentType ? `unsupported Content-Type '${contentType}'` : 'no Content-Type'}: send the image's bytes as image/jpeg, image/png, image/webp (any image/*) or application/octet-stream, or multipart/form-data with the image as a file`);
    case 'FST_INVALID_MULTIPART_CONTENT_TYPE':
    case 'FST_MP_PREMATURE_CLOSE':
      return new HttpError(400, `bad multipart body: ${e.message}`);
  }
  if (e.validation) return new HttpError(400, `bad request: ${e.message}`);
  if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) return new HttpError(e.statusCode, e.message);
  return new HttpError(500, `internal error: ${e.message ?? String(err)}`);
}

/**
 * A signal that fires when the client disconnects before its answer is sent (the response's
 * 'close' comes before it ended; the request's own 'close' fires as soon as its body is read), or
 * when `timeoutMs` passes; `timedOut()` tells which.
 */
function requestSignal(reply: FastifyReply, timeoutMs: number | undefined): { signal: AbortSignal; timedOut: () => boolean; done: () => void } {
  const controller = new AbortController();
  let timedOut = false;
  const onClose = () => { if (!reply.raw.writableEnded) controller.abort(); };
  reply.raw.once('close', onClose);
  const timer = timeoutMs === undefined ? null : setTimeout(() => { timedOut = true; controller.abort(); }, timeoutMs);
  return {
    signal: controller.signal,
    timedOut: () => timedOut,
    done: () => { if (timer) clearTimeout(timer); reply.raw.off('close', onClose); },
  };
}

/** Lists of a multipart body's files as buffers, each handed to `onFile` as soon as it is read. */
async function readFiles(request: FastifyRequest, bodyLimit: number, onFile: (name: string, bytes: Buffer) => void): Promise<number> {
  let total = 0;
  let count = 0;
  for await (const part of request.parts()) {
    if (part.type !== 'file') continue;
    const bytes = await part.toBuffer();
    total += bytes.length;
    if (total > bodyLimit) throw new HttpError(413, `the body is too large: the limit is ${bodyLimit} bytes for all files together (bodyLimit)`);
    onFile(part.filename || part.fieldname, bytes);
    count++;
  }
  return count;
}

const topSchema = {
  querystring: {
    type: 'object',
    properties: { top: { type: 'integer', minimum: 1, maximum: 1000 } },
    additionalProperties: false,
  },
} as const;

/** Starts listening; the server owns `services` from here on and closes them when it closes. */
export async function startServer(services: readonly ModelService[], options: ServerOptions = {}): Promise<InferenceServer> {
  validate(services, options);
  const o = { ...DEFAULT_SERVER_OPTIONS, ...options };
  const byName = new Map(services.map((s) => [s.info.name, s]));
  const metrics = options.metrics ?? new ServeMetrics();
  for (const s of services) metrics.track(s);
  const expected = o.token === undefined ? null : createHash('sha256').update(o.token).digest();
  const limits = { bodyLimit: o.bodyLimit, maxBatchImages: o.maxBatchImages };
  let closing = false;

  const app = fastify({ logger: o.logger, bodyLimit: o.bodyLimit, return503OnClosing: true });

  app.setErrorHandler((err, request, reply) => {
    const a = answerFor(err, limits, request.headers['content-type']);
    if (a.status >= 500 && a.status !== 503 && a.status !== 504) request.log.error(err);
    void reply.code(a.status).headers(a.headers).send({ error: a.message });
  });
  app.setNotFoundHandler((request, reply) => {
    void reply.code(404).send({ error: `no route ${request.method} ${request.url.split('?')[0]}` });
  });

  // Requests being answered, so that close can end the remaining connections once they are done
  // (an idle keep-alive connection, or one a client left half-open, would hold the close).
  let active = 0;
  const whenIdle: (() => void)[] = [];
  app.addHook('onRequest', async (_request, reply) => {
    active++;
    reply.raw.once('close', () => {
      if (--active === 0) for (const f of whenIdle.splice(0)) f();
    });
  });

  // CORS first, so that preflights need no token and 401s reach the page that asked.
  const cors = o.cors ? new Set(o.cors) : null;
  if (cors) {
    app.addHook('onRequest', async (request, reply) => {
      const origin = request.headers.origin;
      if (!origin || !(cors.has('*') || cors.has(origin))) return;
      void reply.header('access-control-allow-origin', cors.has('*') ? '*' : origin).header('vary', 'Origin').header('access-control-expose-headers', 'Retry-After');
      if (request.method === 'OPTIONS' && request.headers['access-control-request-method']) {
        return reply.code(204).header('access-control-allow-methods', 'GET, POST, OPTIONS')
          .header('access-control-allow-headers', 'Authorization, Content-Type').header('access-control-max-age', '600').send();
      }
    });
  }
  if (expected) {
    app.addHook('onRequest', async (request, reply) => {
      if (request.routeOptions.config?.public) return;
      const given = tokenOf(request);
      if (given !== undefined && sameToken(given, expected)) return;
      return reply.code(401).header('www-authenticate', given === undefined ? 'Bearer realm="dlkit"' : 'Bearer realm="dlkit", error="invalid_token"')
        .send({ error: given === undefined ? 'a bearer token is required: Authorization: Bearer <token>' : 'the bearer token is wrong' });
    });
  }
  app.addHook('onResponse', async (request, reply) => {
    const name = (request.params as { name?: string } | undefined)?.name;
    const model = name !== undefined && byName.has(name) ? name : '';
    metrics.requests.inc({ model, route: request.routeOptions.url ?? '(none)', status: String(reply.statusCode) });
    if (model && request.method === 'POST') metrics.requestDuration.observe({ model }, reply.elapsedTime / 1000);
  });

  // While draining, answers close their connection: a kept-alive socket would otherwise hold the
  // server open until its keep-alive timeout (72 s) after the last answer.
  app.addHook('onSend', async (_request, reply) => {
    if (closing) void reply.header('connection', 'close');
  });
  app.get('/healthz', { config: { public: true } }, async () => ({ status: 'ok' }));
  app.get('/readyz', { config: { public: true } }, async (_request, reply) => {
    const models = [...byName.keys()];
    if (closing) return reply.code(503).send({ ready: false, models });
    return { ready: true, models };
  });
  app.get('/metrics', async (_request, reply) => reply.type(metrics.registry.contentType).send(await metrics.text()));
  app.get('/v1/models', async () => ({
    models: services.map((s) => {
      const b = s.batching;
      return {
        name: s.info.name, classes: s.info.classes, inputSize: s.info.inputSize, parameters: s.info.parameters,
        batching: { ...b, timeoutMs: o.requestTimeoutMs ?? b.timeoutMs },
      };
    }),
  }));

  /** Classifies one image with the request's deadline and disconnect signal. */
  const classifyOne = async (service: ModelService, bytes: Uint8Array, topK: number, signal: AbortSignal, timedOut: () => boolean): Promise<ClassifyResult> => {
    try {
      return await service.classifyImage(bytes, { topK, signal });
    } catch (err) {
      if (err instanceof RequestAbortedError && timedOut()) throw new RequestTimeoutError(service.info.name, o.requestTimeoutMs!);
      throw err;
    }
  };

  // The classification routes, in a context of their own: only image bodies and multipart parse
  // (fastify's JSON and text parsers would hand a handler a string).
  await app.register(async (api) => {
    api.removeAllContentTypeParsers();
    for (const type of [/^image\//, 'application/octet-stream']) api.addContentTypeParser(type, { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
    await api.register(multipart, { limits: { files: o.maxBatchImages, fileSize: o.bodyLimit, fields: 64, parts: o.maxBatchImages + 64 } });

    // An unknown model is answered before its body is read.
    const findModel = async (request: FastifyRequest<{ Params: { name: string } }>) => {
      if (!byName.has(request.params.name)) {
        throw new HttpError(404, `no model '${request.params.name}'; the models are ${[...byName.keys()].map((n) => `'${n}'`).join(', ')}`);
      }
    };
    type Req = FastifyRequest<{ Params: { name: string }; Querystring: { top?: number } }>;

    api.post('/v1/models/:name/classify', { schema: topSchema, onRequest: findModel }, async (request: Req, reply) => {
      const service = byName.get(request.params.name)!;
      const top = request.query.top ?? o.topK;
      const { signal, timedOut, done } = requestSignal(reply, o.requestTimeoutMs);
      try {
        let bytes: Buffer | undefined;
        if (request.isMultipart()) {
          try {
            await readFiles(request, o.bodyLimit, (_name, b) => {
              if (bytes) throw new HttpError(400, 'expected exactly one image file in the form, got more (use classify-batch for several)');
              bytes = b;
            });
          } catch (err) {
            if ((err as { code?: string }).code === 'FST_FILES_LIMIT') throw new HttpError(400, 'expected exactly one image file in the form, got more (use classify-batch for several)');
            throw err;
          }
          if (!bytes) throw new HttpError(400, 'the form has no file: expected exactly one image file');
        } else {
          bytes = request.body as Buffer | undefined ?? Buffer.alloc(0);
        }
        const r = await classifyOne(service, bytes, top, signal, timedOut);
        return { model: service.info.name, predictions: r.predictions, timings: r.timings };
      } finally {
        done();
      }
    });

    api.post('/v1/models/:name/classify-batch', { schema: topSchema, onRequest: findModel }, async (request: Req, reply) => {
      const service = byName.get(request.params.name)!;
      const top = request.query.top ?? o.topK;
      if (!request.isMultipart()) throw new HttpError(415, 'classify-batch takes multipart/form-data with the images as files');
      const { signal, timedOut, done } = requestSignal(reply, o.requestTimeoutMs);
      // Each file is queued as soon as it is read, so that decoding and batching overlap the upload.
      type Item = { file: string; predictions: Prediction[] } | { file: string; error: string; cause: unknown };
      const jobs: Promise<Item>[] = [];
      const stop = new AbortController();
      const both = AbortSignal.any([signal, stop.signal]);
      try {
        try {
          await readFiles(request, o.bodyLimit, (file, bytes) => {
            jobs.push(classifyOne(service, bytes, top, both, timedOut).then(
              (r) => ({ file, predictions: r.predictions }),
              (err: Error) => ({ file, error: err.message, cause: err })));
          });
        } catch (err) {
          stop.abort();
          await Promise.all(jobs);
          throw err;
        }
        if (jobs.length === 0) throw new HttpError(400, 'the form has no file: expected 1 to ' + o.maxBatchImages + ' image files');
        const items = await Promise.all(jobs);
        // When the service itself refused every image (queue full, timeout, closing), the request as a whole gets that status.
        const serviceError = (e: unknown) => e instanceof QueueFullError || e instanceof RequestTimeoutError || e instanceof ServiceClosedError;
        const failures = items.filter((i): i is Extract<Item, { error: string }> => 'error' in i);
        if (failures.length === items.length && failures.every((f) => serviceError(f.cause))) throw failures[0]!.cause;
        return { model: service.info.name, results: items.map((i) => ('error' in i ? { file: i.file, error: i.error } : i)) };
      } finally {
        done();
      }
    });
  });

  if (o.page) await registerWebcam(app, { services: byName });

  await app.listen({ host: o.host, port: o.port });
  const port = (app.server.address() as AddressInfo).port;
  const url = `http://${o.host.includes(':') ? `[${o.host}]` : o.host}:${port}`;
  let closed: Promise<void> | null = null;
  return {
    url, port, app, metrics,
    close() {
      closed ??= (async () => {
        closing = true;
        try {
          const appClosed = app.close();
          if (active > 0) await new Promise<void>((resolve) => whenIdle.push(resolve));
          app.server.closeAllConnections();
          await appClosed;
        } finally {
          await Promise.allSettled(services.map((s) => s.close()));
        }
      })();
      return closed;
    },
  };
}
