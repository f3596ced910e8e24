// The webcam page at `/`, its static assets, the models as ONNX for the page's in-browser mode,
// and the `/v1/stream` WebSocket that classifies camera frames one at a time.
//
// Stream protocol (one socket per page; see docs/notes.md): the client sends one binary message
// per frame (an encoded JPEG/PNG/WebP image); the server answers each with exactly one JSON text
// message, in order: `{predictions, timings, serverMs, model}`, or `{error}` for a frame that
// cannot be used (the socket stays open), with `retryAfterSeconds` when the model's queue is full.
// A client waits for the answer before sending the next frame; a frame that arrives while one is
// still being classified is answered at once with `{error, busy: true}` instead of queueing, so no
// backlog can grow on the server whatever a client does. A text message `{"model": NAME, "top": K}`
// switches the socket's model (answered `{model, classes, inputSize}`).
import { createRequire } from 'node:module';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply } from 'fastify';
import websocket, { type WebSocket } from '@fastify/websocket';
import type { ModelService } from './model-service.js';
import { QueueFullError, InputError } from './errors.js';

export interface WebcamContext {
  /** The served models by name. */
  services: ReadonlyMap<string, ModelService>;
}

/** The subprotocol the page offers beside `bearer.<token>`; the server must pick one the page offered. */
export const STREAM_PROTOCOL = 'dlkit.v1';

/** The largest frame a stream accepts (bytes); a 1080p JPEG at quality 0.9 is well under this. */
export const MAX_FRAME_BYTES = 8 * 1024 * 1024;

// dist/src/serve/webcam.js -> src/serve/page/ (the page is plain browser ES modules, not compiled).
const PAGE_DIR = fileURLToPath(new URL('../../../src/serve/page/', import.meta.url));

// The page's own files and their types: only these names are served, never a path from a request.
const PAGE_FILES: Record<string, string> = {
  'app.js': 'text/javascript; charset=utf-8',
  'resize.js': 'text/javascript; charset=utf-8',
  'style.css': 'text/css; charset=utf-8',
};

// onnxruntime-web's files the page loads: the wasm-only ES module build and its single wasm
// binary (the page runs one thread, so no worker scripts and no cross-origin isolation).
const ORT_FILES: Record<string, string> = {
  'ort.wasm.min.mjs': 'text/javascript; charset=utf-8',
  'ort-wasm-simd-threaded.mjs': 'text/javascript; charset=utf-8',
  'ort-wasm-simd-threaded.wasm': 'application/wasm',
};

// The package's `exports` hide package.json but export the wasm binary, which lies in dist/
// beside the scripts.
function ortDir(): string {
  return path.dirname(createRequire(import.meta.url).resolve('onnxruntime-web/ort-wasm-simd-threaded.wasm'));
}

async function sendFile(reply: FastifyReply, file: string, type: string): Promise<FastifyReply> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (err) {
    return reply.code(500).send({ error: `the page's file ${path.basename(file)} cannot be read: ${(err as Error).message}` });
  }
  return reply.type(type).header('cache-control', 'no-cache').send(bytes);
}

/** Parses `top` (query or message): a positive integer, at most the class count; default 5. */
function parseTop(value: unknown, classes: number): number {
  if (value === undefined || value === '') return Math.min(5, classes);
  const k = typeof value === 'number' ? value : Number(value);
  if (!Number.isInteger(k) || k < 1) throw new InputError(`top must be a positive integer, got ${JSON.stringify(value)}`);
  return Math.min(k, classes);
}

/** What ws hands a message handler. */
type RawData = Buffer | ArrayBuffer | Buffer[];

function toBytes(data: RawData): Uint8Array {
  if (Array.isArray(data)) return Buffer.concat(data);
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  return data;
}

/** One socket's state: its model, top-K, and whether a frame is being classified now. */
class StreamSession {
  #busy = false;
  readonly #abort = new AbortController();

  constructor(readonly socket: WebSocket, readonly services: ReadonlyMap<string, ModelService>, public service: ModelService, public top: number) {
    socket.on('message', (data, isBinary) => { void this.#onMessage(data, isBinary); });
    socket.on('close', () => this.#abort.abort());
  }

  #send(msg: object): void {
    if (this.socket.readyState === this.socket.OPEN) this.socket.send(JSON.stringify(msg));
  }

  async #onMessage(data: RawData, isBinary: boolean): Promise<void> {
    if (!isBinary) return this.#onControl(data.toString());
    if (this.#busy) {
      this.#send({ error: 'a frame is already being classified: send the next frame after its answer', busy: true });
      return;
    }
    const bytes = toBytes(data);
    if (bytes.length > MAX_FRAME_BYTES) {
      this.#send({ error: `frame too large: ${bytes.length} bytes, at most ${MAX_FRAME_BYTES}` });
      return;
    }
    this.#busy = true;
    const t0 = performance.now();
    const service = this.service;
    try {
      const r = await service.classifyImage(bytes, { topK: this.top, signal: this.#abort.signal });
      this.#send({ model: service.info.name, predictions: r.predictions, timings: r.timings, serverMs: performance.now() - t0 });
    } catch (err) {
      if (this.#abort.signal.aborted) return;
      if (err instanceof QueueFullError) this.#send({ error: err.message, retryAfterSeconds: err.retryAfterSeconds });
      else this.#send({ error: (err as Error).message });
    } finally {
      this.#busy = false;
    }
  }

  #onControl(text: string): void {
    let msg: { model?: unknown; top?: unknown };
    try {
      msg = JSON.parse(text);
    } catch {
      this.#send({ error: `text messages must be JSON like {"model": "NAME", "top": 5}; got ${JSON.stringify(text.slice(0, 80))}` });
      return;
    }
    const name = msg.model === undefined ? this.service.info.name : String(msg.model);
    const service = this.services.get(name);
    if (!service) {
      this.#send({ error: `unknown model '${name}'; served: ${[...this.services.keys()].join(', ')}` });
      return;
    }
    try {
      this.top = parseTop(msg.top ?? this.top, service.info.classes.length);
    } catch (err) {
      this.#send({ error: (err as Error).message });
      return;
    }
    this.service = service;
    const { name: model, classes, inputSize } = service.info;
    this.#send({ model, classes, inputSize });
  }
}

/**
 * Registers `GET /` (the webcam page), `GET /page/<file>` and `GET /page/ort/<file>` (its scripts
 * and onnxruntime-web's), `GET /v1/models/:name/model.onnx` and the WebSocket `GET /v1/stream`.
 * Registers @fastify/websocket itself unless the app already has it. The page and its assets carry
 * no secret and need no token; the model and the stream are behind the server's auth hook.
 */
export async function registerWebcam(app: FastifyInstance, ctx: WebcamContext): Promise<void> {
  if (!app.hasDecorator('websocketServer')) {
    await app.register(websocket, {
      options: {
        maxPayload: MAX_FRAME_BYTES + 1024,
        // The server answers with the protocol name, never with the offered `bearer.<token>`.
        handleProtocols: (protocols: Set<string>) => (protocols.has(STREAM_PROTOCOL) ? STREAM_PROTOCOL : false),
      },
    });
  }
  // An upgrade refused with an HTTP answer (401, 404) leaves its socket open: nothing else ends
  // it, and a server closing would wait for it forever.
  app.addHook('onResponse', async (request, reply) => {
    if (request.headers.upgrade && reply.statusCode !== 101) request.raw.socket?.destroy();
  });

  app.get('/', { config: { public: true } }, (_req, reply) => sendFile(reply, path.join(PAGE_DIR, 'index.html'), 'text/html; charset=utf-8'));

  app.get<{ Params: { file: string } }>('/page/:file', { config: { public: true } }, (req, reply) => {
    const type = Object.hasOwn(PAGE_FILES, req.params.file) ? PAGE_FILES[req.params.file] : undefined;
    if (!type) return reply.code(404).send({ error: `no page file '${req.params.file}'; the page has ${Object.keys(PAGE_FILES).join(', ')}` });
    return sendFile(reply, path.join(PAGE_DIR, req.params.file), type);
  });

  app.get<{ Params: { file: string } }>('/page/ort/:file', { config: { public: true } }, (req, reply) => {
    const type = Object.hasOwn(ORT_FILES, req.params.file) ? ORT_FILES[req.params.file] : undefined;
    if (!type) return reply.code(404).send({ error: `no onnxruntime-web file '${req.params.file}'; served: ${Object.keys(ORT_FILES).join(', ')}` });
    return sendFile(reply, path.join(ortDir(), req.params.file), type);
  });

  app.get<{ Params: { name: string } }>('/v1/models/:name/model.onnx', async (req, reply) => {
    const service = ctx.services.get(req.params.name);
    if (!service) return reply.code(404).send({ error: `unknown model '${req.params.name}'; served: ${[...ctx.services.keys()].join(', ')}` });
    let bytes: Uint8Array;
    try {
      bytes = await service.onnxModel();
    } catch (err) {
      return reply.code(500).send({ error: `model '${service.info.name}' cannot be exported to ONNX: ${(err as Error).message}` });
    }
    // The page softmaxes logits itself; this says which it gets.
    return reply.type('application/octet-stream')
      .header('x-dlkit-output', service.info.outputsProbabilities ? 'probabilities' : 'logits')
      .header('content-disposition', `attachment; filename="${service.info.name.replace(/[^\w.-]/g, '_')}.onnx"`)
      .send(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length));
  });

  app.get<{ Querystring: { model?: string; top?: string } }>('/v1/stream', { websocket: true }, (socket, req) => {
    const fail = (error: string) => {
      socket.send(JSON.stringify({ error }));
      socket.close(1008, error.slice(0, 120));
    };
    const name = req.query.model ?? ctx.services.keys().next().value;
    const service = name === undefined ? undefined : ctx.services.get(name);
    if (!service) return fail(`unknown model '${name ?? ''}'; served: ${[...ctx.services.keys()].join(', ')}`);
    let top: number;
    try {
      top = parseTop(req.query.top, service.info.classes.length);
    } catch (err) {
      return fail((err as Error).message);
    }
    new StreamSession(socket, ctx.services, service, top);
  });
}
