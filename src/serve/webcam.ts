// The webcam page at `/`: the browser's camera, frames sent over a WebSocket as fast as the
// server answers them (the page sends the next frame only when the answer to the last one has
// come: at most one frame per client is ever in flight, so a slow model lowers the frame rate
// instead of growing a backlog), labels drawn over the live video. Where the model exports to
// ONNX the page can also run it itself with onnxruntime-web (no round trip).
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import websocket from '@fastify/websocket';
import type { ModelService } from './model-service.js';
import { InputError, QueueFullError } from './errors.js';

export interface WebcamContext {
  /** The served models by name. */
  services: ReadonlyMap<string, ModelService>;
}

/** The page's files, read once (they live beside the sources: dist/src/serve → src/serve/page). */
const PAGE_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'src', 'serve', 'page');
const PAGE_FILES: Record<string, string> = { 'index.html': 'text/html; charset=utf-8', 'app.js': 'text/javascript; charset=utf-8', 'style.css': 'text/css; charset=utf-8' };
// onnxruntime-web's WebAssembly build: the library, the loader it imports when wasmPaths is set, the binary.
const ORT_FILES: Record<string, string> = {
  'ort.wasm.bundle.min.mjs': 'text/javascript; charset=utf-8', 'ort-wasm-simd-threaded.mjs': 'text/javascript; charset=utf-8', 'ort-wasm-simd-threaded.wasm': 'application/wasm',
};

let ortDirCache: string | null | undefined;
/** onnxruntime-web's dist folder, looked up once; null when it is not installed. */
function ortDir(): string | null {
  if (ortDirCache !== undefined) return ortDirCache;
  try {
    // The package exports no package.json; its CommonJS entry lies in dist/ beside the wasm build.
    ortDirCache = path.dirname(createRequire(import.meta.url).resolve('onnxruntime-web'));
  } catch {
    ortDirCache = null;
  }
  return ortDirCache;
}

/** The subprotocol the page offers beside `bearer.<token>`; the server must pick one the page offered. */
export const STREAM_PROTOCOL = 'dlkit.v1';

/** Registers `/`, `/page/<file>`, `/page/ort/<file>`, the `/v1/stream` WebSocket and `/v1/models/:name/model.onnx`. */
export async function registerWebcam(app: FastifyInstance, ctx: WebcamContext): Promise<void> {
  await app.register(websocket, {
    options: {
      maxPayload: 8 * 1024 * 1024,
      handleProtocols: (protocols: Set<string>) => (protocols.has(STREAM_PROTOCOL) ? STREAM_PROTOCOL : false),
    },
  });
  // An upgrade refused with an HTTP answer (401, 404) leaves its socket open: nothing else ends
  // it, and a server closing would wait for it forever.
  app.addHook('onResponse', async (request, reply) => {
    if (request.headers.upgrade && reply.statusCode !== 101) request.raw.socket?.destroy();
  });
  const cache = new Map<string, Buffer>();
  const file = (dir: string, name: string) => {
    const key = path.join(dir, name);
    let b = cache.get(key);
    if (!b) { b = readFileSync(key); cache.set(key, b); }
    return b;
  };
  app.get('/', { config: { public: true } }, async (_request, reply) => reply.type(PAGE_FILES['index.html']!).send(file(PAGE_DIR, 'index.html')));
  // Only the listed names: nothing from the request is ever joined into a path.
  app.get('/page/:file', { config: { public: true } }, async (request, reply) => {
    const name = (request.params as { file: string }).file;
    if (!Object.hasOwn(PAGE_FILES, name)) return reply.code(404).send({ error: `no page file '${name}'` });
    return reply.type(PAGE_FILES[name]!).header('cache-control', 'no-cache').send(file(PAGE_DIR, name));
  });
  app.get('/page/ort/:file', { config: { public: true } }, async (request, reply) => {
    const name = (request.params as { file: string }).file;
    const dir = ortDir();
    if (!Object.hasOwn(ORT_FILES, name)) return reply.code(404).send({ error: `no onnxruntime-web file '${name}'` });
    if (!dir) return reply.code(404).send({ error: 'onnxruntime-web is not installed (npm install onnxruntime-web)' });
    return reply.type(ORT_FILES[name]!).header('cache-control', 'max-age=3600').send(file(dir, name));
  });

  app.get('/v1/models/:name/model.onnx', async (request, reply) => {
    const name = (request.params as { name: string }).name;
    const service = ctx.services.get(name);
    if (!service) return reply.code(404).send({ error: `no model '${name}' (models: ${[...ctx.services.keys()].join(', ')})` });
    try {
      const bytes = await service.onnxModel();
      // What the page must do with the output: softmax logits, or take probabilities as they are.
      return reply.type('application/octet-stream').header('x-dlkit-outputs', service.info.outputsProbabilities ? 'probabilities' : 'logits')
        .send(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length));
    } catch (err) {
      return reply.code(422).send({ error: `model '${name}' cannot run in the browser: ${(err as Error).message}` });
    }
  });

  // One JSON answer per binary frame; a bad frame gets {error} and the socket stays open.
  app.get('/v1/stream', { websocket: true }, (socket, request) => {
    const q = request.query as { model?: string; top?: string };
    const first = ctx.services.keys().next().value as string | undefined;
    const service = ctx.services.get(q.model ?? first ?? '');
    const topK = q.top === undefined ? 5 : Number(q.top);
    if (!service || !Number.isInteger(topK) || topK < 1) {
      socket.send(JSON.stringify({ error: !service ? `no model '${q.model}' (models: ${[...ctx.services.keys()].join(', ')})` : `top must be a positive integer, got '${q.top}'` }));
      socket.close(1008, 'bad request');
      return;
    }
    const ac = new AbortController();
    socket.on('close', () => ac.abort());
    socket.on('message', async (data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean) => {
      const t0 = performance.now();
      if (!isBinary) {
        socket.send(JSON.stringify({ error: 'send each frame as a binary message (JPEG, PNG or WebP bytes)' }));
        return;
      }
      const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
      try {
        const r = await service.classifyImage(bytes, { topK, signal: ac.signal });
        if (socket.readyState === socket.OPEN) socket.send(JSON.stringify({ model: service.info.name, predictions: r.predictions, timings: r.timings, serverMs: performance.now() - t0 }));
      } catch (err) {
        if (socket.readyState !== socket.OPEN) return;
        const e = err as Error;
        socket.send(JSON.stringify(err instanceof QueueFullError ? { error: e.message, retryAfterSeconds: err.retryAfterSeconds } : { error: err instanceof InputError ? e.message : `inference failed: ${e.message}` }));
      }
    });
  });
}
