// Error messages: they name the op (or layer function) and the argument, and give expected
// versus actual with shapes in full (STYLE.md point 5). One table: what to run, which error
// class, and regexes the message must match.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as dl from '../../src/index.js';
import type { Tensor } from '../../src/index.js';
import { noLeaks } from '../helpers.js';

const F = dl.functional;
/** A value of the wrong type, as a JavaScript caller could pass it. */
const bad = (v: unknown): never => v as never;
/** A tensor that has been freed. */
const disposed = (shape: number[]): Tensor => {
  const t = dl.ones(shape);
  t.dispose();
  return t;
};
const long = (values: number[]) => dl.tensor(values, { dtype: 'int64' });

const CASES: { name: string; run: () => unknown; type: ErrorConstructor; message: RegExp[] }[] = [
  // ---- shape mismatches: the op and both shapes in full ----
  {
    name: 'add with shapes that do not broadcast',
    run: () => dl.zeros([2, 3, 4]).add(dl.zeros([5, 4])),
    type: Error,
    message: [/^aten::add\.Tensor: /, /The size of tensor a \(3\) must match the size of tensor b \(5\) at non-singleton dimension 1/, /self: \[2, 3, 4\] float32/, /other: \[5, 4\] float32/],
  },
  {
    name: 'mul with shapes that do not broadcast',
    run: () => dl.zeros([3, 1, 7]).mul(dl.zeros([2, 6])),
    type: Error,
    message: [/^aten::mul\.Tensor: /, /self: \[3, 1, 7\] float32/, /other: \[2, 6\] float32/],
  },
  {
    name: 'matmul with inner sizes that differ',
    run: () => dl.zeros([2, 3]).matmul(dl.zeros([4, 5])),
    type: Error,
    message: [/^aten::matmul: /, /\(2x3 and 4x5\)/, /self: \[2, 3\] float32; other: \[4, 5\] float32/],
  },
  {
    name: 'conv2d with input channels that do not match the weight',
    run: () => F.conv2d(dl.zeros([1, 3, 8, 8]), dl.zeros([4, 2, 3, 3])),
    type: RangeError,
    message: [/^conv2d: input has 3 channels \(shape \[1, 3, 8, 8\]\) but weight \[4, 2, 3, 3\] with groups=1 expects 2$/],
  },
  {
    name: 'conv2d with groups that do not divide the channels as the weight says',
    run: () => F.conv2d(dl.zeros([1, 6, 5, 5]), dl.zeros([4, 4, 3, 3]), null, { groups: 2 }),
    type: RangeError,
    message: [/^conv2d: input has 6 channels \(shape \[1, 6, 5, 5\]\) but weight \[4, 4, 3, 3\] with groups=2 expects 8$/],
  },
  {
    name: 'conv2d on a 3-D input',
    run: () => F.conv2d(dl.zeros([1, 4, 8]), dl.zeros([4, 4, 3, 3])),
    type: RangeError,
    message: [/^conv2d: input must be 4-D \(N, C, H, W\), got shape \[1, 4, 8\]$/],
  },
  {
    name: 'conv2d with a kernel larger than the input (libtorch error, enriched with shapes)',
    run: () => F.conv2d(dl.zeros([1, 2, 4, 4]), dl.zeros([3, 2, 5, 5])),
    type: Error,
    message: [/^aten::conv2d: /, /Kernel size can't be greater than actual input size/, /input: \[1, 2, 4, 4\] float32; weight: \[3, 2, 5, 5\] float32/],
  },
  {
    name: 'convTranspose2d with input channels that do not match the weight',
    run: () => F.convTranspose2d(dl.zeros([1, 3, 4, 4]), dl.zeros([2, 3, 3, 3])),
    type: RangeError,
    message: [/^convTranspose2d: input has 3 channels \(shape \[1, 3, 4, 4\]\) but weight \[2, 3, 3, 3\] expects 2$/],
  },
  {
    name: 'linear with in-features that do not match the weight',
    run: () => F.linear(dl.zeros([2, 3, 5]), dl.zeros([4, 6])),
    type: RangeError,
    message: [/^linear: input \[2, 3, 5\] has 5 features but weight has shape \[4, 6\] \(expected \[out, 5\]\)$/],
  },
  {
    name: 'mseLoss with input and target of different shapes',
    run: () => F.mseLoss(dl.zeros([2, 3]), dl.zeros([3, 2])),
    type: RangeError,
    message: [/^mseLoss: input \[2, 3\] and target \[3, 2\] must have the same shape$/],
  },
  {
    name: 'batchNorm with running stats of the wrong size',
    run: () => F.batchNorm(dl.zeros([2, 3, 4]), { runningMean: dl.zeros([4]), runningVar: dl.ones([3]) }),
    type: RangeError,
    message: [/^batchNorm: runningMean must have shape \[3\] for input \[2, 3, 4\], got \[4\]$/],
  },

  // ---- crossEntropy / nllLoss targets ----
  {
    name: 'crossEntropy with a target of the wrong batch size',
    run: () => F.crossEntropy(dl.zeros([4, 3]), long([0, 1, 2])),
    type: RangeError,
    message: [/^crossEntropy: input \[4, 3\] needs target shape \[4\], got \[3\]$/],
  },
  {
    name: 'crossEntropy with a spatial target of the wrong shape',
    run: () => F.crossEntropy(dl.zeros([4, 3, 5]), dl.zeros([4, 3], { dtype: 'int64' })),
    type: RangeError,
    message: [/^crossEntropy: input \[4, 3, 5\] needs target shape \[4, 5\], got \[4, 3\]$/],
  },
  {
    name: 'crossEntropy with int32 class indices',
    run: () => F.crossEntropy(dl.zeros([4, 3]), dl.zeros([4], { dtype: 'int32' })),
    type: TypeError,
    message: [/^crossEntropy: target must hold class indices as int64/, /got int32 \[4\]$/],
  },
  {
    name: 'crossEntropy with float targets not shaped like the input',
    run: () => F.crossEntropy(dl.zeros([4, 3]), dl.zeros([4])),
    type: TypeError,
    message: [/^crossEntropy: target must hold class indices as int64 \(or class probabilities shaped like the input\), got float32 \[4\]$/],
  },
  {
    name: 'crossEntropy with a class index out of range (libtorch error)',
    run: () => F.crossEntropy(dl.zeros([4, 3]), long([0, 1, 5, 2])),
    type: Error,
    message: [/^aten::cross_entropy_loss: Target 5 is out of bounds/, /self: \[4, 3\] float32; target: \[4\] int64/],
  },
  {
    name: 'nllLoss with a target of the wrong shape',
    run: () => F.nllLoss(dl.zeros([4, 3]), long([0, 1])),
    type: RangeError,
    message: [/^nllLoss: input \[4, 3\] needs target shape \[4\], got \[2\]$/],
  },

  // ---- disposed tensors ----
  {
    name: 'a method on a disposed tensor',
    run: () => disposed([2]).add(1),
    type: Error,
    message: [/^aten::add\.Scalar: this tensor was disposed/, /self: disposed tensor/],
  },
  {
    name: 'a disposed tensor as an argument',
    run: () => dl.ones([2]).mul(disposed([2])),
    type: Error,
    message: [/^aten::mul\.Tensor: this tensor was disposed/, /self: \[2\] float32; other: disposed tensor/],
  },
  {
    name: 'a disposed tensor in a list',
    run: () => dl.cat([dl.ones([2]), disposed([3])]),
    type: Error,
    message: [/^aten::cat: this tensor was disposed/, /tensors: \[\[2\] float32, disposed tensor\]/],
  },
  {
    name: 'a disposed tensor to a functional op',
    run: () => F.linear(disposed([2, 3]), dl.ones([4, 3])),
    type: Error,
    message: [/^linear: argument 'input' is a tensor that was disposed$/],
  },
  {
    name: 'a disposed tensor to an activation',
    run: () => F.relu(disposed([2])),
    type: Error,
    message: [/^aten::relu: this tensor was disposed/],
  },
  {
    name: 'reading a disposed tensor',
    run: () => disposed([2]).dataSync(),
    type: Error,
    message: [/this tensor was disposed/],
  },
  {
    name: 'a tensor used after the tidy that made it',
    run: () => {
      let inner: Tensor | undefined;
      dl.tidy(() => { inner = dl.ones([2]); });
      return inner!.sum();
    },
    type: Error,
    message: [/^aten::sum: this tensor was disposed/],
  },

  // ---- wrong argument types: the op and the argument by name ----
  {
    name: 'a string where a scalar is expected',
    run: () => dl.ones([2, 3]).add(bad('x')),
    type: TypeError,
    message: [/^aten::add\.Scalar: argument 'other' expects a number \(Scalar\), got string/],
  },
  {
    name: 'a string where dims are expected',
    run: () => dl.ones([2, 3]).sum(bad('x')),
    type: TypeError,
    message: [/^aten::sum\.dim_IntList: argument 'dim' expects an integer/, /got string/],
  },
  {
    name: 'a fraction where a dim is expected',
    run: () => dl.ones([2, 3]).sum(0.5),
    type: TypeError,
    message: [/^aten::sum\.dim_IntList: argument 'dim' expects a whole number/],
  },
  {
    name: 'a string kernel size to maxPool2d',
    run: () => F.maxPool2d(dl.ones([1, 1, 4, 4]), bad('2')),
    type: TypeError,
    message: [/^aten::max_pool2d: argument 'kernel_size' expects an array of integers \(int\[\]\), got string/],
  },
  {
    name: 'a string weight to conv2d',
    run: () => F.conv2d(dl.ones([1, 1, 4, 4]), bad('w')),
    type: TypeError,
    message: [/^conv2d: argument 'weight' expects a tensor, got string$/],
  },
  {
    name: 'an array target to crossEntropy',
    run: () => F.crossEntropy(dl.ones([2, 3]), bad([0, 1])),
    type: TypeError,
    message: [/^crossEntropy: argument 'target' expects a tensor, got an array$/],
  },
  {
    name: 'null input to layerNorm',
    run: () => F.layerNorm(bad(null), [3]),
    type: TypeError,
    message: [/^layerNorm: argument 'input' expects a tensor, got null$/],
  },
  {
    name: 'a number to an activation',
    run: () => F.relu(bad(5)),
    type: TypeError,
    message: [/^aten::relu: argument 'self' expects a tensor \(Tensor\), got number/],
  },
  {
    name: 'a string bias to linear',
    run: () => F.linear(dl.ones([2, 3]), dl.ones([4, 3]), bad('b')),
    type: TypeError,
    message: [/^aten::linear: argument 'bias' expects a tensor \(Tensor\?\), got string/],
  },
];

for (const c of CASES) {
  test(`error: ${c.name}`, async () => {
    await noLeaks(() => dl.tidy(() => {
      assert.throws(c.run, (e: unknown) => {
        assert.ok(e instanceof c.type, `expected a ${c.type.name}, got ${e}`);
        for (const re of c.message) assert.match((e as Error).message, re);
        return true;
      });
    }));
  });
}
