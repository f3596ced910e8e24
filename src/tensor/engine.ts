// Engine settings: threads, seeds, devices.
import os from 'node:os';
import { native } from '../native/binding.js';

/**
 * libtorch defaults to one intra-op thread on this kind of machine; dlkit uses every core
 * unless DLKIT_NUM_THREADS says otherwise.
 */
function defaultThreads(): number {
  const env = process.env.DLKIT_NUM_THREADS;
  if (env !== undefined && env !== '') {
    const n = Number(env);
    if (!Number.isInteger(n) || n < 1) throw new RangeError(`DLKIT_NUM_THREADS must be a whole number >= 1, got '${env}'`);
    return n;
  }
  return os.availableParallelism();
}
native.setNumThreads(defaultThreads());

export function setNumThreads(n: number): void {
  native.setNumThreads(n);
}
export function getNumThreads(): number {
  return native.getNumThreads();
}
/** Seeds libtorch's random generators (rand, randn, dropout, weight init). */
export function manualSeed(seed: number): void {
  if (!Number.isInteger(seed) || seed < 0) throw new RangeError(`manualSeed: expected a whole number >= 0, got ${seed}`);
  native.manualSeed(seed);
}
export function cudaAvailable(): boolean {
  return native.cudaAvailable();
}
/** 'cuda' when a GPU is there and libtorch was built for it, else 'cpu'. */
export function defaultDevice(): string {
  return cudaAvailable() ? 'cuda' : 'cpu';
}
/** libtorch's build configuration and threading, as it reports them. */
export function buildInfo(): { config: string; parallel: string } {
  return native.buildInfo();
}
