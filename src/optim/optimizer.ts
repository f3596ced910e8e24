// The optimizer base class: parameter groups, per-parameter state, the step loop, checkpoints.
// Solvers (sgdm.ts, adam.ts, rmsprop.ts) only validate their options and call their update
// function, which is pure math over tensors (torch.optim's `_single_tensor_*` functions).
import { Tensor, callOp } from '../tensor/tensor.js';
import { tidy, keep } from '../tensor/memory.js';
import { noGrad } from '../tensor/autograd.js';
import { zerosLike } from '../tensor/create.js';
import { isFloating } from '../tensor/dtype.js';
import { checkNumber, show } from './validate.js';

/** Parameters that share learn-rate and regularization factors (one layer, or all biases). */
export interface ParamGroupSpec {
  params: readonly Tensor[];
  /** Multiplies the base learn rate for these parameters (0 freezes them). Default 1. */
  lrFactor?: number;
  /** Multiplies the solver's weight decay (l2Regularization or AdamW's weightDecay). Default 1. */
  l2Factor?: number;
  /** Shown in error messages and kept in the state dict. */
  name?: string;
}

/** A plain parameter list (one group) or parameter groups. */
export type ParamsSpec = readonly Tensor[] | readonly ParamGroupSpec[];

export interface ParamGroup {
  readonly params: readonly Tensor[];
  readonly lrFactor: number;
  readonly l2Factor: number;
  readonly name: string | undefined;
}

/**
 * A checkpoint of an optimizer. `tensors` are copies owned by the caller (dispose them when
 * written), named `group.param.state` as PyTorch's state names (`0.3.momentum_buffer`);
 * `state` is JSON: solver name, learn rate, options, groups with parameter shapes and steps.
 */
export interface OptimizerStateDict {
  tensors: Record<string, Tensor>;
  state: Record<string, unknown>;
}

/** What a solver's update of one parameter is told besides the tensors. */
export interface UpdateContext {
  /** Learn rate for this parameter: base learn rate × its group's lrFactor. */
  lr: number;
  /** Its group's l2Factor (the solver multiplies its weight decay by it). */
  l2Factor: number;
  /** How many updates this parameter has had, this one included (1 on the first). */
  step: number;
}

interface ParamState {
  step: number;
  tensors: Map<string, Tensor>;
}

/** The state tensor `name`, created as zeros like `param` (dtype, device, layout) on first use. */
export function stateSlot(state: Map<string, Tensor>, name: string, param: Tensor): Tensor {
  let t = state.get(name);
  if (t === undefined) {
    t = zerosLike(param);
    state.set(name, t);
  }
  return t;
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
const groupName = (g: { name?: string | undefined }, gi: number) => (g.name !== undefined ? `group ${gi} ('${g.name}')` : `group ${gi}`);

function normalizeGroups(where: string, params: ParamsSpec): ParamGroup[] {
  if (!Array.isArray(params)) {
    throw new TypeError(`${where}: params must be an array of tensors or of parameter groups ({ params, lrFactor?, l2Factor?, name? }), got ${show(params)}`);
  }
  const list = params as readonly unknown[];
  const specs: ParamGroupSpec[] = list.every((p) => p instanceof Tensor)
    ? [{ params: list as Tensor[] }]
    : (list as ParamGroupSpec[]);
  const seen = new Map<Tensor, string>();
  let total = 0;
  const groups = specs.map((spec, gi): ParamGroup => {
    if (spec === null || typeof spec !== 'object' || spec instanceof Tensor || !Array.isArray(spec.params)) {
      throw new TypeError(`${where}: params[${gi}] must be a parameter group { params: Tensor[], lrFactor?, l2Factor?, name? } (or pass a plain Tensor[]), got ${show(spec)}`);
    }
    const unknownKeys = Object.keys(spec).filter((k) => !['params', 'lrFactor', 'l2Factor', 'name'].includes(k));
    if (unknownKeys.length) {
      throw new TypeError(`${where}: ${groupName(spec, gi)}: unknown key${unknownKeys.length > 1 ? 's' : ''} ${unknownKeys.map((k) => `'${k}'`).join(', ')}; expected params, lrFactor, l2Factor, name`);
    }
    if (spec.name !== undefined && typeof spec.name !== 'string') throw new TypeError(`${where}: group ${gi}: name must be a string, got ${show(spec.name)}`);
    const label = groupName(spec, gi);
    const lrFactor = checkNumber(where, `${label} lrFactor`, spec.lrFactor ?? 1, { min: 0 });
    const l2Factor = checkNumber(where, `${label} l2Factor`, spec.l2Factor ?? 1, { min: 0 });
    spec.params.forEach((p, pi) => {
      const what = `${label} parameter ${pi}`;
      if (!(p instanceof Tensor)) throw new TypeError(`${where}: ${what} must be a Tensor, got ${show(p)}`);
      if (p.isDisposed) throw new Error(`${where}: ${what} was disposed`);
      if (!isFloating(p.dtype)) throw new TypeError(`${where}: ${what} must have a floating-point dtype, got ${p.dtype}`);
      if (!callOp<boolean>('is_leaf', '', p)) {
        throw new Error(`${where}: ${what} is not a leaf tensor (it was computed from other tensors); optimize the tensor it came from, or detach() it and set requiresGrad_()`);
      }
      const other = seen.get(p);
      if (other !== undefined) throw new Error(`${where}: ${what} is also ${other}; a parameter may appear only once`);
      seen.set(p, what);
    });
    total += spec.params.length;
    return Object.freeze({ params: Object.freeze([...spec.params]), lrFactor, l2Factor, name: spec.name });
  });
  if (total === 0) throw new Error(`${where}: got no parameters to optimize`);
  return groups;
}

/**
 * Base class of the solvers. It owns the parameter groups and the per-parameter state tensors;
 * `step()` applies the solver's update to every parameter that requires grad and has one.
 */
export abstract class Optimizer<O extends object = object> {
  /** The solver's name, as in error messages and state dicts: 'SGDM', 'Adam', 'AdamW', 'RMSProp'. */
  readonly name: string;
  /** The validated options with defaults filled in (without the learn rate: see `learnRate`). */
  readonly options: Readonly<O>;
  readonly groups: readonly ParamGroup[];
  #learnRate: number;
  #state: ParamState[][];
  #disposed = false;

  protected constructor(name: string, params: ParamsSpec, learnRate: number, options: O) {
    this.name = name;
    this.groups = Object.freeze(normalizeGroups(name, params));
    this.options = Object.freeze({ ...options });
    this.#learnRate = checkNumber(name, 'learnRate', learnRate, { min: 0 });
    this.#state = this.groups.map((g) => g.params.map(() => ({ step: 0, tensors: new Map() })));
  }

  /**
   * Updates one parameter in place. Runs inside noGrad and a tidy scope; state tensors it stores
   * in `state` (PyTorch's names) are kept, everything else it creates is freed.
   */
  protected abstract update(param: Tensor, grad: Tensor, state: Map<string, Tensor>, ctx: UpdateContext): void;

  /** The state tensors each parameter has after its first update, with these options. */
  protected abstract stateNames(): readonly string[];

  /** The base learn rate; each group uses it times its lrFactor. Schedules set it every iteration. */
  get learnRate(): number {
    return this.#learnRate;
  }
  set learnRate(value: number) {
    this.#learnRate = checkNumber(this.name, 'learnRate', value, { min: 0 });
  }

  /** Every parameter, group by group. */
  get params(): Tensor[] {
    return this.groups.flatMap((g) => [...g.params]);
  }

  get isDisposed(): boolean {
    return this.#disposed;
  }

  #alive(what: string): void {
    if (this.#disposed) throw new Error(`${this.name}.${what}: this optimizer was disposed`);
  }

  /**
   * One update of every parameter that requires grad and has a gradient (frozen parameters and
   * parameters without a gradient are skipped and their state is left alone).
   */
  step(): void {
    this.#alive('step');
    noGrad(() => {
      this.groups.forEach((group, gi) => {
        const lr = this.#learnRate * group.lrFactor;
        group.params.forEach((p, pi) => {
          if (p.isDisposed) throw new Error(`${this.name}.step: ${groupName(group, gi)} parameter ${pi} was disposed`);
          if (!p.requiresGrad) return;
          const grad = p.grad;
          if (grad === null) return;
          const state = this.#state[gi]![pi]!;
          const step = state.step + 1;
          tidy(() => {
            this.update(p, grad, state.tensors, { lr, l2Factor: group.l2Factor, step });
            for (const t of state.tensors.values()) keep(t);
          });
          state.step = step;
        });
      });
    });
  }

  /** Drops every parameter's gradient (PyTorch's zero_grad(set_to_none=True)). */
  zeroGrad(): void {
    for (const g of this.groups) for (const p of g.params) if (!p.isDisposed) p.zeroGrad();
  }

  /** A checkpoint: copies of the state tensors (the caller disposes them) and JSON state. */
  stateDict(): OptimizerStateDict {
    this.#alive('stateDict');
    const tensors: Record<string, Tensor> = {};
    noGrad(() => {
      this.#state.forEach((params, gi) => params.forEach((s, pi) => {
        for (const [name, t] of s.tensors) tensors[`${gi}.${pi}.${name}`] = t.clone();
      }));
    });
    const state: Record<string, unknown> = {
      optimizer: this.name,
      learnRate: this.#learnRate,
      options: { ...this.options },
      groups: this.groups.map((g, gi) => ({
        ...(g.name !== undefined ? { name: g.name } : {}),
        lrFactor: g.lrFactor,
        l2Factor: g.l2Factor,
        params: g.params.map((p, pi) => ({ shape: [...p.shape], step: this.#state[gi]![pi]!.step })),
      })),
    };
    return { tensors, state };
  }

  /**
   * Restores a checkpoint from `stateDict()`: the state tensors (copied; the caller keeps
   * ownership of `dict.tensors`), each parameter's step count and the base learn rate. The
   * options and group factors stay those given to the constructor (they are configuration, not
   * progress). Everything is checked before anything changes; all problems are reported at once.
   */
  loadStateDict(dict: OptimizerStateDict): void {
    this.#alive('loadStateDict');
    const where = `${this.name}.loadStateDict`;
    if (dict === null || typeof dict !== 'object' || typeof dict.tensors !== 'object' || typeof dict.state !== 'object' || dict.tensors === null || dict.state === null) {
      throw new TypeError(`${where}: expected { tensors, state } as returned by stateDict(), got ${show(dict)}`);
    }
    const s = dict.state;
    if (s.optimizer !== this.name) throw new Error(`${where}: the state dict was saved by ${show(s.optimizer)}, not ${this.name}`);
    const learnRate = checkNumber(where, 'state.learnRate', s.learnRate, { min: 0 });
    const savedGroups = s.groups;
    if (!Array.isArray(savedGroups) || savedGroups.length !== this.groups.length) {
      throw new Error(`${where}: the state dict has ${Array.isArray(savedGroups) ? savedGroups.length : 'no'} parameter groups, this optimizer has ${this.groups.length}`);
    }
    const problems: string[] = [];
    const steps: number[][] = this.groups.map((g, gi) => {
      const saved = savedGroups[gi] as { params?: unknown } | null;
      const label = groupName(g, gi);
      const sp = saved && Array.isArray(saved.params) ? (saved.params as { shape?: unknown; step?: unknown }[]) : null;
      if (!sp || sp.length !== g.params.length) {
        problems.push(`${label} has ${g.params.length} parameters here but ${sp ? sp.length : 'none'} in the state dict`);
        return g.params.map(() => 0);
      }
      return g.params.map((p, pi) => {
        const entry = sp[pi]!;
        const shape = Array.isArray(entry?.shape) ? (entry.shape as number[]) : null;
        if (!shape || shape.length !== p.ndim || shape.some((d, i) => d !== p.shape[i])) {
          problems.push(`${label} parameter ${pi} has shape [${p.shape.join(', ')}] but [${shape?.join(', ') ?? '?'}] in the state dict`);
        }
        const step = entry?.step;
        if (typeof step !== 'number' || !Number.isInteger(step) || step < 0) {
          problems.push(`${label} parameter ${pi}: step must be an integer >= 0, got ${show(step)}`);
          return 0;
        }
        return step;
      });
    });
    const names = this.stateNames();
    const found = new Map<string, Tensor>();
    for (const [key, t] of Object.entries(dict.tensors)) {
      const m = /^(\d+)\.(\d+)\.(\w+)$/.exec(key);
      const gi = m ? Number(m[1]) : -1;
      const pi = m ? Number(m[2]) : -1;
      const p = this.groups[gi]?.params[pi];
      if (!m || p === undefined) { problems.push(`'${key}' names no parameter (expected 'group.param.state')`); continue; }
      if (!names.includes(m[3]!)) {
        problems.push(`'${key}' is not state of ${this.name} with these options (expected ${names.length ? names.join(', ') : 'no state tensors'})`);
        continue;
      }
      if (!(t instanceof Tensor) || t.isDisposed) { problems.push(`'${key}' is ${t instanceof Tensor ? 'a disposed tensor' : show(t)}, not a tensor`); continue; }
      if (t.ndim !== p.ndim || t.shape.some((d, i) => d !== p.shape[i])) {
        problems.push(`'${key}' has shape [${t.shape.join(', ')}], expected [${p.shape.join(', ')}] (the shape of ${groupName(this.groups[gi]!, gi)} parameter ${pi})`);
        continue;
      }
      found.set(key, t);
    }
    this.groups.forEach((g, gi) => g.params.forEach((_, pi) => {
      if ((steps[gi]![pi] ?? 0) === 0) return;
      for (const n of names) if (!(`${gi}.${pi}.${n}` in dict.tensors)) problems.push(`'${gi}.${pi}.${n}' is missing (the parameter has had ${steps[gi]![pi]} steps)`);
    }));
    if (problems.length > 0) {
      throw new Error(`${where}: the state dict does not fit this optimizer:\n  ${problems.join('\n  ')}`);
    }
    const next: ParamState[][] = this.groups.map((g, gi) => g.params.map((_, pi) => ({ step: steps[gi]![pi]!, tensors: new Map() })));
    noGrad(() => {
      for (const [key, src] of found) {
        const [gi, pi, name] = key.split('.') as [string, string, string];
        const p = this.groups[Number(gi)]!.params[Number(pi)]!;
        const t = keep(zerosLike(p)); // p's dtype, device and memory format
        t.copy_(src);
        next[Number(gi)]![Number(pi)]!.tensors.set(name, t);
      }
    });
    this.#freeState();
    this.#state = next;
    this.#learnRate = learnRate;
  }

  #freeState(): void {
    for (const params of this.#state) for (const s of params) {
      for (const t of s.tensors.values()) t.dispose();
      s.tensors.clear();
    }
  }

  /** Frees every state tensor (not the parameters). The optimizer cannot be used afterwards. */
  dispose(): void {
    if (this.#disposed) return;
    this.#freeState();
    this.#disposed = true;
  }

  [Symbol.dispose](): void {
    this.dispose();
  }

  /** The state tensors of one parameter (PyTorch names), and its step count; for inspection. */
  paramState(param: Tensor): { step: number; tensors: ReadonlyMap<string, Tensor> } | undefined {
    for (let gi = 0; gi < this.groups.length; gi++) {
      const pi = this.groups[gi]!.params.indexOf(param);
      if (pi >= 0) {
        const s = this.#state[gi]![pi]!;
        return { step: s.step, tensors: s.tensors };
      }
    }
    return undefined;
  }

  toString(): string {
    const opts = Object.entries(this.options).map(([k, v]) => `${k}: ${v}`).join(', ');
    const count = this.groups.reduce((n, g) => n + g.params.length, 0);
    const groups = this.groups.map((g, gi) => {
      const factors = [g.lrFactor !== 1 ? `lrFactor ${g.lrFactor}` : '', g.l2Factor !== 1 ? `l2Factor ${g.l2Factor}` : ''].filter(Boolean).join(', ');
      return `  ${groupName(g, gi)}: ${plural(g.params.length, 'parameter')}${factors ? `, ${factors}` : ''}`;
    });
    return `${this.name}(learnRate: ${this.#learnRate}${opts ? `, ${opts}` : ''}; ${plural(count, 'parameter')})\n${groups.join('\n')}`;
  }
}
