// The webcam page at `/` and its WebSocket stream (filled in by the webcam work; the server calls this).
import type { FastifyInstance } from 'fastify';
import type { ModelService } from './model-service.js';

export interface WebcamContext {
  /** The served models by name. */
  services: ReadonlyMap<string, ModelService>;
}

/** Registers `/`, the page's assets, the `/v1/stream` WebSocket and `/v1/models/:name/model.onnx`. */
export async function registerWebcam(_app: FastifyInstance, _ctx: WebcamContext): Promise<void> {}
