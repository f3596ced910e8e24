#!/usr/bin/env node
// Installs what is missing and nothing else: Debian packages, npm packages, the native addon,
// the TypeScript build. Idempotent; a second run only checks timestamps (well under 5 s).
//   node scripts/setup.mjs            everything, with a line per step
//   node scripts/setup.mjs --quiet    only print what it does
//   node scripts/setup.mjs --build-only   skip system and npm packages
//   node scripts/setup.mjs --bench    also the packages benchmarks compare against (python3-torch, ...)
//   node scripts/setup.mjs --fixtures also what the fixture scripts use (python3-opencv, protobuf, ...)
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { findLibtorch } from './find-libtorch.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = new Set(process.argv.slice(2));
const quiet = args.has('--quiet');
const log = (msg) => { if (!quiet) console.log(`setup: ${msg}`); };
const act = (msg) => console.log(`setup: ${msg}`);

// chromium: the browser tests drive Debian's Chromium through playwright-core.
// libjpeg62-turbo-dev: the image pipeline's fast JPEG path (native/image/jpeg.cc).
// libonnx-testdata: the ONNX backend conformance suites the ONNX importer is tested against.
// fonts-dejavu-core: the font saved charts are laid out for and drawn in (src/train/charts.ts).
const SYSTEM_PACKAGES = ['libtorch-dev', 'libopenblas0-pthread', 'libgloo-dev', 'libjemalloc2', 'libjpeg62-turbo-dev', 'fonts-dejavu-core', 'dataset-fashion-mnist', 'chromium', 'libonnx-testdata', 'ffmpeg'];
const BENCH_PACKAGES = ['python3-torch', 'python3-torchvision', 'python3-fastapi', 'python3-uvicorn', 'python3-multipart'];
// The fixture scripts (npm run fixtures): PyTorch, OpenCV's DNN importer as the Caffe reference,
// protobuf to write caffemodels.
const FIXTURE_PACKAGES = [...BENCH_PACKAGES, 'python3-opencv', 'python3-protobuf', 'protobuf-compiler', 'python3-sklearn'];

function run(cmd, argv, opts = {}) {
  const r = spawnSync(cmd, argv, { stdio: 'inherit', cwd: root, ...opts });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`${cmd} ${argv.join(' ')} failed with exit code ${r.status}`);
}

function missingPackages(pkgs) {
  const r = spawnSync('dpkg-query', ['-W', '-f=${Package} ${Status}\n', ...pkgs], { encoding: 'utf8' });
  if (r.error) return null; // not a Debian system
  const installed = new Set(
    r.stdout.split('\n').filter((l) => l.endsWith('install ok installed')).map((l) => l.split(' ')[0].split(':')[0]),
  );
  return pkgs.filter((p) => !installed.has(p));
}

function installSystemPackages(pkgs) {
  const missing = missingPackages(pkgs);
  if (missing === null) {
    log(`not a Debian system (no dpkg-query): make sure these are installed: ${pkgs.join(' ')}`);
    return;
  }
  if (missing.length === 0) { log('system packages present'); return; }
  act(`installing Debian packages: ${missing.join(' ')}`);
  const isRoot = process.getuid?.() === 0;
  const hasSudo = !isRoot && spawnSync('sudo', ['-n', 'true']).status === 0;
  if (!isRoot && !hasSudo) {
    throw new Error(`missing Debian packages: ${missing.join(' ')}. Install them as root:\n  sudo apt-get update && sudo apt-get install -y ${missing.join(' ')}`);
  }
  const prefix = isRoot ? [] : ['sudo', '-n'];
  const apt = (argv) => {
    const [cmd, ...rest] = [...prefix, 'apt-get', ...argv];
    run(cmd, rest, { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  };
  // A fresh machine has empty package lists: update before the first install.
  const lists = '/var/lib/apt/lists';
  const haveLists = existsSync(lists) && readdirSync(lists).some((f) => f.endsWith('_Packages') || f.endsWith('_Packages.lz4'));
  try {
    if (!haveLists) apt(['update', '-qq']);
    apt(['install', '-y', '-qq', '--no-install-recommends', ...missing]);
  } catch (err) {
    if (haveLists) { apt(['update', '-qq']); apt(['install', '-y', '-qq', '--no-install-recommends', ...missing]); }
    else throw new Error(`could not install ${missing.join(' ')}: ${err.message}`);
  }
}

function newestMtime(dir, filter) {
  let newest = 0;
  if (!existsSync(dir)) return 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestMtime(p, filter));
    else if (filter(entry.name)) newest = Math.max(newest, statSync(p).mtimeMs);
  }
  return newest;
}
const mtime = (p) => (existsSync(p) ? statSync(p).mtimeMs : 0);

function installNpmPackages() {
  const stamp = path.join(root, 'node_modules', '.package-lock.json');
  if (existsSync(stamp) && mtime(stamp) >= mtime(path.join(root, 'package-lock.json'))) { log('npm packages present'); return; }
  act('installing npm packages (npm ci)');
  // --ignore-scripts: the native build below knows when it is stale; npm would rebuild every time.
  run('npm', ['ci', '--ignore-scripts', '--no-audit', '--no-fund']);
}

function nodeDir() {
  // node-gyp offline: build against the headers of the node that runs us.
  const prefix = path.resolve(path.dirname(process.execPath), '..');
  return existsSync(path.join(prefix, 'include', 'node', 'node_api.h')) ? prefix : null;
}

function buildNative() {
  // Every target of binding.gyp: dlkit.node (libtorch) and dlkit_jpeg.node (libjpeg-turbo).
  const addons = ['dlkit.node', 'dlkit_jpeg.node'].map((f) => path.join(root, 'build', 'Release', f));
  const stampFile = path.join(root, 'build', 'dlkit-build.json');
  const inputs = Math.max(newestMtime(path.join(root, 'native'), () => true), mtime(path.join(root, 'binding.gyp')));
  const wanted = { LIBTORCH: process.env.LIBTORCH ?? '', DLKIT_CXX11_ABI: process.env.DLKIT_CXX11_ABI ?? '' };
  let stamp = null;
  try { stamp = JSON.parse(readFileSync(stampFile, 'utf8')); } catch { /* first build */ }
  if (addons.every((a) => existsSync(a) && mtime(a) >= inputs) && stamp && JSON.stringify(stamp.env) === JSON.stringify(wanted)) {
    log(`native addon up to date (libtorch: ${stamp.libtorch})`);
    return;
  }
  const lt = findLibtorch();
  act(`building the native addon against libtorch from ${lt.source} (${lt.root})`);
  const gyp = path.join(root, 'node_modules', '.bin', 'node-gyp');
  const dir = nodeDir();
  run(gyp, ['rebuild', '--loglevel=warn', '-j', String(os.availableParallelism()), ...(dir ? [`--nodedir=${dir}`] : [])]);
  mkdirSync(path.dirname(stampFile), { recursive: true });
  writeFileSync(stampFile, JSON.stringify({ env: wanted, libtorch: `${lt.source} ${lt.root}` }, null, 2));
}

function buildTypeScript() {
  const info = path.join(root, 'dist', '.tsbuildinfo');
  const inputs = Math.max(
    ...['src', 'test', 'bench'].map((d) => newestMtime(path.join(root, d), (n) => n.endsWith('.ts'))),
    mtime(path.join(root, 'tsconfig.json')),
  );
  if (existsSync(info) && mtime(info) >= inputs) { log('TypeScript build up to date'); return; }
  act('compiling TypeScript');
  run(process.execPath, [path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', root]);
}

try {
  const start = Date.now();
  if (!args.has('--build-only')) {
    const pkgs = process.env.LIBTORCH ? SYSTEM_PACKAGES.filter((p) => p !== 'libtorch-dev') : SYSTEM_PACKAGES;
    installSystemPackages([...pkgs, ...(args.has('--bench') ? BENCH_PACKAGES : []), ...(args.has('--fixtures') ? FIXTURE_PACKAGES : [])].filter((p, i, all) => all.indexOf(p) === i));
    installNpmPackages();
  }
  buildNative();
  buildTypeScript();
  log(`ready in ${((Date.now() - start) / 1000).toFixed(1)} s`);
} catch (err) {
  console.error(`setup failed: ${err.message}`);
  process.exit(1);
}
