// Recurrent ops: RNN, GRU and LSTM. Specs: https://onnx.ai/onnx/operators/onnx__RNN.html,
// onnx__GRU.html, onnx__LSTM.html.
//
// Per direction, the input projection X·Wᵀ + Wb (+ the recurrent biases that sit outside the
// gates' products) is one matmul over the whole sequence; the loop over time steps then adds
// H·Rᵀ and applies the gates. Gate orders in W, R and B: LSTM i, o, f, c; GRU z, r, h; peepholes
// P: i, o, f. `clip` bounds every gate's pre-activation. sequence_lens: a batch entry stops at its
// length (its state is held, its Y rows are zeros); the reverse direction starts at its last valid
// step. layout 1 (opset 14) puts the batch first in X, initial_h/c, Y, Y_h and Y_c.
import type { Tensor } from '../../../tensor/tensor.js';
import { tensor } from '../../../tensor/create.js';
import { dtypeCode } from '../../../tensor/dtype.js';
import { defineOp, attrInt, attrFloat, attrString, type AttrValue } from './registry.js';
import { op, need, ints } from './util.js';

type Act = (x: Tensor) => Tensor;

/** The activation functions the spec lists, with their alpha/beta defaults (onnxruntime's). */
const ACTIVATIONS: Record<string, { alpha?: number; beta?: number; make: (alpha: number, beta: number) => Act }> = {
  relu: { make: () => (x) => x.relu() },
  tanh: { make: () => (x) => x.tanh() },
  sigmoid: { make: () => (x) => x.sigmoid() },
  affine: { alpha: 1, beta: 0, make: (a, b) => (x) => x.mul(a).add(b) },
  leakyrelu: { alpha: 0.01, make: (a) => (x) => op('leaky_relu', '', x, { float: a }) },
  thresholdedrelu: { alpha: 1, make: (a) => (x) => op('threshold', '', x, { float: a }, 0) },
  scaledtanh: { alpha: 1, beta: 1, make: (a, b) => (x) => x.mul(b).tanh().mul(a) },
  hardsigmoid: { alpha: 0.2, beta: 0.5, make: (a, b) => (x) => x.mul(a).add(b).clamp(0, 1) },
  elu: { alpha: 1, make: (a) => (x) => op('elu', '', x, { float: a }, 1, 1) },
  softsign: { make: () => (x) => x.div(x.abs().add(1)) },
  softplus: { make: () => (x) => op('softplus', '', x, 1, 20) },
};

const NAMES: Record<string, string> = { relu: 'Relu', tanh: 'Tanh', sigmoid: 'Sigmoid', affine: 'Affine', leakyrelu: 'LeakyRelu', thresholdedrelu: 'ThresholdedRelu', scaledtanh: 'ScaledTanh', hardsigmoid: 'HardSigmoid', elu: 'Elu', softsign: 'Softsign', softplus: 'Softplus' };

interface Family {
  gates: number;
  /** Activations per direction and their defaults. */
  defaults: string[];
}
const FAMILIES: Record<'RNN' | 'GRU' | 'LSTM', Family> = {
  RNN: { gates: 1, defaults: ['Tanh'] },
  GRU: { gates: 3, defaults: ['Sigmoid', 'Tanh'] },
  LSTM: { gates: 4, defaults: ['Sigmoid', 'Tanh', 'Tanh'] },
};

const directionsOf = (a: Record<string, AttrValue>) => (attrString(a, 'direction', 'forward') === 'bidirectional' ? 2 : 1);

/** The activations of each direction: the file's list (alpha and beta taken in order by the functions that use them) or the defaults. */
function activationsOf(a: Record<string, AttrValue>, fam: Family): Act[][] {
  const dirs = directionsOf(a);
  let names = (a.activations as string[] | undefined) ?? [];
  if (names.length === 0) names = Array(dirs).fill(fam.defaults).flat();
  else if (names.length === fam.defaults.length && dirs === 2) names = [...names, ...names];
  if (names.length !== fam.defaults.length * dirs) {
    throw new RangeError(`'activations' has ${names.length} functions, expected ${fam.defaults.length * dirs} (${fam.defaults.length} per direction)`);
  }
  const alphas = [...((a.activation_alpha as number[] | undefined) ?? [])];
  const betas = [...((a.activation_beta as number[] | undefined) ?? [])];
  const acts = names.map((n) => {
    const spec = ACTIVATIONS[n.toLowerCase()]!;
    const alpha = spec.alpha !== undefined ? alphas.shift() ?? spec.alpha : 0;
    const beta = spec.beta !== undefined ? betas.shift() ?? spec.beta : 0;
    return spec.make(alpha, beta);
  });
  const k = fam.defaults.length;
  return Array.from({ length: dirs }, (_, d) => acts.slice(d * k, (d + 1) * k));
}

function checkAttrs(a: Record<string, AttrValue>, fam: Family): string | null {
  const dir = attrString(a, 'direction', 'forward');
  if (!['forward', 'reverse', 'bidirectional'].includes(dir)) return `direction '${dir}' is not forward, reverse or bidirectional`;
  for (const n of (a.activations as string[] | undefined) ?? []) {
    if (!(n.toLowerCase() in ACTIVATIONS)) return `activation '${n}' is not one of ${Object.values(NAMES).join(', ')}`;
  }
  const layout = attrInt(a, 'layout', 0);
  if (layout !== 0 && layout !== 1) return `layout must be 0 or 1, got ${layout}`;
  if (fam.gates !== 4 && attrInt(a, 'input_forget', 0) !== 0) return 'input_forget is an LSTM attribute';
  return null;
}

interface Prepared {
  /** [seq, batch, input] */
  x: Tensor;
  seq: number;
  batch: number;
  hidden: number;
  dirs: number;
  /** Per batch entry: 1 where step t is inside its sequence, as [seq, batch, 1] (undefined: all valid). */
  valid?: Tensor;
  layout: number;
}

function prepare(inputs: (Tensor | undefined)[], a: Record<string, AttrValue>, fam: Family, name: string): Prepared {
  const layout = attrInt(a, 'layout', 0);
  const X0 = need(inputs, 0, 'X');
  const W = need(inputs, 1, 'W');
  const R = need(inputs, 2, 'R');
  if (X0.ndim !== 3) throw new RangeError(`'X' must be 3-D (${layout ? '[batch, seq, input]' : '[seq, batch, input]'}), got [${X0.shape.join(', ')}]`);
  const x = layout === 1 ? op<Tensor>('transpose', 'int', X0, 0, 1) : X0;
  const [seq, batch, inSize] = x.shape as [number, number, number];
  const dirs = directionsOf(a);
  const hidden = attrInt(a, 'hidden_size') ?? R.shape[2]!;
  const g = fam.gates;
  const expect = (t: Tensor, what: string, shape: number[]) => {
    if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
      throw new RangeError(`${name} '${what}' must be [${shape.join(', ')}], got [${t.shape.join(', ')}]`);
    }
  };
  expect(W, 'W', [dirs, g * hidden, inSize]);
  expect(R, 'R', [dirs, g * hidden, hidden]);
  if (inputs[3]) expect(inputs[3], 'B', [dirs, 2 * g * hidden]);
  let valid: Tensor | undefined;
  const lens = inputs[4];
  if (lens && lens.size > 0) {
    const L = ints(lens, 'sequence_lens');
    if (L.length !== batch) throw new RangeError(`'sequence_lens' has ${L.length} values for a batch of ${batch}`);
    if (L.some((l) => l < seq)) {
      const m = new Float64Array(seq * batch);
      for (let t = 0; t < seq; t++) for (let b = 0; b < batch; b++) m[t * batch + b] = t < L[b]! ? 1 : 0;
      valid = tensor(m, { shape: [seq, batch, 1], dtype: x.dtype });
      if (x.device !== 'cpu') valid = valid.to({ device: x.device });
    }
  }
  return { x, seq, batch, hidden, dirs, valid, layout };
}

/** An initial state input as [dirs, batch, hidden] (zeros when omitted). */
function initialState(t: Tensor | undefined, p: Prepared, what: string): Tensor {
  if (!t) return op('zeros', '', [p.dirs, p.batch, p.hidden], dtypeCode(p.x.dtype), null, p.x.device, null);
  const s = p.layout === 1 ? op<Tensor>('transpose', 'int', t, 0, 1) : t;
  if (s.ndim !== 3 || s.shape[0] !== p.dirs || s.shape[1] !== p.batch || s.shape[2] !== p.hidden) {
    throw new RangeError(`'${what}' must be [${p.layout ? [p.batch, p.dirs, p.hidden] : [p.dirs, p.batch, p.hidden]}], got [${t.shape.join(', ')}]`);
  }
  return s;
}

/** The time steps in the order a direction visits them. */
function stepsOf(p: Prepared, reverse: boolean): number[] {
  const ts = Array.from({ length: p.seq }, (_, t) => t);
  return reverse ? ts.reverse() : ts;
}

const clipOf = (a: Record<string, AttrValue>): ((x: Tensor) => Tensor) => {
  const c = attrFloat(a, 'clip');
  return c === undefined ? (x) => x : (x) => x.clamp(-c, c);
};

/** Holds the old state where step t is past a batch entry's length; zeroes its Y row there. */
function masked(p: Prepared, t: number, next: Tensor, prev: Tensor): { state: Tensor; y: Tensor } {
  if (!p.valid) return { state: next, y: next };
  const m = p.valid.select(0, t);
  return { state: op('where', 'self', m.bool(), next, prev), y: next.mul(m) };
}

/** Y [seq, dirs, batch, hidden] and the final states, laid out for `layout`. */
function outputs(p: Prepared, ys: Tensor[][], finals: Tensor[][], numOutputs: number): Tensor[] {
  // ys[d][t]: [batch, hidden]
  const perDir = ys.map((steps) => op<Tensor>('stack', '', steps, 0)); // [seq, batch, hidden]
  let Y: Tensor = op('stack', '', perDir, 1); // [seq, dirs, batch, hidden]
  const states = finals.map((f) => op<Tensor>('stack', '', f, 0)); // [dirs, batch, hidden]
  let out = states;
  if (p.layout === 1) {
    Y = op('permute', '', Y, [2, 0, 1, 3]);
    out = states.map((s) => op<Tensor>('transpose', 'int', s, 0, 1));
  }
  return [Y.contiguous(), ...out.map((s) => s.contiguous())].slice(0, Math.max(numOutputs, 1));
}

/** X·Wᵀ + bias over the whole sequence for direction d: [seq, batch, gates * hidden]. */
function project(p: Prepared, W: Tensor, d: number, bias: Tensor | undefined): Tensor {
  const xw = op<Tensor>('matmul', '', p.x, op('transpose', 'int', W.select(0, d), 0, 1));
  return bias ? xw.add(bias) : xw;
}

defineOp('RNN', {
  attributes: ['activation_alpha', 'activation_beta', 'activations', 'clip', 'direction', 'hidden_size', 'layout'],
  check: (a) => checkAttrs(a, FAMILIES.RNN),
  run: (inputs, a, ctx) => {
    const p = prepare(inputs, a, FAMILIES.RNN, 'RNN');
    const [, W, R, B] = inputs;
    const acts = activationsOf(a, FAMILIES.RNN);
    const clip = clipOf(a);
    const h0 = initialState(inputs[5], p, 'initial_h');
    const dirReverse = attrString(a, 'direction', 'forward') === 'reverse';
    const ys: Tensor[][] = [], finals: Tensor[][] = [[]];
    for (let d = 0; d < p.dirs; d++) {
      const b = B ? op<Tensor>('add', 'Tensor', ...B.select(0, d).chunk(2, 0), 1) : undefined;
      const xw = project(p, W!, d, b);
      const rT = op<Tensor>('transpose', 'int', R!.select(0, d), 0, 1);
      let h = h0.select(0, d);
      const y: Tensor[] = Array(p.seq);
      for (const t of stepsOf(p, dirReverse || d === 1)) {
        const next = acts[d]![0]!(clip(xw.select(0, t).add(h.matmul(rT))));
        const m = masked(p, t, next, h);
        h = m.state; y[t] = m.y;
      }
      ys.push(y); finals[0]!.push(h);
    }
    return outputs(p, ys, finals, ctx.numOutputs);
  },
});

defineOp('GRU', {
  // linear_before_reset 0: h̃ = g(Xt·Whᵀ + (rt ⊙ Ht-1)·Rhᵀ + Rbh + Wbh), so Rbh joins the input
  // projection; 1: h̃ = g(Xt·Whᵀ + rt ⊙ (Ht-1·Rhᵀ + Rbh) + Wbh).
  attributes: ['activation_alpha', 'activation_beta', 'activations', 'clip', 'direction', 'hidden_size', 'layout', 'linear_before_reset'],
  check: (a) => checkAttrs(a, FAMILIES.GRU),
  run: (inputs, a, ctx) => {
    const p = prepare(inputs, a, FAMILIES.GRU, 'GRU');
    const [, W, R, B] = inputs;
    const acts = activationsOf(a, FAMILIES.GRU);
    const clip = clipOf(a);
    const lbr = attrInt(a, 'linear_before_reset', 0) !== 0;
    const h0 = initialState(inputs[5], p, 'initial_h');
    const H = p.hidden;
    const dirReverse = attrString(a, 'direction', 'forward') === 'reverse';
    const ys: Tensor[][] = [], finals: Tensor[][] = [[]];
    for (let d = 0; d < p.dirs; d++) {
      let inBias: Tensor | undefined, rbh: Tensor | undefined;
      if (B) {
        const [wb, rb] = B.select(0, d).chunk(2, 0) as [Tensor, Tensor];
        if (lbr) {
          inBias = wb.add(op('cat', '', [rb.slice(0, 0, 2 * H), op('zeros', '', [H], dtypeCode(rb.dtype), null, rb.device, null)], 0));
          rbh = rb.slice(0, 2 * H, 3 * H);
        } else inBias = wb.add(rb);
      }
      const xw = project(p, W!, d, inBias);
      const Rd = R!.select(0, d);
      const rzT = op<Tensor>('transpose', 'int', Rd.slice(0, 0, 2 * H), 0, 1);
      const rhT = op<Tensor>('transpose', 'int', Rd.slice(0, 2 * H, 3 * H), 0, 1);
      const [f, g] = acts[d] as [Act, Act];
      let h = h0.select(0, d);
      const y: Tensor[] = Array(p.seq);
      for (const t of stepsOf(p, dirReverse || d === 1)) {
        const xt = xw.select(0, t);
        const zr = xt.slice(1, 0, 2 * H).add(h.matmul(rzT));
        const z = f(clip(zr.slice(1, 0, H)));
        const r = f(clip(zr.slice(1, H, 2 * H)));
        let hh: Tensor;
        if (lbr) {
          const hr = rbh ? h.matmul(rhT).add(rbh) : h.matmul(rhT);
          hh = g(clip(xt.slice(1, 2 * H, 3 * H).add(r.mul(hr))));
        } else {
          hh = g(clip(xt.slice(1, 2 * H, 3 * H).add(r.mul(h).matmul(rhT))));
        }
        // Ht = (1 - z) ⊙ h̃ + z ⊙ Ht-1 = h̃ + z ⊙ (Ht-1 - h̃)
        const next = hh.add(z.mul(h.sub(hh)));
        const m = masked(p, t, next, h);
        h = m.state; y[t] = m.y;
      }
      ys.push(y); finals[0]!.push(h);
    }
    return outputs(p, ys, finals, ctx.numOutputs);
  },
});

defineOp('LSTM', {
  // input_forget 1 couples the gates: ft = 1 - it.
  attributes: ['activation_alpha', 'activation_beta', 'activations', 'clip', 'direction', 'hidden_size', 'input_forget', 'layout'],
  check: (a) => checkAttrs(a, FAMILIES.LSTM),
  run: (inputs, a, ctx) => {
    const p = prepare(inputs, a, FAMILIES.LSTM, 'LSTM');
    const [, W, R, B] = inputs;
    const P = inputs[7];
    const acts = activationsOf(a, FAMILIES.LSTM);
    const clip = clipOf(a);
    const coupled = attrInt(a, 'input_forget', 0) !== 0;
    const h0 = initialState(inputs[5], p, 'initial_h');
    const c0 = initialState(inputs[6], p, 'initial_c');
    if (P && (P.ndim !== 2 || P.shape[0] !== p.dirs || P.shape[1] !== 3 * p.hidden)) {
      throw new RangeError(`LSTM 'P' must be [${p.dirs}, ${3 * p.hidden}], got [${P.shape.join(', ')}]`);
    }
    const H = p.hidden;
    const dirReverse = attrString(a, 'direction', 'forward') === 'reverse';
    const ys: Tensor[][] = [], finals: Tensor[][] = [[], []];
    for (let d = 0; d < p.dirs; d++) {
      const b = B ? op<Tensor>('add', 'Tensor', ...B.select(0, d).chunk(2, 0), 1) : undefined;
      const xw = project(p, W!, d, b);
      const rT = op<Tensor>('transpose', 'int', R!.select(0, d), 0, 1);
      const [pi, po, pf] = P ? (P.select(0, d).chunk(3, 0) as [Tensor, Tensor, Tensor]) : [];
      const [f, g, hAct] = acts[d] as [Act, Act, Act];
      let h = h0.select(0, d);
      let c = c0.select(0, d);
      const y: Tensor[] = Array(p.seq);
      for (const t of stepsOf(p, dirReverse || d === 1)) {
        const gates = xw.select(0, t).add(h.matmul(rT));
        const gi = gates.slice(1, 0, H), go = gates.slice(1, H, 2 * H), gf = gates.slice(1, 2 * H, 3 * H), gc = gates.slice(1, 3 * H, 4 * H);
        const i = f(clip(pi ? gi.add(pi.mul(c)) : gi));
        const fg = coupled ? i.neg().add(1) : f(clip(pf ? gf.add(pf.mul(c)) : gf));
        const cNew = fg.mul(c).add(i.mul(g(clip(gc))));
        const o = f(clip(po ? go.add(po.mul(cNew)) : go));
        const hNew = o.mul(hAct(cNew));
        const mh = masked(p, t, hNew, h);
        const mc = masked(p, t, cNew, c);
        h = mh.state; c = mc.state; y[t] = mh.y;
      }
      ys.push(y); finals[0]!.push(h); finals[1]!.push(c);
    }
    return outputs(p, ys, finals, ctx.numOutputs);
  },
});
