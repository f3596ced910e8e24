// Control flow: If, Loop, Scan, and SequenceMap (a body run per element). Their subgraphs are
// interpreted (subgraph.ts): ctx.graph(name) runs one on values and returns new values, reading
// the enclosing graphs' values itself. Specs: https://onnx.ai/onnx/operators/onnx__<Op>.html
import { Tensor } from '../../../tensor/tensor.js';
import { TensorSequence } from '../../../tensor/sequence.js';
import { tensor, zeros } from '../../../tensor/create.js';
import { describeValue, type OnnxValue } from '../values.js';
import { defineValueOp, attrInt, attrInts, type AttrValue, type OnnxGraph, type OpContext } from './registry.js';
import { op, axis, scalarOf, int64 } from './util.js';

function graphOf(ctx: OpContext, name: string): OnnxGraph {
  const g = ctx.graph?.(name);
  if (!g) throw new TypeError(`attribute '${name}' (a graph) is required`);
  return g;
}
function tensorOut(v: OnnxValue | undefined, what: string): Tensor {
  if (!(v instanceof Tensor)) throw new TypeError(`${what} must be a tensor, got ${describeValue(v)}`);
  return v;
}
const truth = (v: OnnxValue | undefined, what: string) => scalarOf(tensorOut(v, what)) !== 0;
const boolScalar = (b: boolean) => tensor([b]).reshape([]);
/** Scan outputs: the per-iteration tensors stacked along `ax` (an empty float tensor for none). */
const stacked = (list: Tensor[], ax = 0) => (list.length ? op<Tensor>('stack', '', list, axis(ax, list[0]!.ndim + 1)) : zeros([0]));

// If: runs then_branch or else_branch (no inputs; they read the enclosing values) and gives its outputs.
defineValueOp('If', {
  attributes: ['then_branch', 'else_branch'],
  run: ([cond], _a, ctx) => graphOf(ctx, truth(cond, "input 'cond'") ? 'then_branch' : 'else_branch').run([]),
});

// Loop(M, cond, v_initial...): the body takes (iteration, cond, carried...) and gives (cond,
// carried..., scan outputs...). M absent: no trip limit; cond absent: the body's cond is ignored.
// Outputs: the final carried values, then each scan output stacked along a new first axis.
defineValueOp('Loop', {
  attributes: ['body'],
  run: ([M, C, ...initial], _a, ctx) => {
    const body = graphOf(ctx, 'body');
    if (M === undefined && C === undefined) throw new RangeError('neither a trip count nor a condition is given: the loop would never end');
    const trips = M === undefined ? Infinity : scalarOf(tensorOut(M, "input 'M'"));
    let cond = C === undefined ? true : truth(C, "input 'cond'");
    const n = initial.length;
    const scans: Tensor[][] = Array.from({ length: Math.max(0, body.outputNames.length - 1 - n) }, () => []);
    let carried: (OnnxValue | undefined)[] = initial;
    const made = new Set<OnnxValue>(); // carried values made here, freed when replaced
    for (let i = 0; i < trips && cond; i++) {
      const iteration = int64([i], []);
      const condIn = boolScalar(cond);
      const outs = body.run([iteration, condIn, ...carried]);
      iteration.dispose();
      condIn.dispose();
      if (outs.length !== 1 + n + scans.length) throw new RangeError(`the body gave ${outs.length} outputs, expected ${1 + n + scans.length}`);
      if (C !== undefined) cond = truth(outs[0], "the body's output 'cond'");
      outs[0]!.dispose();
      for (const v of carried) if (v && made.has(v)) v.dispose();
      carried = outs.slice(1, 1 + n);
      for (const v of carried) made.add(v!);
      outs.slice(1 + n).forEach((v, k) => scans[k]!.push(tensorOut(v, `scan output ${k + 1}`)));
    }
    return [...(carried as OnnxValue[]), ...scans.map((list) => stacked(list))];
  },
});

/** Scan (opset 9+) on one set of states and scan inputs. */
function scan(body: OnnxGraph, states: Tensor[], xs: Tensor[], a: Record<string, AttrValue>, outCount: number): Tensor[] {
  const inAxes = (attrInts(a, 'scan_input_axes') ?? xs.map(() => 0)).map((v, i) => axis(v, xs[i]!.ndim, 'scan_input_axes'));
  const inDirs = attrInts(a, 'scan_input_directions') ?? xs.map(() => 0);
  const lengths = xs.map((x, i) => x.shape[inAxes[i]!]!);
  if (new Set(lengths).size > 1) throw new RangeError(`the scan inputs have different lengths along their scan axes: ${lengths.join(', ')}`);
  const steps = lengths[0] ?? 0;
  const k = outCount - states.length;
  const outDirs = attrInts(a, 'scan_output_directions') ?? Array(k).fill(0);
  const pieces: Tensor[][] = Array.from({ length: k }, () => []);
  let current: OnnxValue[] = states;
  const made = new Set<OnnxValue>();
  for (let t = 0; t < steps; t++) {
    const slices = xs.map((x, i) => op<Tensor>('select', 'int', x, inAxes[i]!, inDirs[i] ? steps - 1 - t : t));
    const outs = body.run([...current, ...slices]);
    slices.forEach((s) => s.dispose());
    if (outs.length !== outCount) throw new RangeError(`the body gave ${outs.length} outputs, expected ${outCount}`);
    for (const v of current) if (made.has(v)) v.dispose();
    current = outs.slice(0, states.length);
    for (const v of current) made.add(v);
    outs.slice(states.length).forEach((v, j) => pieces[j]!.push(tensorOut(v, `scan output ${j + 1}`)));
  }
  const outAxes = attrInts(a, 'scan_output_axes') ?? Array(k).fill(0);
  return [
    ...current.map((v, i) => tensorOut(v, `state ${i + 1}`)),
    ...pieces.map((list, j) => stacked(outDirs[j] ? [...list].reverse() : list, outAxes[j] ?? 0)),
  ];
}

// Scan: opset 9+ takes (states..., scan inputs...) with per-input axes and directions. Opset 8
// has a leading sequence_lens input and a batch axis 0 on everything (the scan axis is 1),
// and 'directions' for the scan inputs; each batch entry is scanned on its own here.
defineValueOp('Scan', {
  attributes: ['body', 'num_scan_inputs', 'scan_input_axes', 'scan_input_directions', 'scan_output_axes', 'scan_output_directions', 'directions'],
  check: (a, opset) => (a.num_scan_inputs === undefined ? "attribute 'num_scan_inputs' is required"
    : opset < 9 && (a.scan_input_axes || a.scan_output_axes) ? 'scan axes are opset 9 attributes' : null),
  run: (inputs, a, ctx) => {
    const body = graphOf(ctx, 'body');
    const m = attrInt(a, 'num_scan_inputs')!;
    if (ctx.opset >= 9) {
      const ts = inputs.map((v, i) => tensorOut(v, `input ${i + 1}`));
      return scan(body, ts.slice(0, ts.length - m), ts.slice(ts.length - m), a, ctx.numOutputs);
    }
    const [lens, ...rest] = inputs;
    const ts = rest.map((v, i) => tensorOut(v, `input ${i + 2}`));
    const batch = ts[0]?.shape[0] ?? 0;
    const steps = ts[ts.length - 1]?.shape[1] ?? 0;
    if (lens && Array.from(tensorOut(lens, "input 'sequence_lens'").dataSync() as ArrayLike<number>, Number).some((l) => l !== steps)) {
      throw new RangeError(`sequence_lens shorter than the scan inputs' ${steps} steps are not supported`);
    }
    const per = { ...a, scan_input_directions: attrInts(a, 'directions') ?? [] } as typeof a;
    delete per.directions;
    const results: Tensor[][] = [];
    for (let b = 0; b < batch; b++) {
      const slice = ts.map((t) => op<Tensor>('select', 'int', t, 0, b));
      results.push(scan(body, slice.slice(0, slice.length - m), slice.slice(slice.length - m), per, ctx.numOutputs));
    }
    return Array.from({ length: ctx.numOutputs }, (_, j) => op<Tensor>('stack', '', results.map((r) => r[j]!), 0));
  },
});

// SequenceMap: runs the body once per element of the input sequence; additional inputs are
// sequences (of the same length, taken element by element) or tensors (given whole). Each
// body output becomes a sequence.
defineValueOp('SequenceMap', {
  attributes: ['body'],
  run: (inputs, _a, ctx) => {
    const body = graphOf(ctx, 'body');
    const first = inputs[0];
    if (!(first instanceof TensorSequence)) throw new TypeError(`input 'input_sequence' must be a sequence, got ${describeValue(first)}`);
    const n = first.length;
    inputs.forEach((v, i) => { if (v instanceof TensorSequence && v.length !== n) throw new RangeError(`input ${i + 1} is a sequence of ${v.length}, the first of ${n}`); });
    const lists: Tensor[][] = body.outputNames.map(() => []);
    for (let i = 0; i < n; i++) {
      const outs = body.run(inputs.map((v) => (v instanceof TensorSequence ? v.at(i) : v)));
      outs.forEach((v, k) => lists[k]!.push(tensorOut(v, `body output ${k + 1}`)));
    }
    return lists.map((list) => new TensorSequence(list));
  },
});
