// Series and graph networks: the summary table, wiring errors reported at build time (naming
// layers and shapes), ResNet- and Inception-shaped blocks, several inputs and outputs,
// intermediate activations, freezing and learn-rate factors, state dicts and config round trips.
// Every test asserts the live-tensor count returns to its start.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as dl from '../../src/index.js';
import { Network, nn, type Tensor } from '../../src/index.js';
import { assertClose, noLeaks } from '../helpers.js';

const F = dl.functional;

/** Builds a network, runs `fn` on it, disposes it; the live-tensor count must return to its start. */
async function withNet(make: () => Network, fn: (net: Network) => void): Promise<void> {
  await noLeaks(() => {
    const net = make();
    try {
      fn(net);
    } finally {
      net.dispose();
    }
  });
}

/** Asserts building throws a TypeError/LayerError matching `error`, and leaks nothing (params made before the failure). */
async function buildFails(make: () => Network, error: RegExp): Promise<void> {
  await noLeaks(() => assert.throws(make, error));
}

/** A small CNN: 1x12x12 -> 10 classes. */
const cnn = (channelsLast?: boolean) => Network.series([
  nn.imageInput({ inputSize: [1, 12, 12], normalization: 'rescale-zero-one' }),
  nn.conv2d({ filters: 4, kernelSize: 3, padding: 'same' }), // [4, 12, 12]: 4*1*9 + 4 = 40
  nn.batchNorm(), //                                            8
  nn.relu(),
  nn.maxPool2d({ poolSize: 2 }), //                             [4, 6, 6]
  nn.conv2d({ filters: 6, kernelSize: 3 }), //                  [6, 4, 4]: 6*4*9 + 6 = 222
  nn.relu(),
  nn.fullyConnected({ outputSize: 10 }), //                     96*10 + 10 = 970
  nn.softmax(),
], { classes: [...'0123456789'], channelsLast });

const pixels = (n: number) => dl.tidy(() => dl.rand([n, 1, 12, 12]).mul(255).floor());

/** Random values for every float parameter and buffer (running_var positive), so that tests see more than ones and zeros. */
function randomize(net: Network, seed = 1): void {
  dl.manualSeed(seed);
  dl.tidy(() => {
    const values: Record<string, Tensor> = {};
    for (const [k, t] of Object.entries(net.stateDict())) {
      if (t.dtype !== 'float32') values[k] = t;
      else if (k.endsWith('running_var')) values[k] = dl.rand(t.shape).add(0.5);
      else values[k] = dl.randn(t.shape).mul(k.endsWith('bias') || k.endsWith('running_mean') ? 0.2 : 0.5);
    }
    net.loadStateDict(values);
  });
}

/** Splits the summary's table rows into columns. */
function summaryRows(summary: string): string[][] {
  const lines = summary.split('\n');
  const rules = lines.map((l, i) => (/^-+(\s+-+)*$/.test(l) ? i : -1)).filter((i) => i >= 0);
  assert.equal(rules.length, 2, `two rules in\n${summary}`);
  return lines.slice(rules[0]! + 1, rules[1]).map((l) => l.trim().split(/\s{2,}/));
}

// ---- summary --------------------------------------------------------------------------

test('series summary: names, types, output shapes, learnable counts and totals', async () => {
  await withNet(() => cnn(), (net) => {
    const s = net.summary();
    assert.deepEqual(s.split('\n')[0]!.trim().split(/\s{2,}/), ['#', 'name', 'type', 'output shape', 'learnables']);
    assert.deepEqual(summaryRows(s), [
      ['1', 'imageInput_1', 'imageInput', '[1, 12, 12]', '-'],
      ['2', 'conv2d_1', 'conv2d', '[4, 12, 12]', '40'],
      ['3', 'batchNorm_1', 'batchNorm', '[4, 12, 12]', '8'],
      ['4', 'relu_1', 'relu', '[4, 12, 12]', '-'],
      ['5', 'maxPool2d_1', 'maxPool2d', '[4, 6, 6]', '-'],
      ['6', 'conv2d_2', 'conv2d', '[6, 4, 4]', '222'],
      ['7', 'relu_2', 'relu', '[6, 4, 4]', '-'],
      ['8', 'fullyConnected_1', 'fullyConnected', '[10]', '970'],
      ['9', 'softmax_1', 'softmax', '[10]', '-'],
    ]);
    assert.deepEqual(s.split('\n').slice(-2), ['learnables: 1,240 (1,240 trainable)', 'input [1, 12, 12] -> output [10], 10 classes']);
    assert.equal(net.learnableCount, 1240);
    assert.equal(String(net), s);

    net.freeze(['conv2d_1']);
    const frozen = net.summary();
    assert.deepEqual(summaryRows(frozen)[1], ['2', 'conv2d_1', 'conv2d', '[4, 12, 12]', '40 (frozen)']);
    assert.equal(frozen.split('\n').at(-2), 'learnables: 1,240 (1,200 trainable)');
  });
});

// ---- wiring errors, at build time --------------------------------------------------------

const img = (name = 'in', inputSize: number[] = [4, 8, 8]) => nn.imageInput({ name, inputSize, normalization: 'none' });

test('wiring errors name the layers: unconnected layer, open input slot, cycle, unused outputs, unknown names', async () => {
  await buildFails(() => Network.graph({ layers: [img(), nn.relu({ name: 'r' }), nn.relu({ name: 'orphan' })], connections: [['in', 'r']], outputs: ['r'] }),
    /network wiring: layer 'orphan' \(relu\) is not connected to anything upstream/);
  await buildFails(() => Network.graph({ layers: [img(), nn.relu({ name: 'r' }), nn.addition({ name: 'add' })], connections: [['in', 'r'], ['r', 'add/in1']] }),
    /network wiring: input 2 of 2 of layer 'add' \(addition\) is not connected/);
  await buildFails(() => Network.graph({
    layers: [img(), nn.addition({ name: 'add' }), nn.relu({ name: 'r' }), nn.relu({ name: 'out' })],
    connections: [['in', 'add/in1'], ['r', 'add/in2'], ['add', 'r'], ['r', 'out']],
  }), /network wiring: a cycle runs through 'add' -> 'r' -> 'add'/);
  await buildFails(() => Network.graph({ layers: [img(), nn.relu({ name: 'a' }), nn.tanh({ name: 'b' })], connections: [['in', 'a'], ['in', 'b']] }),
    /network wiring: the outputs of layers 'a', 'b' are not used: connect them, or name the network's outputs/);
  await buildFails(() => Network.graph({ layers: [img(), nn.relu({ name: 'r' })], connections: [['in', 'relu']] }),
    /connection in -> relu: there is no layer named 'relu'/);
  await buildFails(() => Network.graph({ layers: [img(), nn.relu({ name: 'r' })], connections: [['input', 'r']] }),
    /connection input -> r: there is no layer named 'input'/);
  await buildFails(() => Network.graph({ layers: [img(), nn.relu({ name: 'r' })], connections: [['in', 'r']], outputs: ['out'] }),
    /outputs: there is no layer named 'out'/);
  await buildFails(() => Network.graph({ layers: [img(), nn.addition({ name: 'add' })], connections: [['in', 'add/in1'], ['in', 'add/in3']] }),
    /connection in -> add\/in3: layer 'add' has inputs in1\.\.in2/);
  await buildFails(() => Network.graph({ layers: [img(), nn.relu({ name: 'r' }), nn.relu({ name: 's' })], connections: [['in', 'r'], ['in', 's'], ['r', 's']] }),
    /connection r -> s: every input of layer 's' is already connected \(to 'in'\)/);
  await buildFails(() => Network.graph({ layers: [img(), img('in2')], connections: [['in', 'in2']] }),
    /connection in -> in2: 'in2' is an input layer and takes no inputs/);
  await buildFails(() => Network.series([img(), nn.relu({ name: 'in' })]), /two layers are named 'in'/);
  await buildFails(() => Network.series([nn.relu(), nn.tanh()]), /the network has no input layer/);
  await buildFails(() => Network.series([]), /a network needs at least one layer/);
});

test('shape errors at build time name the layer, the expected and the received shapes, and leak nothing', async () => {
  const branches = (second: nn.Layer, join: nn.Layer) => Network.graph({
    layers: [img(), nn.conv2d({ name: 'c1', filters: 4, kernelSize: 3, padding: 'same' }), second, join],
    connections: [['in', 'c1'], ['in', second.name], ['c1', `${join.name}/in1`], [second.name, `${join.name}/in2`]],
  });
  await buildFails(() => branches(nn.conv2d({ name: 'c2', filters: 6, kernelSize: 3, padding: 'same' }), nn.addition({ name: 'add' })),
    /layer 'add' \(addition\): inputs must have the same shape: input 1 is \[4, 8, 8\], input 2 is \[6, 8, 8\] \(inputs: 'c1' gives \[4, 8, 8\], 'c2' gives \[6, 8, 8\]\)/);
  await buildFails(() => branches(nn.conv2d({ name: 'c2', filters: 4, kernelSize: 3, stride: 2, padding: 'same' }), nn.concatenation({ name: 'cat' })),
    /layer 'cat' \(concatenation\): inputs must match except along dim 1: input 1 is \[4, 8, 8\], input 2 is \[4, 4, 4\] \(inputs: 'c1' gives \[4, 8, 8\], 'c2' gives \[4, 4, 4\]\)/);
  // a conv layer after fullyConnected: (C, H, W) expected, [5] received
  await buildFails(() => Network.series([nn.featureInput({ inputSize: 10 }), nn.fullyConnected({ outputSize: 5 }), nn.conv2d({ filters: 2, kernelSize: 3 })]),
    /layer 'conv2d_1' \(conv2d\): expected 3-D input \(C, H, W\) per observation, found 1-D. Full shape received: \[5\] \(inputs: 'fullyConnected_1' gives \[5\]\)/);
  // the layer before fullyConnected gives no valid shape
  await buildFails(() => Network.series([img('in', [1, 4, 4]), nn.conv2d({ filters: 2, kernelSize: 3 }), nn.maxPool2d({ poolSize: 3 }), nn.fullyConnected({ outputSize: 10 })]),
    /layer 'maxPool2d_1' \(maxPool2d\): pool \[3, 3\] does not fit input \[2, 2, 2\]: output would be \[0, 0\] \(inputs: 'conv2d_1' gives \[2, 2, 2\]\)/);
  await buildFails(() => Network.series([img('in', [3, 8, 8]), nn.conv2d({ filters: 4, kernelSize: 3, groups: 2 })]),
    /layer 'conv2d_1' \(conv2d\): input channels \(3\) must be divisible by groups \(2\); input shape \[3, 8, 8\]/);
  await buildFails(() => Network.series([img('in', [3, 4, 4]), nn.conv2d({ filters: 4, kernelSize: 5 })]),
    /layer 'conv2d_1' \(conv2d\): kernel \[5, 5\] \(dilation \[1, 1\]\) does not fit input \[3, 4, 4\] with padding \[0,0\]: output would be \[0, 0\]/);
});

test('fullyConnected flattens whatever shape the previous layer gives', async () => {
  await withNet(() => Network.series([img('in', [2, 5, 3]), nn.conv2d({ filters: 3, kernelSize: [2, 1] }), nn.fullyConnected({ name: 'fc', outputSize: 7 })]), (net) => {
    assert.deepEqual(net.layer('fc').inputShapes, [[3, 4, 3]]);
    assert.deepEqual(net.layer('fc').params.get('weight')!.shape, [7, 36]);
    dl.tidy(() => assert.deepEqual((net.forward(dl.randn([2, 2, 5, 3])) as Tensor).shape, [2, 7]));
  });
});

// ---- ResNet and Inception blocks -------------------------------------------------------------

const resnetBlock = () => Network.graph({
  layers: [
    img('in', [4, 6, 6]),
    nn.conv2d({ name: 'conv1', filters: 4, kernelSize: 3, padding: 'same', bias: false }),
    nn.batchNorm({ name: 'bn1' }),
    nn.relu({ name: 'relu1' }),
    nn.conv2d({ name: 'conv2', filters: 4, kernelSize: 3, padding: 'same', bias: false }),
    nn.batchNorm({ name: 'bn2' }),
    nn.addition({ name: 'add' }),
    nn.relu({ name: 'out' }),
  ],
  connections: [['in', 'conv1'], ['conv1', 'bn1'], ['bn1', 'relu1'], ['relu1', 'conv2'], ['conv2', 'bn2'], ['bn2', 'add/in1'], ['in', 'add/in2'], ['add', 'out']],
});

test('ResNet block: conv-bn-relu-conv-bn plus the skip, relu; matches the same composition of functional ops', async () => {
  await withNet(resnetBlock, (net) => {
    randomize(net);
    for (const l of net.layers) assert.deepEqual(l.builtOutputShape, [4, 6, 6], l.name);
    assert.deepEqual(net.outputNames, ['out']);
    assert.deepEqual(net.sourcesOf('add'), ['bn2', 'in']);
    assert.deepEqual(summaryRows(net.summary()).find((r) => r[1] === 'add'), ['7', 'add', 'addition', '[4, 6, 6]', '-', 'bn2, in']);
    assert.equal(net.learnableCount, 2 * (4 * 4 * 9) + 2 * 8);
    const p = net.stateDict();
    const bn = (x: Tensor, n: string) => F.batchNorm(x, { weight: p[`${n}.weight`], bias: p[`${n}.bias`], runningMean: p[`${n}.running_mean`], runningVar: p[`${n}.running_var`] });
    dl.tidy(() => {
      const x = dl.randn([2, 4, 6, 6]);
      const y = net.forward(x) as Tensor;
      const h = F.relu(bn(F.conv2d(x, p['conv1.weight']!, null, { padding: 1 }), 'bn1'));
      const want = F.relu(bn(F.conv2d(h, p['conv2.weight']!, null, { padding: 1 }), 'bn2').add(x));
      assertClose(y, want.dataSync() as Float32Array, { atol: 1e-5, rtol: 1e-4, shape: [2, 4, 6, 6] });
    });
    // training: forward and backward reach every parameter and the input; running stats move
    dl.tidy(() => {
      const before = p['bn1.running_mean']!.clone();
      const x = dl.randn([3, 4, 6, 6]).requiresGrad_();
      const y = net.forward(x, { training: true }) as Tensor;
      y.mul(dl.randn(y.shape)).sum().backward();
      for (const { name, tensor } of net.parameters()) {
        assert.deepEqual(tensor.grad?.shape, tensor.shape, `grad of ${name}`);
        assert.ok(tensor.grad!.abs().sum().item() > 0, `grad of ${name} is not zero`);
      }
      assert.deepEqual(x.grad?.shape, [3, 4, 6, 6]);
      assert.ok(!before.allclose(p['bn1.running_mean']!), 'running mean updated in training');
      assert.equal(p['bn1.num_batches_tracked']!.item(), 1);
    });
  });
});

test('ResNet downsampling block: strided conv and a 1x1 strided projection on the skip', async () => {
  await withNet(() => Network.graph({
    layers: [
      img('in', [4, 7, 7]),
      nn.conv2d({ name: 'conv1', filters: 8, kernelSize: 3, stride: 2, padding: 'same' }), nn.batchNorm({ name: 'bn1' }), nn.relu({ name: 'relu1' }),
      nn.conv2d({ name: 'conv2', filters: 8, kernelSize: 3, padding: 'same' }), nn.batchNorm({ name: 'bn2' }),
      nn.conv2d({ name: 'proj', filters: 8, kernelSize: 1, stride: 2 }), nn.batchNorm({ name: 'bnp' }),
      nn.addition({ name: 'add' }), nn.relu({ name: 'out' }),
    ],
    connections: [['in', 'conv1'], ['conv1', 'bn1'], ['bn1', 'relu1'], ['relu1', 'conv2'], ['conv2', 'bn2'], ['in', 'proj'], ['proj', 'bnp'], ['bn2', 'add'], ['bnp', 'add'], ['add', 'out']],
  }), (net) => {
    assert.deepEqual(net.layer('conv1').builtOutputShape, [8, 4, 4]);
    assert.deepEqual(net.layer('proj').builtOutputShape, [8, 4, 4]);
    assert.deepEqual(net.outputShape, [8, 4, 4]);
    dl.tidy(() => {
      const y = net.forward(dl.randn([2, 4, 7, 7]), { training: true }) as Tensor;
      assert.deepEqual(y.shape, [2, 8, 4, 4]);
      y.sum().backward();
      for (const { name, tensor } of net.parameters()) assert.ok(tensor.grad, `grad of ${name}`);
    });
  });
});

const inceptionBlock = () => Network.graph({
  layers: [
    img('in', [4, 8, 8]),
    nn.conv2d({ name: 'b1', filters: 2, kernelSize: 1 }),
    nn.conv2d({ name: 'b2a', filters: 3, kernelSize: 1 }), nn.relu({ name: 'b2r' }), nn.conv2d({ name: 'b2b', filters: 4, kernelSize: 3, padding: 'same' }),
    nn.conv2d({ name: 'b3a', filters: 1, kernelSize: 1 }), nn.conv2d({ name: 'b3b', filters: 2, kernelSize: 5, padding: 'same' }),
    nn.maxPool2d({ name: 'b4a', poolSize: 3, stride: 1, padding: 1 }), nn.conv2d({ name: 'b4b', filters: 2, kernelSize: 1 }),
    nn.concatenation({ name: 'cat', numInputs: 4 }),
    nn.relu({ name: 'out' }),
  ],
  connections: [
    ['in', 'b1'], ['in', 'b2a'], ['b2a', 'b2r'], ['b2r', 'b2b'], ['in', 'b3a'], ['b3a', 'b3b'], ['in', 'b4a'], ['b4a', 'b4b'],
    ['b1', 'cat/in1'], ['b2b', 'cat/in2'], ['b3b', 'cat/in3'], ['b4b', 'cat/in4'], ['cat', 'out'],
  ],
});

test('Inception block: parallel 1x1, 3x3, 5x5 and pool branches concatenated along channels', async () => {
  await withNet(inceptionBlock, (net) => {
    const shapes = Object.fromEntries(net.layers.map((l) => [l.name, l.builtOutputShape]));
    assert.deepEqual(shapes, {
      in: [4, 8, 8], b1: [2, 8, 8], b2a: [3, 8, 8], b2r: [3, 8, 8], b2b: [4, 8, 8], b3a: [1, 8, 8], b3b: [2, 8, 8],
      b4a: [4, 8, 8], b4b: [2, 8, 8], cat: [10, 8, 8], out: [10, 8, 8],
    });
    assert.equal(net.learnableCount, (4 * 2 + 2) + (4 * 3 + 3) + (3 * 4 * 9 + 4) + (4 + 1) + (25 * 2 + 2) + (4 * 2 + 2));
    assert.deepEqual(summaryRows(net.summary()).find((r) => r[1] === 'cat')!.slice(2), ['concatenation', '[10, 8, 8]', '-', 'b1, b2b, b3b, b4b']);
    dl.tidy(() => {
      const x = dl.randn([2, 4, 8, 8]).requiresGrad_();
      const [cat, ...branches] = net.forward(x, { outputs: ['cat', 'b1', 'b2b', 'b3b', 'b4b'] }) as Tensor[];
      let at = 0;
      for (const b of branches) {
        const c = b!.shape[1]!;
        assert.deepEqual(cat!.slice(1, at, at + c).dataSync(), b!.dataSync(), `channels ${at}..${at + c - 1} of the concatenation`);
        at += c;
      }
      const y = net.forward(x) as Tensor;
      assert.deepEqual(y.dataSync(), cat!.relu().dataSync());
      y.mul(dl.randn(y.shape)).sum().backward();
      for (const { name, tensor } of net.parameters()) assert.deepEqual(tensor.grad?.shape, tensor.shape, `grad of ${name}`);
      assert.deepEqual(x.grad?.shape, [2, 4, 8, 8]);
    });
  });
});

// ---- several inputs and outputs; intermediate activations ------------------------------------

const twoHeads = () => Network.graph({
  layers: [
    img('image', [1, 4, 4]), nn.featureInput({ name: 'meta', inputSize: 3 }),
    nn.conv2d({ name: 'conv', filters: 2, kernelSize: 3 }), nn.flatten({ name: 'flat' }),
    nn.concatenation({ name: 'cat' }),
    nn.fullyConnected({ name: 'head1', outputSize: 4 }), nn.fullyConnected({ name: 'head2', outputSize: 2 }),
  ],
  connections: [['image', 'conv'], ['conv', 'flat'], ['flat', 'cat/in1'], ['meta', 'cat/in2'], ['cat', 'head1'], ['cat', 'head2']],
  outputs: ['head1', 'head2'],
});

test('several inputs and outputs: inputs by array or by name, one tensor per output', async () => {
  await withNet(twoHeads, (net) => {
    assert.deepEqual(net.inputNames, ['image', 'meta']);
    assert.deepEqual(net.outputNames, ['head1', 'head2']);
    assert.deepEqual(net.layer('cat').builtOutputShape, [11]);
    assert.deepEqual(net.outputShape, [4]);
    dl.tidy(() => {
      const image = dl.randn([5, 1, 4, 4]);
      const meta = dl.randn([5, 3]);
      const [a1, a2] = net.forward([image, meta]) as Tensor[];
      const [b1, b2] = net.forward({ meta, image }) as Tensor[];
      assert.deepEqual([a1!.shape, a2!.shape], [[5, 4], [5, 2]]);
      assert.deepEqual(b1!.dataSync(), a1!.dataSync());
      assert.deepEqual(b2!.dataSync(), a2!.dataSync());
      // head1 by hand from the concatenation
      const cat = net.forward([image, meta], { outputs: ['cat'] }) as Tensor;
      assertClose(a1!, F.linear(cat, net.stateDict()['head1.weight']!, net.stateDict()['head1.bias']).dataSync() as Float32Array, { atol: 1e-6, rtol: 1e-5 });
      assert.throws(() => net.forward(image), /forward: the network has 2 inputs \(image, meta\): pass an array or an object by name/);
      assert.throws(() => net.forward([image]), /forward: the network has 2 inputs \(image, meta\), got 1 tensors/);
      assert.throws(() => net.forward({ image } as Record<string, Tensor>), /forward: missing input 'meta'/);
      assert.throws(() => net.forward([meta, image]), /layer 'image' \(imageInput\): expected input of shape \[N, 1, 4, 4\], got \[5, 3\]/);
    });
  });
});

test("forward(x, { outputs: ['name'] }) returns an intermediate activation; forward frees what it no longer needs", async () => {
  await withNet(() => cnn(), (net) => {
    randomize(net);
    const p = net.stateDict();
    dl.tidy(() => {
      const x = pixels(2);
      const act = net.forward(x, { outputs: ['relu_1'] }) as Tensor;
      const bn = F.batchNorm(F.conv2d(x.div(255), p['conv2d_1.weight']!, p['conv2d_1.bias'], { padding: 1 }),
        { weight: p['batchNorm_1.weight'], bias: p['batchNorm_1.bias'], runningMean: p['batchNorm_1.running_mean'], runningVar: p['batchNorm_1.running_var'] });
      assertClose(act, F.relu(bn).dataSync() as Float32Array, { atol: 1e-5, rtol: 1e-4, shape: [2, 4, 12, 12] });
      const [conv2, out] = net.forward(x, { outputs: ['conv2d_2', 'softmax_1'] }) as Tensor[];
      assert.deepEqual(conv2!.shape, [2, 6, 4, 4]);
      assert.deepEqual(out!.dataSync(), (net.forward(x) as Tensor).dataSync());
      assert.throws(() => net.forward(x, { outputs: ['nope'] }), /no layer named 'nope'; layers: imageInput_1, conv2d_1, /);
      // one new live tensor per forward: the output (intermediate activations are freed)
      for (const training of [false, true]) {
        const before = dl.memory().liveTensors;
        const y = net.forward(x, { training }) as Tensor;
        assert.equal(dl.memory().liveTensors, before + 1, `live tensors after forward (training ${training})`);
        y.dispose();
      }
    });
  });
});

test('channels-last and contiguous networks give the same outputs and gradients', async () => {
  await noLeaks(() => {
    const a = cnn();
    const b = cnn(false);
    try {
      assert.equal(a.channelsLast, true, 'on by default with conv2d layers');
      assert.equal(b.channelsLast, false);
      const dense = Network.series([nn.featureInput({ inputSize: 3 }), nn.fullyConnected({ outputSize: 2 })]);
      assert.equal(dense.channelsLast, false);
      dense.dispose();
      assert.ok(a.layer('conv2d_2').params.get('weight')!.isContiguous('channelsLast'));
      randomize(a);
      b.loadStateDict(a.stateDict());
      dl.tidy(() => {
        const x = pixels(3);
        const ya = a.forward(x, { training: true }) as Tensor;
        const yb = b.forward(x, { training: true }) as Tensor;
        assertClose(ya, yb.dataSync() as Float32Array, { atol: 1e-6, rtol: 1e-5 });
        const u = dl.randn(ya.shape);
        ya.mul(u).sum().backward();
        yb.mul(u).sum().backward();
        const pb = new Map(b.parameters().map((p) => [p.name, p.tensor]));
        for (const { name, tensor } of a.parameters()) assertClose(tensor.grad!, pb.get(name)!.grad!.dataSync() as Float32Array, { atol: 1e-5, rtol: 1e-4 });
      });
    } finally {
      a.dispose();
      b.dispose();
    }
  });
});

// ---- test-time augmentation ---------------------------------------------------------------

/** x mirrored along W, built element by element in JS (not with the flip op under test). */
function mirrored(x: Tensor): Tensor {
  const [n, c, h, w] = x.shape as [number, number, number, number];
  const src = x.contiguous().dataSync() as Float32Array;
  const out = new Float32Array(src.length);
  for (let i = 0; i < n * c * h; i++) for (let j = 0; j < w; j++) out[i * w + j] = src[i * w + (w - 1 - j)]!;
  return dl.tensor(out, { shape: [n, c, h, w] });
}

test("testTimeAugmentation 'reflectX': infer() is the mean of the outputs for each image and its mirror; forward is unchanged", async () => {
  await noLeaks(() => {
    const net = cnn();
    try {
      randomize(net);
      assert.equal(net.testTimeAugmentation, 'none', 'default');
      dl.tidy(() => {
        const x = pixels(3);
        const plain = net.forward(x) as Tensor;
        assertClose(net.infer(x), plain.dataSync() as Float32Array, { atol: 0, rtol: 0 });
        net.testTimeAugmentation = 'reflectX';
        const flippedOut = net.forward(mirrored(x)) as Tensor;
        const want = plain.add(flippedOut).mul(0.5);
        assertClose(net.infer(x), want.dataSync() as Float32Array, { atol: 1e-7, rtol: 1e-6 });
        assert.ok(Math.abs((plain.sub(want).abs().max().item() as number)) > 1e-4, 'the mirror image changes the outputs (else this test proves nothing)');
        assertClose(net.forward(x) as Tensor, plain.dataSync() as Float32Array, { atol: 0, rtol: 0 });
      });
      assert.match(net.summary(), /test-time augmentation: reflectX/);
    } finally {
      net.dispose();
    }
  });
});

test('testTimeAugmentation is saved in the config, absent means none, and bad values or inputs are errors naming them', async () => {
  await noLeaks(() => {
    const net = Network.series([img('in', [1, 4, 4]), nn.fullyConnected({ outputSize: 2 })], { testTimeAugmentation: 'reflectX' });
    const config = net.config();
    assert.equal(config.testTimeAugmentation, 'reflectX');
    const copy = Network.fromConfig(JSON.parse(JSON.stringify(config)));
    assert.equal(copy.testTimeAugmentation, 'reflectX');
    net.testTimeAugmentation = 'none';
    assert.equal('testTimeAugmentation' in net.config(), false, "'none' is left out, as in files written before the option");
    const { testTimeAugmentation: _, ...older } = config;
    const old = Network.fromConfig(JSON.parse(JSON.stringify(older)));
    assert.equal(old.testTimeAugmentation, 'none');
    assert.throws(() => { net.testTimeAugmentation = 'flip' as never; }, /testTimeAugmentation must be one of 'none', 'reflectX', got "flip"/);
    for (const n of [net, copy, old]) n.dispose();
  });
  await buildFails(() => Network.series([nn.featureInput({ name: 'features', inputSize: 6 }), nn.fullyConnected({ outputSize: 2 })], { testTimeAugmentation: 'reflectX' }),
    /testTimeAugmentation 'reflectX' mirrors images: it needs one image input of shape \(C, H, W\), the network has 'features' \(featureInput, \[6\]\)/);
});

// ---- freezing and learn-rate factors ---------------------------------------------------------

test('freeze / unfreeze / setLearnRateFactor set requiresGrad and learnRateFactor; frozen parameters get no gradient', async () => {
  await withNet(() => cnn(), (net) => {
    const grads = () => dl.tidy(() => {
      for (const { tensor } of net.parameters()) tensor.zeroGrad();
      (net.forward(pixels(2), { training: true }) as Tensor).max().backward();
      return Object.fromEntries(net.parameters().map(({ name, tensor }) => [name, tensor.grad !== null]));
    });
    net.freeze(['conv2d_1']);
    net.freeze((l) => l.type === 'batchNorm');
    net.setLearnRateFactor(['fullyConnected_1'], 0.5);
    const info = Object.fromEntries(net.parameters().map((p) => [p.name, [p.learnRateFactor, p.tensor.requiresGrad]]));
    assert.deepEqual(info, {
      'conv2d_1.weight': [0, false], 'conv2d_1.bias': [0, false], 'batchNorm_1.weight': [0, false], 'batchNorm_1.bias': [0, false],
      'conv2d_2.weight': [1, true], 'conv2d_2.bias': [1, true], 'fullyConnected_1.weight': [0.5, true], 'fullyConnected_1.bias': [0.5, true],
    });
    assert.equal(net.trainableCount, 222 + 970);
    assert.deepEqual(grads(), {
      'conv2d_1.weight': false, 'conv2d_1.bias': false, 'batchNorm_1.weight': false, 'batchNorm_1.bias': false,
      'conv2d_2.weight': true, 'conv2d_2.bias': true, 'fullyConnected_1.weight': true, 'fullyConnected_1.bias': true,
    });
    // a frozen batch norm uses and keeps its running statistics, even in training
    assert.equal(net.stateDict()['batchNorm_1.num_batches_tracked']!.item(), 0);
    assert.deepEqual([...net.stateDict()['batchNorm_1.running_mean']!.dataSync()], new Array(net.stateDict()['batchNorm_1.running_mean']!.size).fill(0));

    net.unfreeze(['conv2d_1']);
    net.setLearnRateFactor(['conv2d_2'], 0);
    assert.deepEqual([net.layer('conv2d_1').learnRateFactor, net.layer('conv2d_2').learnRateFactor], [1, 0]);
    const g = grads();
    assert.deepEqual([g['conv2d_1.weight'], g['conv2d_2.weight'], g['batchNorm_1.weight']], [true, false, false]);

    assert.throws(() => net.setLearnRateFactor(['conv2d_1'], -1), /setLearnRateFactor: factor must be >= 0, got -1/);
    assert.throws(() => net.freeze(['conv9']), /no layer named 'conv9'/);
  });
});

test('a frozen network rebuilt from its config stays frozen', async () => {
  await withNet(() => cnn(), (net) => {
    net.freeze(['conv2d_1']);
    net.setLearnRateFactor(['fullyConnected_1'], 0.1);
    const copy = Network.fromConfig(JSON.parse(JSON.stringify(net.config())));
    try {
      const info = (n: Network) => n.parameters().map((p) => [p.name, p.learnRateFactor, p.tensor.requiresGrad]);
      assert.deepEqual(info(copy), info(net));
      assert.ok(copy.summary().includes('40 (frozen)'));
    } finally {
      copy.dispose();
    }
  });
});

// ---- state dicts -------------------------------------------------------------------------

test('stateDict uses PyTorch names; loadStateDict reports every problem at once and changes nothing then', async () => {
  await withNet(() => cnn(), (net) => {
    randomize(net);
    assert.deepEqual(Object.keys(net.stateDict()), [
      'conv2d_1.weight', 'conv2d_1.bias',
      'batchNorm_1.weight', 'batchNorm_1.bias', 'batchNorm_1.running_mean', 'batchNorm_1.running_var', 'batchNorm_1.num_batches_tracked',
      'conv2d_2.weight', 'conv2d_2.bias', 'fullyConnected_1.weight', 'fullyConnected_1.bias',
    ]);
    dl.tidy(() => {
      const good = Object.fromEntries(Object.entries(net.stateDict()).map(([k, t]) => [k, dl.zerosLike(t)]));
      const { 'conv2d_1.bias': _missing, ...bad } = good;
      bad['extra.weight'] = dl.zeros([2]);
      bad['fullyConnected_1.weight'] = dl.zeros([10, 97]);
      bad['batchNorm_1.num_batches_tracked'] = dl.zeros([]);
      const before = net.stateDict()['conv2d_2.weight']!.clone();
      const bias = net.stateDict()['conv2d_1.bias']!.clone();
      assert.throws(() => net.loadStateDict(bad, { source: 'model.safetensors' }), (err: Error) => {
        assert.match(err.message, /^model\.safetensors does not fit the network: /);
        for (const part of [
          "missing 'conv2d_1.bias' (expected [4] float32)",
          "'fullyConnected_1.weight': expected shape [10, 96], got [10, 97]",
          "'batchNorm_1.num_batches_tracked': expected dtype int64, got float32",
          "unexpected 'extra.weight'",
        ]) assert.ok(err.message.includes(part), `message names: ${part}\n${err.message}`);
        return true;
      });
      assert.ok(net.stateDict()['conv2d_2.weight']!.allclose(before, 0, 0), 'nothing loaded when the dict does not fit');
      // strict: false skips missing and unexpected names, loads the rest
      const { 'conv2d_1.bias': _b, ...partial } = good;
      net.loadStateDict({ ...partial, 'extra.weight': dl.zeros([2]) }, { strict: false });
      assert.equal(net.stateDict()['conv2d_2.weight']!.abs().sum().item(), 0);
      assert.ok(net.stateDict()['conv2d_1.bias']!.allclose(bias, 0, 0), 'a name missing from a non-strict load keeps its value');
      // shapes still must fit without strict
      assert.throws(() => net.loadStateDict({ 'fullyConnected_1.weight': dl.zeros([10, 97]) }, { strict: false }), /'fullyConnected_1.weight': expected shape \[10, 96\], got \[10, 97\]/);
    });
  });
});

// ---- config round trips --------------------------------------------------------------------

for (const [what, make] of [['series CNN', () => cnn()], ['ResNet block', resnetBlock], ['Inception block', inceptionBlock], ['two-input two-output graph', twoHeads]] as const) {
  test(`${what}: Network.fromConfig(JSON of config()) + loadStateDict(stateDict()) gives identical outputs`, async () => {
    await withNet(make, (net) => {
      randomize(net, 5);
      const json = JSON.stringify(net.config());
      const copy = Network.fromConfig(JSON.parse(json));
      try {
        copy.loadStateDict(net.stateDict());
        assert.equal(JSON.stringify(copy.config()), json);
        assert.equal(copy.summary(), net.summary());
        assert.equal(copy.channelsLast, net.channelsLast);
        dl.tidy(() => {
          const inputs = net.inputLayers.map((l) => dl.randn([2, ...l.builtOutputShape!]).mul(50).add(100));
          for (const training of [false, true]) {
            const a = [net.forward(inputs, { training })].flat();
            const b = [copy.forward(inputs, { training })].flat();
            a.forEach((t, i) => assert.deepEqual(b[i]!.dataSync(), t.dataSync(), `output ${i} (training ${training})`));
          }
        });
      } finally {
        copy.dispose();
      }
    });
  });
}

test('fromConfig rejects what is not a network config, and unknown layer types by name', async () => {
  await noLeaks(() => {
    assert.throws(() => Network.fromConfig({ format: 'keras' } as never), /not a dlkit network config \(format is "keras"\)/);
    assert.throws(() => Network.fromConfig({
      format: 'dlkit-network', version: 1, layers: [{ type: 'featureInput', name: 'in', inputSize: 2 }, { type: 'swish', name: 'act' }],
      connections: [['in', 'act']], outputs: ['act'], classes: null, channelsLast: false,
    }), /unknown layer type 'swish' \(layer 'act'\); known types: imageInput, featureInput, sequenceInput, tensorInput, conv1d, conv2d/);
  });
});

test('layer options are checked by name: a misspelled option is an error, not ignored', () => {
  assert.throws(() => nn.conv2d({ filters: 2, kernelSize: 3, strides: 2 } as never), /conv2d: unknown option 'strides'; known: .*stride/);
  assert.throws(() => nn.layerFromConfig({ type: 'relu', name: 'r', slope: 1 }), /relu 'r': unknown option 'slope'/);
});

test('sequenceInput feeds 1-D convolutions and pooling', async () => {
  await noLeaks(() => {
    const net = Network.series([
      nn.sequenceInput({ inputSize: [1, 32] }), nn.conv1d({ filters: 4, kernelSize: 5, padding: 'same' }), nn.relu(),
      nn.maxPool1d({ poolSize: 2 }), nn.flatten(), nn.fullyConnected({ outputSize: 3 }),
    ]);
    assert.deepEqual([...net.layer('conv1d_1').builtOutputShape!], [4, 32]);
    assert.deepEqual([...net.layer('maxPool1d_1').builtOutputShape!], [4, 16]);
    dl.tidy(() => assert.deepEqual([...(net.forward(dl.randn([2, 1, 32])) as dl.Tensor).shape], [2, 3]));
    net.dispose();
  });
});

test("layer names are free strings ('.', '/', ':' as in ONNX and Caffe); a trailing '/inN' names a slot only when no layer has the whole name", async () => {
  await withNet(() => Network.graph({
    layers: [
      nn.featureInput({ inputSize: 3, name: 'input:0' }),
      nn.fullyConnected({ outputSize: 3, name: 'conv1/7x7_s2' }),
      nn.relu({ name: '/features/relu/in1' }),
      nn.addition({ name: 'resnet.layer1.0/add' }),
    ],
    connections: [['input:0', 'conv1/7x7_s2'], ['conv1/7x7_s2', '/features/relu/in1'], ['/features/relu/in1', 'resnet.layer1.0/add/in1'], ['input:0', 'resnet.layer1.0/add/in2']],
  }), (net) => {
    assert.deepEqual(Object.keys(net.stateDict()), ['conv1/7x7_s2.weight', 'conv1/7x7_s2.bias']);
    assert.deepEqual(net.sourcesOf('resnet.layer1.0/add'), ['/features/relu/in1', 'input:0']);
    assert.match(net.summary(), /conv1\/7x7_s2/);
    dl.tidy(() => {
      const x = dl.tensor([[1, -2, 3]]);
      const fc = net.layer('conv1/7x7_s2');
      const expected = F.relu(F.linear(x, fc.params.get('weight')!, fc.params.get('bias')!)).add(x);
      assertClose(net.forward(x) as Tensor, expected.dataSync() as Float32Array);
    });
  });
});
