// The pretrained zoo's architectures against torchvision 0.14 (fixtures/zoo.json, from
// scripts/make-zoo-fixtures.py): every network builds with the published parameter count and
// exactly torchvision's state-dict names and shapes (so the published files load strictly), and
// the smaller ones compute torchvision's logits on the same formula-filled weights and images
// (test/support/zoo-formula.ts). BVLC AlexNet also against its prototxt through the Caffe
// importer, and the Caffe weight loader against the importer's. Big networks (VGG: 550 MB of
// float32) are built, counted and disposed one at a time.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as dl from '../../src/index.js';
import { assertClose, noLeaks } from '../helpers.js';
import { formulaPixels, formulaStateDict, parseKey } from '../support/zoo-formula.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
interface NetFixture {
  counted: number;
  published?: number;
  keys: string[];
  output?: { batch: number; size: number; classes: number; shape: number[]; data: number[] };
}
const fixture = JSON.parse(readFileSync(path.join(ROOT, 'fixtures', 'zoo.json'), 'utf8')) as { nets: Record<string, NetFixture> };
const ZOO = ['alexnet', 'vgg16', 'vgg19', 'resnet18', 'resnet50', 'googlenet', 'squeezenet1_0', 'squeezenet1_1', 'mobilenet_v2', 'bvlc-alexnet'];
const tmp = mkdtempSync(path.join(os.tmpdir(), 'dlkit-zoo-arch-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const isAux = (name: string) => dl.GOOGLENET_AUX_PREFIXES.some((p) => name.startsWith(p));
/** "name shape" of the network's state dict without its input layer's normalization buffers (PyTorch keeps those outside the model). */
function keysOf(net: dl.Network): string[] {
  const inputs = new Set(net.inputLayers.map((l) => l.name));
  return Object.entries(net.stateDict()).filter(([k]) => !inputs.has(k.slice(0, k.lastIndexOf('.')))).map(([k, t]) => `${k} ${t.shape.join(',')}`);
}

test('the fixture covers every zoo architecture, and ARCHITECTURES registers each with its input and classes', () => {
  assert.deepEqual(Object.keys(fixture.nets).sort(), [...ZOO].sort());
  for (const name of [...ZOO, 'cifar-resnet20', 'cifar-resnet32', 'cifar-resnet44', 'cifar-resnet56']) assert.ok(dl.ARCHITECTURES[name], `ARCHITECTURES['${name}']`);
  for (const name of ZOO) {
    const a = dl.ARCHITECTURES[name]!;
    assert.equal(a.classes, 'imagenet', name);
    assert.deepEqual([...a.inputSize], name === 'bvlc-alexnet' ? [3, 227, 227] : [3, 224, 224], name);
    assert.equal(a.source, name === 'bvlc-alexnet' ? 'caffe' : 'torchvision', name);
  }
  assert.deepEqual(dl.ARCHITECTURES.googlenet!.dropPrefixes, ['aux1.', 'aux2.']);
  assert.deepEqual(dl.ARCHITECTURES.googlenet!.normalization, { kind: 'zscore', mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] });
  assert.deepEqual(dl.ARCHITECTURES['bvlc-alexnet']!.normalization, { kind: 'zerocenter', mean: [104, 117, 123], bgr: true });
  assert.equal(dl.ARCHITECTURES['cifar-resnet56']!.classes, 'cifar10');
  assert.throws(() => dl.architecture('resnet-18'), /unknown architecture 'resnet-18'; known: cifar-resnet20, .*, resnet18, .*bvlc-alexnet/);
  assert.throws(() => dl.architecture('cifar-resnet20', { imageSize: 64 }), /cifar-resnet20: option 'imageSize' is not supported/);
});

for (const name of ZOO) {
  const ref = fixture.nets[name]!;
  test(`${name}: ${ref.counted.toLocaleString('en-US')} parameters${ref.published ? ' (torchvision\'s published count)' : ''}, torchvision's state-dict names and shapes, ImageNet classes, input normalization; no leaks`, () => noLeaks(() => {
    const net = dl.architecture(name);
    try {
      assert.equal(net.learnableCount, ref.counted, 'parameter count vs the torchvision network');
      if (ref.published !== undefined) assert.equal(net.learnableCount, ref.published, "parameter count vs torchvision's weights metadata");
      const expected = name === 'googlenet' ? ref.keys.filter((k) => !isAux(k)) : ref.keys;
      assert.deepEqual(keysOf(net).sort(), [...expected].sort(), 'state-dict entries "name shape"');
      assert.deepEqual([...net.outputShape], [1000]);
      assert.deepEqual(net.classes, [...dl.imagenetClasses()]);
      const a = dl.ARCHITECTURES[name]!;
      const input = net.inputLayers[0] as dl.nn.ImageInput;
      assert.deepEqual([...input.inputSize], [...a.inputSize], 'input layer size vs the registry entry');
      const mean = Array.from(input.buffers.get('mean')!.dataSync() as Float32Array);
      if (a.normalization.kind === 'zscore') {
        assertClose(mean, a.normalization.mean.map((m) => m * 255), { atol: 1e-4, rtol: 1e-6 });
        assertClose(input.buffers.get('std')!, a.normalization.std.map((s) => s * 255), { atol: 1e-4, rtol: 1e-6 });
        assert.equal(input.bgr, false);
      } else {
        assert.deepEqual(mean, [...a.normalization.mean]);
        assert.equal(input.bgr, a.normalization.bgr);
        assert.equal(input.buffers.has('std'), false);
      }
    } finally {
      net.dispose();
    }
  }));
}

/**
 * The fixture's keys for the network built with a `classes`-class head (the Python side built
 * it the same way): every tensor whose first dimension is the 1,000 ImageNet classes (the
 * classifiers' weights and biases, GoogLeNet's aux heads included) has `classes` instead.
 */
const headKeys = (keys: readonly string[], classes: number) => keys.map((k) => {
  const { name, shape } = parseKey(k);
  return shape[0] === 1000 ? `${name} ${[classes, ...shape.slice(1)].join(',')}` : k;
});

/** Builds `name` for the fixture's output check, loads the formula weights, returns the logits' values. */
function formulaLogits(name: string, load?: (net: dl.Network, sd: Record<string, dl.Tensor>) => void): number[] {
  const out = fixture.nets[name]!.output!;
  const net = dl.architecture(name, { numClasses: out.classes, imageSize: out.size });
  const sd = formulaStateDict(headKeys(fixture.nets[name]!.keys, out.classes));
  try {
    if (load) load(net, sd);
    else net.loadStateDict(sd);
    return dl.tidy(() => {
      const y = net.forward(formulaPixels(out.batch, out.size), { training: false }) as dl.Tensor;
      assert.deepEqual([...y.shape], out.shape, 'output shape');
      return Array.from(y.dataSync() as Float32Array);
    });
  } finally {
    dl.dispose(Object.values(sd));
    net.dispose();
  }
}

/**
 * float32 through 8 to 60 layers, summed in other orders (oneDNN, channels-last): within 1e-4 of
 * the largest logit (MobileNetV2's 52 convolutions with batch norm differ by up to 5e-5 of it,
 * spread evenly over the logits; a wrong layer moves them by whole units).
 */
function expectLogits(got: number[], want: number[]): void {
  const scale = Math.max(...want.map(Math.abs));
  assertClose(got, want, { atol: 1e-4 * scale, rtol: 1e-4 });
}

for (const name of ZOO.filter((n) => fixture.nets[n]!.output)) {
  const out = fixture.nets[name]!.output!;
  if (name === 'googlenet') continue; // below, with the aux heads' keys
  test(`${name}: logits on ${out.batch} formula image(s) of ${out.size}×${out.size} match torchvision's on the same weights (${out.classes}-class head); no leaks`, () => noLeaks(() => {
    expectLogits(formulaLogits(name), out.data);
  }));
}

test("googlenet: torchvision's pretrained-style state dict (aux heads included) loads through loadGoogLeNetStateDict; logits with transform_input match torchvision's; strict loading names the aux keys", () => noLeaks(() => {
  const ref = fixture.nets.googlenet!;
  let report: ReturnType<typeof dl.loadGoogLeNetStateDict> | undefined;
  const logits = formulaLogits('googlenet', (net, sd) => {
    assert.throws(() => net.loadStateDict(sd), /RangeError: state dict does not fit the network: unexpected 'aux1\.conv\.conv\.weight' \(\[128, 512, 1, 1\] float32\); .*unexpected 'aux2\.fc2\.bias' \(\[10\] float32\)$/);
    report = dl.loadGoogLeNetStateDict(net, sd);
  });
  expectLogits(logits, ref.output!.data);
  assert.deepEqual(report!.dropped.sort(), ref.keys.map((k) => parseKey(k).name).filter(isAux).sort());
  assert.equal(report!.loaded.length, ref.keys.filter((k) => !isAux(k)).length);
  // transformInput false: torchvision's default GoogLeNet(transform_input=False) normalizes with ImageNet's statistics.
  const plain = dl.googlenet({ transformInput: false, numClasses: 2 });
  try {
    assertClose(plain.inputLayers[0]!.buffers.get('mean')!, dl.IMAGENET_NORMALIZATION.mean.map((m) => m * 255), { atol: 1e-4, rtol: 1e-6 });
  } finally {
    plain.dispose();
  }
}));

test('bvlc-alexnet: its prototxt through the Caffe importer builds the same layers and state dict; both give the fixture\'s logits on the formula weights', async () => {
  await noLeaks(async () => {
    const out = fixture.nets['bvlc-alexnet']!.output!;
    const file = path.join(tmp, 'bvlc-alexnet.prototxt');
    writeFileSync(file, dl.bvlcAlexnetPrototxt(out.classes));
    const imported = await dl.importCaffe(file, null, { mean: [...dl.BVLC_ALEXNET_PREPROCESSING.mean], bgr: true });
    const built = dl.bvlcAlexnet({ numClasses: out.classes });
    const sd = formulaStateDict(headKeys(fixture.nets['bvlc-alexnet']!.keys, out.classes));
    try {
      const strip = (cfg: dl.nn.NetworkConfig) => ({ ...cfg, classes: null });
      assert.deepEqual(strip(imported.config()), strip(built.config()), 'network configs (layers, options, connections)');
      for (const net of [built, imported]) {
        net.loadStateDict(sd);
        const y = dl.tidy(() => Array.from((net.forward(formulaPixels(out.batch, out.size), { training: false }) as dl.Tensor).dataSync() as Float32Array));
        expectLogits(y, out.data);
      }
    } finally {
      dl.dispose(Object.values(sd));
      imported.dispose();
      built.dispose();
    }
  });
});

test("loadCaffeWeights: a caffemodel's blobs by layer name, as the Caffe importer loads them; a misfit names the file, the tensor and both shapes", async () => {
  await noLeaks(async () => {
    const proto = path.join(ROOT, 'fixtures', 'caffe', 'alexnet.prototxt');
    const weights = path.join(ROOT, 'fixtures', 'caffe', 'alexnet.caffemodel');
    const reference = await dl.importCaffe(proto, weights);
    const blank = await dl.importCaffe(proto, null);
    try {
      const { loaded } = dl.loadCaffeWeights(blank, weights);
      assert.deepEqual(loaded.sort(), Object.keys(reference.parameters().reduce((a, p) => ({ ...a, [p.name]: 1 }), {})).sort());
      const want = reference.stateDict();
      for (const [k, t] of Object.entries(blank.stateDict())) assert.ok(t.allclose(want[k]!, 0, 0), `'${k}' equals the importer's`);
      const big = dl.bvlcAlexnet();
      try {
        assert.throws(() => dl.loadCaffeWeights(big, weights), (e: Error) => {
          assert.match(e.message, new RegExp(`^${weights.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: does not fit the network: 'conv1\\.weight': expected shape \\[96, 3, 11, 11\\] \\(34848 values\\), the caffemodel's blob is \\[8, 3, 11, 11\\] \\(2904 values\\)`));
          return true;
        });
      } finally {
        big.dispose();
      }
    } finally {
      reference.dispose();
      blank.dispose();
    }
  });
});

test('zoo options: numClasses, classes and imageSize are checked by name; other input sizes build where the convolutions fit', () => noLeaks(() => {
  assert.throws(() => dl.resnet18({ numClasses: 0 }), /resnet18: option 'numClasses' must be a positive integer, got 0/);
  assert.throws(() => dl.mobilenetV2({ numClasses: 3, classes: ['a', 'b'] }), /mobilenetV2: option 'classes' has 2 names, numClasses is 3/);
  assert.throws(() => dl.squeezenet1_1({ imageSize: [64] as unknown as number }), /squeezenet1_1: option 'imageSize' must be a positive integer or \[height, width\], got \[64\]/);
  assert.throws(() => dl.googlenet({ transformInput: 'yes' as unknown as boolean }), /googlenet: option 'transformInput' must be true or false, got "yes"/);
  assert.throws(() => dl.alexnet({ imageSize: 32 }), /layer 'features\.12' \(maxPool2d\): pool \[3, 3\] does not fit input \[256, 1, 1\]: output would be \[0, 0\]/);
  const net = dl.resnet18({ classes: ['ant', 'bee'], imageSize: [96, 64] });
  try {
    assert.deepEqual(net.classes, ['ant', 'bee']);
    assert.deepEqual([...net.inputShape], [3, 96, 64]);
    assert.deepEqual([...net.layer('layer4.1.relu_out').builtOutputShape!], [512, 3, 2]);
    assert.deepEqual([...net.outputShape], [2]);
  } finally {
    net.dispose();
  }
  const small = dl.squeezenet1_0({ numClasses: 3 });
  try {
    assert.deepEqual(small.classes, ['0', '1', '2']);
  } finally {
    small.dispose();
  }
}));

test('imagenetClasses: the 1,000 names of data/imagenet-classes.txt at the package root, unique, in torchvision\'s order', () => {
  const names = dl.imagenetClasses();
  assert.equal(names.length, 1000);
  assert.equal(new Set(names).size, 1000);
  assert.deepEqual([names[0], names[1], names[999]], ['tench', 'goldfish', 'toilet tissue']);
  assert.equal(dl.imagenetClassesFile(), path.join(ROOT, 'data', 'imagenet-classes.txt'));
  assert.equal(dl.imagenetClasses(), names, 'read once');
});
