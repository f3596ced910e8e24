// Layer-graph editing (what MATLAB's replaceLayer, removeLayers, addLayers, connectLayers and
// disconnectLayers do), on a plain description of a network: its layers, connections and
// outputs. `Network.edit(fn)` hands one of these to `fn`, then rebuilds the network from the
// result in one step, so a sequence of edits may pass through states that are not a valid
// network (a layer removed, its consumers not yet reconnected) and only the end is checked.
import { Layer } from './layer.js';
import type { Connection } from './network.js';

/** Where new layers go: after a layer (or one output 'name/outN'), or before one (or one input 'name/inN'). */
export type InsertPosition = { after: string } | { before: string };

const quote = (names: Iterable<string>, max = 12): string => {
  const all = [...names];
  const shown = all.slice(0, max).map((n) => `'${n}'`).join(', ');
  return all.length > max ? `${shown}, … (${all.length} in all)` : shown;
};

export class NetworkEditor {
  readonly #layers: Layer[];
  #connections: [string, string][];
  #outputs: string[];
  readonly #byName = new Map<string, Layer>();
  /** Layers this edit took out of the network; the network disposes them once the edit succeeds. */
  readonly removed = new Set<Layer>();
  /** Layers this edit brought in (they get parameters when the network is rebuilt). */
  readonly added = new Set<Layer>();
  /** True once setOutputs was called: the network's outputs are then exactly those. */
  outputsSet = false;
  /** Class names to set; undefined leaves the network's as they are. */
  classes: readonly string[] | null | undefined;

  readonly #ownedElsewhere: (layer: Layer) => boolean;

  /** `ownedElsewhere`: true for a layer another network holds (a layer's weights are one network's). */
  constructor(layers: readonly Layer[], connections: readonly Connection[], outputs: readonly string[], ownedElsewhere: (layer: Layer) => boolean = () => false) {
    this.#ownedElsewhere = ownedElsewhere;
    this.#layers = [...layers];
    for (const l of layers) this.#byName.set(l.name, l);
    this.#connections = connections.map(([a, b]) => [a, b]);
    this.#outputs = [...outputs];
  }

  /** The description the network is rebuilt from. */
  result(): { layers: Layer[]; connections: [string, string][]; outputs: string[] } {
    return { layers: [...this.#layers], connections: this.#connections.map(([a, b]) => [a, b]), outputs: [...this.#outputs] };
  }

  get layerNames(): string[] {
    return this.#layers.map((l) => l.name);
  }

  layer(name: string): Layer {
    const l = this.#byName.get(name);
    if (!l) throw new RangeError(`there is no layer named '${name}'; layers: ${quote(this.layerNames)}`);
    return l;
  }

  get connections(): [string, string][] {
    return this.#connections.map(([a, b]) => [a, b]);
  }

  get outputs(): string[] {
    return [...this.#outputs];
  }

  /** The network's output layers (or 'name/outN'); empty: the one layer whose output nothing uses. */
  setOutputs(outputs: readonly string[]): this {
    for (const o of outputs) this.layer(this.#source(o).layer);
    this.#outputs = [...outputs];
    this.outputsSet = true;
    return this;
  }

  /**
   * Adds layers: a chain (each feeds the next) whose first layer takes its inputs from `from`
   * (one source per input slot; none leaves it unconnected, for `connect` later). Returns the
   * last layer's name.
   */
  add(layers: Layer | readonly Layer[], { from = [] }: { from?: string | readonly string[] } = {}): string {
    const chain = this.#adopt(layers, 'add');
    const sources = typeof from === 'string' ? [from] : [...from];
    for (const s of sources) this.#connections.push([this.#checkSource(s, 'add'), chain[0]!.name]);
    return chain[chain.length - 1]!.name;
  }

  /**
   * Removes layers and their connections. `bridge` (default true): a removed layer with one
   * input and one output is bridged, its source now feeding its consumers (removing a dropout
   * layer from a chain keeps the chain). Without a bridge its consumers are left unconnected,
   * to be connected before the edit ends.
   */
  remove(names: string | readonly string[], { bridge = true }: { bridge?: boolean } = {}): this {
    for (const name of typeof names === 'string' ? [names] : names) {
      const layer = this.layer(name);
      const into = this.#connections.filter(([, to]) => this.#target(to).layer === name);
      const outOf = this.#connections.filter(([from]) => this.#source(from).layer === name);
      this.#connections = this.#connections.filter((c) => !into.includes(c) && !outOf.includes(c));
      const bridged = bridge && into.length === 1 && layer.numInputs === 1 && layer.numOutputs === 1 ? into[0]![0] : null;
      if (bridged) for (const [, to] of outOf) this.#connections.push([bridged, to]);
      this.#outputs = this.#outputs.flatMap((o) => (this.#source(o).layer === name ? (bridged ? [bridged] : []) : [o]));
      this.#drop(layer);
    }
    return this;
  }

  /**
   * Puts `layers` (a chain) in the place of layer `name`: the first takes its inputs (slot by
   * slot), the last feeds its consumers (output by output), and it becomes an output where
   * `name` was one.
   */
  replace(name: string, layers: Layer | readonly Layer[]): this {
    const old = this.layer(name);
    const given = Array.isArray(layers) ? layers : [layers as Layer];
    if (given.length === 0) throw new RangeError(`replace '${name}': give at least one layer (remove() takes layers out)`);
    const first = given[0]!;
    const last = given[given.length - 1]!;
    const into = this.#connections.filter(([, to]) => this.#target(to).layer === name);
    if (old.isInput !== first.isInput) {
      throw new RangeError(`replace '${name}': ${old.isInput ? `'${name}' is an input layer; replace it with an input layer, got ${first.type}` : `an input layer (${first.type}) cannot take the place of '${name}' (${old.type}), which has inputs`}`);
    }
    if (!first.isInput && into.length > 1 && first.numInputs !== old.numInputs) {
      throw new RangeError(`replace '${name}': it takes ${old.numInputs} inputs, the new layer ${first.type} takes ${first.numInputs}`);
    }
    const usedOutputs = this.#connections.filter(([from]) => this.#source(from).layer === name).map(([from]) => this.#source(from).out);
    const most = Math.max(0, ...usedOutputs) + 1;
    if (most > last.numOutputs) throw new RangeError(`replace '${name}': its output ${most} is used, the new layer ${last.type} has ${last.numOutputs} output${last.numOutputs > 1 ? 's' : ''}`);
    // Taken out first, so a new layer may reuse the old name.
    this.#byName.delete(name);
    const at = this.#layers.indexOf(old);
    this.#layers.splice(at, 1);
    this.removed.add(old);
    this.#adopt(given, 'replace', at);
    const rename = (spec: string, end: 'from' | 'to'): string => {
      if (end === 'to') {
        const t = this.#target(spec, name);
        return t.layer !== name ? spec : t.slot ? `${first.name}/${t.slot}` : first.name;
      }
      const s = this.#source(spec, name);
      return s.layer !== name ? spec : s.explicit ? `${last.name}/out${s.out + 1}` : last.name;
    };
    this.#connections = this.#connections.map(([from, to]) => [rename(from, 'from'), rename(to, 'to')]);
    this.#outputs = this.#outputs.map((o) => rename(o, 'from'));
    return this;
  }

  /**
   * Inserts `layers` (a chain) after a layer — between it and everything it feeds, or only
   * what 'name/outN' feeds — or before one: between it and its source ('name/inN' for one
   * input of a multi-input layer).
   */
  insert(layers: Layer | readonly Layer[], position: InsertPosition): this {
    if ('after' in position) {
      const src = this.#checkSource(position.after, 'insert');
      const s = this.#source(src);
      const feeds = this.#connections.filter(([from]) => {
        const f = this.#source(from);
        return f.layer === s.layer && f.out === s.out;
      });
      const wasOutput = this.#outputs.filter((o) => { const r = this.#source(o); return r.layer === s.layer && r.out === s.out; });
      const chain = this.#adopt(layers, 'insert', this.#layers.indexOf(this.layer(s.layer)) + 1);
      const first = chain[0]!, last = chain[chain.length - 1]!;
      this.#connections = this.#connections.filter((c) => !feeds.includes(c));
      this.#connections.push([src, first.name]);
      for (const [, to] of feeds) this.#connections.push([last.name, to]);
      this.#outputs = this.#outputs.map((o) => (wasOutput.includes(o) ? last.name : o));
      return this;
    }
    const t = this.#target(position.before);
    const target = this.layer(t.layer);
    if (target.isInput) throw new RangeError(`insert before '${t.layer}': it is an input layer; nothing comes before it`);
    let into = this.#connections.filter(([, to]) => { const x = this.#target(to); return x.layer === t.layer && (!t.slot || x.slot === t.slot); });
    if (!t.slot && target.numInputs > 1) {
      throw new RangeError(`insert before '${t.layer}': it takes ${target.numInputs} inputs; name one as '${t.layer}/in1' … '${t.layer}/in${target.numInputs}'`);
    }
    if (into.length === 0) throw new RangeError(`insert before '${position.before}': nothing is connected there`);
    into = into.slice(0, 1);
    const chain = this.#adopt(layers, 'insert', this.#layers.indexOf(target));
    const first = chain[0]!, last = chain[chain.length - 1]!;
    const [[from, to]] = into as [[string, string]];
    this.#connections = this.#connections.filter((c) => c !== into[0]);
    this.#connections.push([from, first.name], [last.name, to]);
    return this;
  }

  /** Connects an output ('name' or 'name/outN') to an input ('name' or 'name/inN'). */
  connect(from: string, to: string): this {
    this.#checkSource(from, 'connect');
    const t = this.#target(to);
    const target = this.layer(t.layer);
    if (target.isInput) throw new RangeError(`connect ${from} -> ${to}: '${t.layer}' is an input layer and takes no inputs`);
    this.#connections.push([from, to]);
    return this;
  }

  /** Removes the connection from `from` to `to` (each as connect takes them). */
  disconnect(from: string, to: string): this {
    const s = this.#source(from), t = this.#target(to);
    const i = this.#connections.findIndex(([a, b]) => {
      const x = this.#source(a), y = this.#target(b);
      return x.layer === s.layer && x.out === s.out && y.layer === t.layer && (!t.slot || y.slot === t.slot);
    });
    if (i < 0) {
      const near = this.#connections.filter(([a, b]) => this.#source(a).layer === s.layer || this.#target(b).layer === t.layer).map(([a, b]) => `${a} -> ${b}`);
      throw new RangeError(`disconnect ${from} -> ${to}: there is no such connection${near.length ? `; connections of these layers: ${near.join(', ')}` : ''}`);
    }
    this.#connections.splice(i, 1);
    return this;
  }

  /** Names unnamed layers, checks names are free, and places the chain in the layer list (connected in series). */
  #adopt(layers: Layer | readonly Layer[], what: string, at = this.#layers.length): Layer[] {
    const chain = Array.isArray(layers) ? [...layers] : [layers as Layer];
    if (chain.length === 0) throw new RangeError(`${what}: give at least one layer`);
    for (const l of chain) {
      if (!(l instanceof Layer)) throw new TypeError(`${what}: layers must be Layer objects, got ${JSON.stringify(l)}`);
      if (this.#layers.includes(l) || this.removed.has(l)) throw new RangeError(`${what}: layer '${l.name}' is already part of this network`);
      if (this.#ownedElsewhere(l)) throw new RangeError(`${what}: layer '${l.name}' (${l.type}) already belongs to another network: a layer and its weights belong to one network (make a new layer, or copy that network with clone())`);
    }
    for (const l of chain) {
      if (!l.name) {
        let n = 0;
        do n++; while (this.#byName.has(`${l.type}_${n}`) || chain.some((c) => c !== l && c.name === `${l.type}_${n}`));
        l.name = `${l.type}_${n}`;
      }
      if (this.#byName.has(l.name)) throw new RangeError(`${what}: the network already has a layer named '${l.name}'; give the new layer another name`);
      this.#byName.set(l.name, l);
      this.added.add(l);
    }
    chain.slice(1).forEach((l, i) => {
      if (l.isInput) throw new RangeError(`${what}: '${l.name}' is an input layer; it can only start a chain`);
      this.#connections.push([chain[i]!.name, l.name]);
    });
    this.#layers.splice(at, 0, ...chain);
    return chain;
  }

  #drop(layer: Layer): void {
    this.#layers.splice(this.#layers.indexOf(layer), 1);
    this.#byName.delete(layer.name);
    if (this.added.has(layer)) this.added.delete(layer);
    this.removed.add(layer);
  }

  #checkSource(spec: string, what: string): string {
    const s = this.#source(spec);
    const layer = this.#byName.get(s.layer);
    if (!layer) throw new RangeError(`${what}: there is no layer named '${spec}'; layers: ${quote(this.layerNames)}`);
    if (s.out >= layer.numOutputs) throw new RangeError(`${what}: layer '${s.layer}' has outputs out1..out${layer.numOutputs}, got '${spec}'`);
    return spec;
  }

  /** 'name' or 'name/outN' (only when no layer has the whole name), as Network reads a connection's start. */
  #source(spec: string, also?: string): { layer: string; out: number; explicit: boolean } {
    const known = (n: string) => this.#byName.has(n) || n === also;
    if (known(spec)) return { layer: spec, out: 0, explicit: false };
    const m = /^(.*)\/out(\d+)$/.exec(spec);
    return m && known(m[1]!) ? { layer: m[1]!, out: Number(m[2]) - 1, explicit: true } : { layer: spec, out: 0, explicit: false };
  }

  /** 'name' or 'name/inN', as Network reads a connection's end. */
  #target(spec: string, also?: string): { layer: string; slot?: string } {
    const known = (n: string) => this.#byName.has(n) || n === also;
    if (known(spec)) return { layer: spec };
    const m = /^(.*)\/(in\d+)$/.exec(spec);
    return m && known(m[1]!) ? { layer: m[1]!, slot: m[2]! } : { layer: spec };
  }
}
