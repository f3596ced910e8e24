// The benchmark dispatcher: `npm run bench -- <name> [options]` (node dist/bench/run.js <name>).
// Benchmarks take minutes and print progress while they run; run them on a quiet machine.
const benchmarks: Record<string, { what: string; load: () => Promise<{ run(argv: string[]): Promise<void> }> }> = {
  'fashion-mnist': { what: "dlkit's preset (--preset default|best) vs the plain PyTorch recipe: time to 91/92/93% test accuracy, best accuracy, memory per epoch", load: () => import('./fashion-mnist.js') },
  'image-pipeline': { what: 'images/s of decode + random-resized-crop 224 + flip + normalize + batch 64, dlkit vs torchvision; CIFAR-10 train 2 epochs', load: () => import('./image-pipeline.js') },
  'train-step': {
    what: 'reference CNN training step, dlkit vs PyTorch (default, same threads, expert-tuned); medians over rounds',
    load: () => import('./train-step.js'),
  },
  'op-overhead': {
    what: 'µs per call of a tiny op (add of 1-element tensors, new tensor and in place), dlkit vs PyTorch',
    load: () => import('./op-overhead.js'),
  },
  inference: {
    what: 'ResNet-18 (ONNX from PyTorch) imported into dlkit vs ONNX Runtime vs PyTorch eager, batch 1 and 32; the small preset CNN at batch 1',
    load: () => import('./inference.js'),
  },
  transfer: {
    what: 'ants/bees at 64x64 from the real CIFAR ResNet-20: fine-tune, SVM on features, from scratch (50/class and all), dlkit and PyTorch',
    load: () => import('./transfer.js'),
  },
  serve: {
    what: 'dlkit serve vs FastAPI + uvicorn + PyTorch eager under autocannon: default-preset CIFAR-10 CNN and ResNet-18, 1/16/64 clients (--soak: 10-min RSS growth)',
    load: () => import('./serve.js'),
  },
  detection: {
    what: 'BCCD blood cells: a detector trained from scratch by dlkit and by torchvision (SSDlite320) in the same wall-clock budget (--minutes, default 20 each); mAP on the test split, images/s',
    load: () => import('./detection.js'),
  },
  'train-memory': {
    what: '2,000 reference CNN steps: RSS at steps 100 and 2,000, growth, allocator and live-tensor counts',
    load: () => import('./train-memory.js'),
  },
};

function usage(): string {
  const w = Math.max(...Object.keys(benchmarks).map((k) => k.length));
  return ['usage: npm run bench -- <name> [options]', 'benchmarks:', ...Object.entries(benchmarks).map(([k, b]) => `  ${k.padEnd(w)}  ${b.what}`)].join('\n');
}

const [name, ...rest] = process.argv.slice(2);
if (!name || name === '--help' || name === '-h') {
  console.log(usage());
  process.exit(0);
}
const bench = benchmarks[name];
if (!bench) {
  console.error(`unknown benchmark '${name}'\n${usage()}`);
  process.exit(1);
}
try {
  await (await bench.load()).run(rest);
} catch (err) {
  console.error(`${name} failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}
