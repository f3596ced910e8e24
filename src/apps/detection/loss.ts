// The detector's loss on the dense targets of targets.ts (TTFNet's): the penalty-reduced focal
// loss on the heatmap (CornerNet's variant: alpha 2, beta 4), normalized by the number of
// objects, plus the GIoU loss of the boxes regressed at every weighted cell, normalized by the
// weights' sum. GIoU rather than L1 on sides: it is scale-invariant, so small and large boxes
// learn at the same pace, and it still has a gradient when a predicted box misses its target.
import { callOp, type Tensor } from '../../tensor/tensor.js';
import { arange } from '../../tensor/create.js';
import { tidy } from '../../tensor/memory.js';
import { REGRESSION_CHANNELS } from './centernet.js';
import { TARGET_EXTRA_CHANNELS } from './targets.js';

/** The regression outputs are distances to the box's sides in units of this many input pixels (TTFNet's 16), after a ReLU. */
export const DISTANCE_UNIT = 16;

export interface DetectorLossOptions {
  /** Weight of the box (GIoU) loss against the heatmap loss (default 5, TTFNet's). */
  boxWeight?: number;
}

export interface DetectorLossParts {
  heatmap: Tensor;
  box: Tensor;
  total: Tensor;
}

/**
 * Predicted boxes at every cell, [N, 4, h, w] as x1, y1, x2, y2 in input pixels: each cell's
 * centre minus / plus the distances the network regresses (ReLU, times DISTANCE_UNIT).
 */
export function predictedBoxes(regression: Tensor, stride: number): Tensor {
  return tidy(() => {
    const [, , h, w] = regression.shape as [number, number, number, number];
    const d = regression.relu().mul(DISTANCE_UNIT);
    const gx = arange(0, w, 1, { dtype: 'float32', device: regression.device }).add(0.5).mul(stride).reshape([1, 1, w]);
    const gy = arange(0, h, 1, { dtype: 'float32', device: regression.device }).add(0.5).mul(stride).reshape([1, h, 1]);
    const x1 = gx.sub(d.select(1, 0));
    const y1 = gy.sub(d.select(1, 1));
    const x2 = gx.add(d.select(1, 2));
    const y2 = gy.add(d.select(1, 3));
    return callOp<Tensor>('stack', '', [x1, y1, x2, y2], 1);
  });
}

/** The loss and its parts. `output` [N, C+4, h, w] (heatmap logits, distances); `targets` [N, C+5, h, w]. */
export function detectorLossParts(output: Tensor, targets: Tensor, classes: number, stride: number, { boxWeight = 5 }: DetectorLossOptions = {}): DetectorLossParts {
  const want = classes + REGRESSION_CHANNELS;
  if (output.ndim !== 4 || output.shape[1] !== want) {
    throw new RangeError(`detector loss: the network's output must be [N, ${want}, h, w] for ${classes} classes, got [${output.shape.join(', ')}]`);
  }
  const expected = [output.shape[0], classes + TARGET_EXTRA_CHANNELS, output.shape[2], output.shape[3]];
  if (targets.shape.join() !== expected.join()) {
    throw new RangeError(`detector loss: targets must be [${expected.join(', ')}] to match the output [${output.shape.join(', ')}], got [${targets.shape.join(', ')}]`);
  }
  return tidy(() => {
    const logits = output.slice(1, 0, classes);
    const heat = targets.slice(1, 0, classes);
    const positive = heat.eq(1).float();
    const objects = positive.sum().clamp(1);
    const p = logits.sigmoid();
    const logP = callOp<Tensor>('log_sigmoid', '', logits);
    const logNotP = callOp<Tensor>('log_sigmoid', '', logits.neg());
    const pos = logP.mul(p.neg().add(1).square()).mul(positive).sum();
    const neg = logNotP.mul(p.square()).mul(heat.neg().add(1).pow(4)).mul(positive.neg().add(1)).sum();
    const heatmap = pos.add(neg).neg().div(objects);

    const weight = targets.select(1, classes + 4);
    const pred = predictedBoxes(output.slice(1, classes, classes + 4), stride);
    const t = targets.slice(1, classes, classes + 4);
    const [px1, py1, px2, py2] = [0, 1, 2, 3].map((i) => pred.select(1, i));
    const [tx1, ty1, tx2, ty2] = [0, 1, 2, 3].map((i) => t.select(1, i));
    const iw = px2!.minimum(tx2!).sub(px1!.maximum(tx1!)).clamp(0);
    const ih = py2!.minimum(ty2!).sub(py1!.maximum(ty1!)).clamp(0);
    const inter = iw.mul(ih);
    const union = px2!.sub(px1!).mul(py2!.sub(py1!)).add(tx2!.sub(tx1!).mul(ty2!.sub(ty1!))).sub(inter).clamp(1e-6);
    const enclose = px2!.maximum(tx2!).sub(px1!.minimum(tx1!)).mul(py2!.maximum(ty2!).sub(py1!.minimum(ty1!))).clamp(1e-6);
    const giou = inter.div(union).sub(enclose.sub(union).div(enclose));
    const box = giou.neg().add(1).mul(weight).sum().div(weight.sum().add(1e-4));
    const total = heatmap.add(box.mul(boxWeight));
    return { heatmap, box, total };
  });
}

/** The training loss for `trainNetwork`'s `lossFunction`. */
export function detectorLoss(classes: number, stride: number, options: DetectorLossOptions = {}): (output: Tensor, targets: Tensor) => Tensor {
  return (output, targets) => {
    const parts = detectorLossParts(output, targets, classes, stride, options);
    parts.heatmap.dispose();
    parts.box.dispose();
    return parts.total;
  };
}
