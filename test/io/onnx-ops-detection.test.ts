// RoiAlign beyond the conformance data (which has sampling_ratio 2 and avg only): the adaptive
// sampling grid (a different grid per ROI) against torchvision, max pooling on sample points
// that land on pixels, and chunking that doesn't change the result.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as dl from '../../src/index.js';
import { assertClose, noLeaks } from '../helpers.js';
import { opFixtures, fixtureTensor, runOp } from './onnx-ops-fixtures.js';

const cases = opFixtures('roialign/');

test('the RoiAlign fixtures are there', () => assert.equal(cases.length, 2));

for (const c of cases) {
  test(`${c.name}: matches torchvision.ops.roi_align`, () => noLeaks(() => dl.tidy(() => {
    const [y] = runOp('RoiAlign', c.inputs.map(fixtureTensor), c.attrs, { opset: 16 });
    assertClose(y!, c.outputs[0]!.data, { atol: 1e-5, rtol: 1e-4, shape: c.outputs[0]!.shape });
  })));
}

test('RoiAlign max: with samples on pixel centres, each bin is the largest of its pixels', () => noLeaks(() => dl.tidy(() => {
  // An 8x8 ROI in 2x2 bins, 2x2 samples per bin at offsets 1 and 3: pixels (1|3|5|7, 1|3|5|7).
  const x = dl.rand([1, 2, 9, 9]).add(0.1);
  const rois = dl.tensor([[0, 0, 8, 8]]);
  const [y] = runOp('RoiAlign', [x, rois, dl.tensor(BigInt64Array.from([0n]), { shape: [1] })], {
    mode: 'max', output_height: 2, output_width: 2, sampling_ratio: 2, coordinate_transformation_mode: 'output_half_pixel',
  }, { opset: 16 });
  const X = x.dataSync() as Float32Array;
  const want: number[] = [];
  for (let ch = 0; ch < 2; ch++) {
    for (let by = 0; by < 2; by++) {
      for (let bx = 0; bx < 2; bx++) {
        let m = -Infinity;
        for (const py of [1, 3]) for (const px of [1, 3]) m = Math.max(m, X[ch * 81 + (by * 4 + py) * 9 + bx * 4 + px]!);
        want.push(m);
      }
    }
  }
  assertClose(y!, want, { atol: 1e-6, rtol: 1e-6, shape: [1, 2, 2, 2] });
})));

test('RoiAlign: many ROIs (several gather chunks) give what they give one at a time', () => noLeaks(() => dl.tidy(() => {
  const x = dl.randn([2, 64, 20, 20]);
  const n = 700;
  const r = dl.rand([n, 4]).mul(19);
  const rois = dl.cat([r.slice(1, 0, 2).minimum(r.slice(1, 2, 4)), r.slice(1, 0, 2).maximum(r.slice(1, 2, 4))], 1);
  const idx = dl.tensor(BigInt64Array.from({ length: n }, (_, i) => BigInt(i % 2)), { shape: [n] });
  const attrs = { output_height: 7, output_width: 7, sampling_ratio: 2, spatial_scale: 1 };
  const [all] = runOp('RoiAlign', [x, rois, idx], attrs, { opset: 16 });
  assert.deepEqual([...all!.shape], [n, 64, 7, 7]);
  for (const i of [0, 345, n - 1]) {
    const [one] = runOp('RoiAlign', [x, rois.slice(0, i, i + 1), idx.slice(0, i, i + 1)], attrs, { opset: 16 });
    assertClose(all!.slice(0, i, i + 1), one!.dataSync() as Float32Array, { atol: 1e-6, rtol: 1e-6 });
  }
})));
