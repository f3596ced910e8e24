// Subsampling with zero channels added: the parameter-free shortcut of ResNet's option A (He et
// al. 2016, section 4.2), used where a residual block halves the size and doubles the channels:
// out = pad_channels(x[:, :, ::s, ::s]). PyTorch models write it as a lambda
// (F.pad(x[:, :, ::2, ::2], (0, 0, 0, 0, p, p))), which no file format can carry; as a layer it
// saves and loads.
import type { Tensor } from '../../tensor/tensor.js';
import { callOp } from '../../tensor/tensor.js';
import { Layer, checkOption, tuple, type LayerOptions, type Shape } from '../layer.js';
import { checked } from '../layer.js';

export interface SubsamplePad2dOptions extends LayerOptions {
  /** Keep every stride-th row and column, starting with the first (default 2). */
  stride?: number | readonly number[];
  /** Zero channels added [before, after] the input's channels (default [0, 0]). */
  padChannels?: number | readonly number[];
}

export class SubsamplePad2d extends Layer {
  readonly type = 'subsamplePad2d';
  readonly stride: number[];
  readonly padChannels: number[];

  constructor(o: SubsamplePad2dOptions = {}) {
    super(o);
    const what = `subsamplePad2d${o.name ? ` '${o.name}'` : ''}`;
    this.stride = tuple(o.stride ?? 2, 2, `${what}: option 'stride'`);
    this.padChannels = tuple(o.padChannels ?? 0, 2, `${what}: option 'padChannels'`);
    this.stride.forEach((v) => checkOption(what, 'stride', v, (x) => Number.isInteger(x) && x >= 1, 'positive integers'));
    this.padChannels.forEach((v) => checkOption(what, 'padChannels', v, (x) => Number.isInteger(x) && x >= 0, 'whole numbers [before, after]'));
  }

  outputShape([input]: Shape[]): Shape {
    this.expectRank(input!, 3, '(C, H, W)');
    const [c, h, w] = input as [number, number, number];
    return [c + this.padChannels[0]! + this.padChannels[1]!, Math.ceil(h / this.stride[0]!), Math.ceil(w / this.stride[1]!)];
  }

  forward([x]: Tensor[]): Tensor {
    const [sh, sw] = this.stride as [number, number];
    const rows = sh === 1 ? x! : x!.slice(2, 0, undefined, sh);
    const sub = sw === 1 ? rows : rows.slice(3, 0, undefined, sw);
    try {
      // constant_pad_nd pads the last dimension first: (W before, W after, H …, C before, C after).
      const out = callOp<Tensor>('constant_pad_nd', '', sub, [0, 0, 0, 0, this.padChannels[0]!, this.padChannels[1]!], 0);
      // Keep a channels-last input's layout, so the addition after it stays in one layout.
      if (x!.ndim === 4 && !x!.isContiguous() && x!.isContiguous('channelsLast') && !out.isContiguous('channelsLast')) {
        const cl = out.contiguous('channelsLast');
        out.dispose();
        return cl;
      }
      return out;
    } finally {
      if (rows !== x) rows.dispose();
      if (sub !== rows) sub.dispose();
    }
  }

  protected options(): Record<string, unknown> {
    return { stride: this.stride, padChannels: this.padChannels };
  }
}

export const subsamplePad2d = (o: SubsamplePad2dOptions = {}): SubsamplePad2d => checked(new SubsamplePad2d(o), o);
