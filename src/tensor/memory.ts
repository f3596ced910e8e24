// Native memory is invisible to V8's garbage collector, so tensors are freed explicitly:
// `dispose()` / `using`, or a `tidy` scope that frees what it created except what it returns.
// A FinalizationRegistry frees what escapes both, but only when the event loop turns (never
// inside a synchronous loop), so it is a backstop, not a strategy.
import { AsyncLocalStorage } from 'node:async_hooks';
import { native, type Handle } from '../native/binding.js';

/** Anything that owns native memory. */
export interface Disposable {
  dispose(): void;
  readonly isDisposed: boolean;
}

/** A native object as memory.ts sees it: which scope, if any, will free it. */
export interface Tracked extends Disposable {
  scope: Scope | undefined;
  /** Whether the garbage-collection backstop knows it (set by memory.ts). */
  backstop: boolean;
  readonly handle: Handle;
}

export class Scope {
  readonly owned = new Set<Disposable>();
  constructor(readonly parent: Scope | undefined) {}
}

// AsyncLocalStorage makes scopes follow async functions: two interleaved async `tidy` calls
// each see their own scope.
const currentScope = new AsyncLocalStorage<Scope>();

let leakedByGc = 0;
const registry = new FinalizationRegistry<Handle>((handle) => {
  if (!native.isDisposed(handle)) {
    leakedByGc++;
    native.dispose(handle);
  }
});

// Registering with the FinalizationRegistry costs about as much as a small op itself, and
// most tensors are disposed soon after they are made (dispose(), tidy). Its callbacks only run
// when the event loop turns, so registration can wait until the current job ends (or every
// kBatch new tensors) without freeing anything later: then only the survivors are registered.
// The batch is small: its tensors survive young-generation collections while they wait, and
// copying them is what a large batch would cost.
const kBatch = 32;
const pending: (Tracked | undefined)[] = new Array(kBatch).fill(undefined);
let pendingCount = 0;
let flushQueued = false;

function flushPending(): void {
  flushQueued = false;
  for (let i = 0; i < pendingCount; i++) {
    const obj = pending[i]!;
    if (!obj.isDisposed) {
      registry.register(obj, obj.handle, obj);
      obj.backstop = true;
    }
    pending[i] = undefined;
  }
  pendingCount = 0;
}

/** Called by every new tensor: tracks it in the current scope and (soon) registers the GC backstop. */
export function track(obj: Tracked): void {
  pending[pendingCount] = obj;
  if (++pendingCount === kBatch) flushPending();
  else if (!flushQueued) {
    flushQueued = true;
    queueMicrotask(flushPending);
  }
  const scope = currentScope.getStore();
  obj.scope = scope;
  scope?.owned.add(obj);
}

/** Called by dispose(): the object no longer needs the backstop or its scope. */
export function untrack(obj: Tracked): void {
  if (obj.backstop) {
    registry.unregister(obj);
    obj.backstop = false;
  }
  if (obj.scope) {
    obj.scope.owned.delete(obj);
    obj.scope = undefined;
  }
}

/** Takes `obj` out of its scope so that the scope's end does not free it. Returns it. */
export function keep<T extends Disposable>(obj: T): T {
  const t = obj as unknown as Partial<Tracked>;
  t.scope?.owned.delete(obj);
  if (t.scope) t.scope = undefined;
  return obj;
}

/**
 * Containers of native objects (a TensorSequence) list what they hold under this key, so that
 * a tidy scope returning the container keeps its contents too.
 */
export const CONTENTS: unique symbol = Symbol('dlkit.contents');

function collect(value: unknown, into: Set<Disposable>, depth = 0): void {
  if (value === null || typeof value !== 'object' || depth > 8) return;
  if (typeof (value as Disposable).dispose === 'function' && 'isDisposed' in (value as object)) {
    into.add(value as Disposable);
    const contents = (value as { [CONTENTS]?: () => Iterable<unknown> })[CONTENTS];
    if (contents) for (const v of contents.call(value)) collect(v, into, depth + 1);
    return;
  }
  if (Array.isArray(value)) for (const v of value) collect(v, into, depth + 1);
  else if (value instanceof Map) for (const v of value.values()) collect(v, into, depth + 1);
  else if (Object.getPrototypeOf(value) === Object.prototype) for (const v of Object.values(value)) collect(v, into, depth + 1);
}

function closeScope(scope: Scope, result: unknown): void {
  const survivors = new Set<Disposable>();
  collect(result, survivors);
  for (const obj of scope.owned) {
    if (survivors.has(obj)) {
      (obj as Tracked).scope = scope.parent;
      scope.parent?.owned.add(obj);
    } else if (!obj.isDisposed) obj.dispose();
  }
  scope.owned.clear();
}

/**
 * Runs `fn` and frees every tensor it created except those it returns (found in the returned
 * value, arrays, Maps and plain objects). Works for async functions too: the scope closes when
 * the promise settles.
 */
export function tidy<T>(fn: () => T): T {
  const scope = new Scope(currentScope.getStore());
  let result: T;
  try {
    result = currentScope.run(scope, fn);
  } catch (err) {
    closeScope(scope, undefined);
    throw err;
  }
  if (result instanceof Promise) {
    return result.then(
      (value) => { closeScope(scope, value); return value; },
      (err) => { closeScope(scope, undefined); throw err; },
    ) as T;
  }
  closeScope(scope, result);
  return result;
}

/** Frees every tensor in `values` (arrays, Maps and plain objects are searched). */
export function dispose(values: unknown): void {
  const found = new Set<Disposable>();
  collect(values, found);
  for (const obj of found) if (!obj.isDisposed) obj.dispose();
}

export interface MemoryInfo {
  /** Tensor handles alive in native code. */
  liveTensors: number;
  /** Bytes of tensor memory in use, and kept by the caching allocator for reuse. */
  inUseBytes: number;
  cachedBytes: number;
  peakInUseBytes: number;
  /** Tensors the garbage collector had to free because nothing disposed them. */
  freedByGc: number;
}

export function memory(): MemoryInfo {
  const a = native.allocatorStats();
  return {
    liveTensors: native.liveTensorCount(),
    inUseBytes: a.inUseBytes,
    cachedBytes: a.cachedBytes,
    peakInUseBytes: a.peakInUseBytes,
    freedByGc: leakedByGc,
  };
}

/** Returns cached tensor memory to the operating system. Returns the bytes released. */
export function emptyCache(): number {
  return native.emptyCache();
}

/** Caps the memory the caching allocator keeps for reuse. */
export function setCacheLimit(bytes: number): void {
  if (!(bytes >= 0)) throw new RangeError(`setCacheLimit: expected bytes >= 0, got ${bytes}`);
  native.setCacheLimit(bytes);
}
