// An image worker: receives jobs (the images of one batch), decodes them with sharp and augments
// them in JavaScript, and sends back raw uint8 pixels as transferable buffers. It loads sharp
// and the JPEG addon (libjpeg-turbo, jpeg.ts), never dlkit's libtorch addon (the main thread
// makes the tensors).
import { parentPort, workerData } from 'node:worker_threads';
import sharp from 'sharp';
import { useSynchronousReads } from './image-decode.js';
import { runJob, type Job, type JobResult, type PipelineSpec } from './image-job.js';

const port = parentPort;
if (!port) throw new Error('image-worker.js runs as a worker thread (see image-pipeline.ts)');
const spec = workerData as PipelineSpec;
useSynchronousReads(true);
// libvips' operation cache only helps when the same operation runs on the same image again:
// never here, where every call decodes another file.
sharp.cache(false);

// The pool ends a worker by asking it to close (not by terminating it): a worker terminated in
// the middle of a native decode (sharp's or the JPEG addon's) can abort the whole process, when
// node-addon-api cannot throw into an environment that is going away. Jobs in flight finish first.
let active = 0;
let closing = false;
const closeWhenIdle = () => { if (closing && active === 0) port.close(); };

port.on('message', (message: Job | { close: true }) => {
  if ('close' in message) { closing = true; closeWhenIdle(); return; }
  const job = message;
  active++;
  runJob(job, spec).then(
    (r: JobResult) => {
      const transfer: ArrayBuffer[] = [r.pixels.buffer as ArrayBuffer];
      if (r.decoded) transfer.push(r.decoded.data.buffer as ArrayBuffer);
      port.postMessage(r, transfer);
    },
    (err: Error) => port.postMessage({ id: job.id, fatal: `${err.message}` }),
  ).finally(() => { active--; closeWhenIdle(); });
});
