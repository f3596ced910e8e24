// The thread a served model runs in: it opens the network once, compiles its inference plan
// (batch norm folded, channels-last weights, no autograd) once — the weights never change while
// serving — and then runs batches of decoded pixels, answering class probabilities. The main
// thread keeps the event loop (HTTP, decoding through sharp's thread pool) free meanwhile.
import { parentPort, workerData } from 'node:worker_threads';
import { tensor } from '../tensor/create.js';
import { tidy } from '../tensor/memory.js';
import { noGrad } from '../tensor/autograd.js';
import { InferencePlan } from '../nn/inference-plan.js';
import type { Network } from '../nn/network.js';
import { openNetwork } from '../zoo/open-network.js';
import { networkToOnnx } from '../io/onnx/export.js';
import { encodeModel } from '../io/onnx/proto.js';
import type { WorkerInit, WorkerReply, WorkerRequest } from './worker-protocol.js';

const port = parentPort!;
const init = workerData as WorkerInit;

let network: Network;
let plan: InferencePlan;
let probabilities = false;

function post(msg: WorkerReply, transfer: ArrayBuffer[] = []): void {
  port.postMessage(msg, transfer);
}

async function open(): Promise<void> {
  network = await openNetwork(init.spec, init.options);
  const [c, h, w] = network.inputShape as number[];
  if (network.inputShape.length !== 3 || ![1, 3].includes(c!)) {
    throw new RangeError(`${init.label}: a served model takes images [channels, height, width] with 1 or 3 channels; this one takes [${network.inputShape.join(', ')}]`);
  }
  if (network.outputShape.length !== 1) {
    throw new RangeError(`${init.label}: a served classifier gives one score per class, [classes]; this one gives [${network.outputShape.join(', ')}]`);
  }
  plan = new InferencePlan(network, { channelsLast: network.channelsLast });
  probabilities = network.outputsProbabilities;
  const classes = network.classes ?? Array.from({ length: network.outputShape[0]! }, (_, i) => String(i));
  const parameters = network.parameters().reduce((s, p) => s + p.tensor.size, 0);
  post({ type: 'ready', info: { classes: [...classes], inputSize: [c!, h!, w!], parameters, testTimeAugmentation: network.testTimeAugmentation, outputsProbabilities: probabilities } });
}

function run(pixels: Uint8Array, n: number): Float32Array {
  const [c, h, w] = network.inputShape as number[];
  return tidy(() => noGrad(() => {
    const x = tensor(pixels, { shape: [n, c!, h!, w!], dtype: 'float32' });
    let out = plan.infer(x);
    if (!probabilities) out = out.softmax(1);
    return Float32Array.from(out.contiguous().dataSync() as Float32Array);
  }));
}

port.on('message', (msg: WorkerRequest) => {
  if (msg.type === 'close') {
    plan?.dispose();
    network?.dispose();
    port.close();
    return;
  }
  if (msg.type === 'onnx') {
    try {
      const bytes = encodeModel(networkToOnnx(network));
      post({ type: 'onnx', id: msg.id, bytes }, [bytes.buffer as ArrayBuffer]);
    } catch (err) {
      post({ type: 'error', id: msg.id, message: `ONNX export: ${(err as Error).message}` });
    }
    return;
  }
  try {
    const scores = run(msg.pixels, msg.n);
    post({ type: 'result', id: msg.id, scores }, [scores.buffer as ArrayBuffer]);
  } catch (err) {
    post({ type: 'error', id: msg.id, message: (err as Error).message });
  }
});

open().catch((err: Error) => post({ type: 'failed', message: err.message }));
