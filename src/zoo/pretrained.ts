// Pretrained networks by zoo name: the catalog entry (weights.ts) names the architecture and the
// weight file; the file comes from the cache ($DLKIT_HOME/weights), is downloaded into it when
// absent, or is a local file the caller names. Checkpoints are read by the restricted unpickler
// (src/io/pytorch), caffemodels by the Caffe schema reader; the tensors are loaded strictly, so a
// file that does not fit the architecture is an error naming every name and shape that differs.
import path from 'node:path';
import type { Network } from '../nn/network.js';
import { readStateDict } from '../io/pytorch/checkpoint.js';
import { loadCaffeWeights } from './bvlc-alexnet.js';
import { architecture, ARCHITECTURES } from './architectures.js';
import { cachedWeightsPath, fileSize } from './cache.js';
import { downloadFile, mibRange, type Checksum, type DownloadResult } from './download.js';
import { zooEntry, ZOO, type ZooEntry } from './weights.js';

export interface ZooGetOptions {
  /** dlkit's data folder (default $DLKIT_HOME, else ~/.cache/dlkit); weights go to <home>/weights. */
  home?: string;
  /** Download progress: bytes so far and the total when known (for a progress bar). */
  onProgress?: (bytes: number, total: number | null) => void;
  signal?: AbortSignal;
  /** Fetch the file from `<baseUrl>/<file name>` instead of its official URL (mirrors, tests). */
  baseUrl?: string;
  /** The fetch to use (tests); default the global fetch. */
  fetch?: typeof globalThis.fetch;
  /** Give up when no bytes arrive for this long, in ms (default 60,000). */
  timeoutMs?: number;
}

export interface PretrainedOptions extends ZooGetOptions {
  /** A local weight file to load instead of the cached or downloaded one (not checksummed: it may be your own). */
  weights?: string;
}

export interface ZooGetResult {
  /** The verified weight file in the cache. */
  file: string;
  /** Whether it was downloaded now (false: it was cached). */
  downloaded: boolean;
  download?: DownloadResult;
}

/** The checks a catalog entry's file must pass. */
export function weightChecks(entry: ZooEntry): { size: number | null; sizeMiB?: number; checksums: Checksum[] } {
  const w = entry.weights;
  const checksums: Checksum[] = [];
  if (w.sha256) checksums.push({ algorithm: 'sha256', hex: w.sha256 });
  else if (w.sha256Prefix) checksums.push({ algorithm: 'sha256', hex: w.sha256Prefix, prefix: true });
  if (w.sha1) checksums.push({ algorithm: 'sha1', hex: w.sha1 });
  return { size: w.size, sizeMiB: w.sizeMiB, checksums };
}

const resolveEntry = (model: string | ZooEntry): ZooEntry => (typeof model === 'string' ? zooEntry(model) : model);

function sizeFits(entry: ZooEntry, size: number): boolean {
  const w = entry.weights;
  if (w.size !== null) return size === w.size;
  if (w.sizeMiB !== undefined) { const [lo, hi] = mibRange(w.sizeMiB); return size >= lo && size <= hi; }
  return size > 0;
}

/**
 * The weight file of a zoo model, downloading it into the cache when it is not there. A cached
 * file was verified when it was downloaded; here its size is checked again (cheap), its hash not.
 * `model` is a zoo name or an entry of your own in the catalog's shape.
 */
export async function zooGet(model: string | ZooEntry, options: ZooGetOptions = {}): Promise<ZooGetResult> {
  const entry = resolveEntry(model);
  const file = cachedWeightsPath(entry.weights.file, options.home);
  const size = fileSize(file);
  if (size !== null && sizeFits(entry, size)) return { file, downloaded: false };
  // Two calls for the same file in one process share one download (one writer per .part).
  const running = inFlight.get(file);
  if (running) {
    await running.catch(() => {});
    return zooGet(entry, options);
  }
  const url = options.baseUrl !== undefined ? `${options.baseUrl.replace(/\/+$/, '')}/${encodeURIComponent(entry.weights.file)}` : entry.weights.url;
  const job = downloadFile(url, file, {
    ...weightChecks(entry), onProgress: options.onProgress, signal: options.signal, fetch: options.fetch, timeoutMs: options.timeoutMs,
  });
  inFlight.set(file, job);
  try {
    return { file, downloaded: true, download: await job };
  } finally {
    inFlight.delete(file);
  }
}

const inFlight = new Map<string, Promise<DownloadResult>>();

/**
 * Loads a weight file into a network already built, the way `entry` says: its format, the
 * prefix to strip, the names to drop. Strict: every name and shape must fit.
 */
export async function loadZooWeights(network: Network, entry: ZooEntry, file: string): Promise<void> {
  if (entry.format === 'caffe') {
    loadCaffeWeights(network, file);
    return;
  }
  const tensors = (await readStateDict(file)).tensors;
  try {
    const drop = entry.dropPrefixes ?? [];
    const prefix = entry.stripPrefix;
    const kept = Object.fromEntries(Object.entries(tensors).filter(([k]) => {
      const name = prefix && k.startsWith(prefix) ? k.slice(prefix.length) : k;
      return !drop.some((d) => name.startsWith(d));
    }));
    network.loadStateDict(kept, { stripPrefix: prefix, source: `${file} (zoo model '${entry.name}', architecture '${entry.architecture}')` });
  } finally {
    for (const t of Object.values(tensors)) t.dispose();
  }
}

/**
 * A pretrained network: the zoo model's architecture with its published weights loaded, its
 * classes and input normalization as the architecture defines them.
 *
 *   const net = await pretrained('resnet20-cifar10');
 *   const net2 = await pretrained('resnet18', { onProgress: (n, total) => bar.update(n) });
 *   const mine = await pretrained('resnet18', { weights: 'my-resnet18.pth' });
 */
export async function pretrained(model: string | ZooEntry, options: PretrainedOptions = {}): Promise<Network> {
  const entry = resolveEntry(model);
  // Before any download: the architecture must exist.
  if (!Object.prototype.hasOwnProperty.call(ARCHITECTURES, entry.architecture)) {
    throw new RangeError(`zoo model '${entry.name}': unknown architecture '${entry.architecture}'; known: ${Object.keys(ARCHITECTURES).join(', ')}`);
  }
  let file: string;
  if (options.weights !== undefined) {
    file = path.resolve(options.weights);
    if (fileSize(file) === null) throw new Error(`${file}: no such file (option 'weights' of zoo model '${entry.name}')`);
  } else {
    file = (await zooGet(entry, options)).file;
  }
  options.signal?.throwIfAborted();
  const network = architecture(entry.architecture);
  try {
    await loadZooWeights(network, entry, file);
  } catch (err) {
    network.dispose();
    throw err;
  }
  return network;
}

export interface ZooListing {
  name: string;
  architecture: string;
  description: string;
  format: ZooEntry['format'];
  file: string;
  url: string;
  /** Exact size in bytes, when published. */
  size: number | null;
  /** Size in MiB as published (torchvision), when the exact size is not. */
  sizeMiB: number | null;
  license: string;
  source: string;
  /** Where the file is, or would be, cached. */
  path: string;
  cached: boolean;
}

/** Every zoo model with its size, source, license and whether its weights are in the cache. */
export function zooList(options: { home?: string } = {}): ZooListing[] {
  return Object.values(ZOO).map((e) => {
    const p = cachedWeightsPath(e.weights.file, options.home);
    const size = fileSize(p);
    return {
      name: e.name, architecture: e.architecture, description: e.description, format: e.format,
      file: e.weights.file, url: e.weights.url, size: e.weights.size, sizeMiB: e.weights.sizeMiB ?? null,
      license: e.license, source: e.source, path: p, cached: size !== null && sizeFits(e, size),
    };
  });
}

