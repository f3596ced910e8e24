// `dlkit serve <model>…`: the models in their inference threads behind the HTTP server, until
// SIGTERM or SIGINT, which drain what is in flight before the command returns.
import { parseArgs } from 'node:util';
import { downloadProgress } from './download-progress.js';
import { isIP } from 'node:net';
import * as dl from '../index.js';

const FLAGS = {
  port: { type: 'string', default: '8080' },
  host: { type: 'string', default: '127.0.0.1' },
  token: { type: 'string' },
  'max-batch': { type: 'string' },
  'max-delay-ms': { type: 'string' },
  queue: { type: 'string' },
  'timeout-ms': { type: 'string' },
  cors: { type: 'string' },
  top: { type: 'string' },
  name: { type: 'string' },
  weights: { type: 'string' },
} as const;

function integer(value: string | undefined, flag: string, min: number, max = Number.MAX_SAFE_INTEGER): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isInteger(n) || n < min || n > max) throw new Error(`--${flag} must be a whole number from ${min}${max < Number.MAX_SAFE_INTEGER ? ` to ${max}` : ''}, got '${value}'`);
  return n;
}

function number(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0) throw new Error(`--${flag} must be a number >= 0, got '${value}'`);
  return n;
}

function isLoopback(host: string): boolean {
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  return host === '::1';
}

export async function serveCommand(args: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args, options: FLAGS, allowPositionals: true, strict: true });
  } catch (err) {
    throw new Error((err as Error).message);
  }
  const { values: v, positionals: models } = parsed;
  if (models.length === 0) throw new Error('serve: missing <model>: a zoo name (see `dlkit zoo list`) or a model file');
  if (v.name !== undefined && models.length > 1) throw new Error('--name names a single model; with several, each is named after its zoo name or file');
  if (v.weights !== undefined && models.length > 1) throw new Error('--weights applies to a single zoo model');
  const batching: dl.BatchingOptions = {
    maxBatchSize: integer(v['max-batch'], 'max-batch', 1),
    maxDelayMs: number(v['max-delay-ms'], 'max-delay-ms'),
    maxQueue: integer(v.queue, 'queue', 1),
    timeoutMs: integer(v['timeout-ms'], 'timeout-ms', 1),
  };
  for (const k of Object.keys(batching) as (keyof dl.BatchingOptions)[]) if (batching[k] === undefined) delete batching[k];
  const port = integer(v.port, 'port', 0, 65535)!;
  const topK = integer(v.top, 'top', 1);
  const cors = v.cors === undefined ? undefined : v.cors.split(',').map((s) => s.trim()).filter(Boolean);
  const token = v.token ?? (process.env.DLKIT_TOKEN || undefined);
  const host = v.host!;

  const names = models.map((m) => v.name ?? dl.defaultModelName(m));
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup !== undefined) throw new Error(`two models would both be named '${dup}': serve each model once (or rename a file)`);

  const metrics = dl.createMetrics();
  const services: dl.ModelService[] = [];
  try {
    for (const [i, model] of models.entries()) {
      services.push(await dl.ModelService.start(model, {
        ...batching, name: names[i], weights: v.weights, onBatch: metrics.batchObserver(names[i]!),
        onProgress: downloadProgress(`downloading ${model}`),
      }));
    }
  } catch (err) {
    await Promise.allSettled(services.map((s) => s.close()));
    throw err;
  }
  let server: dl.InferenceServer;
  try {
    server = await dl.startServer(services, { host, port, token, cors, topK, metrics });
  } catch (err) {
    await Promise.allSettled(services.map((s) => s.close()));
    throw err;
  }
  if (!isLoopback(host) && !token) console.error(`warning: listening on ${host} without a token: anyone who can reach it can use the models (set --token or DLKIT_TOKEN)`);
  console.log(`dlkit serve: listening on ${server.url}`);
  for (const s of services) {
    console.log(`  ${s.info.name}: ${s.info.classes.length} classes, input [${s.info.inputSize.join(', ')}], ${s.info.parameters} parameters  POST ${server.url}/v1/models/${encodeURIComponent(s.info.name)}/classify`);
  }
  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
      resolve();
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  });
  console.log('draining…');
  await server.close();
  console.log('dlkit serve: stopped');
  return 0;
}
