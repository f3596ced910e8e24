// The native addon's surface, typed. Only handles, shapes, numbers and buffers cross here.
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

/** An opaque handle to a libtorch tensor (a BigInt token into the addon's handle table; see native/handle.h). */
export type Handle = bigint & { readonly __handle: unique symbol };

export interface AllocatorStats {
  caching: boolean;
  inUseBytes: number;
  cachedBytes: number;
  peakInUseBytes: number;
  cacheLimitBytes: number;
  hits: number;
  misses: number;
}

/** An opaque handle to a TorchScript module (a Node-API external). */
export type ModuleHandle = object & { readonly __module: unique symbol };

/** A TorchScript method's result: a tensor, or tuples/lists (arrays) and str-keyed dicts of them. */
export type JitValue = Handle | JitValue[] | { [key: string]: JitValue };

export interface NativeBinding {
  fromBuffer(data: ArrayBufferView, shape: readonly number[], scalarType: number): Handle;
  toBuffer(h: Handle): ArrayBuffer;
  toBufferAsync(h: Handle): Promise<ArrayBuffer>;
  dispose(h: Handle): void;
  isDisposed(h: Handle): boolean;
  meta(h: Handle): [number[], number, string, boolean];
  strides(h: Handle): number[];
  isContiguous(h: Handle, memoryFormat: number): boolean;
  setRequiresGrad(h: Handle, on: boolean): void;
  grad(h: Handle, cached?: Handle | null): Handle | null;
  clearGrad(h: Handle): void;
  backward(h: Handle, grad: Handle | null, retainGraph?: boolean, createGraph?: boolean): void;
  setGradEnabled(on: boolean): boolean;
  isGradEnabled(): boolean;
  /** Turns CPU autocast on/off (and sets its dtype code); returns the previous [enabled, dtype code]. */
  setAutocast(on: boolean, scalarType?: number): [boolean, number];
  manualSeed(seed: number): void;
  setNumThreads(n: number): void;
  getNumThreads(): number;
  liveTensorCount(): number;
  cudaAvailable(): boolean;
  buildInfo(): { config: string; parallel: string };
  opLookup(name: string, overload?: string): number;
  opSchema(id: number): string;
  opArgNames(id: number): string[];
  call(id: number, ...args: unknown[]): unknown;
  allocatorStats(): AllocatorStats;
  emptyCache(): number;
  setCacheLimit(bytes: number): void;
  /** Loads a TorchScript archive; reads the listed extra files (names under the archive's extra/). */
  jitLoad(file: string, extraFiles?: readonly string[], device?: string): { module: ModuleHandle; extraFiles: Record<string, string> };
  jitLoadBuffer(bytes: Uint8Array, extraFiles?: readonly string[], device?: string): { module: ModuleHandle; extraFiles: Record<string, string> };
  jitFree(m: ModuleHandle): void;
  jitLiveModuleCount(): number;
  jitTrain(m: ModuleHandle, on: boolean): void;
  jitIsTraining(m: ModuleHandle): boolean;
  jitTo(m: ModuleHandle, device: string): void;
  /** [name, handle] pairs in PyTorch's state_dict order; the tensors share the module's storage. */
  jitStateDict(m: ModuleHandle): [string, Handle][];
  jitParameterNames(m: ModuleHandle): string[];
  /** [name, schema] of every method. */
  jitMethods(m: ModuleHandle): [string, string][];
  /** Runs a method without autograd. */
  jitRun(m: ModuleHandle, method: string, inputs: Handle[]): JitValue;
}

function findAddon(): string {
  // dist/src/native/binding.js -> project root is three levels up; src/native when run from source.
  const here = path.dirname(fileURLToPath(import.meta.url));
  for (const up of ['../../..', '../..']) {
    const candidate = path.resolve(here, up, 'build', 'Release', 'dlkit.node');
    if (existsSync(candidate)) return candidate;
  }
  throw new Error('dlkit native addon not built: run `npm run setup` (it installs libtorch and builds build/Release/dlkit.node)');
}

// OpenMP threads that spin while waiting collapse when another process wants the same cores
// (measured on 2 cores with other work running: the reference CNN step fell from ~2,300 to
// ~280 img/s spinning, ~900-1,500 with passive waiting). libgomp reads this when libtorch loads,
// so it is set before the addon is required; a user's own setting wins.
if (process.env.OMP_WAIT_POLICY === undefined && process.env.GOMP_SPINCOUNT === undefined) {
  process.env.OMP_WAIT_POLICY = 'PASSIVE';
}
// Debian's libtorch links the pthread build of OpenBLAS, whose own pool (one spinning thread
// per core, not governed by at::set_num_threads) takes the second core from libtorch's OpenMP
// worker after every matrix multiply. One OpenBLAS thread: reference CNN step 2,997 -> 3,873
// img/s quiet, 1,738 -> 2,120 with another busy process (bench/README.md).
if (process.env.OPENBLAS_NUM_THREADS === undefined) process.env.OPENBLAS_NUM_THREADS = '1';

const require = createRequire(import.meta.url);
export const native: NativeBinding = require(findAddon());
