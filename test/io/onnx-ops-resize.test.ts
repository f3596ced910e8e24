// Resize's fast paths (libtorch's upsample kernels, the broadcast copy for integer nearest factors)
// checked against its exact gather path, which the ONNX conformance data checks against the
// reference, on shapes and factors the conformance data doesn't have; and the routing itself,
// so a change that silently drops detection networks off the kernels fails here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as dl from '../../src/index.js';
import { resizeTensor, resizeRoute, type ResizeSpec } from '../../src/io/onnx/ops/resize.js';
import { assertClose, noLeaks } from '../helpers.js';

const base: ResizeSpec = { mode: 'linear', transform: 'half_pixel', nearest: 'round_prefer_floor', cubicA: -0.75, excludeOutside: false, extrapolation: 0 };

interface Case { name: string; shape: number[]; spec: Partial<ResizeSpec>; scales?: number[]; sizes?: number[]; route: string }

const cases: Case[] = [
  { name: 'bilinear x2 (scales)', shape: [2, 3, 5, 7], spec: {}, scales: [1, 1, 2, 2], route: 'upsample_bilinear2d' },
  { name: 'bilinear to odd sizes', shape: [1, 2, 6, 5], spec: {}, sizes: [1, 2, 11, 13], route: 'upsample_bilinear2d' },
  { name: 'bilinear shrink 0.6', shape: [1, 2, 10, 9], spec: {}, scales: [1, 1, 0.6, 0.6], route: 'upsample_bilinear2d' },
  { name: 'bilinear pytorch_half_pixel', shape: [1, 1, 4, 6], spec: { transform: 'pytorch_half_pixel' }, sizes: [1, 1, 3, 9], route: 'upsample_bilinear2d' },
  { name: 'bilinear align_corners', shape: [1, 3, 4, 5], spec: { transform: 'align_corners' }, sizes: [1, 3, 9, 7], route: 'upsample_bilinear2d' },
  { name: 'bilinear align_corners, fractional length', shape: [1, 1, 4, 4], spec: { transform: 'align_corners' }, scales: [1, 1, 0.6, 0.6], route: 'gather' },
  { name: 'bilinear asymmetric', shape: [1, 1, 4, 4], spec: { transform: 'asymmetric' }, scales: [1, 1, 2, 2], route: 'gather' },
  { name: 'linear 1-D', shape: [2, 3, 9], spec: {}, sizes: [2, 3, 20], route: 'upsample_linear1d' },
  { name: 'trilinear', shape: [1, 2, 3, 4, 5], spec: {}, scales: [1, 1, 2, 1.5, 0.8], route: 'upsample_trilinear3d' },
  { name: 'bicubic x2', shape: [1, 2, 6, 6], spec: { mode: 'cubic' }, scales: [1, 1, 2, 2], route: 'upsample_bicubic2d' },
  { name: 'bicubic shrink', shape: [1, 2, 9, 8], spec: { mode: 'cubic' }, sizes: [1, 2, 5, 3], route: 'upsample_bicubic2d' },
  { name: 'bicubic align_corners', shape: [1, 1, 5, 6], spec: { mode: 'cubic', transform: 'align_corners' }, sizes: [1, 1, 8, 11], route: 'upsample_bicubic2d' },
  { name: 'cubic a=-0.5', shape: [1, 1, 4, 4], spec: { mode: 'cubic', cubicA: -0.5 }, scales: [1, 1, 2, 2], route: 'gather' },
  { name: 'linear over channels', shape: [1, 4, 3, 3], spec: {}, sizes: [1, 8, 3, 3], route: 'gather' },
  { name: 'nearest x2 asymmetric floor', shape: [2, 3, 4, 5], spec: { mode: 'nearest', transform: 'asymmetric', nearest: 'floor' }, scales: [1, 1, 2, 2], route: 'upsample_nearest2d' },
  { name: 'nearest x2 on channels and rows', shape: [1, 2, 3, 4], spec: { mode: 'nearest', transform: 'asymmetric', nearest: 'floor' }, scales: [1, 2, 2, 1], route: 'broadcast' },
  { name: 'nearest x3 half_pixel', shape: [1, 2, 3, 4], spec: { mode: 'nearest' }, scales: [1, 1, 3, 3], route: 'upsample_nearest2d' },
  { name: 'nearest x2 round_prefer_ceil asymmetric', shape: [1, 1, 3, 3], spec: { mode: 'nearest', transform: 'asymmetric', nearest: 'round_prefer_ceil' }, scales: [1, 1, 2, 2], route: 'gather' },
  { name: 'nearest x2 then 1.5', shape: [1, 1, 4, 4], spec: { mode: 'nearest', transform: 'asymmetric', nearest: 'floor' }, scales: [1, 1, 2, 1.5], route: 'upsample_nearest2d' },
  { name: 'nearest half_pixel round_prefer_ceil x2 and x2.5', shape: [1, 1, 4, 4], spec: { mode: 'nearest', transform: 'half_pixel', nearest: 'round_prefer_ceil' }, scales: [1, 1, 2, 2.5], route: 'broadcast+gather' },
];

for (const c of cases) {
  test(`Resize ${c.name}: the ${c.route} path gives the exact path's values`, () => noLeaks(() => {
    const spec = { ...base, ...c.spec };
    const opts = { scales: c.scales, sizes: c.sizes };
    assert.equal(resizeRoute(c.shape, 'float32', spec, opts), c.route);
    dl.tidy(() => {
      const x = dl.randn(c.shape);
      const fast = resizeTensor(x, spec, opts);
      const exact = resizeTensor(x, spec, { ...opts, fast: false });
      assert.deepEqual([...fast.shape], [...exact.shape]);
      const want = c.sizes ?? c.shape.map((d, i) => Math.floor(d * c.scales![i]!));
      assert.deepEqual([...fast.shape], want);
      assertClose(fast, exact.dataSync() as Float32Array, { atol: 1e-5, rtol: 1e-5 });
    });
  }));
}

test('Resize: integer inputs interpolate in float and keep their dtype', () => noLeaks(() => dl.tidy(() => {
  const x = dl.tensor([[[[0, 10], [20, 30]]]], { dtype: 'int32' });
  const y = resizeTensor(x, base, { sizes: [1, 1, 3, 3], fast: true });
  assert.equal(y.dtype, 'int32');
  // half_pixel with scale 1.5 samples each axis at 0 (clamped), 0.5 and 1 (clamped).
  assert.deepEqual(Array.from(y.dataSync() as Int32Array), [0, 5, 10, 10, 15, 20, 20, 25, 30]);
})));

test('Resize: errors name the input and give the shapes', () => {
  dl.tidy(() => {
    const x = dl.zeros([1, 1, 2, 2]);
    assert.throws(() => resizeTensor(x, base, { scales: [1, 2] }), /'scales' has 2 values for a 4-D input \(shape \[1, 1, 2, 2\]\)/);
    assert.throws(() => resizeTensor(x, { ...base, transform: 'tf_crop_and_resize' }, { sizes: [1, 1, 3, 3] }), /tf_crop_and_resize needs 'roi' with 8 values/);
  });
});
