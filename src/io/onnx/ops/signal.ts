// Signal processing: the window functions, DFT, STFT and MelWeightMatrix (opset 17).
// ONNX holds complex values as a trailing dim of 2 (real, imaginary) and real signals as a
// trailing dim of 1; the transforms build libtorch complex tensors (view_as_complex), run its
// fft ops and come back with view_as_real. They compute in float64 whatever the input's type, as the
// reference does (numpy's fft): near-zero bins of a float32 transform miss its tolerance. Specs: https://onnx.ai/onnx/operators/ (onnx__<Op>.html).
import type { Tensor } from '../../../tensor/tensor.js';
import { tensor } from '../../../tensor/create.js';
import type { DType } from '../../../tensor/dtype.js';
import { dtypeOfOnnx, onnxTypeName } from '../proto.js';
import { defineOp, attrInt, type AttrValue } from './registry.js';
import { op, need, axis, cast, scalarOf } from './util.js';

function outputType(a: Record<string, AttrValue>): DType {
  const code = attrInt(a, 'output_datatype', 1);
  const d = dtypeOfOnnx(code);
  if (!d) throw new TypeError(`output_datatype ${onnxTypeName(code)} has no libtorch dtype`);
  return d;
}

/** A window of `size` values w(n, N), N = size when periodic (the default), size - 1 when symmetric. */
function windowOp(name: string, w: (n: number, N: number) => number): void {
  defineOp(name, {
    attributes: ['output_datatype', 'periodic'],
    run: ([s], a) => {
      const size = scalarOf(need([s], 0, 'size'));
      if (!Number.isInteger(size) || size < 0) throw new RangeError(`size must be a non-negative integer, got ${size}`);
      const N = attrInt(a, 'periodic', 1) === 1 ? size : size - 1;
      // A one-value symmetric window has N = 0: its value is 1, as torch's windows.
      const values = Float64Array.from({ length: size }, (_, n) => (N === 0 ? 1 : w(n, N)));
      return cast(tensor(values), outputType(a));
    },
  });
}
windowOp('HannWindow', (n, N) => Math.sin((Math.PI * n) / N) ** 2);
// alpha = 25/46, beta = 1 - alpha (the spec's, not the rounded 0.54 / 0.46).
windowOp('HammingWindow', (n, N) => 25 / 46 - (21 / 46) * Math.cos((2 * Math.PI * n) / N));
windowOp('BlackmanWindow', (n, N) => 0.42 - 0.5 * Math.cos((2 * Math.PI * n) / N) + 0.08 * Math.cos((4 * Math.PI * n) / N));

/** A [..., 1] real or [..., 2] complex ONNX signal as a float64 or complex128 tensor without the trailing dim. */
function toSignal(x: Tensor, what: string): Tensor {
  const last = x.shape[x.ndim - 1];
  const f = cast(x, 'float64');
  if (last === 1) return op('squeeze', 'dim', f, -1);
  if (last === 2) return op('view_as_complex', '', f.contiguous());
  throw new RangeError(`${what} must end in a dim of 1 (real) or 2 (complex), got shape [${x.shape.join(', ')}]`);
}

/** A complex libtorch tensor as ONNX's [..., 2], in `dtype`. */
function fromComplex(c: Tensor, dtype: DType): Tensor {
  return cast(op('view_as_real', '', c), dtype);
}

defineOp('DFT', {
  notes: 'real or complex input, forward, inverse and one-sided; computed in float64',
  // Opset 17: axis is an attribute (default 1); from 20 an input (default -2). The axis counts the
  // trailing real/imaginary dim, so it is the same index in the complex tensor.
  attributes: ['axis', 'inverse', 'onesided'],
  run: ([x, len, ax], a, ctx) => {
    const X = need([x], 0, 'input');
    const d = axis(ax ? scalarOf(ax) : attrInt(a, 'axis', ctx.opset >= 20 ? -2 : 1), X.ndim);
    if (d === X.ndim - 1) throw new RangeError(`axis ${d} is the real/imaginary dim of input shape [${X.shape.join(', ')}]`);
    const inverse = attrInt(a, 'inverse', 0) === 1;
    const onesided = attrInt(a, 'onesided', 0) === 1;
    const sig = toSignal(X, 'input');
    const size = X.shape[d]!;
    if (inverse && onesided) {
      // A one-sided spectrum back to a real signal: [..., 1].
      const n = len ? scalarOf(len) : 2 * (size - 1);
      return cast(op('unsqueeze', '', op('fft_irfft', '', sig, n, d, null), -1), X.dtype);
    }
    const n = len ? scalarOf(len) : size;
    let y: Tensor = op(inverse ? 'fft_ifft' : 'fft_fft', '', sig, n, d, null);
    if (onesided) y = op('narrow', '', y, d, 0, Math.floor(n / 2) + 1);
    return fromComplex(y, X.dtype);
  },
});

defineOp('STFT', {
  notes: 'the window, if given, must be frame_length long',
  // signal [batch, length, 1 | 2] -> [batch, frames, bins, 2], frames = 1 + (length - frame_length) / frame_step,
  // each frame multiplied by the window (all ones when absent) before its DFT.
  attributes: ['onesided'],
  run: ([x, step, win, len], a) => {
    const X = need([x], 0, 'signal');
    if (X.ndim !== 3) throw new RangeError(`signal must be [batch, length, 1 | 2], got shape [${X.shape.join(', ')}]`);
    const hop = scalarOf(need([x, step], 1, 'frame_step'));
    const frameLength = len ? scalarOf(len) : win ? win.shape[0]! : X.shape[1]!;
    if (win && (win.ndim !== 1 || win.shape[0] !== frameLength)) {
      throw new RangeError(`window has shape [${win.shape.join(', ')}], expected [${frameLength}] (frame_length)`);
    }
    if (frameLength > X.shape[1]!) throw new RangeError(`frame_length ${frameLength} is longer than the signal (shape [${X.shape.join(', ')}])`);
    const real = X.shape[2] === 1;
    // Frames along a new trailing dim: [batch, frames, frame_length] (complex: unfold before the real/imag dim).
    let frames: Tensor;
    if (real) frames = op('unfold', '', toSignal(X, 'signal'), 1, frameLength, hop);
    else {
      frames = op('view_as_complex', '', op('movedim', 'int', op('unfold', '', cast(X, 'float64'), 1, frameLength, hop), 2, -1).contiguous());
    }
    if (win) frames = op('mul', 'Tensor', frames, cast(win, 'float64'));
    let y: Tensor = op('fft_fft', '', frames, frameLength, -1, null);
    if (attrInt(a, 'onesided', 1) === 1) y = op('narrow', '', y, -1, 0, Math.floor(frameLength / 2) + 1);
    return fromComplex(y, X.dtype);
  },
});

defineOp('MelWeightMatrix', {
  // [dft_length / 2 + 1, num_mel_bins] triangular filters; the band edges as the reference computes
  // them (mel step over num_mel_bins + 2 points, edges in float32, bins floored), so the bins match.
  attributes: ['output_datatype'],
  run: (inputs, a) => {
    const [mels, dft, rate, low, high] = ['num_mel_bins', 'dft_length', 'sample_rate', 'lower_edge_hertz', 'upper_edge_hertz'].map((n, i) => scalarOf(need(inputs, i, n)));
    const f = Math.fround;
    const bins = Math.floor(dft! / 2) + 1;
    const lowMel = f(2595 * f(Math.log10(f(1 + f(low! / 700)))));
    const highMel = f(2595 * f(Math.log10(f(1 + f(high! / 700)))));
    const step = f(f(highMel - lowMel) / (mels! + 2));
    const edge = Array.from({ length: mels! + 2 }, (_, i) => {
      const hz = 700 * (10 ** ((i * step + lowMel) / 2595) - 1);
      return Math.floor(((dft! + 1) * hz) / rate!);
    });
    const out = new Float64Array(bins * mels!);
    for (let i = 0; i < mels!; i++) {
      const [lo, mid, hi] = [edge[i]!, edge[i + 1]!, edge[i + 2]!];
      if (lo < 0 || mid >= bins || hi > bins) throw new RangeError(`mel band ${i} spans DFT bins ${lo}..${hi}, outside 0..${bins - 1} (check sample_rate and the edge frequencies)`);
      if (mid === lo) out[mid * mels! + i] = 1;
      else for (let j = lo; j <= mid; j++) out[j * mels! + i] = (j - lo) / (mid - lo);
      for (let j = mid; j < hi; j++) out[j * mels! + i] = (hi - j) / (hi - mid);
    }
    return cast(tensor(out, { shape: [bins, mels!] }), outputType(a));
  },
});
