// `dlkit live <model> [--camera /dev/video0 | --source video.mp4]`: frames classified as they
// come, labels and frames/s on one updating line (one line per frame when stdout is not a terminal).
import { parseArgs } from 'node:util';
import { existsSync } from 'node:fs';
import { ModelService } from '../serve/model-service.js';
import { liveClassify, type LiveFrameReport, type VideoSource } from '../serve/live.js';
import { ZOO } from '../zoo/weights.js';
import { isZooName } from '../zoo/open-network.js';

const OPTIONS = {
  camera: { type: 'string' },
  source: { type: 'string' },
  top: { type: 'string', default: '2' },
  fps: { type: 'string' },
  weights: { type: 'string' },
  realtime: { type: 'boolean', default: false },
  format: { type: 'string' },
} as const;

/** One frame's line: `frame 12 @ 0.48 s: bee (0.93), ant (0.07) | 24.1 frames/s`. */
export function formatFrame(r: LiveFrameReport): string {
  const labels = r.predictions.map((p) => `${p.label} (${p.score.toFixed(2)})`).join(', ');
  return `frame ${r.index} @ ${(r.timeMs / 1000).toFixed(2)} s: ${labels} | ${r.fps.toFixed(1)} frames/s${r.dropped ? `, ${r.dropped} dropped` : ''}`;
}

export async function liveCommand(args: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (err) {
    throw new Error(`live: ${(err as Error).message}`);
  }
  const { values: v, positionals } = parsed;
  if (positionals.length !== 1) throw new Error(`live: expected one model (a zoo name or a model file), got ${positionals.length ? positionals.map((p) => `'${p}'`).join(' ') : 'none'}; usage: dlkit live <model> [--camera /dev/video0 | --source video.mp4] [--top K] [--fps N] [--weights FILE] [--realtime] [--format png|mjpeg]`);
  const model = positionals[0]!;
  if (v.camera !== undefined && v.source !== undefined) throw new Error(`live: --camera and --source exclude each other (got --camera '${v.camera}' and --source '${v.source}')`);
  const source: VideoSource = v.source !== undefined ? { file: v.source } : { camera: v.camera ?? '/dev/video0' };
  if ('file' in source && !existsSync(source.file)) throw new Error(`live: --source '${source.file}': no such file`);
  const topK = Number(v.top);
  if (!Number.isInteger(topK) || topK < 1) throw new Error(`live: --top must be a whole number >= 1, got '${v.top}'`);
  const fps = v.fps === undefined ? undefined : Number(v.fps);
  if (fps !== undefined && !(Number.isFinite(fps) && fps > 0)) throw new Error(`live: --fps must be a number > 0, got '${v.fps}'`);
  const isZoo = isZooName(model);
  if (v.weights !== undefined && !isZoo) throw new Error(`live: --weights applies to zoo models (${Object.keys(ZOO).join(', ')}); '${model}' is not one`);
  if (v.format !== undefined && v.format !== 'png' && v.format !== 'mjpeg') throw new Error(`live: --format must be png or mjpeg, got '${v.format}'`);
  if (v.realtime && 'camera' in source) throw new Error('live: --realtime applies to --source files (a camera is always real time)');

  const service = await ModelService.start(model, { ...(v.weights !== undefined && { weights: v.weights }) });
  const stop = new AbortController();
  const onSigint = () => stop.abort();
  process.once('SIGINT', onSigint);
  const tty = process.stdout.isTTY === true;
  const from = 'file' in source ? source.file : source.camera;
  console.log(`live: ${service.info.name} (${service.info.classes.length} classes, input ${service.info.inputSize.join('×')}) on ${from}${tty ? '; Ctrl-C stops' : ''}`);
  try {
    const summary = await liveClassify(service, source, {
      topK: Math.min(topK, service.info.classes.length), signal: stop.signal, realtime: v.realtime, ...(fps !== undefined && { fps }), ...(v.format !== undefined && { format: v.format as 'png' | 'mjpeg' }),
      onFrame: (r) => {
        if (tty) process.stdout.write(`\r\x1b[2K${formatFrame(r).slice(0, Math.max(20, (process.stdout.columns || 120) - 1))}`);
        else process.stdout.write(`${formatFrame(r)}\n`);
      },
    });
    if (tty) process.stdout.write('\n');
    console.log(`live: ${summary.frames} frames classified, ${summary.dropped} dropped, ${summary.meanFps.toFixed(1)} frames/s${stop.signal.aborted ? ' (stopped)' : ''}`);
    return 0;
  } finally {
    process.off('SIGINT', onSigint);
    await service.close();
  }
}
