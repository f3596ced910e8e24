// Damaged model files: real ONNX, Caffe, dlkit (safetensors), PyTorch checkpoint and TorchScript files, truncated, with
// random bytes flipped and with size fields overwritten, a few thousand times in all. Every load
// must end in a clean error (an Error with a message, from JS) or a valid model — never a crash,
// a hang or a leaked tensor. Seeded, so a failure can be replayed.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, copyFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as dl from '../../src/index.js';
import { prng } from '../support/random.js';

function projectRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'package.json'))) dir = path.dirname(dir);
  return dir;
}
const ROOT = projectRoot();
const tmp = mkdtempSync(path.join(os.tmpdir(), 'dlkit-mutate-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** The i-th mutation of `bytes`: a truncation, 1-8 flipped bytes, or a 4-byte field set to a large or zero value. */
function mutate(bytes: Buffer, next: () => number): Buffer {
  const out = Buffer.from(bytes);
  const kind = next();
  if (kind < 0.25) return out.subarray(0, Math.floor(next() * out.length));
  if (kind < 0.75) {
    const n = 1 + Math.floor(next() * 8);
    for (let k = 0; k < n; k++) out[Math.floor(next() * out.length)] = Math.floor(next() * 256);
    return out;
  }
  const at = Math.floor(next() * Math.max(1, out.length - 4));
  const values = [0, 0xffffffff, 0x7fffffff, 0x10000, 1];
  out.writeUInt32LE(values[Math.floor(next() * values.length)]!, at);
  return out;
}

interface Subject {
  name: string;
  files: string[];
  /** Which of `files` gets mutated. */
  target: number;
  load(files: string[]): Promise<{ dispose(): void }>;
}

const ONNX = '/usr/share/libonnx-testdata/data/pytorch-operator/test_operator_conv/model.onnx';
const CAFFE = path.join(ROOT, 'fixtures', 'caffe');

async function dlkitModel(): Promise<string> {
  const file = path.join(tmp, 'small.safetensors');
  const net = dl.Network.series([dl.nn.imageInput({ inputSize: [1, 8, 8], normalization: 'none' }), dl.nn.conv2d({ filters: 2, kernelSize: 3 }), dl.nn.fullyConnected({ outputSize: 3 })]);
  await dl.saveModel(net, file);
  net.dispose();
  return file;
}

/** A whole checkpoint, unpickled, as something to dispose (its tensors are the caller's). */
async function checkpoint(file: string): Promise<{ dispose(): void }> {
  const value = await dl.readTorchCheckpoint(file);
  return { dispose: () => dl.dispose(value) };
}

async function subjects(): Promise<Subject[]> {
  const list: Subject[] = [
    { name: 'dlkit model (.safetensors)', files: [await dlkitModel()], target: 0, load: (f) => dl.loadModel(f[0]!) },
  ];
  if (existsSync(ONNX)) list.push({ name: 'ONNX (test_operator_conv)', files: [ONNX], target: 0, load: async (f) => dl.importONNX(f[0]!) });
  const CKPT = path.join(ROOT, 'fixtures', 'checkpoints');
  for (const f of ['zip-p4.pt', 'legacy-p2.pt']) {
    if (existsSync(path.join(CKPT, f))) {
      list.push({ name: `PyTorch checkpoint (${f})`, files: [path.join(CKPT, f)], target: 0, load: (files) => checkpoint(files[0]!) });
    }
  }
  const TS = path.join(ROOT, 'fixtures', 'torchscript', 'traced.pt');
  if (existsSync(TS)) list.push({ name: 'TorchScript (traced.pt)', files: [TS], target: 0, load: (f) => dl.loadTorchScript(f[0]!) });
  if (existsSync(path.join(CAFFE, 'squeezenet.prototxt'))) {
    const files = ['squeezenet.prototxt', 'squeezenet.caffemodel'].map((f) => path.join(CAFFE, f));
    list.push({ name: 'Caffe caffemodel (squeezenet)', files, target: 1, load: (f) => dl.importCaffe(f[0]!, f[1]!) });
    list.push({ name: 'Caffe prototxt (squeezenet)', files, target: 0, load: (f) => dl.importCaffe(f[0]!, f[1]!) });
  }
  return list;
}

const PER_SUBJECT = 600;

test(`damaged model files end in a clean error or a valid model (${PER_SUBJECT} mutations per format, seeded)`, async () => {
  const before = dl.memory().liveTensors;
  const counts: string[] = [];
  for (const s of await subjects()) {
    const original = readFileSync(s.files[s.target]!);
    const next = prng(12345);
    let errors = 0, loaded = 0;
    for (let i = 0; i < PER_SUBJECT; i++) {
      const files = s.files.map((f, k) => {
        const dest = path.join(tmp, `${i % 2}-${path.basename(f)}`);
        if (k === s.target) writeFileSync(dest, mutate(original, next)); else copyFileSync(f, dest);
        return dest;
      });
      try {
        const model = await s.load(files);
        model.dispose();
        loaded++;
      } catch (err) {
        assert.ok(err instanceof Error, `${s.name}, mutation ${i}: threw a non-Error ${String(err)}`);
        assert.ok(err.message.length > 0, `${s.name}, mutation ${i}: an empty error message`);
        errors++;
      }
    }
    counts.push(`${s.name}: ${errors} errors, ${loaded} valid`);
    assert.ok(errors > 0, `${s.name}: no mutation was refused: the mutations do not reach the reader`);
  }
  console.log(counts.join('\n'));
  assert.equal(dl.memory().liveTensors, before, 'live tensors after all the loads');
});
