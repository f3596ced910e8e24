// Caffe import: prototxt + caffemodel pairs written by scripts/make-caffe-fixtures.py (AlexNet-,
// GoogLeNet- and SqueezeNet-shaped nets, a legacy V1 file, and one with BatchNorm+Scale, Eltwise,
// Slice, Power, Deconvolution, ...) give the outputs OpenCV's DNN module (an independent
// importer) gave on the same inputs; names, errors and model-file round trips.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as dl from '../../src/index.js';
import { caffeType } from '../../src/io/caffe/schema.js';
import { assertClose, noLeaks } from '../helpers.js';

function projectRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'package.json'))) dir = path.dirname(dir);
  return dir;
}
const FIX = path.join(projectRoot(), 'fixtures', 'caffe');
const fixtures = JSON.parse(readFileSync(path.join(FIX, 'outputs.json'), 'utf8'));
const tmp = mkdtempSync(path.join(os.tmpdir(), 'dlkit-caffe-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const NETS = ['alexnet', 'googlenet', 'squeezenet', 'lenet_v1', 'blocks'] as const;
const files = (name: string) => [path.join(FIX, `${name}.prototxt`), path.join(FIX, `${name}.caffemodel`)] as const;

/** The script's input: MINSTD pixels (x = x * 48271 mod 2^31 - 1, pixel = x mod 256). */
function pixels(shape: number[], seed: number): dl.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const out = new Float32Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 48271) % 2147483647;
    out[i] = x % 256;
  }
  return dl.tensor(out, { shape });
}

/** The fixture's preprocessing as importCaffe options (the mean file lives beside the nets). */
function optionsOf(name: string): dl.CaffeImportOptions {
  const o = { ...fixtures[name].options };
  if (o.meanFile) o.meanFile = path.join(FIX, o.meanFile);
  return o;
}

/** Runs the network on the fixture's input and compares every recorded output with OpenCV's. */
function checkAgainstOpenCV(network: dl.Network, name: string): void {
  const f = fixtures[name];
  const outputs = Object.keys(f.outputs);
  dl.tidy(() => {
    const x = pixels(f.inputShape, f.seed);
    const got = network.forward(x, { outputs }) as dl.Tensor | dl.Tensor[];
    const list = Array.isArray(got) ? got : [got];
    outputs.forEach((o, i) => {
      const want = f.outputs[o];
      const t = list[i]!;
      assert.equal(t.size, want.data.length, `${name} ${o}: ${t.size} values, OpenCV has ${want.data.length}`);
      // OpenCV gives [N, C, 1, 1] after a global pooling where dlkit may keep (C, 1, 1) or flatten.
      assertClose(t.reshape(want.shape), want.data, { atol: 2e-5, rtol: 2e-4, shape: want.shape });
    });
  });
}

for (const name of NETS) {
  test(`${name}: dlkit's outputs match OpenCV's (cv2.dnn.readNetFromCaffe)`, async () => {
    await noLeaks(async () => {
      const [proto, model] = files(name);
      const network = await dl.importCaffe(proto, model, optionsOf(name));
      try {
        checkAgainstOpenCV(network, name);
      } finally {
        network.dispose();
      }
    });
  });
}

test('summary() keeps the Caffe layer names; in-place layers are their own layers', async () => {
  const [proto, model] = files('googlenet');
  const network = await dl.importCaffe(proto, model);
  try {
    const s = network.summary();
    for (const n of ['conv1/7x7_s2', 'conv1/relu_7x7', 'pool1/norm1', 'inception_3a/1x1', 'inception_3a/pool_proj', 'inception_3a/output', 'loss3/classifier', 'prob']) {
      assert.ok(s.includes(n), `summary lacks '${n}':\n${s}`);
    }
    // The in-place ReLU reads the convolution and the next layer reads the ReLU.
    assert.deepEqual(network.sourcesOf('conv1/relu_7x7'), ['conv1/7x7_s2']);
    assert.deepEqual(network.sourcesOf('pool1/3x3_s2'), ['conv1/relu_7x7']);
    assert.deepEqual(network.sourcesOf('inception_3a/output'), ['inception_3a/relu_1x1', 'inception_3a/relu_3x3', 'inception_3a/relu_5x5', 'inception_3a/relu_pool_proj']);
    assert.equal(network.layer('conv1/7x7_s2').type, 'conv2d');
    assert.deepEqual([...network.inputShape], [3, 40, 40]);
    assert.deepEqual([...network.outputShape], [10]);
  } finally {
    network.dispose();
  }
});

test('saved with saveModel and loaded back: the same outputs, preprocessing and classes', async () => {
  await noLeaks(async () => {
    const [proto, model] = files('alexnet');
    const network = await dl.importCaffe(proto, model, { ...optionsOf('alexnet'), labelsFile: path.join(FIX, 'synset_words.txt') });
    const file = path.join(tmp, 'alexnet.safetensors');
    try {
      assert.equal(network.classes!.length, 10);
      assert.equal(network.classes![0], 'class 0, the 0th', 'the WordNet id is dropped from synset_words lines');
      await dl.saveModel(network, file);
    } finally {
      network.dispose();
    }
    const loaded = await dl.loadModel(file);
    try {
      const input = loaded.config().layers[0]!;
      assert.equal(input.type, 'imageInput');
      assert.equal(input.bgr, true);
      assert.equal(input.scale, 0.0078125);
      assert.deepEqual(input.mean, [104, 117, 123]);
      assert.deepEqual(loaded.classes, network.classes);
      checkAgainstOpenCV(loaded, 'alexnet');
    } finally {
      loaded.dispose();
    }
  });
});

test('a mean file (binaryproto) gives its per-channel averages to the input layer', async () => {
  const [proto, model] = files('squeezenet');
  const network = await dl.importCaffe(proto, model, { meanFile: path.join(FIX, 'mean.binaryproto') });
  try {
    const mean = network.config().layers[0]!.mean as number[];
    assertClose(mean, fixtures._meta.meanFileChannelMeans, { atol: 1e-3, rtol: 1e-5 });
  } finally {
    network.dispose();
  }
});

test('the legacy V1 format: enum types, blobs_lr as learn-rate factors, 4-D legacy blob shapes', async () => {
  const [proto, model] = files('lenet_v1');
  const network = await dl.importCaffe(proto, model);
  try {
    assert.deepEqual(network.layers.map((l) => l.type), ['imageInput', 'conv2d', 'maxPool2d', 'tanh', 'conv2d', 'relu', 'fullyConnected', 'relu', 'fullyConnected', 'softmax']);
    assert.equal(network.layer('conv1').learnRateFactor, 1);
    assert.deepEqual([...network.layer('ip1').params.get('weight')!.shape], [12, 8 * 6 * 6]);
  } finally {
    network.dispose();
  }
});

/** A copy of a fixture prototxt with `edit` applied, in the temporary folder. */
function edited(name: string, edit: (text: string) => string, as = `${name}-edited.prototxt`): string {
  const text = readFileSync(path.join(FIX, `${name}.prototxt`), 'utf8');
  const out = edit(text);
  assert.notEqual(out, text, 'the edit changed nothing');
  const file = path.join(tmp, as);
  writeFileSync(file, out);
  return file;
}

test('a caffemodel that does not fit the prototxt names the layer and both shapes', async () => {
  await noLeaks(async () => {
    const proto = edited('googlenet', (t) => t.replace('top: "inception_3a/3x3"\n  convolution_param { num_output: 8', 'top: "inception_3a/3x3"\n  convolution_param { num_output: 9'));
    await assert.rejects(dl.importCaffe(proto, files('googlenet')[1]), (err: Error) => {
      assert.match(err.message, /googlenet\.caffemodel/);
      assert.match(err.message, /layer 'inception_3a\/3x3' \(Convolution\): weights \(blob 0\): the prototxt gives shape \[9, 6, 3, 3\], the caffemodel has \[8, 6, 3, 3\]/);
      assert.match(err.message, /bias \(blob 1\): the prototxt gives shape \[9\], the caffemodel has \[8\]/);
      // The next layer reads 9 channels now: its weights do not fit either, and are reported in the same error.
      assert.match(err.message, /layer 'loss3\/classifier' \(InnerProduct\): weights \(blob 0\): the prototxt gives shape \[10, 84\], the caffemodel has \[10, 80\]/);
      return true;
    });
  });
});

test('layers of the prototxt missing from the caffemodel are reported by name', async () => {
  const proto = edited('squeezenet', (t) => t.replace('layer { name: "conv10"', 'layer { name: "conv9" type: "Convolution" bottom: "pool3" top: "pool3x" convolution_param { num_output: 3 kernel_size: 1 } }\nlayer { name: "conv9b" type: "Convolution" bottom: "pool3x" top: "pool3y" convolution_param { num_output: 3 kernel_size: 1 } }\nlayer { name: "conv10"'));
  await assert.rejects(dl.importCaffe(proto, files('squeezenet')[1]), /missing from the caffemodel \(no blobs\): 'conv9' \(Convolution\), 'conv9b' \(Convolution\)/);
});

test('unsupported layer types and parameters are listed at once, in one error', async () => {
  const proto = edited('alexnet', (t) => t
    .replace('layer { name: "relu1" type: "ReLU"', 'layer { name: "relu1" type: "PReLU"')
    .replace('layer { name: "relu2" type: "ReLU"', 'layer { name: "relu2" type: "PReLU"')
    .replace('layer { name: "drop7" type: "Dropout"', 'layer { name: "drop7" type: "Crop"')
    .replace('pooling_param { pool: MAX kernel_size: 3 stride: 2 } }\nlayer { name: "fc6"', 'pooling_param { pool: STOCHASTIC kernel_size: 3 stride: 2 } }\nlayer { name: "fc6"')
    .replace('inner_product_param { num_output: 10 }', 'inner_product_param { num_output: 10 axis: 2 }'));
  await assert.rejects(dl.importCaffe(proto, files('alexnet')[1]), (err: Error) => {
    assert.match(err.message, /unsupported layer types: PReLU \('relu1', 'relu2'\), Crop \('drop7'\)/);
    assert.match(err.message, /layer 'pool5' \(Pooling\): pool STOCHASTIC/);
    assert.match(err.message, /layer 'fc8' \(InnerProduct\): axis 2/);
    return true;
  });
});

test('a prototxt syntax error reports the file, line and column', async () => {
  const cases: [string, (t: string) => string, RegExp][] = [
    ['missing-brace', (t) => t.replace('layer { name: "conv2"', 'layer  name: "conv2"'), /alexnet-missing-brace\.prototxt:15:8: expected '\{' or '<' to open message field 'layer' \(LayerParameter\), found 'name'/],
    ['bad-field', (t) => t.replace('convolution_param { num_output: 8 kernel_size: 11', 'convolution_param { num_outputs: 8 kernel_size: 11'), /alexnet-bad-field\.prototxt:9:23: message ConvolutionParameter has no field 'num_outputs' \(did you mean 'num_output'\?\)/],
    ['bad-enum', (t) => t.replace('pool: MAX kernel_size: 3 stride: 2 } }\nlayer { name: "conv2"', 'pool: MAXIMUM kernel_size: 3 stride: 2 } }\nlayer { name: "conv2"'), /alexnet-bad-enum\.prototxt:14:25: 'MAXIMUM' is not a value of enum PoolMethod for field 'pool' \(enum PoolMethod\); values: MAX, AVE, STOCHASTIC/],
    ['open-string', (t) => t.replace('name: "AlexNetTiny"', 'name: "AlexNetTiny'), /:1:7: string is not closed before the end of the line/],
    ['eof', (t) => t.replace(/\}\s*$/, ''), /expected '\}' to close message LayerParameter, found the end of the file/],
  ];
  for (const [what, edit, re] of cases) {
    const proto = edited('alexnet', edit, `alexnet-${what}.prototxt`);
    await assert.rejects(dl.importCaffe(proto, files('alexnet')[1]), (err: Error) => {
      assert.ok(err instanceof dl.TextFormatError, `${what}: ${err.name}: ${err.message}`);
      assert.ok(err.message.startsWith(proto), `${what}: ${err.message}`);
      assert.match(err.message, re, what);
      return true;
    });
  }
});

test('text format: comments, escapes, lists, <...>, adjacent strings, signed and special numbers', () => {
  const net = dl.parseTextFormat(
    [
      '# a comment',
      "name: 'a\\tb\\x41\\101\\u00e9' \"-end\"  # joined",
      'input: ["x", "y"]',
      'input_dim: [1, 3, 0x10, 010]',
      'layer < name: "p" type: "Power" power_param: { power: -inf scale: 2.5e-1f shift: -3 } >;',
      'layer { name: "r" type: "ReLU" relu_param { negative_slope: .5 } bottom: "x" bottom: "y" },',
      'force_backward: True',
    ].join('\n'),
    caffeType('NetParameter'), 'inline.prototxt',
  );
  assert.equal(net.name, 'a\tbAAé-end');
  assert.deepEqual(net.input, ['x', 'y']);
  assert.deepEqual(net.input_dim, [1, 3, 16, 8]);
  const [p, r] = net.layer as Record<string, any>[];
  assert.deepEqual(p!.power_param, { power: -Infinity, scale: 0.25, shift: -3 });
  assert.equal(r!.relu_param.negative_slope, 0.5);
  assert.deepEqual(r!.bottom, ['x', 'y']);
  assert.equal(net.force_backward, true);
  assert.throws(() => dl.parseTextFormat('name: "a"\nname: "b"', caffeType('NetParameter'), 'twice.prototxt'), /twice\.prototxt:2:1: field 'name' of NetParameter is not repeated and was already set at line 1, column 1/);
  assert.throws(() => dl.parseTextFormat('input_dim: 1.5', caffeType('NetParameter'), 'f.prototxt'), /f\.prototxt:1:12: expected an integer for field 'input_dim' \(int32\), found '1\.5'/);
  assert.throws(() => dl.parseTextFormat('name: "\\q"', caffeType('NetParameter'), 'e.prototxt'), /e\.prototxt:1:8: unknown escape sequence \\q/);
});

test('options: preprocessing needs an image input; unknown options and mismatched class counts are errors', async () => {
  const [proto, model] = files('alexnet');
  await assert.rejects(dl.importCaffe(proto, model, { means: [1, 2, 3] } as never), /importCaffe: unknown option 'means'/);
  await assert.rejects(dl.importCaffe(proto, model, { mean: [1, 2] }), /option 'mean' has 2 values, the input 'data' has 3 channels/);
  await assert.rejects(dl.importCaffe(proto, model, { classes: ['a', 'b'] }), /2 class names for a network output of shape \[10\] \(10 values\)/);
  const noShape = edited('alexnet', (t) => t.replace(/input_dim: \d+\n/g, ''), 'alexnet-noshape.prototxt');
  await assert.rejects(dl.importCaffe(noShape, model), /input 'data' has no shape: give the option inputSize/);
  const network = await dl.importCaffe(noShape, model, { inputSize: [3, 71, 71] });
  assert.deepEqual([...network.inputShape], [3, 71, 71]);
  network.dispose();
});

test('a truncated or foreign caffemodel is a clean error naming the file', async () => {
  await noLeaks(async () => {
    const [proto, model] = files('alexnet');
    const bytes = readFileSync(model);
    const cut = path.join(tmp, 'alexnet-cut.caffemodel');
    writeFileSync(cut, bytes.subarray(0, Math.floor(bytes.length / 2)));
    await assert.rejects(dl.importCaffe(proto, cut), (err: Error) => err instanceof dl.CaffeError && err.message.startsWith(`${cut}: not a valid binary NetParameter`));
    await assert.rejects(dl.importCaffe(proto, path.join(FIX, 'synset_words.txt')), (err: Error) => err instanceof dl.CaffeError && err.message.startsWith(path.join(FIX, 'synset_words.txt')));
  });
});

test("layers for the TRAIN phase (include { phase: TRAIN }) are left out, as Caffe's TEST net does", async () => {
  const proto = edited('lenet_v1', (t) => t.replace('layers { name: "prob" type: SOFTMAX', 'layers { name: "loss" type: SOFTMAX_LOSS bottom: "ip2" bottom: "label" top: "loss" include { phase: TRAIN } }\nlayers { name: "prob" type: SOFTMAX'));
  const network = await dl.importCaffe(proto, files('lenet_v1')[1], optionsOf('lenet_v1'));
  try {
    assert.ok(!network.layers.some((l) => l.name === 'loss'));
    checkAgainstOpenCV(network, 'lenet_v1');
  } finally {
    network.dispose();
  }
});
